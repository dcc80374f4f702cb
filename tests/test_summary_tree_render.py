"""How `summary` draws the tree of a user's model (issue 10): golden files at 80 and 120
columns, the tree's lines, shapes of tuples and dicts, totals with buffers, budgets, and
that no width from 60 to 140 columns cuts a name or a number.

The results are made by hand, so these tests pin the rendering alone; every number in
them is checked against torchinfo (parameters and mult-adds per layer, totals) and torch
(buffers) on the real modules they describe.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable, Iterator
from contextlib import redirect_stdout
from typing import Any
from unittest.mock import patch

import pytest
import torch
import torchinfo
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from torch import nn
from torch.nn import functional as F

from nncli.core.model.budgets import Budget
from nncli.core.model.results import LayerRow, Memory, SummaryResult
from nncli.render.console import stdout_console
from nncli.render.tables import format_shape, is_tree, render_summary, tree_labels

from .conftest import check_golden

WIDTHS = (80, 120)
BATCH = 2
FLOAT = 4  # bytes per float32 element

# ------------------------------------------------------------------ the models described


class Block(nn.Module):
    """torchvision's BasicBlock without downsampling: the skip connection is ``out + x``."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + x)


class TinyResNet(nn.Module):
    """Stem, two blocks, pooling, and ``fc`` called twice (its weights counted once)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.layer1 = nn.Sequential(Block(8), Block(8))
        self.fc = nn.Linear(8, 8)
        self.head = nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn(self.stem(x)))
        x = self.layer1(x)
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        x = self.fc(F.relu(self.fc(x)))
        return self.head(x)


class Heads(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.logits = nn.Linear(20, 10)
        self.aux = nn.Linear(20, 2)

    def forward(self, last: torch.Tensor, h: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"logits": self.logits(last), "aux": self.aux(h)}


class Tagger(nn.Module):
    """Embedding, an LSTM (a nested tuple out) and heads that return a dict."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(100, 12)
        self.lstm = nn.LSTM(12, 20, batch_first=True)
        self.heads = Heads()

    def forward(self, tokens: torch.Tensor) -> dict[str, torch.Tensor]:
        out, (h, _) = self.lstm(self.embed(tokens))
        return self.heads(out[:, -1], h[0])


# ------------------------------------------------------------------ their results, by hand

IMAGE = [BATCH, 8, 16, 16]  # every feature map of TinyResNet
CONV3X3 = 8 * 8 * 3 * 3  # 576 weights, no bias
BN = 2 * 8  # weight and bias
BN_BUFFERS = 8 + 8 + 1  # running mean and variance, num_batches_tracked


def _rows(spec: list[tuple[Any, ...]]) -> list[LayerRow]:
    """Rows from (name, type, input, output, params, trainable, mult_adds, parent, extra);
    depth follows from the parent; ``extra`` sets kind, shared, buffers, folded."""
    rows: list[LayerRow] = []
    for index, (name, kind_type, inp, out, params, trainable, macs, parent, extra) in enumerate(
        spec, 1
    ):
        depth = 1 if parent is None else rows[parent - 1].depth + 1
        rows.append(
            LayerRow(
                index=index,
                name=name,
                type=kind_type,
                input_shape=inp,
                output_shape=out,
                params=params,
                param_formula=f"{params:,}",
                init="default" if params else "-",
                trainable=trainable,
                mult_adds=macs,
                depth=depth,
                parent=parent,
                **extra,
            )
        )
    return rows


FN: dict[str, Any] = {"kind": "function"}


