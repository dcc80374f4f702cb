"""The tree collector's parts: torchinfo's mult-add and size rules, rows, fold, failures."""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torch.nn.functional as F
import torchinfo
from torch import nn
from torch.nn.utils import prune
from torch.nn.utils.rnn import pack_padded_sequence
from torchinfo.layer_info import LayerInfo

from nncli.core.model.build import build_model
from nncli.core.model.config import load_config
from nncli.core.model.counting import MULT_ADDS_RULE
from nncli.core.model.hooks import (
    ForwardFailed,
    collect_tree,
    fold,
    inputs_shape,
    shape_of,
    summarize_module,
    torchinfo_macs,
    torchinfo_size,
)
from nncli.core.model.results import LayerRow
from nncli.core.model.summarize import summarize_spec


def pruned_linear() -> nn.Module:
    torch.manual_seed(0)
    layer = nn.Linear(6, 4)
    prune.l1_unstructured(layer, "weight", amount=0.5)
    return layer


MODULES = {
    "linear": (nn.Linear(5, 3), [2, 7, 3]),
    "linear_no_bias": (nn.Linear(5, 3, bias=False), [4, 3]),
    "conv1d": (nn.Conv1d(3, 4, 3), [2, 4, 8]),
    "conv2d": (nn.Conv2d(3, 4, 3), [2, 4, 6, 5]),
    "conv_transpose": (nn.ConvTranspose2d(4, 2, 2, stride=2), [2, 2, 8, 8]),
    "batchnorm": (nn.BatchNorm2d(4), [2, 4, 6, 6]),
    "layernorm": (nn.LayerNorm(8), [3, 5, 8]),
    "embedding": (nn.Embedding(10, 4), [2, 7, 4]),
    "lstm": (nn.LSTM(4, 6, num_layers=2, bidirectional=True), [5, 2, 12]),
    "gru": (nn.GRU(4, 6, batch_first=True), [2, 5, 6]),
    "rnn_cell": (nn.RNNCell(4, 6), [3, 6]),
    "mha": (nn.MultiheadAttention(8, 2), [5, 2, 8]),  # in_proj_weight: "weight" in name
    "prelu": (nn.PReLU(3), [2, 3]),  # its parameter is named "weight"
}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_mult_adds_equal_torchinfos_calculate_macs(name: str) -> None:
    module, size = MODULES[name]
    info = LayerInfo("x", module, 1)
    info.output_size = size
    info.calculate_macs()
    assert torchinfo_macs(module, size) == info.macs
    assert info.macs > 0


