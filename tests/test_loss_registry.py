"""The loss registry: entries, values against torch.nn.functional and the analytic
formulas, autograd gradients against the analytic gradients, parameter validation."""

from __future__ import annotations

import ast
import dataclasses
import json
import math
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F

from nncli.core.loss.losses import (
    ALIASES,
    INPUTS,
    LOSSES,
    PAIRINGS,
    TASKS,
    X_KINDS,
    get_loss,
    loss_names,
    train_default,
    train_losses,
)
from nncli.errors import UsageError

REQUIRED = [
    "mse",
    "mae",
    "huber",
    "smooth_l1",
    "bce",
    "bce_with_logits",
    "cross_entropy",
    "nll",
    "kl_div",
    "poisson_nll",
    "gaussian_nll",
    "soft_margin",
    "hinge_embedding",
    "multi_margin",
    "cosine_embedding",
    "margin_ranking",
]
N, K = 64, 4
T = torch.Tensor


def test_every_loss_of_the_issue_in_its_order() -> None:
    assert loss_names() == REQUIRED


@pytest.mark.parametrize(
    ("alias", "name"),
    [
        ("l1", "mae"),
        ("l2", "mse"),
        ("ce", "cross_entropy"),
        ("bce_logits", "bce_with_logits"),
        ("log_loss", "bce"),
        ("BCE-Logits", "bce_with_logits"),
        (" MSE ", "mse"),
    ],
)
def test_aliases(alias: str, name: str) -> None:
    assert get_loss(alias).name == name


def test_unknown_name_suggests_the_closest() -> None:
    with pytest.raises(UsageError) as err:
        get_loss("hubber")
    assert "unknown loss 'hubber'" in str(err.value)
    assert "did you mean huber?" in str(err.value)


def test_aliases_do_not_shadow_names() -> None:
    assert not set(ALIASES) & set(LOSSES)


@pytest.mark.parametrize("name", REQUIRED)
def test_entry_is_complete_and_json_ready(name: str) -> None:
    loss = LOSSES[name]
    assert loss.task in TASKS
    assert loss.x_kind in X_KINDS
    assert loss.inputs in INPUTS
    assert loss.x_kind != "prediction" or loss.x_desc
    for text in (loss.label, loss.label_zh, loss.formula, loss.gradient, loss.prediction):
        assert text.strip()
    for text in (loss.target, loss.pairs_with, loss.robust, loss.short, loss.notes):
        assert text.strip()
    assert hasattr(torch.nn, loss.module)
    props = loss.properties()
    json.dumps(props)
    for key in ("task", "prediction", "target", "pairs_with", "formula", "gradient"):
        assert props[key] == getattr(loss, key)
    assert props["params"] == {p.name: p.default for p in loss.params}


def test_the_pitfalls_users_hit_are_stated() -> None:
    text = {name: " ".join(LOSSES[name].pitfalls).lower() for name in LOSSES}
    assert "double softmax" in text["cross_entropy"]
    assert "logits" in text["bce"]
    assert "log-probabilities" in text["nll"]
    assert "argument order" in text["kl_div"] and "log_target" in text["kl_div"]
    assert "reduction" in text["mse"] and "'sum'" in text["mse"]


def test_pairings_name_registered_losses() -> None:
    assert ("sigmoid", "bce", "binary") in PAIRINGS
    assert any(p[:2] == ("softmax", "cross_entropy") for p in PAIRINGS)
    assert any(p[:2] == ("none (linear)", "mse") for p in PAIRINGS)
    assert all(loss in LOSSES for _, loss, _ in PAIRINGS)


# --- the per-loss facts the rest of nncli asks the registry for --------------------


def test_the_facts_code_relies_on() -> None:
    kinds = {name: (loss.target_kind, loss.output) for name, loss in LOSSES.items()}
    assert kinds["bce"] == ("unit", "probability")
    assert kinds["bce_with_logits"] == ("unit", "logit")
    assert kinds["cross_entropy"] == ("class", "logit")
    assert kinds["nll"] == ("class", "log_probability")
    assert kinds["soft_margin"] == ("sign", "logit")
    assert {n for n, loss in LOSSES.items() if loss.built_in} == {
        "bce_with_logits",
        "cross_entropy",
    }
    assert {n for n, loss in LOSSES.items() if loss.over_probabilities} == {
        "mse",
        "mae",
        "huber",
        "smooth_l1",
        "gaussian_nll",
        "bce",
    }
    # A logit or a score is split at 0, a probability or a 0/1 label estimate at 0.5.
    assert get_loss("bce_with_logits").decision_threshold == 0.0
    assert get_loss("soft_margin").decision_threshold == 0.0
    assert get_loss("bce").decision_threshold == 0.5
    assert get_loss("mse").decision_threshold == 0.5