def _block(prefix: str, parent: int, me: int) -> list[tuple[Any, ...]]:
    """Rows of a Block at row ``me``, a child of row ``parent``."""
    conv = CONV3X3 * 16 * 16 * BATCH  # torchinfo: weights × output positions × batch
    bn = {"buffers": BN_BUFFERS}
    return [
        (prefix, "Block", IMAGE, IMAGE, 0, None, 0, parent, {}),
        (f"{prefix}.conv1", "Conv2d", IMAGE, IMAGE, CONV3X3, True, conv, me, {}),
        (f"{prefix}.bn1", "BatchNorm2d", IMAGE, IMAGE, BN, True, BN * BATCH, me, bn),
        (f"{prefix}.relu", "F.relu", IMAGE, IMAGE, 0, None, 0, me, FN),
        (f"{prefix}.conv2", "Conv2d", IMAGE, IMAGE, CONV3X3, True, conv, me, {}),
        (f"{prefix}.bn2", "BatchNorm2d", IMAGE, IMAGE, BN, True, BN * BATCH, me, bn),
        (f"{prefix}.add", "add (+)", [IMAGE, IMAGE], IMAGE, 0, None, 0, me, FN),
        (f"{prefix}.relu_1", "F.relu", IMAGE, IMAGE, 0, None, 0, me, FN),
    ]


def resnet_result() -> SummaryResult:
    image_in = [BATCH, 3, 16, 16]
    stem = 3 * 8 * 3 * 3
    spec: list[tuple[Any, ...]] = [
        ("stem", "Conv2d", image_in, IMAGE, stem, True, stem * 16 * 16 * BATCH, None, {}),
        ("bn", "BatchNorm2d", IMAGE, IMAGE, BN, True, BN * BATCH, None, {"buffers": BN_BUFFERS}),
        ("relu", "F.relu", IMAGE, IMAGE, 0, None, 0, None, FN),
        ("layer1", "Sequential", IMAGE, IMAGE, 0, None, 0, None, {}),
    ]
    spec += _block("layer1.0", 4, len(spec) + 1)
    spec += _block("layer1.1", 4, len(spec) + 1)
    pooled = [BATCH, 8, 1, 1]
    spec += [
        ("adaptive_avg_pool2d", "F.adaptive_avg_pool2d", IMAGE, pooled, 0, None, 0, None, FN),
        ("flatten", "torch.flatten", pooled, [BATCH, 8], 0, None, 0, None, FN),
        ("fc", "Linear", [BATCH, 8], [BATCH, 8], 8 * 8 + 8, True, BATCH * 72, None, {}),
        ("relu_1", "F.relu", [BATCH, 8], [BATCH, 8], 0, None, 0, None, FN),
        ("fc", "Linear", [BATCH, 8], [BATCH, 8], 0, True, BATCH * 72, None, {"shared": True}),
        ("head", "Linear", [BATCH, 8], [BATCH, 10], 8 * 10 + 10, True, BATCH * 90, None, {}),
    ]
    rows = _rows(spec)
    return _result("TinyResNet", "tests/models/zoo.py:TinyResNet", rows, [image_in], ["float32"])


def tagger_result() -> SummaryResult:
    tokens = [BATCH, 16]
    seq = [BATCH, 16, 20]
    state = [1, BATCH, 20]
    lstm = 4 * 20 * (12 + 20) + 2 * 4 * 20  # four gates: weights and both biases
    spec: list[tuple[Any, ...]] = [
        ("embed", "Embedding", tokens, [BATCH, 16, 12], 100 * 12, True, BATCH * 1200, None, {}),
        # torchinfo: an LSTM's mult-adds are its weights × sequence length × batch
        ("lstm", "LSTM", [BATCH, 16, 12], [seq, [state, state]], lstm, True, lstm * 16 * 2, None,
         {}),
        ("heads", "Heads", [[BATCH, 20], [BATCH, 20]], {"logits": [BATCH, 10], "aux": [BATCH, 2]},
         0, None, 0, None, {}),
        ("heads.logits", "Linear", [BATCH, 20], [BATCH, 10], 210, True, BATCH * 210, 3, {}),
        ("heads.aux", "Linear", [BATCH, 20], [BATCH, 2], 42, True, BATCH * 42, 3, {}),
    ]  # fmt: skip
    rows = _rows(spec)
    result = _result("Tagger", "tests/models/zoo.py:Tagger", rows, [tokens], ["int64"])
    result.inputs[0]["name"] = "tokens"
    result.built_on = "cpu"
    result.fallback = "LSTM's forward does not run on the meta device (aten::_cudnn_rnn)"
    return result


