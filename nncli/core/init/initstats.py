"""``init-stats`` core: initialise a weight with torch, measure it, compare with the theory.

Statistics are computed in one pass each, in the tensor's own dtype
(``torch.std_mean``, ``torch.aminmax``, ``torch.histc``): no float64 or numpy copy
of a weight that may be 8192 × 8192. Memory is estimated before anything is
allocated and a request that cannot fit is refused with the estimate.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from nncli import fmt
from nncli.core.activation.activations import Activation
from nncli.core.init import theory as th
from nncli.core.init.inits import InitScheme
from nncli.core.init.propagation import Progress, Propagation, propagate, propagation_bytes
from nncli.core.memory import FLOAT32, ensure_fits

# Per-layer scale factor √fan_in·rms(w) beyond which the warnings fire: Kaiming for
# ReLU sits at √2 and Xavier near 1, so 3 (or 1/3) is clearly off.
SCALE_WARN = 3.0
WARN_DEPTH = 10  # the warning shows what the factor does over this many layers
# Activations with f(s·x) = s·f(x) for s > 0: their second-moment gain is the same at
# every scale (ReLU: E[relu(z)²] = E[z²]/2).
HOMOGENEOUS = ("relu", "leaky_relu")


@dataclass
class Empirical:
    mean: float
    std: float  # population std (correction 0): defined for a single weight too
    min: float
    max: float


@dataclass
class Check:
    std_rel_error: float | None  # (empirical − theory)/theory; None when theory std is 0
    std_tolerance: float  # relative, see nncli.core.init.theory
    mean_error: float  # absolute
    mean_tolerance: float
    in_bounds: bool  # min and max inside the theoretical support, where bounded
    ok: bool
    verdict: str
    std_measurable: bool = True  # False: too few values for the std check to fail


@dataclass
class Histogram:
    edges: list[float]
    counts: list[float]


@dataclass
class SchemeStats:
    scheme: str
    values: dict[str, Any]  # the resolved scheme parameters
    fan_in: int
    fan_out: int
    theory: th.Theory
    empirical: Empirical
    check: Check
    warnings: list[str] = field(default_factory=list)
    histogram: Histogram | None = None
    propagation: Propagation | None = None

    @property
    def numel(self) -> int:
        return self.fan_in * self.fan_out


@dataclass
class InitStatsResult:
    device: str
    seed: int
    activation: str | None
    depth: int | None
    batch: int | None
    results: list[SchemeStats]


def stats_bytes(scheme: InitScheme, fan_in: int, fan_out: int) -> int:
    return FLOAT32 * fan_in * fan_out * scheme.work_factor


def needed_bytes(
    schemes: Sequence[InitScheme], fan_in: int, fan_out: int, depth: int | None, batch: int
) -> int:
    """Schemes run one after the other and free their tensors: the peak is the largest."""
    peak = max(stats_bytes(s, fan_in, fan_out) for s in schemes)
    if depth is not None:
        peak = max(peak, propagation_bytes(fan_in, depth, batch))
    return peak


def tensor_stats(w: Any) -> Empirical:
    """Mean, std, min and max of ``w`` in its own dtype (two fused reductions)."""
    import torch

    std, mean = torch.std_mean(w, correction=0)
    lo, hi = torch.aminmax(w)
    got = torch.stack((mean, std, lo, hi)).tolist()
    return Empirical(mean=got[0], std=got[1], min=got[2], max=got[3])


def std_measurable(theory: th.Theory, n: int) -> bool:
    """Whether ``n`` values can refute the theory's std.

    One value always has std 0; a few have so much sampling noise that the tolerance
    reaches 100 % and a std of 0 (or of twice the theory) would pass. Below that, the
    std is not checked at all rather than checked by a test that cannot fail.
    """
    if n < 2:
        return False
    return theory.exact or theory.std_tolerance(n) < 1.0


def compare(theory: th.Theory, emp: Empirical, n: int) -> Check:
    """Judge the empirical figures against the theory within the sampling tolerance."""
    std_tol = theory.std_tolerance(n)
    mean_tol = theory.mean_tolerance(n)
    finite = all(math.isfinite(v) for v in (emp.mean, emp.std, emp.min, emp.max))
    mean_err = emp.mean - theory.mean
    measurable = std_measurable(theory, n)
    if theory.exact:
        rel = None
        std_ok = emp.std <= EXACT_ABS + th.EXACT_RTOL * abs(theory.mean)
    else:
        rel = (emp.std - theory.std) / theory.std
        std_ok = abs(rel) <= std_tol
    std_ok = std_ok or not measurable
    mean_ok = abs(mean_err) <= mean_tol + EXACT_ABS
    in_bounds = True
    if theory.low is not None and theory.high is not None:
        # torch computes a bound in double and stores it in float32: allow that rounding
        slack = th.EXACT_RTOL * max(abs(theory.low), abs(theory.high)) + EXACT_ABS
        in_bounds = emp.min >= theory.low - slack and emp.max <= theory.high + slack
    problems = []
    if not finite:
        problems.append("non-finite values")
    else:
        if not std_ok:
            if rel is None:
                problems.append(f"std {emp.std:.3g} should be 0")
            else:
                problems.append(f"std off by {rel:+.2%} (tolerance ±{std_tol:.2%})")
        if not mean_ok:
            problems.append(f"mean off by {mean_err:+.3g} (tolerance ±{mean_tol:.2g})")
        if not in_bounds:
            problems.append(f"values outside [{theory.low:.4g}, {theory.high:.4g}]")
    ok = not problems
    verdict = "ok" if ok else "OFF: " + "; ".join(problems)
    if not measurable:
        verdict += f" (std not measurable from {n:,} value{'s' if n != 1 else ''}; not checked)"
    return Check(
        std_rel_error=rel,
        std_tolerance=std_tol,
        mean_error=mean_err,
        mean_tolerance=mean_tol,
        in_bounds=in_bounds,
        ok=ok,
        verdict=verdict,
        std_measurable=measurable,
    )


EXACT_ABS = 1e-30  # an absolute floor so that exact zeros compare as equal


def histogram(w: Any, emp: Empirical, n: int) -> Histogram:
    """Counts over [min, max] with ``torch.histc``: no copy of the weight leaves torch."""
    import torch

    if not (math.isfinite(emp.min) and math.isfinite(emp.max)):
        return Histogram([], [])
    if emp.max == emp.min:  # a constant: one bar
        half = max(abs(emp.min) * 0.05, 1e-3)
        return Histogram([emp.min - half, emp.min + half], [float(n)])
    bins = int(min(120, max(10, round(2 * n ** (1 / 3)))))  # Rice's rule, capped
    counts = torch.histc(w, bins=bins, min=emp.min, max=emp.max).tolist()
    step = (emp.max - emp.min) / bins
    edges = [emp.min + i * step for i in range(bins)] + [emp.max]
    return Histogram(edges, [float(c) for c in counts])


def scheme_warnings(
    scheme: InitScheme,
    values: dict[str, Any],
    theory: th.Theory,
    fan_in: int,
    activation: Activation | None,
) -> list[str]:
    """The tutorial's pitfalls, where they apply to this scheme and these fans."""
    found: list[str] = []
    if theory.exact:
        found.append(
            f"{scheme.name}: every weight equals {theory.mean:g}, so every neuron of a layer "
            "computes the same function and receives the same gradient: the symmetry is "
            "never broken and the layer learns like a single neuron (the tutorial: "
            "not recommended)"
        )
    scale = _scale_warning(scheme.name, theory, fan_in, activation)
    if scale is not None:
        found.append(scale)
    assumed = scheme.nonlinearity(values)
    if assumed is not None and activation is not None and activation.gain is not None:
        nonlinearity, a = assumed
        want = th.gain(nonlinearity, a)
        slope = activation.fixed.get("negative_slope")
        if slope is None:
            slope = next((p.default for p in activation.params if p.name == "negative_slope"), None)
        have = th.gain(activation.gain, slope)
        if abs(want - have) > 0.01 * have:
            found.append(
                f"{scheme.name} assumes nonlinearity={nonlinearity!r}"
                f"{f' (a={a:g})' if nonlinearity == 'leaky_relu' else ''}, gain {want:.4g}, "
                f"but the activation is {activation.name} (gain {have:.4g}): pass "
                f"--nonlinearity {activation.gain}"
            )
    return found


