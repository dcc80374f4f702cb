"""The tree collector on a zoo of models, against torchinfo 1.8 and torchsummary.

torchinfo is the reference for parameters, trainable parameters, mult-adds and the
per-layer output shapes; torchsummary for the simple single-input CNNs. The one
documented difference: tied weights (``TiedSeq2Seq``) are counted once by nncli and
once per module holding them by torchinfo 1.8.
"""

from __future__ import annotations

import contextlib
import io
import re
from functools import cache
from typing import Any

import pytest
import torch
import torchinfo
import torchsummary.torchsummary as tsm
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from nncli.core.model.hooks import ForwardFailed, collect_tree, fold, summarize_module
from nncli.core.model.results import LayerRow

from .models import zoo as zoo_models

NAMES = sorted(zoo_models.zoo())


def build(name: str) -> tuple[nn.Module, tuple[Any, ...]]:
    return zoo_models.zoo()[name]


@cache
def info_of(name: str) -> Any:
    """torchinfo's summary of a fresh zoo model (its input data as given to forward)."""
    model, args = build(name)
    return torchinfo.summary(model, input_data=list(args), depth=10, verbose=0)


@cache
def rows_of(name: str, functional: bool = False) -> tuple[tuple[LayerRow, ...], int, int]:
    """(rows, unique parameters, unique trainable parameters) of a fresh zoo model."""
    model, args = build(name)
    rows, _ = collect_tree(model, args, {}, functional=functional)
    unique = {id(p): p for p in model.parameters()}.values()
    trainable = sum(p.numel() for p in unique if p.requires_grad)
    return tuple(rows), sum(p.numel() for p in unique), trainable


def tied_extra(model: nn.Module) -> tuple[int, int]:
    """(params, trainable) torchinfo counts again for parameters held by several modules."""
    holders: dict[int, int] = {}
    sizes: dict[int, tuple[int, bool]] = {}
    for module in model.modules():
        for p in module.parameters(recurse=False):
            holders[id(p)] = holders.get(id(p), 0) + 1
            sizes[id(p)] = (p.numel(), p.requires_grad)
    extra = [(sizes[k][0] * (n - 1), sizes[k][1]) for k, n in holders.items() if n > 1]
    return sum(n for n, _ in extra), sum(n for n, t in extra if t)


# ------------------------------------------------------------------ totals


@pytest.mark.parametrize("name", NAMES)
def test_totals_equal_torchinfo(name: str) -> None:
    model, _ = build(name)
    rows, total, trainable = rows_of(name)
    info = info_of(name)
    extra, extra_trainable = tied_extra(model)
    # torchinfo 1.8 counts a tied parameter once per module holding it; nncli once.
    assert total == info.total_params - extra
    assert trainable == info.trainable_params - extra_trainable
    assert sum(r.params for r in rows) == total
    assert sum(r.mult_adds for r in rows) == info.total_mult_adds
    assert (extra > 0) == (name == "tied_seq2seq")


def test_tied_embeddings_differ_from_torchinfo_by_the_shared_weight() -> None:
    model, _ = build("tied_seq2seq")
    assert isinstance(model, zoo_models.TiedSeq2Seq)
    shared = model.embed.weight.numel()
    rows, total, _ = rows_of("tied_seq2seq")
    assert info_of("tied_seq2seq").total_params == total + shared
    out = next(r for r in rows if r.name == "out")
    assert out.shared and out.params == model.out.bias.numel()
    assert "rest shared" in out.param_formula


def test_resnet18_has_torchvisions_counts() -> None:
    """torchvision documents ResNet-18 at 11,689,512 parameters and 1.81 GMACs."""
    with torch.device("meta"):
        model = zoo_models.resnet18()
    x = torch.empty(1, 3, 224, 224, device="meta")
    result = summarize_module(
        model, (x,), {}, device="cpu", depth=3, functional=True, name="resnet18", source="zoo"
    )
    info = torchinfo.summary(model, input_data=x, device=torch.device("meta"), verbose=0)
    assert result.total_params == 11_689_512 == info.total_params
    assert result.mult_adds == info.total_mult_adds
    assert round(result.mult_adds / 1e9, 2) == 1.81
    assert result.built_on == "meta"
    assert result.buffers == sum(b.numel() for b in model.buffers())
    assert result.inputs == [{"name": None, "shape": [1, 3, 224, 224], "dtype": "float32"}]


