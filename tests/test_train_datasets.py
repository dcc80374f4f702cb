"""nncli.core.train.datasets: the toy sets, the features, the user's tables.

Every geometric claim is checked against the defining formula on the raw points
(noise 0), not against the generator's own output.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from nncli.core.train.datasets import (
    DATASETS,
    FEATURES,
    MAX_SAMPLES,
    expand_features,
    generate,
    load_table,
    parse_features,
)
from nncli.errors import UsageError

CLASSIFIERS = [name for name, info in DATASETS.items() if info.task != "regression"]


def _all_labels(d):
    return np.concatenate([d.y_train, d.y_test])


def _all_raw(d):
    return np.concatenate([d.raw_train, d.raw_test])


# --- shapes, dtypes, split ----------------------------------------------------


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_shapes_dtypes_and_split(name: str) -> None:
    d = generate(name, samples=101, test_fraction=0.3, features=["x", "y", "x2"])
    assert d.x_train.shape == (71, 3) and d.x_test.shape == (30, 3)
    assert d.y_train.shape == (71,) and d.y_test.shape == (30,)
    assert d.raw_train.shape == (71, 2) and d.raw_test.shape == (30, 2)
    assert d.x_train.dtype == np.float32 and d.raw_train.dtype == np.float32
    assert d.features == ["x", "y", "x2"] and d.samples == 101 and d.source == "generated"
    if DATASETS[name].task == "regression":
        assert d.classes is None and d.y_train.dtype == np.float32
    else:
        assert d.y_train.dtype == np.int64
        assert set(np.unique(_all_labels(d))) == set(range(d.classes))


def test_split_is_a_permutation_of_all_points() -> None:
    d = generate("moons", samples=50, seed=3)
    raw = _all_raw(d)
    # No point lost or duplicated: the 50 rows are distinct and all there.
    assert len(np.unique(raw, axis=0)) == 50


@pytest.mark.parametrize("fraction", [0.001, 0.999])
def test_extreme_fractions_leave_both_sides_non_empty(fraction: float) -> None:
    d = generate("xor", samples=4, test_fraction=fraction)
    assert len(d.x_train) >= 1 and len(d.x_test) >= 1
    assert len(d.x_train) + len(d.x_test) == 4


# --- balance --------------------------------------------------------------------


@pytest.mark.parametrize("name", CLASSIFIERS)
@pytest.mark.parametrize("samples", [4, 7, 500, 1001])
def test_classes_are_balanced(name: str, samples: int) -> None:
    d = generate(name, samples=samples, noise=0.2, seed=5, arms=2, classes=2)
    counts = np.bincount(_all_labels(d), minlength=d.classes)
    assert counts.sum() == samples
    assert counts.max() - counts.min() <= 1


@pytest.mark.parametrize(("name", "k"), [("spiral", 5), ("blobs", 7)])
def test_k_groups_are_balanced_and_multi_class(name: str, k: int) -> None:
    d = generate(name, samples=103, arms=k, classes=k)
    counts = np.bincount(_all_labels(d), minlength=k)
    assert d.classes == k and d.task == "multi-class"
    assert counts.max() - counts.min() <= 1 and counts.sum() == 103


def test_two_arms_is_binary_and_two_blobs_is_binary() -> None:
    assert generate("spiral", samples=20, arms=2).task == "binary"
    assert generate("blobs", samples=20, classes=2).task == "binary"


# --- reproducibility ------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_same_seed_identical_different_seed_different(name: str) -> None:
    a = generate(name, samples=60, noise=0.1, seed=7)
    b = generate(name, samples=60, noise=0.1, seed=7)
    c = generate(name, samples=60, noise=0.1, seed=8)
    for field in ("x_train", "y_train", "x_test", "y_test", "raw_train", "raw_test"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert not np.array_equal(a.x_train, c.x_train)


def test_seed_range_is_the_shared_rule() -> None:
    generate("xor", samples=8, seed=2**64 - 1)
    for seed in (-1, 2**64):
        with pytest.raises(UsageError, match="--seed"):
            generate("xor", samples=8, seed=seed)


# --- geometry against the defining formulas (noise 0) ---------------------------


def test_xor_label_is_the_sign_of_xy_with_the_gap() -> None:
    d = generate("xor", samples=2000, seed=1)
    raw, y = _all_raw(d), _all_labels(d)
    np.testing.assert_array_equal(y, (raw[:, 0] * raw[:, 1] > 0).astype(np.int64))
    assert np.abs(raw).min() >= 0.3 - 1e-6 and np.abs(raw).max() <= 5.3 + 1e-6


def test_circles_radii() -> None:
    d = generate("circles", samples=2000, seed=1)
    raw, y = _all_raw(d), _all_labels(d)
    r = np.hypot(raw[:, 0], raw[:, 1])
    assert r[y == 1].max() <= 2.5 + 1e-5
    assert r[y == 0].min() >= 3.5 - 1e-5 and r[y == 0].max() <= 5 + 1e-5


def test_moons_lie_on_sklearns_two_half_circles() -> None:
    d = generate("moons", samples=1000, seed=2)
    raw, y = _all_raw(d).astype(np.float64), _all_labels(d)
    upper, lower = raw[y == 0], raw[y == 1]
    # Upper moon: the unit circle, y >= 0. Lower: centred at (1, 0.5), y <= 0.5.
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1, atol=1e-6)
    assert upper[:, 1].min() >= -1e-6
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1, atol=1e-6)
    assert lower[:, 1].max() <= 0.5 + 1e-6


def test_spiral_arm_angle_follows_its_radius() -> None:
    arms = 3
    d = generate("spiral", samples=600, arms=arms, seed=4)
    raw, y = _all_raw(d).astype(np.float64), _all_labels(d)
    r = np.hypot(raw[:, 0], raw[:, 1])
    assert r.max() <= 5 + 1e-5
    # x = r·sin(t), y = r·cos(t) with t = 1.75·2π·(r/5) + 2πk/K: compare on the circle.
    t = np.arctan2(raw[:, 0], raw[:, 1])
    expected = 1.75 * 2 * math.pi * r / 5 + 2 * math.pi * y / arms
    keep = r > 0.05  # the angle of a point at the centre is meaningless
    np.testing.assert_allclose(np.cos(t - expected)[keep], 1, atol=1e-4)


def test_blobs_centres_on_a_circle_of_radius_3() -> None:
    k = 4
    d = generate("blobs", samples=4000, classes=k, seed=0)
    raw, y = _all_raw(d), _all_labels(d)
    for label in range(k):
        angle = 2 * math.pi * label / k
        mean = raw[y == label].mean(axis=0)
        np.testing.assert_allclose(mean, [3 * math.sin(angle), 3 * math.cos(angle)], atol=0.06)
        assert abs(raw[y == label].std(axis=0).mean() - 0.5) < 0.03


def test_regression_targets() -> None:
    plane = generate("plane", samples=200, seed=1)
    raw = _all_raw(plane).astype(np.float64)
    np.testing.assert_allclose(_all_labels(plane), (raw[:, 0] + raw[:, 1]) / 10, atol=1e-6)
    sine = generate("sine", samples=200, seed=1)
    raw = _all_raw(sine).astype(np.float64)
    expected = np.sin(math.pi * raw[:, 0] / 6) * np.cos(math.pi * raw[:, 1] / 6)
    np.testing.assert_allclose(_all_labels(sine), expected, atol=1e-6)
    assert np.abs(raw).max() <= 6


def test_noise_moves_points_by_its_standard_deviation_in_radii() -> None:
    clean = generate("circles", samples=4000, seed=9)
    noisy = generate("circles", samples=4000, seed=9, noise=0.1)
    # The same seed draws the same clean points first, then the jitter.
    shift = _all_raw(noisy).astype(np.float64) - _all_raw(clean)
    assert abs(shift.std() - 0.1 * DATASETS["circles"].radius) < 0.02
    np.testing.assert_array_equal(_all_labels(noisy), _all_labels(clean))


# --- features -----------------------------------------------------------------


def test_expand_features_values() -> None:
    points = np.array([[0.5, -2.0], [3.0, 0.25]], dtype=np.float32)
    out = expand_features(points, list(FEATURES))
    expected = [
        [0.5, -2.0, 0.25, 4.0, -1.0, math.sin(0.5), math.sin(-2.0)],
        [3.0, 0.25, 9.0, 0.0625, 0.75, math.sin(3.0), math.sin(0.25)],
    ]
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=1e-7)


def test_generated_features_follow_the_raw_points_in_order() -> None:
    d = generate("moons", samples=30, features=["siny", "x", "xy"])
    raw = d.raw_train.astype(np.float64)
    np.testing.assert_allclose(d.x_train[:, 0], np.sin(raw[:, 1]), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(d.x_train[:, 1], raw[:, 0], rtol=1e-6)
    np.testing.assert_allclose(d.x_train[:, 2], raw[:, 0] * raw[:, 1], rtol=1e-5, atol=1e-7)


def test_default_features_are_x_and_y() -> None:
    d = generate("xor", samples=10)
    assert d.features == ["x", "y"]
    np.testing.assert_array_equal(d.x_train, d.raw_train)


def test_parse_features() -> None:
    assert parse_features("x,y,x2") == ["x", "y", "x2"]
    assert parse_features(" SINX , xy ") == ["sinx", "xy"]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("x,z", "unknown feature 'z'"),
        ("x,x", "'x' twice"),
        ("", "at least one"),
        ("x,,y", "empty name"),
        ("x,sin", "unknown feature 'sin'"),
    ],
)
def test_parse_features_refuses(text: str, match: str) -> None:
    with pytest.raises(UsageError, match=match):
        parse_features(text)


def test_unknown_feature_suggests() -> None:
    with pytest.raises(UsageError) as info:
        parse_features("x,sinz")
    assert "--features" in str(info.value) and "sinx" in str(info.value)


# --- bad parameters -------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"samples": 3}, "--samples must be at least 4"),
        ({"samples": MAX_SAMPLES + 1}, "--samples must be at most 10,000,000"),
        ({"samples": True}, "--samples must be an integer"),
        ({"samples": 2.5}, "--samples must be an integer"),
        ({"noise": -0.1}, "--noise"),
        ({"noise": float("nan")}, "--noise"),
        ({"noise": float("inf")}, "--noise"),
        ({"noise": 1e300}, "--noise"),
        ({"noise": "0.1"}, "--noise must be a number"),
        ({"test_fraction": 0.0}, "--test-fraction must be between 0 and 1"),
        ({"test_fraction": 1.0}, "--test-fraction must be between 0 and 1"),
        ({"test_fraction": float("nan")}, "--test-fraction"),
        ({"test_fraction": -0.5}, "--test-fraction"),
        ({"features": ["x", "q"]}, "unknown feature 'q'"),
    ],
)
def test_generate_refuses(kwargs: dict, match: str) -> None:
    with pytest.raises(UsageError, match=match):
        generate("xor", **kwargs)


@pytest.mark.parametrize(
    ("name", "kwargs", "match"),
    [
        ("spiral", {"arms": 1}, "--arms must be at least 2"),
        ("spiral", {"arms": 101}, "--arms must be at most 100"),
        ("blobs", {"classes": 1}, "--classes must be at least 2"),
        ("blobs", {"classes": 101}, "--classes must be at most 100"),
        ("blobs", {"classes": 10, "samples": 19}, "too few for 10 classes"),
    ],
)
def test_group_parameters_refused(name: str, kwargs: dict, match: str) -> None:
    with pytest.raises(UsageError, match=match):
        generate(name, **kwargs)


def test_unknown_dataset_names_the_choices() -> None:
    with pytest.raises(UsageError) as info:
        generate("moon")
    assert "unknown dataset 'moon'" in str(info.value) and "did you mean moons" in str(info.value)


# --- tables -------------------------------------------------------------------


def _csv(tmp_path: Path, text: str, name: str = "t.csv") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_csv_with_header_default_target_is_last(tmp_path: Path) -> None:
    rows = "\n".join(f"{i},{i * 0.5},{i % 2}" for i in range(10))
    path = _csv(tmp_path, f"a,b,label\n{rows}\n")
    d = load_table(path, test_fraction=0.3, seed=1)
    assert d.features == ["a", "b"] and d.target == "label"
    assert d.task == "binary" and d.classes == 2 and d.labels == [0.0, 1.0]
    # Stratified, the size kept: round(10 · 0.3) = 3 test rows, 2 of one class and 1 of the other.
    assert d.x_train.shape == (7, 2) and d.x_test.shape == (3, 2)
    assert sorted(np.bincount(d.y_test).tolist()) == [1, 2]
    assert d.source == path and d.samples == 10
    # Each row keeps its own label: column a is the row index, label = a mod 2.
    x = np.concatenate([d.raw_train, d.raw_test])
    y = np.concatenate([d.y_train, d.y_test])
    np.testing.assert_array_equal(y, x[:, 0].astype(np.int64) % 2)
    raw = load_table(path, test_fraction=0.3, seed=1, standardize=False)
    assert raw.standardization is None
    np.testing.assert_array_equal(raw.raw_train, raw.x_train)
    np.testing.assert_array_equal(raw.raw_train, d.raw_train)  # the same split either way


def test_target_by_name_and_label_remapping(tmp_path: Path) -> None:
    rows = "\n".join(f"{[3, 9, 5][i % 3]},{i},{i * 2}" for i in range(9))
    d = load_table(_csv(tmp_path, f"kind,u,v\n{rows}\n"), target="kind", standardize=False)
    assert d.features == ["u", "v"] and d.task == "multi-class" and d.classes == 3
    assert d.labels == [3.0, 5.0, 9.0]
    x = np.concatenate([d.x_train, d.x_test])
    y = np.concatenate([d.y_train, d.y_test])
    original = np.array([3, 9, 5])[x[:, 0].astype(int) % 3]
    np.testing.assert_array_equal(np.array(d.labels)[y], original)


def test_minus_one_one_labels_become_binary(tmp_path: Path) -> None:
    d = load_table(_csv(tmp_path, "x,y\n1,-1\n2,1\n3,-1\n4,1\n"))
    assert d.task == "binary" and d.labels == [-1.0, 1.0]
    assert set(np.concatenate([d.y_train, d.y_test])) == {0, 1}


def test_float_target_is_regression(tmp_path: Path) -> None:
    d = load_table(_csv(tmp_path, "p,q,r,t\n1,2,3,0.5\n4,5,6,1.5\n7,8,9,2\n"))
    assert d.task == "regression" and d.classes is None and d.labels is None
    assert d.y_train.dtype == np.float32 and d.raw_train is None  # three inputs: no 2-D plot


def test_many_integer_values_are_regression(tmp_path: Path) -> None:
    rows = "\n".join(f"{i},{i * 3}" for i in range(150))
    assert load_table(_csv(tmp_path, f"x,count\n{rows}\n")).task == "regression"


def test_forced_tasks(tmp_path: Path) -> None:
    path = _csv(tmp_path, "x,y\n1,0\n2,1\n3,0\n4,1\n")
    assert load_table(path, task="regression").task == "regression"
    forced = load_table(path, task="multi-class")
    assert forced.task == "multi-class" and forced.classes == 2
    assert load_table(path, task="classification").task == "binary"


def test_npy_columns_are_named_c0_to_cn(tmp_path: Path) -> None:
    path = tmp_path / "t.npy"
    data = np.array([[0.5, 1.0, 0], [1.5, 2.0, 1], [2.5, 3.0, 2], [3.5, 4.0, 0]])
    np.save(path, data)
    d = load_table(str(path), target="c0")
    assert d.features == ["c1", "c2"] and d.target == "c0" and d.task == "regression"
    d = load_table(str(path))
    assert d.task == "multi-class" and d.classes == 3


def test_csv_without_header_is_named_like_npy(tmp_path: Path) -> None:
    d = load_table(_csv(tmp_path, "1,2,0\n3,4,1\n5,6,0\n"))
    assert d.features == ["c0", "c1"] and d.target == "c2"


def test_table_split_reproducible(tmp_path: Path) -> None:
    rows = "\n".join(f"{i},{i % 2}" for i in range(40))
    path = _csv(tmp_path, f"x,y\n{rows}\n")
    a, b, c = (load_table(path, seed=s) for s in (1, 1, 2))
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert not np.array_equal(a.x_train, c.x_train)


@pytest.mark.parametrize(
    ("text", "kwargs", "match"),
    [
        ("a,b\n1,0\n2,1\n", {"target": "c"}, r"no column named 'c'.*columns: a, b"),
        ("a,b\n1,x\n2,1\n", {}, r"t\.csv: line 2, column 2: 'x' is not a number"),
        ("a,b\n1,nan\n2,1\n", {}, r"line 2, column 2: nan is not finite"),
        ("a,b\n1,1\n2,1\n3,1\n", {}, r"target 'b' has one class only"),
        ("a,b\n1,1\n", {}, r"has 1 row; training needs at least 2"),
        ("a\n1\n2\n", {}, r"has 1 column"),
        ("a,b,c\n1,0\n2,1\n", {}, r"line 1 \(the header\) names 3 columns but the rows have 2"),
        ("a,a\n1,0\n2,1\n", {}, r"'a' appears twice"),
        ("a,b\n1,0\n2,1\n3,2\n", {"task": "binary"}, r"3 classes; --task binary needs 2"),
        ("a,b\n1,0.5\n2,1\n", {"task": "multi-class"}, r"data row 1.*0.5 is not a whole number"),
        ("a,b\n1,0\n2,1\n", {"task": "ordinal"}, r"unknown task 'ordinal'"),
        ("a,b\n1,0\n2,1\n", {"test_fraction": 1.0}, r"--test-fraction"),
    ],
)
def test_bad_tables(tmp_path: Path, text: str, kwargs: dict, match: str) -> None:
    path = _csv(tmp_path, text)
    with pytest.raises(UsageError, match=match) as info:
        load_table(path, **kwargs)
    if "task" not in kwargs and "test_fraction" not in kwargs:
        assert path in str(info.value)  # the message names the file


def test_missing_file_and_bad_format(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"--data .*no such file"):
        load_table(str(tmp_path / "nope.csv"))
    other = tmp_path / "t.txt"
    other.write_text("1,2\n")
    with pytest.raises(UsageError, match="unsupported format"):
        load_table(str(other))


def test_inputs_of_maps_raw_points_like_the_training_inputs(tmp_path: Path) -> None:
    d = generate("circles", samples=40, features=["x2", "y2", "sinx"])
    np.testing.assert_array_equal(d.inputs_of(d.raw_train), d.x_train)
    table = load_table(_csv(tmp_path, "a,b,label\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n"))
    np.testing.assert_array_equal(table.inputs_of(table.raw_test), table.x_test)
    three = load_table(_csv(tmp_path, "a,b,c,label\n1,2,3,0\n4,5,6,1\n", "three.csv"))
    with pytest.raises(ValueError, match="no 2-D raw points"):
        three.inputs_of(np.zeros((1, 2)))


def test_quoted_header_names(tmp_path: Path) -> None:
    d = load_table(_csv(tmp_path, '"width","height","kind"\n1,2,0\n3,4,1\n'))
    assert d.features == ["width", "height"] and d.target == "kind"


# --- the sources: sklearn's make_moons, TF Playground's spiral and xor ------------


def _rows_by_label(raw: np.ndarray, y: np.ndarray) -> dict[int, np.ndarray]:
    """Each class's points, sorted row-wise (the split shuffles them)."""
    out = {}
    for label in np.unique(y):
        pts = raw[y == label]
        out[int(label)] = pts[np.lexsort(pts.T[::-1])]
    return out


