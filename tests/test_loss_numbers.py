"""``nncli loss NAME --pred ... --target ...``: values and gradients checked against
torch.nn.functional and against hand calculations; every bad input refused before
torch sees it; the pitfalls warned about; the tables readable at 80 columns."""

from __future__ import annotations

import io
import json
import math
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from rich.console import Console

from nncli.core.loss.losses import LOSSES, TARGET_KINDS, get_loss
from nncli.core.loss.losseval import CHECKS, LossEvaluation, evaluate
from nncli.errors import UsageError
from nncli.render.loss_numbers import evaluation_document, render_evaluation
from tests.conftest import Invoke, check_golden

RNG = np.random.default_rng(8)


def ev(
    name: str,
    pred: Any,
    target: Any,
    *,
    extra: Any = None,
    reduction: str = "mean",
    dtype: str = "float64",
    **params: Any,
) -> LossEvaluation:
    return evaluate(
        get_loss(name),
        params,
        np.asarray(pred, dtype=np.float64),
        np.asarray(target, dtype=np.float64),
        reduction=reduction,
        extra=None if extra is None else np.asarray(extra, dtype=np.float64),
        dtype=dtype,
    )


def close(actual: Any, expected: Any, tol: float = 1e-12) -> None:
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), rtol=tol, atol=tol)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def t(x: Any, **kw: Any) -> torch.Tensor:
    return torch.tensor(np.asarray(x), dtype=torch.float64, **kw)


def test_every_registered_loss_has_target_conventions() -> None:
    # The registry's target_kind says how a loss reads its target; each kind has its checks.
    assert set(CHECKS) == set(TARGET_KINDS)
    assert {loss.target_kind for loss in LOSSES.values()} <= set(CHECKS)


# --- values and gradients against hand calculations and torch.nn.functional --------


def test_mse_by_hand() -> None:
    p, y = RNG.normal(size=7), RNG.normal(size=7)
    result = ev("mse", p, y)
    close(result.value, np.mean((p - y) ** 2))
    close(result.value, F.mse_loss(t(p), t(y)).item())
    close(result.elements, (p - y) ** 2)
    close(result.grad, 2 * (p - y) / p.size)  # ∂MSE/∂ŷ = 2(ŷ − y)/n


def test_reductions_sum_and_none() -> None:
    p, y = RNG.normal(size=(3, 4)), RNG.normal(size=(3, 4))
    mean, total, none = (ev("mse", p, y, reduction=r) for r in ("mean", "sum", "none"))
    close(total.value, np.sum((p - y) ** 2))
    close(total.grad, 2 * (p - y))
    close(none.value, (p - y) ** 2)
    assert none.elements == none.value and len(none.elements) == 3
    close(none.grad, 2 * (p - y))  # of the sum of the per-element losses
    close(mean.value, total.value / 12)
    assert mean.pred_shape == [3, 4] and np.asarray(mean.grad).shape == (3, 4)


def test_mae_by_hand() -> None:
    p, y = np.array([1.0, -2.0, 0.5, 3.0]), np.array([0.0, 0.0, 0.5, 4.0])
    result = ev("mae", p, y)
    close(result.value, np.mean(np.abs(p - y)))
    close(result.grad, np.sign(p - y) / 4)  # torch's subgradient at 0 is 0


@pytest.mark.parametrize("delta", [0.5, 1.0, 2.5])
def test_huber_by_hand(delta: float) -> None:
    p = np.linspace(-4, 4, 17)
    y = np.zeros_like(p)
    r = p - y
    result = ev("huber", p, y, delta=delta)
    quad = np.abs(r) <= delta
    close(result.elements, np.where(quad, 0.5 * r**2, delta * (np.abs(r) - 0.5 * delta)))
    close(result.grad, np.where(quad, r, delta * np.sign(r)) / p.size)
    close(result.value, F.huber_loss(t(p), t(y), delta=delta).item())


@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0])
def test_smooth_l1_by_hand(beta: float) -> None:
    p = np.linspace(-3, 3, 13)
    y = np.full_like(p, 0.25)
    r = p - y
    result = ev("smooth_l1", p, y, beta=beta)
    quad = np.abs(r) < beta
    safe = beta if beta else 1.0
    close(result.elements, np.where(quad, 0.5 * r**2 / safe, np.abs(r) - 0.5 * beta))
    close(result.grad, np.where(quad, r / safe, np.sign(r)) / p.size)
    close(result.value, F.smooth_l1_loss(t(p), t(y), beta=beta).item())


