"""The data ``nncli train`` learns from: TF Playground's toy sets and the user's own tables.

Generated sets are 2-D points (TensorFlow Playground's ``src/dataset.ts``, plus
sklearn's two moons and K-class variants), drawn from numpy generators spawned
from the seed, so a seed always gives the same points and the same train/test split. Classes are
balanced by construction (counts differ by at most one), which is why noise moves
the *points* after their label is decided instead of relabelling them: a noisy
label flip would unbalance the classes. That is where the noise differs from the sources:
TF Playground relabels xor and circles by the noisy position and jitters the spiral by
uniform noise, sklearn adds Gaussian noise to the moons (as here); ``--noise`` here is always
a Gaussian standard deviation in units of the set's radius.

The split (:func:`_split`) is one seeded permutation from its own stream (spawned from the
seed for generated sets, ``default_rng(seed)`` for tables), stratified for classification:
the test set keeps its size, ``round(n * test_fraction)``, and every class with at least two
rows sends within one row of ``n_k * test_fraction`` (at least one, and at least one left to
train on) to it, so every class is tested.

Standardisation (:class:`Standardization`) takes each input column's mean and standard
deviation from the *training* split only and applies them to both splits: the test set
never leaks into the statistics. Tables are standardised by default, generated sets keep
TF Playground's scale unless asked.

``expand_features`` turns the points into TF Playground's inputs (x, y, x², y², xy,
sin x, sin y). Tables (``--data``) are read with :func:`nncli.core.inputs.read_rows`,
so every bad cell is a usage error naming the file, the line and the rule.

Nothing here imports torch: the arrays are numpy, the trainer moves them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from nncli.core.memory import FLOAT32, ensure_fits
from nncli.errors import UsageError, unknown_name
from nncli.limits import check_int, check_seed

if TYPE_CHECKING:
    import numpy as np

TASKS = ("binary", "multi-class", "regression")
TASK_CLASSIFICATION = "classification"  # --task: binary or multi-class by the label count
FEATURES = ("x", "y", "x2", "y2", "xy", "sinx", "siny")
DEFAULT_FEATURES = ("x", "y")
MIN_SAMPLES = 4  # two per side of the split for a binary set
MAX_SAMPLES = 10_000_000
MIN_GROUPS, MAX_GROUPS = 2, 100  # spiral arms, blob classes
# Noise is a standard deviation in units of the set's radius; past 100 radii the
# points are pure noise, and far past it float32 coordinates overflow to inf.
MAX_NOISE = 100.0
# An integer target with more distinct values than this is a quantity, not a label.
MAX_CLASSES = MAX_GROUPS
MIN_TABLE_ROWS = 2  # one for training, one for testing


@dataclass(frozen=True)
class DatasetInfo:
    """A registry entry: what a generated set is, for ``--help``, tables and figures."""

    name: str
    task: str  # the default task; spiral and blobs are multi-class with K > 2
    description: str
    label_zh: str
    params: tuple[str, ...] = ()  # "arms" (spiral), "classes" (blobs)
    radius: float = 5.0  # the scale of the points; --noise is a fraction of it


DATASETS: dict[str, DatasetInfo] = {
    info.name: info
    for info in (
        DatasetInfo(
            "xor",
            "binary",
            "points in ±[0.3, 5.3]², class 1 where x·y > 0 (a 0.3 gap around the axes)",
            "异或",
        ),
        DatasetInfo(
            "circles",
            "binary",
            "a disc of radius 2.5 (class 1) inside a ring from 3.5 to 5 (class 0)",
            "同心圆",
        ),
        DatasetInfo(
            "moons",
            "binary",
            "two interleaving half moons of radius 1 (as sklearn.datasets.make_moons)",
            "双月",
            radius=1.0,
        ),
        DatasetInfo(
            "spiral",
            "binary",
            "K interleaved spiral arms of radius 5, one class per arm (--arms, default 2)",
            "螺旋",
            params=("arms",),
        ),
        DatasetInfo(
            "blobs",
            "multi-class",
            "K Gaussian blobs (std 0.5) centred on a circle of radius 3 (--classes, default 3)",
            "高斯簇",
            params=("classes",),
            radius=3.0,
        ),
        DatasetInfo(
            "plane",
            "regression",
            "points in [-6, 6]², target (x + y) / 10 (TF Playground's plane)",
            "平面",
            radius=6.0,
        ),
        DatasetInfo(
            "sine",
            "regression",
            "points in [-6, 6]², target sin(πx/6)·cos(πy/6)",
            "正弦曲面",
            radius=6.0,
        ),
    )
}


# Rows per chunk when standardising: float64 temporaries of at most ~8 MB at a time.
_CHUNK_VALUES = 1 << 20


@dataclass(frozen=True)
class Standardization:
    """Per-feature ``(x - mean) / std``, the statistics taken from the training split only.

    ``mean`` and ``std`` are float64, computed in float64 (two passes, population std,
    ddof 0, as sklearn's ``StandardScaler``). A constant column (std 0) gets std 1, so it
    maps to 0 instead of dividing by zero. :meth:`apply` gives float32.
    """

    mean: tuple[float, ...]
    std: tuple[float, ...]

    @classmethod
    def of(cls, x: np.ndarray) -> Standardization:
        """The statistics of ``x`` (rows, features), in float64, chunk by chunk."""
        import numpy as np

        rows, width = x.shape
        if rows == 0:
            raise ValueError("cannot standardise with no training rows")
        step = max(1, _CHUNK_VALUES // max(width, 1))
        total = np.zeros(width, dtype=np.float64)
        for start in range(0, rows, step):
            total += x[start : start + step].sum(axis=0, dtype=np.float64)
        mean = total / rows
        squares = np.zeros(width, dtype=np.float64)
        for start in range(0, rows, step):
            centred = x[start : start + step].astype(np.float64) - mean
            squares += (centred * centred).sum(axis=0)
        std = np.sqrt(squares / rows)
        std = np.where(np.isfinite(std) & (std > 0), std, 1.0)
        return cls(tuple(float(v) for v in mean), tuple(float(v) for v in std))

    @property
    def features(self) -> int:
        return len(self.mean)

    def apply(self, x: np.ndarray, *, out: np.ndarray | None = None) -> np.ndarray:
        """``(x - mean) / std`` as float32, computed in float64 chunk by chunk.

        ``out`` (float32, the shape of ``x``; may be ``x`` itself) receives the result,
        so a large array is standardised without a second copy.
        """
        import numpy as np

        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.features:
            raise ValueError(
                f"standardisation of {self.features} features cannot apply to shape {x.shape}"
            )
        mean = np.asarray(self.mean, dtype=np.float64)
        std = np.asarray(self.std, dtype=np.float64)
        result = np.empty(x.shape, dtype=np.float32) if out is None else out
        step = max(1, _CHUNK_VALUES // max(x.shape[1], 1))
        for start in range(0, x.shape[0], step):
            chunk = x[start : start + step].astype(np.float64)
            result[start : start + step] = (chunk - mean) / std
        return result

    def as_dict(self) -> dict[str, list[float]]:
        """``{"mean": [...], "std": [...]}``: plain floats, for JSON and checkpoints."""
        return {"mean": list(self.mean), "std": list(self.std)}


@dataclass
class Dataset:
    """Train and test arrays ready for torch.

    ``x_*`` are float32 ``(n, features)``; ``y_*`` are ``(n,)``: int64 class indices
    0..K-1 for classification, float32 values for regression.
    """

    name: str
    task: str
    classes: int | None  # None for regression
    features: list[str]
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    # The 2-D points before feature expansion, for the decision-boundary plot;
    # None for a table whose inputs are not exactly two columns.
    raw_train: np.ndarray | None
    raw_test: np.ndarray | None
    samples: int
    noise: float
    seed: int
    source: str  # "generated" or the table's path
    target: str | None = None  # the table's target column
    # The original label of each class index (a table's -1/1 become 0/1).
    labels: list[float] | None = None
    params: dict[str, int] = field(default_factory=dict)  # {"arms": K} / {"classes": K}
    # The training split's statistics, already applied to x_train and x_test (raw_train
    # and raw_test stay in the original units); None when the inputs are not standardised.
    standardization: Standardization | None = None

    def inputs_of(self, points: np.ndarray) -> np.ndarray:
        """The model's float32 inputs for raw 2-D ``points`` (e.g. a grid for the boundary).

        Generated sets expand the points into their features; a two-column table's
        points are its inputs already (its feature names are column names). The
        standardisation, if any, is applied last, as it was to the training inputs.
        """
        import numpy as np

        if self.raw_train is None:
            raise ValueError(f"{self.name} has no 2-D raw points to map")
        if self.source != "generated":
            inputs = np.asarray(points, dtype=np.float32)
        else:
            inputs = expand_features(points, self.features)
        if self.standardization is not None:
            inputs = self.standardization.apply(inputs)
        return inputs


# --- validation ---------------------------------------------------------------


def check_fraction(value: float, name: str = "--test-fraction") -> float:
    """A fraction strictly between 0 and 1, so both sides of the split are non-empty."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UsageError(f"{name} must be a number between 0 and 1 (exclusive), got {value!r}")
    if not (math.isfinite(value) and 0 < value < 1):
        raise UsageError(f"{name} must be between 0 and 1 (exclusive), got {value}")
    return float(value)


def check_noise(value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UsageError(f"--noise must be a number, got {value!r}")
    if not (math.isfinite(value) and 0 <= value <= MAX_NOISE):
        raise UsageError(
            f"--noise must be a finite number from 0 to {MAX_NOISE:g} "
            f"(a fraction of the data's radius), got {value}"
        )
    return float(value)


def get_dataset(name: str) -> DatasetInfo:
    info = DATASETS.get(name.lower()) if isinstance(name, str) else None
    if info is None:
        raise unknown_name("dataset", str(name), DATASETS)
    return info


def check_task(task: str) -> str:
    if task not in (*TASKS, TASK_CLASSIFICATION):
        raise unknown_name("task", task, (*TASKS, TASK_CLASSIFICATION))
    return task


# --- features -----------------------------------------------------------------


def parse_features(text: str) -> list[str]:
    """``"x,y,x2"`` -> ``["x", "y", "x2"]``; an unknown, repeated or empty name is a usage error."""
    names = [part.strip().lower() for part in text.split(",")]
    if not any(names):
        raise UsageError(f"--features needs at least one name; choose from: {', '.join(FEATURES)}")
    seen: set[str] = set()
    for name in names:
        if not name:
            raise UsageError(f"--features {text!r} has an empty name (two commas in a row?)")
        if name not in FEATURES:
            error = unknown_name("feature", name, FEATURES)
            raise UsageError(f"--features: {error.message}", hint=error.hint)
        if name in seen:
            raise UsageError(f"--features lists {name!r} twice; each input once")
        seen.add(name)
    return names


def _feature_functions() -> dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]]:
    import numpy as np

    return {
        "x": lambda x, y: x,
        "y": lambda x, y: y,
        "x2": lambda x, y: x * x,
        "y2": lambda x, y: y * y,
        "xy": lambda x, y: x * y,
        "sinx": lambda x, y: np.sin(x),
        "siny": lambda x, y: np.sin(y),
    }