@pytest.mark.parametrize("samples", [4, 9, 200, 501])
def test_moons_are_sklearns_make_moons(samples: int) -> None:
    from sklearn.datasets import make_moons

    d = generate("moons", samples=samples, seed=3)
    ref_x, ref_y = make_moons(n_samples=samples, shuffle=False, noise=None)
    ours = _rows_by_label(_all_raw(d), _all_labels(d))
    theirs = _rows_by_label(ref_x.astype(np.float32), ref_y)
    assert ours.keys() == theirs.keys()
    for label in ours:  # the same points, bit for bit, in the same class (and count)
        np.testing.assert_array_equal(ours[label], theirs[label])


def test_moons_angles_are_evenly_spaced_not_drawn() -> None:
    d = generate("moons", samples=101, seed=0)
    upper = _all_raw(d)[_all_labels(d) == 0].astype(np.float64)
    angles = np.sort(np.arctan2(upper[:, 1], upper[:, 0]))
    np.testing.assert_allclose(np.diff(angles), math.pi / (len(angles) - 1), atol=1e-6)
    # The seed no longer moves a clean moon: only the noise and the split use it.
    other = generate("moons", samples=101, seed=1)
    np.testing.assert_array_equal(np.sort(_all_raw(d), axis=0), np.sort(_all_raw(other), axis=0))


