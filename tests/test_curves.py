"""Curves: autograd derivatives against analytic formulas, softmax's diagonal, saturation."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
import pytest
import torch
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from nncli.core.activation import curves as curves_mod
from nncli.core.activation.activations import ACTIVATIONS, get_activation
from nncli.core.activation.curves import (
    MAX_POINTS,
    clip_regions,
    compute_curve,
    compute_curves,
    intervals_below,
    softmax_diagonal,
    validate_points,
    validate_range,
    validate_threshold,
    within,
)
from nncli.errors import UsageError

Fn = Callable[[torch.Tensor], torch.Tensor]
LAMBDA, ALPHA = 1.0507009873554805, 1.6732632423543772
SQRT_2_PI = math.sqrt(2 / math.pi)


def sig(x: torch.Tensor) -> torch.Tensor:
    return 1 / (1 + torch.exp(-x))


def cdf(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * (1 + torch.erf(x / math.sqrt(2)))


def pdf(x: torch.Tensor) -> torch.Tensor:
    return torch.exp(-(x**2) / 2) / math.sqrt(2 * math.pi)


def _gelu_tanh_prime(x: torch.Tensor) -> torch.Tensor:
    u = SQRT_2_PI * (x + 0.044715 * x**3)
    t = torch.tanh(u)
    return 0.5 * (1 + t) + 0.5 * x * (1 - t**2) * SQRT_2_PI * (1 + 3 * 0.044715 * x**2)


def _mish_prime(x: torch.Tensor) -> torch.Tensor:
    sp = torch.log1p(torch.exp(x))
    return torch.tanh(sp) + x * sig(x) / torch.cosh(sp) ** 2


def _one(x: torch.Tensor) -> torch.Tensor:
    return torch.ones_like(x)


# Analytic derivatives, written independently of the code under test.
DERIVATIVES: dict[str, Fn] = {
    "sigmoid": lambda x: sig(x) * (1 - sig(x)),
    "tanh": lambda x: 1 - torch.tanh(x) ** 2,
    "relu": lambda x: (x > 0).double(),
    "leaky_relu": lambda x: torch.where(x > 0, _one(x), 0.01 * _one(x)),
    "elu": lambda x: torch.where(x > 0, _one(x), torch.exp(x)),
    "selu": lambda x: LAMBDA * torch.where(x > 0, _one(x), ALPHA * torch.exp(x)),
    "celu": lambda x: torch.where(x > 0, _one(x), torch.exp(x)),
    "gelu": lambda x: cdf(x) + x * pdf(x),
    "gelu_tanh": _gelu_tanh_prime,
    "silu": lambda x: sig(x) * (1 + x * (1 - sig(x))),
    "mish": _mish_prime,
    "softplus": sig,
    "softsign": lambda x: 1 / (1 + x.abs()) ** 2,
    "hardtanh": lambda x: (x.abs() < 1).double(),
    "hardsigmoid": lambda x: (x.abs() < 3).double() / 6,
    "hardswish": lambda x: torch.where(x < -3, 0 * x, torch.where(x < 3, (2 * x + 3) / 6, _one(x))),
    "relu6": lambda x: ((x > 0) & (x < 6)).double(),
    "logsigmoid": lambda x: 1 - sig(x),
}
KINKS = (-3.0, -1.0, 0.0, 1.0, 3.0, 6.0)
ELEMENTWISE = [a.name for a in ACTIVATIONS.values() if a.elementwise]


def test_every_elementwise_activation_has_an_analytic_derivative() -> None:
    assert set(DERIVATIVES) == set(ELEMENTWISE)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_autograd_derivative_matches_the_formula(name: str) -> None:
    # 997 points on an asymmetric range: no sample sits on a kink.
    curve = compute_curve(get_activation(name), -9.1, 9.3, 997)
    x = torch.from_numpy(curve.x)
    assert min(abs(float(x_i) - k) for x_i in x for k in KINKS) > 1e-4
    expected = DERIVATIVES[name](x).numpy()
    np.testing.assert_allclose(curve.dy, expected, rtol=1e-6, atol=1e-6)
    values = get_activation(name).make_module()(x).numpy()
    np.testing.assert_allclose(curve.y, values, rtol=1e-12, atol=1e-15)


SMOOTH = ["sigmoid", "tanh", "gelu", "gelu_tanh", "silu", "mish", "softplus", "logsigmoid"]


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(ELEMENTWISE),
    x0=st.floats(-20, 20, allow_nan=False),
)
def test_derivative_matches_central_differences(name: str, x0: float) -> None:
    if name not in SMOOTH:  # piecewise: stay away from the kinks
        assume(all(abs(x0 - k) > 1e-3 for k in KINKS))
    if name == "softplus":  # torch returns x itself above 20: a 2e-9 step, not a slope
        assume(abs(x0 - 20) > 1e-3)
    act = get_activation(name)
    curve = compute_curve(act, x0, x0 + 1e-9, 2)
    f = act.make_module()
    h = 1e-6
    x = torch.tensor([x0 - h, x0 + h], dtype=torch.float64)
    y = f(x)
    numeric = float((y[1] - y[0]) / (2 * h))
    assert curve.dy[0] == pytest.approx(numeric, rel=1e-5, abs=1e-6)


def test_leaky_relu_slope_reaches_the_derivative() -> None:
    curve = compute_curve(get_activation("leaky_relu"), -2, 2, 101, negative_slope=0.2)
    assert curve.params == {"negative_slope": 0.2}
    np.testing.assert_allclose(curve.dy[curve.x < 0], 0.2)
    np.testing.assert_allclose(curve.dy[curve.x > 0], 1.0)


def test_a_parameter_applies_only_to_activations_that_take_it() -> None:
    got = compute_curves(
        [get_activation("relu"), get_activation("leaky_relu")], -1, 1, 11, negative_slope=0.3
    )
    assert got[0].params == {} and got[1].params == {"negative_slope": 0.3}


# -- softmax: the tutorial's 1-D case ---------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-30, 30, allow_nan=False), min_size=1, max_size=40))
def test_softmax_diagonal_matches_the_full_jacobian(values: list[float]) -> None:
    x = torch.tensor(values, dtype=torch.float64)
    y, dy = softmax_diagonal(x)
    jac = torch.autograd.functional.jacobian(lambda v: torch.softmax(v, -1), x)
    torch.testing.assert_close(dy, torch.diagonal(jac), rtol=1e-7, atol=1e-12)
    torch.testing.assert_close(dy, y * (1 - y), rtol=1e-7, atol=1e-12)
    torch.testing.assert_close(y, torch.nn.functional.softmax(x, dim=-1), rtol=1e-12, atol=1e-15)


def test_softmax_curve_is_one_vector_over_the_samples() -> None:
    curve = compute_curve(get_activation("softmax"), -5, 5, 500)
    assert curve.y.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(curve.dy, curve.y * (1 - curve.y), rtol=1e-9, atol=1e-15)
    assert curve.notes and "one vector" in curve.notes[0]
    # the tutorial's picture: the largest output is at the right end, and small
    assert curve.y.argmax() == 499 and curve.y.max() < 0.05


def test_softmax_is_stable_for_huge_ranges() -> None:
    curve = compute_curve(get_activation("softmax"), -1e4, 1e4, 1001)
    assert np.isfinite(curve.y).all() and np.isfinite(curve.dy).all()
    assert curve.y.sum() == pytest.approx(1.0)


def test_softmax_diagonal_is_linear_time() -> None:
    start = time.perf_counter()
    curve = compute_curve(get_activation("softmax"), -5, 5, 1_000_000)
    assert time.perf_counter() - start < 10  # an N×N Jacobian would need 8 TB
    assert curve.points == 1_000_000


# -- saturation and dead intervals ------------------------------------------------------


def sigmoid_boundary(t: float) -> float:
    """x > 0 where σ'(x) = t, solved in closed form."""
    s = (1 + math.sqrt(1 - 4 * t)) / 2
    return math.log(s / (1 - s))


