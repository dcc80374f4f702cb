"""Depth propagation: the known behaviours of Glorot & Bengio (2010) and He et al. (2015)."""

from __future__ import annotations

import math

import pytest
import torch

from nncli.core.activation.activations import get_activation
from nncli.core.init.inits import get_scheme
from nncli.core.init.propagation import Propagation, propagate, propagation_bytes

WIDTH, DEPTH, BATCH = 256, 30, 256


def run(name: str, activation: str, seed: int = 0, **given: object) -> Propagation:
    scheme = get_scheme(name)
    return propagate(
        scheme,
        scheme.resolve_params(dict(given)),
        get_activation(activation),
        width=WIDTH,
        depth=DEPTH,
        batch=BATCH,
        seed=seed,
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_relu_kaiming_normal_keeps_the_std_within_2x(seed: int) -> None:
    prop = run("kaiming_normal", "relu", seed, nonlinearity="relu")
    assert 0.5 <= prop.activation_ratio <= 2.0
    assert prop.verdict == "stable"
    dead = [lay.dead_fraction for lay in prop.layers]
    assert all(d is not None and 0.4 < d < 0.6 for d in dead)


@pytest.mark.parametrize("seed", [0, 1])
def test_relu_xavier_normal_shrinks_by_one_over_sqrt2(seed: int) -> None:
    prop = run("xavier_normal", "relu", seed)
    assert prop.activation_factor == pytest.approx(1 / math.sqrt(2), rel=0.05)
    assert prop.verdict == "vanishing"
    assert "activations shrink" in prop.evidence and f"layer {DEPTH}" in prop.evidence


def test_tanh_standard_normal_saturates_more_than_half() -> None:
    prop = run("normal", "tanh", std=1.0)
    assert all(lay.saturated_fraction > 0.5 for lay in prop.layers)
    assert prop.verdict == "saturated"
    assert all(lay.dead_fraction is None for lay in prop.layers)


def test_tanh_small_normal_vanishes() -> None:
    prop = run("normal", "tanh", std=0.01)
    assert prop.activation_ratio < 1e-10
    assert prop.verdict == "vanishing"
    assert prop.layers[-1].saturated_fraction == 0


def test_overflow_is_a_finding_not_a_crash() -> None:
    scheme = get_scheme("normal")
    prop = propagate(
        scheme, scheme.resolve_params({"std": 1.0}), get_activation("relu"),
        width=1024, depth=40, batch=8, seed=0,
    )  # fmt: skip
    assert prop.verdict == "exploding"
    assert prop.overflow_layer is not None and prop.overflow_layer < 40
    assert "overflow" in prop.evidence
    assert math.isnan(prop.activation_ratio)


def test_zero_init_reports_no_signal() -> None:
    prop = run("zeros", "relu")
    assert prop.verdict == "vanishing"
    assert "exactly 0" in prop.evidence


def test_layers_match_a_hand_written_torch_loop() -> None:
    """An independent reference: the same network, retain_grad and explicit masks."""
    scheme = get_scheme("kaiming_normal")
    values = scheme.resolve_params({"nonlinearity": "relu"})
    prop = propagate(scheme, values, get_activation("relu6"), width=64, depth=6, batch=32, seed=5)
    torch.manual_seed(5)
    weights = [torch.nn.init.kaiming_normal_(torch.empty(64, 64), nonlinearity="relu")
               for _ in range(6)]  # fmt: skip
    h = torch.randn(32, 64).requires_grad_()
    outs = []
    for w in weights:
        pre = h @ w.T
        h = torch.clamp(pre, 0, 6)
        h.retain_grad()
        outs.append((pre, h))
    h.sum().backward()
    for lay, (pre, out) in zip(prop.layers, outs, strict=True):
        assert out.grad is not None
        assert lay.activation_mean == pytest.approx(out.mean().item(), rel=1e-4, abs=1e-6)
        assert lay.activation_std == pytest.approx(out.std(correction=0).item(), rel=1e-4)
        assert lay.dead_fraction == pytest.approx((pre <= 0).float().mean().item())
        assert lay.saturated_fraction == pytest.approx((pre >= 6).float().mean().item())
        rms = out.grad.double().pow(2).mean().sqrt().item()
        assert lay.grad_std == pytest.approx(rms, rel=1e-4)
    assert prop.layers[-1].grad_std == 1.0  # d sum / d output: all ones


def test_same_seed_same_numbers_different_seed_different() -> None:
    a, b, c = (
        run("xavier_uniform", "sigmoid", 7),
        run("xavier_uniform", "sigmoid", 7),
        run("xavier_uniform", "sigmoid", 8),
    )
    assert a.layers == b.layers
    assert a.layers != c.layers


def test_memory_estimate_covers_the_weights() -> None:
    assert propagation_bytes(1024, 50, 1024) >= 4 * 50 * 1024 * 1024
    assert propagation_bytes(10, 1, 1) < propagation_bytes(10, 2, 1)


def test_progress_reaches_the_total() -> None:
    seen: list[tuple[int, int]] = []
    scheme = get_scheme("xavier_normal")
    propagate(
        scheme, scheme.resolve_params({}), get_activation("tanh"), width=8, depth=3, batch=4,
        progress=lambda done, total: seen.append((done, total)),
    )  # fmt: skip
    assert seen[-1] == (6, 6)
