"""``nncli draw``'s figure: a neuron diagram (the tutorial's first slide) or a block
diagram (what an engineer pastes into a design doc), from one :class:`Graph`.

Both are drawn on one axes that fills the figure, in inches (one data unit = one inch),
so circles stay round and every gap is a known distance whatever the figure's size.

Neurons: one column of circles per layer, every connection a line whose colour is the
sign of its weight (RdBu's ends, as the DOT output) and whose width and opacity grow
with |w|; the "+1" bias node of a layer is a square at the bottom of the previous
column. A layer wider than :data:`~nncli.limits.MAX_DRAWN_NEURONS` shows its first and
last :data:`~nncli.core.draw.graph.KEEP_EACH_END` neurons with "⋮ (N more)" between
them. With ``--input`` each neuron is filled by its value and the prediction is ringed.

Blocks: one box per node in the order of ``Graph.nodes`` (a topological order),
top to bottom, snaking into several columns when there are many; skip connections
are curved arrows beside the column, arrows between columns run through the margin
above the columns.

matplotlib is imported inside the functions only; the figure is built on a bare
``Figure`` (Agg) unless a pyplot module is handed in for ``--show``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nncli.core.draw.graph import (
    BIAS,
    BLOCKS,
    FUNCTION,
    INPUT,
    KEEP_EACH_END,
    MODULE,
    OUTPUT,
    Graph,
    Layer,
    Node,
    bias_id,
    shown_indices,
)
from nncli.fmt import num
from nncli.render.draw_text import LAYER_NAMES, activation_label, block_lines
from nncli.render.figures import new_figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "input": LAYER_NAMES["en"][0],
        "hidden": LAYER_NAMES["en"][1],
        "output": LAYER_NAMES["en"][2],
        "more": "⋮ ({n} more)",
        "inputs": "{n} inputs",
        "one_input": "1 input",
        "title": "{name} · {params} parameters",
        "init": "weights: seeded init (seed {seed})",
        "init_unseeded": "weights: initialisation",
        "checkpoint": "weights: trained (checkpoint)",
        "weight": "weight w, bias b",
        "activation": "activation",
        "prediction": "prediction: {label}",
        "standardized": "inputs standardised as in training",
        "depth": "{source} · depth {depth}",
        "bold": "bold",
    },
    "zh": {
        "input": LAYER_NAMES["zh"][0],
        "hidden": LAYER_NAMES["zh"][1],
        "output": LAYER_NAMES["zh"][2],
        "more": "⋮ (还有 {n} 个)",
        "inputs": "{n} 个输入",
        "one_input": "1 个输入",
        "title": "{name} · {params} 个参数",
        "init": "权重: 随机初始化 (种子 {seed})",
        "init_unseeded": "权重: 初始化",
        "checkpoint": "权重: 训练所得 (检查点)",
        "weight": "权重 w、偏置 b",
        "activation": "激活值",
        "prediction": "预测: {label}",
        "standardized": "输入已按训练时的方式标准化",
        "depth": "{source} · 深度 {depth}",
        # CJK fonts rarely come in bold: matplotlib would log a findfont warning
        "bold": "normal",
    },
}

# --- neuron diagram geometry (inches) and style ----------------------------------------
RADIUS = 0.19
ROW = 0.55  # vertical pitch of a column's neurons
ROW_VALUES = 0.74  # with --input: room for the value under each circle
MIN_COLUMN = 1.6  # horizontal pitch of the layers, at least
TITLE_ROOM = 0.8  # the figure's two title lines
HEADER_ROOM = 0.4  # the column titles
FOOTER_LINE = 0.19  # one line under a column (activation, formula, prediction)
MARGIN = 0.35
INPUT_ROOM = 0.75  # left of the input column, for the input row's values
COLORBAR_ROOM = 1.05  # per colour bar, right of the last column
TITLE_PT, SUBTITLE_PT, HEADER_PT, FOOTER_PT, NEURON_PT, VALUE_PT = 13, 9, 10, 8, 9, 7
NEGATIVE_COLOUR, POSITIVE_COLOUR = "#b2182b", "#2166ac"  # RdBu's ends
MIN_WIDTH, MAX_WIDTH = 0.5, 3.2  # points, a connection at |w| = 0 and at max |w|
MIN_ALPHA, MAX_ALPHA = 0.3, 0.95
VALUE_CMAP = "Greens"
TEXT_GREY = "0.35"

# --- block diagram geometry (inches) and style -----------------------------------------
BOX_HEIGHT = 0.56
BOX_GAP = 0.34  # vertical, between a box and the next: room for its arrow
COLUMN_GAP = 1.0  # between columns: the skip arcs and the arrows to the next column
ONE_COLUMN_MAX = 14  # up to this many nodes stay in one column
ASPECT = 2.4  # rows ≈ sqrt(ASPECT × nodes): a page a little taller than wide
LABEL_PT, DETAIL_PT = 8.0, 7.5
LANE_TOP = 0.12  # the first lane above the columns, for arrows between columns
LANE_STEP = 0.07
SKIP_ARM = 0.16  # how far a skip arc leaves its column, and each further lane's step
SKIP_LANE = 0.1
MAX_LANES = 5
FLOW_COLOUR, SKIP_COLOUR = "0.25", "#d95f02"
STYLE: dict[str, dict[str, Any]] = {
    INPUT: {
        "facecolor": "#d9f0d3",
        "edgecolor": "#1b7837",
        "boxstyle": "round,pad=0,rounding_size=0.12",
    },
    OUTPUT: {
        "facecolor": "#fde0c5",
        "edgecolor": "#b35806",
        "boxstyle": "round,pad=0,rounding_size=0.12",
    },
    "module": {"facecolor": "#dbe9f6", "edgecolor": "#3b6ea8", "boxstyle": "square,pad=0"},
    FUNCTION: {"facecolor": "#f7f7f7", "edgecolor": "0.6", "boxstyle": "square,pad=0"},
}


# Glyphs drawn without hinting: a ResNet-50's 170 boxes save in 0.61 s instead of 0.82 s
# (text is most of the time), and at 150 dpi the letters look the same. For the
# saved figure only (render_and_save's rc), so no other figure changes.
FIGURE_RC = {"text.hinting": "no_hinting"}


def draw_figure(graph: Graph, lang: str, pyplot_module: Any = None) -> Figure:
    """The figure of ``graph`` in ``lang`` (already applied: en or zh)."""
    if graph.kind == BLOCKS:
        return _blocks(graph, TEXT[lang], lang, pyplot_module)
    return _neurons(graph, TEXT[lang], lang, pyplot_module)


def _canvas(width: float, height: float, pyplot_module: Any) -> tuple[Figure, Axes]:
    """A figure of width × height inches and an axes covering it, in inches."""
    fig = new_figure((width, height), pyplot_module)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_axis_off()
    return fig, ax


def _text_width(text: str, points: float) -> float:
    """An estimate of a text's width in inches (CJK glyphs are a full em wide)."""
    ems = sum(1.0 if ord(ch) > 0x2E80 else 0.62 for ch in text)
    return ems * points / 72