@pytest.mark.parametrize(("samples", "arms"), [(200, 2), (301, 3), (10, 5)])
def test_spiral_is_tf_playgrounds_formula(samples: int, arms: int) -> None:
    d = generate("spiral", samples=samples, arms=arms, seed=2)
    ours = _rows_by_label(_all_raw(d), _all_labels(d))
    base, extra = divmod(samples, arms)
    for k in range(arms):
        n = base + (k < extra)
        # dataset.ts classifySpiralData: r = i / n * 5, t = 1.75 * i / n * 2π + Δ (Δ = 0, π
        # for its two arms; 2πk/K here), x = r sin t, y = r cos t.
        pts = []
        for i in range(n):
            r = i / n * 5
            t = 1.75 * i / n * 2 * math.pi + 2 * math.pi * k / arms
            pts.append((r * math.sin(t), r * math.cos(t)))
        ref = np.array(pts, dtype=np.float32)
        ref = ref[np.lexsort(ref.T[::-1])]
        np.testing.assert_allclose(ours[k], ref, atol=2e-6)


def test_xor_fills_the_padded_range_and_its_description_says_so() -> None:
    d = generate("xor", samples=4000, seed=0)
    a = np.abs(_all_raw(d))
    # Uniform in [-5, 5], then 0.3 away from the axis: |coordinate| spans [0.3, 5.3].
    assert a.min() >= 0.3 - 1e-6 and a.max() <= 5.3 + 1e-6
    assert a.min() < 0.35 and a.max() > 5.25  # the whole range, not [-5, 5]
    assert "±[0.3, 5.3]" in DATASETS["xor"].description
    assert "[-5, 5]" not in DATASETS["xor"].description


