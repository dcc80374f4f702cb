"""Measured compute in ``summary`` (issue 17, part 1): MACs from the aten ops a forward
pass runs, each checked against an independent count (torchvision's documented figure,
a hand count, or torch.utils.flop_counter run directly on real CPU tensors)."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.flop_counter import FlopCounterMode

from nncli.core.model.budgets import check_budgets
from nncli.core.model.hooks import fold, summarize_module
from nncli.core.model.results import SummaryResult
from nncli.errors import UsageError
from nncli.render.tables import scaled_count

from .conftest import Invoke
from .models import compute_nets, zoo


def summary(model: nn.Module, *args: torch.Tensor, functional: bool = True) -> SummaryResult:
    return summarize_module(
        model, args, {}, device="cpu", depth=99, functional=functional, name="m", source="s"
    )


def meta_summary(model: nn.Module, *shape: int, functional: bool = True) -> SummaryResult:
    return summary(model.to("meta"), torch.empty(*shape, device="meta"), functional=functional)


def aten_macs(model: nn.Module, *args: torch.Tensor) -> int:
    """flop_counter on its own, on a real CPU forward (the independent reference)."""
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model.eval()(*args)
    return counter.get_total_flops() // 2


def rows_add_up(result: SummaryResult) -> None:
    assert result.macs is not None and result.flops == 2 * result.macs
    assert sum(row.macs or 0 for row in result.layers) == result.macs
    assert all(row.flops == 2 * (row.macs or 0) for row in result.layers)


# ------------------------------------------------------------------ targets


def test_resnet18_is_torchvisions_documented_1_81_gmacs() -> None:
    result = meta_summary(zoo.resnet18(), 1, 3, 224, 224)
    assert result.macs is not None
    assert abs(result.macs - 1.81e9) / 1.81e9 < 0.01
    # Hand count of the convolutions and the classifier (conv: k·k·cin·cout·H·W).
    convs = 7 * 7 * 3 * 64 * 112 * 112
    rows_add_up(result)
    first = next(r for r in result.layers if r.name == "conv1")
    assert first.macs == convs
    fc = next(r for r in result.layers if r.name == "fc")
    assert fc.macs == 512 * 1000


def test_resnet18_meta_equals_flop_counter_on_a_real_cpu_pass() -> None:
    model = zoo.resnet18()
    x = torch.randn(1, 3, 64, 64)
    assert summary(model, x).macs == aten_macs(model, x)


def vit_hand_macs(b: int, n: int, d: int, mlp: int) -> int:
    tokens = b * n
    linears = tokens * (d * 3 * d + d * d + d * mlp * d + mlp * d * d)
    attention = 2 * b * n * n * d  # QKᵀ and AV, over all heads: h · n · n · (d / h) each
    return linears + attention


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_vit_block_equals_a_hand_count_with_attention(device: str) -> None:
    model = compute_nets.ViTBlock(dim=64, heads=4).to(device)
    result = summary(model, torch.randn(2, 10, 64, device=device))
    assert result.macs == vit_hand_macs(2, 10, 64, 4)
    attention = [r for r in result.layers if "scaled_dot_product_attention" in r.type]
    assert [r.macs for r in attention] == [2 * 2 * 10 * 10 * 64]
    rows_add_up(result)
    # The torchinfo rule misses QKᵀ and AV: it is not the measured figure.
    assert result.mult_adds != result.macs


@pytest.mark.parametrize("device", ["meta", "cpu"])
@pytest.mark.parametrize("functional", [True, False])
def test_multihead_attention_counts_projections_and_products(device: str, functional: bool) -> None:
    """nn.MultiheadAttention runs a fused kernel on CPU (no flop_counter formula) and
    decomposes on meta: both give the hand count."""
    b, n, d = 2, 12, 64
    model = compute_nets.MHABlock(dim=d, heads=4).to(device)
    result = summary(model, torch.randn(b, n, d, device=device), functional=functional)
    projections = b * n * d * d * 4  # q, k, v and the output projection
    assert result.macs == projections + 2 * b * n * n * d
    rows_add_up(result)


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_gpt2_conv1d_block_equals_a_hand_count(device: str) -> None:
    b, n, d = 2, 16, 32
    model = compute_nets.GPT2Block(dim=d, heads=4).to(device)
    result = summary(model, torch.randn(b, n, d, device=device))
    t = b * n
    linears = t * (d * 3 * d + d * d + d * 4 * d + 4 * d * d)
    assert result.macs == linears + 2 * b * n * n * d
    rows_add_up(result)
    c_attn = next(r for r in result.layers if r.name == "c_attn")
    assert c_attn.macs == t * d * 3 * d
    # torchinfo's rule counts Conv1D as a convolution: weight × output[0] × output[2:].
    assert c_attn.mult_adds == (d * 3 * d + 3 * d) * b * 3 * d
    matmuls = [r.macs for r in result.layers if r.type == "torch.matmul"]
    assert matmuls == [b * n * n * d, b * n * n * d]


def test_the_cpu_pass_equals_flop_counter_run_directly() -> None:
    for model, x in (
        (compute_nets.GPT2Block(), torch.randn(2, 16, 32)),
        (compute_nets.EinsumNet(), torch.randn(5, 8)),
        (zoo.tiny_resnet(), torch.randn(2, 3, 32, 32)),
    ):
        assert summary(model, x).macs == aten_macs(model, x)


def test_meta_and_cpu_give_the_same_rows() -> None:
    for build, shape in (
        (compute_nets.vit_block, (2, 9, 64)),
        (compute_nets.gpt2_block, (2, 9, 32)),
        (zoo.tiny_resnet, (2, 3, 32, 32)),
    ):
        model = build()
        cpu = summary(model, torch.randn(*shape))
        meta = summary(build().to("meta"), torch.empty(*shape, device="meta"))
        assert [r.macs for r in cpu.layers] == [r.macs for r in meta.layers]


# ------------------------------------------------------------------ rows


def test_functional_products_are_rows_of_their_own() -> None:
    result = summary(compute_nets.EinsumNet(), torch.randn(5, 8))
    by_type = {r.type: r.macs for r in result.layers}
    assert by_type["torch.einsum"] == 5 * 8 * 6
    assert by_type["matmul (@)"] == 5 * 6 * 6
    assert by_type["Linear"] == 5 * 6 * 3
    rows_add_up(result)
    assert "notes" not in result.extras


def test_without_functional_rows_the_models_own_products_go_to_its_row() -> None:
    """EinsumNet has a weight of its own, so a row of its own (name ""): it holds them."""
    result = summary(compute_nets.EinsumNet(), torch.randn(5, 8), functional=False)
    assert result.macs == 5 * 8 * 6 + 5 * 6 * 6 + 5 * 6 * 3
    assert {r.name: r.macs for r in result.layers} == {"": 5 * 8 * 6 + 5 * 6 * 6, "head": 90}
    rows_add_up(result)


def test_without_a_row_for_the_model_its_own_products_are_in_a_note() -> None:
    class NoOwnWeights(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.head = nn.Linear(6, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.head(x @ torch.ones(6, 6))

    result = summary(NoOwnWeights(), torch.randn(5, 6), functional=False)
    assert result.macs == 5 * 6 * 6 + 5 * 6 * 3
    assert sum(r.macs or 0 for r in result.layers) == 5 * 6 * 3
    notes = result.extras["notes"]
    assert any(f"{5 * 6 * 6:,} MACs ran directly in the model's own forward" in n for n in notes)
    with_rows = summary(NoOwnWeights(), torch.randn(5, 6), functional=True)
    rows_add_up(with_rows)
    assert "notes" not in with_rows.extras


def test_a_containers_own_products_stay_in_its_row() -> None:
    """A ModuleList container with a matmul in its own forward: the container row holds
    only its own product, its child its own."""

    class Inner(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(4, 4, bias=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.lin(x) @ torch.ones(4, 2)

    class Outer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = Inner()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.inner(x)

    result = summary(Outer(), torch.randn(3, 4), functional=False)
    rows = {r.name: r.macs for r in result.layers}
    assert rows == {"inner": 3 * 4 * 2, "inner.lin": 3 * 4 * 4}
    rows_add_up(result)


def test_folding_keeps_the_total() -> None:
    result = meta_summary(zoo.resnet18(), 1, 3, 64, 64)
    for depth in (1, 2, 3):
        folded = fold(result.layers, depth)
        assert sum(r.macs or 0 for r in folded) == result.macs


def test_a_config_summary_does_not_measure(cli: Invoke) -> None:
    out = cli("summary", "--json")
    doc = out.json()
    assert doc["macs"] is None and doc["flops"] is None and doc["macs_rule"] is None
    assert all(row["macs"] is None for row in doc["layers"])
    text = cli("summary").stdout
    assert "MACs (measured)" not in text and "Mult-adds (torchinfo rule)" in text


# ------------------------------------------------------------------ CLI: JSON, budget, units


def test_json_has_plain_integer_macs_and_flops(cli: Invoke) -> None:
    out = cli(
        "summary", "--model", "tests/models/compute_nets.py:gpt2_block",
        "--input-size", "16,32", "--batch", "2", "--json",
    )  # fmt: skip
    assert out.exit_code == 0, out.stderr
    doc = out.json()
    assert doc["macs"] == 425_984 and doc["flops"] == 2 * 425_984
    assert isinstance(doc["macs"], int)
    assert doc["mult_adds"] == 2_021_632  # the torchinfo-rule figure stays, as before
    assert "flop_counter" in doc["macs_rule"]
    assert sum(row["macs"] for row in doc["layers"]) == doc["macs"]
    assert all(row["flops"] == 2 * row["macs"] for row in doc["layers"])


@pytest.mark.parametrize(
    ("limit", "code"), [("425984", 0), ("426K", 0), ("425983", 1), ("400K", 1)]
)
def test_max_macs(cli: Invoke, limit: str, code: int) -> None:
    out = cli(
        "summary", "--model", "tests/models/compute_nets.py:gpt2_block",
        "--input-size", "16,32", "--batch", "2", "--max-macs", limit,
    )  # fmt: skip
    assert out.exit_code == code, out.stderr
    assert "--max-macs" in out.stdout  # the budgets table
    if code:
        assert "425,984 MACs exceed --max-macs" in out.stderr


def test_max_macs_is_refused_for_a_config_and_for_bad_values(cli: Invoke) -> None:
    out = cli("summary", "--max-macs", "1M")
    assert out.exit_code == 2 and "--max-macs needs --model" in out.stderr
    out = cli("summary", "--model", "tests/models/zoo.py:lenet", "--max-macs", "lots")
    assert out.exit_code == 2 and "--max-macs" in out.stderr


def test_check_budgets_refuses_an_unmeasured_result() -> None:
    result = meta_summary(zoo.tiny_resnet(), 1, 3, 32, 32)
    result.macs = None
    with pytest.raises(UsageError, match="--max-macs"):
        check_budgets(result, None, None, "1M")


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, "-"), (0, "0"), (999, "999"), (1000, "1K"), (16_384, "16.4K"), (999_949, "1M"),
     (1_814_073_344, "1.81G"), (4_090_000_000_000, "4.09T"), (10**15, "1,000T")],
)  # fmt: skip
def test_scaled_units(value: int | None, text: str) -> None:
    assert scaled_count(value) == text


def test_attention_without_a_mask_is_not_undercounted_by_sdpa_choice() -> None:
    """F.scaled_dot_product_attention with a mask and causal: the same two products."""
    q = torch.randn(2, 4, 10, 8)
    for kwargs in ({}, {"is_causal": True}, {"attn_mask": torch.ones(10, 10, dtype=torch.bool)}):

        class Att(nn.Module):
            def forward(self, x: torch.Tensor) -> torch.Tensor:
                return F.scaled_dot_product_attention(x, x, x, **kwargs)  # noqa: B023

        assert summary(Att(), q).macs == 2 * 2 * 4 * 10 * 10 * 8