def _result(
    name: str, spec: str, rows: list[LayerRow], shapes: list[list[int]], dtypes: list[str]
) -> SummaryResult:
    total = sum(row.params for row in rows)
    buffers = sum(row.buffers for row in rows)
    # num_batches_tracked is int64 (8 bytes), the running statistics float32
    buffer_bytes = sum(16 * FLOAT + 8 for row in rows if row.buffers)
    return SummaryResult(
        model_name=name,
        source=spec,
        device="cpu",
        built_on="meta",
        input_shape=shapes[0],
        layers=rows,
        total_params=total,
        trainable_params=total,
        non_trainable_params=0,
        mult_adds=sum(row.mult_adds for row in rows),
        memory=Memory(
            input=sum(_numel(s) for s in shapes) * FLOAT,
            activations=sum(_numel(row.output_shape) for row in rows) * FLOAT,
            params=total * FLOAT,
            buffers=buffer_bytes,
        ),
        depth=3,
        buffers=buffers,
        inputs=[
            {"name": None, "shape": s, "dtype": d} for s, d in zip(shapes, dtypes, strict=True)
        ],
        model_spec=spec,
    )


def _numel(shape: Any) -> int:
    if shape is None:
        return 0
    if isinstance(shape, dict):
        return sum(_numel(v) for v in shape.values())
    if any(not isinstance(d, int) for d in shape):
        return sum(_numel(v) for v in shape)
    n = 1
    for d in shape:
        n *= d
    return n


def folded(result: SummaryResult, depth: int) -> SummaryResult:
    """``result`` at --depth ``depth``: deeper rows' counts summed into their ancestor."""
    keep = [row for row in result.layers if row.depth <= depth]
    by_index = {row.index: row for row in result.layers}
    for row in result.layers:
        if row.depth > depth:
            top = row
            while top.depth > depth:
                top = by_index[top.parent]  # type: ignore[index]
            top.params += row.params
            top.mult_adds += row.mult_adds
            top.buffers += row.buffers
            top.folded += 1
            top.trainable = True if row.trainable else top.trainable
    result.layers = keep
    result.depth = depth
    return result


# ------------------------------------------------------------------ the numbers are right


def _torchinfo_layers(model: nn.Module, data: Any) -> tuple[Any, dict[str, tuple[int, int]]]:
    info = torchinfo.summary(model, input_data=data, depth=8, verbose=0, device="cpu")
    layers = {}
    for layer in info.summary_list:
        path: list[str] = []
        node: Any = layer
        while node is not None and node.depth > 0:
            path.append(node.var_name)
            node = node.parent_info
        if not layer.is_recursive and not list(layer.module.children()):
            layers[".".join(reversed(path))] = (layer.num_params, layer.macs)
    return info, layers


@pytest.mark.parametrize(
    ("make", "model", "data"),
    [
        (resnet_result, TinyResNet, lambda: [torch.zeros(BATCH, 3, 16, 16)]),
        (tagger_result, Tagger, lambda: [torch.zeros(BATCH, 16, dtype=torch.long)]),
    ],
)
def test_the_hand_made_results_agree_with_torchinfo_and_torch(
    make: Callable[[], SummaryResult], model: type[nn.Module], data: Callable[[], list[Any]]
) -> None:
    result, module = make(), model()
    info, layers = _torchinfo_layers(module, data())
    counted = [r for r in result.layers if r.kind == "module" and not r.shared and r.params]
    assert {r.name: (r.params, r.mult_adds) for r in counted} == layers
    assert result.total_params == info.total_params
    assert result.mult_adds == info.total_mult_adds  # fc's second call included
    assert result.buffers == sum(b.numel() for b in module.buffers())
    assert result.memory.buffers == sum(b.numel() * b.element_size() for b in module.buffers())
    tuple_out = dict(module.named_modules()).get("lstm")
    if tuple_out is not None:
        out, (h, c) = tuple_out(torch.zeros(BATCH, 16, 12))
        assert result.layers[1].output_shape == [list(out.shape), [list(h.shape), list(c.shape)]]


