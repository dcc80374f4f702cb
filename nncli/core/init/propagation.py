"""Depth propagation: what an init scheme does to a deep stack (Glorot & Bengio 2010, He 2015).

``depth`` square ``width × width`` linear layers without bias, each followed by the
activation, are initialised with the scheme. A standard-normal batch goes forward,
and ``out.sum()`` is backpropagated. For each layer we record the activation's mean
and std, the fraction of saturated and of dead units, and the size of the gradient
with respect to the layer's output.

Definitions (the README repeats them):

* saturated: ``|f′(pre-activation)| < 0.01``, with f′ from autograd of the activation
  module itself, not counting dead units;
* dead: the output is exactly 0 on the flat side of a ReLU-like activation (the
  registry's ``dead_below``); ``None`` for activations without a dead side;
* ``grad_std``: the root mean square of ∂loss/∂output, i.e. its std about 0. The
  gradient of ``sum()`` at the last layer is all ones, whose centred std would be 0;
  everywhere else the mean is ≈ 0 and both agree;
* non-finite: the output is inf or NaN (float32 overflowed). Such a unit is neither
  alive nor dead nor saturated: the three fractions and ``nonfinite_fraction`` add up
  to at most 1, and the rest are the live, unsaturated units.

Overflow is found where it happens, in each direction: forward, the first layer whose
output holds inf/NaN; backward, the first layer (counting down from the top) whose
gradient does. Growth rates come from the finite layers only: the activation rate from
layers whose output is finite, the gradient rate from layers whose output (the ReLU
mask the gradient passes through) and gradient are both finite.

Verdict: stable when both the activation and the gradient std change by less than
25 % per layer (the median layer-to-layer ratio over the finite layers) and by less
than 100× end to end; otherwise vanishing or exploding; saturated when on average half
the units or more are saturated; exploding when a value overflows to inf/NaN.

Ratios run in the direction the signal travels: activations layer L / layer 1,
gradients layer 1 / layer L. A ratio below 1 therefore means shrinking for both.
Statistics stay on the device as tensors until the end, so nothing synchronises per
layer. Overflow to inf or NaN is a finding, never an exception.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nncli import fmt
from nncli.core.memory import FLOAT32
from nncli.errors import UsageError

if TYPE_CHECKING:
    import torch

    from nncli.core.activation.activations import Activation
    from nncli.core.init.inits import InitScheme

SATURATION_THRESHOLD = 0.01  # |f'| below this: the unit passes almost no gradient
# Stable: the std changes by less than 25 % per layer (median) and by less than 100×
# end to end. Not a tighter rate: the gradient of sum() starts coherent and grows ≈ 3×
# over the top layers of a ReLU stack even under He init (see _per_layer).
STABLE_PER_LAYER = 1.25
STABLE_END_TO_END = 100.0
SATURATED_SHARE = 0.5  # mean saturated fraction at or above this: "saturated"

Progress = Callable[[int, int], None]


@dataclass
class LayerStats:
    layer: int  # 1-based
    activation_mean: float
    activation_std: float
    saturated_fraction: float
    dead_fraction: float | None
    grad_std: float
    nonfinite_fraction: float = 0.0  # outputs that are inf or NaN
    grad_finite: bool = True  # the gradient with respect to the output holds no inf/NaN

    @property
    def finite(self) -> bool:
        """Output and gradient hold no inf/NaN: the layer's statistics mean something."""
        return self.nonfinite_fraction == 0 and self.grad_finite


@dataclass
class Propagation:
    activation: str
    width: int
    depth: int
    batch: int
    layers: list[LayerStats]
    activation_ratio: float  # std at layer L / std at layer 1 (nan where non-finite)
    gradient_ratio: float  # grad std at layer 1 / grad std at layer L
    activation_factor: float  # the median layer-to-layer ratio over finite layers
    gradient_factor: float
    verdict: str  # stable, vanishing, exploding or saturated
    evidence: str
    forward_overflow_layer: int | None = None  # first layer whose output holds inf/NaN
    backward_overflow_layer: int | None = None  # first, counting down, whose gradient does
    notes: list[str] = field(default_factory=list)

    @property
    def overflow_layer(self) -> int | None:
        """Where the signal first overflows: forward if it does, else backward."""
        if self.forward_overflow_layer is not None:
            return self.forward_overflow_layer
        return self.backward_overflow_layer

    @property
    def summary(self) -> str:
        return f"{self.verdict}: {self.evidence}"