def _scale_warning(
    name: str, theory: th.Theory, fan_in: int, activation: Activation | None
) -> str | None:
    """Whether a stack of these layers makes the activations explode or vanish.

    Mean-field prediction (Poole et al. 2016): with independent weights and inputs,
    a layer's pre-activations have variance q = fan_in·E[w²]·E[h²], h the previous
    layer's output (the standard-normal input has E[x²] = 1), and the activation f
    turns that into E[f(√q·z)²], z ~ N(0, 1). For ReLU this is q/2 exactly, so each
    layer scales the rms by √fan_in·rms(w)/√2; for other activations the ratio depends
    on q, so the recursion is followed for WARN_DEPTH layers. Without an activation the
    layers are linear.
    """
    rms = math.hypot(theory.std, theory.mean)
    linear = math.sqrt(fan_in) * rms
    fix = "use xavier_* or kaiming_*"
    if activation is None:
        factor = linear
        how = f"√fan_in·rms(w) = √{fan_in}·{fmt.num(rms, 3)} = {fmt.num(factor, 3)}"
        how += " (linear layers: no --activation given)"
    else:
        moments = _mean_field(activation, linear * linear)
        if not moments:
            return None
        factor = moments[-1] ** (1.0 / (2 * len(moments)))
        c = factor / linear if linear > 0 else math.nan
        exact = activation.name in HOMOGENEOUS
        how = (
            f"√fan_in·rms(w)·c = √{fan_in}·{fmt.num(rms, 3)}·{fmt.num(c, 3)} = "
            f"{fmt.num(factor, 3)}, where c = √(E[f(z)²]/E[z²]) is {activation.name}'s "
            + (
                "second-moment gain (exact: it scales with its input)"
                if exact
                else "second-moment gain at the scale the stack reaches (a mean-field "
                "estimate: independent Gaussian pre-activations)"
            )
        )
        if activation.saturating and linear > SCALE_WARN and factor <= SCALE_WARN:
            pre = linear * math.sqrt(moments[-1])
            return (
                f"{name}: with fan_in {fan_in} the pre-activations of {activation.name} reach "
                f"an rms of about {fmt.num(pre, 3)} (mean-field estimate), far into its flat "
                f"side: the units saturate and gradients vanish ({fix})"
            )
    if not (factor > SCALE_WARN or 0 < factor < 1 / SCALE_WARN):
        return None
    direction = "explode" if factor > 1 else "vanish"
    return (
        f"{name}: with fan_in {fan_in} each layer scales the activations by about {how}; "
        f"so {fmt.num(_power(factor, WARN_DEPTH), 2)}× after {WARN_DEPTH} layers: the "
        f"activations will {direction} ({fix})"
    )


