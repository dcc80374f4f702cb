"""A config's summary, computed from its spec: rows, totals, mult-adds and memory.

Shapes, parameter and buffer counts follow from the layer types' own formulas
(:mod:`nncli.core.model.layertypes`) and mult-adds from the one counting rule
(:mod:`nncli.core.model.counting`), so no torch model is built and no forward pass
runs: a 10-billion-parameter config summarises in milliseconds, and torch is not
even imported unless automatic device selection asks it for a GPU.
The rows are the ones the forward-hook path (:mod:`nncli.core.model.hooks`) makes
of the built model; tests/test_summary.py checks the two against each other and
against torchinfo for every bundled config.
"""

from __future__ import annotations

import io
import math
from contextlib import redirect_stdout

from nncli.core.activation.activations import get_activation
from nncli.core.memory import FLOAT32, ensure_fits
from nncli.core.model import layertypes as lt
from nncli.core.model.counting import mult_adds, param_formula
from nncli.core.model.results import LayerRow, Memory, SummaryResult
from nncli.core.model.spec import (
    NO_INIT,
    LayerSpec,
    ModelSpec,
    check_batch_statistics,
    check_tensor_sizes,
    module_names,
)


def summarize_spec(spec: ModelSpec, batch: int, device: str) -> SummaryResult:
    """Summarise a config from its spec: the cost does not grow with its size."""
    check_tensor_sizes(spec, batch)  # a tensor torch could not address: exit 2, as ever
    check_batch_statistics(
        spec,
        batch,
        training=False,
        hint="summarise a batch of 2 or more (-b 2), or set track_running_stats = true",
    )
    rows: list[LayerRow] = []
    activations = 0
    for layer, in_shape, out_shape, (name, act_name) in zip(
        spec.layers, spec.layer_inputs(), spec.layer_shapes, module_names(spec), strict=True
    ):
        rows.append(_layer_row(len(rows) + 1, name, layer, batch, in_shape, out_shape))
        output = [batch, *out_shape]
        activations += math.prod(output) * FLOAT32
        if act_name is not None and layer.activation is not None:
            # Activations keep their input's shape and hold no parameters.
            module = get_activation(layer.activation).module
            rows.append(_plain_row(len(rows) + 1, act_name, module, output, output))
            activations += math.prod(output) * FLOAT32
    params = sum(row.params for row in rows)
    input_shape = [batch, *spec.sample_shape]
    memory = Memory(
        input=math.prod(input_shape) * FLOAT32,
        activations=activations,
        params=params * FLOAT32,
        buffers=sum(
            count * size
            for layer, shape in zip(spec.layers, spec.layer_inputs(), strict=True)
            for _, count, size in lt.buffers(layer.kind, layer.args, shape)
        ),
    )
    return SummaryResult(
        model_name=spec.name,
        source=spec.source,
        device=device,
        built_on="meta",  # no weights allocated: what "meta" has always meant in the JSON
        input_shape=input_shape,
        layers=rows,
        total_params=params,
        trainable_params=params,
        non_trainable_params=0,
        mult_adds=sum(row.mult_adds for row in rows),
        memory=memory,
        buffers=sum(row.buffers for row in rows),
        inputs=[{"name": None, "shape": input_shape, "dtype": "float32"}],
    )


def _layer_row(
    index: int,
    name: str,
    layer: LayerSpec,
    batch: int,
    in_shape: tuple[int, ...],
    out_shape: tuple[int, ...],
) -> LayerRow:
    kind = layer.kind
    named = lt.parameters(kind, layer.args, layer.out_features, layer.bias, in_shape)
    weight = lt.weight_shape(kind, layer.args, layer.out_features, in_shape)
    factors = (weight[1], weight[0]) if kind.factored and weight is not None else None
    output = [batch, *out_shape]
    row = _plain_row(index, name, kind.module, [batch, *in_shape], output)
    row.params = sum(count for _, count in named)
    row.param_formula = param_formula(named, factors)
    row.init = layer.init_label(in_shape)
    row.init_args = dict(layer.init_args) if layer.init is not None and kind.weighted else {}
    row.trainable = True if named else None
    row.mult_adds = mult_adds(named, output, kind.conv)
    row.buffers = lt.buffer_count(kind, layer.args, in_shape)
    return row


def _plain_row(
    index: int, name: str, type_: str, input_shape: list[int], output_shape: list[int]
) -> LayerRow:
    return LayerRow(
        index=index,
        name=name,
        type=type_,
        input_shape=input_shape,
        output_shape=output_shape,
        params=0,
        param_formula=param_formula([]),
        init=NO_INIT,
        trainable=None,
        mult_adds=0,
    )


def classic_summary(spec: ModelSpec, batch: int, device: str, needed: int) -> str:
    """torchsummary's own text for the real model on ``device``; refused if it won't fit."""
    import torch
    from torchsummary import summary as torchsummary

    if device.startswith("mps"):
        from nncli.errors import UsageError

        raise UsageError("--classic: torchsummary supports only cpu and cuda, not mps")
    if spec.param_count() == 0:
        from nncli.errors import UsageError

        raise UsageError(
            f"--classic: config {spec.source} has no parameters, and torchsummary fails on "
            "a model without any",
            hint="leave out --classic: the default summary shows this model",
        )
    ensure_fits(needed, device, "--classic (torchsummary needs real weights)")
    from nncli.core.model.build import build_model

    built = build_model(spec, device, seed=0)
    kind = "cuda" if device.startswith("cuda") else "cpu"
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        if kind == "cuda":
            # torchsummary makes its input on the *current* CUDA device.
            with torch.cuda.device(torch.device(device)):
                torchsummary(built.model, spec.sample_shape, batch_size=batch, device=kind)
        else:
            torchsummary(built.model, spec.sample_shape, batch_size=batch, device=kind)
    return buffer.getvalue()