def test_sigmoid_threshold_001_on_8_gives_about_4_59() -> None:
    curve = compute_curve(get_activation("sigmoid"), -8, 8, 500, threshold=0.01)
    assert len(curve.saturation) == 2
    (lo1, hi1), (lo2, hi2) = curve.saturation
    assert lo1 == -8 and hi2 == 8
    expected = sigmoid_boundary(0.01)
    assert expected == pytest.approx(4.5848, abs=1e-4)
    assert hi1 == pytest.approx(-expected, abs=5e-3)
    assert lo2 == pytest.approx(expected, abs=5e-3)


@settings(max_examples=40, deadline=None)
@given(t=st.floats(0.001, 0.24))
def test_sigmoid_boundaries_match_the_closed_form(t: float) -> None:
    curve = compute_curve(get_activation("sigmoid"), -12, 12, 2001, threshold=t)
    expected = sigmoid_boundary(t)
    (_, left), (right, _) = curve.saturation
    step = 24 / 2000
    assert left == pytest.approx(-expected, abs=step / 4)
    assert right == pytest.approx(expected, abs=step / 4)


def test_tanh_boundaries_match_the_closed_form() -> None:
    t = 0.05
    curve = compute_curve(get_activation("tanh"), -5, 5, 1001, threshold=t)
    expected = math.atanh(math.sqrt(1 - t))
    (_, left), (right, _) = curve.saturation
    assert left == pytest.approx(-expected, abs=1e-3)
    assert right == pytest.approx(expected, abs=1e-3)
    assert curve.dead == []


