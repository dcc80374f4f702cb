"""The theory module against published values and against independent references."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nncli.core.init import theory as th
from nncli.core.init.inits import INIT_SCHEMES, get_scheme


@pytest.mark.parametrize("nonlinearity", th.NONLINEARITIES)
def test_gain_matches_torch_calculate_gain(nonlinearity: str) -> None:
    assert th.gain(nonlinearity) == pytest.approx(torch.nn.init.calculate_gain(nonlinearity))


@given(st.floats(min_value=-10, max_value=10, allow_nan=False))
def test_leaky_relu_gain_matches_torch(slope: float) -> None:
    want = torch.nn.init.calculate_gain("leaky_relu", slope)
    assert th.gain("leaky_relu", slope) == pytest.approx(want)


def test_gain_table_published_values() -> None:
    assert th.gain("tanh") == 5 / 3
    assert th.gain("relu") == math.sqrt(2)
    assert th.gain("selu") == 0.75
    assert th.gain("sigmoid") == 1.0
    assert th.gain("leaky_relu", 0.0) == math.sqrt(2)
    with pytest.raises(ValueError):
        th.gain("softmax")


def _theory(name: str, fan_in: int, fan_out: int, **given: object) -> th.Theory:
    return get_scheme(name).theory(fan_in, fan_out, dict(given))


def test_published_kaiming_normal_512_to_256() -> None:
    t = _theory("kaiming_normal", 512, 256, nonlinearity="relu")
    assert t.std == pytest.approx(math.sqrt(2 / 512)) and t.std == pytest.approx(0.0625)
    assert t.formula == "std = √2/√512 = 0.0625"
    assert t.mean == 0 and t.bound is None and t.gain == pytest.approx(math.sqrt(2))


def test_published_xavier_and_he_values() -> None:
    # Glorot & Bengio: U(±√6/√(n_in + n_out)), Var = 2/(n_in + n_out)
    t = _theory("xavier_uniform", 300, 100)
    assert t.bound == pytest.approx(math.sqrt(6 / 400))
    assert t.variance == pytest.approx(2 / 400)
    assert _theory("xavier_normal", 300, 100).std == pytest.approx(math.sqrt(2 / 400))
    # He: U(±√(6/n_in)) for ReLU
    t = _theory("kaiming_uniform", 600, 10, nonlinearity="relu")
    assert t.bound == pytest.approx(math.sqrt(6 / 600))
    assert _theory("kaiming_normal", 10, 200, mode="fan_out").std == pytest.approx(
        math.sqrt(2 / 200)
    )
    assert _theory("kaiming_normal", 100, 7, nonlinearity="tanh").std == pytest.approx((5 / 3) / 10)


def test_linear_default_is_what_nn_linear_does() -> None:
    t = _theory("linear_default", 300, 20)
    assert t.bound == pytest.approx(1 / math.sqrt(300))
    assert t.std == pytest.approx(1 / math.sqrt(3 * 300))
    torch.manual_seed(0)
    layer = torch.nn.Linear(300, 20)
    assert layer.weight.abs().max().item() <= t.bound
    torch.manual_seed(0)
    w = torch.empty(20, 300)
    get_scheme("linear_default").apply(w)
    torch.manual_seed(0)
    assert torch.equal(w, torch.nn.Linear(300, 20).weight.detach())


def test_uniform_and_constant() -> None:
    t = _theory("uniform", 4, 4, low=-1.0, high=3.0)
    assert (t.mean, t.std, t.low, t.high) == (1.0, pytest.approx(4 / math.sqrt(12)), -1.0, 3.0)
    c = _theory("constant", 4, 4, value=0.25)
    assert (c.mean, c.std, c.exact) == (0.25, 0.0, True)
    assert _theory("zeros", 3, 3).atom == (0.0, 1.0)


def test_truncated_normal_against_numerical_integration() -> None:
    mean, std, a, b = 0.3, 1.2, -1.0, 2.5
    t = _theory("trunc_normal", 8, 8, mean=mean, std=std, a=a, b=b)
    # Independent reference: midpoint-rule moments of the truncated density.
    n = 200_000
    h = (b - a) / n
    xs = [a + (i + 0.5) * h for i in range(n)]
    ws = [math.exp(-0.5 * ((x - mean) / std) ** 2) for x in xs]
    z = sum(ws)
    m1 = sum(w * x for w, x in zip(ws, xs, strict=True)) / z
    m2 = sum(w * (x - m1) ** 2 for w, x in zip(ws, xs, strict=True)) / z
    m4 = sum(w * (x - m1) ** 4 for w, x in zip(ws, xs, strict=True)) / z
    assert t.mean == pytest.approx(m1, rel=1e-6)
    assert t.std == pytest.approx(math.sqrt(m2), rel=1e-6)
    assert t.kurtosis == pytest.approx(m4 / m2**2, rel=1e-5)
    assert t.density is not None
    assert sum(t.density(x) for x in xs) * h == pytest.approx(1.0, rel=1e-6)


def test_truncated_normal_wide_bounds_is_the_normal() -> None:
    mean, std, kurt = th.truncated_normal_moments(1.0, 2.0, -100.0, 100.0)
    assert (mean, std, kurt) == (pytest.approx(1.0), pytest.approx(2.0), pytest.approx(3.0))


def test_sparse_theory_counts_zeros_per_column() -> None:
    t = _theory("sparse", 7, 10, sparsity=0.25, std=0.5)
    # ceil(0.25 · 10) = 3 zeros in each column of 10 rows
    assert t.std == pytest.approx(0.5 * math.sqrt(7 / 10))
    assert t.atom == (0.0, pytest.approx(0.3))
    torch.manual_seed(1)
    w = torch.empty(10, 7)
    get_scheme("sparse").apply(w, {"sparsity": 0.25, "std": 0.5})
    assert ((w == 0).sum(dim=0) == 3).all()


@pytest.mark.parametrize(("fan_in", "fan_out"), [(64, 32), (32, 64), (50, 50)])
def test_orthogonal_sum_of_squares_is_exact(fan_in: int, fan_out: int) -> None:
    t = _theory("orthogonal", fan_in, fan_out, gain=2.0)
    torch.manual_seed(0)
    w = torch.empty(fan_out, fan_in)
    get_scheme("orthogonal").apply(w, {"gain": 2.0})
    mean_square = (w.double() ** 2).mean().item()
    assert mean_square == pytest.approx(t.std**2, rel=1e-5)


def test_tolerance_is_derived_from_the_size() -> None:
    t = _theory("normal", 1, 1)
    small, large = t.std_tolerance(100), t.std_tolerance(1_000_000)
    assert small == pytest.approx(th.TOLERANCE_SIGMAS * math.sqrt(2 / 400))
    assert large == pytest.approx(small / 100)
    u = _theory("uniform", 1, 1)
    assert u.std_tolerance(100) == pytest.approx(th.TOLERANCE_SIGMAS * math.sqrt(0.8 / 400))
    assert t.std_tolerance(10**15) == th.FLOAT_FLOOR
    assert _theory("zeros", 1, 1).std_tolerance(100) == th.EXACT_RTOL


def _given_for(name: str) -> dict[str, object]:
    return {"constant": {"value": 0.3}, "sparse": {"sparsity": 0.2}}.get(name, {})


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    name=st.sampled_from(sorted(INIT_SCHEMES)),
    fan_in=st.integers(min_value=8, max_value=300),
    fan_out=st.integers(min_value=8, max_value=300),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_theory_matches_torch_within_tolerance(
    name: str, fan_in: int, fan_out: int, seed: int
) -> None:
    """The independent theory and torch.nn.init agree within the documented tolerance."""
    scheme = get_scheme(name)
    values = scheme.resolve_params(_given_for(name))
    t = scheme.theory(fan_in, fan_out, values)
    torch.manual_seed(seed)
    w = torch.empty(fan_out, fan_in)
    scheme.apply(w, values)
    n = w.numel()
    std = w.double().std(correction=0).item()
    mean = w.double().mean().item()
    if t.exact:
        assert std == pytest.approx(0.0, abs=1e-7)
        assert mean == pytest.approx(t.mean, rel=1e-6)
    else:
        assert abs(std - t.std) / t.std <= t.std_tolerance(n)
        assert abs(mean - t.mean) <= t.mean_tolerance(n)
    if t.low is not None and t.high is not None:
        assert t.low - 1e-6 <= w.min().item() and w.max().item() <= t.high + 1e-6
