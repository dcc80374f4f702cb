"""``nncli draw``'s text formats: Mermaid (GitHub renders it in a README), DOT (for
graphviz users) and the ``--json`` document, each from one :class:`Graph`.

Mermaid and DOT draw what the figure draws: a wide layer shows its first and last few
neurons with a "⋮ N more" node between them, so the text stays small enough to render
(GitHub's Mermaid refuses a chart of more than 500 edges). The JSON document lists every
neuron and connection.

Pure Python: no torch, no matplotlib.
"""

from __future__ import annotations

from typing import Any

from nncli.core.draw.graph import (
    BIAS,
    BLOCKS,
    FUNCTION,
    INPUT,
    KEEP_EACH_END,
    OUTPUT,
    Edge,
    Graph,
    Layer,
    Node,
    shown_indices,
)
from nncli.fmt import num
from nncli.limits import MAX_DRAWN_NEURONS

# GitHub's Mermaid (maxEdges) refuses a chart with more edges than this.
MERMAID_MAX_EDGES = 500
WEIGHT_DIGITS = 2  # significant digits of a weight written on an edge

# DOT colours of a connection by the sign of its weight (RdBu's ends, as the figure).
POSITIVE_COLOUR, NEGATIVE_COLOUR = "#2166ac", "#b2182b"
MIN_PENWIDTH, MAX_PENWIDTH = 0.5, 4.0


# --- Which neurons are drawn ----------------------------------------------------------


def more_id(layer: int) -> str:
    """The "⋮ N more" node of an elided layer."""
    return f"L{layer}_more"


class _Visible:
    """The nodes and edges of a neuron graph that the text formats draw."""

    def __init__(self, graph: Graph, keep: int) -> None:
        self.keep = keep
        self.shown: dict[int, list[int]] = {}
        self.elided: dict[int, int] = {}
        for layer in graph.layers:
            self.shown[layer.index], self.elided[layer.index] = shown_indices(layer.size, keep)
        self.node_ids = {
            node.id
            for node in graph.nodes
            if node.kind == BIAS or node.index in self.shown.get(node.layer or 0, [])
        }
        self.edges = [
            e for e in graph.edges if e.source in self.node_ids and e.target in self.node_ids
        ]


def _visible(graph: Graph, budget: int | None = None) -> _Visible:
    """What is drawn, keeping fewer neurons at each end until ``budget`` edges fit."""
    for keep in range(KEEP_EACH_END, 0, -1):
        seen = _Visible(graph, keep)
        if budget is None or len(seen.edges) <= budget:
            return seen
    return _Visible(graph, 1)


# --- Labels shared by both formats ----------------------------------------------------


def activation_label(name: str | None, lang: str = "en") -> str | None:
    """The registry's display name in ``lang`` ("Sigmoid"), or the name itself if the
    registry does not know it."""
    if name is None:
        return None
    from nncli.core.activation.activations import get_activation
    from nncli.errors import UsageError

    try:
        return get_activation(name).display_label(lang)
    except UsageError:
        return name


# The tutorial's names of the three kinds of layer.
LAYER_NAMES = {
    "en": ("Input layer", "Hidden layer {k}", "Output layer"),
    "zh": ("输入层", "隐藏层 {k}", "输出层"),
}


def layer_title(layer: Layer, lang: str = "en") -> str:
    """ "Input layer", "Hidden layer 1 · Sigmoid", "Output layer · Softmax" (隐藏层 1 in
    Chinese; hidden layers numbered by their column, as the tutorial numbers them)."""
    first, hidden, last = LAYER_NAMES.get(lang, LAYER_NAMES["en"])
    if layer.role == "input":
        return first
    title = last if layer.role == "output" else hidden.format(k=layer.index)
    act = activation_label(layer.activation, lang)
    return f"{title} · {act}" if act else title


def weight_text(weight: float | None) -> str:
    return num(weight, WEIGHT_DIGITS)


PARAMS = {"en": "{params} params", "zh": "{params} 个参数"}


