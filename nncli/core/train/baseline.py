"""A simple baseline on the same split: k-nearest neighbours, in numpy.

``train``'s verdict judges the network against chance *and* against what a simple method
reaches on the same data, so that noisy data (``moons --noise 0.5``, whose best possible
accuracy is about 0.82) can be "learned" and pure noise cannot.

The method, fixed so that the number is reproducible:

- **features** standardised with the (capped) training rows' mean and std, computed here
  whatever ``Dataset.standardization`` is (a constant column gets std 1);
- **distance** Euclidean, computed as ``|q|² + |a|² - 2 q·a`` in float64, in chunks of
  queries so that the distance block stays under :data:`CHUNK_BYTES`;
- **k** chosen from :data:`K_CHOICES` by leave-one-out accuracy (R² for regression) on the
  training rows (a row is never its own neighbour); a tie goes to the smaller k;
- **prediction**: classification by majority vote among the k nearest, a tied vote going
  to the class whose tied neighbours are nearer in sum, then to the lowest label;
  regression by the neighbours' mean;
- **cost capped**: at most :data:`BASELINE_ROWS` training and test rows, a seeded
  subsample of each when there are more (the counts are reported).

Neighbours at exactly the same distance are ordered by their row index, so the result is
deterministic. Nothing here imports torch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from nncli.core.train.datasets import Dataset

BASELINE_ROWS = 4000  # training rows and test rows, each at most
K_CHOICES = (1, 3, 5, 9, 15, 25, 45)
CHUNK_BYTES = 16 * 1024 * 1024  # one float64 block of query-to-training distances
SELECT_BYTES = 1024 * 1024  # the slice of it the k-nearest selection works on at a time
METHOD = "k-nearest neighbours"


@dataclass(frozen=True)
class Baseline:
    """The baseline's score on the test rows: accuracy (classification) or R² (regression)."""

    method: str
    k: int
    test_accuracy: float | None  # classification, else None
    test_r2: float | None  # regression, else None
    train_rows: int  # the training rows used (capped at BASELINE_ROWS)
    test_rows: int  # the test rows scored (capped at BASELINE_ROWS)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def baseline(ds: Dataset, seed: int) -> Baseline:
    """k-nearest neighbours on ``ds``'s split (see the module's docstring for the rules)."""
    import numpy as np

    train_rng, test_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    train = _capped(train_rng, len(ds.x_train))
    test = _capped(test_rng, len(ds.x_test))
    x_train = np.asarray(ds.x_train)[train].reshape(len(train), -1).astype(np.float64)
    x_test = np.asarray(ds.x_test)[test].reshape(len(test), -1)
    y_train = np.asarray(ds.y_train)[train]
    y_test = np.asarray(ds.y_test)[test]
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    std = np.where(np.isfinite(std) & (std > 0), std, 1.0)
    x_train = (x_train - mean) / std
    regression = ds.task == "regression"
    classes = 0 if regression else int(max(y_train.max(), y_test.max())) + 1
    k = choose_k(x_train, y_train, classes)
    predicted = predict(x_train, y_train, (x_test.astype(np.float64) - mean) / std, k, classes)
    if regression:
        return Baseline(METHOD, k, None, r2(y_test, predicted), len(train), len(test))
    accuracy = float(np.mean(predicted == y_test))
    return Baseline(METHOD, k, accuracy, None, len(train), len(test))


def _capped(rng: np.random.Generator, rows: int) -> np.ndarray:
    """All row indices, or a seeded sorted subsample of BASELINE_ROWS of them."""
    import numpy as np

    if rows <= BASELINE_ROWS:
        return np.arange(rows)
    return np.sort(rng.choice(rows, size=BASELINE_ROWS, replace=False))


def r2(y: np.ndarray, predicted: np.ndarray) -> float:
    """``1 - SS_res / SS_tot`` in float64; a constant target scores 1 when predicted
    exactly, else 0 (sklearn's ``r2_score`` convention)."""
    import numpy as np

    y = np.asarray(y, dtype=np.float64)
    residual = float(np.sum((y - predicted) ** 2))
    total = float(np.sum((y - y.mean()) ** 2))
    if total == 0:
        return 1.0 if residual == 0 else 0.0
    return 1.0 - residual / total


def choose_k(x_train: np.ndarray, y_train: np.ndarray, classes: int) -> int:
    """The k of :data:`K_CHOICES` with the best leave-one-out score on the training rows
    (``classes`` 0: regression, by R²); a tie goes to the smaller k."""
    import numpy as np

    choices = [k for k in K_CHOICES if k <= len(x_train) - 1]
    if len(choices) <= 1:
        return 1
    index, distance = neighbours(x_train, x_train, max(choices), leave_one_out=True)
    best_k, best = choices[0], -np.inf
    for k in choices:
        guess = _combine(y_train[index[:, :k]], distance[:, :k], classes)
        score = r2(y_train, guess) if classes == 0 else float(np.mean(guess == y_train))
        if score > best:
            best_k, best = k, score
    return best_k