# --- the stratified split --------------------------------------------------------


def _reference_split(seed_rng, labels, fraction):
    """An independent stratified split: the unstratified test size round(n·f) shared out
    by largest remainders (Hamilton's method), at least 1 per class of two rows or more;
    each class's first rows in the seeded permutation's order go to the test set."""
    from fractions import Fraction

    order = seed_rng.permutation(len(labels))
    total = min(max(round(len(labels) * fraction), 1), len(labels) - 1)
    classes, sizes = np.unique(labels, return_counts=True)
    share = {
        c: Fraction(int(n)) * Fraction(fraction).limit_denominator(10**6)
        for c, n in zip(classes, sizes, strict=True)
    }
    quota = {c: 0 if n < 2 else max(int(share[c]), 1) for c, n in zip(classes, sizes, strict=True)}
    size = dict(zip(classes, sizes, strict=True))
    for c in sorted(classes, key=lambda c: (quota[c] - share[c], c)):
        if sum(quota.values()) >= total:
            break
        if share[c] > quota[c] and quota[c] + 1 <= size[c] - 1:
            quota[c] += 1
    test = []
    for c in classes:
        rows = [i for i in order if labels[i] == c]
        test += rows[: quota[c]]
    return set(test)


def _table(tmp_path: Path, labels: list[int], name: str = "s.csv") -> str:
    rows = "\n".join(f"{i},{i * 0.25},{label}" for i, label in enumerate(labels))
    return _csv(tmp_path, f"a,b,label\n{rows}\n", name)


