"""Sampled loss curves for ``nncli loss NAME...``: the loss and ∂L/∂x against one x.

Values come from the registry's ``torch.nn`` module (``reduction="none"``: the loss of
a single prediction), gradients from autograd, never from a hand-written formula.
What x is depends on the task (the issue's defaults):

- ``residual``: regression, x = ŷ − y, so ŷ = y + x;
- ``probability``: binary, x = p in (0, 1); ``--logits`` switches to the logit z, p = σ(z);
- ``logit``: bce_with_logits / soft_margin take x itself; multi-class losses take the
  true class's logit x with the K − 1 others at 0;
- ``prediction``: whatever the loss takes (a log-probability, a log-rate, a distance,
  an angle between a pair), named by the registry's ``x_desc``.

``through="sigmoid"|"softmax"`` makes x the pre-activation logit and applies the loss
to σ(z) or softmax(z): the lesson that MSE through a sigmoid has a vanishing gradient
where the prediction is confidently wrong, while BCE's gradient is σ(z) − y.

Where |∂L/∂x| < T the gradient is small, and that means one of two opposite things:
"stuck" (the loss is still far above its minimum, the prediction is wrong, yet
training barely moves it: MSE through a sigmoid for z < −3.61 with target 1) or
"converged" (the loss is near its minimum, the prediction is right, and the gradient
fades because there is nothing left to learn: the same curve for z > 1.56, huber's
bottom). Each curve reports both kinds apart.

The numerical-stability findings are measured with torch too: where bce on σ(z)
parts from bce_with_logits, the value its −100 log clamp gives, and where float32
and float64 disagree. Inputs are validated before anything is computed; nothing
here prints.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nncli.core.activation.curves import (
    intervals_below,
    validate_points,
    validate_range,
    validate_spacing,
    validate_threshold,
)
from nncli.core.loss.losses import LOSSES, Loss
from nncli.errors import UsageError
from nncli.limits import check_int

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import torch

    FloatArray = npt.NDArray[np.float64]

THROUGH = ("sigmoid", "softmax")
DTYPES = ("float32", "float64")
MAX_CLASSES = 1000
# float32 and float64 "disagree" where they differ by more than this, relative to
# max(1, |float64 value|): float32 rounding alone stays near 1e-7.
DISAGREE = 1e-3

Interval = tuple[float, float]

# "Near its minimum": a small-gradient sample is "converged" where its loss is within
# this share of the loss's range above the loss's floor, and "stuck" above it. The
# floor and the range are taken over the plotted samples and the loss's default
# range together, so a zoomed --range cannot turn a plateau into a minimum (MSE
# through a sigmoid on [−8, −4] is stuck everywhere, on [4, 8] converged). One tenth:
# the loss has come nine tenths of the way down from its worst value; MSE through a
# sigmoid (target 1) is at 3% of its range where its gradient falls below 0.05 on the
# right and at 95% on the left, and bce on σ(z) is at ≥ 28% where its gradient dies
# numerically, so the share sits far from every boundary the figures show.
NEAR_MINIMUM_SHARE = 0.1
# Samples of the loss's default range for that floor and range (a fixed number, so a
# million-point figure does not pay twice).
REFERENCE_POINTS = 2001

# The x range of a loss whose prediction is a rate ≥ 0 (poisson_nll without log_input).
RATE_RANGE = (0.01, 5.0)


@dataclass
class LossCurve:
    loss: str
    label: str
    params: dict[str, Any]
    x: FloatArray
    value: FloatArray
    grad: FloatArray  # ∂L/∂x by autograd
    saturation: list[Interval]  # where |grad| < threshold, ends interpolated
    notes: list[str] = field(default_factory=list)
    label_zh: str = ""
    properties: dict[str, Any] = field(default_factory=dict)  # the registry entry
    # The saturation split in two (together they are exactly ``saturation``): where
    # the loss is far above its minimum (stuck: wrong, and learning stalls) and where
    # it is near it (converged: right, nothing left to learn). See NEAR_MINIMUM_SHARE.
    stuck: list[Interval] = field(default_factory=list)
    converged: list[Interval] = field(default_factory=list)
    # The loss's floor (its least finite value on the plotted and the default range)
    # and the level below which a sample is near that minimum.
    floor: float = math.nan
    near_minimum: float = math.nan

    @property
    def name(self) -> str:
        return self.loss

    @property
    def dead(self) -> list[Interval]:
        # A loss has no "dead units"; the figure's strip helper expects the field.
        return []


@dataclass
class LossCurves:
    curves: list[LossCurve]
    x_kind: str
    target: float
    through: str | None
    classes: int
    lo: float
    hi: float
    points: int
    dtype: str
    device: str
    threshold: float
    findings: list[str]
    x_desc: str = ""  # what x is, where x_kind is "prediction"


def x_symbol(x_kind: str) -> str:
    """The symbol of x in ∂L/∂x: ŷ for a residual (∂/∂(ŷ − y) = ∂/∂ŷ), p, z, or x."""
    return {"residual": "ŷ", "probability": "p", "logit": "z"}.get(x_kind, "x")


def effective_kind(loss: Loss, logits: bool, through: str | None) -> str:
    """The x axis a loss is plotted over, given --logits and --through."""
    if through is not None:
        return "logit"
    if logits and loss.x_kind == "probability":
        return "logit"
    return loss.x_kind


def x_description(loss: Loss, params: dict[str, Any]) -> str:
    if _takes_rate(loss, params):
        return "rate predicted"
    return loss.x_desc


def _takes_rate(loss: Loss, params: dict[str, Any]) -> bool:
    """The prediction is a rate ≥ 0, not a log-rate (poisson_nll without log_input)."""
    return bool(loss.rate_param) and not params.get(loss.rate_param, True)


def default_range(
    loss: Loss, x_kind: str, params: dict[str, Any] | None = None
) -> tuple[float, float]:
    """The issue's default x range for this loss on this axis."""
    params = params or {}
    if x_kind == "residual":
        return (-3.0, 3.0)
    if x_kind == "probability":
        # p = 0 or 1 exactly is where bce's log clamp and logit(p) = ±∞ live;
        # the findings report that edge instead of letting it flatten the plot.
        return (0.01, 0.99)
    if x_kind == "logit":
        return (-6.0, 6.0) if loss.task == "multi-class" else (-8.0, 8.0)
    if _takes_rate(loss, params):
        return RATE_RANGE
    return loss.x_range