def _titles_width(graph: Graph, text: dict[str, str], subtitle: str | None) -> float:
    """The figure's width that holds its title lines, so a narrow diagram never cuts them."""
    title = _text_width(_neuron_title(graph, text), TITLE_PT) * 1.1
    return 2 * MARGIN + max(title, _text_width(subtitle or "", SUBTITLE_PT))


def _titles(
    fig: Figure, height: float, title: str, subtitle: str | None, text: dict[str, str]
) -> None:
    top = height - 0.12
    fig.text(
        0.5, top / height, title, ha="center", va="top", fontsize=TITLE_PT, weight=text["bold"]
    )
    if subtitle:
        fig.text(
            0.5,
            (top - 0.32) / height,
            subtitle,
            ha="center",
            va="top",
            fontsize=SUBTITLE_PT,
            color=TEXT_GREY,
        )


# --- the neuron diagram ---------------------------------------------------------------


@dataclass
class _Column:
    layer: Layer
    title: str
    footer: list[str]
    neurons: list[Node]  # the drawn ones, in order
    elided: int  # neurons left out between the first and the last few
    bias: Node | None  # the bias node drawn at the bottom (it feeds the next layer)

    @property
    def slots(self) -> int:
        return len(self.neurons) + (1 if self.elided else 0) + (1 if self.bias else 0)