def test_parameters_not_named_weight_or_bias_add_no_mult_adds() -> None:
    class Tokens(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.cls_token = nn.Parameter(torch.zeros(1, 1, 4))

    info = LayerInfo("x", Tokens(), 1)
    info.output_size = [2, 5, 4]
    info.calculate_macs()
    assert torchinfo_macs(Tokens(), [2, 5, 4]) == info.macs == 0


def _values() -> dict[str, Any]:
    a, b = torch.zeros(2, 3), torch.zeros(4)
    packed = pack_padded_sequence(torch.zeros(5, 2, 3), [5, 3])
    return {
        "tensor": a,
        "tuple": (a, b),
        "nested": ((b, a), a),
        "list": [b],
        "dict": {"x": a, "y": b},
        "dict_of_tuples": {"x": a, "y": (b, a)},
        "packed": (packed, (a, b)),
        "none": None,
    }


@pytest.mark.parametrize("name", sorted(_values()))
def test_output_size_equals_torchinfos_calculate_size(name: str) -> None:
    value = _values()[name]
    size, _ = LayerInfo.calculate_size(value, None)
    assert torchinfo_size(value) == size


def test_shapes_keep_the_structure() -> None:
    a, b = torch.zeros(2, 3), torch.zeros(4)
    assert shape_of(a) == [2, 3]
    assert shape_of((a, (b, None))) == [[2, 3], [[4], None]]
    assert shape_of({"x": a, 1: [b]}) == {"x": [2, 3], "1": [[4]]}
    assert shape_of((1, "text")) is None and shape_of(3.0) is None
    assert inputs_shape((a, 1), {}) == [2, 3]
    assert inputs_shape((a, b), {"mask": None}) == [[2, 3], [4]]
    assert inputs_shape((), {"x": a}) == {"x": [2, 3]}
    assert inputs_shape((a,), {"x": b}) == [[2, 3], {"x": [4]}]
    assert inputs_shape((), {}) is None


# ------------------------------------------------------------------ rows


def rows_sum_to_model(rows: list[LayerRow], model: nn.Module) -> None:
    unique = {id(p): p for p in model.parameters()}.values()
    assert sum(r.params for r in rows) == sum(p.numel() for p in unique)
    assert sum(r.buffers for r in rows) == sum(b.numel() for b in model.buffers())


def test_modulelist_is_shown_as_torchinfo_shows_it() -> None:
    class Stack(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.blocks = nn.ModuleList(nn.Sequential(nn.Linear(4, 4), nn.ReLU()) for _ in range(2))
            self.head = nn.Linear(4, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            for block in self.blocks:
                x = block(x)
            return self.head(x)

    model = Stack()
    rows, _ = collect_tree(model, (torch.zeros(2, 4),), {}, functional=True)
    info = torchinfo.summary(model, input_data=torch.zeros(2, 4), depth=9, verbose=0)
    theirs = [(t.var_name, t.depth) for t in info.summary_list if t.depth]
    assert [(r.name.rsplit(".", 1)[-1], r.depth) for r in rows] == theirs
    assert [r.parent for r in rows] == [None, 1, 2, 2, 1, 5, 5, None]
    assert rows[0].type == "ModuleList" and rows[0].output_shape is None
    rows_sum_to_model(rows, model)


def test_never_called_modules_still_count() -> None:
    """MHA computes with out_proj's weight without calling it; an unused head is never run."""

    class Attn(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.attn = nn.MultiheadAttention(8, 2)
            self.unused = nn.Sequential(nn.Linear(8, 3), nn.BatchNorm1d(3))
            self.dropout = nn.Dropout()  # never called, nothing to count: no row

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.attn(x, x, x, need_weights=False)[0]

    model = Attn()
    x = torch.zeros(5, 2, 8)
    rows, _ = collect_tree(model, (x,), {}, functional=False)
    attn = rows[0]
    info = torchinfo.summary(model, input_data=x, depth=9, verbose=0)
    mha = next(t for t in info.summary_list if t.class_name == "MultiheadAttention")
    assert (attn.name, attn.params, attn.folded) == ("attn", mha.num_params, 1)
    assert attn.params == 4 * 8 * 8 + 4 * 8
    unused = rows[-1]
    assert (unused.name, unused.depth, unused.input_shape, unused.output_shape) == (
        "unused",
        1,
        None,
        None,
    )
    assert (unused.params, unused.buffers, unused.folded) == (8 * 3 + 3 + 6, 3 + 3 + 1, 2)
    assert [r.name for r in rows] == ["attn", "unused"]
    assert info.total_params == sum(r.params for r in rows)
    rows_sum_to_model(rows, model)


def test_the_models_own_parameters_get_a_row() -> None:
    class WithToken(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.cls_token = nn.Parameter(torch.zeros(1, 1, 4))
            self.proj = nn.Linear(4, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.proj(torch.cat([self.cls_token.expand(x.shape[0], 1, 4), x], 1))

    model = WithToken()
    rows, _ = collect_tree(model, (torch.zeros(2, 3, 4),), {}, functional=False)
    assert [(r.name, r.type, r.params, r.depth) for r in rows] == [
        ("", "WithToken", 4, 1),
        ("proj", "Linear", 20, 1),
    ]
    assert rows[0].output_shape == [2, 4, 4] and rows[0].mult_adds == 0
    rows_sum_to_model(rows, model)


def test_a_leaf_given_as_the_model_is_its_own_row() -> None:
    model = nn.Conv2d(3, 2, 3)
    x = torch.zeros(2, 3, 5, 5)
    rows, memory = collect_tree(model, (x,), {}, functional=True)
    info = torchinfo.summary(model, input_data=x, verbose=0)
    assert [(r.name, r.output_shape, r.params) for r in rows] == [("", [2, 2, 3, 3], 56)]
    assert rows[0].mult_adds == info.total_mult_adds
    assert memory.activations == 2 * 2 * 3 * 3 * 4


def test_a_module_under_two_names_uses_the_first() -> None:
    model = nn.Sequential()
    block = nn.Linear(3, 3)
    model.add_module("first", block)
    model.add_module("again", block)
    rows, _ = collect_tree(model, (torch.zeros(1, 3),), {}, functional=False)
    assert [(r.name, r.params, r.shared) for r in rows] == [
        ("first", 12, False),
        ("first", 0, True),
    ]


def test_metadata_and_leaf_internals_are_not_rows() -> None:
    class Gelu(nn.Module):  # a leaf: its own math is its work, not a row
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return F.gelu(x) * torch.sigmoid(x)

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.act = Gelu()
            self.fc = nn.Linear(6, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            batch = x.size(0)
            assert x.dim() == 3 and x.shape[1] == 2 and x.is_floating_point()
            y = self.act(x).view(batch, -1)
            return 1 - self.fc(y)

    rows, _ = collect_tree(Net(), (torch.zeros(4, 2, 3),), {}, functional=True)
    assert [(r.kind, r.type, r.input_shape, r.output_shape) for r in rows] == [
        ("module", "Gelu", [4, 2, 3], [4, 2, 3]),
        ("function", "Tensor.view", [4, 2, 3], [4, 6]),
        ("module", "Linear", [4, 6], [4, 2]),
        ("function", "rsub (-)", [4, 2], [4, 2]),
    ]
    assert [r.name for r in rows] == ["act", "view", "fc", "rsub"]


# ------------------------------------------------------------------ failures


def test_forward_failure_names_the_innermost_module() -> None:
    model = nn.Sequential(nn.Linear(4, 4), nn.Sequential(nn.Linear(4, 3), nn.Linear(5, 2)))
    model.train()
    with pytest.raises(ForwardFailed) as caught:
        collect_tree(model, (torch.zeros(1, 4),), {}, functional=True)
    error = caught.value
    assert (error.path, error.module_type, error.input_shapes) == ("1.1", "Linear", [1, 3])
    assert isinstance(error.__cause__, RuntimeError) and error.cause is error.__cause__
    assert "1.1 (Linear)" in str(error)
    assert all(m.training for m in model.modules())
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def test_a_failing_functional_call_is_named() -> None:
    class Bad(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(x) + x

    with pytest.raises(ForwardFailed) as caught:
        collect_tree(Bad(), (torch.zeros(2, 4),), {}, functional=True)
    error = caught.value
    assert (error.path, error.module_type, error.input_shapes) == ("", "Bad", [2, 4])
    assert (error.function, error.function_shapes) == ("add (+)", [[2, 3], [2, 4]])


def test_a_wrong_call_of_the_model_is_a_failure_at_the_model() -> None:
    with pytest.raises(ForwardFailed) as caught:
        collect_tree(nn.Linear(2, 2), (torch.zeros(1, 2), torch.zeros(1)), {}, functional=False)
    assert (caught.value.path, caught.value.module_type) == ("", "Linear")
    assert isinstance(caught.value.cause, TypeError)


def test_user_hooks_stay_and_run() -> None:
    model = nn.Sequential(nn.Linear(2, 2))
    seen: list[int] = []
    handle = model[0].register_forward_hook(lambda m, i, o: seen.append(1))
    collect_tree(model, (torch.zeros(1, 2),), {}, functional=True)
    assert seen == [1] and len(model[0]._forward_hooks) == 1
    handle.remove()


# ------------------------------------------------------------------ fold


def row(index: int, depth: int, parent: int | None, **fields: Any) -> LayerRow:
    base: dict[str, Any] = {
        "name": f"m{index}",
        "type": "T",
        "input_shape": None,
        "output_shape": None,
        "params": 0,
        "param_formula": "0",
        "init": "-",
        "trainable": None,
        "mult_adds": 0,
    }
    base.update(fields)
    return LayerRow(index=index, depth=depth, parent=parent, **base)


def test_fold_adds_deeper_rows_into_their_ancestor() -> None:
    rows = [
        row(1, 1, None, params=5, trainable=True),
        row(2, 2, 1, params=3, mult_adds=30, buffers=2, trainable=False),
        row(3, 3, 2, params=4, mult_adds=40),
        row(4, 2, 1, kind="function"),
        row(5, 1, None, name="m2", params=0, shared=True, trainable=True),
        row(6, 2, 5, name="m2.x", params=1),
    ]
    folded = fold(rows, 1)
    assert [(r.index, r.params, r.mult_adds, r.buffers, r.folded) for r in folded] == [
        (1, 12, 70, 2, 3),
        (2, 1, 0, 0, 1),
    ]
    assert folded[0].trainable is True and folded[0].param_formula == "12"
    two = fold(rows, 2)
    assert [(r.index, r.parent, r.params, r.folded) for r in two] == [
        (1, None, 5, 0),
        (2, 1, 7, 1),
        (3, 1, 0, 0),
        (4, None, 0, 0),
        (5, 4, 1, 0),
    ]
    assert rows[0].params == 5  # the input rows are not changed
    with pytest.raises(ValueError, match="depth must be at least 1"):
        fold(rows, 0)


def test_a_module_called_twice_inside_one_folded_row_is_not_shared() -> None:
    rows = [
        row(1, 1, None, name="block"),
        row(2, 2, 1, name="block.fc", params=4),
        row(3, 2, 1, name="block.fc", shared=True),
        row(4, 1, None, name="other", params=1),
        row(5, 1, None, name="block.fc", shared=True),
    ]
    folded = fold(rows, 1)
    assert [(r.name, r.params, r.shared) for r in folded] == [
        ("block", 4, False),
        ("other", 1, False),
        ("block.fc", 0, True),
    ]


# ------------------------------------------------------------------ results


def test_summarize_module_describes_inputs_and_folds() -> None:
    class Two(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Sequential(nn.Linear(3, 2), nn.ReLU())
            self.b = nn.Embedding(5, 2)

        def forward(self, x: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
            return self.a(x) + self.b(ids).sum(1)

    x, ids = torch.zeros(2, 3), torch.zeros(2, 4, dtype=torch.long)
    result = summarize_module(
        Two(), (x,), {"ids": ids}, device="cpu", depth=1, functional=True, name="two", source="f"
    )
    assert result.inputs == [
        {"name": None, "shape": [2, 3], "dtype": "float32"},
        {"name": "ids", "shape": [2, 4], "dtype": "int64"},
    ]
    assert result.input_shape == [2, 3] and result.built_on == "cpu" and result.depth == 1
    assert [(r.name, r.kind, r.folded) for r in result.layers] == [
        ("a", "module", 2),
        ("b", "module", 0),
        ("sum", "function", 0),
        ("add", "function", 0),
    ]
    assert result.total_params == 8 + 10 == sum(r.params for r in result.layers)
    assert result.mult_adds == 2 * 8 + 2 * 10  # torchinfo: first output dim × params
    assert result.memory.input == 2 * 3 * 4 + 2 * 4 * 8
    assert result.mult_adds_rule == MULT_ADDS_RULE


def test_the_config_arithmetic_makes_the_tree_paths_rows() -> None:
    spec = load_config("deep_tanh")
    built = build_model(spec, meta=True)
    x = torch.empty(3, spec.input_features, device="meta")
    fast = summarize_spec(spec, 3, "cpu")
    tree = collect_tree(
        built.model, (x,), {}, functional=False, inits=built.inits, init_args=built.init_args
    )
    assert (fast.layers, fast.memory) == tree


def test_tied_weights_mult_adds_count_the_whole_layer() -> None:
    tied = nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 4))
    tied[2].weight = tied[0].weight
    result = summarize_module(
        tied,
        (torch.zeros(2, 4),),
        {},
        device="cpu",
        depth=1,
        functional=False,
        name="tied",
        source="<memory>",
    )
    info = torchinfo.summary(tied, input_data=torch.zeros(2, 4), verbose=0)
    assert result.mult_adds == info.total_mult_adds == 2 * 20 * 2


def test_a_pruned_weight_counts_its_dense_values() -> None:
    """nncli's one rule for pruned weights (issue 17), on the meta and the real build
    alike: the dense weight, where torchinfo counts the mask's ones."""
    layer = pruned_linear()  # Linear(6, 4), 12 of its 24 weights zeroed
    info = LayerInfo("x", layer, 1)
    info.output_size = [2, 4]
    info.calculate_macs()
    assert info.macs == 2 * (12 + 4)  # torchinfo: the mask's ones
    assert torchinfo_macs(layer, [2, 4]) == 2 * (24 + 4)  # nncli: the dense weight