@pytest.mark.parametrize(
    ("name", "lo", "hi", "dead"),
    [
        ("relu", -5.0, 5.0, [(-5.0, 0.0)]),
        ("relu6", -5.0, 9.0, [(-5.0, 0.0), (6.0, 9.0)]),
        ("hardtanh", -4.0, 4.0, [(-4.0, -1.0), (1.0, 4.0)]),
        ("hardsigmoid", -5.0, 5.0, [(-5.0, -3.0), (3.0, 5.0)]),
        ("hardswish", -5.0, 5.0, [(-5.0, -3.0)]),
        ("hardsigmoid", -2.0, 3.0, []),  # touching the flat part at one point is no region
        ("sigmoid", -5.0, 5.0, []),
        ("leaky_relu", -5.0, 5.0, []),
    ],
)
def test_dead_intervals(name: str, lo: float, hi: float, dead: list[tuple[float, float]]) -> None:
    # The edges are the formula's (0, 6, ±1, ±3), exact: not midpoints between samples.
    curve = compute_curve(get_activation(name), lo, hi, 501)
    assert curve.dead == dead
    act = get_activation(name)
    if act.dead_below is not None:
        assert curve.dead[0] == (lo, act.dead_below)


@pytest.mark.parametrize("name", [a.name for a in ACTIVATIONS.values() if a.flat])
def test_registry_dead_regions_agree_with_autograd(name: str) -> None:
    # The independent check of the registry's claim: autograd gives exactly 0 at every
    # sample inside a flat region, and a non-zero derivative just outside each edge.
    act = get_activation(name)
    curve = compute_curve(act, -9.1, 9.3, 997)
    inside = within(curve.x, curve.dead)
    assert inside.any() and (curve.dy[inside] == 0).all()
    edges = [e for p, q in act.flat for e in (p, q) if math.isfinite(e)]
    for edge in edges:
        near = torch.tensor([edge - 1e-6, edge + 1e-6], dtype=torch.float64)
        out = torch.autograd.functional.jacobian(act.make_module(), near).diagonal()
        assert (out == 0).sum() == 1, (edge, out)


@pytest.mark.parametrize(
    ("name", "underflow"),
    [
        ("sigmoid", 36.8),
        ("sigmoid", -709.8),
        ("tanh", 19.1),
        ("gelu", -38.6),
        ("gelu_tanh", -7.2),
        ("elu", -745.2),
        ("selu", -745.2),
        ("celu", -745.2),
        ("silu", -709.8),
        ("mish", -744.1),
        ("softplus", -745.2),
        ("logsigmoid", 745.2),
    ],
)
def test_float_underflow_is_vanishing_not_dead(name: str, underflow: float) -> None:
    # Past these points autograd's f' is 0.0 in float64 (the issue's `plot sigmoid tanh
    # --range -50 50`); mathematically it is positive, so the region is not dead.
    lo, hi = sorted((underflow, 2 * underflow))
    curve = compute_curve(get_activation(name), lo, hi, 101)
    assert (curve.dy == 0).any(), "the range should reach the underflow"
    assert curve.dead == []
    assert curve.saturation == [(lo, hi)]


def test_relu_dead_region_is_not_also_vanishing() -> None:
    # Dying units are ReLU's problem, not vanishing gradients: the region is reported
    # (and drawn) once, as dead.
    curve = compute_curve(get_activation("relu"), -5, 5, 500)
    assert curve.dead == [(-5.0, 0.0)]
    assert curve.saturation == []