@pytest.mark.parametrize("seed", range(12))
def test_table_split_is_stratified_so_a_rare_class_is_tested(tmp_path: Path, seed: int) -> None:
    # 100 rows, 2 positives: a plain 10 % permutation split misses them most of the time.
    labels = [1 if i in (17, 63) else 0 for i in range(100)]
    d = load_table(_table(tmp_path, labels), test_fraction=0.1, seed=seed, standardize=False)
    # round(100 · 0.1) = 10 test rows: the positive the minimum allows, and 9 negatives.
    assert np.bincount(d.y_test, minlength=2).tolist() == [9, 1]
    assert np.bincount(d.y_train, minlength=2).tolist() == [89, 1]
    # The rows are those of the reference split from the same seeded stream.
    test_rows = {int(i) for i in d.raw_test[:, 0]}
    assert test_rows == _reference_split(np.random.default_rng(seed), np.array(labels), 0.1)


def test_the_plain_permutation_would_have_missed_the_rare_class() -> None:
    # The case above is built to fool an unstratified split: check that it would.
    labels = np.array([1 if i in (17, 63) else 0 for i in range(100)])
    misses = sum(
        labels[np.random.default_rng(seed).permutation(100)[:10]].sum() == 0 for seed in range(12)
    )
    assert misses >= 6


