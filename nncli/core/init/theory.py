"""What each initialisation scheme should produce, from the formulas alone (no torch).

Everything here is plain ``math``: the theory is an independent reference for the
tensors that ``torch.nn.init`` fills, so it must not be computed by torch itself.

Fans follow torch's convention for a weight of shape ``(fan_out, fan_in)`` (as
``nn.Linear`` stores it): ``fan_in = shape[1]``, ``fan_out = shape[0]``.

The sampling tolerance
----------------------
For ``n = fan_in·fan_out`` independent draws from a distribution with standard
deviation σ and kurtosis κ, the sample standard deviation has a standard error of
about ``σ·√((κ − 1)/(4n))`` and the sample mean one of ``σ/√n``. An empirical
figure is *within tolerance* when it is within :data:`TOLERANCE_SIGMAS` standard
errors of the theory (κ = 3 for a normal, 1.8 for a uniform, computed for a
truncated normal, 3/p for a sparse matrix with a fraction p of non-zeros). Since
float32 arithmetic itself is not exact, the relative tolerance never drops below
:data:`FLOAT_FLOOR`. Constant schemes (zeros, constant, or any std of 0) have no
sampling error: they must match to float32 rounding.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

from nncli import fmt

TOLERANCE_SIGMAS = 5.0  # standard errors: a false alarm once in ~3.5 million runs
FLOAT_FLOOR = 1e-5  # relative: float32 accumulation error over very large tensors
EXACT_RTOL = 1e-6  # relative: for constant schemes, float32 rounding only

SQRT2 = math.sqrt(2.0)

# The calculate_gain table (torch.nn.init.calculate_gain), written out independently.
_LINEAR_FNS = (
    "linear", "conv1d", "conv2d", "conv3d",
    "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
)  # fmt: skip
NONLINEARITIES = (*_LINEAR_FNS, "sigmoid", "tanh", "relu", "leaky_relu", "selu")
DEFAULT_LEAKY_SLOPE = 0.01  # calculate_gain('leaky_relu') without a slope


def gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for ``nonlinearity`` (leaky_relu's ``param`` is its slope)."""
    if nonlinearity in _LINEAR_FNS or nonlinearity == "sigmoid":
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return SQRT2
    if nonlinearity == "leaky_relu":
        slope = DEFAULT_LEAKY_SLOPE if param is None else float(param)
        return math.sqrt(2.0 / (1.0 + slope * slope))
    if nonlinearity == "selu":
        return 3.0 / 4.0
    raise ValueError(f"no gain for nonlinearity {nonlinearity!r}")


def gain_text(nonlinearity: str, param: float | None = None) -> str:
    """The gain as the formula shows it: ``√2``, ``5/3``, ``1``, ``3/4`` or a number."""
    value = gain(nonlinearity, param)
    if nonlinearity == "relu" or (nonlinearity == "leaky_relu" and param == 0):
        return "√2"
    if nonlinearity == "tanh":
        return "5/3"
    if nonlinearity == "selu":
        return "3/4"
    if value == 1.0:
        return "1"
    return f"√(2/(1 + {_num(param if param is not None else DEFAULT_LEAKY_SLOPE)}²))"


def _num(x: float) -> str:
    """A number as formulas show it: 4 significant digits, no trailing noise."""
    if x == int(x) and abs(x) < 1e6:
        return str(int(x))
    return f"{x:.4g}"


def phi(x: float) -> float:
    """The standard normal density."""
    return math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def Phi(x: float) -> float:
    """The standard normal cumulative distribution function."""
    return 0.5 * (1.0 + math.erf(x / SQRT2))


# float32, the dtype torch initialises weights in: its largest finite number and its
# smallest normal one (below it, values lose precision and then round to 0).
FLOAT32_MAX = 3.4028234663852886e38
FLOAT32_TINY = 1.1754943508222875e-38
FLOAT32_EPS = 2.0**-23  # the spacing of float32 numbers relative to their size
# A normal sample of fan_in·fan_out ≤ 2⁶² values stays within ≈ 9.4 std of its mean.
REACH_SIGMAS = 10.0