def test_vanishing_region_next_to_a_dead_one_starts_at_its_edge() -> None:
    # hardsigmoid' = 1/6 < 0.2 on (−3, 3): vanishing exactly there, dead outside.
    curve = compute_curve(get_activation("hardsigmoid"), -5, 5, 101, threshold=0.2)
    assert curve.saturation == [(-3.0, 3.0)]
    assert curve.dead == [(-5.0, -3.0), (3.0, 5.0)]
    # hardswish jumps from 0 to −0.5 at −3: no sliver of "vanishing" beside the edge
    curve = compute_curve(get_activation("hardswish"), -5, 5, 1000)
    ((a, b),) = curve.saturation  # only the smooth crossing of 0 near −1.5
    assert a == pytest.approx(-1.65, abs=0.01) and b == pytest.approx(-1.35, abs=0.01)


def test_leaky_relu_with_zero_slope_is_dead_like_relu() -> None:
    act = get_activation("leaky_relu")
    assert compute_curve(act, -2, 2, 11, negative_slope=0.0).dead == [(-2.0, 0.0)]
    assert compute_curve(act, -2, 2, 11, negative_slope=-0.1).dead == []


def test_softmax_shades_relative_to_its_own_maximum() -> None:
    # The tutorial's 500-sample vector: ∂yᵢ/∂xᵢ never exceeds 0.02, so |f′| < 0.05 would
    # shade everything. Relative: yᵢ(1 − yᵢ) < c = 0.05·y_max(1 − y_max). With y < ½ that
    # is y < (1 − √(1 − 4c))/2, and yᵢ = y_max·e^(xᵢ − 5) gives the boundary in x.
    curve = compute_curve(get_activation("softmax"), -5, 5, 500)
    assert curve.max_abs_dy < 0.02
    assert curve.rule == "relative"
    y_max = float(curve.y.max())
    c = 0.05 * y_max * (1 - y_max)
    assert curve.cutoff == pytest.approx(c, rel=1e-12)
    x_star = 5 + math.log((1 - math.sqrt(1 - 4 * c)) / 2 / y_max)
    ((a, b),) = curve.saturation
    assert a == -5.0
    assert b == pytest.approx(x_star, abs=1e-4)  # interpolated on a smooth curve
    assert x_star == pytest.approx(5 + math.log(0.05), abs=0.02)
    absolute = compute_curve(get_activation("sigmoid"), -5, 5, 500)
    assert absolute.rule == "absolute" and absolute.cutoff == 0.05


def test_threshold_zero_turns_saturation_off() -> None:
    curve = compute_curve(get_activation("sigmoid"), -10, 10, 200, threshold=0)
    assert curve.saturation == []


def test_intervals_below_on_a_linear_ramp_interpolates_exactly() -> None:
    x = np.linspace(0, 10, 11)
    g = np.abs(x - 5.0)  # below 0.5 only on (4.5, 5.5), between samples
    assert intervals_below(x, g, 0.5) == [(4.5, 5.5)]
    assert intervals_below(x, g, 100) == [(0.0, 10.0)]
    assert intervals_below(x, g, 0) == []


def test_intervals_treat_nan_as_not_vanishing() -> None:
    x = np.linspace(0, 4, 5)
    g = np.array([0.0, np.nan, 0.0, 1.0, 1.0])
    # a NaN neighbour gives no line to interpolate along: the run ends at its sample
    assert intervals_below(x, g, 0.5) == [(0.0, 0.0), (2.0, 2.5)]


def test_one_sample_interval_is_never_reversed_by_rounding() -> None:
    # Found by hypothesis: x[1] + 1·(x[0] − x[1]) rounds below x[0] near 1e-14.
    x = np.array([-2.0224979171277948e-14, 0.18749999999998988, 0.37499999999997979])
    g = np.array([0.0, 1.0, 1.0])
    ((a, b),) = intervals_below(x, g, 2.789031623226981e-172)
    assert a == b == x[0]


def test_within_and_clip_regions() -> None:
    x = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    assert within(x, [(-math.inf, -1.0), (1.0, 1.0)]).tolist() == [1, 1, 0, 1, 0]
    regions = [(-math.inf, 0.0), (6.0, math.inf)]
    assert clip_regions(regions, -5, 9) == [(-5.0, 0.0), (6.0, 9.0)]
    assert clip_regions(regions, 0, 6) == []