def check_activation(activation: Activation) -> None:
    """Reject activations the depth experiment cannot measure element by element."""
    if not activation.elementwise:
        raise UsageError(
            f"--activation {activation.name} is not element-wise (each output depends on the "
            "whole vector), so it has no per-unit derivative; pick a hidden-layer activation "
            "such as relu or tanh"
        )


def propagation_bytes(width: int, depth: int, batch: int) -> int:
    """Peak memory: the weights, plus what autograd keeps per layer and a few temporaries."""
    weights = depth * width * width
    # per layer: the output, and the pre-activation where the activation saves its input
    kept = (2 * depth + 6) * batch * width
    return FLOAT32 * (weights + kept)


def propagate(
    scheme: InitScheme,
    values: dict[str, Any],
    activation: Activation,
    *,
    width: int,
    depth: int,
    batch: int,
    device: str = "cpu",
    seed: int | None = 0,
    progress: Progress | None = None,
) -> Propagation:
    """Run the experiment; seeds the weights then the input under ``seed``."""
    import torch

    from nncli.core.seed import seeded

    check_activation(activation)
    dev = torch.device(device)
    act = activation.make_module()
    total = 2 * depth
    # torch's warnings about the parameters (trunc_normal's "mean is more than 2 std from
    # [a, b]") were already collected once, by initstats.measure, for the same values.
    with seeded(seed), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        weights = []
        for _ in range(depth):
            w = torch.empty(width, width, device=dev)
            scheme.apply(w, values)
            weights.append(w)
        x = torch.randn(batch, width, device=dev)

    act_stats: list[torch.Tensor] = []  # (std, mean) per layer
    counts: list[torch.Tensor] = []  # (saturated, dead, non-finite) per layer
    grad_stats: list[torch.Tensor | None] = [None] * depth  # (std, mean, all finite)
    done = [0]

    def hook_for(index: int) -> Callable[[torch.Tensor], None]:
        def hook(grad: torch.Tensor) -> None:
            std, mean = torch.std_mean(grad, correction=0)
            grad_stats[index] = torch.stack((std, mean, torch.isfinite(grad).all().to(std)))
            done[0] += 1
            if progress is not None:
                progress(done[0], total)

        return hook

    dead_side = activation.dead_below is not None
    one = torch.ones((), device=dev, dtype=x.dtype)
    with torch.enable_grad():
        h = x
        out = x
        for index, w in enumerate(weights):
            # Weights need no gradient; the first pre-activation is the leaf the graph
            # starts from, so backward never computes a weight gradient.
            pre = (x @ w.T).requires_grad_() if index == 0 else h @ w.T
            out = act(pre)
            (slope,) = torch.autograd.grad(
                out, pre, grad_outputs=one.expand_as(out), retain_graph=True
            )
            # An inf/NaN unit is neither flat nor alive: ReLU's f' is 0 at NaN, and a NaN
            # compares as non-zero, so without the mask it would count as saturated or alive.
            finite = torch.isfinite(out.detach())
            n_nonfinite = out.numel() - torch.count_nonzero(finite)
            n_flat = torch.count_nonzero(
                slope.abs_().lt_(SATURATION_THRESHOLD).logical_and_(finite)
            )  # in place: no page faults
            del slope, finite
            if dead_side:
                # f' is exactly 0 where a unit is dead (the registry's dead_below), so the
                # dead units (exact zeros, finite) are a subset of the flat finite ones:
                # subtracting them avoids another mask.
                n_dead = out.numel() - torch.count_nonzero(out.detach())
                saturated = (n_flat - n_dead).clamp_(min=0)
            else:
                saturated = n_flat
                n_dead = torch.zeros_like(n_flat)
            counts.append(torch.stack((saturated, n_dead, n_nonfinite)))
            act_stats.append(torch.stack(torch.std_mean(out.detach(), correction=0)))
            out.register_hook(hook_for(index))
            h = out
            done[0] += 1
            if progress is not None:
                progress(done[0], total)
        out.sum().backward()

    n = batch * width
    acts = torch.stack(act_stats).tolist()
    cnts = torch.stack(counts).tolist()
    grads = [g.tolist() if g is not None else [math.nan, math.nan, 0.0] for g in grad_stats]
    layers = [
        LayerStats(
            layer=i + 1,
            activation_mean=float(acts[i][1]),
            activation_std=float(acts[i][0]),
            saturated_fraction=cnts[i][0] / n,
            dead_fraction=cnts[i][1] / n if dead_side else None,
            grad_std=_rms(float(grads[i][0]), float(grads[i][1])),
            nonfinite_fraction=cnts[i][2] / n,
            grad_finite=grads[i][2] == 1.0,
        )
        for i in range(depth)
    ]
    return judge(layers, activation.name, width, depth, batch)