def expand_features(points: np.ndarray, features: list[str]) -> np.ndarray:
    """TF Playground's inputs of ``(n, 2)`` points: a float32 ``(n, len(features))`` array."""
    import numpy as np

    functions = _feature_functions()
    unknown = [name for name in features if name not in functions]
    if unknown:
        raise unknown_name("feature", unknown[0], FEATURES)
    # Computed in float64 from the points, rounded once to float32.
    x, y = points[:, 0].astype(np.float64), points[:, 1].astype(np.float64)
    columns = [functions[name](x, y) for name in features]
    return np.stack(columns, axis=1).astype(np.float32)


# --- generated sets -----------------------------------------------------------


def generate(
    name: str,
    *,
    samples: int = 500,
    noise: float = 0.0,
    test_fraction: float = 0.5,
    seed: int = 0,
    features: list[str] | None = None,
    arms: int = 2,
    classes: int = 3,
    standardize: bool = False,
) -> Dataset:
    """A seeded toy set, split into train and test by a seeded permutation.

    The split is stratified for the classification sets (see :func:`_split`), a plain
    permutation for regression. ``standardize`` standardises the features (after the
    expansion) with the training split's statistics; off by default, so the inputs keep
    TF Playground's scale.
    """
    import numpy as np

    info = get_dataset(name)
    check_int("--samples", samples, MIN_SAMPLES, MAX_SAMPLES)
    noise = check_noise(noise)
    test_fraction = check_fraction(test_fraction)
    check_seed(seed)
    features = list(DEFAULT_FEATURES) if features is None else parse_features(",".join(features))
    params: dict[str, int] = {}
    groups = 2
    if "arms" in info.params:
        groups = params["arms"] = check_int("--arms", arms, MIN_GROUPS, MAX_GROUPS)
    if "classes" in info.params:
        groups = params["classes"] = check_int("--classes", classes, MIN_GROUPS, MAX_GROUPS)
    regression = info.task == "regression"
    if not regression and samples < 2 * groups:
        raise UsageError(
            f"--samples {samples} is too few for {groups} classes; "
            f"use at least {2 * groups} (two points per class)"
        )
    # points (float64) + features and raw copies (float32) + labels, before allocating.
    ensure_fits(
        samples * (2 * 8 + (len(features) + 2) * FLOAT32 + 8 * 2),
        "cpu",
        f"generating {samples:,} samples of {info.name}",
    )
    # Three independent streams, so that --noise changes neither the clean points
    # nor the split: the same seed with more noise shows the same problem, blurred.
    points_rng, noise_rng, split_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)
    )
    if regression:
        points, target = _REGRESSIONS[info.name](points_rng, samples)
        labels: np.ndarray = target.astype(np.float32)
    else:
        counts = _balanced(samples, groups)
        if info.name == "moons":  # sklearn's make_moons: the outer moon gets n // 2
            counts = counts[::-1]
        points = _CLASSIFIERS[info.name](points_rng, counts)
        labels = np.repeat(np.arange(groups, dtype=np.int64), counts)
    if noise:
        points = points + noise_rng.normal(0.0, noise * info.radius, size=points.shape)
    raw = points.astype(np.float32)
    train, test = _split(split_rng, samples, test_fraction, None if regression else labels)
    # From the float32 points, so that inputs_of(raw) gives the training inputs bit for bit.
    x = expand_features(raw, features)
    x_train, x_test = x[train], x[test]
    standardization = _standardize(x_train, x_test) if standardize else None
    return Dataset(
        name=info.name,
        task="regression" if regression else ("binary" if groups == 2 else "multi-class"),
        classes=None if regression else groups,
        features=features,
        x_train=x_train,
        y_train=labels[train],
        x_test=x_test,
        y_test=labels[test],
        raw_train=raw[train],
        raw_test=raw[test],
        samples=samples,
        noise=noise,
        seed=seed,
        source="generated",
        params=params,
        standardization=standardization,
    )