def _shown(nodes: list[Node]) -> tuple[list[Node], int]:
    drawn, elided = shown_indices(len(nodes))
    return [nodes[i] for i in drawn], elided


def _columns(graph: Graph, text: dict[str, str], lang: str) -> list[_Column]:
    by_layer: dict[int, list[Node]] = {}
    biases: dict[str, Node] = {}
    for node in graph.nodes:
        if node.kind == BIAS:
            biases[node.id] = node
        elif node.layer is not None:
            by_layer.setdefault(node.layer, []).append(node)
    columns = []
    last = len(graph.layers) - 1
    for layer in graph.layers:
        neurons, elided = _shown(sorted(by_layer.get(layer.index, []), key=_index))
        if layer.index == 0:
            key = "inputs" if layer.size != 1 else "one_input"
            title, footer = text["input"], [text[key].format(n=f"{layer.size:,}")]
        else:
            title = text["output"] if layer.index == last else text["hidden"].format(k=layer.index)
            footer = [activation_label(layer.activation, lang) or ""] if layer.activation else []
            footer += [layer.formula] if layer.formula else []
        if layer.index == last and graph.prediction is not None:
            label = _neuron_label(by_layer.get(layer.index, []), graph.prediction)
            footer.append(text["prediction"].format(label=label))
        bias = biases.get(bias_id(layer.index + 1))
        columns.append(_Column(layer, title, footer, neurons, elided, bias))
    return columns


def _index(node: Node) -> int:
    return node.index if node.index is not None else -1


def _neuron_label(nodes: Sequence[Node], index: int) -> str:
    for node in nodes:
        if node.index == index:
            return node.label
    return str(index + 1)


def _neurons(graph: Graph, text: dict[str, str], lang: str, pyplot_module: Any) -> Figure:
    import matplotlib as mpl
    from matplotlib.collections import LineCollection

    columns = _columns(graph, text, lang)
    values = [n.value for c in columns for n in c.neurons if n.value is not None]
    weighted = [e.weight for e in graph.edges if e.weight is not None]
    row = ROW_VALUES if values else ROW
    pitch = _column_pitch(columns, text)
    slots = max((c.slots for c in columns), default=1)
    footer_lines = max((len(c.footer) for c in columns), default=0)
    left = MARGIN + (INPUT_ROOM if graph.input_row is not None or values else 0.0)
    bars = (1 if weighted else 0) + (1 if values else 0)
    width = left + pitch * len(columns) + bars * COLORBAR_ROOM + MARGIN
    width = max(width, _titles_width(graph, text, _weights_line(graph, text)))
    area = slots * row
    bottom = MARGIN + footer_lines * FOOTER_LINE + 0.1 + (0.25 if graph.standardized else 0.0)
    height = bottom + area + HEADER_ROOM + TITLE_ROOM
    fig, ax = _canvas(width, height, pyplot_module)
    _titles(fig, height, _neuron_title(graph, text), _weights_line(graph, text), text)

    centre_y = bottom + area / 2
    where: dict[str, tuple[float, float]] = {}
    for k, column in enumerate(columns):
        x = left + pitch * (k + 0.5)
        top = centre_y + column.slots * row / 2 - row / 2
        ys = [top - i * row for i in range(column.slots)]
        _place_column(column, x, ys, where)
        ax.text(
            x,
            bottom + area + 0.12,
            column.title,
            ha="center",
            va="bottom",
            fontsize=HEADER_PT,
            weight=text["bold"],
        )
        for i, line in enumerate(column.footer):
            ax.text(
                x,
                bottom - 0.05 - i * FOOTER_LINE,
                line,
                ha="center",
                va="top",
                fontsize=FOOTER_PT,
                color=_footer_colour(graph, k, len(columns), i, len(column.footer)),
            )
        if column.elided:
            ax.text(
                x,
                ys[KEEP_EACH_END],
                text["more"].format(n=f"{column.elided:,}"),
                ha="center",
                va="center",
                fontsize=FOOTER_PT,
                color=TEXT_GREY,
                zorder=4,
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1},
            )

    # the scale of the colour, width and opacity; a non-finite weight must not set it
    top_weight = max((abs(w) for w in weighted if math.isfinite(w)), default=0.0) or 1.0
    segments, colours, widths = _connections(graph, where, top_weight)
    ax.add_collection(LineCollection(segments, colors=colours, linewidths=widths, zorder=1))

    cmap = mpl.colormaps[VALUE_CMAP]
    norm = _value_norm(values)
    for column in columns:
        for node in column.neurons:
            _draw_neuron(ax, node, where[node.id], cmap, norm, graph)
        if column.bias is not None:
            _draw_bias(ax, where[column.bias.id])
    if graph.input_row is not None and columns:
        _input_values(ax, columns[0], graph.input_row, where)
    if graph.standardized:
        ax.text(
            MARGIN,
            MARGIN * 0.6,
            text["standardized"],
            ha="left",
            va="bottom",
            fontsize=VALUE_PT + 0.5,
            color=TEXT_GREY,
            style="italic",
        )

    bar_x = left + pitch * len(columns) + 0.15
    if weighted:
        _weight_bar(fig, (bar_x, bottom, width, height), area, top_weight, text["weight"])
        bar_x += COLORBAR_ROOM
    if values:
        bar = mpl.cm.ScalarMappable(norm=norm, cmap=cmap)
        _colour_bar(fig, bar, (bar_x, bottom, width, height), area, text["activation"])
    return fig