def _rms(std: float, mean: float) -> float:
    """√(std² + mean²) in double precision: float32 squares overflow near 1.8e19."""
    if not (math.isfinite(std) and math.isfinite(mean)):
        return math.nan
    return math.hypot(std, mean)


def _ratio(end: float, start: float) -> float:
    if not (math.isfinite(end) and math.isfinite(start)):
        return math.nan
    if start == 0:
        return math.nan if end == 0 else math.inf
    return end / start


def _per_layer(stds: list[float], valid: list[bool]) -> float:
    """The median of the layer-to-layer ratios of ``stds`` (in signal order), taken
    between neighbouring layers that are both ``valid`` (finite).

    A median, not the geometric mean of the end-to-end ratio: the gradient of sum()
    starts as the all-ones vector, coherent rather than random, and in a ReLU stack it
    grows ≈ 3× over the first few layers even under He init before it settles. The
    median measures the rate through the bulk of the stack.
    """
    pairs = zip(itertools.pairwise(stds), itertools.pairwise(valid), strict=True)
    steps = [_ratio(b, a) for (a, b), (ok_a, ok_b) in pairs if ok_a and ok_b]
    steps = sorted(r for r in steps if not math.isnan(r))
    if not steps:
        return 1.0 if len(stds) < 2 else math.nan
    return steps[len(steps) // 2]


def _forward_finite(layer: LayerStats) -> bool:
    return layer.nonfinite_fraction == 0 and all(
        math.isfinite(v) for v in (layer.activation_mean, layer.activation_std)
    )


def _backward_finite(layer: LayerStats) -> bool:
    return layer.grad_finite and math.isfinite(layer.grad_std)


def _overflow_text(
    forward: int | None, backward: int | None, depth: int, act_factor: float, grad_factor: float
) -> str:
    """Where each direction overflows, with the growth rate of its finite layers."""
    parts = []
    if forward is not None:
        text = f"activations overflow to inf/NaN at layer {forward} of {depth}"
        if forward > 2 and math.isfinite(act_factor):
            text += (
                f" (finite through layer {forward - 1}, growing {fmt.num(act_factor, 3)}× "
                "per layer)"
            )
        parts.append(text)
    if backward is not None:
        text = f"gradients overflow to inf/NaN at layer {backward} on the way back"
        if backward < depth - 1:
            text += f" (finite from layer {depth} down to {backward + 1}"
            if math.isfinite(grad_factor):
                text += f"; over the finite layers they grow {fmt.num(grad_factor, 3)}× per layer"
            text += ")"
        parts.append(text)
    return "; ".join(parts) + " (float32 tops out at ≈ 3.4e38)"


def judge(
    layers: list[LayerStats], activation: str, width: int, depth: int, batch: int
) -> Propagation:
    """The ratios and the one-line verdict with its evidence."""
    first, last = layers[0], layers[-1]
    act_ratio = _ratio(last.activation_std, first.activation_std)
    grad_ratio = _ratio(first.grad_std, last.grad_std)
    forward_ok = [_forward_finite(lay) for lay in layers]
    # A gradient step through layer k uses layer k's outputs (its mask): both must be finite.
    backward_ok = [f and _backward_finite(lay) for f, lay in zip(forward_ok, layers, strict=True)]
    act_factor = _per_layer([lay.activation_std for lay in layers], forward_ok)
    grad_factor = _per_layer(
        [lay.grad_std for lay in reversed(layers)], list(reversed(backward_ok))
    )
    forward = next((lay.layer for lay, ok in zip(layers, forward_ok, strict=True) if not ok), None)
    backward = next((lay.layer for lay in reversed(layers) if not _backward_finite(lay)), None)
    mean_saturated = sum(lay.saturated_fraction for lay in layers) / depth
    shrink = "shrink" if act_factor < 1 else "grow"
    g_shrink = "shrink" if grad_factor < 1 else "grow"
    act_text = (
        f"activations {shrink} {fmt.num(act_factor, 3)}× per layer: std at layer {depth} is "
        f"{fmt.num(act_ratio, 2)}{'' if act_ratio < 1 else '×'} of layer 1"
    )
    grad_text = (
        f"gradients {g_shrink} {fmt.num(grad_factor, 3)}× per layer on the way back: std at "
        f"layer 1 is {fmt.num(grad_ratio, 2)}{'' if grad_ratio < 1 else '×'} of layer {depth}"
    )

    if forward is not None or backward is not None:
        verdict = "exploding"
        evidence = _overflow_text(forward, backward, depth, act_factor, grad_factor)
    elif first.activation_std == 0 and last.activation_std == 0:
        verdict = "vanishing"
        evidence = (
            "activation std is exactly 0 from layer 1 on: every unit outputs the same value, "
            "so no signal gets through"
        )
    elif mean_saturated >= SATURATED_SHARE:
        verdict = "saturated"
        evidence = (
            f"{mean_saturated:.0%} of units saturated (|f′| < {SATURATION_THRESHOLD:g}) on "
            f"average; {grad_text}"
        )
    else:
        act_dir, grad_dir = _direction(act_ratio, act_factor), _direction(grad_ratio, grad_factor)
        if "vanishing" in (act_dir, grad_dir):
            verdict = "vanishing"
        elif "exploding" in (act_dir, grad_dir):
            verdict = "exploding"
        else:
            verdict = "stable"
        if verdict == "stable":
            evidence = (
                f"activation std changes {fmt.num(act_factor, 3)}× per layer (layer {depth}/"
                f"layer 1 = {fmt.num(act_ratio, 3)}), gradient std {fmt.num(grad_factor, 3)}× "
                f"per layer (layer 1/layer {depth} = {fmt.num(grad_ratio, 3)})"
            )
        else:
            parts = [t for d, t in ((act_dir, act_text), (grad_dir, grad_text)) if d == verdict]
            evidence = "; ".join(parts)
    return Propagation(
        activation=activation,
        width=width,
        depth=depth,
        batch=batch,
        layers=layers,
        activation_ratio=act_ratio,
        gradient_ratio=grad_ratio,
        activation_factor=act_factor,
        gradient_factor=grad_factor,
        verdict=verdict,
        evidence=evidence,
        forward_overflow_layer=forward,
        backward_overflow_layer=backward,
    )


def _direction(ratio: float, factor: float) -> str:
    """vanishing, exploding or stable, from the end-to-end ratio and its per-layer rate."""
    if math.isnan(ratio):
        return "stable"
    if ratio < 1 / STABLE_END_TO_END or factor < 1 / STABLE_PER_LAYER:
        return "vanishing"
    if ratio > STABLE_END_TO_END or factor > STABLE_PER_LAYER:
        return "exploding"
    return "stable"
