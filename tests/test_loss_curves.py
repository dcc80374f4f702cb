"""Loss curves for the figure: values and autograd gradients against hand formulas
(chain rule for --through), saturation intervals, validation, stability findings."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from nncli.core.loss.losscurves import LossCurves, compute_curves, default_range
from nncli.core.loss.losses import Loss, get_loss
from nncli.errors import UsageError


def curves(*names: str, params: dict[str, Any] | None = None, **options: Any) -> LossCurves:
    settings: dict[str, Any] = {
        "target": None,
        "through": None,
        "logits": False,
        "classes": 3,
        "lo": None,
        "hi": None,
        "points": 401,
        "dtype": "float64",
        "threshold": 0.05,
        "device": "cpu",
    }
    settings.update(options)
    specs = [(get_loss(n), dict(params or {})) for n in names]
    return compute_curves(specs, **settings)


def sigmoid(z: Any) -> Any:
    return 1 / (1 + np.exp(-z))


def close(a: Any, b: Any, tol: float = 1e-9) -> None:
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


# --- the lesson: MSE vs BCE through a sigmoid -------------------------------------------


@pytest.mark.parametrize("y", [1.0, 0.0, 0.3])
def test_through_sigmoid_matches_the_chain_rule(y: float) -> None:
    result = curves("mse", "bce", through="sigmoid", target=y)
    assert result.x_kind == "logit" and result.through == "sigmoid"
    mse, bce = result.curves
    z = mse.x
    p = sigmoid(z)
    close(mse.value, (p - y) ** 2)
    close(mse.grad, 2 * (p - y) * p * (1 - p))  # ∂/∂p · σ'(z)
    close(bce.value, -(y * np.log(p) + (1 - y) * np.log(1 - p)))
    close(bce.grad, p - y)  # the (p − y)/(p(1 − p)) cancels σ'(z)


def test_mse_gradient_vanishes_where_confidently_wrong_and_bce_does_not() -> None:
    mse, bce = curves("mse", "bce", through="sigmoid").curves  # target 1
    # Confidently wrong = very negative z: MSE's gradient is shaded there, BCE's is not.
    assert mse.saturation[0][0] == -8.0 and -4.0 < mse.saturation[0][1] < -3.0
    assert all(lo > 0 for lo, _ in bce.saturation)
    assert abs(bce.grad[0] + 1) < 1e-3  # σ(−8) − 1 ≈ −1: still pushing
    assert abs(mse.grad[0]) < 1e-3


def test_saturation_is_where_the_gradient_is_below_the_threshold() -> None:
    result = curves("mse", "bce", through="sigmoid", threshold=0.1)
    for curve in result.curves:
        inside = np.zeros(len(curve.x), dtype=bool)
        for lo, hi in curve.saturation:
            inside |= (curve.x >= lo) & (curve.x <= hi)
        assert (np.abs(curve.grad[inside]) < 0.1 + 1e-3).all()
        assert (np.abs(curve.grad[~inside]) >= 0.1).all()


def test_saturation_zero_turns_shading_off() -> None:
    assert all(not c.saturation for c in curves("mse", through="sigmoid", threshold=0).curves)


def test_built_in_activation_is_the_identity_composition() -> None:
    plain = curves("bce_with_logits").curves[0]
    through = curves("bce_with_logits", through="sigmoid").curves[0]
    close(plain.grad, through.grad)
    close(through.grad, sigmoid(through.x) - 1)
    assert "identity composition" in through.notes[0]


# --- per task defaults -------------------------------------------------------------------


def test_regression_over_the_residual() -> None:
    result = curves("mse", "mae", "huber", "smooth_l1", "gaussian_nll", target=2.5)
    assert (result.x_kind, result.lo, result.hi) == ("residual", -3.0, 3.0)
    mse, mae, huber, smooth, gauss = result.curves
    r = mse.x
    close(mse.value, r**2)
    close(mse.grad, 2 * r)
    close(mae.grad, np.sign((2.5 + r) - 2.5))  # the residual torch sees, after rounding
    close(huber.value, np.where(np.abs(r) <= 1, 0.5 * r**2, np.abs(r) - 0.5))
    close(smooth.grad, np.clip(r, -1, 1))
    close(gauss.value, 0.5 * r**2)  # σ² = 1: log 1 = 0
    close(gauss.grad, r)


def test_huber_delta_reaches_the_curve() -> None:
    huber = curves("huber", params={"delta": 2.0}).curves[0]
    assert huber.params == {"delta": 2.0}
    close(huber.grad, np.clip(huber.x, -2, 2))


def test_binary_over_the_probability_and_over_the_logit() -> None:
    bce = curves("bce").curves[0]
    p = bce.x
    assert (p[0], p[-1]) == (0.01, 0.99)
    close(bce.value, -np.log(p))
    close(bce.grad, -1 / p)  # (p − 1)/(p(1 − p))
    both = curves("bce", "bce_with_logits", "soft_margin", logits=True, target=1)
    assert both.x_kind == "logit"
    z = both.curves[0].x
    for curve in both.curves:  # the three coincide for target 1
        close(curve.value, np.log1p(np.exp(-z)))
        close(curve.grad, sigmoid(z) - 1)


def test_multi_class_over_the_true_logit() -> None:
    k = 4
    ce, mm = curves("cross_entropy", "multi_margin", classes=k, target=2).curves
    x = ce.x
    soft = np.exp(x) / (np.exp(x) + (k - 1))
    close(ce.value, np.log(np.exp(x) + k - 1) - x)
    close(ce.grad, soft - 1)  # ∂CE/∂z_y = softmax_y − 1
    close(mm.value, (k - 1) / k * np.maximum(0, 1 - x))
    close(mm.grad, np.where(x < 1, -(k - 1) / k, 0.0))


def test_through_softmax_for_mse_sums_over_the_classes() -> None:
    k = 3
    mse, ce = curves("mse", "cross_entropy", through="softmax", classes=k, target=0).curves
    x = mse.x
    s = np.exp(x) / (np.exp(x) + (k - 1))  # true class
    o = 1 / (np.exp(x) + (k - 1))  # each other class
    close(mse.value, (s - 1) ** 2 + (k - 1) * o**2)
    # ∂s/∂x = s(1 − s), ∂o/∂x = −s·o
    close(mse.grad, 2 * (s - 1) * s * (1 - s) + (k - 1) * 2 * o * (-s * o))
    close(ce.grad, s - 1)


def test_prediction_axes() -> None:
    nll = curves("nll").curves[0]
    close(nll.value, -nll.x)
    close(nll.grad, -np.ones_like(nll.x))
    kl = curves("kl_div", target=0.5).curves[0]
    close(kl.value, 0.5 * (np.log(0.5) - kl.x))
    pois = curves("poisson_nll", target=2).curves[0]
    close(pois.grad, np.exp(pois.x) - 2)
    cos = curves("cosine_embedding").curves[0]
    assert (cos.x[0], cos.x[-1]) == (0.0, math.pi)
    close(cos.value, 1 - np.cos(cos.x), 1e-6)
    close(cos.grad[1:-1], np.sin(cos.x[1:-1]), 1e-6)
    rank = curves("margin_ranking", params={"margin": 0.5}).curves[0]
    close(rank.value, np.maximum(0, 0.5 - rank.x))
    hinge = curves("hinge_embedding", target=-1).curves[0]
    close(hinge.grad, np.where(hinge.x < 1, -1.0, 0.0))


def test_default_ranges() -> None:
    assert default_range(get_loss("mse"), "residual") == (-3.0, 3.0)
    assert default_range(get_loss("bce"), "probability") == (0.01, 0.99)
    assert default_range(get_loss("bce"), "logit") == (-8.0, 8.0)
    assert default_range(get_loss("poisson_nll"), "prediction", {"log_input": False})[0] > 0


def test_range_and_points_are_used() -> None:
    result = curves("mse", lo=-1, hi=2, points=31)
    assert (result.lo, result.hi, result.points) == (-1.0, 2.0, 31)
    assert len(result.curves[0].x) == 31


def test_float32_is_computed_in_float32() -> None:
    result = curves("bce", logits=True, target=0, dtype="float32", lo=-30, hi=30)
    assert result.dtype == "float32"
    bce = result.curves[0]
    # σ(z) rounds to 1 in float32 past z ≈ 16.6, so bce(σ(z), 0) sticks at the clamp.
    assert bce.value[-1] == pytest.approx(100.0)


# --- findings ---------------------------------------------------------------------------


def test_bce_findings_name_the_clamp_and_where_bce_on_sigmoid_breaks() -> None:
    findings = curves("bce", through="sigmoid").findings
    text = " | ".join(findings)
    assert "clamps each log at −100" in text and "returns 100" in text
    gradient = next(f for f in findings if "gradient differs" in f)
    # torch's BCE backward divides by max(p(1 − p), 1e-12): p < 1e-12 below z ≈ −27.6.
    edge = float(gradient.split("z ≤ ")[1].split(" ")[0])
    assert -28.0 < edge < -27.0
    value = next(f for f in findings if "value differs" in f)
    assert -102.0 < float(value.split("z ≤ ")[1].split(" ")[0]) < -100.0


def test_float32_bce_on_sigmoid_parts_where_exp_overflows() -> None:
    """In float32 torch's σ(z) = 1/(1 + e^(−z)) is exactly 0 once e^(−z) overflows,
    i.e. below z = −log(FLT_MAX) = −88.7228; bce then returns its clamp, 100, instead
    of −z. The finding resolves that boundary finely enough to print −88.72 (the
    coarse 0.05 grid alone said −88.8)."""
    import torch

    edge = -float(np.log(np.float64(np.finfo(np.float32).max)))  # −88.72284
    findings = curves("bce", through="sigmoid", dtype="float32").findings
    value = next(f for f in findings if "value differs" in f and "float32" in f)
    assert "z ≤ -88.72 " in value
    # The same boundary straight from torch, either side of it.
    below, above = torch.tensor([edge - 1e-3, edge + 1e-3], dtype=torch.float32).sigmoid()
    assert below.item() == 0.0 and above.item() > 0.0


# --- stuck apart from converged -------------------------------------------------------


def _roots(f: Any, lo: float, hi: float) -> float:
    """Bisection of a sign change of f on [lo, hi] (an independent root finder)."""
    flo = f(lo)
    for _ in range(200):
        mid = (lo + hi) / 2
        if (f(mid) > 0) == (flo > 0):
            lo, flo = mid, f(mid)
        else:
            hi = mid
    return (lo + hi) / 2


def _same(intervals: list[tuple[float, float]], expected: list[tuple[float, float]]) -> None:
    assert len(intervals) == len(expected), (intervals, expected)
    for (a, b), (p, q) in zip(intervals, expected, strict=True):
        assert a == pytest.approx(p, abs=2e-3) and b == pytest.approx(q, abs=2e-3)


def test_mse_through_sigmoid_is_stuck_when_wrong_and_converged_when_right() -> None:
    """MSE∘σ, target 1: ∂L/∂z = −2σ(1 − σ)², below T = 0.05 for z < z₁ (σ ≈ 0, the
    loss ≈ 1: wrong, stuck) and for z > z₂ (σ ≈ 1, the loss ≈ 0: right, converged)."""
    t = 0.05
    grad = lambda z: 2 * sigmoid(z) * (1 - sigmoid(z)) ** 2 - t  # noqa: E731
    z1, z2 = _roots(grad, -8.0, -0.7), _roots(grad, -0.7, 8.0)
    assert -3.62 < z1 < -3.60 and 1.55 < z2 < 1.57
    (mse,) = curves("mse", through="sigmoid", points=2001).curves
    _same(mse.stuck, [(-8.0, z1)])
    _same(mse.converged, [(z2, 8.0)])
    # The loss on each side, by hand, against the level between them.
    loss = lambda z: (1 - sigmoid(z)) ** 2  # noqa: E731
    assert mse.floor == pytest.approx(loss(8.0), rel=1e-9)
    assert mse.near_minimum == pytest.approx(loss(8.0) + 0.1 * (loss(-8.0) - loss(8.0)))
    assert loss(z2) < mse.near_minimum < loss(z1)


def test_bce_through_sigmoid_is_never_stuck() -> None:
    """BCE∘σ: ∂L/∂z = σ − 1 is small only where σ > 1 − T, i.e. z > log((1 − T)/T)."""
    (bce,) = curves("bce", through="sigmoid", points=2001).curves
    assert bce.stuck == []
    _same(bce.converged, [(math.log(0.95 / 0.05), 8.0)])


@pytest.mark.parametrize(
    ("lo", "hi", "stuck", "converged"),
    [(-8.0, -4.0, [(-8.0, -4.0)], []), (4.0, 8.0, [], [(4.0, 8.0)])],
)
def test_a_zoomed_range_cannot_move_the_minimum(
    lo: float, hi: float, stuck: list[Any], converged: list[Any]
) -> None:
    """Built to fool a rule that read the minimum off the plotted samples: on [−8, −4]
    the lowest plotted loss (0.964 at z = −4) is no minimum, on [4, 8] the highest
    (3e-4 at z = 4) is no plateau."""
    (mse,) = curves("mse", through="sigmoid", lo=lo, hi=hi).curves
    assert mse.stuck == stuck and mse.converged == converged


@pytest.mark.parametrize(
    ("name", "params", "width"),
    [
        ("huber", {}, 0.05),  # ∂L/∂ŷ = ŷ − y inside δ = 1
        ("smooth_l1", {}, 0.05),  # (ŷ − y)/β, β = 1
        ("smooth_l1", {"beta": 2.0}, 0.1),
        ("gaussian_nll", {}, 0.05),  # σ² = 1: ŷ − y
    ],
)
def test_regression_minimum_is_converged_not_stuck(
    name: str, params: dict[str, Any], width: float
) -> None:
    (curve,) = curves(name, params=params, points=2001).curves
    assert curve.stuck == []
    _same(curve.converged, [(-width, width)])


def test_huber_with_a_tiny_delta_is_stuck_far_from_the_minimum() -> None:
    """δ = 0.01 < T: |∂L/∂ŷ| ≤ δ everywhere, so the whole axis is small-gradient. Near
    0 it has converged; where δ(|r| − δ/2) is above a tenth of its range it is stuck."""
    delta = 0.01
    (huber,) = curves("huber", params={"delta": delta}, points=2001).curves
    assert huber.saturation == [(-3.0, 3.0)]
    level = 0.1 * delta * (3.0 - delta / 2)  # floor 0 at r = 0, top at |r| = 3
    edge = level / delta + delta / 2
    _same(huber.converged, [(-edge, edge)])
    _same(huber.stuck, [(-3.0, -edge), (edge, 3.0)])


def test_cosine_embedding_antipodal_pairs_are_stuck() -> None:
    """1 − cos θ: ∂L/∂θ = sin θ < T near θ = 0 (aligned: converged) and near θ = π
    (opposite, the loss at its worst, 2: stuck)."""
    (cos,) = curves("cosine_embedding", points=2001).curves
    edge = math.asin(0.05)
    _same(cos.converged, [(0.0, edge)])
    _same(cos.stuck, [(math.pi - edge, math.pi)])


def test_a_flat_loss_has_converged_everywhere() -> None:
    """kl_div with target 0 is 0 for every prediction: nothing to learn, nothing stuck."""
    (kl,) = curves("kl_div", target=0.0).curves
    assert kl.stuck == [] and kl.converged == [(-5.0, 0.0)]


@pytest.mark.parametrize(
    ("names", "options"),
    [
        (("mse", "bce"), {"through": "sigmoid", "target": 0.5}),
        (("mse", "bce"), {"through": "softmax"}),
        (("cross_entropy", "multi_margin"), {}),
        (("huber",), {"params": {"delta": 0.02}}),
        (("bce",), {"logits": True, "lo": -200.0, "hi": 200.0}),
    ],
)
def test_stuck_and_converged_split_the_saturation_exactly(
    names: tuple[str, ...], options: dict[str, Any]
) -> None:
    for curve in curves(*names, **options).curves:
        parts = sorted(curve.stuck + curve.converged)
        merged: list[list[float]] = []
        for a, b in parts:
            if merged and a <= merged[-1][1] + 1e-12:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        assert np.array(merged).reshape(-1) == pytest.approx(np.array(curve.saturation).reshape(-1))
        for a, b in curve.stuck:  # every stuck sample is far above the floor
            inside = (curve.x > a) & (curve.x < b)
            assert (curve.value[inside] > curve.near_minimum).all()
        for a, b in curve.converged:
            inside = (curve.x > a) & (curve.x < b)
            assert (curve.value[inside] <= curve.near_minimum).all()


def test_bce_on_sigmoid_is_stuck_where_its_gradient_dies_numerically() -> None:
    """float64 bce on σ(z), target 1: torch's backward divides by max(p(1 − p), 1e-12)
    and the gradient falls below T far out on the wrong side, while the loss is −log σ
    ≈ −z, tens: stuck, not converged."""
    (bce,) = curves("bce", logits=True, lo=-200.0, hi=200.0, points=4001).curves
    assert len(bce.stuck) == 1 and bce.stuck[0][0] == -200.0
    assert -40.0 < bce.stuck[0][1] < -27.0


def test_zero_saturation_shades_neither() -> None:
    (mse,) = curves("mse", through="sigmoid", threshold=0).curves
    assert mse.stuck == [] and mse.converged == []


# --- the cosine_embedding ε ------------------------------------------------------------


def test_cosine_embedding_zero_vector_gradient_is_torchs() -> None:
    """torch adds ε = 1e-12 to each squared norm (ATen's cosine_embedding_loss): for a
    zero x₁ the gradient is x₂/√(ε(|x₂|² + ε)), 1e6 for a unit x₂, and nncli's numbers
    mode reports exactly torch's autograd value, with a note that says 1e-12."""
    import torch

    from nncli.core.loss.losseval import evaluate

    x1, x2 = np.array([[0.0, 0.0]]), np.array([[1.0, 0.0]])
    result = evaluate(get_loss("cosine_embedding"), {}, x1, np.array([1.0]), extra=x2)
    a = torch.tensor(x1, requires_grad=True)
    torch.nn.CosineEmbeddingLoss()(a, torch.tensor(x2), torch.tensor([1.0])).backward()
    assert a.grad is not None
    np.testing.assert_allclose(np.asarray(result.grad), a.grad.numpy(), rtol=1e-12)
    eps = 1e-12
    by_hand = -x2 / np.sqrt(eps * (1.0 + eps))  # ∂(1 − cos)/∂x₁ at x₁ = 0
    np.testing.assert_allclose(np.asarray(result.grad), by_hand, rtol=1e-8)
    assert abs(result.grad[0][0]) > 50 * abs(-1 / np.sqrt(1e-8))  # not ε = 1e-8: 1e4
    assert any("ε = 1e-12" in note for note in result.notes)
    assert not any("1e-8" in note for note in result.notes)
    pitfalls = " ".join(get_loss("cosine_embedding").pitfalls)
    assert "1e-12" in pitfalls and "1e-8" not in pitfalls


def test_no_bce_findings_without_bce() -> None:
    assert curves("mse").findings == []


def test_float32_float64_disagreement_is_reported() -> None:
    findings = curves("bce", logits=True, target=0, lo=-40, hi=40).findings
    line = next(f for f in findings if "float32 and float64 values differ" in f)
    lo, hi = (float(v) for v in line.split("between ")[1].split(" (")[0].split(" and "))
    # 1 − σ(z) loses relative precision in float32 as σ(z) → 1 (ulp 6e-8), and is
    # exactly 0 from z ≈ 16.6: the disagreement starts before that, and ends where
    # float64's σ(z) rounds to 1 too (z ≈ 36.7) and both stick at the −100 clamp.
    assert 10.0 < lo < 16.7 and 36.0 < hi < 37.5


# --- validation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("names", "options", "message"),
    [
        (["bce"], {"target": 1.5}, "--target 1.5 does not fit bce: the target must be in [0, 1]"),
        (["cross_entropy"], {"target": 3}, "an integer in 0..2 (--classes 3)"),
        (["cross_entropy"], {"target": 0.5}, "class index"),
        (["mse"], {"through": "softmax", "target": 5}, "class index"),
        (["soft_margin"], {"target": 0}, "must be −1 or 1"),
        (["kl_div"], {"target": 2}, "probability in [0, 1]"),
        (["poisson_nll"], {"target": -1}, "count ≥ 0"),
        (["mse"], {"target": math.nan}, "--target must be finite"),
        (["bce", "bce_with_logits"], {}, "cannot overlay bce and bce_with_logits"),
        (["mse", "bce"], {}, "mse is plotted over the residual ŷ − y, bce over the probability"),
        (["nll"], {"through": "softmax"}, "--through softmax does not fit nll"),
        (["cosine_embedding"], {"through": "sigmoid"}, "does not fit cosine_embedding"),
        (["cross_entropy"], {"through": "sigmoid"}, "use --through softmax"),
        (["mse"], {"logits": True}, "--logits applies to binary losses"),
        (["bce"], {"lo": 0.0, "hi": 1.0}, "must lie inside (0, 1)"),
        (["mse"], {"lo": 2.0, "hi": 1.0}, "--range needs LO < HI"),
        (["mse"], {"through": "tanh"}, "--through must be one of sigmoid, softmax"),
        (["mse"], {"dtype": "float16"}, "--dtype must be one of float32, float64"),
        (["mse"], {"classes": 1}, "--classes"),
        (["mse"], {"points": 1}, "--points"),
        (["mse"], {"threshold": -1.0}, "--saturation"),
        (["mse"], {"device": "mps"}, "--dtype float64 is not available on mps"),
    ],
)
def test_usage_errors(names: list[str], options: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError) as err:
        curves(*names, **options)
    assert message in str(err.value)


