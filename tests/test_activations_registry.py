"""The activation registry: entries, values against torch.nn.functional, stated properties."""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F

from nncli.core.activation.activations import ACTIVATIONS, ALIASES, activation_names, get_activation
from nncli.core.init.inits import INIT_SCHEMES
from nncli.errors import UsageError

Fn = Callable[[torch.Tensor], torch.Tensor]

REQUIRED = [
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "elu",
    "selu",
    "celu",
    "gelu",
    "gelu_tanh",
    "silu",
    "mish",
    "softplus",
    "softsign",
    "hardtanh",
    "hardsigmoid",
    "hardswish",
    "relu6",
    "logsigmoid",
    "softmax",
]

# The independent reference for values: torch.nn.functional, called directly.
FUNCTIONAL: dict[str, Fn] = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": F.relu,
    "leaky_relu": lambda x: F.leaky_relu(x, 0.01),
    "elu": F.elu,
    "selu": F.selu,
    "celu": F.celu,
    "gelu": F.gelu,
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "silu": F.silu,
    "mish": F.mish,
    "softplus": F.softplus,
    "softsign": F.softsign,
    "hardtanh": F.hardtanh,
    "hardsigmoid": F.hardsigmoid,
    "hardswish": F.hardswish,
    "relu6": F.relu6,
    "logsigmoid": F.logsigmoid,
    "softmax": lambda x: F.softmax(x, dim=-1),
}

LAMBDA, ALPHA = 1.0507009873554805, 1.6732632423543772