def _footer_colour(graph: Graph, column: int, columns: int, line: int, lines: int) -> str:
    """The activation's name and the prediction in black; counts and formulas in grey."""
    if column == columns - 1 and graph.prediction is not None and line == lines - 1:
        return "black"
    return "black" if line == 0 and column > 0 else TEXT_GREY


def _column_pitch(columns: Sequence[_Column], text: dict[str, str]) -> float:
    """Wide enough for the widest title or footer line, so neighbours never touch."""
    widest = 0.0
    for column in columns:
        widest = max(widest, _text_width(column.title, HEADER_PT) * 1.1)
        widest = max([widest, *(_text_width(line, FOOTER_PT) for line in column.footer)])
        if column.elided:
            widest = max(widest, _text_width(text["more"].format(n=column.elided), FOOTER_PT))
    return max(MIN_COLUMN, widest + 0.35)


def _neuron_title(graph: Graph, text: dict[str, str]) -> str:
    return text["title"].format(name=graph.name, params=f"{graph.total_params:,}")


def _weights_line(graph: Graph, text: dict[str, str]) -> str | None:
    if graph.weights == "checkpoint":
        return text["checkpoint"]
    if graph.weights == "init":
        return (
            text["init"].format(seed=graph.seed)
            if graph.seed is not None
            else text["init_unseeded"]
        )
    return None


def _place_column(
    column: _Column, x: float, ys: list[float], where: dict[str, tuple[float, float]]
) -> None:
    slot = 0
    for i, node in enumerate(column.neurons):
        if column.elided and i == KEEP_EACH_END:
            slot += 1  # the "⋮ (N more)" slot
        where[node.id] = (x, ys[slot])
        slot += 1
    if column.bias is not None:
        where[column.bias.id] = (x, ys[-1])


def _connections(
    graph: Graph, where: dict[str, tuple[float, float]], top: float
) -> tuple[list[Any], list[tuple[float, float, float, float]], list[float]]:
    """Segments, RGBA colours and widths of the drawn connections, weakest first so the
    strong ones lie on top."""
    from matplotlib.colors import to_rgb

    drawn = [e for e in graph.edges if e.source in where and e.target in where]
    drawn.sort(key=lambda e: abs(e.weight) if e.weight is not None else 0.0)
    negative, positive = to_rgb(NEGATIVE_COLOUR), to_rgb(POSITIVE_COLOUR)
    segments, colours, widths = [], [], []
    for edge in drawn:
        segments.append([where[edge.source], where[edge.target]])
        if edge.weight is None:  # no weights known: plain grey lines
            colours.append((0.5, 0.5, 0.5, 0.6))
            widths.append(1.0)
            continue
        share = min(1.0, abs(edge.weight) / top) if math.isfinite(edge.weight) else 1.0
        rgb = negative if edge.weight < 0 else positive
        colours.append((*rgb, MIN_ALPHA + (MAX_ALPHA - MIN_ALPHA) * share))
        widths.append(MIN_WIDTH + (MAX_WIDTH - MIN_WIDTH) * share)
    return segments, colours, widths


