"""nncli.core.train.baseline: k-nearest neighbours against sklearn's, the k choice, the caps.

sklearn (a dev dependency) is the independent reference: the same standardised features
and k give the same predictions and the same score.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from sklearn.metrics import r2_score
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.preprocessing import StandardScaler

from nncli.core.train import baseline as bl
from nncli.core.train.baseline import (
    BASELINE_ROWS,
    K_CHOICES,
    Baseline,
    _smallest,
    baseline,
    choose_k,
    neighbours,
    predict,
)
from nncli.core.train.datasets import Dataset, generate


def _scaled(ds: Dataset) -> tuple[np.ndarray, np.ndarray]:
    scaler = StandardScaler().fit(ds.x_train.astype(np.float64))
    return scaler.transform(ds.x_train.astype(np.float64)), scaler.transform(
        ds.x_test.astype(np.float64)
    )


def _table(x_train, y_train, x_test, y_test, task="binary") -> Dataset:
    return Dataset(
        name="t",
        task=task,
        classes=None if task == "regression" else int(max(y_train.max(), y_test.max())) + 1,
        features=[f"f{i}" for i in range(x_train.shape[1])],
        x_train=x_train.astype(np.float32),
        y_train=y_train,
        x_test=x_test.astype(np.float32),
        y_test=y_test,
        raw_train=None,
        raw_test=None,
        samples=len(x_train) + len(x_test),
        noise=0.0,
        seed=0,
        source="t",
    )


# --- against sklearn ----------------------------------------------------------------


@pytest.mark.parametrize("k", K_CHOICES)
def test_binary_predictions_are_sklearns(k: int) -> None:
    ds = generate("moons", samples=600, noise=0.35, seed=1)
    xtr, xte = _scaled(ds)
    ref = KNeighborsClassifier(n_neighbors=k, algorithm="brute").fit(xtr, ds.y_train)
    ours = predict(xtr, ds.y_train, xte, k, 2)
    np.testing.assert_array_equal(ours, ref.predict(xte))  # odd k, two classes: no vote ties


def test_baseline_accuracy_is_sklearns_at_its_k() -> None:
    ds = generate("moons", samples=800, noise=0.5, seed=2)
    result = baseline(ds, seed=0)
    xtr, xte = _scaled(ds)
    ref = KNeighborsClassifier(n_neighbors=result.k, algorithm="brute").fit(xtr, ds.y_train)
    assert result.test_accuracy == pytest.approx(ref.score(xte, ds.y_test), abs=1e-12)
    assert result.test_r2 is None and result.method == "k-nearest neighbours"
    assert (result.train_rows, result.test_rows) == (len(ds.x_train), len(ds.x_test))
    # Noisy moons: the baseline finds roughly the Bayes rate (about 0.82), far from 0.902.
    assert 0.75 < result.test_accuracy < 0.9


@pytest.mark.parametrize("k", [3, 9, 25])
def test_multi_class_predictions_are_sklearns_where_the_vote_is_not_tied(k: int) -> None:
    ds = generate("blobs", samples=900, classes=5, noise=0.3, seed=3)
    xtr, xte = _scaled(ds)
    ref = KNeighborsClassifier(n_neighbors=k, algorithm="brute").fit(xtr, ds.y_train)
    idx = ref.kneighbors(xte, return_distance=False)
    votes = np.stack([np.bincount(row, minlength=5) for row in ds.y_train[idx]])
    untied = (votes == votes.max(axis=1, keepdims=True)).sum(axis=1) == 1
    assert untied.mean() > 0.8
    ours = predict(xtr, ds.y_train, xte, k, 5)
    np.testing.assert_array_equal(ours[untied], ref.predict(xte)[untied])


@pytest.mark.parametrize("k", [1, 5, 15, 45])
def test_regression_is_sklearns_mean_of_neighbours(k: int) -> None:
    ds = generate("sine", samples=500, noise=0.05, seed=4)
    xtr, xte = _scaled(ds)
    ref = KNeighborsRegressor(n_neighbors=k, algorithm="brute").fit(xtr, ds.y_train)
    ours = predict(xtr, ds.y_train, xte, k, 0)
    np.testing.assert_allclose(ours, ref.predict(xte), rtol=1e-6, atol=1e-7)


def test_regression_baseline_r2_is_sklearns() -> None:
    ds = generate("plane", samples=400, noise=0.1, seed=5)
    result = baseline(ds, seed=0)
    assert result.test_accuracy is None
    xtr, xte = _scaled(ds)
    ref = KNeighborsRegressor(n_neighbors=result.k, algorithm="brute").fit(xtr, ds.y_train)
    expected = r2_score(ds.y_test.astype(np.float64), ref.predict(xte))
    assert result.test_r2 == pytest.approx(expected, abs=1e-6)
    assert result.test_r2 > 0.9


def test_neighbours_and_distances_are_sklearns() -> None:
    rng = np.random.default_rng(0)
    points, queries = rng.normal(size=(700, 6)), rng.normal(size=(90, 6))
    idx, dist = neighbours(queries, points, 12)
    ref_dist, ref_idx = (
        KNeighborsClassifier(n_neighbors=12, algorithm="brute")
        .fit(points, np.zeros(700))
        .kneighbors(queries)
    )
    np.testing.assert_array_equal(idx, ref_idx)
    np.testing.assert_allclose(dist, ref_dist, rtol=1e-9)


# --- the k choice ----------------------------------------------------------------------


def _reference_k(xtr: np.ndarray, y: np.ndarray) -> int:
    """Leave-one-out accuracy per k from sklearn's kneighbors(None) (no row its own
    neighbour); the best k, the smaller on a tie."""
    model = KNeighborsClassifier(n_neighbors=max(K_CHOICES), algorithm="brute").fit(xtr, y)
    idx = model.kneighbors(None, return_distance=False)
    scores = []
    for k in K_CHOICES:
        votes = np.stack([np.bincount(row, minlength=2) for row in y[idx[:, :k]]])
        scores.append(np.mean(votes.argmax(axis=1) == y))
    return K_CHOICES[int(np.argmax(scores))]


@pytest.mark.parametrize(("name", "noise"), [("xor", 0.0), ("moons", 0.5), ("circles", 0.2)])
def test_k_is_the_best_leave_one_out_k(name: str, noise: float) -> None:
    ds = generate(name, samples=400, noise=noise, seed=6)
    xtr, _ = _scaled(ds)
    assert choose_k(xtr, ds.y_train, 2) == _reference_k(xtr, ds.y_train)
    assert baseline(ds, seed=0).k == _reference_k(xtr, ds.y_train)


def test_k_choice_is_deterministic_and_bounded_by_the_rows() -> None:
    ds = generate("moons", samples=300, noise=0.4, seed=7)
    a, b = baseline(ds, seed=1), baseline(ds, seed=1)
    assert a == b
    tiny = generate("xor", samples=8, seed=0)  # 4 training rows: k at most 3
    assert baseline(tiny, seed=0).k in (1, 3)
    assert choose_k(np.zeros((1, 2)), np.array([0]), 2) == 1


def test_noisy_data_prefers_a_larger_k_than_clean_data() -> None:
    clean = baseline(generate("circles", samples=600, seed=8), seed=0)
    noisy = baseline(generate("circles", samples=600, noise=0.4, seed=8), seed=0)
    assert noisy.k > clean.k and clean.test_accuracy > 0.97


# --- tie-breaks ---------------------------------------------------------------------------


def test_a_tied_vote_goes_to_the_nearer_class_not_the_lowest_label() -> None:
    # Query at 0; class 0 at distances 1 and 4, class 1 at 2 and 2.5: two votes each,
    # class 1 nearer in sum (4.5 < 5). sklearn's mode would answer the lowest label, 0.
    points = np.array([[1.0], [4.0], [2.0], [2.5], [9.0]])
    labels = np.array([0, 0, 1, 1, 0])
    query = np.array([[0.0]])
    assert predict(points, labels, query, 4, 2).tolist() == [1]
    sk = KNeighborsClassifier(n_neighbors=4, algorithm="brute").fit(points, labels)
    assert sk.predict(query).tolist() == [0]  # the case fools the lowest-label rule


def test_an_equal_sum_tie_goes_to_the_lowest_label() -> None:
    points = np.array([[-1.0], [1.0], [-3.0], [3.0]])
    labels = np.array([2, 1, 1, 2])
    assert predict(points, labels, np.array([[0.0]]), 4, 3).tolist() == [1]


def test_equal_distances_keep_index_order() -> None:
    points = np.array([[1.0, 0], [0, 1.0], [-1.0, 0], [0, -1.0], [5.0, 5.0]])
    idx, dist = neighbours(np.zeros((1, 2)), points, 3)
    assert idx.tolist() == [[0, 1, 2]] and dist.tolist() == [[1.0, 1.0, 1.0]]


@pytest.mark.parametrize("width", [40, 900, 4000])
def test_smallest_keeps_exactly_the_k_smallest(width: int) -> None:
    rng = np.random.default_rng(width)
    block = rng.normal(size=(50, width))
    block[:, ::7] = np.round(block[:, ::7], 1)  # some exact ties too
    for k in (1, 9, 45):
        chosen = np.sort(np.take_along_axis(block, _smallest(block, k), axis=1), axis=1)
        np.testing.assert_array_equal(chosen, np.sort(block, axis=1)[:, :k])


# --- standardisation, caps, memory, time ----------------------------------------------------


def test_features_are_standardised_inside_whatever_the_dataset_did() -> None:
    ds = generate("moons", samples=400, noise=0.3, seed=9)
    scale = np.array([1e4, 1e-3], dtype=np.float32)
    stretched = _table(ds.x_train * scale, ds.y_train, ds.x_test * scale, ds.y_test)
    a, b = baseline(ds, seed=0), baseline(stretched, seed=0)
    assert (a.k, a.test_accuracy) == (b.k, b.test_accuracy)
    # Without the standardisation the 1e4 axis alone decides: a worse score.
    raw = KNeighborsClassifier(n_neighbors=a.k, algorithm="brute").fit(
        stretched.x_train, ds.y_train
    )
    assert raw.score(stretched.x_test, ds.y_test) < a.test_accuracy - 0.05


def test_rows_are_capped_by_a_seeded_subsample(monkeypatch) -> None:
    monkeypatch.setattr(bl, "BASELINE_ROWS", 60)
    ds = generate("circles", samples=400, noise=0.1, seed=10)
    a = baseline(ds, seed=3)
    assert (a.train_rows, a.test_rows) == (60, 60)
    assert baseline(ds, seed=3) == a
    small = generate("circles", samples=100, seed=10)
    assert (baseline(small, 0).train_rows, baseline(small, 0).test_rows) == (50, 50)


def test_r2_conventions() -> None:
    assert bl.r2(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0])) == 1.0
    assert bl.r2(np.array([2.0, 2.0]), np.array([2.0, 2.0])) == 1.0
    assert bl.r2(np.array([2.0, 2.0]), np.array([2.0, 3.0])) == 0.0
    y, p = np.array([1.0, 4.0, 2.0, 8.0]), np.array([1.5, 3.0, 2.0, 7.0])
    assert bl.r2(y, p) == pytest.approx(r2_score(y, p), abs=1e-15)


def test_as_dict() -> None:
    b = Baseline("k-nearest neighbours", 5, 0.9, None, 10, 10)
    assert b.as_dict() == {
        "method": "k-nearest neighbours",
        "k": 5,
        "test_accuracy": 0.9,
        "test_r2": None,
        "train_rows": 10,
        "test_rows": 10,
    }


def _big(features: int) -> Dataset:
    rng = np.random.default_rng(0)
    rows = BASELINE_ROWS + 500  # past the cap: the subsample is taken
    x_train = rng.normal(size=(rows, features))
    x_test = rng.normal(size=(rows, features))
    return _table(
        x_train,
        (x_train[:, 0] * x_train[:, 1] > 0).astype(np.int64),
        x_test,
        (x_test[:, 0] * x_test[:, 1] > 0).astype(np.int64),
    )


def test_memory_stays_bounded_at_the_cap() -> None:
    ds = _big(64)
    tracemalloc.start()
    try:
        result = baseline(ds, seed=0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (result.train_rows, result.test_rows) == (BASELINE_ROWS, BASELINE_ROWS)
    assert peak < 64 * 2**20, f"peak {peak / 2**20:.1f} MiB"