def block_lines(node: Node, lang: str = "en") -> list[str]:
    """A block's text, in the figure and the text formats alike: its type (or name), its
    output shape, its parameters."""
    lines = [node.label]
    if node.shape is not None:
        lines.append("[" + ", ".join(str(d) for d in node.shape) + "]")
    if node.params:
        lines.append(PARAMS.get(lang, PARAMS["en"]).format(params=f"{node.params:,}"))
    return lines


def _neuron_text(node: Node) -> str:
    if node.value is None or node.kind == BIAS:
        return node.label
    return f"{node.label} = {num(node.value, 3)}"


# --- Mermaid --------------------------------------------------------------------------

_MERMAID_ESCAPES = {
    "#": "#35;",  # first: every other escape writes one
    '"': "#quot;",
    "<": "#lt;",
    ">": "#gt;",
    "`": "#96;",
    "\n": " ",
}


def mermaid_escape(text: str) -> str:
    """Text safe inside a Mermaid ``id["..."]`` label (entity codes, as Mermaid documents)."""
    for raw, code in _MERMAID_ESCAPES.items():
        text = text.replace(raw, code)
    return text


def mermaid(graph: Graph, *, lang: str = "en") -> str:
    """The graph as a Mermaid ``flowchart`` (LR for neurons, TD for blocks)."""
    lines = _mermaid_blocks(graph) if graph.kind == BLOCKS else _mermaid_neurons(graph, lang)
    return "\n".join(lines) + "\n"


def _mermaid_neurons(graph: Graph, lang: str) -> list[str]:
    """One line per layer's neurons and one per neuron's incoming connections (statements
    joined by "; "), so the demo's chart is short enough to paste into a README."""
    seen = _visible(graph, MERMAID_MAX_EDGES)  # the "more" nodes have no edges
    lines = ["flowchart LR"]
    for layer in graph.layers:
        title = mermaid_escape(layer_title(layer, lang))
        nodes = "; ".join(_mermaid_node(node) for node in _column(graph, layer.index, seen))
        lines += [f'  subgraph layer{layer.index}["{title}"]', f"    {nodes}", "  end"]
    incoming: dict[str, list[str]] = {}
    for edge in seen.edges:
        label = mermaid_escape(weight_text(edge.weight))
        incoming.setdefault(edge.target, []).append(f'{edge.source} -->|"{label}"| {edge.target}')
    lines += [f"  {'; '.join(statements)}" for statements in incoming.values()]
    return lines


def _mermaid_node(node: Node) -> str:
    text = mermaid_escape(_neuron_text(node))
    if node.id.endswith("_more"):
        return f'{node.id}["{text}"]'
    return f'{node.id}(("{text}"))'


def _column(graph: Graph, column: int, seen: _Visible) -> list[Node]:
    """The nodes drawn in ``column``: its neurons (with the "more" node in their middle)
    and the bias node feeding the next layer."""
    neurons = [
        n for n in graph.nodes if n.kind != BIAS and n.layer == column and n.id in seen.node_ids
    ]
    neurons.sort(key=lambda n: n.index or 0)
    elided = seen.elided.get(column, 0)
    if elided:
        more = Node(more_id(column), "more", column, None, f"⋮ {elided:,} more")
        neurons.insert(seen.keep, more)
    biases = [n for n in graph.nodes if n.kind == BIAS and n.layer == column]
    return neurons + biases


def _mermaid_blocks(graph: Graph) -> list[str]:
    lines = ["flowchart TD"]
    for node in graph.nodes:
        text = "<br/>".join(mermaid_escape(line) for line in block_lines(node))
        lines.append(f"  {_mermaid_block_shape(node, text)}")
    for edge in graph.edges:
        lines.append(f"  {edge.source} --> {edge.target}")
    return lines


def _mermaid_block_shape(node: Node, text: str) -> str:
    if node.kind in (INPUT, OUTPUT):
        return f'{node.id}(["{text}"])'  # a stadium: data, not a layer
    if node.kind == FUNCTION:
        return f'{node.id}{{{{"{text}"}}}}'  # a hexagon: a call in forward()
    return f'{node.id}["{text}"]'


# --- DOT ------------------------------------------------------------------------------