def _value_norm(values: Sequence[float]) -> Any:
    from matplotlib.colors import Normalize

    finite = [v for v in values if math.isfinite(v)]
    low, high = (min(finite), max(finite)) if finite else (0.0, 1.0)
    if high - low < 1e-12:
        low, high = low - 0.5, high + 0.5
    return Normalize(low, high)


def _neuron_font(label: str) -> float:
    return NEURON_PT if len(label) <= 3 else NEURON_PT - 1.5 if len(label) == 4 else 7.0


def _draw_neuron(
    ax: Axes, node: Node, at: tuple[float, float], cmap: Any, norm: Any, graph: Graph
) -> None:
    from matplotlib.patches import Circle

    face, ink = "white", "black"
    if node.value is not None and math.isfinite(node.value):
        share = float(norm(node.value))
        face = cmap(share)
        ink = "white" if share > 0.6 else "black"
    edge = {INPUT: "#1b7837", OUTPUT: "#b35806"}.get(node.kind, "0.2")
    ax.add_patch(Circle(at, RADIUS, facecolor=face, edgecolor=edge, linewidth=1.3, zorder=3))
    ax.text(
        *at,
        node.label,
        ha="center",
        va="center",
        fontsize=_neuron_font(node.label),
        color=ink,
        zorder=5,
    )
    if node.kind == OUTPUT and graph.prediction is not None and node.index == graph.prediction:
        ring = Circle(at, RADIUS + 0.06, facecolor="none", edgecolor="black", linewidth=2.4)
        ring.set_zorder(3)
        ax.add_patch(ring)
    show_value = node.kind != INPUT or graph.standardized or graph.input_row is None
    if node.value is not None and show_value:
        gap = 0.1 if node.kind == OUTPUT and node.index == graph.prediction else 0.04
        ax.text(
            at[0],
            at[1] - RADIUS - gap,
            num(node.value, 3),
            ha="center",
            va="top",
            fontsize=VALUE_PT,
            zorder=4,
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 0.5},
        )


def _draw_bias(ax: Axes, at: tuple[float, float]) -> None:
    from matplotlib.patches import Rectangle

    side = RADIUS * 1.5
    corner = (at[0] - side / 2, at[1] - side / 2)
    ax.add_patch(
        Rectangle(
            corner,
            side,
            side,
            facecolor="#f0f0f0",
            edgecolor="0.3",
            linewidth=1.0,
            linestyle="--",
            zorder=3,
        )
    )
    ax.text(*at, "+1", ha="center", va="center", fontsize=NEURON_PT - 1, zorder=5)


def _input_values(
    ax: Axes, column: _Column, row: tuple[float, ...], where: dict[str, tuple[float, float]]
) -> None:
    """The input row as given, left of the input neurons it feeds."""
    for node in column.neurons:
        if node.index is None or node.index >= len(row):
            continue
        x, y = where[node.id]
        ax.text(
            x - RADIUS - 0.08,
            y,
            f"{num(row[node.index], 3)} →",
            ha="right",
            va="center",
            fontsize=VALUE_PT + 1,
        )


def _weight_bar(
    fig: Figure, box: tuple[float, float, float, float], area: float, top: float, label: str
) -> None:
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import LinearSegmentedColormap, Normalize

    cmap = LinearSegmentedColormap.from_list(
        "nncli_weights", [NEGATIVE_COLOUR, "#f4a582", "#f7f7f7", "#92c5de", POSITIVE_COLOUR]
    )
    _colour_bar(fig, ScalarMappable(Normalize(-top, top), cmap), box, area, label)


def _colour_bar(
    fig: Figure, mappable: Any, box: tuple[float, float, float, float], area: float, label: str
) -> None:
    x, bottom, width, height = box
    bar_height = min(2.4, max(1.2, area * 0.8))
    y = bottom + (area - bar_height) / 2
    cax = fig.add_axes((x / width, y / height, 0.14 / width, bar_height / height))
    bar = fig.colorbar(mappable, cax=cax)
    bar.set_label(label, fontsize=FOOTER_PT)
    bar.ax.tick_params(labelsize=VALUE_PT)