def test_counterparts_point_both_ways_where_they_pair() -> None:
    for name, loss in LOSSES.items():
        if loss.counterpart:
            assert loss.counterpart in LOSSES, name
    assert get_loss("bce").counterpart == "bce_with_logits"
    assert get_loss("bce_with_logits").counterpart == "bce"
    assert get_loss("cross_entropy").counterpart == "nll"


def test_train_losses_and_defaults_come_from_the_registry() -> None:
    assert train_losses("binary") == (
        "bce_with_logits",
        "bce",
        "soft_margin",
        "mse",
        "mae",
        "huber",
        "smooth_l1",
    )
    assert train_losses("multi-class") == ("cross_entropy", "multi_margin")
    assert train_losses("regression") == ("mse", "mae", "huber", "smooth_l1", "poisson_nll")
    assert train_default("binary", None).name == "bce_with_logits"
    assert train_default("binary", "sigmoid").name == "bce"  # the pairing for a sigmoid
    # nll takes log-probabilities, not a softmax's output: cross_entropy stays (and warns).
    assert train_default("multi-class", "softmax").name == "cross_entropy"
    assert train_default("regression", "sigmoid").name == "mse"
    with pytest.raises(UsageError, match="unknown task"):
        train_default("ranking", None)


def test_a_misspelt_fact_fails_when_the_entry_is_made() -> None:
    entry = get_loss("mse")
    for field, value in (
        ("target_kind", "reals"),
        ("output", "logits"),
        ("train_tasks", ("binary", "classification")),
        ("default_for", ("multi-class",)),  # not among its train_tasks
    ):
        with pytest.raises(ValueError, match=f"loss mse: {field}"):
            dataclasses.replace(entry, **{field: value})


def test_no_loss_is_named_outside_the_registry() -> None:
    """Every per-loss fact lives in losses.py: code elsewhere asks the registry (its
    fields), so adding a loss is a one-place change. Docstrings and help text may
    name losses in prose; a string that is exactly a loss name is a hard-coded fact."""
    root = Path(__file__).resolve().parents[1] / "nncli"
    found = []
    for path in sorted(root.rglob("*.py")):
        if path.relative_to(root).as_posix() == "core/loss/losses.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in LOSSES:
                found.append(f"{path.relative_to(root)}:{node.lineno}: {node.value!r}")
    assert not found