def _standardize(x_train: np.ndarray, x_test: np.ndarray) -> Standardization:
    """Standardise both splits in place with the training split's statistics (the arrays
    are the split's own copies, from fancy indexing)."""
    standardization = Standardization.of(x_train)
    standardization.apply(x_train, out=x_train)
    standardization.apply(x_test, out=x_test)
    return standardization


def _balanced(samples: int, groups: int) -> list[int]:
    """``samples`` shared among ``groups`` so that counts differ by at most one."""
    base, extra = divmod(samples, groups)
    return [base + (1 if k < extra else 0) for k in range(groups)]


def _split(
    rng: np.random.Generator,
    samples: int,
    test_fraction: float,
    labels: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Train and test indices from one seeded permutation; neither side is empty.

    The test set has ``round(samples * test_fraction)`` rows (at least 1, at most all
    but 1): without ``labels`` (regression) the permutation's first ones. With ``labels``
    the split is stratified (:func:`_quotas`): each class sends its first ``q_k`` rows in
    permutation order to the test set, ``q_k`` within one row of ``n_k * test_fraction``,
    at least 1 and at most ``n_k - 1`` for a class of two rows or more; a class of one row
    trains. (Should every class have one row, the permutation's first row is the test
    set.) Both sides keep the permutation's order, so the classes are mixed in each.
    """
    import numpy as np

    order = rng.permutation(samples)
    n_test = min(max(round(samples * test_fraction), 1), samples - 1)
    if labels is None:
        return order[n_test:], order[:n_test]
    ordered = labels[order]
    # Each row's rank within its class, in permutation order (a stable sort by class
    # keeps the permutation's order inside each class).
    by_class = np.argsort(ordered, kind="stable")
    classes, starts, sizes = np.unique(ordered[by_class], return_index=True, return_counts=True)
    rank = np.empty(samples, dtype=np.int64)
    rank[by_class] = np.arange(samples) - np.repeat(starts, sizes)
    quota = np.zeros(int(classes.max()) + 1 if classes.size else 0, dtype=np.int64)
    quota[classes] = _quotas(sizes.tolist(), test_fraction, n_test)
    is_test = rank < quota[ordered]
    if not is_test.any():  # every class has one row: one of them must be tested
        is_test[0] = True
    return order[~is_test], order[is_test]


def _quotas(sizes: list[int], fraction: float, total: int) -> list[int]:
    """Test rows per class, each within one row of ``n_k * fraction``: ``floor(n_k *
    fraction)``, raised to 1 for a class of two rows or more (0 for a class of one); then
    one more, up to ``n_k - 1``, for the classes with the largest remainders (ties: the
    first class) until ``total`` is reached, the rows an unstratified split would hold
    out. The total moves off ``total`` only where those bounds demand it."""
    exact = [n * fraction for n in sizes]
    quotas = [
        0 if n < 2 else max(math.floor(x + 1e-9), 1) for x, n in zip(exact, sizes, strict=True)
    ]
    by_remainder = sorted(range(len(sizes)), key=lambda k: (quotas[k] - exact[k], k))
    for k in by_remainder:
        if sum(quotas) >= total:
            break
        if exact[k] - quotas[k] > 1e-9 and quotas[k] + 1 <= sizes[k] - 1:
            quotas[k] += 1
    return quotas


def _polar(radius: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """TF Playground's convention: x = r·sin(t), y = r·cos(t)."""
    import numpy as np

    return np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1)


