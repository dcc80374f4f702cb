"""The decision boundary (or regression surface) of a trained run over the raw 2-D plane.

``train --plot`` draws it as a heat map under the data points; the numbers are computed
here and the figure only draws the arrays. The model is run through
:func:`nncli.core.train.trainer.outputs`, in eval mode with its mode restored afterwards,
so a model with dropout gives the same surface every time it is drawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from nncli.core.train.datasets import Dataset
    from nncli.core.train.trainer import TrainRun

GRID = 120  # points per axis: smooth enough for a heat map, 14,400 forward rows
MARGIN = 0.1  # the grid extends this share of the data's range beyond it


@dataclass
class Surface:
    """``values[i, j]`` is the model's output at ``(xs[j], ys[i])``: P(class 1) for
    binary, the winning class for multi-class, the prediction for regression."""

    xs: np.ndarray  # (GRID,)
    ys: np.ndarray  # (GRID,)
    values: np.ndarray  # (GRID, GRID), float32


def has_plane(ds: Dataset) -> bool:
    """Whether the data are points of a plane (exactly two raw input columns)."""
    return ds.raw_train is not None and ds.raw_train.ndim == 2 and ds.raw_train.shape[1] == 2


def grid(ds: Dataset, size: int = GRID) -> tuple[np.ndarray, np.ndarray]:
    """The x and y coordinates of the grid: the data's range plus :data:`MARGIN`."""
    import numpy as np

    if ds.raw_train is None or ds.raw_test is None:
        raise ValueError(f"{ds.name} has no 2-D raw points to draw a surface over")
    points = np.concatenate([ds.raw_train, ds.raw_test])
    lo, hi = points.min(axis=0), points.max(axis=0)
    pad = (hi - lo) * MARGIN + 1e-6
    xs = np.linspace(lo[0] - pad[0], hi[0] + pad[0], size)
    ys = np.linspace(lo[1] - pad[1], hi[1] + pad[1], size)
    return xs, ys


def surface(ds: Dataset, run: TrainRun, size: int = GRID) -> Surface:
    """The run's output over the grid (see :class:`Surface`), in eval mode."""
    import numpy as np

    from nncli.core.train.trainer import binary_probability, outputs

    xs, ys = grid(ds, size)
    gx, gy = np.meshgrid(xs, ys)
    plane = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)
    out = outputs(run, ds.inputs_of(plane))
    if ds.task == "binary":
        values = binary_probability(run.config.loss, out[:, 0])
    elif ds.task == "multi-class":
        values = out.argmax(dim=1).float()
    else:
        values = out[:, 0]
    return Surface(xs, ys, values.numpy().reshape(size, size))