def test_registry_does_not_import_torch() -> None:
    code = (
        "import sys, nncli.core.loss.losses as m; m.get_loss('mse'); print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- parameters ------------------------------------------------------------------------


def test_a_parameter_the_loss_does_not_take() -> None:
    with pytest.raises(UsageError, match=r"--delta does not apply to mse; it takes: none"):
        get_loss("mse").module_kwargs(delta=1.0)
    with pytest.raises(UsageError, match=r"it takes: --delta"):
        get_loss("huber").module_kwargs(beta=1.0)


def test_none_means_not_given() -> None:
    assert get_loss("mse").module_kwargs(delta=None) == {}
    assert get_loss("huber").module_kwargs(delta=None) == {"delta": 1.0}


@pytest.mark.parametrize(
    ("name", "kwargs", "message"),
    [
        ("huber", {"delta": 0.0}, "--delta of huber must be > 0, got 0"),
        ("huber", {"delta": -1.0}, "must be > 0"),
        ("huber", {"delta": math.inf}, "must be finite"),
        ("huber", {"delta": math.nan}, "must be finite"),
        ("smooth_l1", {"beta": -0.5}, "--beta of smooth_l1 must be ≥ 0, got -0.5"),
        ("cross_entropy", {"label_smoothing": 1.5}, "must be ≥ 0 and ≤ 1, got 1.5"),
        ("bce_with_logits", {"pos_weight": -2.0}, "--pos-weight of bce_with_logits must be ≥ 0"),
        ("kl_div", {"log_target": 1.0}, "--log-target of kl_div must be true or false"),
        ("huber", {"delta": True}, "must be a number"),
        ("cosine_embedding", {"margin": 2.0}, "≤ 1"),
    ],
)
def test_parameter_rules(name: str, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError) as err:
        get_loss(name).module_kwargs(**kwargs)
    assert message in str(err.value)


def test_parameters_reach_the_module() -> None:
    assert get_loss("huber").make_module(delta=2.5).delta == 2.5
    assert get_loss("smooth_l1").make_module(beta=0.0).beta == 0.0
    assert get_loss("kl_div").make_module(log_target=True).log_target is True
    assert get_loss("mse").make_module("sum").reduction == "sum"
    weight = get_loss("bce_with_logits").make_module(pos_weight=3.0, dtype=torch.float64)
    pos_weight = weight.pos_weight
    assert isinstance(pos_weight, torch.Tensor)
    assert pos_weight.dtype == torch.float64 and float(pos_weight) == 3.0


# --- values and gradients ----------------------------------------------------------------


@dataclass
class Case:
    """Inputs for one loss; ``functional`` and ``formula`` give per-element values and
    ``grad`` the analytic gradient of their sum w.r.t. the first input."""

    params: dict[str, Any]
    inputs: Callable[[torch.Generator], tuple[T, ...]]
    functional: Callable[..., T]
    formula: Callable[..., T]
    grad: Callable[..., T]


def _real(g: torch.Generator, *shape: int, scale: float = 2.0) -> T:
    return scale * torch.randn(*shape, generator=g, dtype=torch.float64)


def _prob(g: torch.Generator, *shape: int) -> T:
    return 0.02 + 0.96 * torch.rand(*shape, generator=g, dtype=torch.float64)


def _sign(g: torch.Generator, *shape: int) -> T:
    return torch.randint(0, 2, shape, generator=g).to(torch.float64) * 2 - 1


def _classes(g: torch.Generator) -> T:
    return torch.randint(0, K, (N,), generator=g)


def _regression(g: torch.Generator) -> tuple[T, ...]:
    return _real(g, N), _real(g, N)


def _one_hot(y: T) -> T:
    return F.one_hot(y, K).to(torch.float64)


def _cos(a: T, b: T) -> T:
    return (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1))


def _d_cos(a: T, b: T) -> T:
    """∂cos(a, b)/∂a."""
    na, nb = a.norm(dim=1, keepdim=True), b.norm(dim=1, keepdim=True)
    return b / (na * nb) - _cos(a, b).unsqueeze(1) * a / na**2


def _multi_margin_terms(x: T, y: T, m: float) -> T:
    """(N, K) hinge terms max(0, m − x_y + x_i) with the i = y column zeroed."""
    xy = x.gather(1, y.unsqueeze(1))
    terms = torch.clamp(m - xy + x, min=0)
    return terms * (1 - _one_hot(y))


def _ce_soft(y: T, eps: float) -> T:
    return (1 - eps) * _one_hot(y) + eps / K