def test_bce_by_hand() -> None:
    p = np.array([0.1, 0.5, 0.9, 0.99, 0.3])
    y = np.array([1.0, 0.0, 1.0, 0.0, 0.25])  # soft labels allowed
    result = ev("bce", p, y)
    close(result.elements, -(y * np.log(p) + (1 - y) * np.log(1 - p)))
    close(result.grad, (p - y) / (p * (1 - p)) / p.size)
    close(result.value, F.binary_cross_entropy(t(p), t(y)).item())


def test_bce_clamps_log_at_minus_100() -> None:
    result = ev("bce", [0.0, 1.0], [1.0, 0.0], reduction="none")
    assert result.elements == [100.0, 100.0]
    assert any("clamps" in note for note in result.notes)
    assert all(math.isfinite(g) for g in result.grad)


@pytest.mark.parametrize("pos_weight", [None, 3.0])
def test_bce_with_logits_by_hand(pos_weight: float | None) -> None:
    z = np.linspace(-8, 8, 9)
    y = np.array([1, 0, 1, 0, 1, 0, 1, 0.5, 1.0])
    result = ev("bce_with_logits", z, y, pos_weight=pos_weight)
    w = 1.0 if pos_weight is None else pos_weight
    s = sigmoid(z)
    close(result.elements, -(w * y * np.log(s) + (1 - y) * np.log(1 - s)), 1e-10)
    # ∂/∂z = σ(z) − y for w = 1; (w·y + 1 − y)·σ(z) − w·y in general
    close(result.grad, ((w * y + 1 - y) * s - w * y) / z.size)
    expected = F.binary_cross_entropy_with_logits(
        t(z), t(y), pos_weight=None if pos_weight is None else t(pos_weight)
    )
    close(result.value, expected.item())
    assert result.params == {"pos_weight": pos_weight}


def test_bce_with_logits_is_exact_for_large_logits() -> None:
    result = ev("bce_with_logits", [-800.0, 800.0], [1.0, 0.0], reduction="none")
    close(result.elements, [800.0, 800.0])
    close(result.grad, [-1.0, 1.0])  # σ(z) − y, not a vanished or huge gradient


def test_cross_entropy_issue_example() -> None:
    """`--pred "0.2,0.7,0.1" --target 1`: one row of 3 logits, class 1."""
    z = np.array([0.2, 0.7, 0.1])
    result = ev("cross_entropy", z, [1])
    close(result.value, -z[1] + np.log(np.sum(np.exp(z))))
    close(result.grad, softmax(z) - np.array([0, 1, 0]))  # softmaxᵢ − 1[i = y]
    assert result.elements == [pytest.approx(result.value)]
    assert result.target_shape == [1] and result.pred_shape == [3]


def test_cross_entropy_rows_by_hand() -> None:
    z = RNG.normal(size=(4, 5)) * 3
    y = np.array([0, 4, 2, 2])
    result = ev("cross_entropy", z, y)
    onehot = np.eye(5)[y]
    per_row = -np.sum(onehot * np.log(softmax(z)), axis=1)
    close(result.elements, per_row)
    close(result.value, per_row.mean())
    close(result.grad, (softmax(z) - onehot) / 4)
    close(result.value, F.cross_entropy(t(z), torch.tensor(y)).item())


def test_cross_entropy_target_column_and_one_hot_rows() -> None:
    z = RNG.normal(size=(3, 4))
    by_index = ev("cross_entropy", z, [[1], [3], [0]])  # a CSV column of indices
    one_hot = ev("cross_entropy", z, np.eye(4)[[1, 3, 0]])
    close(by_index.value, one_hot.value)
    close(by_index.grad, one_hot.grad)
    assert any("soft labels" in note for note in one_hot.notes)