def dot_quote(text: str) -> str:
    """A DOT double-quoted string: backslashes and quotes escaped, newlines as \\n."""
    body = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{body}"'


def _record_field(text: str) -> str:
    """One field of a record label, escaped for the record parser (its specials
    ``{ } | < >``) and for the DOT string that holds it (backslashes and quotes)."""
    text = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
    for char in "{}|<>":
        text = text.replace(char, "\\" + char)
    return text


def dot(graph: Graph, *, lang: str = "en") -> str:
    """The graph as a DOT ``digraph`` (rankdir LR for neurons, TB for blocks)."""
    lines = _dot_blocks(graph) if graph.kind == BLOCKS else _dot_neurons(graph, lang)
    return "\n".join(lines) + "\n"


def _dot_header(graph: Graph, rankdir: str) -> list[str]:
    return [
        f"digraph {dot_quote(graph.name)} {{",
        f"  rankdir={rankdir};",
        '  node [fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=9];',
    ]


def _dot_neurons(graph: Graph, lang: str) -> list[str]:
    seen = _visible(graph)
    lines = [*_dot_header(graph, "LR"), "  splines=line;", "  node [shape=circle];"]
    for layer in graph.layers:
        lines.append(f"  subgraph cluster_{layer.index} {{")
        lines.append(f"    label={dot_quote(layer_title(layer, lang))};")
        for node in _column(graph, layer.index, seen):
            shape = ", shape=plaintext" if node.kind == "more" else ""
            lines.append(
                f"    {dot_quote(node.id)} [label={dot_quote(_neuron_text(node))}{shape}];"
            )
        lines.append("  }")
    scale = max((abs(e.weight) for e in seen.edges if e.weight is not None), default=0.0)
    for edge in seen.edges:
        lines.append(
            f"  {dot_quote(edge.source)} -> {dot_quote(edge.target)} [{_dot_style(edge, scale)}];"
        )
    lines.append("}")
    return lines


def _dot_style(edge: Edge, scale: float) -> str:
    if edge.weight is None:
        return 'color="gray"'
    share = abs(edge.weight) / scale if scale > 0 else 0.0
    width = MIN_PENWIDTH + (MAX_PENWIDTH - MIN_PENWIDTH) * share
    colour = NEGATIVE_COLOUR if edge.weight < 0 else POSITIVE_COLOUR
    return f'color="{colour}", penwidth={width:.2f}, label={dot_quote(weight_text(edge.weight))}'


def _dot_blocks(graph: Graph) -> list[str]:
    lines = [*_dot_header(graph, "TB"), "  node [shape=Mrecord];"]
    for node in graph.nodes:
        lines.append(f"  {dot_quote(node.id)} [{_dot_block_attributes(node)}];")
    for edge in graph.edges:
        lines.append(f"  {dot_quote(edge.source)} -> {dot_quote(edge.target)};")
    lines.append("}")
    return lines


def _dot_block_attributes(node: Node) -> str:
    """A module is a record (type | shape | params); data and calls are plain boxes."""
    lines = block_lines(node)
    if node.kind in (INPUT, OUTPUT):
        return f"label={dot_quote(chr(10).join(lines))}, shape=box, style=rounded"
    if node.kind == FUNCTION:
        return f"label={dot_quote(chr(10).join(lines))}, shape=box, style=dashed"
    fields = "|".join(_record_field(line) for line in lines)
    return f'label="{{{fields}}}"'


# --- The --json document --------------------------------------------------------------


def graph_document(graph: Graph) -> dict[str, Any]:
    """The ``--json`` body (``emit`` adds schema_version and command): every node and
    every edge, elided in the pictures or not."""
    return {
        "kind": graph.kind,
        "model": graph.name,
        "source": graph.source,
        "nodes": [_node_document(node) for node in graph.nodes],
        "edges": [
            {"source": e.source, "target": e.target, "weight": e.weight} for e in graph.edges
        ],
        "layers": [_layer_document(layer) for layer in graph.layers],
        "total_params": graph.total_params,
        "weights": graph.weights,
        "seed": graph.seed,
        "input": list(graph.input_row) if graph.input_row is not None else None,
        "standardized": graph.standardized,
        "prediction": graph.prediction,
        "depth": graph.depth,
        "notes": list(graph.notes),
    }


