"""``nncli run``: a forward pass on seeded random input, or on your own rows."""

from __future__ import annotations

from typing import Annotated

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
    device: DeviceOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Run one forward pass of the model (default: the tutorial's demo) and show the output.

    The seed fixes both the weights and the random input, in the tutorial's order
    (torch.manual_seed, build the model, torch.randn), and is always reported.
    """
    if batch is not None:
        check_at_least("--batch", batch)
    check_seed(seed)
    if batch is not None and input_file is not None:
        raise UsageError("--batch and --input cannot be combined: the file's rows are the batch")
    from nncli.core.device import select_device
    from nncli.core.model.config import load_config

    spec = load_config(config)
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
