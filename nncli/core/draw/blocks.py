"""A model as a graph of blocks: the rows of ``nncli summary``, with arrows along the data.

* :func:`config_block_graph`: a config (a CNN such as lenet5, or any config too big to
  draw as neurons). Its rows come from :func:`~nncli.core.model.summarize.summarize_spec`,
  by arithmetic (no torch build); a config is a chain, so the edges are too.
* :func:`model_block_graph`: a user's ``--model``, summarised as ``summary --model`` does
  (on meta, with the same fallbacks). The edges are traced in that same pass by tensor
  identity (:mod:`nncli.core.model.flow`), so a residual addition has two incoming edges
  and a concatenation one per input.

Node ids follow :mod:`nncli.core.draw.graph`: ``input_k``, ``n{row}`` (the ``#`` column
of the summary at that depth), ``output_k``.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from nncli.core.draw.graph import (
    BLOCKS,
    FUNCTION,
    INPUT,
    MODULE,
    OUTPUT,
    Edge,
    Graph,
    Node,
)

if TYPE_CHECKING:
    from nncli.core.model.flow import FlowTracer
    from nncli.core.model.results import LayerRow, SummaryResult
    from nncli.core.model.spec import ModelSpec
    from nncli.core.model.user.request import ModelRequest

INPUT_LABEL = "Input"
OUTPUT_LABEL = "Output"


def config_block_graph(spec: ModelSpec, *, batch: int = 1, note: str | None = None) -> Graph:
    """A config's layers as a chain of blocks: input_0 -> n1 -> ... -> output_0.

    The nodes are ``nncli summary --config``'s rows (type, output shape with the batch,
    parameters); ``note`` (why it is drawn as blocks) goes into ``notes``.
    """
    from nncli.core.model.summarize import summarize_spec

    result = summarize_spec(spec, batch, "cpu")
    nodes = [_input_node(0, tuple(result.input_shape), None)]
    nodes += [_row_node(row) for row in result.layers]
    last = nodes[-1].shape if result.layers else nodes[0].shape
    nodes.append(_output_node(0, last))
    edges = tuple(Edge(a.id, b.id) for a, b in itertools.pairwise(nodes))
    return Graph(
        kind=BLOCKS,
        name=spec.name,
        source=spec.source,
        nodes=tuple(nodes),
        edges=edges,
        total_params=result.total_params,
        depth=1,  # a config's rows are all at depth 1
        notes=(note,) if note else (),
    )


def model_block_graph(
    request: ModelRequest, *, depth: int = 3, functional: bool | None = True
) -> Graph:
    """A user's model as blocks at ``depth``, with edges traced from the summary's pass.

    The nodes are the rows of ``summary --model SPEC --depth DEPTH`` that have no shown
    child (a folded row holds its children), functional rows among them; a container
    whose children are shown is no node, and its children's ``name`` says where they
    belong ("layer1.0.conv1"). ``functional`` is passed to the summary: True (the
    default) records the calls in forward (``torch.flatten``, ``add (+)``) at every
    depth; None does as ``summary`` does (only from depth 3), so the node ids are its
    ``#`` column.
    """
    from nncli.core.model.flow import FlowTracer
    from nncli.core.model.user.summary import summarize_target

    tracer = FlowTracer()
    result = summarize_target(request, depth=depth, functional=functional, tracer=tracer)
    nodes, edges = _blocks(result, tracer, depth)
    return Graph(
        kind=BLOCKS,
        name=result.model_name,
        source=request.spec,
        nodes=nodes,
        edges=edges,
        total_params=result.total_params,
        depth=depth,
        notes=tuple(_notes(result)),
    )


def _notes(result: SummaryResult) -> list[str]:
    notes = [str(note) for note in result.extras.get("notes", [])]
    if result.fallback:  # as the summary's header says it
        notes.insert(0, f"built on {result.built_on}: {result.fallback}")
    return notes


def _blocks(
    result: SummaryResult, tracer: FlowTracer, depth: int
) -> tuple[tuple[Node, ...], tuple[Edge, ...]]:
    """The shown rows as nodes, and the traced edges mapped onto them."""
    from nncli.core.model.flow import input_key

    owner = _owners(tracer.rows, depth)  # full-depth row -> the folded row showing it
    rows = result.layers
    if len(rows) != len(set(owner.values())):  # the trace and the summary disagree
        raise RuntimeError("the traced rows do not match the summary's rows")
    parents = {row.parent for row in rows if row.parent is not None}
    shown = {row.index for row in rows if row.index not in parents}
    ids = {input_key(k): f"input_{k}" for k in range(len(tracer.inputs))}

    def node_id(key: int) -> str | None:
        if key < 0:
            return ids.get(key)
        folded = owner.get(key)
        return f"n{folded}" if folded in shown else None

    pairs: dict[tuple[str, str], None] = {}
    for source, target in tracer.edges:
        _add(pairs, node_id(source), node_id(target))
    for k, (_shape, producers) in enumerate(tracer.outputs):
        for source in sorted(producers):
            _add(pairs, node_id(source), f"output_{k}")
    linked = {end for pair in pairs for end in pair}
    nodes = [_input_node(k, shape, _input_name(result, k)) for k, shape in enumerate(tracer.inputs)]
    # A shown row with no edge (a module never called, the model's own parameters) is
    # on no data path: the picture leaves it out, the totals keep its parameters.
    nodes += [_row_node(row) for row in rows if f"n{row.index}" in linked]
    nodes += [_output_node(k, shape) for k, (shape, _) in enumerate(tracer.outputs)]
    return tuple(nodes), tuple(Edge(a, b) for a, b in pairs)


def _add(pairs: dict[tuple[str, str], None], source: str | None, target: str | None) -> None:
    """An edge between two nodes; none inside one node or to a box that is not drawn."""
    if source is not None and target is not None and source != target:
        pairs[(source, target)] = None


def _owners(rows: list[LayerRow], depth: int) -> dict[int, int]:
    """Each full-depth row's folded row number, as :func:`hooks.fold` numbers them."""
    owner: dict[int, int] = {}
    kept = 0
    for row in rows:
        if row.depth <= depth:
            kept += 1
            owner[row.index] = kept
        elif row.parent is not None:
            owner[row.index] = owner[row.parent]
    return owner


def _input_name(result: SummaryResult, k: int) -> str | None:
    inputs = result.inputs
    return inputs[k].get("name") if k < len(inputs) else None


def _input_node(k: int, shape: tuple[int, ...] | None, name: str | None) -> Node:
    return Node(
        id=f"input_{k}", kind=INPUT, layer=0, index=k, label=INPUT_LABEL, shape=shape, name=name
    )


def _output_node(k: int, shape: tuple[int, ...] | None) -> Node:
    return Node(id=f"output_{k}", kind=OUTPUT, layer=None, index=k, label=OUTPUT_LABEL, shape=shape)


def _row_node(row: LayerRow) -> Node:
    return Node(
        id=f"n{row.index}",
        kind=FUNCTION if row.kind == "function" else MODULE,
        layer=row.depth,
        index=row.index,
        label=row.type,
        shape=_first_shape(row.output_shape),
        params=row.params,
        name=row.name,
    )


def _first_shape(shape: Any) -> tuple[int, ...] | None:
    """A tensor's shape as a tuple; for a tuple or dict of outputs, the first tensor's."""
    if isinstance(shape, list) and all(isinstance(d, int) for d in shape):
        return tuple(shape)
    values = shape.values() if isinstance(shape, dict) else shape if isinstance(shape, list) else ()
    for value in values:
        if (found := _first_shape(value)) is not None:
            return found
    return None