# ------------------------------------------------------------------ rendering


def render(result: SummaryResult, width: int, budgets: Any = None) -> str:
    """What ``nncli summary`` prints to a pipe, NO_COLOR, at ``width`` columns."""
    buffer = io.StringIO()
    env = {"NO_COLOR": "1", "COLUMNS": str(width)}
    with patch.dict(os.environ, env), redirect_stdout(buffer):
        render_summary(result, stdout_console(), budgets)
    return buffer.getvalue()


@pytest.mark.parametrize("width", WIDTHS)
def test_resnet_tree_golden(width: int) -> None:
    check_golden(f"summary_tree_resnet_{width}.txt", render(resnet_result(), width))


@pytest.mark.parametrize("width", WIDTHS)
def test_lstm_tuple_and_dict_outputs_golden(width: int) -> None:
    check_golden(f"summary_tree_tagger_{width}.txt", render(tagger_result(), width))


def test_folded_rows_golden() -> None:
    check_golden("summary_tree_resnet_depth2_80.txt", render(folded(resnet_result(), 2), 80))


def test_budgets_golden() -> None:
    result = resnet_result()
    budgets = [
        Budget("--max-params", "2k", 2000, result.total_params, "parameters", False),
        Budget("--max-memory", "1MiB", 2**20, result.memory.total, "bytes", True),
    ]
    out = render(result, 80, budgets)
    check_golden("summary_tree_budgets_80.txt", out)
    over = (result.total_params - 2000) / 2000 * 100  # 38.1%
    assert f"exceeded by {over:.1f}%" in out
    assert re.search(rf"--max-params +2k = 2,000 +{result.total_params:,} +exceeded by", out)
    total = result.memory.total
    assert re.search(rf"--max-memory +1MiB = {2**20:,} B +[0-9.]+ KiB = {total:,} B +ok\n", out)


def test_the_tree_is_drawn_from_the_parents() -> None:
    """A written-out tree: last children close with └─, open ancestors continue with │."""
    rows = _rows(
        [
            ("a", "A", [1], [1], 0, None, 0, None, {}),
            ("a.b", "B", [1], [1], 0, None, 0, 1, {}),
            ("a.b.c", "C", [1], [1], 0, None, 0, 2, {}),
            ("a.b.d", "D", [1], [1], 0, None, 0, 2, {"shared": True}),
            ("a.e", "E", [1], [1], 0, None, 0, 1, {"folded": 3}),
            ("a.e.f", "F.relu", [1], [1], 0, None, 0, 5, FN),
            ("g", "G", [1], [1], 0, None, 0, None, {}),
            ("g.h", "H", [1], [1], 0, None, 0, 7, {}),
            ("", "Linear", [1], [1], 0, None, 0, None, {}),  # the model itself, a leaf
        ]
    )
    assert tree_labels(rows) == [
        "a",
        "├─b",
        "│ ├─c",
        "│ └─d (shared)",
        "└─e (+3)",
        "  └─F.relu",
        "g",
        "└─h",
        "(model)",
    ]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ([5, 3, 32, 32], "[5, 3, 32, 32]"),
        ((5, 3), "[5, 3]"),
        ([], "[]"),
        (None, "-"),
        ([[5, 10, 20], [[1, 5, 20], [1, 5, 20]]], "([5, 10, 20], ([1, 5, 20], [1, 5, 20]))"),
        ({"logits": [5, 10], "aux": [5, 2]}, "{logits: [5, 10], aux: [5, 2]}"),
        ([[5, 3], None, {"x": [[1], [2]]}], "([5, 3], -, {x: ([1], [2])})"),
    ],
)
def test_shapes_of_tensors_tuples_dicts_and_none(value: Any, text: str) -> None:
    assert format_shape(value) == text


