"""Sampled activation curves: values from torch, derivatives from autograd, saturation.

``compute_curve`` samples x on a range, takes y from the registry's ``torch.nn``
module and f'(x) from autograd (never a hand-written formula), then finds the
x-intervals where the gradient vanishes (|f'| below a cutoff) and those where it
is dead (exactly zero). Everything is vectorised, so a million points cost a few
tensor operations.

Dead regions come from the registry (where the formula is flat), never from a
sampled zero: in float64, σ'(x) underflows to 0.0 past x ≈ 36.7 although it is
positive, which is vanishing, not dead. A dead region is not also reported as
vanishing: ReLU's negative side is the dying-unit problem, a different one.

The cutoff is T for most activations; for softmax, whose ∂yᵢ/∂xᵢ scales like
1/N with the number of samples, an absolute T says nothing, so the registry asks
for T times the curve's own maximum (the ``relative`` rule).

Inputs are validated before anything is allocated. Nothing here prints.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nncli.core.activation.activations import Activation
from nncli.errors import UsageError
from nncli.limits import check_int

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
    threshold: float  # T, as given
    saturation: list[Interval]  # where |f'(x)| < cutoff outside dead regions, sorted, disjoint
    dead: list[Interval]  # the registry's regions where f'(x) = 0 exactly, within the range
    rule: str  # "absolute" (cutoff = T) or "relative" (cutoff = T·max|f'|)
    cutoff: float  # the |f'| below which the gradient counts as vanishing
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
    shown = f"{_exact(lo)} {_exact(hi)}"
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise UsageError(f"--range must be finite, got {shown}")
    if lo >= hi:
        raise UsageError(f"--range needs LO < HI, got {shown}")
    if not math.isfinite(hi - lo):
        raise UsageError(f"--range {shown} is too wide to sample (its width overflows)")
    return lo, hi


def _exact(value: float) -> str:
    # The shortest text that reads back as the same float: 1e+300, not 300 digits,
    # and 1.0000000000000002, not a rounded 1 that hides why a range is refused.
    return repr(float(value))


def validate_points(points: int) -> int:
    """``--points``: the shared integer bound, with the sampling's own limits."""
    return check_int("--points", points, MIN_POINTS, MAX_POINTS)


def validate_spacing(lo: float, hi: float, points: int) -> None:
    """The samples must be distinct floats, or the curve is a handful of repeated x.

    ``--range 1 1.0000000000000002 -n 500`` passes LO < HI but has no 500 distinct
    float64 values; say so rather than plot a vertical line.
    """
    step = (hi - lo) / (points - 1)
    if step == 0 or lo + step == lo or hi - step == hi:
        raise UsageError(
            f"--range {_exact(lo)} {_exact(hi)} is too narrow for {points:,} distinct "
            "points in float64",
            hint="widen the range or lower --points",
        )


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
    validate_spacing(lo, hi, points)
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


def intervals_below(
    x: FloatArray, g: FloatArray, threshold: float, dead: Sequence[Interval] = ()
) -> list[Interval]:
    """Maximal x-intervals where ``g < threshold`` outside ``dead``, boundaries interpolated.

    A run of samples below the threshold extends to the point where the straight
    line between the last sample above and the first sample below crosses it
    (or to the end of the range), so the boundaries do not snap to the grid. A run
    that touches a dead region starts exactly where the region ends: f' jumps there
    (ReLU's 0 to 1), and a line drawn across the jump would place nothing.
    """
    import numpy as np

    if not threshold > 0 or len(x) == 0:  # also NaN: no cutoff, no shading
        return []
    in_dead = within(x, dead)
    below = np.asarray(g < threshold) & ~in_dead  # NaN compares False: never "below"

    def boundary(a: Any, b: Any) -> Any:
        at = _crossing(x, g, threshold, a, b)
        for p, q in dead:
            beside = (x[a] >= p) & (x[a] <= q)
            at = np.where(beside, np.where(x[b] > x[a], q, p), at)
        return at

    return _runs(x, below, boundary)


def within(x: FloatArray, regions: Sequence[Interval]) -> Any:
    """A mask of the samples inside any of the closed ``regions``."""
    import numpy as np

    mask = np.zeros(len(x), dtype=bool)
    for p, q in regions:
        mask |= (x >= p) & (x <= q)
    return mask


def clip_regions(regions: Sequence[Interval], lo: float, hi: float) -> list[Interval]:
    """``regions`` (ends may be ±inf) cut to [lo, hi]; a single point is no region."""
    clipped = [(max(p, lo), min(q, hi)) for p, q in regions]
    return [(float(p), float(q)) for p, q in clipped if p < q]


def _crossing(x: FloatArray, g: FloatArray, t: float, a: Any, b: Any) -> Any:
    """Where the line from (x[a], g[a]) to (x[b], g[b]) crosses t; b is the sample below.

    The result is clamped between the two samples: x[a] + 1·(x[b] − x[a]) can round
    past x[b] (by 1e-17 near 1e-14), which would reverse a one-sample interval. A
    neighbour whose g is NaN gives no line to follow: the run ends at its own sample.
    """
    import numpy as np

    with np.errstate(divide="ignore", invalid="ignore"):
        frac = (t - g[a]) / (g[b] - g[a])
        at = x[a] + frac * (x[b] - x[a])
    at = np.clip(at, np.minimum(x[a], x[b]), np.maximum(x[a], x[b]))
    return np.where(np.isnan(at), x[b], at)


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
    validate_spacing(lo, hi, points)
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
    dead = clip_regions(activation.dead_intervals(**params), float(x[0]), float(x[-1]))
    rule = activation.saturation_rule
    cutoff = threshold * peak if rule == "relative" else threshold
    if not math.isfinite(cutoff):  # no finite derivative at all: nothing to compare with
        cutoff = 0.0
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
        saturation=intervals_below(x, g, cutoff, dead),
        dead=dead,
        rule=rule,
        cutoff=cutoff,
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