@pytest.mark.parametrize(
    ("name", "k", "samples", "fraction"),
    [
        ("blobs", 7, 50, 0.1),
        ("spiral", 5, 103, 0.3),
        ("xor", 2, 501, 0.5),
        ("blobs", 3, 10, 0.2),
    ],
)
def test_generated_split_is_stratified_within_one_row(
    name: str, k: int, samples: int, fraction: float
) -> None:
    d = generate(name, samples=samples, arms=k, classes=k, test_fraction=fraction, seed=4)
    per_class = np.bincount(_all_labels(d), minlength=k)
    tested = np.bincount(d.y_test, minlength=k)
    assert (tested >= 1).all()  # every class reaches the test set
    # The unstratified split's size, unless one row per class needs more.
    assert tested.sum() == max(round(samples * fraction), k)
    assert (np.bincount(d.y_train, minlength=k) >= 1).all()
    np.testing.assert_array_less(np.abs(tested - per_class * fraction), 1 + 1e-9)


def test_a_class_of_one_row_trains(tmp_path: Path) -> None:
    labels = [0] * 6 + [1] + [2] * 5
    d = load_table(_table(tmp_path, labels), test_fraction=0.5, seed=0, standardize=False)
    assert 1 not in d.y_test.tolist() and d.y_train.tolist().count(1) == 1
    # round(12 · 0.5) = 6 test rows: 3 of class 0, and class 2's 2.5 rounded up to reach 6.
    assert d.y_test.tolist().count(0) == 3 and d.y_test.tolist().count(2) == 3