def _xor(rng: np.random.Generator, counts: list[int]) -> np.ndarray:
    """Class 0: quadrants where x·y < 0; class 1: x·y > 0. A 0.3 gap around the axes.

    As TF Playground's ``classifyXORData`` (``src/dataset.ts``): each coordinate uniform
    in [-5, 5], then moved 0.3 away from the axis, so the points lie in ±[0.3, 5.3]. The
    classes are balanced here by flipping y's sign, where TF Playground labels each point.
    """
    import numpy as np

    parts = []
    for label, n in enumerate(counts):
        u = rng.uniform(-5, 5, size=(n, 2))
        u += np.where(u > 0, 0.3, -0.3)  # TF Playground's padding
        # Make the sign of x·y match the class: flip y where it disagrees.
        wanted = 1.0 if label == 1 else -1.0
        u[:, 1] *= np.where(np.sign(u[:, 0] * u[:, 1]) == wanted, 1.0, -1.0)
        parts.append(u)
    return np.concatenate(parts)


def _circles(rng: np.random.Generator, counts: list[int]) -> np.ndarray:
    """Class 1 inside radius 2.5, class 0 on a ring from 3.5 to 5 (TF Playground's
    ``classifyCircleData``: r uniform in [0, 2.5] and [3.5, 5], the angle uniform)."""
    import numpy as np

    inner = _polar(rng.uniform(0, 2.5, counts[1]), rng.uniform(0, 2 * np.pi, counts[1]))
    outer = _polar(rng.uniform(3.5, 5, counts[0]), rng.uniform(0, 2 * np.pi, counts[0]))
    return np.concatenate([outer, inner])