# ------------------------------------------------------------------ per layer


def torchinfo_view(shape: Any) -> Any:
    """Our output shape as torchinfo reports it: a tuple's first, a dict's last value."""
    while isinstance(shape, dict):
        shape = list(shape.values())[-1]
    while isinstance(shape, list) and shape and isinstance(shape[0], list):
        shape = shape[0]
    return shape


@pytest.mark.parametrize("name", NAMES)
def test_leaf_layers_equal_torchinfo(name: str) -> None:
    model, _ = build(name)
    rows, _, _ = rows_of(name)
    leaves = [
        r
        for r in rows
        if r.kind == "module" and r.output_shape is not None
        if not list(model.get_submodule(r.name).children())
    ]
    theirs = [layer for layer in info_of(name).summary_list if layer.is_leaf_layer]
    assert [r.name.rsplit(".", 1)[-1] for r in leaves] == [t.var_name for t in theirs]
    for ours, their in zip(leaves, theirs, strict=True):
        assert torchinfo_view(ours.output_shape) == their.output_size, ours.name
        assert ours.mult_adds == their.macs, ours.name
        held = sum(p.numel() for p in model.get_submodule(ours.name).parameters(recurse=False))
        assert held == their.num_params, ours.name
        # shared rows (a module called again, a tied weight) hold only new parameters
        assert ours.params == held if not ours.shared else ours.params < held


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("depth", [1, 2])
def test_folded_rows_equal_torchinfo_at_its_depth(name: str, depth: int) -> None:
    """At torchinfo's depth, the rows it shows carry its parameters and mult-adds."""
    rows, _, _ = rows_of(name)
    ours = [r for r in fold(list(rows), depth) if r.kind == "module" and r.name]
    theirs = [t for t in info_of(name).summary_list if 1 <= t.depth <= depth]
    assert [(r.name.rsplit(".", 1)[-1], r.depth) for r in ours] == [
        (t.var_name, t.depth) for t in theirs
    ]
    for row, layer in zip(ours, theirs, strict=True):
        at_bottom = layer.depth == depth or layer.is_leaf_layer
        leaf_macs = sum(c.macs for c in layer.children if c.is_leaf_layer)
        assert row.mult_adds == (
            layer.macs if layer.is_leaf_layer else leaf_macs if at_bottom else 0
        )
        if not row.shared and not layer.is_recursive:
            assert row.params == (layer.num_params if at_bottom else layer.leftover_params())


@pytest.mark.parametrize("name", NAMES)
def test_functional_rows_leave_the_module_rows_unchanged(name: str) -> None:
    plain, _, _ = rows_of(name)
    with_calls, _, _ = rows_of(name, functional=True)
    modules = [r for r in with_calls if r.kind == "module"]

    def key(r: LayerRow) -> tuple[Any, ...]:
        return (r.name, r.depth, r.input_shape, r.output_shape, r.params, r.mult_adds)

    assert [key(r) for r in modules] == [key(r) for r in plain]
    for row in with_calls:
        if row.kind == "function":
            assert (row.params, row.mult_adds, row.buffers) == (0, 0, 0)


# ------------------------------------------------------------------ torchsummary


def torchsummary_of(model: nn.Module, size: tuple[int, ...]) -> tuple[int, int, list[list[int]]]:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        tsm.summary(model, size, batch_size=2, device="cpu")
    text = buffer.getvalue()

    def total(label: str) -> int:
        match = re.search(rf"^{label}: ([\d,]+)$", text, re.M)
        assert match, label
        return int(match.group(1).replace(",", ""))

    shapes = re.findall(r"^\s+\w+-\d+\s+\[(.*?)\]\s+[\d,]+$", text, re.M)
    return (
        total("Total params"),
        total("Trainable params"),
        [[int(d) for d in s.split(",")] for s in shapes],
    )