def _node_document(node: Node) -> dict[str, Any]:
    return {
        "id": node.id,
        "kind": node.kind,
        "layer": node.layer,
        "index": node.index,
        "label": node.label,
        "activation": node.activation,
        "shape": list(node.shape) if node.shape is not None else None,
        "params": node.params,
        "value": node.value,
        "name": node.name,
    }


def _layer_document(layer: Layer) -> dict[str, Any]:
    return {
        "index": layer.index,
        "role": layer.role,
        "name": layer.name,
        "size": layer.size,
        "activation": layer.activation,
        "params": layer.params,
        "formula": layer.formula,
        "bias": layer.bias,
    }


def draw_document(graph: Graph, fmt: str, path: str | None, language: str | None) -> dict[str, Any]:
    """``nncli draw``'s JSON document (the one JSON writer adds ``schema_version``): the
    graph, the format drawn, the file written (None: stdout) and the figure's language."""
    return {**graph_document(graph), "format": fmt, "path": path, "language": language}


def graph_text(graph: Graph, fmt: str, *, lang: str = "en", path: str | None = None) -> str:
    """The text of a text format: ``mermaid``, ``dot`` or ``json`` (the document
    ``--json`` prints, written by the one JSON writer; ``path``: the file it goes to)."""
    if fmt == "mermaid":
        return mermaid(graph, lang=lang)
    if fmt == "dot":
        return dot(graph, lang=lang)
    from nncli.render.jsonout import emit

    parts: list[str] = []
    emit("draw", draw_document(graph, "json", path, None), write=parts.append)
    return "".join(parts)


# --- What the command prints ----------------------------------------------------------


def describe(graph: Graph) -> str:
    """One line, what was drawn: "demo · 3 → 3 → 2 → 2 neurons · 26 params · init seed 0";
    "ResNet · 12 blocks at depth 3 · 11,689,512 params"."""
    parts = [graph.name]
    if graph.kind == BLOCKS:
        blocks = sum(1 for n in graph.nodes if n.kind not in (INPUT, OUTPUT))
        depth = f" at depth {graph.depth}" if graph.depth is not None else ""
        parts.append(f"{blocks:,} blocks{depth}")
    else:
        parts.append(" → ".join(str(layer.size) for layer in graph.layers) + " neurons")
    parts.append(f"{graph.total_params:,} params")
    if graph.weights == "checkpoint":
        parts.append("checkpoint weights")
    elif graph.weights == "init":
        parts.append(f"init seed {graph.seed}")
    return " · ".join(parts)


def prediction_line(graph: Graph) -> str | None:
    """``input 0.5, -1, 2 → prediction y1 (0.737)``, with --input; else None."""
    if graph.input_row is None:
        return None
    row = ", ".join(num(v) for v in graph.input_row)
    scaled = " (standardised as in training)" if graph.standardized else ""
    outputs = [n for n in graph.nodes if n.kind == OUTPUT]
    if graph.prediction is None:  # a regression or a single logit: the outputs themselves
        values = ", ".join(f"{n.label} = {num(n.value, 3)}" for n in outputs[:MAX_DRAWN_NEURONS])
        return f"input {row}{scaled} → {values}" if values else f"input {row}{scaled}"
    chosen = next((n for n in outputs if n.index == graph.prediction), None)
    if chosen is None:
        return f"input {row}{scaled} → prediction {graph.prediction}"
    return f"input {row}{scaled} → prediction {chosen.label} ({num(chosen.value, 3)})"


def render_draw_result(graph: Graph, path: str, language: str | None, console: Any) -> None:
    """What ``nncli draw`` prints after writing a file: the path (as ``plot`` prints it),
    what was drawn, the prediction with --input, then the graph's notes."""
    console.print(f"Wrote {path}", soft_wrap=True)
    line = describe(graph)
    if language is not None:
        line += f" · language {language}"
    console.print(line)
    prediction = prediction_line(graph)
    if prediction is not None:
        console.print(prediction)
    for note in graph.notes:
        console.print(f"note: {note}")