def _moons(rng: np.random.Generator, counts: list[int]) -> np.ndarray:
    """sklearn's ``make_moons`` (``sklearn/datasets/_samples_generator.py``), unshuffled.

    Class 0, the upper moon of ``counts[0]`` points: ``(cos t, sin t)``; class 1, the
    lower moon: ``(1 - cos t, 0.5 - sin t)``; ``t = np.linspace(0, π, n)`` in each moon,
    evenly spaced as sklearn does (so ``rng`` draws nothing). :func:`generate` gives the
    outer moon ``n // 2`` points, as sklearn does, and adds the noise after.
    """
    import numpy as np

    t0 = np.linspace(0, np.pi, counts[0])
    t1 = np.linspace(0, np.pi, counts[1])
    upper = np.stack([np.cos(t0), np.sin(t0)], axis=1)
    lower = np.stack([1 - np.cos(t1), 1 - np.sin(t1) - 0.5], axis=1)
    return np.concatenate([upper, lower])


def _spiral(rng: np.random.Generator, counts: list[int]) -> np.ndarray:
    """TF Playground's spiral (``classifySpiralData`` in ``src/dataset.ts``), with K arms.

    Arm k of n points: ``r = i / n * 5`` and ``t = 1.75 * i / n * 2π + Δ_k`` for
    i = 0..n-1, evenly spaced as TF Playground does (so ``rng`` draws nothing), with
    ``Δ_k = 2πk / K`` (TF Playground's two arms: Δ = 0 and π); x = r·sin t, y = r·cos t.
    """
    import numpy as np

    arms = len(counts)
    parts = []
    for k, n in enumerate(counts):
        i = np.arange(n, dtype=np.float64)
        r = i / n * 5
        t = 1.75 * i / n * 2 * np.pi + 2 * np.pi * k / arms
        parts.append(_polar(r, t))
    return np.concatenate(parts)