CASES: dict[str, Case] = {
    "mse": Case(
        {},
        _regression,
        lambda p, y: F.mse_loss(p, y, reduction="none"),
        lambda p, y: (p - y) ** 2,
        lambda p, y: 2 * (p - y),
    ),
    "mae": Case(
        {},
        _regression,
        lambda p, y: F.l1_loss(p, y, reduction="none"),
        lambda p, y: (p - y).abs(),
        lambda p, y: torch.sign(p - y),
    ),
    "huber": Case(
        {"delta": 1.5},
        _regression,
        lambda p, y: F.huber_loss(p, y, reduction="none", delta=1.5),
        lambda p, y: torch.where(
            (p - y).abs() <= 1.5, 0.5 * (p - y) ** 2, 1.5 * ((p - y).abs() - 0.75)
        ),
        lambda p, y: torch.clamp(p - y, -1.5, 1.5),
    ),
    "smooth_l1": Case(
        {"beta": 0.5},
        _regression,
        lambda p, y: F.smooth_l1_loss(p, y, reduction="none", beta=0.5),
        lambda p, y: torch.where(
            (p - y).abs() < 0.5, 0.5 * (p - y) ** 2 / 0.5, (p - y).abs() - 0.25
        ),
        lambda p, y: torch.clamp((p - y) / 0.5, -1, 1),
    ),
    "bce": Case(
        {},
        lambda g: (_prob(g, N), torch.rand(N, generator=g, dtype=torch.float64)),
        lambda p, y: F.binary_cross_entropy(p, y, reduction="none"),
        lambda p, y: -(y * torch.log(p) + (1 - y) * torch.log(1 - p)),
        lambda p, y: (p - y) / (p * (1 - p)),
    ),
    "bce_with_logits": Case(
        {"pos_weight": 2.5},
        lambda g: (_real(g, N, scale=4.0), torch.rand(N, generator=g, dtype=torch.float64)),
        lambda z, y: F.binary_cross_entropy_with_logits(
            z, y, reduction="none", pos_weight=torch.tensor(2.5, dtype=torch.float64)
        ),
        lambda z, y: (
            -(2.5 * y * torch.log(torch.sigmoid(z)) + (1 - y) * torch.log(torch.sigmoid(-z)))
        ),
        lambda z, y: (2.5 * y + 1 - y) * torch.sigmoid(z) - 2.5 * y,
    ),
    "cross_entropy": Case(
        {"label_smoothing": 0.1},
        lambda g: (_real(g, N, K), _classes(g)),
        lambda z, y: F.cross_entropy(z, y, reduction="none", label_smoothing=0.1),
        lambda z, y: -(_ce_soft(y, 0.1) * torch.log(torch.softmax(z, 1))).sum(1),
        lambda z, y: torch.softmax(z, 1) - _ce_soft(y, 0.1),
    ),
    "nll": Case(
        {},
        lambda g: (torch.log_softmax(_real(g, N, K), 1), _classes(g)),
        lambda x, y: F.nll_loss(x, y, reduction="none"),
        lambda x, y: -x.gather(1, y.unsqueeze(1)).squeeze(1),
        lambda x, y: -_one_hot(y),
    ),
    "kl_div": Case(
        {},
        lambda g: (torch.log(_prob(g, N)), _prob(g, N)),
        lambda x, y: F.kl_div(x, y, reduction="none"),
        lambda x, y: y * (torch.log(y) - x),
        lambda x, y: -y,
    ),
    "poisson_nll": Case(
        {"log_input": False},
        lambda g: (0.1 + 3 * torch.rand(N, generator=g, dtype=torch.float64), _real(g, N).abs()),
        lambda x, y: F.poisson_nll_loss(x, y, log_input=False, reduction="none"),
        lambda x, y: x - y * torch.log(x + 1e-8),
        lambda x, y: 1 - y / (x + 1e-8),
    ),
    "gaussian_nll": Case(
        {},
        lambda g: (*_regression(g), 0.2 + torch.rand(N, generator=g, dtype=torch.float64)),
        lambda p, y, v: F.gaussian_nll_loss(p, y, v, reduction="none"),
        lambda p, y, v: 0.5 * (torch.log(v) + (p - y) ** 2 / v),
        lambda p, y, v: (p - y) / v,
    ),
    "soft_margin": Case(
        {},
        lambda g: (_real(g, N), _sign(g, N)),
        lambda x, y: F.soft_margin_loss(x, y, reduction="none"),
        lambda x, y: torch.log1p(torch.exp(-y * x)),
        lambda x, y: -y * torch.sigmoid(-y * x),
    ),
    "hinge_embedding": Case(
        {"margin": 1.5},
        lambda g: (_real(g, N).abs(), _sign(g, N)),
        lambda x, y: F.hinge_embedding_loss(x, y, margin=1.5, reduction="none"),
        lambda x, y: torch.where(y > 0, x, torch.clamp(1.5 - x, min=0)),
        lambda x, y: torch.where(y > 0, torch.ones_like(x), -(x < 1.5).to(x.dtype)),
    ),
    "multi_margin": Case(
        {"margin": 0.7},
        lambda g: (_real(g, N, K, scale=0.5), _classes(g)),
        lambda x, y: F.multi_margin_loss(x, y, margin=0.7, reduction="none"),
        lambda x, y: _multi_margin_terms(x, y, 0.7).sum(1) / K,
        lambda x, y: (
            (
                (_multi_margin_terms(x, y, 0.7) > 0).to(x.dtype)
                - _one_hot(y) * (_multi_margin_terms(x, y, 0.7) > 0).sum(1, keepdim=True)
            )
            / K
        ),
    ),
    "cosine_embedding": Case(
        {"margin": 0.2},
        lambda g: (_real(g, N, 3), _real(g, N, 3), _sign(g, N)),
        lambda a, b, y: F.cosine_embedding_loss(a, b, y, margin=0.2, reduction="none"),
        lambda a, b, y: torch.where(y > 0, 1 - _cos(a, b), torch.clamp(_cos(a, b) - 0.2, min=0)),
        lambda a, b, y: torch.where(
            (y > 0).unsqueeze(1),
            -_d_cos(a, b),
            (_cos(a, b) > 0.2).to(a.dtype).unsqueeze(1) * _d_cos(a, b),
        ),
    ),
    "margin_ranking": Case(
        {"margin": 0.3},
        lambda g: (_real(g, N), _real(g, N), _sign(g, N)),
        lambda a, b, y: F.margin_ranking_loss(a, b, y, margin=0.3, reduction="none"),
        lambda a, b, y: torch.clamp(-y * (a - b) + 0.3, min=0),
        lambda a, b, y: -y * ((-y * (a - b) + 0.3) > 0).to(a.dtype),
    ),
}