def _phi_cdf(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * (1 + torch.erf(x / math.sqrt(2)))


# A second reference for values: the textbook formulas, written out.
FORMULAS: dict[str, Fn] = {
    "sigmoid": lambda x: 1 / (1 + torch.exp(-x)),
    "tanh": lambda x: (torch.exp(x) - torch.exp(-x)) / (torch.exp(x) + torch.exp(-x)),
    "relu": lambda x: torch.clamp(x, min=0),
    "leaky_relu": lambda x: torch.where(x > 0, x, 0.01 * x),
    "elu": lambda x: torch.where(x > 0, x, torch.exp(x) - 1),
    "selu": lambda x: LAMBDA * torch.where(x > 0, x, ALPHA * (torch.exp(x) - 1)),
    "celu": lambda x: torch.where(x > 0, x, torch.exp(x) - 1),
    "gelu": lambda x: x * _phi_cdf(x),
    "gelu_tanh": lambda x: (
        0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
    ),
    "silu": lambda x: x / (1 + torch.exp(-x)),
    "mish": lambda x: x * torch.tanh(torch.log1p(torch.exp(x))),
    "softplus": lambda x: torch.log1p(torch.exp(x)),
    "softsign": lambda x: x / (1 + x.abs()),
    "hardtanh": lambda x: torch.clamp(x, -1, 1),
    "hardsigmoid": lambda x: torch.clamp(x / 6 + 0.5, 0, 1),
    "hardswish": lambda x: x * torch.clamp(x + 3, 0, 6) / 6,
    "relu6": lambda x: torch.clamp(x, 0, 6),
    "logsigmoid": lambda x: -torch.log1p(torch.exp(-x)),
    "softmax": lambda x: torch.exp(x) / torch.exp(x).sum(),
}


def grid() -> torch.Tensor:
    return torch.linspace(-12, 12, 2401, dtype=torch.float64)


def test_every_required_activation_is_registered() -> None:
    assert set(REQUIRED) <= set(ACTIVATIONS)
    assert set(FUNCTIONAL) == set(ACTIVATIONS), "every entry needs a reference in this test"


@pytest.mark.parametrize("name", REQUIRED)
def test_values_match_torch_functional(name: str) -> None:
    x = grid()
    module = get_activation(name).make_module()
    torch.testing.assert_close(module(x), FUNCTIONAL[name](x), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", REQUIRED)
def test_values_match_the_textbook_formula(name: str) -> None:
    x = torch.linspace(-8, 8, 801, dtype=torch.float64)
    module = get_activation(name).make_module()
    torch.testing.assert_close(module(x), FORMULAS[name](x), rtol=1e-6, atol=1e-9)


def test_alias_and_spelling_variants_resolve() -> None:
    assert get_activation("swish") is ACTIVATIONS["silu"]
    assert get_activation("Leaky-ReLU") is ACTIVATIONS["leaky_relu"]
    assert ALIASES == {"swish": "silu"}
    assert "swish" in activation_names(include_aliases=True)
    assert "swish" not in activation_names()


def test_unknown_name_suggests_the_closest() -> None:
    with pytest.raises(UsageError) as info:
        get_activation("sigmod")
    assert "'sigmod'" in info.value.message
    assert info.value.hint == "did you mean sigmoid?"


@pytest.mark.parametrize("name", REQUIRED)
def test_entry_fields_are_complete(name: str) -> None:
    act = ACTIVATIONS[name]
    for text in (act.label, act.formula, act.derivative, act.output_range, act.use, act.loss):
        assert text.strip()
    assert act.layer and act.short_formula and act.short_loss and act.notes
    assert act.saturates in ("none", "left", "right", "both")
    assert act.init in INIT_SCHEMES
    assert act.pitfalls
    props = act.properties()
    assert props["name"] == name and props["max_abs_derivative"] == act.max_slope


@pytest.mark.parametrize("name", REQUIRED)
def test_gain_names_are_exactly_those_torch_knows(name: str) -> None:
    act = ACTIVATIONS[name]
    if act.gain is not None:
        assert torch.nn.init.calculate_gain(act.gain) > 0
    else:  # no gain claimed: torch must indeed have none under this name
        with pytest.raises(ValueError):
            torch.nn.init.calculate_gain(name)


def test_tutorial_recommendations() -> None:
    sigmoid, softmax, relu, tanh = (ACTIVATIONS[n] for n in ("sigmoid", "softmax", "relu", "tanh"))
    assert "binary" in sigmoid.use and "BCE" in sigmoid.loss
    assert "multi-class" in softmax.use and "cross-entropy" in softmax.loss.lower()
    assert "hidden" in relu.use and relu.init.startswith("kaiming")
    assert "RNN" in tanh.use and tanh.init.startswith("xavier")


@pytest.mark.parametrize("name", [n for n in REQUIRED if n != "softmax"])
def test_max_slope_matches_autograd(name: str) -> None:
    act = ACTIVATIONS[name]
    x = torch.linspace(-40, 40, 800_001, dtype=torch.float64, requires_grad=True)
    (dy,) = torch.autograd.grad(act.make_module()(x).sum(), x)
    # A supremum may be approached only at a kink or at infinity: 1e-3 covers the grid.
    assert dy.abs().max().item() == pytest.approx(act.max_slope, rel=1e-3)
    assert dy.abs().max().item() <= act.max_slope * (1 + 1e-6)


def test_softmax_max_slope_is_the_sup_of_the_diagonal() -> None:
    x = torch.tensor([0.0, 0.0], dtype=torch.float64)
    jac = torch.autograd.functional.jacobian(lambda v: torch.softmax(v, -1), x)
    assert torch.diagonal(jac).max().item() == pytest.approx(ACTIVATIONS["softmax"].max_slope)


def test_leaky_slope_changes_max_slope() -> None:
    leaky = ACTIVATIONS["leaky_relu"]
    assert leaky.max_abs_derivative() == 1.0
    assert leaky.max_abs_derivative(negative_slope=-3.0) == 3.0


_NUM = r"[-−]?\d+(?:\.\d+)?"


@pytest.mark.parametrize("name", [n for n in REQUIRED if n != "softmax"])
def test_stated_output_range_holds(name: str) -> None:
    act = ACTIVATIONS[name]
    match = re.fullmatch(r"([\[(])(.+), (.+)([\])])", act.output_range)
    assert match, act.output_range
    y = act.make_module()(torch.linspace(-60, 60, 240_001, dtype=torch.float64))

    def bound(text: str) -> float:
        if "∞" in text:
            return -math.inf if text.startswith(("−", "-")) else math.inf
        text = text.replace("α", "1").replace("−", "-")  # α = 1 for elu and celu
        assert re.fullmatch(_NUM, text), text
        return float(text)

    lo, hi = bound(match.group(2)), bound(match.group(3))
    tol = 1e-3
    assert y.min().item() >= lo - tol and y.max().item() <= hi + tol
    if match.group(1) == "[" and math.isfinite(lo):  # a closed bound is reached
        assert y.min().item() == pytest.approx(lo, abs=tol)
    if match.group(4) == "]" and math.isfinite(hi):
        assert y.max().item() == pytest.approx(hi, abs=tol)


def test_zero_centred_flag_matches_odd_symmetry() -> None:
    x = torch.linspace(0.1, 5, 50, dtype=torch.float64)
    for act in ACTIVATIONS.values():
        if not act.elementwise:
            continue
        m = act.make_module()
        odd = torch.allclose(m(-x), -m(x))
        assert odd == act.zero_centred, act.name


def test_module_kwargs_rejects_parameters_an_activation_does_not_take() -> None:
    with pytest.raises(UsageError, match="--negative-slope does not apply to relu"):
        ACTIVATIONS["relu"].module_kwargs(negative_slope=0.1)
    assert ACTIVATIONS["leaky_relu"].module_kwargs(negative_slope=0.2) == {"negative_slope": 0.2}
    assert ACTIVATIONS["softmax"].module_kwargs() == {"dim": -1}
    assert ACTIVATIONS["leaky_relu"].param_names == ("negative_slope",)


def test_registry_import_does_not_import_torch() -> None:
    import subprocess
    import sys

    code = (
        "import sys, nncli.core.activation.activations as a; a.ACTIVATIONS['relu'].properties(); "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("name", REQUIRED)
def test_flat_regions_are_well_formed(name: str) -> None:
    act = get_activation(name)
    ends = [e for iv in act.flat for e in iv]
    assert ends == sorted(ends) and all(a < b for a, b in act.flat)
    assert act.saturation_rule in ("absolute", "relative")
    # dead_below (f = f' = 0 below it, used by init-stats) is the first flat region's edge
    if act.dead_below is not None:
        assert act.flat[0] == (-math.inf, act.dead_below)
    # a flat region is a saturating side; a saturating side is where f' → 0
    if act.flat:
        assert act.saturates != "none" or act.name == "relu"
    assert act.properties()["dead_regions"] == [list(iv) for iv in act.flat]


def test_flat_regions_are_exactly_the_piecewise_activations() -> None:
    flat = {a.name for a in ACTIVATIONS.values() if a.flat}
    assert flat == {"relu", "relu6", "hardtanh", "hardsigmoid", "hardswish"}
    assert [a.name for a in ACTIVATIONS.values() if a.saturation_rule == "relative"] == ["softmax"]


def test_leaky_relu_with_zero_slope_has_relus_dead_region() -> None:
    act = get_activation("leaky_relu")
    assert act.dead_intervals() == ()
    assert act.dead_intervals(negative_slope=0.0) == ((-math.inf, 0.0),)
    assert get_activation("relu6").dead_intervals() == ((-math.inf, 0.0), (6.0, math.inf))