@pytest.mark.parametrize("eps", [0.0, 0.1, 0.5])
def test_cross_entropy_label_smoothing(eps: float) -> None:
    z = RNG.normal(size=(2, 3))
    y = np.array([2, 0])
    result = ev("cross_entropy", z, y, label_smoothing=eps)
    smoothed = (1 - eps) * np.eye(3)[y] + eps / 3  # 1 − ε + ε/K on the true class
    close(result.value, np.mean(-np.sum(smoothed * np.log(softmax(z)), axis=1)))
    close(result.grad, (softmax(z) - smoothed) / 2)
    expected = F.cross_entropy(t(z), torch.tensor(y), label_smoothing=eps).item()
    close(result.value, expected)


def test_nll_by_hand() -> None:
    logp = np.log(softmax(RNG.normal(size=(3, 4))))
    y = np.array([3, 0, 1])
    result = ev("nll", logp, y)
    close(result.value, -np.mean(logp[np.arange(3), y]))
    close(result.grad, -np.eye(4)[y] / 3)  # ∂/∂xᵢ = −1[i = y]/N
    assert result.warnings == []


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides")
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_by_hand(log_target: bool) -> None:
    x = np.log(softmax(RNG.normal(size=(2, 3))))
    q = softmax(RNG.normal(size=(2, 3)))
    y = np.log(q) if log_target else q
    result = ev("kl_div", x, y, log_target=log_target)
    close(result.elements, q * (np.log(q) - x))
    close(result.grad, -q / 6)  # 'mean' divides by every element
    close(result.value, F.kl_div(t(x), t(y), reduction="mean", log_target=log_target).item())
    assert result.warnings == []
    assert any("batchmean" in note for note in result.notes)


@pytest.mark.parametrize("log_input", [True, False])
def test_poisson_nll_by_hand(log_input: bool) -> None:
    x = np.array([0.5, 1.0, 2.0, 3.0])
    y = np.array([0.0, 1.0, 4.0, 2.0])
    result = ev("poisson_nll", x, y, log_input=log_input)
    if log_input:
        close(result.elements, np.exp(x) - y * x)
        close(result.grad, (np.exp(x) - y) / 4)
    else:
        eps = 1e-8
        close(result.elements, x - y * np.log(x + eps))
        close(result.grad, (1 - y / (x + eps)) / 4)
    close(result.value, F.poisson_nll_loss(t(x), t(y), log_input=log_input).item())


def test_gaussian_nll_by_hand() -> None:
    p, y = np.array([1.0, 2.0, -1.0]), np.array([0.5, 2.0, 1.0])
    var = np.array([0.5, 2.0, 4.0])
    result = ev("gaussian_nll", p, y, extra=var)
    close(result.elements, 0.5 * (np.log(var) + (p - y) ** 2 / var))
    close(result.grad, (p - y) / var / 3)
    close(result.value, F.gaussian_nll_loss(t(p), t(y), t(var)).item())


def test_gaussian_nll_variance_default_and_single_value() -> None:
    p, y = np.array([1.0, 2.0]), np.array([0.0, 0.0])
    default = ev("gaussian_nll", p, y)
    close(default.elements, 0.5 * (p - y) ** 2)  # σ² = 1: ½·squared error
    single = ev("gaussian_nll", p, y, extra=[2.0])
    close(single.elements, 0.5 * (np.log(2.0) + (p - y) ** 2 / 2))


def test_soft_margin_by_hand() -> None:
    x, y = np.array([-2.0, 0.0, 3.0]), np.array([1.0, -1.0, -1.0])
    result = ev("soft_margin", x, y)
    close(result.elements, np.log1p(np.exp(-y * x)))
    close(result.grad, -y * sigmoid(-y * x) / 3)
    close(result.value, F.soft_margin_loss(t(x), t(y)).item())


def test_hinge_embedding_by_hand() -> None:
    d, y = np.array([0.2, 0.5, 1.5, 0.0]), np.array([1.0, -1.0, -1.0, 1.0])
    result = ev("hinge_embedding", d, y, margin=1.0)
    close(result.elements, np.where(y == 1, d, np.maximum(0, 1.0 - d)))
    close(result.grad, np.where(y == 1, 1.0, np.where(d < 1.0, -1.0, 0.0)) / 4)
    close(result.value, F.hinge_embedding_loss(t(d), t(y)).item())


