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
