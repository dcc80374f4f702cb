"""The loss registry: the only place a loss function is defined.

Each entry names the ``torch.nn`` module that computes it (values always come
from torch itself; gradients from autograd) and carries the teaching material
shown by ``nncli loss --info`` and ``nncli losses``: formulas, the task, what the
prediction and the target must be, the output activation it pairs with, and the
pitfalls learners hit.

Nothing here imports torch at module level: the CLI reads names and help text
from this registry at start-up and during shell completion.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nncli.errors import UsageError, unknown_name

if TYPE_CHECKING:
    from torch import nn

TASKS = ("regression", "binary", "multi-class", "multi-label", "distribution", "ranking")
X_KINDS = ("residual", "probability", "logit", "prediction")
INPUTS = ("pred", "pred_var", "pair")
# How a loss reads its target (the "target" field says it in words): real values,
# a number in [0, 1], a class index, −1 or 1, a probability distribution, a count ≥ 0.
TARGET_KINDS = ("real", "unit", "class", "sign", "distribution", "count")
# What a loss reads the model's output as (the "prediction" field says it in words).
OUTPUTS = (
    "value",  # an estimate of the target itself (regression)
    "probability",  # in [0, 1], after a sigmoid
    "logit",  # any real, the activation (if any) is built into the loss
    "log_probability",  # ≤ 0, after log_softmax
    "log_rate",  # poisson_nll: a log-rate (a rate with its rate parameter false)
    "distance",  # ≥ 0 between two inputs
    "score",  # any real, compared with a margin
    "embedding",  # a vector per sample
)


@dataclass(frozen=True)
class LossParam:
    """A parameter of a loss (e.g. huber's delta); the CLI flag is ``--`` + name with '-'."""

    name: str  # the torch keyword
    default: float | bool | None
    help: str
    minimum: float | None = None  # validation range, checked in Loss.module_kwargs
    maximum: float | None = None
    min_inclusive: bool = True  # False: the value must be strictly above minimum

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def is_bool(self) -> bool:
        return isinstance(self.default, bool)

    def rule(self) -> str:
        """The accepted values, in words, for help text and error messages."""
        if self.is_bool:
            return "true or false"
        lo = hi = ""
        if self.minimum is not None:
            lo = f"{'≥' if self.min_inclusive else '>'} {_plain(self.minimum)}"
        if self.maximum is not None:
            hi = f"≤ {_plain(self.maximum)}"
        return " and ".join(part for part in (lo, hi) if part) or "any finite number"

    def check(self, value: Any, loss: str) -> Any:
        """The value if it is allowed, else a UsageError naming the value and the rule."""
        where = f"{self.flag} of {loss}"
        if self.is_bool:
            if not isinstance(value, bool):
                raise UsageError(f"{where} must be true or false, got {value!r}")
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UsageError(f"{where} must be a number, got {value!r}")
        number = float(value)
        if not math.isfinite(number):
            raise UsageError(f"{where} must be finite, got {value!r}")
        too_low = self.minimum is not None and (
            number < self.minimum or (not self.min_inclusive and number == self.minimum)
        )
        too_high = self.maximum is not None and number > self.maximum
        if too_low or too_high:
            raise UsageError(f"{where} must be {self.rule()}, got {_plain(number)}")
        return number


def _plain(x: float) -> str:
    """A short, exact rendering of a rule's bound or a user's value: 1.0 -> "1"."""
    return f"{x:g}" if math.isfinite(x) else str(x)


@dataclass(frozen=True)
class Loss:
    name: str
    label: str  # display name, e.g. "MSE"
    label_zh: str  # e.g. "均方误差"
    module: str  # class in torch.nn
    formula: str  # per element, unicode
    gradient: str  # of the per-element loss, w.r.t. the prediction
    task: str  # one of TASKS
    prediction: str  # what the prediction must be
    target: str  # what the target must be
    pairs_with: str  # the output activation
    robust: str  # robustness to outliers, one short sentence
    short: str  # a few words for the catalogue table
    notes: str
    pitfalls: tuple[str, ...] = ()
    params: tuple[LossParam, ...] = ()
    aliases: tuple[str, ...] = ()
    x_kind: str = "residual"  # default x axis of the figure (one of X_KINDS)
    inputs: str = "pred"  # "pred" | "pred_var" (gaussian_nll) | "pair" (x1, x2, target)
    # What x is when x_kind is "prediction" (e.g. "log-probability of the true class").
    x_desc: str = ""
    # The default x range of the figure when x_kind is "prediction".
    x_range: tuple[float, float] = (-3.0, 3.0)
    # How the target is read and checked (one of TARGET_KINDS).
    target_kind: str = "real"
    # What the model's output is to this loss (one of OUTPUTS).
    output: str = "value"
    # The activation the loss applies itself, so the model must not ("sigmoid", "softmax").
    built_in: str = ""
    # The warning's tail when the model already ends in the built-in activation.
    built_in_twice: str = ""
    # The activation the model's output layer must end in (train refuses it otherwise).
    needs_activation: str = ""
    # The same loss on the other form of the prediction (logits <-> probabilities).
    counterpart: str = ""
    # A prediction is a row per sample (K class scores, an embedding), not one value.
    rows: bool = False
    # The target may also be rows of class probabilities (soft labels) of the
    # prediction's shape.
    soft_targets: bool = False
    # The boolean parameter that, when false, makes the prediction a rate ≥ 0.
    rate_param: str = ""
    # The tasks (of TASKS) ``nncli train --loss`` may use this loss for, and those it
    # is the default for.
    train_tasks: tuple[str, ...] = ()
    default_for: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # A new entry with a misspelt kind fails at import, not in a branch far away.
        checks = (
            ("task", (self.task,), TASKS),
            ("x_kind", (self.x_kind,), X_KINDS),
            ("inputs", (self.inputs,), INPUTS),
            ("target_kind", (self.target_kind,), TARGET_KINDS),
            ("output", (self.output,), OUTPUTS),
            ("train_tasks", self.train_tasks, TASKS),
            ("default_for", self.default_for, self.train_tasks),
        )
        for key, values, allowed in checks:
            for value in values:
                if value not in allowed:
                    raise ValueError(f"loss {self.name}: {key} {value!r} not in {allowed}")

    @property
    def decision_threshold(self) -> float:
        """Binary: a prediction above this is class 1. A logit or a score is split at 0
        (σ(0) = ½); a probability or an estimate of the 0/1 label at 0.5."""
        return 0.0 if self.output in ("logit", "score") else 0.5

    @property
    def over_probabilities(self) -> bool:
        """It can be applied to an activation's output (a regression loss, bce): the
        lesson of ``--through``. A loss with the activation built in takes logits."""
        return self.target_kind in ("real", "unit") and not self.built_in

    def display_label(self, lang: str = "en") -> str:
        return (self.label_zh or self.label) if lang == "zh" else self.label

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def properties(self) -> dict[str, Any]:
        """The registry entry as plain data, for ``--json`` and ``--info``."""
        return {
            "name": self.name,
            "label": self.label,
            "label_zh": self.label_zh,
            "aliases": list(self.aliases),
            "module": f"torch.nn.{self.module}",
            "formula": self.formula,
            "gradient": self.gradient,
            "task": self.task,
            "prediction": self.prediction,
            "target": self.target,
            "pairs_with": self.pairs_with,
            "robust": self.robust,
            "short": self.short,
            "params": {p.name: p.default for p in self.params},
            "param_rules": {p.name: f"{p.help}; {p.rule()}" for p in self.params},
            "x_kind": self.x_kind,
            "inputs": self.inputs,
            "notes": self.notes,
            "pitfalls": list(self.pitfalls),
        }

    def module_kwargs(self, **overrides: Any) -> dict[str, Any]:
        """Keyword arguments for the torch module: defaults, then the checked overrides.

        A None override means "not given" (an unset CLI option), as for activations.
        """
        given = {k: v for k, v in overrides.items() if v is not None}
        unknown = [k for k in given if k not in self.param_names]
        if unknown:
            flag = "--" + unknown[0].replace("_", "-")
            takes = ", ".join(p.flag for p in self.params) or "none"
            raise UsageError(f"{flag} does not apply to {self.name}; it takes: {takes}")
        kwargs: dict[str, Any] = {p.name: p.default for p in self.params}
        for param in self.params:
            if param.name in given:
                kwargs[param.name] = param.check(given[param.name], self.name)
        return kwargs

    def make_module(
        self, reduction: str = "mean", *, dtype: Any = None, **overrides: Any
    ) -> nn.Module:
        """A fresh ``torch.nn`` loss module with these parameters and reduction.

        ``dtype`` (a torch dtype) is only used for tensor-valued parameters
        (``pos_weight``), so they do not promote a float32 computation to float64.
        """
        import torch
        from torch import nn

        kwargs = self.module_kwargs(**overrides)
        if "pos_weight" in kwargs and kwargs["pos_weight"] is not None:
            # torch wants a tensor, broadcast over the last dimension.
            kwargs["pos_weight"] = torch.tensor(kwargs["pos_weight"], dtype=dtype)
        return getattr(nn, self.module)(reduction=reduction, **kwargs)


_MARGIN_HINGE = LossParam("margin", 1.0, "margin for target −1")

_ENTRIES = (
    Loss(
        name="mse",
        target_kind="real",
        output="value",
        train_tasks=("binary", "regression"),
        default_for=("regression",),
        label="MSE",
        label_zh="均方误差",
        module="MSELoss",
        formula="(ŷ − y)²",
        gradient="2(ŷ − y)/n",
        task="regression",
        prediction="any real",
        target="real values",
        pairs_with="none (linear)",
        robust="not robust: an outlier's error is squared and dominates the mean",
        short="squared error",
        aliases=("l2",),
        notes=(
            "The default regression loss: the mean of squared errors, the negative "
            "log-likelihood of a Gaussian with fixed variance. Its gradient grows with the "
            "error, so large errors are corrected fastest, and outliers dominate."
        ),
        pitfalls=(
            "outliers dominate: one error of 10 weighs as much as 100 errors of 1",
            "behind a sigmoid, its gradient vanishes when the prediction is confidently "
            "wrong; use BCE for probabilities",
            "reduction='mean' divides by every element, 'sum' does not: the gradient "
            "scale (and the learning rate that works) changes with the batch size",
        ),
    ),
    Loss(
        name="mae",
        target_kind="real",
        output="value",
        train_tasks=("binary", "regression"),
        label="MAE",
        label_zh="平均绝对误差",
        module="L1Loss",
        formula="|ŷ − y|",
        gradient="sign(ŷ − y)/n",
        task="regression",
        prediction="any real",
        target="real values",
        pairs_with="none (linear)",
        robust="robust: an outlier counts linearly, and the gradient is bounded",
        short="absolute error",
        aliases=("l1",),
        notes=(
            "Mean absolute error: the median, not the mean, minimises it, so outliers "
            "matter little. The gradient has the same size for every error, so it does "
            "not slow down near the optimum (and is undefined at 0; torch takes 0)."
        ),
        pitfalls=(
            "the gradient does not shrink near the optimum: training oscillates unless "
            "the learning rate decays",
            "not differentiable at ŷ = y (torch's gradient there is 0)",
        ),
    ),
    Loss(
        name="huber",
        target_kind="real",
        output="value",
        train_tasks=("binary", "regression"),
        label="Huber",
        label_zh="Huber 损失",
        module="HuberLoss",
        formula="½(ŷ − y)² if |ŷ − y| ≤ δ, else δ(|ŷ − y| − ½δ)",
        gradient="(ŷ − y) if |ŷ − y| ≤ δ, else δ·sign(ŷ − y)",
        task="regression",
        prediction="any real",
        target="real values",
        pairs_with="none (linear)",
        robust="robust: quadratic near 0, linear (bounded gradient) beyond δ",
        short="MSE near 0, MAE beyond δ",
        params=(LossParam("delta", 1.0, "where it turns linear", 0.0, min_inclusive=False),),
        notes=(
            "Squared error for small errors, absolute error (scaled by δ) for large ones: "
            "smooth at the optimum like MSE, robust to outliers like MAE. The gradient is "
            "clipped to ±δ."
        ),
        pitfalls=(
            "δ is in the units of the target: rescale it with the target",
            "huber = δ·smooth_l1 with β = δ; the two differ by that factor",
        ),
    ),
    Loss(
        name="smooth_l1",
        target_kind="real",
        output="value",
        train_tasks=("binary", "regression"),
        label="Smooth L1",
        label_zh="平滑 L1 损失",
        module="SmoothL1Loss",
        formula="½(ŷ − y)²/β if |ŷ − y| < β, else |ŷ − y| − ½β",
        gradient="(ŷ − y)/β if |ŷ − y| < β, else sign(ŷ − y)",
        task="regression",
        prediction="any real",
        target="real values",
        pairs_with="none (linear)",
        robust="robust: quadratic near 0, linear (gradient ±1) beyond β",
        short="MAE, rounded below β",
        params=(LossParam("beta", 1.0, "width of the quadratic part", 0.0),),
        notes=(
            "MAE with the corner at 0 rounded off over |ŷ − y| < β; used for bounding-box "
            "regression. β = 0 is exactly MAE. The gradient is bounded by 1."
        ),
        pitfalls=(
            "not the same scale as huber: huber = β·smooth_l1 for δ = β",
            "β = 0 gives MAE, with its non-differentiable corner",
        ),
    ),
    Loss(
        name="bce",
        target_kind="unit",
        output="probability",
        needs_activation="sigmoid",
        counterpart="bce_with_logits",
        train_tasks=("binary",),
        label="BCE",
        label_zh="二元交叉熵",
        module="BCELoss",
        formula="−[y·log p + (1 − y)·log(1 − p)], each log clamped to ≥ −100",
        gradient="(p − y) / (p(1 − p))",
        task="binary",
        prediction="probability in [0, 1] (after a sigmoid)",
        target="0/1 or soft labels in [0, 1]",
        pairs_with="sigmoid",
        robust="not robust to label noise: a confidently wrong prediction costs up to 100",
        short="binary cross-entropy on p",
        aliases=("log_loss",),
        x_kind="probability",
        notes=(
            "Binary cross-entropy on probabilities: the negative log-likelihood of a "
            "Bernoulli. Also for multi-label outputs (one sigmoid per label). torch clamps "
            "each log at −100, so the loss never exceeds 100; prefer bce_with_logits, which "
            "takes the logit and is exact for any z."
        ),
        pitfalls=(
            "BCELoss on logits: the prediction must be a probability in [0, 1]; give "
            "logits to bce_with_logits instead",
            "sigmoid + BCELoss loses precision: σ(z) rounds to 1 for z > 36.7 (float64) or "
            "z > 16.6 (float32) and the loss sticks at the −100 clamp",
            "the gradient (p − y)/(p(1 − p)) is huge near p = 0 or 1",
        ),
    ),
    Loss(
        name="bce_with_logits",
        target_kind="unit",
        output="logit",
        built_in="sigmoid",
        built_in_twice=(
            ": the loss never gets near 0; remove the output sigmoid or use --loss bce"
        ),
        counterpart="bce",
        train_tasks=("binary",),
        default_for=("binary",),
        label="BCE with logits",
        label_zh="带 logits 的二元交叉熵",
        module="BCEWithLogitsLoss",
        formula="−[w·y·log σ(z) + (1 − y)·log(1 − σ(z))] (w = pos_weight)",
        gradient="σ(z) − y (w = 1); (w·y + 1 − y)·σ(z) − w·y",
        task="binary",
        prediction="logits (any real, no sigmoid)",
        target="0/1 or soft labels in [0, 1]",
        pairs_with="sigmoid (built in: give it the logits)",
        robust="not robust to label noise, but the gradient is bounded by max(1, w)",
        short="sigmoid + BCE, stable",
        aliases=("bce_logits",),
        x_kind="logit",
        params=(
            LossParam("pos_weight", None, "weight w of the positive class; unset means 1", 0.0),
        ),
        notes=(
            "Sigmoid and binary cross-entropy in one, computed with the log-sum-exp trick, "
            "so it is exact for any logit. The gradient σ(z) − y stays large while the "
            "prediction is wrong. pos_weight > 1 raises recall on rare positives."
        ),
        pitfalls=(
            "do not apply a sigmoid first: it takes the raw logits",
            "pos_weight multiplies only the positive term (a count ratio neg/pos is usual)",
        ),
    ),
    Loss(
        name="cross_entropy",
        target_kind="class",
        output="logit",
        built_in="softmax",
        built_in_twice=(
            " (double softmax): gradients shrink and training slows; remove the output softmax"
        ),
        counterpart="nll",
        rows=True,
        soft_targets=True,
        train_tasks=("multi-class",),
        default_for=("multi-class",),
        label="Cross-entropy",
        label_zh="交叉熵损失",
        module="CrossEntropyLoss",
        formula="−log softmax(z)_y = −z_y + log Σⱼ e^(zⱼ)",
        gradient="∂/∂zᵢ = softmax(z)ᵢ − 1[i = y]",
        task="multi-class",
        prediction="logits (K raw scores per sample, no softmax)",
        target="class indices 0..K-1, or probability rows of the prediction's shape",
        pairs_with="softmax (built in: give it the logits)",
        robust="not robust to label noise; label smoothing caps the confidence",
        short="softmax + NLL, stable",
        aliases=("ce",),
        x_kind="logit",
        params=(LossParam("label_smoothing", 0.0, "mix ε of the uniform distribution", 0.0, 1.0),),
        notes=(
            "Softmax and negative log-likelihood in one, stable for any logits. The "
            "gradient for each logit is softmaxᵢ − 1[i = y]: it only vanishes once the true "
            "class has all the probability. Label smoothing ε targets 1 − ε + ε/K instead."
        ),
        pitfalls=(
            "double softmax: never apply softmax before CrossEntropyLoss, it takes logits",
            "the target is class indices (int64), not one-hot, unless you mean soft labels",
            "reduction='mean' averages over samples (and ignores ignore_index ones)",
        ),
    ),
    Loss(
        name="nll",
        target_kind="class",
        output="log_probability",
        rows=True,
        x_range=(-5.0, 0.0),
        label="NLL",
        label_zh="负对数似然",
        module="NLLLoss",
        formula="−x_y (x = log-probabilities)",
        gradient="∂/∂xᵢ = −1[i = y]",
        task="multi-class",
        prediction="log-probabilities (after log_softmax)",
        target="class indices 0..K-1",
        pairs_with="log_softmax",
        robust="not robust to label noise",
        short="picks −log p of the class",
        x_kind="prediction",
        x_desc="log-probability predicted",
        notes=(
            "Negative log-likelihood: it just picks the negated entry of the true class. "
            "With log_softmax before it, it equals cross_entropy on the logits."
        ),
        pitfalls=(
            "NLLLoss on probabilities: it expects log-probabilities (≤ 0); on "
            "probabilities it rewards small values and training runs away",
            "NLLLoss on logits without log_softmax is not a loss of anything",
        ),
    ),
    Loss(
        name="kl_div",
        target_kind="distribution",
        output="log_probability",
        x_range=(-5.0, 0.0),
        label="KL divergence",
        label_zh="KL 散度",
        module="KLDivLoss",
        formula="y·(log y − x) (x = log-probabilities; with log_target: e^y·(y − x))",
        gradient="−y (with log_target: −e^y)",
        task="distribution",
        prediction="log-probabilities (after log_softmax)",
        target="probabilities (log-probabilities with --log-target)",
        pairs_with="log_softmax",
        robust="not robust: zero-probability targets are ignored, tiny ones dominate",
        short="KL(target ‖ prediction)",
        x_kind="prediction",
        x_desc="log-probability predicted",
        params=(LossParam("log_target", False, "the target is given as log-probabilities"),),
        notes=(
            "KL(y ‖ p) with the prediction given as log-probabilities: distillation and "
            "matching distributions. Argument order is kl_div(input=log p, target=y), the "
            "reverse of the KL(P ‖ Q) notation."
        ),
        pitfalls=(
            "argument order: the first argument is the log-probabilities of the model, "
            "the second the target distribution",
            "giving probabilities instead of log-probabilities as the prediction",
            "a log-probability target needs log_target=True",
            "reduction='mean' divides by every element; the true KL is 'batchmean'",
        ),
    ),
    Loss(
        name="poisson_nll",
        target_kind="count",
        output="log_rate",
        rate_param="log_input",
        train_tasks=("regression",),
        label="Poisson NLL",
        label_zh="泊松负对数似然",
        module="PoissonNLLLoss",
        formula="e^x − y·x (log_input); x − y·log(x + ε) otherwise",
        gradient="e^x − y (log_input); 1 − y/(x + ε) otherwise",
        task="regression",
        prediction="log-rate (any real) with log_input, else a rate > 0",
        target="counts ≥ 0",
        pairs_with="none (log-rate) or exp/softplus (rate)",
        robust="moderately robust: the penalty grows linearly in the count",
        short="counts, Poisson likelihood",
        x_kind="prediction",
        x_desc="log-rate predicted",
        params=(LossParam("log_input", True, "the prediction is the log of the rate"),),
        notes=(
            "Negative log-likelihood of a Poisson count (without the constant log y! term "
            "unless full=True). With log_input the model predicts the log-rate, so no "
            "output activation is needed."
        ),
        pitfalls=(
            "with log_input=False the rate must be positive",
            "drops the Stirling term log(y!) by default: the value is not the full NLL",
        ),
    ),
    Loss(
        name="gaussian_nll",
        target_kind="real",
        output="value",
        label="Gaussian NLL",
        label_zh="高斯负对数似然",
        module="GaussianNLLLoss",
        formula="½(log max(σ², ε) + (ŷ − y)²/max(σ², ε))",
        gradient="(ŷ − y)/σ²",
        task="regression",
        prediction="any real mean, plus a variance σ² > 0",
        target="real values",
        pairs_with="none (mean), softplus (variance)",
        robust="adaptive: a large predicted variance discounts an outlier",
        short="MSE with a learnt variance",
        inputs="pred_var",
        notes=(
            "Regression that also predicts its own uncertainty σ². With σ² = 1 it is "
            "½·MSE plus a constant. The figure fixes σ² = 1."
        ),
        pitfalls=(
            "the variance must be positive (torch clamps it to ε = 1e-6)",
            "drops the ½·log 2π constant unless full=True",
        ),
    ),
    Loss(
        name="soft_margin",
        target_kind="sign",
        output="logit",
        train_tasks=("binary",),
        label="Soft margin",
        label_zh="软间隔损失",
        module="SoftMarginLoss",
        formula="log(1 + e^(−y·x))",
        gradient="−y·σ(−y·x)",
        task="binary",
        prediction="a score (any real)",
        target="−1 or 1",
        pairs_with="none (a score)",
        robust="fairly robust: grows linearly for wrong predictions",
        short="logistic loss, ±1 labels",
        x_kind="logit",
        notes=(
            "The logistic loss with labels ±1: the same as bce_with_logits after mapping "
            "y = −1 to 0. The gradient is bounded by 1."
        ),
        pitfalls=("the target is −1 or 1, not 0 or 1: a 0 target makes the loss constant",),
    ),
    Loss(
        name="hinge_embedding",
        target_kind="sign",
        output="distance",
        x_range=(0.0, 3.0),
        label="Hinge embedding",
        label_zh="铰链嵌入损失",
        module="HingeEmbeddingLoss",
        formula="x if y = 1; max(0, margin − x) if y = −1",
        gradient="1 if y = 1; −1 if y = −1 and x < margin, else 0",
        task="ranking",
        prediction="a distance ≥ 0 (e.g. L1 between embeddings)",
        target="−1 or 1 (similar / dissimilar)",
        pairs_with="none (a distance)",
        robust="robust: linear, bounded gradient",
        short="pull similar, push dissimilar",
        x_kind="prediction",
        x_desc="distance between the pair",
        params=(_MARGIN_HINGE,),
        notes=(
            "Metric learning on a distance: similar pairs (y = 1) are pulled together, "
            "dissimilar ones (y = −1) pushed beyond the margin, then ignored."
        ),
        pitfalls=("the prediction is a distance, not a similarity: larger means less alike",),
    ),
    Loss(
        name="multi_margin",
        target_kind="class",
        output="score",
        rows=True,
        train_tasks=("multi-class",),
        label="Multi-class hinge",
        label_zh="多分类合页损失",
        module="MultiMarginLoss",
        formula="Σ_{i≠y} max(0, margin − z_y + zᵢ) / K",
        gradient="∂/∂z_y = −#{i ≠ y: margin − z_y + zᵢ > 0}/K",
        task="multi-class",
        prediction="scores (K per sample, any real)",
        target="class indices 0..K-1",
        pairs_with="none (scores)",
        robust="robust: linear, bounded gradient; zero once the margin is met",
        short="SVM hinge, K classes",
        x_kind="logit",
        params=(LossParam("margin", 1.0, "required gap between true and other scores"),),
        notes=(
            "The multi-class SVM loss: zero once the true class's score beats every "
            "other by the margin, so confident correct predictions stop contributing."
        ),
        pitfalls=("the gradient is exactly 0 beyond the margin: no push to be more sure",),
    ),
    Loss(
        name="cosine_embedding",
        target_kind="sign",
        output="embedding",
        rows=True,
        x_range=(0.0, math.pi),
        label="Cosine embedding",
        label_zh="余弦嵌入损失",
        module="CosineEmbeddingLoss",
        formula="1 − cos(x₁, x₂) if y = 1; max(0, cos(x₁, x₂) − margin) if y = −1",
        gradient="∂/∂θ = sin θ if y = 1 (θ = angle between x₁ and x₂)",
        task="ranking",
        prediction="two embeddings x₁, x₂ (any real vectors)",
        target="−1 or 1 (similar / dissimilar)",
        pairs_with="none (embeddings)",
        robust="robust: bounded by 2, depends only on the angle",
        short="align similar embeddings",
        x_kind="prediction",
        x_desc="angle θ between x₁ and x₂ (radians)",
        inputs="pair",
        params=(LossParam("margin", 0.0, "cosine allowed for dissimilar pairs", -1.0, 1.0),),
        notes=(
            "Compares the directions of two embeddings: 1 − cos θ for similar pairs, the "
            "cosine above the margin for dissimilar ones. Lengths do not matter."
        ),
        pitfalls=(
            "the gradient vanishes at θ = π as well as at θ = 0: aligned pairs have "
            "converged, but antipodal similar pairs are stuck, wrong yet barely moving",
            "a zero vector has no direction: torch adds ε = 1e-12 to each squared norm, so "
            "its cosine is 0 and its gradient about 1/√ε = 1e6 times the other vector's "
            "unit direction",
        ),
    ),
    Loss(
        name="margin_ranking",
        target_kind="sign",
        output="score",
        label="Margin ranking",
        label_zh="间隔排序损失",
        module="MarginRankingLoss",
        formula="max(0, −y·(x₁ − x₂) + margin)",
        gradient="∂/∂x₁ = −y if −y·(x₁ − x₂) + margin > 0, else 0",
        task="ranking",
        prediction="two scores x₁, x₂ (any real)",
        target="1 (x₁ should rank higher) or −1",
        pairs_with="none (scores)",
        robust="robust: linear, bounded gradient",
        short="rank x₁ above x₂",
        x_kind="prediction",
        x_desc="score difference x₁ − x₂",
        inputs="pair",
        params=(LossParam("margin", 0.0, "required gap between the scores"),),
        notes=(
            "Learning to rank: zero once x₁ beats x₂ by the margin (y = 1), linear "
            "otherwise. With margin 0 a tie already costs nothing."
        ),
        pitfalls=("margin 0 gives a zero gradient for any correct order, however close",),
    ),
)

LOSSES: dict[str, Loss] = {loss.name: loss for loss in _ENTRIES}
ALIASES: dict[str, str] = {alias: loss.name for loss in _ENTRIES for alias in loss.aliases}

# The tutorial's table: which output activation goes with which loss, for which task.
PAIRINGS: tuple[tuple[str, str, str], ...] = (
    ("none (linear)", "mse", "regression"),
    ("none (linear)", "huber", "regression with outliers"),
    ("sigmoid", "bce", "binary"),
    ("none (logits)", "bce_with_logits", "binary, multi-label"),
    ("softmax", "cross_entropy", "multi-class (softmax built in)"),
    ("log_softmax", "nll", "multi-class"),
    ("log_softmax", "kl_div", "distribution"),
    ("none (log-rate)", "poisson_nll", "counts"),
)


def loss_names(include_aliases: bool = False) -> list[str]:
    """Canonical names in registry order (then the aliases, sorted, if asked)."""
    names = list(LOSSES)
    return names + sorted(ALIASES) if include_aliases else names


def get_loss(name: str) -> Loss:
    """Look a loss up by name or alias; unknown names suggest the closest."""
    key = name.strip().lower().replace("-", "_")
    key = ALIASES.get(key, key)
    if key not in LOSSES:
        raise unknown_name("loss", name, loss_names(include_aliases=True))
    return LOSSES[key]


def train_losses(task: str) -> tuple[str, ...]:
    """The losses ``nncli train --loss`` takes for a task: its default first, then the
    losses made for the task, then the others that serve it, each in registry order."""
    entries = [loss for loss in _ENTRIES if task in loss.train_tasks]
    entries.sort(key=lambda loss: (task not in loss.default_for, loss.task != task))
    return tuple(loss.name for loss in entries)


def train_default(task: str, output_activation: str | None) -> Loss:
    """The loss ``nncli train`` uses for a task: the task's default, or, when the model
    already ends in the activation the default has built in (a sigmoid before
    bce_with_logits), its counterpart made for that activation's output, if there is one.
    """
    defaults = {name: loss for loss in _ENTRIES for name in loss.default_for}
    if task not in defaults:
        raise unknown_name("task", task, list(defaults))
    loss = defaults[task]
    if loss.built_in and loss.built_in == output_activation and loss.counterpart:
        other = LOSSES[loss.counterpart]
        if other.needs_activation == output_activation:
            return other
    return loss