def test_multi_margin_by_hand() -> None:
    z = np.array([[0.2, 0.7, 0.1], [2.0, -1.0, 0.5]])
    y = np.array([1, 0])
    result = ev("multi_margin", z, y)
    hinge = np.maximum(0, 1 - z[np.arange(2), y][:, None] + z)
    hinge[np.arange(2), y] = 0
    close(result.elements, hinge.sum(axis=1) / 3)
    close(result.value, F.multi_margin_loss(t(z), torch.tensor(y)).item())
    active = (hinge > 0).astype(float)
    grad = active.copy()
    grad[np.arange(2), y] = -active.sum(axis=1)
    close(result.grad, grad / 3 / 2)


def test_cosine_embedding_by_hand() -> None:
    x1 = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 2.0]])
    x2 = np.array([[1.0, 1.0], [-1.0, 0.0], [0.0, 1.0]])
    y = np.array([1.0, -1.0, -1.0])
    result = ev("cosine_embedding", x1, y, extra=x2, margin=0.1)
    cos = np.sum(x1 * x2, axis=1) / np.linalg.norm(x1, axis=1) / np.linalg.norm(x2, axis=1)
    close(result.elements, np.where(y == 1, 1 - cos, np.maximum(0, cos - 0.1)), 1e-7)
    expected = F.cosine_embedding_loss(t(x1), t(x2), t(y), margin=0.1).item()
    close(result.value, expected)
    # row 0: ∂(1 − cos)/∂x₁ = −(x₂/(|x₁||x₂|) − cos·x₁/|x₁|²); mean over 3 rows
    g0 = -(x2[0] / (1 * math.sqrt(2)) - cos[0] * x1[0]) / 3
    close(result.grad[0], g0, 1e-7)
    close(result.grad[1], [0.0, 0.0])  # cos < margin: no loss, no gradient


def test_margin_ranking_by_hand() -> None:
    x1, x2 = np.array([1.0, 0.2, -1.0]), np.array([0.5, 0.5, 0.0])
    y = np.array([1.0, 1.0, -1.0])
    result = ev("margin_ranking", x1, y, extra=x2, margin=0.1)
    raw = -y * (x1 - x2) + 0.1
    close(result.elements, np.maximum(0, raw))
    close(result.grad, np.where(raw > 0, -y, 0.0) / 3)
    close(result.value, F.margin_ranking_loss(t(x1), t(x2), t(y), margin=0.1).item())


def test_float32_computes_in_float32() -> None:
    p = np.array([0.1, 0.7, 0.2])
    result = ev("mse", p, [0.3], dtype="float32")
    expected = F.mse_loss(torch.tensor(p, dtype=torch.float32), torch.full((3,), 0.3)).item()
    assert result.value == expected and result.dtype == "float32"
    assert result.value != ev("mse", p, [0.3]).value  # float64 rounds differently


def test_a_scalar_target_is_used_for_every_element() -> None:
    result = ev("mse", [1.0, 2.0, 3.0], [0.0])
    close(result.elements, [1.0, 4.0, 9.0])
    assert result.target_shape == [1]
    assert "target 0 is used for every one of the 3 predictions" in result.notes


# --- validation: every bad input is a UsageError before torch computes -----------