def compute_curves(
    specs: list[tuple[Loss, dict[str, Any]]],
    *,
    target: float | None,
    through: str | None,
    logits: bool,
    classes: int,
    lo: float | None,
    hi: float | None,
    points: int,
    dtype: str,
    threshold: float,
    device: str,
) -> LossCurves:
    """Sample each loss and its autograd gradient over one shared x axis."""
    if not specs:
        raise UsageError("give at least one loss name")
    if dtype not in DTYPES:
        raise UsageError(f"--dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    if through is not None and through not in THROUGH:
        raise UsageError(f"--through must be one of {', '.join(THROUGH)}, got {through!r}")
    if dtype == "float64" and device.startswith("mps"):
        raise UsageError("--dtype float64 is not available on mps", hint="use --dtype float32")
    classes = check_int("--classes", classes, 2, MAX_CLASSES)
    points = validate_points(points)
    threshold = validate_threshold(threshold)
    kwargs = [(loss, loss.module_kwargs(**params)) for loss, params in specs]
    for loss, _ in kwargs:
        _check_combination(loss, logits, through)
    x_kind, x_desc = _shared_axis(kwargs, logits, through)
    y = _target(kwargs, target, through, classes)
    lo, hi = _range(kwargs, x_kind, lo, hi)
    validate_spacing(lo, hi, points)
    from nncli.core.memory import ensure_fits

    ensure_fits(
        estimate_bytes(kwargs, points, classes, through),
        device,
        f"{points:,} points for {len(kwargs)} loss curve(s)",
    )

    import torch

    torch_dtype = getattr(torch, dtype)
    x = torch.linspace(lo, hi, points, dtype=torch_dtype, device=device)
    curves = []
    with torch.inference_mode(False), torch.enable_grad():
        for loss, kw in kwargs:
            value, grad = _evaluate(loss, kw, x, y, x_kind, through, classes)
            reference = _reference_values(loss, kw, x, y, x_kind, through, classes)
            curve = _curve(loss, kw, x, value, grad, threshold, x_kind, through, classes)
            split_saturation(curve, reference)
            curves.append(curve)
        findings = _findings(kwargs, x, y, x_kind, through, classes, dtype)
    return LossCurves(
        curves=curves,
        x_kind=x_kind,
        target=y,
        through=through,
        classes=classes,
        lo=lo,
        hi=hi,
        points=points,
        dtype=dtype,
        device=device,
        threshold=threshold,
        findings=findings,
        x_desc=x_desc,
    )


# Peak memory per sample, measured (RSS): autograd's working set for one curve, about
# 130 B for a scalar prediction and 100 + 24·K to 32·K B for K-class rows, plus x,
# value and grad kept for every curve (torch tensors and their float64 numpy copies).
WORK_BYTES_PER_POINT, WORK_BYTES_PER_CLASS, KEPT_BYTES_PER_POINT = 160, 32, 48


def estimate_bytes(
    kwargs: list[tuple[Loss, dict[str, Any]]], points: int, classes: int, through: str | None
) -> int:
    """Peak bytes :func:`compute_curves` needs, checked before anything is allocated."""
    rows = through == "softmax" or any(
        loss.task == "multi-class" or loss.inputs == "pair" for loss, _ in kwargs
    )
    work = WORK_BYTES_PER_POINT + (WORK_BYTES_PER_CLASS * classes if rows else 0)
    return points * (work + KEPT_BYTES_PER_POINT * len(kwargs))


# --- validation -----------------------------------------------------------------------


def _check_combination(loss: Loss, logits: bool, through: str | None) -> None:
    if logits and through is None and loss.x_kind not in ("probability", "logit"):
        binary = (
            entry.name
            for entry in LOSSES.values()
            if entry.task == "binary" and entry.x_kind in ("probability", "logit")
        )
        raise UsageError(
            f"--logits applies to binary losses ({', '.join(binary)}); "
            f"{loss.name} is plotted over its {loss.x_kind}"
        )
    if through is None:
        return
    if loss.built_in == through or loss.over_probabilities:
        return
    if loss.built_in:
        raise UsageError(
            f"--through {through} does not fit {loss.name}: it takes logits with "
            f"{loss.built_in} built in",
            hint=f"use --through {loss.built_in}",
        )
    others = (
        entry.name
        for entry in LOSSES.values()
        if entry.over_probabilities and entry.task != "regression"
    )
    built_in = (entry.name for entry in LOSSES.values() if entry.built_in)
    raise UsageError(
        f"--through {through} does not fit {loss.name}: its prediction must be "
        f"{loss.prediction}; --through applies to regression losses and {', '.join(others)} "
        f"(and is built into {' / '.join(built_in)})"
    )


def _shared_axis(
    kwargs: list[tuple[Loss, dict[str, Any]]], logits: bool, through: str | None
) -> tuple[str, str]:
    """Overlaid losses must share one x axis; say which ones do not."""
    first, first_kw = kwargs[0]
    kind = effective_kind(first, logits, through)
    desc = x_description(first, first_kw) if kind == "prediction" else ""
    for loss, kw in kwargs[1:]:
        other = effective_kind(loss, logits, through)
        other_desc = x_description(loss, kw) if other == "prediction" else ""
        if (other, other_desc) != (kind, desc):
            hint = None
            if {kind, other} == {"probability", "logit"}:
                hint = "add --logits to plot both over the logit z"
            mine, theirs = _axis_words(kind, desc), _axis_words(other, other_desc)
            raise UsageError(
                f"cannot overlay {first.name} and {loss.name}: {first.name} is plotted "
                f"over {mine}, {loss.name} over {theirs}",
                hint=hint,
            )
    return kind, desc


def _axis_words(kind: str, desc: str) -> str:
    words = {
        "residual": "the residual ŷ − y",
        "probability": "the probability p",
        "logit": "the logit z",
    }
    return words.get(kind, f"the {desc or kind}")


def _target(
    kwargs: list[tuple[Loss, dict[str, Any]]],
    target: float | None,
    through: str | None,
    classes: int,
) -> float:
    """The fixed target, checked against what every overlaid loss accepts."""
    if target is None:
        log_target = all(kw.get("log_target") for _, kw in kwargs)
        # log-target 0 is probability 1, the default's meaning for every other loss.
        target = 0.0 if log_target else 1.0
    y = float(target)
    if not math.isfinite(y):
        raise UsageError(f"--target must be finite, got {target!r}")
    for loss, kw in kwargs:
        rule = _target_rule(loss, kw, through, classes)
        if rule is not None and not rule[0](y):
            raise UsageError(f"--target {y:g} does not fit {loss.name}: {rule[1]}")
    return y


def _target_rule(
    loss: Loss, kw: dict[str, Any], through: str | None, classes: int
) -> tuple[Any, str] | None:
    kind = loss.target_kind
    if through == "softmax" or kind == "class":
        return (
            lambda y: y == int(y) and 0 <= y < classes,
            f"the target is a class index, an integer in 0..{classes - 1} (--classes {classes})",
        )
    if kind == "unit":
        return (lambda y: 0 <= y <= 1, "the target must be in [0, 1] (0/1 or a soft label)")
    if kind == "sign":
        return (lambda y: y in (-1, 1), "the target must be −1 or 1")
    if kind == "distribution":
        if kw["log_target"]:
            return (lambda y: y <= 0, "with --log-target the target is a log-probability ≤ 0")
        return (lambda y: 0 <= y <= 1, "the target is a probability in [0, 1]")
    if kind == "count":
        return (lambda y: y >= 0, "the target is a count ≥ 0")
    return None


def _range(
    kwargs: list[tuple[Loss, dict[str, Any]]],
    x_kind: str,
    lo: float | None,
    hi: float | None,
) -> tuple[float, float]:
    defaults = [default_range(loss, x_kind, kw) for loss, kw in kwargs]
    lo = min(d[0] for d in defaults) if lo is None else lo
    hi = max(d[1] for d in defaults) if hi is None else hi
    lo, hi = validate_range(lo, hi)
    if x_kind == "probability" and not (lo > 0 and hi < 1):
        raise UsageError(
            f"--range {lo:g} {hi:g}: a probability axis must lie inside (0, 1)",
            hint="use --logits to plot over the logit z instead",
        )
    for loss, kw in kwargs:
        if _takes_rate(loss, kw) and lo < 0:
            flag = "--" + loss.rate_param.replace("_", "-")
            raise UsageError(f"--range {lo:g} {hi:g}: {loss.name} without {flag} takes a rate ≥ 0")
    return lo, hi


# --- evaluation -----------------------------------------------------------------------


def _evaluate(
    loss: Loss,
    kw: dict[str, Any],
    x: torch.Tensor,
    y: float,
    x_kind: str,
    through: str | None,
    classes: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-point loss L(x) and dL/dx by autograd (each point depends on its x only)."""
    import torch

    leaf = x.detach().clone().requires_grad_(True)
    module = loss.make_module("none", dtype=x.dtype, **kw)
    value = _per_point(loss, module, leaf, y, x_kind, through, classes)
    (grad,) = torch.autograd.grad(value.sum(), leaf)
    return value.detach(), grad.detach()


def _per_point(
    loss: Loss,
    module: Any,
    x: torch.Tensor,
    y: float,
    x_kind: str,
    through: str | None,
    classes: int,
) -> torch.Tensor:
    import torch

    if through == "softmax" or _over_class_logits(loss):
        return _multi_class(loss, module, x, y, through, classes)
    if loss.target_kind == "class":
        # nll: only the true class's entry matters; the others stay at 0.
        return module(_one_hot(x, int(y), classes), _indices(x, y))
    target = torch.full_like(x, y)
    if loss.inputs == "pair" and loss.rows:
        # cosine_embedding: x is the angle between two unit vectors.
        x1 = torch.stack([torch.cos(x), torch.sin(x)], dim=1)
        x2 = torch.zeros_like(x1)
        x2[:, 0] = 1.0
        return module(x1, x2, target)
    if loss.inputs == "pair":
        return module(x, torch.zeros_like(x), target)
    pred = _prediction(loss, x, y, x_kind, through)
    if loss.inputs == "pred_var":
        return module(pred, target, torch.ones_like(x))
    return module(pred, target)


def _over_class_logits(loss: Loss) -> bool:
    """A class-index loss that takes K logits or scores (not log-probabilities): x is
    the true class's logit with the others at 0."""
    return loss.target_kind == "class" and loss.output != "log_probability"


def _prediction(
    loss: Loss, x: torch.Tensor, y: float, x_kind: str, through: str | None
) -> torch.Tensor:
    """The prediction the loss is given, as a function of x."""
    import torch

    if x_kind == "residual":
        return y + x
    if x_kind == "logit" and loss.over_probabilities:
        return torch.sigmoid(x)  # --through sigmoid, or bce with --logits
    return x


def _multi_class(
    loss: Loss, module: Any, x: torch.Tensor, y: float, through: str | None, classes: int
) -> torch.Tensor:
    import torch

    cls = int(y)
    z = _one_hot(x, cls, classes)
    if loss.target_kind == "class":  # cross_entropy, multi_margin: logits or scores
        return module(z, _indices(x, y))
    # A regression loss or bce on softmax(z) against the one-hot target, summed
    # over the K classes: the loss of one prediction.
    probs = torch.softmax(z, dim=1)
    one_hot = torch.zeros_like(probs)
    one_hot[:, cls] = 1.0
    if loss.inputs == "pred_var":
        return module(probs, one_hot, torch.ones_like(probs)).sum(dim=1)
    return module(probs, one_hot).sum(dim=1)


def _one_hot(x: torch.Tensor, cls: int, classes: int) -> torch.Tensor:
    """Rows of K zeros with x at column ``cls`` (differentiable in x)."""
    import torch

    mask = torch.zeros(classes, dtype=x.dtype, device=x.device)
    mask[cls] = 1.0
    return x.unsqueeze(1) * mask


def _indices(x: torch.Tensor, y: float) -> torch.Tensor:
    import torch

    return torch.full(x.shape, int(y), dtype=torch.long, device=x.device)


def _curve(
    loss: Loss,
    kw: dict[str, Any],
    x: torch.Tensor,
    value: torch.Tensor,
    grad: torch.Tensor,
    threshold: float,
    x_kind: str,
    through: str | None,
    classes: int,
) -> LossCurve:
    import numpy as np

    xs = x.cpu().numpy().astype(np.float64)
    vs = value.cpu().numpy().astype(np.float64)
    gs = grad.cpu().numpy().astype(np.float64)
    return LossCurve(
        loss=loss.name,
        label=loss.label,
        label_zh=loss.label_zh,
        params=dict(kw),
        x=xs,
        value=vs,
        grad=gs,
        saturation=intervals_below(xs, np.abs(gs), threshold),
        notes=_notes(loss, kw, x_kind, through, classes) + _non_finite(xs, vs, gs, x.dtype),
        properties=loss.properties(),
    )


def _reference_values(
    loss: Loss,
    kw: dict[str, Any],
    x: torch.Tensor,
    y: float,
    x_kind: str,
    through: str | None,
    classes: int,
) -> FloatArray:
    """The loss on its default range (REFERENCE_POINTS samples): with the plotted
    samples, where its floor and its range are read (see NEAR_MINIMUM_SHARE)."""
    import numpy as np
    import torch

    lo, hi = default_range(loss, x_kind, kw)
    grid = torch.linspace(lo, hi, REFERENCE_POINTS, dtype=x.dtype, device=x.device)
    value, _ = _evaluate(loss, kw, grid, y, x_kind, through, classes)
    return value.cpu().numpy().astype(np.float64)


def split_saturation(curve: LossCurve, reference: FloatArray | None = None) -> None:
    """Split ``curve.saturation`` into ``stuck`` and ``converged`` (in place).

    A small-gradient sample is converged where its loss is at most NEAR_MINIMUM_SHARE
    of the loss's range above its floor, stuck above that; both read over the plotted
    samples and ``reference`` (the loss on its default range). The boundary between
    the two inside one small-gradient stretch is interpolated on the loss, as the
    stretch's own ends are on the gradient.
    """
    import numpy as np

    values = curve.value if reference is None else np.concatenate([curve.value, reference])
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        curve.floor = curve.near_minimum = math.nan
        curve.stuck, curve.converged = list(curve.saturation), []
        return
    floor, top = float(finite.min()), float(finite.max())
    curve.floor = floor
    curve.near_minimum = floor + NEAR_MINIMUM_SHARE * (top - floor)
    lo, hi = float(curve.x[0]), float(curve.x[-1])
    if not top > floor:  # a flat loss is at its minimum everywhere
        near = [(lo, hi)]
    else:
        # ≤ the level, as "< level + a hair" so a sample exactly at the level counts.
        level = np.nextafter(curve.near_minimum, math.inf)
        near = intervals_below(curve.x, curve.value, float(level))
    curve.converged = intersect(curve.saturation, near)
    curve.stuck = subtract(curve.saturation, near)


def intersect(a: list[Interval], b: list[Interval]) -> list[Interval]:
    """The parts of the sorted, disjoint intervals ``a`` inside those of ``b``."""
    out = []
    for p, q in a:
        for r, s in b:
            lo, hi = max(p, r), min(q, s)
            if lo < hi:
                out.append((lo, hi))
    return out


def subtract(a: list[Interval], b: list[Interval]) -> list[Interval]:
    """The parts of the sorted, disjoint intervals ``a`` outside those of ``b``."""
    out = []
    for p, q in a:
        start = p
        for r, s in b:
            if s <= start or r >= q:
                continue
            if r > start:
                out.append((start, r))
            start = max(start, s)
        if start < q:
            out.append((start, q))
    return out


def _non_finite(x: Any, value: Any, grad: Any, dtype: Any) -> list[str]:
    """Say where the loss or its gradient is ±inf or NaN: never a silent gap in the plot."""
    import numpy as np

    notes = []
    precision = str(dtype).replace("torch.", "")
    for what, values in (("loss", value), ("gradient", grad)):
        bad = ~np.isfinite(values)
        if bad.any():
            kinds = "NaN" if np.isnan(values[bad]).all() else "±inf or NaN"
            notes.append(
                f"the {what} is {kinds} in {precision} for x between {x[bad].min():.4g} and "
                f"{x[bad].max():.4g} ({int(bad.sum()):,} of {len(x):,} points; not drawn)"
            )
    return notes


def _notes(
    loss: Loss, kw: dict[str, Any], x_kind: str, through: str | None, classes: int
) -> list[str]:
    name = loss.name
    notes = []
    if through is not None and loss.built_in == through:
        notes.append(
            f"{name} takes logits with {through} built in: --through {through} is the "
            f"identity composition, the curve is {name} on z itself"
        )
    elif through == "sigmoid":
        notes.append(f"{name} applied to σ(z); ∂L/∂z = ∂L/∂p · σ(z)(1 − σ(z))")
    elif through == "softmax":
        notes.append(
            f"{name} applied to softmax(z) against the one-hot target, summed over the "
            f"{classes} classes"
        )
    elif x_kind == "logit" and loss.x_kind == "probability":
        notes.append(f"{name} applied to σ(z) (--logits)")
    if through == "softmax" or _over_class_logits(loss):
        notes.append(f"x is the true class's logit, the other {classes - 1} are 0")
    elif loss.target_kind == "class":
        notes.append(f"x is the true class's log-probability (K = {classes})")
    if loss.inputs == "pred_var":
        notes.append("the variance σ² is fixed at 1")
    if loss.inputs == "pair":
        notes.append(
            "x₁ = (cos θ, sin θ), x₂ = (1, 0): x is the angle θ"
            if loss.rows
            else "x₂ = 0, so x = x₁ − x₂"
        )
    return notes


# --- findings -------------------------------------------------------------------------


def _findings(
    kwargs: list[tuple[Loss, dict[str, Any]]],
    x: torch.Tensor,
    y: float,
    x_kind: str,
    through: str | None,
    classes: int,
    dtype: str,
) -> list[str]:
    findings = []
    pair = _probability_and_logit(loss for loss, _ in kwargs)
    if pair is not None:
        findings.extend(_bce_findings(*pair, y, dtype))
    findings.extend(_precision_findings(kwargs, x, y, x_kind, through, classes, dtype))
    return findings


def _probability_and_logit(losses: Iterable[Loss]) -> tuple[Loss, Loss] | None:
    """The pair whose numerics the findings compare (bce and bce_with_logits), when
    either is plotted: a loss on 0/1 targets that takes probabilities, and its
    counterpart with the sigmoid built in."""
    for loss in losses:
        if loss.target_kind != "unit" or not loss.counterpart:
            continue
        other = LOSSES[loss.counterpart]
        probability, logit = (loss, other) if loss.output == "probability" else (other, loss)
        if probability.output == "probability" and logit.built_in == "sigmoid":
            return probability, logit
    return None


# The z grid the bce findings compare on, and how finely each boundary it finds is
# then resolved (between its two neighbouring grid points): ±200 in steps of 0.05,
# then to 0.05 / 2000 = 2.5e-5, so the boundary prints to 4 significant digits
# (float32's σ(z) underflows to 0 below z = −88.72, where exp(−z) overflows; the
# grid alone would say −88.8).
FINDINGS_RANGE, FINDINGS_POINTS, REFINE_POINTS = 200.0, 8001, 2001


def _bce_findings(probability: Loss, logit: Loss, y: float, dtype: str) -> list[str]:
    """The loss on σ(z) against its logit counterpart (bce vs bce_with_logits), and
    the −100 clamp, measured by torch."""
    import numpy as np
    import torch

    torch_dtype = getattr(torch, dtype)
    found = []
    clamp = probability.make_module("mean")(
        torch.tensor([0.0], dtype=torch_dtype), torch.tensor([1.0], dtype=torch_dtype)
    )
    found.append(
        f"{probability.name} clamps each log at −100: at p = 0 with target 1 torch returns "
        f"{float(clamp):g} (exact: ∞)"
    )

    def parts(z: Any) -> dict[str, tuple[Any, Any, Any]]:
        """z, then per "value"/"gradient": the two computations and where they part."""
        zt = torch.as_tensor(z, dtype=torch_dtype).requires_grad_(True)
        target = torch.full_like(zt, y)
        naive = probability.make_module("none")(torch.sigmoid(zt), target)
        (g_naive,) = torch.autograd.grad(naive.sum(), zt)
        stable = logit.make_module("none", dtype=torch_dtype)(zt, target)
        (g_stable,) = torch.autograd.grad(stable.sum(), zt)
        out = {}
        for what, a, b in (
            ("value", naive.detach(), stable.detach()),
            ("gradient", g_naive, g_stable),
        ):
            a_np = a.numpy().astype(np.float64)
            b_np = b.numpy().astype(np.float64)
            off = np.abs(a_np - b_np) > 0.01 * np.maximum(1.0, np.abs(b_np))
            out[what] = (a_np, b_np, off)
        return out

    zs = np.linspace(-FINDINGS_RANGE, FINDINGS_RANGE, FINDINGS_POINTS)
    step = float(zs[1] - zs[0])
    coarse = {what: got for what, got in parts(zs).items() if got[2].any()}
    # Each one-sided boundary resolved between its grid point and the next one in, all
    # of them in one more torch call (a call, not its size, is what costs here).
    grids = {what: _refine_grid(zs, off, step) for what, (_, _, off) in coarse.items()}
    wanted = [g for g in grids.values() if g is not None]
    fine = parts(np.concatenate(wanted)) if wanted else {}
    start = 0
    for what, (a_np, b_np, off) in coarse.items():
        i = int(np.argmax(np.where(off, np.abs(zs), -1)))
        grid = grids[what]
        if grid is None:
            side = f"|z| ≥ {float(np.min(np.abs(zs[off]))):.4g}"
        else:
            fine_off = fine[what][2][start : start + len(grid)]
            start += len(grid)
            edge = grid[fine_off].max() if grid[0] < 0 else grid[fine_off].min()
            side = f"z {'≤' if grid[0] < 0 else '≥'} {float(edge):.4g}"
        found.append(
            f"{probability.name} on σ(z) vs {logit.name} ({dtype}, target {y:g}): "
            f"the {what} differs "
            f"by > 1% for {side} (at z = {zs[i]:g}: "
            f"{a_np[i]:.4g} vs {b_np[i]:.4g})"
        )
    return found


def _refine_grid(z: Any, off: Any, step: float) -> Any:
    """Where the two computations part by more than 1% on one side ("z ≤ −27.64",
    "z ≥ 36.74"): a REFINE_POINTS grid from the last grid point where they part to the
    next one in, whose comparison places the boundary to step / (REFINE_POINTS − 1).
    None where they part on both sides ("|z| ≥ …", from the grid alone)."""
    import numpy as np

    bad = z[off]
    if (bad < 0).all():
        edge = float(bad.max())
        return np.linspace(edge, edge + step, REFINE_POINTS)
    if (bad > 0).all():
        edge = float(bad.min())
        return np.linspace(edge, edge - step, REFINE_POINTS)  # from the grid point in
    return None


def _precision_findings(
    kwargs: list[tuple[Loss, dict[str, Any]]],
    x: torch.Tensor,
    y: float,
    x_kind: str,
    through: str | None,
    classes: int,
    dtype: str,
) -> list[str]:
    """Where float32 and float64 disagree on the plotted samples, per loss."""
    import numpy as np
    import torch

    # On the CPU: an accelerator may lack float64 (MPS), and this is a side check.
    x64 = x.detach().cpu().to(torch.float64)
    x32 = x.detach().cpu().to(torch.float32)
    found = []
    for loss, kw in kwargs:
        v64, g64 = _evaluate(loss, kw, x64, y, x_kind, through, classes)
        v32, g32 = _evaluate(loss, kw, x32, y, x_kind, through, classes)
        xs = x64.cpu().numpy()
        for what, a, b in (("value", v32, v64), ("gradient", g32, g64)):
            a_np = a.cpu().numpy().astype(np.float64)
            b_np = b.cpu().numpy()
            found.extend(_disagreement(loss.name, what, xs, a_np, b_np))
    return found


def _disagreement(name: str, what: str, x: Any, a: Any, b: Any) -> list[str]:
    """Findings where float32 (a) parts from float64 (b): by more than DISAGREE where both
    are finite, and where float32 alone overflows. Where float64 itself is not finite
    there is no reference to compare with (the curve's own note reports that)."""
    import numpy as np

    reference = np.isfinite(b)
    both = reference & np.isfinite(a)
    rel = np.zeros_like(b)
    rel[both] = np.abs(a[both] - b[both]) / np.maximum(1.0, np.abs(b[both]))
    off = both & (rel > DISAGREE)
    found = []
    if off.any():
        # Rounding makes the stretch ragged near its ends: report its hull and the worst.
        worst = int(np.argmax(np.where(off, rel, -1.0)))
        found.append(
            f"{name}: float32 and float64 {what}s differ by > {DISAGREE:g} (relative) for x "
            f"between {x[off].min():.4g} and {x[off].max():.4g} (worst {rel[worst]:.3g} at "
            f"x = {x[worst]:.4g})"
        )
    overflow = reference & ~np.isfinite(a)
    if overflow.any():
        found.append(
            f"{name}: the {what} overflows in float32 (not in float64) for x between "
            f"{x[overflow].min():.4g} and {x[overflow].max():.4g}"
        )
    return found