def test_all_singleton_classes_still_test_one_row(tmp_path: Path) -> None:
    d = load_table(_table(tmp_path, [0, 1]), test_fraction=0.5, seed=0)
    assert len(d.y_train) == 1 and len(d.y_test) == 1


def test_regression_keeps_the_plain_permutation(tmp_path: Path) -> None:
    rows = "\n".join(f"{i},{i * 0.5 + 0.25}" for i in range(30))
    d = load_table(_csv(tmp_path, f"x,t\n{rows}\n"), test_fraction=0.3, seed=5, standardize=False)
    order = np.random.default_rng(5).permutation(30)
    np.testing.assert_array_equal(d.x_test[:, 0], order[:9].astype(np.float32))
    np.testing.assert_array_equal(d.x_train[:, 0], order[9:].astype(np.float32))


# --- standardisation ------------------------------------------------------------


def test_table_standardisation_uses_the_training_split_only(tmp_path: Path) -> None:
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    a = rng.normal(50, 20, 200)
    b = rng.exponential(3, 200)
    labels = (a > 50).astype(int)
    rows = "\n".join(f"{float(u)!r},{float(v)!r},{w}" for u, v, w in zip(a, b, labels, strict=True))
    path = _csv(tmp_path, f"a,b,label\n{rows}\n")
    d = load_table(path, seed=2)  # standardised by default
    st = d.standardization
    assert st is not None and len(st.mean) == 2
    scaler = StandardScaler().fit(d.raw_train.astype(np.float64))  # an independent reference
    np.testing.assert_allclose(st.mean, scaler.mean_, rtol=1e-12)
    np.testing.assert_allclose(st.std, scaler.scale_, rtol=1e-12)
    np.testing.assert_allclose(d.x_train, scaler.transform(d.raw_train), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(d.x_test, scaler.transform(d.raw_test), rtol=1e-6, atol=1e-6)
    assert d.x_train.dtype == np.float32 and d.x_test.dtype == np.float32
    # Not the statistics of every row (the test rows do not leak in).
    whole = np.concatenate([d.raw_train, d.raw_test]).astype(np.float64)
    assert not np.allclose(st.mean, whole.mean(axis=0), rtol=1e-6)
    # raw_* keep the file's units; inputs_of maps them exactly like the training inputs.
    assert d.raw_train[:, 0].mean() > 30
    np.testing.assert_array_equal(d.inputs_of(d.raw_train), d.x_train)
    np.testing.assert_array_equal(d.inputs_of(d.raw_test), d.x_test)


def test_a_constant_column_gets_std_one(tmp_path: Path) -> None:
    rows = "\n".join(f"7.5,{i},{i % 2}" for i in range(10))
    d = load_table(_csv(tmp_path, f"c,i,label\n{rows}\n"))
    assert d.standardization.mean[0] == 7.5 and d.standardization.std[0] == 1.0
    np.testing.assert_array_equal(d.x_train[:, 0], 0)
    assert np.isfinite(d.x_train).all() and np.isfinite(d.x_test).all()


def test_generated_sets_keep_their_scale_unless_asked() -> None:
    d = generate("xor", samples=200, seed=1, features=["x", "y", "xy"])
    assert d.standardization is None
    np.testing.assert_array_equal(d.x_train, expand_features(d.raw_train, d.features))
    s = generate("xor", samples=200, seed=1, features=["x", "y", "xy"], standardize=True)
    assert s.standardization is not None
    np.testing.assert_array_equal(s.raw_train, d.raw_train)  # the same points and split
    # After the feature expansion: statistics of the expanded training inputs.
    expanded = expand_features(d.raw_train, d.features).astype(np.float64)
    np.testing.assert_allclose(s.standardization.mean, expanded.mean(axis=0), rtol=1e-9)
    np.testing.assert_allclose(s.standardization.std, expanded.std(axis=0), rtol=1e-9)
    np.testing.assert_allclose(s.x_train.mean(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(s.x_train.std(axis=0), 1, atol=1e-5)
    np.testing.assert_array_equal(s.inputs_of(s.raw_train), s.x_train)
    np.testing.assert_array_equal(s.inputs_of(s.raw_test), s.x_test)


def test_standardization_apply_and_as_dict() -> None:
    from nncli.core.train.datasets import Standardization

    x = np.array([[1.0, 10.0], [3.0, 10.0], [5.0, 10.0]], dtype=np.float32)
    st = Standardization.of(x)
    assert st.mean == (3.0, 10.0)
    assert st.std == (math.sqrt(8 / 3), 1.0)
    assert st.as_dict() == {"mean": [3.0, 10.0], "std": [math.sqrt(8 / 3), 1.0]}
    out = st.apply(x)
    assert out.dtype == np.float32 and out is not x
    np.testing.assert_allclose(out[:, 0], np.array([-2, 0, 2]) / math.sqrt(8 / 3), rtol=1e-7)
    in_place = x.copy()
    assert st.apply(in_place, out=in_place) is in_place
    np.testing.assert_array_equal(in_place, out)
    with pytest.raises(ValueError, match="2 features"):
        st.apply(np.zeros((2, 3), dtype=np.float32))


def test_standardization_is_chunked_and_float64(monkeypatch) -> None:
    from nncli.core.train import datasets

    monkeypatch.setattr(datasets, "_CHUNK_VALUES", 6)  # 3 rows a chunk
    x = (np.arange(40, dtype=np.float32).reshape(20, 2) + 1e6).astype(np.float32)
    st = datasets.Standardization.of(x)
    np.testing.assert_allclose(st.mean, x.astype(np.float64).mean(axis=0), rtol=1e-15)
    np.testing.assert_allclose(st.std, x.astype(np.float64).std(axis=0), rtol=1e-12)


def test_stratified_split_matches_the_reference_on_many_shapes() -> None:
    from nncli.core.train.datasets import _split

    rng = np.random.default_rng(0)
    for case in range(200):
        k = int(rng.integers(2, 7))
        labels = rng.integers(0, k, size=int(rng.integers(2, 60)))
        fraction = float(rng.choice([0.1, 0.2, 0.25, 0.3, 0.5, 0.7, 0.9, 0.01, 0.99]))
        train, test = _split(np.random.default_rng(case), len(labels), fraction, labels)
        assert len(train) and len(test) and len(train) + len(test) == len(labels)
        assert set(train.tolist()).isdisjoint(test.tolist())
        expected = _reference_split(np.random.default_rng(case), labels, fraction)
        if expected:
            assert set(test.tolist()) == expected, (case, labels.tolist(), fraction)
        for c, n in zip(*np.unique(labels, return_counts=True), strict=True):
            tested = int(np.sum(labels[test] == c))
            if n >= 2:
                assert 1 <= tested <= n - 1 and abs(tested - n * fraction) < 1 + 1e-9