@pytest.mark.parametrize(
    ("name", "pred", "target", "extra", "params", "expected"),
    [
        ("bce", [0.2, 1.3], [1.0, 0.0], None, {}, "--pred: value 2 is 1.3; bce takes probab"),
        ("bce", [-0.1], [1.0], None, {}, "--pred: the value is -0.1; bce takes"),
        ("bce", [0.2, 0.3], [1.0, 2.0], None, {}, "--target: value 2 is 2; a target must be in"),
        ("bce_with_logits", [5.0], [-1.0], None, {}, "--target: the value is -1; a target"),
        ("cross_entropy", [2.0, 1.0, 0.0], [3.0], None, {}, "a class index must be in 0..2"),
        ("cross_entropy", [2.0, 1.0, 0.0], [1.5], None, {}, "class indices are integers 0..2"),
        ("cross_entropy", [2.0, 1.0, 0.0], [-1.0], None, {}, "a class index must be in 0..2"),
        ("cross_entropy", [[1.0, 2.0], [3.0, 4.0]], [1.0], None, {}, "needs one class index"),
        ("cross_entropy", [[1.0, 2.0], [3.0, 4.0]], [0, 1, 1], None, {}, "2 rows of 2 classes"),
        ("cross_entropy", [0.5], [0.0], None, {}, "needs a score for each of K ≥ 2 classes"),
        ("cross_entropy", [1.0, 2.0], [0.5, 1.5], None, {}, "soft labels) must be in [0, 1]"),
        ("nll", [-1.0, -2.0], [0.0, 1.0], None, {}, "needs one class index 0..1 per row"),
        ("multi_margin", [[1.0, 2.0]] * 2, [0, 2], None, {}, "value 2 is 2; a class index"),
        ("mse", [1.0, 2.0, 3.0], [[1.0], [2.0], [3.0]], None, {}, "shapes must match"),
        ("mse", [1.0, 2.0], [1.0, 2.0, 3.0], None, {}, "--target has shape [3] but --pred has"),
        ("mse", [1.0, math.nan], [1.0, 2.0], None, {}, "--pred: value 2 is nan; values must"),
        ("mse", [1.0], [math.inf], None, {}, "--target: the value is inf"),
        ("mse", [], [1.0], None, {}, "--pred is empty"),
        ("mse", [1.0], [1.0], [1.0], {}, "mse takes a prediction and a target only"),
        ("mse", [1.0], [1.0], None, {"delta": 1.0}, "--delta does not apply to mse"),
        ("huber", [1.0], [1.0], None, {"delta": 0.0}, "--delta of huber must be > 0"),
        ("gaussian_nll", [1.0, 2.0], [0.0, 0.0], [0.0, 1.0], {}, "--var: value 1 is 0"),
        ("gaussian_nll", [1.0, 2.0], [0.0, 0.0], [1.0, 1.0, 1.0], {}, "--var has shape [3]"),
        ("soft_margin", [1.0, 2.0], [0.0, 1.0], None, {}, "soft_margin takes labels −1 or 1"),
        ("hinge_embedding", [1.0], [2.0], None, {}, "takes labels −1 or 1"),
        ("margin_ranking", [1.0], [1.0], None, {}, "margin_ranking needs --pred2"),
        ("margin_ranking", [1.0, 2.0], [1.0], [1.0], {}, "--pred2 has shape [1] but --pred"),
        ("cosine_embedding", [[1.0, 0.0]] * 2, [1.0, 1.0, 1.0], [[1.0, 0.0]] * 2, {}, "one −1"),
        ("kl_div", [-1.0, -0.5], [-0.3, 1.3], None, {}, "kl_div's target is probabilities"),
        ("kl_div", [-1.0], [0.5], None, {"log_target": True}, "log-probabilities (≤ 0)"),
        ("poisson_nll", [1.0], [-1.0], None, {}, "poisson_nll's target is a count ≥ 0"),
        ("poisson_nll", [-1.0], [1.0], None, {"log_input": False}, "a rate ≥ 0"),
    ],
)
def test_bad_inputs_are_refused(
    name: str, pred: Any, target: Any, extra: Any, params: dict[str, Any], expected: str
) -> None:
    with pytest.raises(UsageError) as info:
        ev(name, pred, target, extra=extra, **params)
    assert expected in str(info.value)


@pytest.mark.parametrize(
    ("pred", "target", "hint"),
    [
        ([0.3, 0.6, 0.1], [-1.2, -0.4, -2.3], "the arguments look swapped"),
        ([-1.2, -0.4, -2.3], [-1.2, -0.4, -2.3], "pass --log-target"),
    ],
)
def test_kl_div_hints(pred: list[float], target: list[float], hint: str) -> None:
    with pytest.raises(UsageError) as info:
        ev("kl_div", pred, target)
    assert info.value.hint is not None and hint in info.value.hint


def test_soft_margin_suggests_mapping_zero_labels() -> None:
    with pytest.raises(UsageError) as info:
        ev("soft_margin", [1.0], [0.0])
    assert info.value.hint == "map the 0 labels to −1"


def test_bad_reduction_and_dtype() -> None:
    with pytest.raises(UsageError, match="--reduction 'batchmean'"):
        ev("mse", [1.0], [1.0], reduction="batchmean")
    with pytest.raises(UsageError, match="--dtype 'float16'"):
        ev("mse", [1.0], [1.0], dtype="float16")


