"""The activation registry: the only place an activation function is defined.

Each entry names the ``torch.nn`` module that computes it (values always come
from torch itself; derivatives from autograd) and carries the teaching material
shown by ``nncli plot --info`` and ``nncli activations``: formulas, range,
saturation, and the tutorial's recommendations (use, loss, init).

Nothing here imports torch at module level: the CLI reads names and help text
from this registry at start-up and during shell completion.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nncli.errors import UsageError, unknown_name

if TYPE_CHECKING:
    from torch import nn


@dataclass(frozen=True)
class ActivationParam:
    """A numeric parameter of an activation (e.g. leaky_relu's negative slope)."""

    name: str  # the torch keyword, also the CLI flag with '_' -> '-'
    default: float
    help: str


@dataclass(frozen=True)
class Activation:
    name: str
    label: str  # display name, e.g. "Sigmoid"
    module: str  # class in torch.nn
    formula: str
    derivative: str
    output_range: str
    zero_centred: bool
    saturates: str  # where f'(x) -> 0: "both", "left", "right" or "none"
    use: str
    loss: str
    init: str  # recommended scheme, a key of nncli.core.init.inits.INIT_SCHEMES
    notes: str
    # Short forms for the catalogue table (at 80 columns its Use/Loss/Init move below).
    layer: str  # of ``use``: "hidden", "output (binary)"...
    short_formula: str  # the right-hand side of ``formula``, compact
    short_loss: str  # of ``loss``: "BCE", "cross-entropy", "any" (a hidden layer)
    # sup |f'(x)| over the real line, from the analytic derivative (tests check it
    # against autograd); for leaky_relu it is max(1, |α|), see max_abs_derivative().
    max_slope: float
    pitfalls: tuple[str, ...] = ()
    symbol: str = ""  # the axis-label symbol, e.g. "σ" for σ(x); defaults to label
    label_zh: str = ""  # the Chinese display name where it differs from label
    gain: str | None = None  # name for torch.nn.init.calculate_gain, if it has one
    dead_below: float | None = None  # f'(x) and f(x) are exactly 0 below this (dying units)
    # Where f'(x) is exactly 0 because the formula is flat there (ends may be ±inf).
    # A sampled 0.0 is no evidence: σ'(x) underflows to 0.0 past x ≈ 36.7, yet is > 0.
    flat: tuple[tuple[float, float], ...] = ()
    # "absolute": shade |f'| < T. "relative": |f'| < T·max|f'| over the samples, for a
    # derivative whose scale depends on the sampling (softmax's ∂yᵢ/∂xᵢ ~ 1/N).
    saturation_rule: str = "absolute"
    elementwise: bool = True  # softmax is not: it normalises over the sampled vector
    params: tuple[ActivationParam, ...] = ()
    fixed: dict[str, Any] = field(default_factory=dict)  # constant module kwargs
    aliases: tuple[str, ...] = ()

    @property
    def saturating(self) -> bool:
        return self.saturates != "none"

    @property
    def axis_symbol(self) -> str:
        return self.symbol or self.label

    def display_label(self, lang: str = "en") -> str:
        return (self.label_zh or self.label) if lang == "zh" else self.label

    def max_abs_derivative(self, **overrides: float | None) -> float:
        """sup |f'(x)| for these parameters (only leaky_relu's depends on one)."""
        if "negative_slope" in self.param_names:
            slope = self.module_kwargs(**overrides)["negative_slope"]
            return max(self.max_slope, abs(float(slope)))
        return self.max_slope

    def dead_intervals(self, **overrides: float | None) -> tuple[tuple[float, float], ...]:
        """Where f'(x) = 0 exactly, for these parameters (leaky_relu with α = 0 is ReLU)."""
        slope = self.module_kwargs(**overrides).get("negative_slope")
        return ((-math.inf, 0.0),) if slope == 0 else self.flat

    def properties(self) -> dict[str, Any]:
        """The registry entry as plain data, for ``--json`` and ``--info``."""
        return {
            "name": self.name,
            "label": self.label,
            "aliases": list(self.aliases),
            "formula": self.formula,
            "derivative": self.derivative,
            "output_range": self.output_range,
            "zero_centred": self.zero_centred,
            "saturating": self.saturating,
            "saturates": self.saturates,
            "dead_below": self.dead_below,
            "dead_regions": [list(iv) for iv in self.flat],
            "saturation_rule": self.saturation_rule,
            "max_abs_derivative": self.max_slope,
            "elementwise": self.elementwise,
            "gain": self.gain,
            "layer": self.layer,
            "use": self.use,
            "loss": self.loss,
            "init": self.init,
            "params": {p.name: p.default for p in self.params},
            "notes": self.notes,
            "pitfalls": list(self.pitfalls),
        }

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def module_kwargs(self, **overrides: float | None) -> dict[str, Any]:
        """Keyword arguments for the torch module: defaults, then the given overrides."""
        unknown = [k for k, v in overrides.items() if v is not None and k not in self.param_names]
        if unknown:
            flag = "--" + unknown[0].replace("_", "-")
            takes = ", ".join("--" + p.replace("_", "-") for p in self.param_names) or "none"
            raise UsageError(
                f"{flag} does not apply to {self.name}; the parameters it takes: {takes}"
            )
        kwargs: dict[str, Any] = {p.name: p.default for p in self.params}
        kwargs.update({k: v for k, v in overrides.items() if v is not None})
        kwargs.update(self.fixed)
        return kwargs

    def make_module(self, **overrides: float | None) -> nn.Module:
        """A fresh ``torch.nn`` module computing this activation."""
        from torch import nn

        return getattr(nn, self.module)(**self.module_kwargs(**overrides))


# SELU's constants (Klambauer et al., 2017) and the maximum of GELU's derivative:
# d/dx [Φ(x) + xφ(x)] = φ(x)(2 − x²) = 0 at x = √2.
_SELU_LAMBDA = 1.0507009873554804934
_SELU_ALPHA = 1.6732632423543772848
_LAMBDA_ALPHA = _SELU_LAMBDA * _SELU_ALPHA
_GELU_MAX = 0.5 * (1 + math.erf(1.0)) + math.sqrt(2) * math.exp(-1.0) / math.sqrt(2 * math.pi)

_NEG_SLOPE = ActivationParam("negative_slope", 0.01, "slope for x < 0")

_ENTRIES = (
    Activation(
        name="sigmoid",
        label="Sigmoid",
        module="Sigmoid",
        formula="σ(x) = 1 / (1 + e⁻ˣ)",
        derivative="σ'(x) = σ(x)·(1 − σ(x))",
        output_range="(0, 1)",
        zero_centred=False,
        saturates="both",
        gain="sigmoid",
        use="output layer, binary classification (and gates); avoid in hidden layers",
        loss="binary cross-entropy (BCEWithLogitsLoss)",
        init="xavier_normal",
        layer="output, binary",
        short_formula="1/(1+e⁻ˣ)",
        short_loss="BCE",
        max_slope=0.25,
        symbol="σ",
        pitfalls=(
            "vanishing gradients: f' ≤ 0.25, and < 0.01 for |x| > 4.6",
            "outputs are not zero-centred, so weight updates zig-zag",
            "as a binary output, give the logits to BCEWithLogitsLoss, not sigmoid + BCELoss",
        ),
        notes=(
            "Squashes any input into (0, 1), so it reads as a probability. Its derivative "
            "peaks at 0.25 (x = 0) and is below 0.01 for |x| > 4.6: each sigmoid layer "
            "shrinks the gradient by at least 4×, which is why deep sigmoid stacks suffer "
            "vanishing gradients. Outputs are not zero-centred, which slows gradient descent."
        ),
    ),
    Activation(
        name="tanh",
        label="Tanh",
        module="Tanh",
        formula="tanh(x) = (eˣ − e⁻ˣ) / (eˣ + e⁻ˣ)",
        derivative="tanh'(x) = 1 − tanh²(x)",
        output_range="(−1, 1)",
        zero_centred=True,
        saturates="both",
        gain="tanh",
        use="hidden layers, RNN/LSTM cells; output for regression bounded to [−1, 1]",
        loss="mean squared error (bounded regression)",
        init="xavier_normal",
        layer="hidden, RNN",
        short_formula="(eˣ−e⁻ˣ)/(eˣ+e⁻ˣ)",
        short_loss="MSE",
        max_slope=1.0,
        symbol="tanh",
        pitfalls=(
            "still saturates: f' < 0.05 for |x| > 2.2, so large pre-activations stop learning",
            "deep tanh stacks need Xavier (Glorot) init to keep the variance of activations",
        ),
        notes=(
            "A rescaled sigmoid: tanh(x) = 2σ(2x) − 1. Zero-centred, and its derivative "
            "peaks at 1, so gradients survive better than with sigmoid, but it still "
            "saturates for |x| > 3: large pre-activations stop learning."
        ),
    ),
    Activation(
        name="relu",
        label="ReLU",
        module="ReLU",
        formula="ReLU(x) = max(0, x)",
        derivative="ReLU'(x) = 1 if x > 0, 0 if x < 0 (torch takes 0 at x = 0)",
        output_range="[0, ∞)",
        zero_centred=False,
        saturates="none",
        gain="relu",
        dead_below=0.0,
        flat=((-math.inf, 0.0),),
        use="hidden layers (the default choice); output for non-negative regression",
        loss="any (hidden layer); MSE or Poisson NLL as a non-negative output",
        init="kaiming_normal",
        layer="hidden",
        short_formula="max(0, x)",
        short_loss="any",
        max_slope=1.0,
        pitfalls=(
            "dying ReLU: f' = 0 for x < 0; a unit whose inputs stay negative never updates",
            "unbounded above: large learning rates or bad init can blow activations up",
            "not zero-centred; use He (Kaiming) init, not Xavier",
        ),
        notes=(
            "Cheap and non-saturating for x > 0, where the gradient is exactly 1. For x < 0 "
            "the gradient is exactly 0: a unit whose inputs are always negative never "
            "updates again (dying ReLU). Unbounded above, so pair it with He (Kaiming) init "
            "and a sane learning rate. If many units die, try leaky_relu."
        ),
    ),
    Activation(
        name="leaky_relu",
        label="Leaky ReLU",
        module="LeakyReLU",
        formula="LeakyReLU(x) = x if x > 0, αx otherwise (α = negative_slope)",
        derivative="LeakyReLU'(x) = 1 if x > 0, α otherwise",
        output_range="(−∞, ∞)",
        zero_centred=False,
        saturates="none",
        gain="leaky_relu",
        params=(_NEG_SLOPE,),
        use="hidden layers, when ReLU units die",
        loss="any (hidden layer)",
        init="kaiming_normal",
        layer="hidden",
        short_formula="max(αx, x)",
        short_loss="any",
        max_slope=1.0,
        pitfalls=(
            "α is a hyper-parameter; init with kaiming_* and a = α to keep the gain right",
            "with the default α = 0.01 the negative side still learns slowly",
        ),
        notes=(
            "ReLU with a small slope α for x < 0, so no unit is ever completely dead. "
            "Initialise with kaiming_* and a = α so the gain matches."
        ),
    ),
    Activation(
        name="elu",
        label="ELU",
        module="ELU",
        formula="ELU(x) = x if x > 0, α(eˣ − 1) otherwise (α = 1)",
        derivative="ELU'(x) = 1 if x > 0, αeˣ otherwise",
        output_range="(−α, ∞)",
        zero_centred=False,
        saturates="left",
        use="hidden layers",
        loss="any (hidden layer)",
        init="kaiming_normal",
        layer="hidden",
        short_formula="x; α(eˣ−1) for x<0",
        short_loss="any",
        max_slope=1.0,
        pitfalls=(
            "saturates for very negative inputs (f' = αeˣ → 0)",
            "costs an exponential per element",
        ),
        notes=(
            "Smooth for x < 0 and pushes mean activations towards zero. Saturates to −α "
            "for very negative inputs, so the gradient vanishes there."
        ),
    ),
    Activation(
        name="selu",
        label="SELU",
        module="SELU",
        formula="SELU(x) = λx if x > 0, λα(eˣ − 1) otherwise (λ ≈ 1.0507, α ≈ 1.6733)",
        derivative="SELU'(x) = λ if x > 0, λαeˣ otherwise",
        output_range="(−1.758, ∞)",
        zero_centred=False,
        saturates="left",
        gain="selu",
        use="hidden layers of self-normalising networks",
        loss="any (hidden layer)",
        init="kaiming_normal",
        layer="hidden, SNN",
        short_formula="λx; λα(eˣ−1) for x<0",
        short_loss="any",
        max_slope=_LAMBDA_ALPHA,
        pitfalls=(
            "self-normalisation needs LeCun-normal init, plain linear layers and AlphaDropout",
            "batch norm or ordinary dropout break the fixed point",
        ),
        notes=(
            "Self-normalising: with LeCun-normal init (kaiming_normal, nonlinearity="
            "'linear') activations keep mean 0 and variance 1 through depth."
        ),
    ),
    Activation(
        name="celu",
        label="CELU",
        module="CELU",
        formula="CELU(x) = max(0, x) + min(0, α(e^(x/α) − 1)) (α = 1)",
        derivative="CELU'(x) = 1 if x > 0, e^(x/α) otherwise",
        output_range="(−α, ∞)",
        zero_centred=False,
        saturates="left",
        use="hidden layers",
        loss="any (hidden layer)",
        init="kaiming_normal",
        layer="hidden",
        short_formula="x; α(e^(x/α)−1) for x<0",
        short_loss="any",
        max_slope=1.0,
        pitfalls=("saturates for very negative inputs, like ELU",),
        notes="ELU made continuously differentiable in α; identical to ELU at α = 1.",
    ),
    Activation(
        name="gelu",
        label="GELU",
        module="GELU",
        formula="GELU(x) = x·Φ(x) (Φ: standard normal CDF)",
        derivative="GELU'(x) = Φ(x) + x·φ(x)",
        output_range="[−0.170, ∞)",
        zero_centred=False,
        saturates="left",
        use="hidden layers of transformers (BERT, GPT)",
        loss="any (hidden layer)",
        init="kaiming_normal",
        layer="transformers",
        short_formula="x·Φ(x)",
        short_loss="any",
        max_slope=_GELU_MAX,
        pitfalls=(
            "costs an erf per element; gelu_tanh is the cheaper approximation",
            "non-monotonic below 0: the gradient is slightly negative for x < −0.75",
        ),
        notes=(
            "A smooth ReLU that weights x by the probability Φ(x). Slightly non-monotonic "
            "below 0 (minimum ≈ −0.17 at x ≈ −0.75)."
        ),
    ),
    Activation(
        name="gelu_tanh",
        label="GELU (tanh approx.)",
        module="GELU",
        fixed={"approximate": "tanh"},
        formula="GELU(x) ≈ ½x·(1 + tanh(√(2/π)·(x + 0.044715x³)))",
        derivative="d/dx of the tanh approximation (autograd)",
        output_range="[−0.170, ∞)",
        zero_centred=False,
        saturates="left",
        use="hidden layers of transformers (GPT-2 style)",
        loss="any (hidden layer)",
        init="kaiming_normal",
        layer="transformers",
        short_formula="x·Φ(x), tanh approx.",
        short_loss="any",
        max_slope=1.12899307,  # numerical maximum, at x ≈ 1.4185
        label_zh="GELU (tanh近似)",
        pitfalls=("an approximation: pick the same variant as the pretrained model you load",),
        notes="The tanh approximation of GELU used by GPT-2; within 1e-3 of the exact GELU.",
    ),
    Activation(
        name="silu",
        label="SiLU (Swish)",
        module="SiLU",
        aliases=("swish",),
        formula="SiLU(x) = x·σ(x)",
        derivative="SiLU'(x) = σ(x)·(1 + x·(1 − σ(x)))",
        output_range="[−0.278, ∞)",
        zero_centred=False,
        saturates="left",
        use="hidden layers (EfficientNet, LLaMA-style MLPs)",
        loss="any (hidden layer)",
        init="kaiming_normal",
        layer="hidden",
        short_formula="x·σ(x)",
        short_loss="any",
        max_slope=1.09983932,  # numerical maximum, at x ≈ 2.3994
        pitfalls=(
            "non-monotonic: the gradient is negative for x < −1.28",
            "saturates slowly towards 0 for very negative inputs",
        ),
        notes="Swish with β = 1: smooth, non-monotonic, self-gated by a sigmoid.",
    ),
    Activation(
        name="mish",
        label="Mish",
        module="Mish",
        formula="Mish(x) = x·tanh(softplus(x))",
        derivative="Mish'(x) = tanh(sp(x)) + x·σ(x)·sech²(sp(x)), sp = softplus",
        output_range="[−0.309, ∞)",
        zero_centred=False,
        saturates="left",
        use="hidden layers (YOLOv4)",
        loss="any (hidden layer)",
        init="kaiming_normal",
        layer="hidden",
        short_formula="x·tanh(softplus(x))",
        short_loss="any",
        max_slope=1.08849817,  # numerical maximum, at x ≈ 1.4906
        pitfalls=("the most expensive of the smooth ReLUs (exp, log and tanh per element)",),
        notes="Smooth and non-monotonic like SiLU, with a slightly deeper negative dip.",
    ),
    Activation(
        name="softplus",
        label="Softplus",
        module="Softplus",
        formula="softplus(x) = ln(1 + eˣ)",
        derivative="softplus'(x) = σ(x)",
        output_range="(0, ∞)",
        zero_centred=False,
        saturates="left",
        use="outputs that must be positive (variances, rates)",
        loss="Gaussian or Poisson negative log-likelihood",
        init="xavier_normal",
        layer="output, > 0",
        short_formula="ln(1+eˣ)",
        short_loss="Gaussian NLL",
        max_slope=1.0,
        pitfalls=(
            "saturates for negative inputs: f' = σ(x) → 0",
            "outputs are never exactly 0, unlike ReLU",
        ),
        notes="A smooth ReLU; its derivative is exactly the sigmoid.",
    ),
    Activation(
        name="softsign",
        label="Softsign",
        module="Softsign",
        formula="softsign(x) = x / (1 + |x|)",
        derivative="softsign'(x) = 1 / (1 + |x|)²",
        output_range="(−1, 1)",
        zero_centred=True,
        saturates="both",
        use="hidden layers, as a cheaper tanh",
        loss="any (hidden layer)",
        init="xavier_normal",
        layer="hidden",
        short_formula="x/(1+|x|)",
        short_loss="any",
        max_slope=1.0,
        pitfalls=("still saturates, only polynomially: f' = 1/(1 + |x|)²",),
        notes="Like tanh but approaches ±1 polynomially, so it saturates more slowly.",
    ),
    Activation(
        name="hardtanh",
        label="Hardtanh",
        module="Hardtanh",
        formula="hardtanh(x) = clip(x, −1, 1)",
        derivative="hardtanh'(x) = 1 if −1 < x < 1, 0 otherwise",
        output_range="[−1, 1]",
        zero_centred=True,
        saturates="both",
        flat=((-math.inf, -1.0), (1.0, math.inf)),
        use="quantised or low-cost networks",
        loss="any (hidden layer)",
        init="xavier_normal",
        layer="hidden, cheap",
        short_formula="clip(x, −1, 1)",
        short_loss="any",
        max_slope=1.0,
        pitfalls=("f' is exactly 0 for |x| > 1: saturated units get no gradient at all",),
        notes="A piecewise-linear tanh: the gradient is exactly 0 outside [−1, 1].",
    ),
    Activation(
        name="hardsigmoid",
        label="Hardsigmoid",
        module="Hardsigmoid",
        formula="hardsigmoid(x) = clip(x/6 + ½, 0, 1)",
        derivative="hardsigmoid'(x) = 1/6 if −3 < x < 3, 0 otherwise",
        output_range="[0, 1]",
        zero_centred=False,
        saturates="both",
        flat=((-math.inf, -3.0), (3.0, math.inf)),
        use="gates in mobile networks (MobileNetV3)",
        loss="binary cross-entropy",
        init="xavier_normal",
        layer="gates, output",
        short_formula="clip(x/6+½, 0, 1)",
        short_loss="BCE",
        max_slope=1 / 6,
        pitfalls=("f' is at most 1/6 and exactly 0 for |x| ≥ 3",),
        notes="A piecewise-linear sigmoid: cheap, but the gradient is exactly 0 for |x| ≥ 3.",
    ),
    Activation(
        name="hardswish",
        label="Hardswish",
        module="Hardswish",
        formula="hardswish(x) = x·relu6(x + 3)/6",
        derivative="hardswish'(x) = 0 if x < −3, (2x + 3)/6 if −3 < x < 3, 1 if x ≥ 3",
        output_range="[−0.375, ∞)",
        zero_centred=False,
        saturates="left",
        dead_below=-3.0,
        flat=((-math.inf, -3.0),),
        use="hidden layers of mobile networks (MobileNetV3)",
        loss="any (hidden layer)",
        init="kaiming_normal",
        layer="hidden, mobile",
        short_formula="x·relu6(x+3)/6",
        short_loss="any",
        max_slope=1.5,
        pitfalls=("f' is exactly 0 for x < −3 and jumps from 1.5 to 1 at x = 3",),
        notes="A piecewise approximation of SiLU; the gradient is exactly 0 for x < −3.",
    ),
    Activation(
        name="relu6",
        label="ReLU6",
        module="ReLU6",
        formula="ReLU6(x) = min(max(0, x), 6)",
        derivative="ReLU6'(x) = 1 if 0 < x < 6, 0 otherwise",
        output_range="[0, 6]",
        zero_centred=False,
        saturates="right",
        dead_below=0.0,
        flat=((-math.inf, 0.0), (6.0, math.inf)),
        use="hidden layers of quantised mobile networks",
        loss="any (hidden layer)",
        init="kaiming_normal",
        layer="quantised nets",
        short_formula="min(max(0, x), 6)",
        short_loss="any",
        max_slope=1.0,
        pitfalls=("dead below 0 like ReLU, and also f' = 0 above 6",),
        notes="ReLU capped at 6 for low-precision arithmetic: dead below 0, flat above 6.",
    ),
    Activation(
        name="logsigmoid",
        label="LogSigmoid",
        module="LogSigmoid",
        formula="logsigmoid(x) = ln σ(x) = −softplus(−x)",
        derivative="logsigmoid'(x) = 1 − σ(x) = σ(−x)",
        output_range="(−∞, 0)",
        zero_centred=False,
        saturates="right",
        use="inside losses: log-probabilities of a binary output",
        loss="negative log-likelihood (it is the log of a sigmoid output)",
        init="xavier_normal",
        layer="inside losses",
        short_formula="ln σ(x)",
        short_loss="NLL",
        max_slope=1.0,
        pitfalls=("the gradient vanishes for large positive x (confident, correct predictions)",),
        notes="Numerically stable log σ(x); the gradient vanishes for large positive x.",
    ),
    Activation(
        name="softmax",
        label="Softmax",
        module="Softmax",
        fixed={"dim": -1},
        elementwise=False,
        formula="softmax(x)ᵢ = eˣⁱ / Σⱼ eˣʲ (over the last dimension)",
        derivative="∂yᵢ/∂xᵢ = yᵢ(1 − yᵢ); ∂yᵢ/∂xⱼ = −yᵢyⱼ (i ≠ j)",
        output_range="(0, 1), sums to 1",
        zero_centred=False,
        saturates="both",
        saturation_rule="relative",
        use="output layer, single-label multi-class classification",
        loss="cross-entropy (CrossEntropyLoss takes the logits)",
        init="xavier_normal",
        layer="output, multi-class",
        short_formula="eˣⁱ/Σⱼeˣʲ",
        short_loss="cross-entropy",
        max_slope=0.25,
        pitfalls=(
            "not element-wise: each output depends on every input (off-diagonal ∂yᵢ/∂xⱼ = −yᵢyⱼ)",
            "large logit gaps give near one-hot outputs, where the gradient vanishes",
            "never apply softmax before CrossEntropyLoss: it takes the raw logits",
            "exp overflows unless the maximum is subtracted first (torch does this)",
        ),
        notes=(
            "Not element-wise: it normalises a whole vector into probabilities. As in the "
            "tutorial's 1-D case, `nncli plot softmax` treats the sampled x values as one "
            "vector and plots the diagonal of the Jacobian, ∂yᵢ/∂xᵢ = yᵢ(1 − yᵢ). Large "
            "differences between logits push outputs to 0 or 1 and the gradient vanishes."
        ),
    ),
)

ACTIVATIONS: dict[str, Activation] = {a.name: a for a in _ENTRIES}
ALIASES: dict[str, str] = {alias: a.name for a in _ENTRIES for alias in a.aliases}


def activation_names(include_aliases: bool = False) -> list[str]:
    names = list(ACTIVATIONS)
    return names + sorted(ALIASES) if include_aliases else names


def get_activation(name: str) -> Activation:
    """Look an activation up by name or alias; unknown names suggest the closest."""
    key = name.strip().lower().replace("-", "_")
    key = ALIASES.get(key, key)
    if key not in ACTIVATIONS:
        raise unknown_name("activation", name, activation_names(include_aliases=True))
    return ACTIVATIONS[key]