def predict(
    x_train: np.ndarray, y_train: np.ndarray, queries: np.ndarray, k: int, classes: int
) -> np.ndarray:
    """The k-nearest-neighbour prediction for each query row (``classes`` 0: regression)."""
    k = min(k, len(x_train))
    index, distance = neighbours(queries, x_train, k)
    return _combine(y_train[index], distance, classes)


def neighbours(
    queries: np.ndarray, points: np.ndarray, k: int, *, leave_one_out: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Indices and Euclidean distances of each query's ``k`` nearest ``points``, nearest
    first; equal distances in index order. ``leave_one_out``: the queries are the points
    and a row is not its own neighbour."""
    import numpy as np

    points = np.asarray(points, dtype=np.float64)
    # |q - a|² = |q|² + (|a|² - 2 q·a): the first term is the same along a row, so the
    # ranking needs only the second; |q|² is added back to the k chosen.
    minus_two = -2 * points.T
    norms = np.einsum("ij,ij->i", points, points)
    rows = len(queries)
    index = np.empty((rows, k), dtype=np.int64)
    distance = np.empty((rows, k), dtype=np.float64)
    step = max(1, CHUNK_BYTES // (8 * max(len(points), 1)))
    # The selection makes several passes over its rows: in slices that stay in cache.
    select = max(1, SELECT_BYTES // (8 * max(len(points), 1)))
    for start in range(0, rows, step):
        q = np.asarray(queries[start : start + step], dtype=np.float64)
        block = q @ minus_two  # one BLAS call for the chunk
        for lo in range(0, len(q), select):
            hi = min(lo + select, len(q))
            part_rows = block[lo:hi]
            part_rows += norms
            if leave_one_out:
                diagonal = np.arange(lo, hi)
                part_rows[diagonal - lo, start + diagonal] = np.inf
            part = _smallest(part_rows, k)
            d2 = np.take_along_axis(part_rows, part, axis=1)
            d2 += np.einsum("ij,ij->i", q[lo:hi], q[lo:hi])[:, None]
            np.maximum(d2, 0, out=d2)
            # The k nearest by (distance, index): deterministic under equal distances.
            order = np.lexsort((part, d2), axis=1)
            index[start + lo : start + hi] = np.take_along_axis(part, order, axis=1)
            distance[start + lo : start + hi] = np.sqrt(np.take_along_axis(d2, order, axis=1))
    return index, distance


STRIDE = 8  # _smallest's sample: every 8th column


def _smallest(block: np.ndarray, k: int) -> np.ndarray:
    """The column indices of the ``k`` smallest values of each row (in no order).

    A row's k-th smallest value is at most the k-th smallest of any sample of its
    columns, so that bound keeps every one of the k smallest: only the columns at or
    below it (about ``k · STRIDE`` of them) are partitioned, not the whole row. Exact,
    and several times cheaper than ``argpartition`` over rows of thousands.
    """
    import numpy as np

    rows, width = block.shape
    if k >= width:
        return np.broadcast_to(np.arange(width), block.shape).copy()
    if width < 4 * STRIDE * (k + 1):  # too narrow for the sample to pay off
        return np.argpartition(block, k - 1, axis=1)[:, :k]
    sample = np.ascontiguousarray(block[:, ::STRIDE])
    bound = np.partition(sample, k - 1, axis=1)[:, k - 1 : k]
    keep = block <= bound
    counts = np.count_nonzero(keep, axis=1)
    flat = np.flatnonzero(keep)
    row = flat // width
    slot = np.arange(len(flat)) - np.repeat(np.cumsum(counts) - counts, counts)
    values = np.full((rows, int(counts.max())), np.inf)
    columns = np.zeros(values.shape, dtype=np.int64)
    values[row, slot] = block.ravel()[flat]
    columns[row, slot] = flat - row * width
    chosen = np.argpartition(values, k - 1, axis=1)[:, :k]
    return np.take_along_axis(columns, chosen, axis=1)


def _combine(labels: np.ndarray, distance: np.ndarray, classes: int) -> np.ndarray:
    """Each row's prediction from its neighbours' labels (rows, k), nearest first:
    their mean (regression), or their majority vote, a tie going to the class whose
    neighbours are nearer in sum, then to the lowest label."""
    import numpy as np

    if classes == 0:
        return labels.astype(np.float64).mean(axis=1)
    rows = len(labels)
    flat = (np.arange(rows)[:, None] * classes + labels).ravel()
    votes = np.bincount(flat, minlength=rows * classes).reshape(rows, classes)
    sums = np.bincount(flat, weights=distance.ravel(), minlength=rows * classes)
    sums = sums.reshape(rows, classes)
    tied = votes == votes.max(axis=1, keepdims=True)
    nearest = np.where(tied, sums, np.inf)
    tied &= nearest == nearest.min(axis=1, keepdims=True)
    return tied.argmax(axis=1)  # the first True: the lowest label among the tied
