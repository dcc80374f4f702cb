"""``nncli draw``'s figure, measured as a teacher and an engineer would check it: drawn,
then every label's box compared with every other label and every neuron or block.

The graphs are built by hand from the dataclasses, so these tests do not depend on the
graph builders: an MLP of given layer sizes with random weights, and a block graph of
N nodes with residual merges.
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import matplotlib
import pytest
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyBboxPatch, Rectangle
from matplotlib.text import Text

from nncli.core.draw.graph import (
    BIAS,
    BLOCKS,
    FUNCTION,
    INPUT,
    MODULE,
    NEURON,
    NEURONS,
    OUTPUT,
    Edge,
    Graph,
    Layer,
    Node,
    bias_id,
    neuron_id,
)
from nncli.render import figures
from nncli.render.draw_figure import draw_figure

LANGS = [
    "en",
    pytest.param(
        "zh", marks=pytest.mark.skipif(figures.find_cjk_font() is None, reason="no CJK font")
    ),
]


# --- graphs by hand -------------------------------------------------------------------


def mlp_graph(
    sizes: Sequence[int],
    activations: Sequence[str | None] | None = None,
    *,
    seed: int = 0,
    values: bool = False,
    standardized: bool = False,
    name: str = "mlp",
) -> Graph:
    """An MLP of ``sizes`` (input first) with random weights and biases; with ``values``,
    random activation values, an input row and a prediction."""
    rng = random.Random(seed)
    last = len(sizes) - 1
    acts = list(activations) if activations else [None] + ["relu"] * (last - 1) + ["softmax"]
    nodes: list[Node] = []
    edges: list[Edge] = []
    layers: list[Layer] = []
    for k, size in enumerate(sizes):
        kind, letter = (INPUT, "x") if k == 0 else (OUTPUT, "y") if k == last else (NEURON, "h")
        for i in range(size):
            value = rng.uniform(-1.5, 2.0) if values else None
            nodes.append(
                Node(neuron_id(k, i), kind, k, i, f"{letter}{i + 1}", acts[k], value=value)
            )
        params = 0 if k == 0 else sizes[k - 1] * size + size
        formula = None if k == 0 else f"{sizes[k - 1]}×{size} + {size} = {params:,}"
        role = "input" if k == 0 else "output" if k == last else "hidden"
        layers.append(Layer(k, role, size, acts[k], params, formula, k > 0, f"linear{k}"))
        if k == 0:
            continue
        nodes.append(Node(bias_id(k), BIAS, k - 1, None, "+1", value=1.0 if values else None))
        for j in range(size):
            for i in range(sizes[k - 1]):
                edges.append(Edge(neuron_id(k - 1, i), neuron_id(k, j), rng.gauss(0, 0.7)))
            edges.append(Edge(bias_id(k), neuron_id(k, j), rng.gauss(0, 0.3)))
    return Graph(
        kind=NEURONS,
        name=name,
        source="configs/test.toml",
        nodes=tuple(nodes),
        edges=tuple(edges),
        layers=tuple(layers),
        total_params=sum(layer.params for layer in layers),
        weights="init",
        seed=seed,
        input_row=tuple(rng.uniform(-3, 3) for _ in range(sizes[0])) if values else None,
        standardized=standardized,
        prediction=1 if values and sizes[-1] > 1 else None,
    )


def demo_graph(**options: Any) -> Graph:
    return mlp_graph([3, 3, 2, 2], [None, "sigmoid", "relu", "softmax"], name="demo", **options)


def block_graph(count: int, *, seed: int = 0) -> Graph:
    """``count`` nodes: an input, a chain of convs with a residual "add (+)" every 4th
    node (its skip from 3 nodes back), a few function nodes, an output."""
    rng = random.Random(seed)
    nodes = [Node("input_0", INPUT, 0, None, "input", shape=(1, 3, 224, 224))]
    edges: list[Edge] = []
    for row in range(1, count - 1):
        ident = f"n{row}"
        previous = nodes[-1].id
        if row % 4 == 0 and row >= 4:
            nodes.append(Node(ident, FUNCTION, 2, row, "add (+)", shape=(1, 64, 56, 56), params=0))
            edges.append(Edge(nodes[row - 3].id, ident))
        elif row % 7 == 3:
            nodes.append(Node(ident, FUNCTION, 2, row, "flatten", shape=(1, 512), params=0))
        else:
            label = rng.choice(["Conv2d", "BatchNorm2d", "ReLU", "AdaptiveAvgPool2d", "Linear"])
            shape = (1, rng.choice([64, 128, 256, 512]), 56, 56)
            nodes.append(
                Node(ident, MODULE, 2, row, label, shape=shape, params=rng.randint(0, 2_400_000))
            )
        edges.append(Edge(previous, ident))
    nodes.append(Node("output_0", OUTPUT, 0, None, "output", shape=(1, 1000)))
    edges.append(Edge(nodes[-2].id, "output_0"))
    if count > 12:  # a skip that crosses from one column into the next
        edges.append(Edge(nodes[count // 2 - 3].id, nodes[count // 2 + 2].id))
    return Graph(
        kind=BLOCKS,
        name="ResNet",
        source="tests/models/zoo.py:resnet18",
        nodes=tuple(nodes),
        edges=tuple(edges),
        total_params=11_689_512,
        depth=3,
    )


NEURON_CASES = {
    "demo": demo_graph,
    "demo-values": lambda: demo_graph(values=True, standardized=True),
    "two-per-layer": lambda: mlp_graph([2, 2, 2, 2]),
    "deep-wide": lambda: mlp_graph([1] + [64] * 7 + [1]),
    "wide-values": lambda: mlp_graph([784, 256, 128, 10], values=True),
}
ALL_CASES = {
    **NEURON_CASES,
    "blocks-70": lambda: block_graph(70),
    "blocks-9": lambda: block_graph(9),
}


def _drawn(graph: Graph, lang: str = "en") -> Iterator[Figure]:
    with matplotlib.rc_context(), warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph would be a warning
        effective, _ = figures.apply_language(lang)
        fig = draw_figure(graph, effective)
        fig.canvas.draw()
        yield fig


# --- no label overlaps ----------------------------------------------------------------


def _boxes(fig: Figure) -> tuple[list[tuple[str, Any]], list[Any]]:
    """(text, box) of every visible text, and the boxes of the neurons and blocks."""
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    texts = [
        (t.get_text(), t.get_window_extent(renderer))
        for t in fig.findobj(Text)
        if t.get_visible() and t.get_text().strip()
    ]
    shapes = [
        p.get_window_extent(renderer)
        for p in fig.findobj(lambda a: isinstance(a, (Circle, Rectangle, FancyBboxPatch)))
        if p.axes is not None and p.axes is fig.axes[0]
    ]
    return texts, shapes


def _inside(inner: Any, outer: Any) -> bool:
    return bool(
        inner.x0 >= outer.x0 - 1
        and inner.x1 <= outer.x1 + 1
        and inner.y0 >= outer.y0 - 1
        and inner.y1 <= outer.y1 + 1
    )


def _assert_no_overlap(fig: Figure) -> None:
    texts, shapes = _boxes(fig)
    assert texts and shapes
    width, height = fig.bbox.width, fig.bbox.height
    for i, (name, box) in enumerate(texts):
        assert box.x0 >= 0 and box.y0 >= 0 and box.x1 <= width and box.y1 <= height, name
        for other, second in texts[i + 1 :]:
            assert not box.overlaps(second), (name, other)
        for shape in shapes:
            # a label may sit inside its own neuron or block, never across one's edge
            assert not box.overlaps(shape) or _inside(box, shape), (name, shape)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("case", sorted(ALL_CASES))
def test_no_label_overlaps_another_label_or_a_node(case: str, lang: str) -> None:
    for fig in _drawn(ALL_CASES[case](), lang):
        _assert_no_overlap(fig)


def test_the_overlap_check_catches_a_label_on_a_neuron() -> None:
    for fig in _drawn(demo_graph()):
        ax = fig.axes[0]
        circle = next(p for p in ax.patches if isinstance(p, Circle))
        ax.text(circle.center[0] + 0.15, circle.center[1], "a long label across it")
        fig.canvas.draw()
        with pytest.raises(AssertionError):
            _assert_no_overlap(fig)


@pytest.mark.parametrize("case", sorted(ALL_CASES))
def test_every_text_is_at_least_7_pt(case: str) -> None:
    for fig in _drawn(ALL_CASES[case]()):
        for text in fig.findobj(Text):
            if text.get_text().strip():
                assert text.get_fontsize() >= 7, text


# --- what the neuron diagram shows ----------------------------------------------------


def _texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


def test_the_demo_shows_what_the_first_slide_shows() -> None:
    for fig in _drawn(demo_graph()):
        texts = _texts(fig)
        for expected in ("Input layer", "Hidden layer 1", "Hidden layer 2", "Output layer"):
            assert expected in texts
        for expected in (
            "Sigmoid",
            "ReLU",
            "Softmax",
            "3×3 + 3 = 12",
            "3×2 + 2 = 8",
            "2×2 + 2 = 6",
        ):
            assert expected in texts
        assert "demo · 26 parameters" in texts
        assert "weights: seeded init (seed 0)" in texts
        assert {"x1", "x3", "h1", "h3", "y2"} <= set(texts)
        assert texts.count("+1") == 3
        assert sum(isinstance(p, Circle) for p in fig.axes[0].patches) == 10
        (lines,) = [c for c in fig.axes[0].collections if isinstance(c, LineCollection)]
        assert len(lines.get_segments()) == 19 + 7  # every connection, biases included
        assert any(ax.get_ylabel() == "weight w, bias b" for ax in fig.axes[1:])


@pytest.mark.parametrize("lang", LANGS)
def test_chinese_labels(lang: str) -> None:
    if lang != "zh":
        return
    for fig in _drawn(demo_graph(values=True, standardized=True), "zh"):
        texts = _texts(fig)
        for expected in (
            "输入层",
            "隐藏层 1",
            "隐藏层 2",
            "输出层",
            "demo · 26 个参数",
            "预测: y2",
        ):
            assert expected in texts


def test_colour_is_the_sign_and_width_the_size_of_the_weight() -> None:
    graph = demo_graph()
    for fig in _drawn(graph):
        (lines,) = [c for c in fig.axes[0].collections if isinstance(c, LineCollection)]
        colours, widths = lines.get_colors(), lines.get_linewidths()
        drawn = sorted(graph.edges, key=lambda e: abs(e.weight or 0.0))
        top = max(abs(e.weight or 0.0) for e in graph.edges)
        for edge, colour, width in zip(drawn, colours, widths, strict=True):
            assert edge.weight is not None
            blue = colour[2] > colour[0]
            assert blue == (edge.weight > 0)
            share = abs(edge.weight) / top
            assert width == pytest.approx(0.5 + 2.7 * share)
            assert colour[3] == pytest.approx(0.3 + 0.65 * share)


def test_a_wide_layer_is_elided_with_a_count() -> None:
    for fig in _drawn(mlp_graph([784, 256, 128, 10])):
        texts = _texts(fig)
        assert "⋮ (776 more)" in texts and "⋮ (248 more)" in texts and "⋮ (120 more)" in texts
        assert {"x1", "x4", "x781", "x784", "y1", "y10"} <= set(texts)
        assert "x5" not in texts
        (lines,) = [c for c in fig.axes[0].collections if isinstance(c, LineCollection)]
        # connections only among drawn neurons: 8×8 + 8×8 + 8×10, and 8 + 8 + 10 biases
        assert len(lines.get_segments()) == 64 + 64 + 80 + 26


def test_values_prediction_and_standardisation_are_shown() -> None:
    graph = demo_graph(values=True, standardized=True)
    for fig in _drawn(graph):
        texts = _texts(fig)
        assert "prediction: y2" in texts
        assert "inputs standardised as in training" in texts
        assert graph.input_row is not None
        assert f"{graph.input_row[0]:.3g} →" in texts
        assert any(ax.get_ylabel() == "activation" for ax in fig.axes[1:])
        fills = {p.get_facecolor() for p in fig.axes[0].patches if isinstance(p, Circle)}
        assert len(fills) > 3  # filled by value, not all white
        rings = [p for p in fig.axes[0].patches if isinstance(p, Circle) and p.get_linewidth() > 2]
        assert len(rings) == 1


def test_a_graph_without_weights_draws_grey_lines_and_no_colour_bar() -> None:
    graph = demo_graph()
    bare = Graph(
        kind=graph.kind,
        name=graph.name,
        source=graph.source,
        nodes=graph.nodes,
        edges=tuple(Edge(e.source, e.target) for e in graph.edges),
        layers=graph.layers,
        total_params=graph.total_params,
    )
    for fig in _drawn(bare):
        assert len(fig.axes) == 1
        assert "weights:" not in " ".join(_texts(fig))


def test_odd_graphs_still_draw() -> None:
    """Non-finite weights, no nodes at all, a three-node block graph: a figure, no error."""
    graph = demo_graph()
    first, second, *rest = graph.edges
    odd = (
        Edge(first.source, first.target, float("nan")),
        Edge(second.source, second.target, float("inf")),
    )
    for bad in (
        Graph(**{**graph.__dict__, "edges": (*odd, *rest)}),
        Graph(NEURONS, "empty", "x", (), ()),
        Graph(BLOCKS, "empty", "x", (), ()),
        block_graph(3),
    ):
        for fig in _drawn(bad):
            assert fig.get_size_inches()[0] > 1


# --- the block diagram ----------------------------------------------------------------


def test_blocks_show_type_shape_and_params_and_snake_into_columns() -> None:
    graph = block_graph(70)
    for fig in _drawn(graph):
        texts = _texts(fig)
        assert "ResNet · 11,689,512 parameters" in texts
        assert "input" in texts and "output" in texts and "add (+)" in texts
        node = next(n for n in graph.nodes if n.kind == MODULE and n.params)
        assert node.shape is not None and node.params is not None
        detail = f"[{', '.join(map(str, node.shape))}]\n{node.params:,} params"
        assert detail in texts
        boxes = [p for p in fig.axes[0].patches if isinstance(p, FancyBboxPatch)]
        assert len(boxes) == 70
        columns = {round(b.get_x(), 3) for b in boxes}
        assert 3 <= len(columns) <= 8
        renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
        extents = [b.get_window_extent(renderer) for b in boxes]
        for i, one in enumerate(extents):
            for two in extents[i + 1 :]:
                assert not one.overlaps(two)


def test_a_short_block_graph_is_one_column_and_merges_are_marked() -> None:
    graph = block_graph(9)
    for fig in _drawn(graph):
        boxes = [p for p in fig.axes[0].patches if isinstance(p, FancyBboxPatch)]
        assert len({round(b.get_x(), 3) for b in boxes}) == 1
        merges = [b for b in boxes if b.get_linewidth() > 1.5]
        assert len(merges) == 1  # the "add (+)" with two incoming edges
        arrows = [p for p in fig.axes[0].patches if type(p).__name__ == "FancyArrowPatch"]
        assert len(arrows) == len(graph.edges)


# --- reproducible, headless, quick ----------------------------------------------------


@pytest.mark.parametrize("case", ["demo-values", "blocks-70"])
def test_byte_reproducible(tmp_path: Path, case: str) -> None:
    for fmt in ("png", "svg"):
        outputs = []
        for k in range(2):
            for fig in _drawn(ALL_CASES[case]()):
                outputs.append(figures.save_figure(fig, tmp_path / f"{k}.{fmt}").read_bytes())
        assert outputs[0] == outputs[1]


def test_through_render_and_save(tmp_path: Path) -> None:
    graph = demo_graph()
    outcome = figures.render_and_save(
        lambda lang, plt: draw_figure(graph, lang, plt),
        tmp_path / "network.png",
        lang="en",
        dpi=150,
        show=False,
    )
    assert outcome.path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
