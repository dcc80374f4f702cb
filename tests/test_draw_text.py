"""``nncli draw``'s text formats (Mermaid, DOT, the JSON document), on graphs built by
hand and on the demo: valid by rules that can be checked without a renderer."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

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
from nncli.render.draw_text import (
    MERMAID_MAX_EDGES,
    dot,
    dot_quote,
    graph_document,
    graph_text,
    mermaid,
    mermaid_escape,
    shown_indices,
)

ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def mlp(widths: list[int], activations: list[str | None] | None = None) -> Graph:
    """A neuron graph of ``widths`` as the neurons builder makes one: weights i - j."""
    acts = activations or ["sigmoid"] * (len(widths) - 1)
    last = len(widths) - 1
    nodes: list[Node] = []
    edges: list[Edge] = []
    layers = [Layer(0, "input", widths[0], None, 0, None, False)]
    for column, width in enumerate(widths):
        kind = INPUT if column == 0 else OUTPUT if column == last else NEURON
        prefix = {INPUT: "x", NEURON: "h", OUTPUT: "y"}[kind]
        act = None if column == 0 else acts[column - 1]
        nodes += [
            Node(neuron_id(column, i), kind, column, i, f"{prefix}{i + 1}", act)
            for i in range(width)
        ]
        if column < last:
            nodes.append(Node(bias_id(column + 1), BIAS, column, None, "+1"))
    for k in range(1, len(widths)):
        fan_in, size = widths[k - 1], widths[k]
        role = "output" if k == last else "hidden"
        params = fan_in * size + size
        layers.append(
            Layer(k, role, size, acts[k - 1], params, f"{fan_in}×{size} + {size} = {params}", True)
        )
        for j in range(size):
            edges += [
                Edge(neuron_id(k - 1, i), neuron_id(k, j), (i - j) / 10) for i in range(fan_in)
            ]
            edges.append(Edge(bias_id(k), neuron_id(k, j), -0.5))
    total = sum(layer.params for layer in layers)
    return Graph(
        NEURONS, "net", "test", tuple(nodes), tuple(edges), tuple(layers), total, "init", 0
    )


NASTY = 'add "x" <y> {z}|w \\ #1 `t`'


def blocks() -> Graph:
    """A residual block with labels that need escaping in both formats."""
    nodes = (
        Node("input_0", INPUT, 0, None, "input", shape=(1, 8, 4, 4)),
        Node("n1", MODULE, 1, 1, "Conv2d", shape=(1, 8, 4, 4), params=584, name="conv"),
        Node("n2", FUNCTION, 1, 2, NASTY, shape=(1, 8, 4, 4), name="add"),
        Node("output_0", OUTPUT, 0, None, "output", shape=(1, 8, 4, 4)),
    )
    edges = (
        Edge("input_0", "n1"),
        Edge("n1", "n2"),
        Edge("input_0", "n2"),
        Edge("n2", "output_0"),
    )
    return Graph(BLOCKS, 'Res"Net', "tests/x.py:Res", nodes, edges, total_params=584, depth=3)


# --- Validity rules ---------------------------------------------------------------------

MERMAID_NODE = re.compile(
    r'^\s*([A-Za-z_][A-Za-z0-9_]*)(\(\(|\(\[|\{\{|\[)"(.*)"(\)\)|\]\)|\}\}|\])$'
)
MERMAID_EDGE = re.compile(r'^\s*([A-Za-z0-9_]+) -->(?:\|"([^"]*)"\|)? ([A-Za-z0-9_]+)$')


OUTSIDE_QUOTES = re.compile(r'; (?=(?:[^"]*"[^"]*")*[^"]*$)')


def check_mermaid(text: str) -> tuple[set[str], list[tuple[str, str]]]:
    lines = text.rstrip("\n").split("\n")
    assert lines[0] in ("flowchart LR", "flowchart TD")
    depth, declared, edges = 0, set(), []
    # statements are one a line, or several joined by "; " outside the quoted labels
    statements = [part for line in lines[1:] for part in OUTSIDE_QUOTES.split(line.strip())]
    for stripped in statements:
        if stripped.startswith("subgraph "):
            depth += 1
            match = re.fullmatch(r'subgraph ([A-Za-z0-9_]+)\["([^"]*)"\]', stripped)
            assert match, stripped
            continue
        if stripped == "end":
            depth -= 1
            assert depth >= 0
            continue
        if (edge := MERMAID_EDGE.match(stripped)) is not None:
            edges.append((edge.group(1), edge.group(3)))
            continue
        node = MERMAID_NODE.match(stripped)
        assert node, f"not a node, edge or subgraph: {stripped!r}"
        assert '"' not in node.group(3), stripped  # quotes are #quot; inside a label
        assert node.group(1) not in declared, f"declared twice: {stripped}"
        declared.add(node.group(1))
    assert depth == 0, "unbalanced subgraph/end"
    for source, target in edges:
        assert source in declared and target in declared, (source, target)
    assert len(edges) <= MERMAID_MAX_EDGES
    return declared, edges


DOT_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')


def check_dot(text: str) -> tuple[set[str], list[tuple[str, str]]]:
    assert text.startswith("digraph ")
    bare = DOT_STRING.sub("S", text)
    assert '"' not in bare, "an unterminated or badly escaped string"
    assert bare.count("{") == bare.count("}")
    depth = 0
    for char in bare:
        depth += {"{": 1, "}": -1}.get(char, 0)
        assert depth >= 0
    assert re.fullmatch(r"[\sA-Za-z0-9_=;,.\[\]{}\->#S]*", bare), bare
    declared = set(re.findall(r'^\s*"([^"]+)" \[label=', text, re.M))
    edges = re.findall(r'^\s*"([^"]+)" -> "([^"]+)"', text, re.M)
    for source, target in edges:
        assert source in declared and target in declared
    return declared, edges


# --- Mermaid ----------------------------------------------------------------------------


def test_mermaid_of_a_small_mlp_draws_every_neuron_and_connection() -> None:
    graph = mlp([3, 3, 2, 2], ["sigmoid", "relu", "softmax"])
    text = mermaid(graph)
    declared, edges = check_mermaid(text)
    assert text.startswith("flowchart LR\n")
    assert len(edges) == len(graph.edges) == 19 + 7
    assert {n.id for n in graph.nodes} == declared
    assert 'subgraph layer0["Input layer"]' in text
    assert 'subgraph layer1["Hidden layer 1 · Sigmoid"]' in text
    assert 'subgraph layer2["Hidden layer 2 · ReLU"]' in text
    assert 'subgraph layer3["Output layer · Softmax"]' in text
    assert 'L0_1 -->|"0.1"| L1_0' in text  # the weight, 2 significant digits
    assert 'L1_bias -->|"-0.5"| L1_0' in text


def test_mermaid_bias_nodes_sit_in_the_column_before_their_layer() -> None:
    text = mermaid(mlp([2, 2, 1]))
    layer0 = text.split('subgraph layer0["Input layer"]')[1].split("end")[0]
    assert "L1_bias" in layer0


def test_mermaid_elides_wide_layers_and_stays_under_githubs_edge_limit() -> None:
    graph = mlp([784, 256, 128, 10])
    declared, edges = check_mermaid(mermaid(graph))
    assert "L0_more" in declared and "L0_783" in declared and "L0_4" not in declared
    assert len(edges) < MERMAID_MAX_EDGES
    assert "⋮ 776 more" in mermaid(graph)


def test_mermaid_keeps_fewer_neurons_when_the_edges_would_not_fit() -> None:
    graph = mlp([64] * 9)  # 8 transitions of 8 × 8 kept neurons would be 512 + biases
    _, edges = check_mermaid(mermaid(graph))
    assert 0 < len(edges) <= MERMAID_MAX_EDGES


def test_mermaid_blocks_are_a_top_down_flowchart_with_escaped_labels() -> None:
    text = mermaid(blocks())
    declared, edges = check_mermaid(text)
    assert text.startswith("flowchart TD\n")
    assert declared == {"input_0", "n1", "n2", "output_0"}
    assert ("input_0", "n2") in edges and ("n1", "n2") in edges  # the residual merge
    assert 'n1["Conv2d<br/>[1, 8, 4, 4]<br/>584 params"]' in text
    assert "#quot;x#quot;" in text and "#lt;y#gt;" in text and "#35;1" in text


@pytest.mark.parametrize("text", ['"', "<b>", "a#b", "`x`", "line\nbreak", NASTY])
def test_mermaid_escape_leaves_no_raw_specials(text: str) -> None:
    escaped = mermaid_escape(text)
    assert not set('"<>`\n') & set(escaped)


# --- DOT --------------------------------------------------------------------------------


def test_dot_of_a_small_mlp_has_a_cluster_per_layer_and_weighted_edges() -> None:
    graph = mlp([3, 3, 2, 2], ["sigmoid", "relu", "softmax"])
    text = dot(graph)
    declared, edges = check_dot(text)
    assert "rankdir=LR;" in text
    assert all(f"subgraph cluster_{k} {{" in text for k in range(4))
    assert len(edges) == 26 and {n.id for n in graph.nodes} == declared
    assert 'label="Hidden layer 2 · ReLU";' in text
    # colour by sign, width by |w|: the largest |w| gets the widest pen
    assert re.search(r'"L0_2" -> "L1_0" \[color="#2166ac", penwidth=([\d.]+)', text)
    assert re.search(r'"L0_0" -> "L1_2" \[color="#b2182b"', text)


def test_dot_elides_wide_layers_like_the_figure() -> None:
    declared, edges = check_dot(dot(mlp([100, 20, 3])))
    assert "L0_more" in declared and len(edges) < 200


def test_dot_blocks_quote_and_escape_every_label() -> None:
    graph = blocks()
    text = dot(graph)
    declared, edges = check_dot(text)
    assert "rankdir=TB;" in text and text.startswith('digraph "Res\\"Net" {')
    assert declared == {"input_0", "n1", "n2", "output_0"}
    assert len(edges) == 4
    assert '"n1" [label="{Conv2d|[1, 8, 4, 4]|584 params}"];' in text
    assert dot_quote("\n".join([NASTY, "[1, 8, 4, 4]"])) in text  # a call: a plain label


def test_dot_record_labels_escape_the_record_specials() -> None:
    graph = blocks()
    nasty = Node("n1", MODULE, 1, 1, NASTY, shape=(2,), params=1)
    graph = Graph(BLOCKS, "g", "s", (graph.nodes[0], nasty), (Edge("input_0", "n1"),))
    text = dot(graph)
    check_dot(text)
    assert r'"{add \"x\" \<y\> \{z\}\|w \\ #1 `t`|[2]|1 params}"' in text


@pytest.mark.parametrize("text", ['a"b', "a\\b", 'end\\"', "x\ny"])
def test_dot_quote_round_trips(text: str) -> None:
    quoted = dot_quote(text)
    assert DOT_STRING.fullmatch(quoted)
    inner = quoted[1:-1].replace("\\n", "\n")
    assert re.sub(r"\\(.)", r"\1", inner.replace("\\\\", "\x00")).replace("\x00", "\\") == text


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's dot is not installed")
@pytest.mark.parametrize("graph", [mlp([3, 3, 2, 2]), blocks()], ids=["neurons", "blocks"])
def test_graphviz_parses_the_dot(graph: Graph) -> None:
    done = subprocess.run(["dot", "-Tsvg"], input=dot(graph), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


# --- The JSON document ------------------------------------------------------------------


def test_graph_document_lists_every_node_and_edge_even_elided() -> None:
    graph = mlp([30, 12, 2])
    document = graph_document(graph)
    assert len(document["nodes"]) == 30 + 12 + 2 + 2
    assert len(document["edges"]) == 30 * 12 + 12 + 12 * 2 + 2
    assert set(document["nodes"][0]) == {
        "id",
        "kind",
        "layer",
        "index",
        "label",
        "activation",
        "shape",
        "params",
        "value",
        "name",
    }
    assert document["edges"][0] == {"source": "L0_0", "target": "L1_0", "weight": 0.0}
    assert document["layers"][1]["formula"] == "30×12 + 12 = 372"
    assert document["kind"] == "neurons" and document["total_params"] == 372 + 26


def test_graph_document_of_blocks() -> None:
    document = graph_document(blocks())
    assert document["nodes"][1]["shape"] == [1, 8, 4, 4]
    assert document["nodes"][1]["name"] == "conv"
    assert document["layers"] == [] and document["depth"] == 3
    assert all(edge["weight"] is None for edge in document["edges"])


def test_graph_text_json_is_the_document_with_schema_version() -> None:
    document = json.loads(graph_text(mlp([2, 2]), "json"))
    assert document["schema_version"] == 1 and document["command"] == "draw"
    assert document["format"] == "json" and len(document["edges"]) == 6


def test_shown_indices() -> None:
    assert shown_indices(10) == (list(range(10)), 0)
    assert shown_indices(11) == ([0, 1, 2, 3, 7, 8, 9, 10], 3)