def test_a_flat_config_keeps_the_table_and_a_tree_does_not() -> None:
    result = resnet_result()
    assert is_tree(result)
    flat = resnet_result()
    flat.layers = [row for row in flat.layers if row.depth == 1 and row.kind == "module"]
    flat.layers = [row for row in flat.layers if not row.shared]
    flat.model_spec = None
    assert not is_tree(flat)  # the configs' table, byte for byte: tests/test_summary*.py


def test_header_names_the_model_inputs_and_the_fallback() -> None:
    out = render(tagger_result(), 120)
    first, second = out.splitlines()[:2]
    assert (
        first
        == "Tagger · model tests/models/zoo.py:Tagger · device cpu · input tokens [2, 16] (long)"
    )
    assert second == (
        "built on cpu: LSTM's forward does not run on the meta device (aten::_cudnn_rnn)"
    )
    result = resnet_result()
    result.inputs = [
        {"name": "x", "shape": [5, 3, 32, 32], "dtype": "float32"},
        {"name": "tokens", "shape": [5, 16], "dtype": "torch.int64"},
    ]
    first, second = render(result, 120).splitlines()[:2]
    assert first.endswith("· inputs x [5, 3, 32, 32], tokens [5, 16] (long)")
    assert second == "shapes from torch's meta device, no weights allocated"


def test_totals_count_buffers_apart_and_only_when_there_are_any() -> None:
    result = resnet_result()
    out = render(result, 120)
    assert re.search(rf"Buffers \(not parameters\) +{5 * BN_BUFFERS}\n", out)  # 5 BatchNorms
    assert re.search(r"Buffer memory +360 B\n", out)  # 5 × (16 float32 + 1 int64)
    m = result.memory
    total = m.input + m.activations + m.params + m.buffers
    assert re.search(rf"Estimated total +{total / 1024:.2f} KiB\n", out)
    out = render(tagger_result(), 120)
    assert "Buffer" not in out


def test_marks_are_explained_and_readable_without_colour() -> None:
    out = render(folded(resnet_result(), 2), 120)
    assert "0 (+7)" in out  # layer1.0 and layer1.1, seven rows each folded in
    assert "fc (shared)" in out
    assert "function = a call in forward (F.relu, x + y), not a module" in out
    assert "(shared) = weights already counted at an earlier row; Params are the new ones" in out
    assert "(+N) = includes the counts of N rows below --depth 2" in out
    assert "\x1b[" not in out
    functions = [line for line in out.splitlines() if "F.relu" in line]
    assert functions and all("function" in line for line in functions)


def test_user_strings_print_literally() -> None:
    result = resnet_result()
    result.model_name = "[bold]net[/bold]"
    result.model_spec = "m[1].py:Net"
    result.layers[0].name = "[red]stem[/red]"
    result.layers[1].type = "Batch[Norm]"
    out = render(result, 140)
    for text in ("[bold]net[/bold]", "m[1].py:Net", "[red]stem[/red]", "Batch[Norm]"):
        assert text in out


def test_no_trailing_spaces_and_no_line_past_the_width() -> None:
    for width in (60, *WIDTHS):
        for result in (resnet_result(), tagger_result(), folded(resnet_result(), 2)):
            lines = render(result, width).splitlines()
            assert all(line == line.rstrip() for line in lines)
            assert max(cell_len(line) for line in lines) <= width


# ------------------------------------------------------------------ any tree, any width

NAMES = st.text(alphabet="ab_Z9[], ", min_size=1, max_size=8).filter(lambda s: s.strip())
DIM = st.integers(min_value=0, max_value=10**7)
TENSOR = st.lists(DIM, min_size=0, max_size=4)
SHAPES = st.one_of(
    st.none(),
    TENSOR,
    st.lists(TENSOR, min_size=1, max_size=3),
    st.dictionaries(st.text(alphabet="xyz", min_size=1, max_size=4), TENSOR, min_size=1,
                    max_size=2),
)  # fmt: skip