def _blobs(rng: np.random.Generator, counts: list[int]) -> np.ndarray:
    """K Gaussian blobs (std 0.5), centres evenly spaced on a circle of radius 3."""
    import numpy as np

    k_total = len(counts)
    parts = []
    for k, n in enumerate(counts):
        angle = 2 * np.pi * k / k_total
        centre = np.array([3 * np.sin(angle), 3 * np.cos(angle)])
        parts.append(centre + rng.normal(0.0, 0.5, size=(n, 2)))
    return np.concatenate(parts)


def _plane(rng: np.random.Generator, samples: int) -> tuple[np.ndarray, np.ndarray]:
    points = rng.uniform(-6, 6, size=(samples, 2))
    return points, (points[:, 0] + points[:, 1]) / 10


def _sine(rng: np.random.Generator, samples: int) -> tuple[np.ndarray, np.ndarray]:
    import numpy as np

    points = rng.uniform(-6, 6, size=(samples, 2))
    return points, np.sin(np.pi * points[:, 0] / 6) * np.cos(np.pi * points[:, 1] / 6)


_CLASSIFIERS: dict[str, Callable[[np.random.Generator, list[int]], np.ndarray]] = {
    "xor": _xor,
    "circles": _circles,
    "moons": _moons,
    "spiral": _spiral,
    "blobs": _blobs,
}
_REGRESSIONS: dict[str, Callable[[np.random.Generator, int], tuple[np.ndarray, np.ndarray]]] = {
    "plane": _plane,
    "sine": _sine,
}


# --- tables (--data) ----------------------------------------------------------


def load_table(
    path: str,
    *,
    target: str | None = None,
    task: str | None = None,
    test_fraction: float = 0.5,
    seed: int = 0,
    standardize: bool = True,
) -> Dataset:
    """The user's ``.csv`` (header row of column names) or ``.npy`` (columns c0..cN) table.

    ``target`` names the label column (default: the last). The task is inferred
    from the labels unless given: integer values are classes (remapped to
    0..K-1, the originals kept in ``labels``), anything else is regression.
    The split is one permutation from ``default_rng(seed)``, stratified for
    classification (:func:`_split`). ``standardize`` (the default) standardises the
    input columns with the training split's statistics (:class:`Standardization`);
    ``raw_train``/``raw_test`` keep the original units.
    """
    import numpy as np

    from nncli.core.inputs import read_rows

    test_fraction = check_fraction(test_fraction)
    check_seed(seed)
    if task is not None:
        check_task(task)
    data = read_rows(path, option="--data", dtype="float32")
    names = _column_names(Path(path), data.shape[1])
    where = f"--data {path}"
    if data.shape[1] < 2:
        raise UsageError(
            f"{where}: has {data.shape[1]} column; it needs at least one input column "
            "and the target column"
        )
    if data.shape[0] < MIN_TABLE_ROWS:
        raise UsageError(
            f"{where}: has {data.shape[0]} row; training needs at least {MIN_TABLE_ROWS} "
            "(one to train on, one to test)"
        )
    column = _target_column(where, names, target)
    inputs = [i for i in range(len(names)) if i != column]
    # A view when the target is the first or last column (no copy of a large table);
    # the train/test indexing below makes the contiguous copies the model needs.
    if column in (0, len(names) - 1):
        x = data[:, 1:] if column == 0 else data[:, :-1]
    else:
        x = data[:, inputs]
    task, y, labels = _labels(where, names[column], data[:, column], task)
    rng = np.random.default_rng(seed)
    train, test = _split(rng, len(x), test_fraction, None if labels is None else y)
    raw = x if x.shape[1] == 2 else None
    # Fancy indexing copies: the standardisation writes into these copies, never into x.
    x_train, x_test = x[train], x[test]
    standardization = _standardize(x_train, x_test) if standardize else None
    return Dataset(
        name=Path(path).stem,
        task=task,
        classes=None if labels is None else len(labels),
        features=[names[i] for i in inputs],
        x_train=x_train,
        y_train=y[train],
        x_test=x_test,
        y_test=y[test],
        raw_train=None if raw is None else raw[train],
        raw_test=None if raw is None else raw[test],
        samples=len(x),
        noise=0.0,
        seed=seed,
        source=str(path),
        target=names[column],
        labels=labels,
        standardization=standardization,
    )