def test_float32_overflow_is_refused_before_computing() -> None:
    with pytest.raises(UsageError, match="--pred: value 2 is 1e\\+39; it does not fit in float32"):
        ev("mse", [1.0, 1e39], [0.0, 0.0], dtype="float32")


@pytest.mark.parametrize(
    ("name", "pred", "target", "dtype"),
    [
        ("mse", [1e200], [0.0], "float64"),  # (1e200)² overflows
        ("poisson_nll", [800.0], [1.0], "float64"),  # e^800
        ("mse", [1e20], [0.0], "float32"),
    ],
)
def test_overflow_is_never_a_silent_inf(name: str, pred: Any, target: Any, dtype: str) -> None:
    with pytest.raises(UsageError, match=f"{name} on these numbers overflows {dtype}"):
        ev(name, pred, target, dtype=dtype)


# --- pitfalls: computed, and warned about ---------------------------------------


@pytest.mark.parametrize(
    ("name", "pred", "target", "warning"),
    [
        ("cross_entropy", [0.2, 0.7, 0.1], [1], "double softmax"),
        ("cross_entropy", [[0.2, 0.8], [0.5, 0.5]], [1, 0], "double softmax"),
        ("nll", [0.2, 0.7, 0.1], [1], "nll expects log-probabilities (≤ 0), but 3 of the 3"),
        ("nll", [-1.0, -2.0, -0.5], [1], "the rows of exp(--pred) sum to 1.11, not 1"),
        ("kl_div", [0.2, 0.7, 0.1], [0.3, 0.6, 0.1], "kl_div expects log-probabilities"),
        ("bce_with_logits", [0.2, 0.9], [1.0, 0.0], "bce_with_logits applies a second sigmoid"),
        ("hinge_embedding", [-0.5, 1.0], [1.0, -1.0], "takes a distance (≥ 0)"),
        ("cross_entropy", [1.0, 2.0], [0.3, 0.3], "target rows sum to 0.6, not 1"),
    ],
)
def test_pitfalls_are_warned(name: str, pred: Any, target: Any, warning: str) -> None:
    result = ev(name, pred, target)
    assert any(warning in w for w in result.warnings), result.warnings
    assert math.isfinite(float(np.sum(result.elements)))


@pytest.mark.parametrize(
    ("name", "pred", "target"),
    [
        ("cross_entropy", [2.0, -1.0, 0.5], [0]),  # logits
        ("cross_entropy", [0.2, 0.7, 0.3], [1]),  # sums to 1.2: not probabilities
        ("nll", np.log([0.2, 0.7, 0.1]), [1]),
        ("bce_with_logits", [-2.0, 3.0], [1.0, 0.0]),
        ("bce_with_logits", [0.5], [1.0]),  # one value in (0, 1) proves nothing
        ("bce", [0.2, 0.9], [1.0, 0.0]),
    ],
)
def test_no_warning_for_the_right_kind_of_prediction(name: str, pred: Any, target: Any) -> None:
    assert ev(name, pred, target).warnings == []


# --- output ----------------------------------------------------------------------


def test_evaluation_document_is_plain_json() -> None:
    result = ev("cross_entropy", [[2.0, 0.5, -1.0], [0.1, 0.2, 0.3]], [0, 2], label_smoothing=0.1)
    document = evaluation_document(result)
    assert set(document) >= {
        "loss",
        "params",
        "reduction",
        "value",
        "elements",
        "grad",
        "warnings",
        "pred_shape",
        "target_shape",
        "notes",
    }
    text = json.dumps(document, allow_nan=False)
    back = json.loads(text)
    assert back["params"] == {"label_smoothing": 0.1}
    assert back["pred_shape"] == [2, 3] and back["target_shape"] == [2]
    assert np.asarray(back["grad"]).shape == (2, 3)
    assert back["value"] == pytest.approx(np.mean(back["elements"]))


def render(result: LossEvaluation, width: int) -> str:
    buffer = io.StringIO()
    render_evaluation(result, Console(width=width, file=buffer, markup=False, color_system=None))
    return buffer.getvalue()


def check_readable(text: str, width: int) -> None:
    for line in text.splitlines():
        assert len(line.rstrip()) <= width, line
    assert "…" not in text.replace("… ", "")  # no number cut to "0.…"