def _power(x: float, k: int) -> float:
    """x**k, inf where a float's ** raises OverflowError (x ≈ 1e37, k = 10)."""
    try:
        return x**k
    except OverflowError:
        return math.inf


def _mean_field(activation: Activation, gain2: float) -> list[float]:
    """E[h_k²] for k = 1..WARN_DEPTH: q_k = gain2·E[h_{k-1}²], E[h_k²] = E[f(√q_k·z)²].

    Stops early where the moment leaves what a double holds (or reaches 0).
    """
    moments: list[float] = []
    previous = 1.0
    for _ in range(WARN_DEPTH):
        q = gain2 * previous
        if not (0 < q < 1e300):
            break
        previous = _second_moment(activation, math.sqrt(q))
        if not (0 < previous < math.inf):
            break
        moments.append(previous)
    return moments


def _second_moment(activation: Activation, scale: float) -> float:
    """E[f(scale·z)²] for z ~ N(0, 1), by Gauss–Legendre panels on each side of 0
    (ReLU-like kinks sit at 0), with the activation's own torch module in float64."""
    import torch

    nodes, weights = th.normal_quadrature()
    z = torch.tensor(nodes, dtype=torch.float64)
    with torch.no_grad():
        values = activation.make_module()(z * scale)
    return float((values * values * torch.tensor(weights, dtype=torch.float64)).sum())


