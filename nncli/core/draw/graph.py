"""The graph ``nncli draw`` draws, as data: nodes, edges and, for a neuron diagram, its
layers. Both builders (:mod:`~nncli.core.draw.neurons`, :mod:`~nncli.core.draw.blocks`)
return a :class:`Graph`; every renderer (the figure, Mermaid, DOT, JSON) reads one.

Pure Python: no torch here, so a renderer can import it without loading torch.

Node ids are stable strings, unique in a graph, safe in Mermaid and DOT as they are
(letters, digits and underscores):

- neurons: ``L{layer}_{index}`` (layer 0 is the input layer), and ``L{layer}_bias`` for
  the "+1" bias node whose connections carry the biases *into* layer ``layer``;
- blocks: ``input_{k}`` for the model's k-th input tensor, ``n{row}`` for the summary
  row ``row`` (the ``#`` column of ``nncli summary``), ``output_{k}`` for its k-th output.
"""

from __future__ import annotations

from dataclasses import dataclass

from nncli.limits import MAX_DRAWN_NEURONS

# Node kinds.
INPUT = "input"  # a neuron of the input layer, or (blocks) one of the model's inputs
NEURON = "neuron"  # a neuron of a hidden layer
OUTPUT = "output"  # a neuron of the output layer, or (blocks) one of the model's outputs
BIAS = "bias"  # the "+1" node whose connections carry a layer's biases
MODULE = "module"  # a block: a module at --depth (a summary row of kind "module")
FUNCTION = "function"  # a block: a call in forward (a summary row of kind "function")
NODE_KINDS = (INPUT, NEURON, OUTPUT, BIAS, MODULE, FUNCTION)

NEURONS = "neurons"
BLOCKS = "blocks"

# A layer wider than MAX_DRAWN_NEURONS is drawn (figure, Mermaid, DOT) as this many
# neurons at each end with "⋮ (N more)" between them; the JSON lists them all.
KEEP_EACH_END = 4


@dataclass(frozen=True)
class Node:
    """One node. Fields that do not apply are None (the JSON writes null)."""

    id: str
    kind: str  # one of NODE_KINDS
    # neurons: the column (0 = input layer); blocks: the row's depth in the module tree
    layer: int | None
    # neurons: the neuron's index in its layer (None for a bias node); blocks: the row
    index: int | None
    label: str  # what the picture writes: "x1", "h2", "y1", "+1", "Conv2d", "add (+)"
    activation: str | None = None  # neurons: its layer's activation (registry name)
    shape: tuple[int, ...] | None = None  # blocks: the output shape, batch included
    params: int | None = None  # blocks: the block's parameters (its folded children's too)
    # neurons with --input: the value the neuron outputs (after its activation; an input
    # neuron's is the value fed in, standardised if the checkpoint says so); 1.0 for a
    # bias node. None without --input.
    value: float | None = None
    # blocks: the module's qualified name ("layer1.0.conv1"), or the function's; neurons:
    # None. Not part of the node contract; the JSON writes it as "name".
    name: str | None = None


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    weight: float | None = None  # neurons: the connection's weight (a bias node's: b)


@dataclass(frozen=True)
class Layer:
    """One column of a neuron diagram."""

    index: int  # 0 = input layer
    role: str  # "input", "hidden" or "output"
    size: int  # neurons
    activation: str | None  # registry name; None for the input layer or none given
    params: int  # weights and biases into this layer (0 for the input layer)
    formula: str | None  # "3×3 + 3 = 12" (fan-in × size + biases = params)
    bias: bool  # whether the layer has biases (a bias node feeds it)
    name: str | None = None  # the config's layer name ("linear1")


@dataclass(frozen=True)
class Graph:
    kind: str  # NEURONS or BLOCKS
    name: str  # the model's name ("demo", "ResNet")
    source: str  # the config's path or the --model SPEC
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    layers: tuple[Layer, ...] = ()  # neurons only
    total_params: int = 0
    # neurons: where the weights came from: "init" (the config's seeded init) or
    # "checkpoint" (--weights); blocks: None
    weights: str | None = None
    seed: int | None = None
    # --input: the row as given, and whether the checkpoint's standardisation was applied
    input_row: tuple[float, ...] | None = None
    standardized: bool = False
    # --input, a classifier: the output neuron with the largest value; None otherwise
    prediction: int | None = None
    depth: int | None = None  # blocks: --depth
    # Why the graph is what it is: "too big to draw as neurons (...): drawn as blocks",
    # "the meta pass ..."; printed after the path and kept in --json.
    notes: tuple[str, ...] = ()

    def node(self, node_id: str) -> Node:
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)

    def weighted_edges(self) -> list[Edge]:
        return [edge for edge in self.edges if edge.weight is not None]


def neuron_id(layer: int, index: int) -> str:
    return f"L{layer}_{index}"


def bias_id(layer: int) -> str:
    """The bias node feeding ``layer`` (drawn in the column of ``layer - 1``)."""
    return f"L{layer}_bias"


def shown_indices(size: int, keep: int = KEEP_EACH_END) -> tuple[list[int], int]:
    """The neuron indices drawn of a layer of ``size`` and how many are elided between
    the first ``keep`` and the last ``keep`` (0 when the whole layer fits): the one rule
    of the figure and the text formats."""
    if size <= MAX_DRAWN_NEURONS:
        return list(range(size)), 0
    return [*range(keep), *range(size - keep, size)], size - 2 * keep