@pytest.mark.parametrize("width", [80, 120])
def test_element_table(width: int) -> None:
    result = ev("mse", [1.0, 2.0, 3.0], [0.0])
    text = render(result, width)
    check_readable(text, width)
    assert "loss (mean) 4.66667" in text
    assert "0.666667" in text and "1.33333" in text  # 2(ŷ − y)/n
    assert "target 0 is used for every one" in text


@pytest.mark.parametrize("width", [80, 120])
def test_row_table_folds_many_classes(width: int) -> None:
    z = np.arange(36.0).reshape(3, 12) / 7
    result = ev("cross_entropy", z, [0, 5, 11])
    text = render(result, width)
    check_readable(text, width)
    for j in range(12):  # no class column silently dropped
        assert f"[{j}]" in text
    assert "target" in text and "loss" in text


def test_long_inputs_say_what_is_left_out() -> None:
    result = ev("mse", np.arange(50.0), [0.0])
    text = render(result, 80)
    assert "30 more elements (use --json for all of them)" in text
    rows = ev("cross_entropy", np.zeros((25, 3)), np.zeros(25))
    assert "5 more rows" in render(rows, 80)


def test_soft_targets_and_reduction_none_render() -> None:
    result = ev(
        "cross_entropy", [[2.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [0.5, 0.5]], reduction="none"
    )
    text = render(result, 80)
    assert "soft" in text and "loss (" not in text
    assert "the gradient is that of the sum" in text


# --- the command, end to end --------------------------------------------------------

GOLDEN_CASES = {
    "ce": ["cross_entropy", "--pred", "2,0.5,-1;0.1,0.2,0.3", "--target", "0,2"],
    "mse": ["mse", "--pred", "1,2,3", "--target", "0.5,2,4", "--reduction", "sum"],
    "wide": [
        "ce",
        "--pred",
        ";".join([",".join(str(j / 4) for j in range(10))] * 3),
        "--target",
        "9,0,4",
    ],
}


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("case", sorted(GOLDEN_CASES))
def test_golden_numbers(cli: Invoke, case: str, width: int) -> None:
    out = cli("loss", *GOLDEN_CASES[case], env={"COLUMNS": str(width)})
    assert out.exit_code == 0, out.stderr
    check_readable(out.stdout, width)
    check_golden(f"loss_numbers_{case}_{width}.txt", out.stdout)


def test_cli_issue_example_warns_on_stderr(cli: Invoke) -> None:
    out = cli("loss", "cross_entropy", "--pred", "0.2,0.7,0.1", "--target", "1", "--json")
    assert out.exit_code == 0
    document = out.json()
    assert document["command"] == "loss" and document["schema_version"] == 1
    z = np.array([0.2, 0.7, 0.1])
    assert document["value"] == pytest.approx(-z[1] + np.log(np.exp(z).sum()), abs=1e-15)
    assert document["grad"] == pytest.approx((softmax(z) - [0, 1, 0]).tolist(), abs=1e-15)
    assert "double softmax" in document["warnings"][0]
    assert "Warning: double softmax" in out.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["bce", "--pred", "0.2,1.3", "--target", "1,0"], "--pred: value 2 is 1.3"),
        (["ce", "--pred", "2,1,0", "--target", "3"], "a class index must be in 0..2"),
        (["ce", "--pred", "2,1,0", "--target", "0.5"], "class indices are integers"),
        (["mse", "--pred", "1,2", "--target", "1,2,3"], "shapes must match"),
        (["mse", "--pred", "", "--target", "1"], "--pred is empty"),
        (["mse", "--pred", "1,nan", "--target", "1"], "nan is not finite"),
        (["mse", "--pred", "1,2;3", "--target", "1"], "row 2 has 1 value but row 1 has 2"),
        (["mse", "--pred", "1e200", "--target", "0"], "mse on these numbers overflows"),
        (["mse", "--pred", "missing.csv", "--target", "0"], "--pred missing.csv: no such file"),
    ],
)
def test_cli_bad_inputs_exit_2(cli: Invoke, args: list[str], expected: str) -> None:
    out = cli("loss", *args)
    assert out.exit_code == 2, out.stdout + out.stderr
    assert out.stderr.startswith("Error: ") and expected in out.stderr
    assert "Traceback" not in out.stderr and out.stdout == ""
