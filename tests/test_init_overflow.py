"""Depth propagation past float32's range: each overflow found where it happens.

The reference is a hand-written torch loop (retain_grad, explicit isfinite masks),
independent of nncli.core.init.propagation's hooks and counters.
"""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from nncli.core.activation.activations import get_activation
from nncli.core.init.inits import get_scheme
from nncli.core.init.propagation import Propagation, propagate
from tests.conftest import Invoke


def _normal_stack(width: int, depth: int, batch: int) -> Propagation:
    scheme = get_scheme("normal")
    return propagate(
        scheme, scheme.resolve_params({"std": 1.0}), get_activation("relu"),
        width=width, depth=depth, batch=batch, seed=0,
    )  # fmt: skip


def _reference(width: int, depth: int, batch: int) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Outputs and their gradients, layer by layer, from a plain loop."""
    torch.manual_seed(0)
    weights = [torch.nn.init.normal_(torch.empty(width, width)) for _ in range(depth)]
    h = torch.randn(batch, width)
    outs = []
    for index, w in enumerate(weights):
        pre = h @ w.T
        if index == 0:
            pre.requires_grad_()
        h = torch.relu(pre)
        h.retain_grad()
        outs.append(h)
    h.sum().backward()
    grads = []
    for out in outs:
        assert out.grad is not None
        grads.append(out.grad)
    return [o.detach() for o in outs], grads


@pytest.fixture(scope="module")
def deep_64() -> tuple[Propagation, list[torch.Tensor], list[torch.Tensor]]:
    # the issue's second case: init-stats normal --depth 200 --fan-in 64 (batch reduced)
    prop = _normal_stack(64, 200, 256)
    outs, grads = _reference(64, 200, 256)
    return prop, outs, grads


def test_forward_and_backward_overflow_layers_match_the_reference(
    deep_64: tuple[Propagation, list[torch.Tensor], list[torch.Tensor]],
) -> None:
    prop, outs, grads = deep_64
    forward = next(i + 1 for i, o in enumerate(outs) if not torch.isfinite(o).all())
    backward = next(
        i + 1 for i in reversed(range(len(grads))) if not torch.isfinite(grads[i]).all()
    )
    assert prop.forward_overflow_layer == forward
    assert prop.backward_overflow_layer == backward
    assert 45 <= forward <= 56  # ≈ ln(3.4e38)/ln(√32): the activations grow √(64/2)× a layer
    assert prop.overflow_layer == forward  # the compatible key: the first overflow, forward
    assert f"activations overflow to inf/NaN at layer {forward} of 200" in prop.evidence
    assert f"gradients overflow to inf/NaN at layer {backward} on the way back" in prop.evidence


def test_nan_units_are_neither_alive_nor_dead(
    deep_64: tuple[Propagation, list[torch.Tensor], list[torch.Tensor]],
) -> None:
    prop, outs, _ = deep_64
    for lay, out in zip(prop.layers, outs, strict=True):
        finite = torch.isfinite(out)
        assert lay.nonfinite_fraction == pytest.approx((~finite).float().mean().item())
        assert lay.dead_fraction == pytest.approx((out == 0).float().mean().item())
        assert lay.saturated_fraction + (lay.dead_fraction or 0) + lay.nonfinite_fraction <= 1
    last = prop.layers[-1]
    assert last.nonfinite_fraction == 1.0 and last.dead_fraction == 0.0


def test_growth_factors_come_from_finite_layers_only(
    deep_64: tuple[Propagation, list[torch.Tensor], list[torch.Tensor]],
) -> None:
    prop, outs, _ = deep_64
    # in float64: float32's own std overflows once the values pass ≈ 1.8e19 (x² > 3.4e38)
    stds = [o.double().std(correction=0).item() for o in outs if torch.isfinite(o).all()]
    steps = [b / a for a, b in itertools.pairwise(stds)]
    want = sorted(steps)[len(steps) // 2]
    assert prop.activation_factor == pytest.approx(want, rel=1e-4)
    # ReLU halves the second moment: √(64·1/2) per layer
    assert prop.activation_factor == pytest.approx(math.sqrt(32), rel=0.1)


@pytest.mark.slow
def test_the_issues_512_wide_stack(cli: Invoke) -> None:
    """init-stats normal --std 1 --fan-in 512 --fan-out 512 --depth 50 --activation relu
    --batch 1024 --seed 0: inf first at layer 32, gradients overflow at layer 20 going back,
    and the finite layers grow ≈ 16× (√(512/2)), not the 22× of a NaN-contaminated median.

    Run here with --batch 256, a quarter of the work: the layers where float32
    overflows are set by the growth per layer, not the batch, and are the same."""
    out = cli(
        "init-stats", "normal", "--std", "1", "--fan-in", "512", "--fan-out", "512",
        "--depth", "50", "--activation", "relu", "--batch", "256", "--seed", "0", "--json",
    )  # fmt: skip
    assert out.exit_code == 0, out.stderr
    res = out.json()["results"][0]
    prop, layers = res["propagation"], res["layers"]
    assert prop["forward_overflow_layer"] == 32
    assert prop["backward_overflow_layer"] == 20
    assert prop["overflow_layer"] == 32
    assert all(lay["nonfinite_fraction"] == 0 for lay in layers[:31])
    assert layers[31]["nonfinite_fraction"] > 0
    assert all(lay["grad_finite"] for lay in layers[20:])
    assert not layers[19]["grad_finite"]
    assert layers[40]["dead_fraction"] == 0 and layers[40]["nonfinite_fraction"] == 1
    # the gradient rate over layers 21..31, whose outputs and gradients are finite
    grads = [lay["grad_std"] for lay in layers[20:31]]
    steps = sorted(a / b for a, b in itertools.pairwise(grads))
    finite_rate = steps[len(steps) // 2]  # nncli's median: the upper one of an even count
    assert prop["gradient_factor"] == pytest.approx(finite_rate)
    assert 14 < prop["gradient_factor"] < 18
    assert 14 < prop["activation_factor"] < 18


def test_overflow_rows_are_shown_in_the_table(cli: Invoke) -> None:
    out = cli("init-stats", "normal", "--fan-in", "64", "--depth", "200", "--batch", "64")
    assert out.exit_code == 0, out.stderr
    prop = cli("init-stats", "normal", "--fan-in", "64", "--depth", "200", "--batch", "64",
               "--json").json()["results"][0]["propagation"]  # fmt: skip
    rows = {line.split()[0] for line in out.stdout.splitlines() if line.strip()[:1].isdigit()}
    for where in (prop["forward_overflow_layer"], prop["backward_overflow_layer"]):
        assert {str(where - 1), str(where)} <= rows
    assert "inf/NaN" in out.stdout