# --- the block diagram ----------------------------------------------------------------


def _block_lines(node: Node, lang: str) -> tuple[str, str]:
    """The box's bold first line (the type) and its details (shape, params)."""
    label, *details = block_lines(node, lang)
    attribute = (node.name or "").rsplit(".", 1)[-1]
    if node.kind == MODULE and attribute and not attribute.isdigit():
        # "conv1 · Conv2d": which of a block's three Conv2d this is (not a list's "0");
        # the text formats keep the type alone, as the JSON's label does
        label = f"{attribute} · {label}"
    return label, "\n".join(details)


def _grid(count: int) -> tuple[int, int]:
    """(rows, columns): one column for a short graph; else about √(ASPECT × count) rows."""
    if count <= ONE_COLUMN_MAX:
        return max(count, 1), 1
    rows = math.ceil(math.sqrt(ASPECT * count))
    columns = math.ceil(count / rows)
    return math.ceil(count / columns), columns


def _blocks(graph: Graph, text: dict[str, str], lang: str, pyplot_module: Any) -> Figure:
    lines = [_block_lines(node, lang) for node in graph.nodes]
    box_width = max(
        [1.5]
        + [_text_width(label, LABEL_PT) * 1.1 + 0.25 for label, _ in lines]
        + [_text_width(d, DETAIL_PT) + 0.25 for _, details in lines for d in details.split("\n")]
    )
    rows, ncols = _grid(len(graph.nodes))
    pitch_x, pitch_y = box_width + COLUMN_GAP, BOX_HEIGHT + BOX_GAP
    lanes_top = LANE_TOP + MAX_LANES * LANE_STEP if ncols > 1 else 0.0
    width = 2 * MARGIN + ncols * pitch_x - COLUMN_GAP + (COLUMN_GAP if ncols == 1 else 0.0)
    height = 2 * MARGIN + TITLE_ROOM + lanes_top + rows * pitch_y - BOX_GAP
    subtitle = None
    if graph.depth is not None:
        subtitle = text["depth"].format(source=graph.source, depth=graph.depth)
    width = max(width, _titles_width(graph, text, subtitle))
    fig, ax = _canvas(width, height, pyplot_module)
    _titles(fig, height, _neuron_title(graph, text), subtitle, text)

    top = height - TITLE_ROOM - MARGIN - lanes_top
    centres: dict[str, tuple[float, float]] = {}
    place: dict[str, tuple[int, int]] = {}
    incoming: dict[str, int] = {}
    for edge in graph.edges:
        incoming[edge.target] = incoming.get(edge.target, 0) + 1
    for k, (node, (label, details)) in enumerate(zip(graph.nodes, lines, strict=True)):
        column, row = divmod(k, rows)
        x = MARGIN + column * pitch_x + box_width / 2
        y = top - row * pitch_y - BOX_HEIGHT / 2
        centres[node.id], place[node.id] = (x, y), (column, row)
        merge = incoming.get(node.id, 0) > 1
        _draw_box(ax, node, (x, y), box_width, (label, details), merge, text["bold"])
    _block_edges(ax, graph, centres, place, box_width, top)
    return fig


def _draw_box(
    ax: Axes,
    node: Node,
    at: tuple[float, float],
    width: float,
    lines: tuple[str, str],
    merge: bool,
    weight: str,
) -> None:
    from matplotlib.patches import FancyBboxPatch

    label, details = lines
    style = dict(STYLE.get(node.kind, STYLE["module"]))
    corner = (at[0] - width / 2, at[1] - BOX_HEIGHT / 2)
    box = FancyBboxPatch(
        corner, width, BOX_HEIGHT, linewidth=1.8 if merge else 1.0, zorder=3, **style
    )
    ax.add_artist(box)  # not add_patch: the limits are fixed, so no data-limit update
    ink = TEXT_GREY if node.kind == FUNCTION else "black"
    ax.text(
        at[0],
        at[1] + BOX_HEIGHT / 2 - 0.07,
        label,
        ha="center",
        va="top",
        fontsize=LABEL_PT,
        weight=weight,
        color=ink,
        zorder=4,
    )
    if details:
        # Hung from just under the type, so the shape is on the same line of every box,
        # with or without a params line below it.
        ax.text(
            at[0],
            at[1] + BOX_HEIGHT / 2 - 0.07 - LABEL_PT / 72 * 1.45,
            details,
            ha="center",
            va="top",
            fontsize=DETAIL_PT,
            color=ink,
            zorder=4,
            linespacing=1.15,
        )