def _column_names(path: Path, width: int) -> list[str]:
    """A CSV's header names (read_rows skipped that line), or c0..cN without one."""
    from nncli.core.inputs import read_header

    # Parsed as read_rows parses it: spreadsheets quote names ("a","b", "x,y").
    header = read_header(path)
    if header is None:  # a .npy, or the first line is data
        return [f"c{i}" for i in range(width)]
    return _check_header(path, *header, width)


def _check_header(path: Path, line: int, cells: list[str], width: int) -> list[str]:
    where = f"--data {path}: line {line} (the header)"
    if len(cells) != width:
        raise UsageError(
            f"{where} names {len(cells)} columns but the rows have {width}; one name per column"
        )
    for i, name in enumerate(cells):
        if not name:
            raise UsageError(f"{where}: column {i + 1} has no name")
        if name in cells[:i]:
            raise UsageError(f"{where}: column name {name!r} appears twice; names must be unique")
    return cells


def _target_column(where: str, names: list[str], target: str | None) -> int:
    if target is None:
        return len(names) - 1
    if target not in names:
        raise UsageError(
            f"{where}: no column named {target!r} for --target; columns: {', '.join(names)}"
        )
    return names.index(target)


def _labels(
    where: str, column: str, values: np.ndarray, task: str | None
) -> tuple[str, np.ndarray, list[float] | None]:
    """(task, y, original labels): classes remapped to 0..K-1, or float32 regression values."""
    import numpy as np

    whole = values == np.round(values)
    if task == "regression" or (task is None and not whole.all()):
        return "regression", values.astype(np.float32), None
    distinct = np.unique(values)
    if task is None and len(distinct) > MAX_CLASSES:
        # Integer-valued but too many values to be labels: a count or an amount.
        return "regression", values.astype(np.float32), None
    if not whole.all():
        row = int(np.argmin(whole))
        raise UsageError(
            f"{where}: data row {row + 1}, target {column!r}: {values[row]:g} is not a whole "
            f"number; --task {task} needs integer class labels"
        )
    if len(distinct) < 2:
        raise UsageError(
            f"{where}: target {column!r} has one class only ({distinct[0]:g}); "
            "classification needs at least 2"
        )
    if len(distinct) > MAX_CLASSES:
        raise UsageError(
            f"{where}: target {column!r} has {len(distinct):,} classes; at most {MAX_CLASSES}"
        )
    if task == "binary" and len(distinct) != 2:
        raise UsageError(
            f"{where}: target {column!r} has {len(distinct)} classes; --task binary needs 2 "
            "(use --task multi-class)"
        )
    y = np.searchsorted(distinct, values).astype(np.int64)
    inferred = "binary" if len(distinct) == 2 else "multi-class"
    if task == "multi-class":
        inferred = task  # forced: K outputs even for 2 classes
    return inferred, y, [float(v) for v in distinct]