@settings(max_examples=80, deadline=None)
@given(
    name=st.sampled_from(sorted(ACTIVATIONS)),
    lo=st.floats(-50, 50, allow_nan=False),
    width=st.floats(1e-3, 100),
    points=st.integers(2, 3000),
    t=st.floats(0, 1.5),
)
@example(name="relu", lo=-2.0224979171277948e-14, width=0.375, points=3, t=2.789031623226981e-172)
def test_intervals_are_sorted_disjoint_inside_the_range_and_cover_the_samples(
    name: str, lo: float, width: float, points: int, t: float
) -> None:
    hi = lo + width
    assume(hi > lo)
    curve = compute_curve(get_activation(name), lo, hi, points, threshold=t)
    g = np.abs(curve.dy)
    dead = within(curve.x, curve.dead)
    assert (g[dead] == 0).all()  # the registry's flat regions are flat in autograd too
    vanishing = (g < curve.cutoff) & ~dead
    for intervals, inside in ((curve.saturation, vanishing), (curve.dead, dead)):
        flat = [v for iv in intervals for v in iv]
        assert flat == sorted(flat), intervals
        assert all(a <= b for a, b in intervals), intervals
        assert all(lo <= v <= hi for v in flat)
        for i, xi in enumerate(curve.x):
            covered = any(a <= xi <= b for a, b in intervals)
            strictly = any(a < xi < b for a, b in intervals)
            if inside[i]:
                assert covered
            else:
                assert not strictly
    assert curve.max_abs_dy == pytest.approx(float(np.nanmax(g)))


# -- validation: before anything is allocated --------------------------------------------


@pytest.mark.parametrize(
    ("lo", "hi", "message"),
    [
        (1.0, 1.0, "LO < HI"),
        (2.0, -2.0, "LO < HI"),
        (math.nan, 1.0, "finite"),
        (-math.inf, 1.0, "finite"),
        (0.0, math.inf, "finite"),
        (-1.7e308, 1.7e308, "too wide"),
    ],
)
def test_validate_range(lo: float, hi: float, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        validate_range(lo, hi)


@pytest.mark.parametrize(
    ("points", "message"),
    [
        (-1, "at least 2, got -1"),
        (1, "at least 2, got 1"),
        (MAX_POINTS + 1, "at most 10,000,000, got 10,000,001"),
        (2**64, "at most 10,000,000"),
    ],
)
def test_validate_points(points: int, message: str) -> None:
    with pytest.raises(UsageError, match=f"--points must be {message}"):
        validate_points(points)


@pytest.mark.parametrize(
    ("lo", "hi", "points"),
    [(1.0, 1.0000000000000002, 500), (0.0, 5e-324, 3), (1e300, 1.0000000000000002e300, 3)],
)
def test_a_range_too_narrow_for_distinct_samples(lo: float, hi: float, points: int) -> None:
    with pytest.raises(UsageError, match="too narrow for"):
        compute_curve(get_activation("relu"), lo, hi, points)


def test_a_huge_range_is_sampled_and_named_briefly() -> None:
    curve = compute_curve(get_activation("sigmoid"), -1e300, 1e300, 500)
    assert curve.x[0] == -1e300 and curve.x[-1] == 1e300
    with pytest.raises(UsageError) as err:
        validate_range(1e300, -1e300)
    assert str(err.value.message).endswith("got 1e+300 -1e+300")


@pytest.mark.parametrize("t", [-0.1, math.nan, math.inf])
def test_validate_threshold(t: float) -> None:
    with pytest.raises(UsageError, match="--saturation"):
        validate_threshold(t)


def test_validation_happens_before_sampling(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_args: object) -> None:
        raise AssertionError("sampled before validating")

    monkeypatch.setattr(curves_mod, "sample", boom)
    act = get_activation("relu")
    with pytest.raises(UsageError):
        compute_curve(act, 1, 0)
    with pytest.raises(UsageError):
        compute_curve(act, 0, 1, points=10**12)
    with pytest.raises(UsageError):
        compute_curve(act, 0, 1, threshold=-1)
    with pytest.raises(UsageError, match="--negative-slope"):
        compute_curve(act, 0, 1, negative_slope=0.1)


def test_a_million_points_is_fast() -> None:
    start = time.perf_counter()
    curve = compute_curve(get_activation("gelu"), -5, 5, 1_000_000)
    assert time.perf_counter() - start < 5
    assert curve.points == 1_000_000 and len(curve.dy) == 1_000_000
    assert curve.x[0] == -5 and curve.x[-1] == 5
