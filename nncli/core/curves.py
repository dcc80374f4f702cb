"""Sampled activation curves: values from torch, derivatives from autograd, saturation.

``compute_curve`` samples x on a range, takes y from the registry's ``torch.nn``
module and f'(x) from autograd (never a hand-written formula), then finds the
x-intervals where the gradient vanishes (|f'| < T) or is exactly zero (dead).
Everything is vectorised, so a million points cost a few tensor operations.

Inputs are validated before anything is allocated. Nothing here prints.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nncli.core.activations import Activation
from nncli.errors import UsageError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import torch

    FloatArray = npt.NDArray[np.float64]

MIN_POINTS = 2
MAX_POINTS = 10_000_000
DEFAULT_RANGE = (-5.0, 5.0)
DEFAULT_POINTS = 500
DEFAULT_THRESHOLD = 0.05

Interval = tuple[float, float]


@dataclass(frozen=True)
class Curve:
    """One activation sampled on a grid, with its autograd derivative."""

    activation: Activation
    params: dict[str, float]
    x: FloatArray
    y: FloatArray
    dy: FloatArray
    threshold: float
    saturation: list[Interval]  # where |f'(x)| < threshold, sorted and disjoint
    dead: list[Interval]  # where f'(x) is exactly 0 at the samples (dying units)
    max_abs_dy: float  # over the samples
    argmax_abs_dy: float  # an x where it is reached
    device: str
    dtype: str = "float64"
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.activation.name

    @property
    def points(self) -> int:
        return len(self.x)


def validate_range(lo: float, hi: float) -> tuple[float, float]:
    """``--range LO HI``: finite, LO < HI, and a finite width."""
    lo, hi = float(lo), float(hi)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise UsageError(f"--range must be finite, got {lo:g} {hi:g}")
    if lo >= hi:
        raise UsageError(f"--range needs LO < HI, got {lo:g} {hi:g}")
    if not math.isfinite(hi - lo):
        raise UsageError(f"--range {lo:g} {hi:g} is too wide to sample (its width overflows)")
    return lo, hi


def validate_points(points: int) -> int:
    if not MIN_POINTS <= points <= MAX_POINTS:
        raise UsageError(f"--points must be between {MIN_POINTS} and {MAX_POINTS:,}, got {points}")
    return int(points)


def validate_threshold(threshold: float) -> float:
    t = float(threshold)
    if not math.isfinite(t) or t < 0:
        raise UsageError(f"--saturation must be a finite number ≥ 0 (0 turns it off), got {t:g}")
    return t


def _dtype_for(device: str) -> torch.dtype:
    import torch

    # MPS has no float64; everywhere else double precision keeps the interval
    # boundaries and the derivative checks accurate.
    return torch.float32 if device.startswith("mps") else torch.float64


def sample(lo: float, hi: float, points: int, device: str = "cpu") -> torch.Tensor:
    """``points`` evenly spaced x values from ``lo`` to ``hi`` inclusive."""
    import torch

    lo, hi = validate_range(lo, hi)
    points = validate_points(points)
    return torch.linspace(lo, hi, points, dtype=_dtype_for(device), device=device)


def elementwise_derivative(module: Any, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """y = f(x) and f'(x) for an element-wise f: one backward pass of sum(f(x))."""
    import torch

    leaf = x.detach().clone().requires_grad_(True)
    y = module(leaf)
    (dy,) = torch.autograd.grad(y.sum(), leaf)
    return y.detach(), dy.detach()