def test_overlay_hint_suggests_logits() -> None:
    with pytest.raises(UsageError) as err:
        curves("bce", "bce_with_logits")
    assert err.value.hint == "add --logits to plot both over the logit z"


def test_kl_div_log_target_defaults_to_log_probability_one() -> None:
    result = curves("kl_div", params={"log_target": True})
    assert result.target == 0.0
    kl = result.curves[0]
    close(kl.value, -kl.x)  # e⁰·(0 − x)


def test_work_that_would_not_fit_is_refused_before_allocating(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from nncli.errors import RuntimeFailure

    monkeypatch.setenv("NNCLI_MEMORY_LIMIT", "10MB")
    with pytest.raises(RuntimeFailure) as err:
        curves("cross_entropy", points=1_000_000, classes=50)
    assert "1,000,000 points" in str(err.value) and "nothing was allocated" in str(err.value)
    assert curves("mse", points=1000).points == 1000  # small work still fits


def test_the_estimate_grows_with_the_classes() -> None:
    from nncli.core.loss.losscurves import estimate_bytes

    ce: list[tuple[Loss, dict[str, Any]]] = [(get_loss("cross_entropy"), {})]
    mse: list[tuple[Loss, dict[str, Any]]] = [(get_loss("mse"), {})]
    assert estimate_bytes(ce, 1000, 50, None) > estimate_bytes(ce, 1000, 3, None)
    assert estimate_bytes(mse, 1000, 50, None) == estimate_bytes(mse, 1000, 3, None)
    assert estimate_bytes(mse, 1000, 50, "softmax") > estimate_bytes(mse, 1000, 3, "softmax")


def test_non_finite_values_are_said_not_hidden() -> None:
    """exp(x) overflows float64 past x ≈ 709.8: a note says where, never a silent gap."""
    pois = curves("poisson_nll", lo=-3, hi=1000, points=501).curves[0]
    note = next(n for n in pois.notes if n.startswith("the loss is"))
    lo = float(note.split("between ")[1].split(" and")[0])
    assert 709.0 < lo < 712.0 and "not drawn" in note
    assert np.isfinite(pois.value[pois.x < 709]).all()


def test_float32_overflow_is_a_finding_of_its_own() -> None:
    findings = curves("poisson_nll", lo=-3, hi=200, points=407).findings
    line = next(f for f in findings if "value overflows in float32" in f)
    lo = float(line.split("between ")[1].split(" and")[0])
    assert 88.0 < lo < 89.5  # float32's exp overflows past x ≈ 88.72
    assert not any("float32 and float64 values differ" in f and "inf" in f for f in findings)