def _block_edges(
    ax: Axes,
    graph: Graph,
    centres: dict[str, tuple[float, float]],
    place: dict[str, tuple[int, int]],
    box_width: float,
    top: float,
) -> None:
    """Arrows: straight down to the next box, arcs beside the column for skips, and
    paths through the lanes above the columns to a later column."""
    half_w, half_h = box_width / 2, BOX_HEIGHT / 2
    skip_lanes: list[list[tuple[int, int]]] = []  # per lane: the (from, to) rows it holds
    cross = 0
    for edge in graph.edges:
        if edge.source not in place or edge.target not in place:
            continue
        (sc, sr), (tc, tr) = place[edge.source], place[edge.target]
        (sx, sy), (tx, ty) = centres[edge.source], centres[edge.target]
        if sc == tc and tr == sr + 1:
            _arrow(ax, [(sx, sy - half_h), (tx, ty + half_h)], FLOW_COLOUR)
        elif sc == tc and tr > sr:
            lane = _free_lane(skip_lanes, sc, sr, tr)
            arm = SKIP_ARM + SKIP_LANE * lane
            right = sx + half_w
            path = [(right, sy), (right + arm, sy), (right + arm, ty), (right + 0.02, ty)]
            _arrow(ax, path, SKIP_COLOUR, rounded=True)
        elif tc > sc:
            lane_y = top + LANE_TOP + (cross % MAX_LANES) * LANE_STEP
            shift = (cross % MAX_LANES) * 0.05
            if tr == 0 and sr == max(r for c, r in place.values() if c == sc):
                # the flow continues at the top of the next column
                gap_x = sx + half_w + COLUMN_GAP * 0.55 + shift
                path = [
                    (sx, sy - half_h),
                    (sx, sy - half_h - 0.12),
                    (gap_x, sy - half_h - 0.12),
                    (gap_x, lane_y),
                    (tx, lane_y),
                    (tx, ty + half_h),
                ]
                _arrow(ax, path, FLOW_COLOUR)
            else:
                out_x = sx + half_w + SKIP_ARM + shift
                in_x = tx - half_w - 0.15 - shift
                path = [
                    (sx + half_w, sy),
                    (out_x, sy),
                    (out_x, lane_y),
                    (in_x, lane_y),
                    (in_x, ty),
                    (tx - half_w, ty),
                ]
                _arrow(ax, path, SKIP_COLOUR)
            cross += 1


def _free_lane(lanes: list[list[tuple[int, int]]], column: int, start: int, end: int) -> int:
    """The first lane (0 nearest the column) where the span start..end crosses no other
    skip of the same column; past MAX_LANES, they share the last."""
    key = (column * 100_000 + start, column * 100_000 + end)
    for i, spans in enumerate(lanes):
        if all(key[1] <= a or key[0] >= b for a, b in spans):
            spans.append(key)
            return i
    if len(lanes) < MAX_LANES:
        lanes.append([key])
        return len(lanes) - 1
    lanes[-1].append(key)
    return len(lanes) - 1


def _arrow(ax: Axes, points: list[tuple[float, float]], colour: str, rounded: bool = False) -> None:
    from matplotlib.patches import FancyArrowPatch
    from matplotlib.path import Path

    path = Path(points)
    arrow = FancyArrowPatch(
        path=path,
        arrowstyle="-|>",
        mutation_scale=9,
        color=colour,
        linewidth=1.1 if rounded else 1.0,
        zorder=2,
        shrinkA=0,
        shrinkB=0,
    )
    ax.add_artist(arrow)  # (as the boxes: fixed limits, no data-limit update)
