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

import math
from collections.abc import Callable
from dataclasses import dataclass

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
        """Absolute tolerance of the empirical mean for ``n`` draws."""
        if self.exact:
            return EXACT_RTOL * abs(self.mean)
        return max(TOLERANCE_SIGMAS * self.std / math.sqrt(n), FLOAT_FLOOR * self.std)


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


def truncated_normal_moments(
    mean: float, std: float, a: float, b: float
) -> tuple[float, float, float]:
    """Mean, std and kurtosis of N(mean, std²) truncated to [a, b].

    Uses the recursion for the raw moments of a standard normal truncated to
    [α, β]: m₀ = 1, m₁ = (φ(α) − φ(β))/Z, mₖ = (k−1)·mₖ₋₂ + (αᵏ⁻¹φ(α) − βᵏ⁻¹φ(β))/Z.
    """
    alpha, beta = (a - mean) / std, (b - mean) / std
    z = Phi(beta) - Phi(alpha)
    if z <= 0:
        raise ValueError("the interval has no probability mass")
    pa, pb = phi(alpha), phi(beta)
    m = [1.0, (pa - pb) / z]
    for k in range(2, 5):
        m.append((k - 1) * m[k - 2] + (alpha ** (k - 1) * pa - beta ** (k - 1) * pb) / z)
    mu = m[1]
    var = m[2] - mu * mu
    c4 = m[4] - 4 * mu * m[3] + 6 * mu * mu * m[2] - 3 * mu**4
    return mean + std * mu, std * math.sqrt(max(var, 0.0)), c4 / (var * var) if var > 0 else 0.0


def truncated_normal(mean: float, std: float, a: float, b: float) -> Theory:
    t_mean, t_std, kurt = truncated_normal_moments(mean, std, a, b)
    alpha, beta = (a - mean) / std, (b - mean) / std
    z = Phi(beta) - Phi(alpha)
    formula = (
        f"std = σ·√(1 + (αφ(α) − βφ(β))/Z − ((φ(α) − φ(β))/Z)²) = {t_std:.4g}, "
        f"α = {alpha:.4g}, β = {beta:.4g}, Z = {z:.4g}"
    )

    def density(x: float) -> float:
        return phi((x - mean) / std) / (std * z) if a <= x <= b else 0.0

    label = f"N({_num(mean)}, {_num(std)}²) on [{_num(a)}, {_num(b)}]"
    return Theory(t_mean, t_std, formula, kurt, a, b, None, density, label=label)


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