@pytest.mark.parametrize("name", ["lenet", "basic_block", "batchnorm", "frozen"])
def test_simple_models_equal_torchsummary(name: str) -> None:
    model, (x,) = build(name)
    total, trainable, shapes = torchsummary_of(model, tuple(x.shape[1:]))
    rows, ours_total, ours_trainable = rows_of(name)
    assert (ours_total, ours_trainable) == (total, trainable)
    # torchsummary: one row per module call except Sequentials and the model
    ours = [
        r.output_shape
        for r in rows
        if r.kind == "module" and r.type != "Sequential"
        if r.output_shape is not None
    ]
    assert x.shape[0] == 2  # torchsummary runs (and shows) a batch of 2
    assert ours == shapes


# ------------------------------------------------------------------ untouched


def snapshot(model: nn.Module) -> dict[str, Any]:
    return {
        "state": {k: v.clone() for k, v in model.state_dict().items()},
        "training": [m.training for m in model.modules()],
        "grad": [p.requires_grad for p in model.parameters()],
        "device": {p.device for p in model.parameters()},
        "params": [id(p) for p in model.parameters()],
    }


@pytest.mark.parametrize("name", NAMES)
def test_model_is_left_as_found(name: str) -> None:
    model, args = build(name)
    model.train()
    first = next(m for m in model.modules() if m is not model)
    first.eval()  # mixed modes must come back as they were, module by module
    before = snapshot(model)
    collect_tree(model, args, {}, functional=True)
    after = snapshot(model)
    assert after["training"] == before["training"]
    assert after["grad"] == before["grad"] and after["device"] == before["device"]
    assert after["params"] == before["params"]
    assert before["state"].keys() == after["state"].keys()
    for key, value in before["state"].items():
        # eval mode: BatchNorm's running statistics are not updated by the pass
        assert torch.equal(value, after["state"][key]), key
    for module in model.modules():
        assert not module._forward_hooks and not module._forward_pre_hooks
        assert not module._forward_hooks_with_kwargs
        assert not module._forward_pre_hooks_with_kwargs
    assert torch.is_grad_enabled()  # no_grad did not leak


def test_model_is_left_as_found_when_forward_fails() -> None:
    model, _ = build("basic_block")
    model.train()
    with pytest.raises(ForwardFailed):
        collect_tree(model, (torch.randn(2, 5, 8, 8),), {}, functional=True)
    assert all(m.training for m in model.modules())
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    assert torch.is_grad_enabled()
    assert torch._C._len_torch_function_stack() == 0  # the recording mode is gone too


# ------------------------------------------------------------------ functional calls


def test_lenet_shows_its_functional_calls() -> None:
    rows, _, _ = rows_of("lenet", functional=True)
    calls = [(r.type, r.input_shape, r.output_shape) for r in rows if r.kind == "function"]
    # conv arithmetic: 32-5+1 = 28, pool 14, 14-5+1 = 10, pool 5; 16*5*5 = 400
    assert calls == [
        ("F.relu", [2, 6, 28, 28], [2, 6, 28, 28]),
        ("F.relu", [2, 16, 10, 10], [2, 16, 10, 10]),
        ("torch.flatten", [2, 16, 5, 5], [2, 400]),
        ("F.relu", [2, 120], [2, 120]),
        ("F.relu", [2, 84], [2, 84]),
    ]
    order = [r.name for r in rows]
    assert order[:4] == ["conv1", "relu", "pool", "conv2"]
    assert all(r.depth == 1 and r.parent is None for r in rows)


