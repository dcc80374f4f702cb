"""A small MLP as the tutorial draws it: a column of neurons per layer, every neuron
connected to every neuron of the next layer, a "+1" bias node per layer, and (with
``--input``) one sample's values flowing forward.

The weights are the config's seeded init, exactly what :func:`~nncli.core.model.build.
build_model` makes (so the same as ``nncli run --seed S --params`` and the start of
``nncli train``), or a checkpoint's ``state_dict``. The model is built on the CPU
whatever device the machine has: a picture's numbers must not depend on it.

Edge order, stable and documented for every renderer: layer by layer (into layer 1,
then layer 2, ...); within a layer, first its weight connections target-major (the
order of the weight matrix's rows: every connection into neuron 1, then into neuron
2, ...; ``weight = W[j, i]`` for source ``i``, target ``j``), then its bias connections
(bias node -> neuron 1, 2, ..., ``weight = b[j]``).
"""

from __future__ import annotations

import gc
import itertools
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nncli.core.draw.graph import (
    BIAS,
    INPUT,
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
from nncli.core.model.counting import param_formula
from nncli.core.model.spec import ModelSpec, module_names
from nncli.errors import UsageError
from nncli.limits import MAX_NEURON_COLUMNS, MAX_NEURON_CONNECTIONS, MAX_SIZE, check_seed

if TYPE_CHECKING:
    import numpy as np
    from torch import nn

# Neuron labels by role: x1..xn (the tutorial's input vector x = (x_1, ..., x_n)),
# h1..hn in every hidden layer, y1..yn at the output.
LABEL_PREFIX = {INPUT: "x", NEURON: "h", OUTPUT: "y"}
ROLES = {INPUT: "input", NEURON: "hidden", OUTPUT: "output"}
FLOAT32_MAX = 3.4028234663852886e38


# ------------------------------------------------------------------------ refusal


def connection_count(spec: ModelSpec) -> int:
    """Weight connections of the linear layers (in × out each; biases not counted)."""
    return sum(a * b for a, b in itertools.pairwise(_widths(spec)))


def neuron_refusal(
    spec: ModelSpec,
    *,
    max_columns: int = MAX_NEURON_COLUMNS,
    max_connections: int = MAX_NEURON_CONNECTIONS,
) -> str | None:
    """None when ``spec`` can be drawn as neurons, else one sentence saying why not,
    fit for "too big to draw as neurons: <reason>; drawn as blocks".

    Neurons need an MLP: every layer linear, on a vector of features. Then at most
    ``max_columns`` columns (the input layer and every linear layer) and
    ``max_connections`` weight connections.
    """
    not_mlp = _not_mlp(spec)
    if not_mlp is not None:
        return not_mlp
    reasons = []
    connections = connection_count(spec)
    if connections > max_connections:
        reasons.append(f"{connections:,} connections, more than {max_connections:,}")
    columns = len(spec.layers) + 1
    if columns > max_columns:
        reasons.append(
            f"{columns} columns (the input and {len(spec.layers)} linear layers), "
            f"more than {max_columns}"
        )
    return f"{spec.name} has {', and '.join(reasons)}" if reasons else None


def _not_mlp(spec: ModelSpec) -> str | None:
    """Why ``spec`` is not a plain MLP (a neuron per feature), or None."""
    others: list[str] = []
    for layer in spec.layers:
        if layer.type != "linear" and layer.type not in others:
            others.append(layer.type)
    if others:
        return f"{spec.name} has {_and(others)} layers"
    if spec.input_shape is not None and len(spec.input_shape) > 1:
        # A linear layer on [C, H, W] acts on the last dimension only: no single column.
        shape = "×".join(str(d) for d in spec.input_shape)
        return f"{spec.name} takes a {shape} input, not a vector of features"
    return None


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _widths(spec: ModelSpec) -> list[int]:
    """Neurons per column: the input features, then each layer's out_features."""
    return [spec.input_features, *(layer.out_features for layer in spec.layers)]


# ------------------------------------------------------------------------ the graph


@dataclass(frozen=True)
class _Weights:
    """One linear layer's parameters as numpy arrays (W: out × in, b: out or None)."""

    weight: np.ndarray
    bias: np.ndarray | None


def neuron_graph(
    spec: ModelSpec,
    *,
    state: Any = None,
    standardization: Any = None,
    seed: int = 0,
    input_row: Sequence[float] | None = None,
) -> Graph:
    """``spec`` as a graph of neurons (kind NEURONS), with its weights on the edges.

    ``state``: a checkpoint's ``state_dict`` (``read_checkpoint(path).state``) loaded
    into the built model; without it the weights are the seeded init under ``seed``.
    ``input_row``: one sample's raw features; with ``standardization`` (the
    checkpoint's) it is standardised first, as ``run --weights`` does, then run forward
    so each node's ``value`` is its output. Every input is checked before anything is
    built: a usage error names the bad value. A spec that is not an MLP, or whose
    connections exceed :data:`MAX_NEURON_CONNECTIONS`, is refused (the column limit
    only decides how it is drawn: call :func:`neuron_refusal` first).
    """
    _check_drawable(spec)
    row = None if input_row is None else _checked_row(spec, input_row)
    check_seed(seed)
    model, linears = _built(spec, state, seed)
    weights = [_weights_of(module) for module in linears]
    values = None
    if row is not None:
        fed = _standardized(row, standardization)
        values = _forward(spec, model, fed)
    output = values[-1] if values is not None else None
    return Graph(
        kind=NEURONS,
        name=spec.name,
        source=spec.source,
        nodes=tuple(_nodes(spec, values)),
        edges=_edges(weights),
        layers=tuple(_layers(spec)),
        total_params=spec.param_count(),
        weights="init" if state is None else "checkpoint",
        seed=seed if state is None else None,
        input_row=None if input_row is None else tuple(float(v) for v in input_row),
        standardized=row is not None and standardization is not None,
        prediction=_prediction(output),
    )


def _check_drawable(spec: ModelSpec) -> None:
    """Refuse, before allocating, a spec that has no neuron graph or too big a one (the
    column limit is the picture's, not the graph's: deep_tanh's 12 columns build)."""
    reason = neuron_refusal(spec, max_columns=MAX_SIZE)
    if reason is not None:
        raise UsageError(f"cannot draw {spec.name} as neurons: {reason}", hint="draw it as blocks")


def _row_text(row: Sequence[float], shown: int = 8) -> str:
    """The row as the user would have typed it; a long one cut after ``shown`` values."""
    text = ",".join(f"{float(v):g}" for v in row[:shown])
    return text + ",…" if len(row) > shown else text


def _checked_row(spec: ModelSpec, input_row: Sequence[float]) -> np.ndarray:
    """The row as float32 (as ``run --input`` reads a CSV), its width and values checked."""
    import numpy as np

    values = [float(v) for v in input_row]
    width = spec.input_features
    if len(values) != width:
        many = "value" if len(values) == 1 else "values"
        raise UsageError(
            f"--input {_row_text(values)}: {len(values)} {many}, the model takes {width} "
            f"feature{'s' if width != 1 else ''}",
            hint=f"give {width} comma-separated numbers",
        )
    for position, value in enumerate(values, start=1):
        problem = None
        if not math.isfinite(value):
            problem = "is not a finite number"
        elif abs(value) > FLOAT32_MAX:  # float32 would make it inf
            problem = "is beyond float32's range (±3.4e38)"
        if problem is not None:
            raise UsageError(f"--input {_row_text(values)}: value {position} ({value:g}) {problem}")
    return np.asarray(values, dtype=np.float32)


def _built(spec: ModelSpec, state: Any, seed: int) -> tuple[nn.Sequential, list[nn.Linear]]:
    """The model on the CPU, seeded or with ``state``, and its linear layers in order."""
    import torch

    from nncli.core.model.build import build_model

    model = build_model(spec, "cpu", seed=seed).model
    if state is not None:
        floats = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
        try:
            with torch.no_grad():
                model.load_state_dict(floats)
        except RuntimeError as exc:  # a state_dict that is not this config's
            first = str(exc).strip().splitlines()
            raise UsageError(
                f"the weights do not match config {spec.source}: "
                f"{first[-1].strip() if first else exc}"
            ) from exc
    model.eval()
    linears = [model.get_submodule(name) for name, _ in module_names(spec)]
    return model, linears  # type: ignore[return-value]


def _weights_of(module: nn.Linear) -> _Weights:
    bias = module.bias
    return _Weights(
        module.weight.detach().float().numpy(),
        None if bias is None else bias.detach().float().numpy(),
    )


def _standardized(row: np.ndarray, standardization: Any) -> np.ndarray:
    """The row as the model sees it: standardised with the checkpoint's statistics (as
    ``run --weights --input`` does, float64 then float32), else as given."""
    if standardization is None:
        return row
    result: np.ndarray = standardization.apply(row.reshape(1, -1))[0]
    return result


def _forward(spec: ModelSpec, model: nn.Sequential, row: np.ndarray) -> list[list[float]]:
    """Each column's values for one sample: the input fed in, then every layer's output
    after its activation (softmax over the layer, as the model applies it)."""
    import torch

    x = torch.from_numpy(row.reshape(1, -1).copy())
    columns = [x[0].tolist()]
    with torch.no_grad():
        for linear, activation in module_names(spec):
            x = model.get_submodule(linear)(x)
            if activation is not None:
                x = model.get_submodule(activation)(x)
            columns.append(x[0].float().tolist())
    return columns


def _prediction(output: list[float] | None) -> int | None:
    """The output neuron with the largest value, for a classifier (more than one)."""
    if output is None or len(output) < 2:
        return None
    return max(range(len(output)), key=output.__getitem__)  # the first of ties, as argmax


def _kind(column: int, last: int) -> str:
    return INPUT if column == 0 else OUTPUT if column == last else NEURON


def _nodes(spec: ModelSpec, values: list[list[float]] | None) -> list[Node]:
    """Every neuron, column by column, each column's bias node right after the neurons
    of the column it is drawn in (the bias into layer k sits in column k - 1)."""
    widths = _widths(spec)
    last = len(widths) - 1
    nodes: list[Node] = []
    for column, width in enumerate(widths):
        kind = _kind(column, last)
        prefix = LABEL_PREFIX[kind]
        activation = None if column == 0 else spec.layers[column - 1].activation
        column_values = values[column] if values is not None else [None] * width
        nodes += [
            Node(neuron_id(column, i), kind, column, i, f"{prefix}{i + 1}", activation, value=v)
            for i, v in enumerate(column_values)
        ]
        if column < last and spec.layers[column].bias:
            one = 1.0 if values is not None else None
            nodes.append(Node(bias_id(column + 1), BIAS, column, None, "+1", value=one))
    return nodes


def _edges(weights: list[_Weights]) -> tuple[Edge, ...]:
    """Every connection, in the module docstring's order. Built from numpy's
    ``tolist`` (Python floats, the float32 values exactly): indexing tensors one
    scalar at a time would cost seconds for mnist_mlp's 234,752 connections."""
    edges: list[Edge] = []
    with _gc_paused():
        for layer, params in enumerate(weights, start=1):
            rows, cols = params.weight.shape
            sources = [neuron_id(layer - 1, i) for i in range(cols)]
            targets = [neuron_id(layer, j) for j in range(rows)]
            for target, row in zip(targets, params.weight.tolist(), strict=True):
                edges += [Edge(s, target, w) for s, w in zip(sources, row, strict=True)]
            if params.bias is not None:
                bias = bias_id(layer)
                edges += [
                    Edge(bias, t, b) for t, b in zip(targets, params.bias.tolist(), strict=True)
                ]
        return tuple(edges)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off for a block that makes many acyclic objects:
    each of its passes over a heap holding torch would find nothing, and 235,000 edges
    trigger dozens of them (measured: mnist_mlp's graph in half the time)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _layers(spec: ModelSpec) -> list[Layer]:
    """The columns: the input layer, then each linear layer with its formula."""
    widths = _widths(spec)
    last = len(widths) - 1
    layers = [Layer(0, ROLES[INPUT], widths[0], None, 0, None, False, None)]
    names = module_names(spec)
    for column in range(1, last + 1):
        spec_layer = spec.layers[column - 1]
        fan_in, size = widths[column - 1], widths[column]
        counted = [("weight", fan_in * size)] + ([("bias", size)] if spec_layer.bias else [])
        layers.append(
            Layer(
                index=column,
                role=ROLES[_kind(column, last)],
                size=size,
                activation=spec_layer.activation,
                params=sum(count for _, count in counted),
                formula=param_formula(counted, (fan_in, size)),
                bias=spec_layer.bias,
                name=names[column - 1][0],
            )
        )
    return layers