@dataclass(frozen=True)
class Theory:
    """The distribution a scheme draws from, for one ``(fan_out, fan_in)`` weight."""

    mean: float
    std: float
    formula: str  # with the numbers substituted, e.g. "std = √2/√512 = 0.0625"
    kurtosis: float  # E[(w − μ)⁴]/σ⁴, for the sampling tolerance; 0 where std is 0
    low: float | None = None  # support, where the distribution is bounded
    high: float | None = None
    gain: float | None = None
    density: Callable[[float], float] | None = None  # the continuous part of the pdf
    atom: tuple[float, float] | None = None  # (location, probability) of a point mass
    label: str = ""  # a short name of the distribution for figure legends

    @property
    def variance(self) -> float:
        return self.std * self.std

    @property
    def bound(self) -> float | None:
        """The largest |w| the scheme can produce, where it is bounded."""
        if self.low is None or self.high is None:
            return None
        return max(abs(self.low), abs(self.high))

    @property
    def exact(self) -> bool:
        return self.std == 0.0

    def std_tolerance(self, n: int) -> float:
        """Relative tolerance of the empirical std for ``n`` draws (see module doc)."""
        if self.exact:
            return EXACT_RTOL
        se = math.sqrt(max(self.kurtosis - 1.0, 0.0) / (4.0 * n))
        return max(TOLERANCE_SIGMAS * se, FLOAT_FLOOR)

    def mean_tolerance(self, n: int) -> float:
        """Absolute tolerance of the empirical mean for ``n`` draws (plus the rounding of
        the mean itself to float32)."""
        if self.exact:
            return EXACT_RTOL * abs(self.mean)
        sampling = max(TOLERANCE_SIGMAS * self.std / math.sqrt(n), FLOAT_FLOOR * self.std)
        return sampling + FLOAT32_EPS * abs(self.mean)


def float32_problem(theory: Theory) -> str | None:
    """Why weights drawn from ``theory`` would not fit in float32, or None if they do.

    Bounded schemes must have both ends and the width (torch's ``uniform_`` computes
    high − low in float32) below float32's largest number; unbounded ones must reach
    no further than mean ± :data:`REACH_SIGMAS`·std; a non-zero std must not be below
    float32's smallest normal number, where every value would round to the mean.
    """
    big = "float32's largest number ≈ 3.4e38"
    if theory.atom is not None and theory.density is None:
        if abs(theory.mean) > FLOAT32_MAX:
            return f"every weight would be {fmt.num(theory.mean)}, beyond {big}"
        return None
    if theory.low is not None and theory.high is not None:
        reach = max(abs(theory.low), abs(theory.high))
        if reach > FLOAT32_MAX:
            return f"weights would reach {fmt.num(reach)}, beyond {big}"
        if theory.high - theory.low > FLOAT32_MAX:
            return (
                f"the support's width {fmt.num(theory.high - theory.low)} exceeds {big} "
                "(torch samples it in float32)"
            )
    elif abs(theory.mean) + REACH_SIGMAS * theory.std > FLOAT32_MAX:
        reach = abs(theory.mean) + REACH_SIGMAS * theory.std
        return f"weights would reach |mean| + {REACH_SIGMAS:g}·std = {fmt.num(reach)}, beyond {big}"
    if 0 < theory.std < FLOAT32_EPS * abs(theory.mean):
        return (
            f"the std {fmt.num(theory.std)} is below the spacing of float32 numbers near the "
            f"mean {fmt.num(theory.mean)} (≈ {fmt.num(FLOAT32_EPS * abs(theory.mean), 2)}): "
            "the weights would round to a few values"
        )
    if 0 < theory.std < FLOAT32_TINY:
        return (
            f"the std {fmt.num(theory.std)} is below float32's smallest normal number "
            f"≈ 1.2e-38: the weights would all round to about {fmt.num(theory.mean)}"
        )
    return None


# --- the distributions -------------------------------------------------------------------


def _normal_density(mean: float, std: float) -> Callable[[float], float]:
    return lambda x: phi((x - mean) / std) / std


def _uniform_density(low: float, high: float) -> Callable[[float], float]:
    width = high - low
    return lambda x: 1.0 / width if low <= x <= high else 0.0


def point(value: float, formula: str) -> Theory:
    return Theory(
        value, 0.0, formula, 0.0, value, value, atom=(value, 1.0), label=f"w = {_num(value)}"
    )


def normal(mean: float, std: float, formula: str, g: float | None = None) -> Theory:
    if std == 0:
        return point(mean, formula)
    label = f"N({_num(mean)}, {std:.4g}²)"
    return Theory(mean, std, formula, 3.0, None, None, g, _normal_density(mean, std), label=label)


def uniform(low: float, high: float, formula: str, g: float | None = None) -> Theory:
    if high == low:
        return point(low, formula)
    std = (high - low) / math.sqrt(12.0)
    label = f"U({low:.4g}, {high:.4g})"
    return Theory(
        (low + high) / 2, std, formula, 1.8, low, high, g, _uniform_density(low, high), label=label
    )