def test_residual_add_is_a_row_under_its_block() -> None:
    rows, _, _ = rows_of("tiny_resnet", functional=True)
    by_index = {r.index: r for r in rows}
    adds = [r for r in rows if r.kind == "function" and r.type.startswith("add")]
    assert len(adds) == 8  # one per BasicBlock
    for add in adds:
        block = by_index[add.parent]  # type: ignore[index]
        assert block.type == "BasicBlock" and add.name == f"{block.name}.add_"
        assert add.type == "add_ (+=)" and add.depth == block.depth + 1 == 3
        assert add.input_shape == [block.output_shape, block.output_shape]
    flatten = next(r for r in rows if r.type == "torch.flatten")
    assert (flatten.depth, flatten.parent, flatten.output_shape) == (1, None, [1, 64])


def test_transformer_shows_softmax_and_attention() -> None:
    rows, _, _ = rows_of("transformer", functional=True)
    types = [r.type for r in rows if r.kind == "function"]
    assert "torch.softmax" in types and "F.multi_head_attention_forward" in types
    assert types.count("add (+)") == 4  # two residuals in each of two layers
    assert types.count("F.relu") == 2


def test_tuple_and_dict_shapes() -> None:
    rows, _, _ = rows_of("lstm")
    lstm = next(r for r in rows if r.type == "LSTM")
    assert lstm.output_shape == [[2, 7, 8], [[2, 2, 8], [2, 2, 8]]]  # (out, (h, c)), 2 layers
    rows, _, _ = rows_of("dict_output")
    heads = next(r for r in rows if r.name == "heads")
    assert heads.output_shape == {"logits": [2, 3], "boxes": [2, 4]}
    rows, _, _ = rows_of("dict_input")
    assert rows[0].name == "conv" and rows[0].input_shape == [2, 3, 6, 6]


def test_reused_module_is_shown_at_each_call_and_counted_once() -> None:
    rows, total, _ = rows_of("reused")
    shared = [r for r in rows if r.name == "shared"]
    assert [(r.params, r.shared) for r in shared] == [(42, False), (0, True)]
    assert shared[0].mult_adds == shared[1].mult_adds == 3 * 42  # the work is done twice
    assert sum(r.params for r in rows) == total == 42 * 2 + 14


def test_frozen_backbone_is_not_trainable() -> None:
    rows, total, trainable = rows_of("frozen")
    assert (total, trainable) == (4 * 3 * 9 + 4 + 4 * 2 + 2, 10)
    folded = fold(list(rows), 1)
    assert [(r.name, r.trainable) for r in folded] == [("backbone", False), ("head", True)]


def test_batchnorm_buffers_are_counted_apart() -> None:
    model, args = build("batchnorm")
    rows, memory = collect_tree(model, args, {}, functional=False)
    bn = next(r for r in rows if r.type == "BatchNorm2d")
    assert bn.buffers == 4 + 4 + 1  # running mean, running var, num_batches_tracked
    assert sum(r.buffers for r in rows) == sum(b.numel() for b in model.buffers())
    assert memory.buffers == sum(b.numel() * b.element_size() for b in model.buffers())


# ------------------------------------------------------------------ fold invariants


@settings(max_examples=25, deadline=None)
@given(name=st.sampled_from(NAMES), depth=st.integers(1, 6), functional=st.booleans())
def test_fold_keeps_the_sums(name: str, depth: int, functional: bool) -> None:
    rows, total, _ = rows_of(name, functional)
    folded = fold(list(rows), depth)
    assert sum(r.params for r in folded) == total
    assert sum(r.mult_adds for r in folded) == sum(r.mult_adds for r in rows)
    assert sum(r.buffers for r in folded) == sum(r.buffers for r in rows)
    assert len(folded) + sum(r.folded for r in folded) == len(rows) + sum(r.folded for r in rows)
    assert [r.index for r in folded] == list(range(1, len(folded) + 1))
    for row in folded:
        assert 1 <= row.depth <= depth
        if row.parent is None:
            assert row.depth == 1
        else:
            assert row.parent < row.index and folded[row.parent - 1].depth == row.depth - 1
    if depth >= max(r.depth for r in rows):
        assert [r.name for r in folded] == [r.name for r in rows]
