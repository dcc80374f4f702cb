"""``nncli summary``: the model's layers, parameter counts, mult-adds and memory."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from nncli.commands._options import ConfigOpt, DeviceOpt, JsonOpt
from nncli.commands.run import WeightsOpt

if TYPE_CHECKING:
    from nncli.core.model.summary import SummaryResult

BatchOpt = Annotated[
    int,
    typer.Option(
        "--batch", "-b", help="Batch size shown in the shapes (as torchsummary's batch_size)."
    ),
]


def summary(
    config: ConfigOpt = None,
    batch: BatchOpt = 5,
    device: DeviceOpt = None,
    classic: Annotated[
        bool,
        typer.Option(
            "--classic", help="Also print torchsummary's own output (needs real weights)."
        ),
    ] = False,
    weights: WeightsOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Build the model (default: the tutorial's demo) and print its layers and parameters.

    Shapes, counts and mult-adds come from torch's meta device: no weights are allocated,
    so a 10-billion-parameter config summarises as fast as the demo.
    """
    from nncli.commands._options import check_at_least
    from nncli.commands.run import model_and_weights
    from nncli.core.device import select_device

    check_at_least("--batch", batch)
    spec, state = model_and_weights(config, weights)
    chosen = select_device(device)

    from nncli.core.model.summary import classic_summary, summarize_spec

    result = summarize_spec(spec, batch, chosen)
    if classic:
        # torchsummary runs a real forward pass (batch 2) and keeps every output.
        needed = result.memory.params + 2 * result.memory.activations
        result.classic = classic_summary(spec, batch, chosen, needed)
    del state  # loaded to prove the checkpoint matches its config; the summary needs no values
    if json_out:
        from nncli.render.jsonout import emit

        document = summary_document(result)
        document["weights"] = weights
        emit("summary", document)
        return
    from nncli.render.console import stdout_console
    from nncli.render.tables import render_summary

    render_summary(result, stdout_console())


def summary_document(result: SummaryResult) -> dict[str, object]:
    return {
        "model": result.model_name,
        "config": result.source,
        "device": result.device,
        "built_on": result.built_on,
        "input_shape": result.input_shape,
        "layers": result.layers,
        "total_params": result.total_params,
        "trainable_params": result.trainable_params,
        "non_trainable_params": result.non_trainable_params,
        "mult_adds": result.mult_adds,
        "mult_adds_rule": result.mult_adds_rule,
        "memory_bytes": {
            "input": result.memory.input,
            "activations": result.memory.activations,
            "params": result.memory.params,
            "total": result.memory.total,
        },
        "classic": result.classic,
    }