# --- the truncated normal, in the tail as well --------------------------------------------
#
# The textbook formulas (Z = Φ(β) − Φ(α), var = 1 + (αφ(α) − βφ(β))/Z − m₁²) subtract
# nearly equal numbers when [α, β] lies in a tail or is narrow: at [7, 8], Φ(8) − Φ(7)
# keeps 4 of its 16 digits and the variance loses 3 more, a 1 % error. Instead the
# density is integrated numerically in a frame anchored at the end of each piece
# nearest the centre, x = o ± t, where it is exp(−o·t − t²/2) up to the constant
# φ(o): no tiny differences, and moments are taken about their own mean (two-pass).

_GL_NODES = 20  # Gauss–Legendre nodes per panel: exact for polynomials of degree 39
_GL_PANELS = 16  # the integrand falls by at most e^50 over a piece: ≈ e^3 per panel
_TAIL_LOG_DROP = 50.0  # beyond where exp(−o·t − t²/2) < e^−50 the mass is negligible
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


@functools.cache
def _gauss_legendre(n: int) -> tuple[tuple[float, float], ...]:
    """Nodes and weights on [0, 1] (Newton's method on the Legendre recurrence)."""
    pairs = []
    for i in range(1, n + 1):
        x = math.cos(math.pi * (i - 0.25) / (n + 0.5))
        for _ in range(100):
            p0, p1 = 1.0, x
            for k in range(2, n + 1):
                p0, p1 = p1, ((2 * k - 1) * x * p1 - (k - 1) * p0) / k
            dp = n * (x * p1 - p0) / (x * x - 1.0)
            step = p1 / dp
            x -= step
            if abs(step) < 1e-16:
                break
        pairs.append(((1.0 - x) / 2.0, 1.0 / ((1.0 - x * x) * dp * dp)))
    return tuple(pairs)


def _piece(origin: float, length: float) -> list[tuple[float, float]]:
    """``(t, weight)`` pairs integrating exp(−o·t − t²/2) dt over [0, length], o = |origin|."""
    o = abs(origin)
    # where o·t + t²/2 reaches the drop, written without cancellation or overflow
    cutoff = 2.0 * _TAIL_LOG_DROP / (o + math.hypot(o, math.sqrt(2.0 * _TAIL_LOG_DROP)))
    span = min(length, cutoff)
    if not span > 0:
        return []
    width = span / _GL_PANELS
    out = []
    for k in range(_GL_PANELS):
        for node, weight in _gauss_legendre(_GL_NODES):
            t = (k + node) * width
            out.append((t, weight * width * math.exp(-o * t - 0.5 * t * t)))
    return out