def test_every_loss_has_a_case() -> None:
    assert set(CASES) == set(REQUIRED)


@pytest.mark.parametrize("name", REQUIRED)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_value_and_gradient(name: str, seed: int) -> None:
    """The registry's module against torch.nn.functional and the analytic formula;
    its autograd gradient against the analytic gradient, at N points."""
    case = CASES[name]
    inputs = case.inputs(torch.Generator().manual_seed(seed))
    pred = inputs[0].clone().requires_grad_(True)
    rest = inputs[1:]
    module = get_loss(name).make_module("none", dtype=torch.float64, **case.params)
    value = module(pred, *rest)
    (grad,) = torch.autograd.grad(value.sum(), pred)
    with torch.no_grad():
        torch.testing.assert_close(value, case.functional(inputs[0], *rest))
        torch.testing.assert_close(value, case.formula(inputs[0], *rest))
        torch.testing.assert_close(grad, case.grad(inputs[0], *rest))


@pytest.mark.parametrize("name", ["mse", "mae", "huber"])
def test_mean_reduction_divides_the_gradient_by_n(name: str) -> None:
    """∂MSE/∂ŷ = 2(ŷ − y)/n with reduction='mean'; 'sum' drops the 1/n."""
    case = CASES[name]
    p, y = case.inputs(torch.Generator().manual_seed(5))
    for reduction, scale in (("mean", 1 / N), ("sum", 1.0)):
        leaf = p.clone().requires_grad_(True)
        value = get_loss(name).make_module(reduction, **case.params)(leaf, y)
        (grad,) = torch.autograd.grad(value, leaf)
        torch.testing.assert_close(grad, scale * case.grad(p, y))


def test_kl_div_with_log_target() -> None:
    g = torch.Generator().manual_seed(3)
    x, y = torch.log(_prob(g, N)), torch.log(_prob(g, N))
    leaf = x.clone().requires_grad_(True)
    value = get_loss("kl_div").make_module("none", log_target=True)(leaf, y)
    (grad,) = torch.autograd.grad(value.sum(), leaf)
    torch.testing.assert_close(value.detach(), torch.exp(y) * (y - x))
    torch.testing.assert_close(grad, -torch.exp(y))


def test_poisson_nll_with_log_input() -> None:
    g = torch.Generator().manual_seed(4)
    x, y = _real(g, N), _real(g, N).abs()
    leaf = x.clone().requires_grad_(True)
    value = get_loss("poisson_nll").make_module("none")(leaf, y)
    (grad,) = torch.autograd.grad(value.sum(), leaf)
    torch.testing.assert_close(value.detach(), torch.exp(x) - y * x)
    torch.testing.assert_close(grad, torch.exp(x) - y)


def test_bce_clamps_the_log_at_minus_100() -> None:
    """The registry's formula says so; torch's value at p = 0, y = 1 is 100 (not ∞)."""
    assert "−100" in get_loss("bce").formula
    value = get_loss("bce").make_module()(torch.tensor([0.0]), torch.tensor([1.0]))
    assert float(value) == 100.0
