"""``nncli run``: a forward pass on seeded random input, or on your own rows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from nncli.commands._options import (
    ConfigOpt,
    DeviceOpt,
    JsonOpt,
    SeedOpt,
    check_at_least,
    check_seed,
)
from nncli.errors import UsageError

if TYPE_CHECKING:
    from nncli.core.model.config import ModelSpec

WeightsOpt = Annotated[
    str | None,
    typer.Option(
        "--weights",
        "-w",
        metavar="FILE",
        help=(
            "Use the trained weights of a checkpoint written by `nncli train --save`; its "
            "config is the model unless --config is given (then the two must match)."
        ),
        show_default=False,
    ),
]


def model_and_weights(config: str | None, weights: str | None) -> tuple[ModelSpec, Any]:
    """The model to use and, with ``--weights``, its trained state_dict.

    The checkpoint carries its own config, so ``--weights`` alone is enough; with
    ``--config`` too, load_checkpoint checks the two describe the same model (exit 2).
    """
    from nncli.core.model.config import load_config

    if weights is None:
        return load_config(config), None
    from nncli.core.train.checkpoint import load_checkpoint

    return load_checkpoint(weights, load_config(config) if config is not None else None)


def run(
    config: ConfigOpt = None,
    batch: Annotated[
        int | None,
        typer.Option(
            "--batch", "-b", help="Rows of N(0, 1) input.  [default: 5]", show_default=False
        ),
    ] = None,
    seed: SeedOpt = 0,
    input_file: Annotated[
        str | None,
        typer.Option(
            "--input", "-i", metavar="FILE", help="Run on your own rows: a .csv or .npy file."
        ),
    ] = None,
    params: Annotated[
        bool, typer.Option("--params", help="Also print every named parameter with its values.")
    ] = False,
    weights: WeightsOpt = None,
    device: DeviceOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Run one forward pass of the model (default: the tutorial's demo) and show the output.

    With --weights, the model is a checkpoint from `nncli train --save`, trained weights
    included; the seed then only draws the random input.

    The seed fixes both the weights and the random input, in the tutorial's order
    (torch.manual_seed, build the model, torch.randn), and is always reported.
    """
    if batch is not None:
        check_at_least("--batch", batch)
    check_seed(seed)
    if batch is not None and input_file is not None:
        raise UsageError("--batch and --input cannot be combined: the file's rows are the batch")
    from nncli.core.device import select_device

    spec, state = model_and_weights(config, weights)
    rows = None
    if input_file is not None:
        from nncli.core.inputs import load_rows

        rows = load_rows(input_file, spec.input_features)
    chosen = select_device(device)

    from nncli.core.model.forward import run_forward

    result = run_forward(
        spec,
        chosen,
        batch=5 if batch is None else batch,
        seed=seed,
        rows=rows,
        input_label=input_file,
        with_params=params,
        state_dict=state,
    )
    if json_out:
        from nncli.render.jsonstream import emit_stream

        # Streamed: the output rows are written in chunks, never held as Python floats.
        emit_stream(
            "run",
            {
                "model": result.model_name,
                "config": result.source,
                "device": result.device,
                "seed": result.seed,
                "weights": weights,  # the checkpoint, or null: the seed drew the weights
                "input": result.input_source,
                "input_shape": result.input_shape,
                "output_shape": result.output_shape,
                "output": result.output,
                "predictions": result.predictions,  # null when the model has one output
                "row_sums": result.row_sums,
                "sums_to_one": result.sums_to_one,
                "params": result.params,
            },
        )
        return
    from nncli.render.console import stdout_console
    from nncli.render.run_tables import render_run

    render_run(result, stdout_console())