@st.composite
def trees(draw: st.DrawFn) -> SummaryResult:
    count = draw(st.integers(min_value=1, max_value=14))
    spec: list[tuple[Any, ...]] = []
    path: list[int] = []  # indices of the open ancestors
    names: list[str] = []
    for index in range(1, count + 1):
        depth = draw(st.integers(min_value=1, max_value=min(len(path) + 1, 5)))
        path = path[: depth - 1]
        parent = path[-1] if path else None
        function = draw(st.booleans())
        name = draw(NAMES)
        full = ".".join([*(names[p - 1] for p in path), name])
        extra: dict[str, Any] = {"kind": "function"} if function else {}
        extra |= {"shared": draw(st.booleans()), "folded": draw(st.integers(0, 99))}
        params = draw(st.integers(0, 10**11))
        macs = draw(st.integers(0, 10**13))
        trainable = draw(st.sampled_from([True, False, None]))
        kind_type = draw(st.sampled_from(["F.relu", "add (+)", "torch.cat"])) if function else (
            draw(st.sampled_from(["Conv2d", "MultiheadAttention", "[Weird, Type]"]))
        )  # fmt: skip
        shapes = draw(SHAPES), draw(SHAPES)
        spec.append((full, kind_type, *shapes, params, trainable, macs, parent, extra))
        names.append(name)
        path.append(index)
    result = _result("random", "m.py:Net", _rows(spec), [[1, 2]], ["float32"])
    result.depth = 5
    return result


def _row_lines(lines: list[str], index: int, count: int) -> Iterator[str]:
    """The lines that start row ``index`` in each layer table (# right-justified)."""
    pattern = re.compile(rf"^ {' ' * (len(str(count)) - len(str(index)))}{index}   ")
    return (line for line in lines if pattern.match(line))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(result=trees(), width=st.integers(min_value=60, max_value=140))
def test_no_width_cuts_a_name_or_a_number(result: SummaryResult, width: int) -> None:
    assert_nothing_cut(result, width)


def assert_nothing_cut(result: SummaryResult, width: int) -> None:
    """No line past ``width``, no ellipsis; each row's tree label, parameter count and
    mult-adds whole on the line that starts the row in each table; every word of its
    shapes whole somewhere (a long tuple of shapes may wrap between words)."""
    out = render(result, width)
    lines = out.splitlines()
    assert max(cell_len(line) for line in lines) <= width
    assert "…" not in out
    words = {word for line in lines for word in line.split()}
    labels = tree_labels(result.layers)
    count = len(result.layers)
    for row, label in zip(result.layers, labels, strict=True):
        starts = list(_row_lines(lines, row.index, count))
        assert starts, (row.index, out)
        assert all(label in line for line in starts), (label, out)
        numbers = (f"{row.params:,}", f"{row.mult_adds:,}")
        for number in numbers:
            assert any(re.search(rf"(^| ){number}( |$)", line) for line in starts), number
        for value in (row.input_shape, row.output_shape):
            assert set(format_shape(value).split()) <= words, (value, out)


@pytest.fixture(scope="module")
def zoo_results() -> list[SummaryResult]:
    """The zoo's models as the summary makes them (tests/models/zoo.py), depth 3 and 1."""
    from nncli.core.model.hooks import summarize_module

    from .models.zoo import zoo

    results = []
    for name, (model, args) in zoo().items():
        for depth in (3, 1):
            results.append(
                summarize_module(
                    model, args, {}, device="cpu", depth=depth, functional=depth >= 3,
                    name=name, source="zoo", model_spec=f"tests/models/zoo.py:{name}",
                )
            )  # fmt: skip
    return results


@pytest.mark.parametrize("width", [60, *WIDTHS])
def test_the_zoo_prints_whole_at_every_width(zoo_results: list[SummaryResult], width: int) -> None:
    for result in zoo_results:
        assert_nothing_cut(result, width)