@functools.cache
def normal_quadrature() -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Nodes and weights for E[g(z)], z ~ N(0, 1): panels on each side of 0 out to 10.

    Exact to double precision for piecewise-smooth g with its kink at 0 (ReLU's).
    """
    pieces = _piece(0.0, math.inf)
    nodes = tuple(-t for t, _ in reversed(pieces)) + tuple(t for t, _ in pieces)
    scale = math.exp(-_LOG_SQRT_2PI)
    weights = tuple(w * scale for _, w in reversed(pieces)) + tuple(w * scale for _, w in pieces)
    return nodes, weights


@dataclass(frozen=True)
class _Truncated:
    """The standard normal truncated to [α, β]: moments and the log of its mass Z."""

    mean: float
    std: float
    kurtosis: float
    log_z: float
    log_peak_mass: float  # log ∫ exp(−(x² − m²)/2) dx over [α, β], m the mode


def _standard_truncated(alpha: float, beta: float) -> _Truncated:
    if not alpha < beta:
        raise ValueError("the interval is empty")
    if alpha >= 0 or beta <= 0:
        # one piece, anchored at the end nearest 0, running away from it
        origin, sign = (alpha, 1.0) if alpha >= 0 else (beta, -1.0)
        nodes = [(sign * t, w) for t, w in _piece(origin, beta - alpha)]
    else:  # two pieces meeting at the mode 0
        origin, sign = 0.0, 1.0
        nodes = [(t, w) for t, w in _piece(0.0, beta)] + [(-t, w) for t, w in _piece(0.0, -alpha)]
    total = math.fsum(w for _, w in nodes)
    if not total > 0:  # a width below the resolution of doubles
        return _Truncated(origin, 0.0, 0.0, -math.inf, -math.inf)
    shift = math.fsum(w * d for d, w in nodes) / total
    c2 = math.fsum(w * (d - shift) ** 2 for d, w in nodes) / total
    c4 = math.fsum(w * (d - shift) ** 4 for d, w in nodes) / total
    log_peak_mass = math.log(total)
    return _Truncated(
        mean=origin + shift,
        std=math.sqrt(c2),
        kurtosis=c4 / (c2 * c2) if c2 > 0 else 0.0,
        log_z=log_peak_mass - 0.5 * origin * origin - _LOG_SQRT_2PI,
        log_peak_mass=log_peak_mass,
    )


def _standardise(mean: float, std: float, a: float, b: float) -> tuple[float, float]:
    return (a - mean) / std, (b - mean) / std


def truncated_normal_moments(
    mean: float, std: float, a: float, b: float
) -> tuple[float, float, float]:
    """Mean, std and kurtosis of N(mean, std²) truncated to [a, b] (see above: stable in
    the tails and for narrow intervals)."""
    t = _standard_truncated(*_standardise(mean, std, a, b))
    return mean + std * t.mean, std * t.std, t.kurtosis


def truncated_normal_log_mass(mean: float, std: float, a: float, b: float) -> float:
    """log(Φ(β) − Φ(α)), accurate where the mass itself underflows."""
    return _standard_truncated(*_standardise(mean, std, a, b)).log_z


def trunc_normal_acceptance(mean: float, std: float, a: float, b: float) -> float:
    """The share of candidates torch's ``trunc_normal_`` keeps when it samples by rejection.

    Where the mass of [a, b] is at most 0.3, torch 2.x draws candidates from U(a, b)
    and keeps each with probability exp(−(x² − m²)/2) (standardised, m the mode on
    [α, β]), so it keeps ∫ exp(−(x² − m²)/2) dx/(β − α) of them on average.
    """
    alpha, beta = _standardise(mean, std, a, b)
    t = _standard_truncated(alpha, beta)
    return math.exp(t.log_peak_mass - math.log(beta - alpha))


def _mass_text(log_z: float) -> str:
    if log_z > -700:
        return f"{math.exp(log_z):.4g}"
    return f"10^{log_z / math.log(10):.6g}"  # below what a double holds


def truncated_normal(mean: float, std: float, a: float, b: float) -> Theory:
    alpha, beta = _standardise(mean, std, a, b)
    t = _standard_truncated(alpha, beta)
    t_mean, t_std = mean + std * t.mean, std * t.std
    formula = (
        f"std = σ·√(1 + (αφ(α) − βφ(β))/Z − ((φ(α) − φ(β))/Z)²) = {t_std:.4g}, "
        f"α = {alpha:.4g}, β = {beta:.4g}, Z = {_mass_text(t.log_z)}"
    )
    log_norm = math.log(std) + t.log_z + _LOG_SQRT_2PI

    def density(x: float) -> float:
        if not a <= x <= b:
            return 0.0
        z = (x - mean) / std
        return math.exp(-0.5 * z * z - log_norm)

    label = f"N({_num(mean)}, {_num(std)}²) on [{_num(a)}, {_num(b)}]"
    return Theory(t_mean, t_std, formula, t.kurtosis, a, b, None, density, label=label)


# --- one function per scheme, keyed by the registry ---------------------------------------


def zeros(fan_in: int, fan_out: int, values: dict[str, float | str]) -> Theory:
    return point(0.0, "w = 0")


def constant(fan_in: int, fan_out: int, values: dict[str, float | str]) -> Theory:
    v = float(values["value"])
    return point(v, f"w = {_num(v)}")


def normal_scheme(fan_in: int, fan_out: int, values: dict[str, float | str]) -> Theory:
    mean, std = float(values["mean"]), float(values["std"])
    return normal(mean, std, f"N({_num(mean)}, {_num(std)}²): std = {_num(std)}")


def uniform_scheme(fan_in: int, fan_out: int, values: dict[str, float | str]) -> Theory:
    low, high = float(values["low"]), float(values["high"])
    std = (high - low) / math.sqrt(12.0)
    return uniform(
        low, high, f"std = (high − low)/√12 = ({_num(high)} − {_num(low)})/√12 = {std:.4g}"
    )


def trunc_normal_scheme(fan_in: int, fan_out: int, values: dict[str, float | str]) -> Theory:
    return truncated_normal(
        float(values["mean"]), float(values["std"]), float(values["a"]), float(values["b"])
    )


def xavier_uniform(fan_in: int, fan_out: int, values: dict[str, float | str]) -> Theory:
    g = float(values["gain"])
    bound = g * math.sqrt(6.0 / (fan_in + fan_out))
    std = g * math.sqrt(2.0 / (fan_in + fan_out))
    formula = (
        f"bound = {_num(g)}·√6/√({fan_in} + {fan_out}) = {bound:.4g}; std = bound/√3 = {std:.4g}"
    )
    return uniform(-bound, bound, formula, g)


def xavier_normal(fan_in: int, fan_out: int, values: dict[str, float | str]) -> Theory:
    g = float(values["gain"])
    std = g * math.sqrt(2.0 / (fan_in + fan_out))
    return normal(0.0, std, f"std = {_num(g)}·√2/√({fan_in} + {fan_out}) = {std:.4g}", g)


def _kaiming(fan_in: int, fan_out: int, values: dict[str, float | str]) -> tuple[float, float, str]:
    fan = fan_in if values["mode"] == "fan_in" else fan_out
    nonlinearity, a = str(values["nonlinearity"]), float(values["a"])
    g = gain(nonlinearity, a)
    std = g / math.sqrt(fan)
    return g, std, f"{gain_text(nonlinearity, a)}/√{fan}"


def kaiming_uniform(fan_in: int, fan_out: int, values: dict[str, float | str]) -> Theory:
    g, std, text = _kaiming(fan_in, fan_out, values)
    bound = math.sqrt(3.0) * std
    formula = f"bound = √3·{text} = {bound:.4g}; std = {text} = {std:.4g}"
    return uniform(-bound, bound, formula, g)


def kaiming_normal(fan_in: int, fan_out: int, values: dict[str, float | str]) -> Theory:
    g, std, text = _kaiming(fan_in, fan_out, values)
    return normal(0.0, std, f"std = {text} = {std:.4g}", g)


def orthogonal(fan_in: int, fan_out: int, values: dict[str, float | str]) -> Theory:
    """A (semi-)orthogonal matrix has min(fan_in, fan_out) unit rows or columns.

    Its squared entries therefore sum to gain²·min(fan_in, fan_out) exactly, and by
    symmetry the entries have mean 0, so std = gain/√max(fan_in, fan_out). For large
    fans the entries are close to normal, which is what the figure draws.
    """
    g = float(values["gain"])
    big = max(fan_in, fan_out)
    std = g / math.sqrt(big)
    formula = f"std = {_num(g)}/√max({fan_in}, {fan_out}) = {std:.4g}"
    if std == 0:
        return point(0.0, formula)
    label = f"≈ N(0, {std:.4g}²)"
    return Theory(0.0, std, formula, 3.0, None, None, g, _normal_density(0.0, std), label=label)


def sparse(fan_in: int, fan_out: int, values: dict[str, float | str]) -> Theory:
    """torch zeroes exactly ⌈sparsity·fan_out⌉ entries of each column, the rest are N(0, std²)."""
    s, std = float(values["sparsity"]), float(values["std"])
    zeros_per_col = math.ceil(s * fan_out)
    p = (fan_out - zeros_per_col) / fan_out  # the fraction of non-zeros
    t_std = std * math.sqrt(p)
    formula = f"std = {_num(std)}·√(({fan_out} − ⌈{_num(s)}·{fan_out}⌉)/{fan_out}) = {t_std:.4g}"
    if t_std == 0:
        return point(0.0, formula)
    base = _normal_density(0.0, std)
    label = f"N(0, {_num(std)}²)" if p == 1 else f"{p:.3g}·N(0, {_num(std)}²) + {1 - p:.3g}·δ(0)"
    atom = (0.0, 1.0 - p) if p < 1 else None
    return Theory(
        0.0, t_std, formula, 3.0 / p, None, None, None, lambda x: p * base(x), atom, label
    )


def linear_default(fan_in: int, fan_out: int, values: dict[str, float | str]) -> Theory:
    """nn.Linear: kaiming_uniform with a = √5, so gain = √(2/(1 + 5)) = 1/√3."""
    g = gain("leaky_relu", math.sqrt(5.0))
    bound = 1.0 / math.sqrt(fan_in)
    std = 1.0 / math.sqrt(3.0 * fan_in)
    formula = f"bound = 1/√{fan_in} = {bound:.4g}; std = 1/√(3·{fan_in}) = {std:.4g}"
    return uniform(-bound, bound, formula, g)