def softmax_diagonal(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """softmax over the whole vector x, and the Jacobian diagonal ∂yᵢ/∂xᵢ, in O(N).

    The full Jacobian is N×N. Its diagonal comes out of one backward pass when
    yᵢ is rewritten as e^zᵢ / (e^zᵢ + Σ_{j≠i} e^xⱼ) with z a leaf equal to x and
    the other terms detached: then yᵢ depends on zᵢ alone, so the gradient of
    Σᵢ yᵢ with respect to z is exactly the diagonal. The "others" sums come from
    exclusive prefix and suffix sums, so nothing is subtracted and no precision
    is lost when one term dominates. The values themselves come from torch.softmax.
    """
    import torch

    x = x.detach()
    shift = x.max()  # the usual max-subtraction: exp never overflows
    e = torch.exp(x - shift)
    zero = e.new_zeros(1)
    before = torch.cat([zero, torch.cumsum(e, 0)[:-1]])
    after = torch.cat([torch.flip(torch.cumsum(torch.flip(e, [0]), 0), [0])[1:], zero])
    others = before + after
    z = x.clone().requires_grad_(True)
    ez = torch.exp(z - shift)
    y_diag = ez / (ez + others)
    (dy,) = torch.autograd.grad(y_diag.sum(), z)
    y = torch.softmax(x, dim=-1)
    return y, dy.detach()


def intervals_below(x: FloatArray, g: FloatArray, threshold: float) -> list[Interval]:
    """Maximal x-intervals where ``g < threshold``, boundaries interpolated linearly.

    A run of samples below the threshold extends to the point where the straight
    line between the last sample above and the first sample below crosses it
    (or to the end of the range), so the boundaries do not snap to the grid.
    """
    import numpy as np

    if threshold <= 0 or len(x) == 0:
        return []
    below = np.asarray(g < threshold)  # NaN compares False: never "below"
    return _runs(x, below, lambda a, b: _crossing(x, g, threshold, a, b))


def intervals_zero(x: FloatArray, g: FloatArray) -> list[Interval]:
    """Maximal x-intervals where ``g`` is exactly 0 at the samples.

    A zero derivative comes from a hard edge (ReLU at 0, hardtanh at ±1), whose
    true position lies somewhere between the last zero and the first non-zero
    sample; the midpoint is the best estimate from the grid. A lone zero sample
    inside the range is a smooth curve crossing 0 (hardswish at −1.5), not a dead
    region, so it is left out.
    """
    import numpy as np

    if len(x) == 0:
        return []
    zero = np.asarray(g == 0)
    if len(x) > 2:
        left = np.concatenate(([True], zero[:-1]))  # the range's ends count as zero
        right = np.concatenate((zero[1:], [True]))
        zero = zero & (left | right)
    return _runs(x, zero, lambda a, b: (x[a] + x[b]) / 2)


def _crossing(x: FloatArray, g: FloatArray, t: float, a: Any, b: Any) -> Any:
    # One of g[a], g[b] is < t and the other ≥ t, so they differ: no division by 0.
    # Without the clip, rounding could put the crossing a hair outside [x[a], x[b]].
    import numpy as np

    frac = (t - g[a]) / (g[b] - g[a])
    return x[a] + np.clip(frac, 0.0, 1.0) * (x[b] - x[a])


def _runs(x: FloatArray, mask: Any, boundary: Any) -> list[Interval]:
    import numpy as np

    if not mask.any():
        return []
    padded = np.concatenate(([False], mask, [False])).astype(np.int8)
    edges = np.diff(padded)
    starts = np.flatnonzero(edges == 1)  # first index of each run
    ends = np.flatnonzero(edges == -1) - 1  # last index of each run
    n = len(x)
    lo = np.empty(len(starts), dtype=np.float64)
    hi = np.empty(len(ends), dtype=np.float64)
    first = starts == 0
    lo[first] = x[0]
    inner = ~first
    lo[inner] = boundary(starts[inner] - 1, starts[inner])
    last = ends == n - 1
    hi[last] = x[-1]
    inner = ~last
    hi[inner] = boundary(ends[inner] + 1, ends[inner])
    return [(float(a), float(b)) for a, b in zip(lo.tolist(), hi.tolist(), strict=True)]


def compute_curve(
    activation: Activation,
    lo: float = DEFAULT_RANGE[0],
    hi: float = DEFAULT_RANGE[1],
    points: int = DEFAULT_POINTS,
    threshold: float = DEFAULT_THRESHOLD,
    device: str = "cpu",
    **overrides: float | None,
) -> Curve:
    """Sample ``activation`` and its derivative; find saturated and dead intervals."""
    lo, hi = validate_range(lo, hi)
    points = validate_points(points)
    threshold = validate_threshold(threshold)
    kwargs = activation.module_kwargs(**overrides)

    import torch

    x = sample(lo, hi, points, device)
    with torch.inference_mode(False), torch.enable_grad():
        if activation.elementwise:
            y, dy = elementwise_derivative(activation.make_module(**overrides), x)
        else:
            y, dy = softmax_diagonal(x)
    x_np = x.cpu().numpy().astype("float64", copy=False)
    y_np = y.cpu().numpy().astype("float64", copy=False)
    dy_np = dy.cpu().numpy().astype("float64", copy=False)
    return _finish(activation, kwargs, x_np, y_np, dy_np, threshold, device, str(x.dtype))


def _finish(
    activation: Activation,
    kwargs: dict[str, Any],
    x: FloatArray,
    y: FloatArray,
    dy: FloatArray,
    threshold: float,
    device: str,
    dtype: str,
) -> Curve:
    import numpy as np

    g = np.abs(dy)
    finite = np.isfinite(g)
    if finite.any():
        masked = np.where(finite, g, -np.inf)
        i = int(np.argmax(masked))
        peak, at = float(g[i]), float(x[i])
    else:
        peak, at = math.nan, math.nan
    params = {k: float(v) for k, v in kwargs.items() if k in activation.param_names}
    notes = []
    if not activation.elementwise:
        notes.append(
            f"softmax of the {len(x)} sampled x values taken as one vector; "
            "dy is the Jacobian diagonal ∂yᵢ/∂xᵢ"
        )
    return Curve(
        activation=activation,
        params=params,
        x=x,
        y=y,
        dy=dy,
        threshold=threshold,
        saturation=intervals_below(x, g, threshold),
        dead=intervals_zero(x, g),
        max_abs_dy=peak,
        argmax_abs_dy=at,
        device=device,
        dtype=dtype.replace("torch.", ""),
        notes=notes,
    )


def compute_curves(
    activations: Sequence[Activation],
    lo: float = DEFAULT_RANGE[0],
    hi: float = DEFAULT_RANGE[1],
    points: int = DEFAULT_POINTS,
    threshold: float = DEFAULT_THRESHOLD,
    device: str = "cpu",
    **overrides: float | None,
) -> list[Curve]:
    """One curve per activation; a parameter applies to those that take it."""
    return [
        compute_curve(
            act,
            lo,
            hi,
            points,
            threshold,
            device,
            **{k: v for k, v in overrides.items() if k in act.param_names},
        )
        for act in activations
    ]