def measure(
    scheme: InitScheme,
    values: dict[str, Any],
    fan_in: int,
    fan_out: int,
    *,
    device: str = "cpu",
    seed: int = 0,
    activation: Activation | None = None,
    hist: bool = False,
) -> SchemeStats:
    """Initialise one ``(fan_out, fan_in)`` weight under ``seed`` and compare it with theory."""
    import torch

    from nncli.core.seed import seeded

    theory = scheme.theory(fan_in, fan_out, values)
    found = scheme_warnings(scheme, values, theory, fan_in, activation)
    with seeded(seed), torch.no_grad(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        w = torch.empty(fan_out, fan_in, device=torch.device(device))
        scheme.apply(w, values)
    found.extend(f"{scheme.name}: torch warns: {c.message}" for c in caught)
    emp = tensor_stats(w)
    n = fan_in * fan_out
    hist_data = histogram(w, emp, n) if hist else None
    del w
    return SchemeStats(
        scheme=scheme.name,
        values=dict(values),
        fan_in=fan_in,
        fan_out=fan_out,
        theory=theory,
        empirical=emp,
        check=compare(theory, emp, n),
        warnings=found,
        histogram=hist_data,
    )


def run(
    resolved: Sequence[tuple[InitScheme, dict[str, Any]]],
    fan_in: int,
    fan_out: int,
    *,
    device: str = "cpu",
    seed: int = 0,
    activation: Activation | None = None,
    depth: int | None = None,
    batch: int = 1024,
    hist: bool = False,
    progress: Progress | None = None,
) -> InitStatsResult:
    """Every scheme in turn; with ``depth``, the propagation experiment as well.

    Each scheme runs under the same ``seed``, so its numbers do not depend on which
    other schemes share the command line.
    """
    schemes = [s for s, _ in resolved]
    what = f"init-stats at fan_out {fan_out:,} × fan_in {fan_in:,}"
    if depth is not None:
        what += f" with --depth {depth:,} --batch {batch:,}"
    for scheme, values in resolved:  # usage errors before anything is allocated
        scheme.theory(fan_in, fan_out, values)
        if depth is not None:
            scheme.theory(fan_in, fan_in, values)  # the square layers of the stack
    ensure_fits(needed_bytes(schemes, fan_in, fan_out, depth, batch), device, what)
    results = []
    for index, (scheme, values) in enumerate(resolved):
        stats = measure(
            scheme,
            values,
            fan_in,
            fan_out,
            device=device,
            seed=seed,
            activation=activation,
            hist=hist,
        )
        if depth is not None and activation is not None:
            step = _offset(progress, index, len(resolved))
            stats.propagation = propagate(
                scheme,
                values,
                activation,
                width=fan_in,
                depth=depth,
                batch=batch,
                device=device,
                seed=seed,
                progress=step,
            )
        results.append(stats)
    return InitStatsResult(
        device=device,
        seed=seed,
        activation=activation.name if activation is not None else None,
        depth=depth,
        batch=batch if depth is not None else None,
        results=results,
    )


def _offset(progress: Progress | None, index: int, count: int) -> Progress | None:
    """Map one scheme's (done, total) onto the whole run's."""
    if progress is None:
        return None
    outer = progress

    def step(done: int, total: int) -> None:
        outer(index * total + done, count * total)

    return step
