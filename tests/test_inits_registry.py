"""The init registry: names, families, parameters and validation."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nncli.core.init.inits import (
    FAMILIES,
    INIT_SCHEMES,
    expand,
    get_scheme,
    resolve_all,
    scheme_names,
)
from nncli.errors import UsageError

ALL_PARAMS = sorted({p for s in INIT_SCHEMES.values() for p in s.param_names})


def test_registry_has_every_scheme_of_the_issue() -> None:
    assert set(scheme_names()) == {
        "zeros", "constant", "normal", "uniform", "trunc_normal", "xavier_uniform",
        "xavier_normal", "kaiming_uniform", "kaiming_normal", "orthogonal", "sparse",
        "linear_default",
    }  # fmt: skip
    for scheme in INIT_SCHEMES.values():
        assert callable(getattr(torch.nn.init, scheme.torch_fn))


def test_families_expand() -> None:
    assert [s.name for s in expand("xavier")] == ["xavier_uniform", "xavier_normal"]
    assert [s.name for s in expand("kaiming")] == ["kaiming_uniform", "kaiming_normal"]
    assert [s.name for s in expand("He")] == ["kaiming_uniform", "kaiming_normal"]
    assert [s.name for s in expand("xavier-normal")] == ["xavier_normal"]
    assert set(FAMILIES) == {"xavier", "kaiming", "he"}


def test_torch_defaults_for_kaiming() -> None:
    values = get_scheme("kaiming_normal").resolve_params({})
    assert values == {"a": 0.0, "mode": "fan_in", "nonlinearity": "leaky_relu"}


def test_unknown_scheme_suggests_the_closest() -> None:
    with pytest.raises(UsageError) as err:
        expand("kaimng_normal")
    assert "kaimng_normal" in err.value.message
    assert err.value.hint == "did you mean kaiming_normal?"


def test_family_is_not_a_concrete_scheme_for_configs() -> None:
    with pytest.raises(UsageError, match="family"):
        get_scheme("xavier")


@pytest.mark.parametrize(
    ("names", "given", "message"),
    [
        (["xavier"], {"mode": "fan_in"}, "--mode does not apply to init scheme xavier_uniform"),
        (["normal"], {"gain": 2.0}, "--gain does not apply to init scheme normal"),
        (["kaiming"], {"mode": "fan_up"}, "unknown mode"),
        (["sparse"], {}, "needs --sparsity"),
        (["constant"], {}, "needs --value"),
        (["uniform"], {"low": 3.0, "high": 1.0}, "--low must not exceed --high"),
        (["trunc_normal"], {"a": 1.0, "b": 1.0}, "--a < --b"),
        (["trunc_normal"], {"std": 0.0}, "--std must be greater than 0"),
        (["sparse"], {"sparsity": 1.5}, "--sparsity must be between 0 and 1"),
        (["xavier_normal"], {"gain": -1.0}, "--gain must be at least 0"),
        (["normal"], {"std": float("inf")}, "must be finite"),
        ([], {}, "at least one"),
    ],
)
def test_option_validation(names: list[str], given: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError) as err:
        resolve_all(names, given, spell=lambda n: "--" + n)
    assert message in err.value.message


def test_config_spelling_and_types() -> None:
    scheme = get_scheme("xavier_normal")
    with pytest.raises(UsageError, match="'mode' does not apply"):
        scheme.resolve_params({"mode": "fan_in"})
    with pytest.raises(UsageError, match="'gain' must be a number"):
        scheme.resolve_params({"gain": "big"})
    with pytest.raises(UsageError, match="must be a number"):
        scheme.resolve_params({"gain": True})
    assert scheme.resolve_params({"gain": 2}) == {"gain": 2.0}


def test_an_option_applies_to_the_schemes_that_take_it() -> None:
    resolved = dict(
        resolve_all(["normal", "xavier_normal", "kaiming"], {"std": 0.1, "mode": "fan_out"})
    )
    by_name = {s.name: v for s, v in resolved.items()}
    assert by_name["normal"] == {"mean": 0.0, "std": 0.1}
    assert by_name["xavier_normal"] == {"gain": 1.0}
    assert by_name["kaiming_uniform"]["mode"] == by_name["kaiming_normal"]["mode"] == "fan_out"
    with pytest.raises(UsageError, match="'gain' does not apply to any of the init schemes"):
        resolve_all(["normal", "zeros"], {"gain": 2.0})


def test_duplicates_are_measured_once() -> None:
    names = [s.name for s, _ in resolve_all(["xavier", "xavier_normal", "he"], {})]
    assert names == ["xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal"]


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    name=st.sampled_from(sorted(INIT_SCHEMES)),
    option=st.sampled_from(ALL_PARAMS),
)
def test_an_option_is_accepted_exactly_when_the_scheme_takes_it(name: str, option: str) -> None:
    scheme = get_scheme(name)
    base = {"constant": {"value": 0.5}, "sparse": {"sparsity": 0.5}}.get(name, {})
    value: object = {"mode": "fan_out", "nonlinearity": "relu"}.get(option, 0.5)
    if option == "b":
        value = 3.0
    given = {**base, option: value}
    if option in scheme.param_names:
        assert scheme.resolve_params(given)[option] == value
    else:
        with pytest.raises(UsageError, match="does not apply"):
            scheme.resolve_params(given)


def test_apply_uses_torch_itself() -> None:
    """Same generator state, same numbers as calling torch.nn.init directly."""
    torch.manual_seed(3)
    mine = torch.empty(40, 30)
    get_scheme("kaiming_uniform").apply(mine, {"mode": "fan_out", "nonlinearity": "relu"})
    torch.manual_seed(3)
    ref = torch.nn.init.kaiming_uniform_(torch.empty(40, 30), mode="fan_out", nonlinearity="relu")
    assert torch.equal(mine, ref)
