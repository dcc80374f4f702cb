"""``nncli run``: a forward pass on seeded random input, or on your own rows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from nncli.commands._options import (
    ConfigOpt,
    DeviceOpt,
    DtypeOpt,
    InputSizeOpt,
    JsonOpt,
    ModelKwargsOpt,
    ModelOpt,
    SeedOpt,
    VocabOpt,
    check_at_least,
    check_model_options,
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


def _run_model(
    model: str,
    model_kwargs: str | None,
    input_size: list[str] | None,
    dtype: list[str] | None,
    vocab: int | None,
    files: list[str],
    batch: int | None,
    seed: int,
    device: str | None,
    json_out: bool,
) -> None:
    from nncli.core.device import select_device

    chosen = select_device(device)
    from nncli.core.model.user.run import run_target

    result = run_target(
        model,
        kwargs_text=model_kwargs,
        input_sizes=list(input_size or []),
        dtypes=list(dtype or []),
        vocab=vocab,
        input_files=files,
        batch=5 if batch is None else batch,
        device=chosen,
        seed=seed,
    )
    if json_out:
        from nncli.render.jsonstream import emit_stream
        from nncli.render.model_run import model_run_document

        emit_stream("run", model_run_document(result))
        return
    from nncli.render.console import stdout_console
    from nncli.render.model_run import render_model_run

    render_model_run(result, stdout_console())


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
    model: ModelOpt = None,
    model_kwargs: ModelKwargsOpt = None,
    input_size: InputSizeOpt = None,
    dtype: DtypeOpt = None,
    vocab: VocabOpt = None,
    batch: Annotated[
        int | None,
        typer.Option(
            "--batch", "-b", help="Rows of N(0, 1) input.  [default: 5]", show_default=False
        ),
    ] = None,
    seed: SeedOpt = 0,
    input_files: Annotated[
        list[str] | None,
        typer.Option(
            "--input",
            "-i",
            metavar="FILE",
            help=(
                "Run on your own rows: a .csv or .npy file. With --model: .npy files, one per "
                "input, the first axis the batch."
            ),
            show_default=False,
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

    With --model, your own nn.Module is built for real under the seed and run once on
    seeded random inputs of the --input-size shapes (or on --input .npy files).
    """
    if batch is not None:
        check_at_least("--batch", batch)
    check_seed(seed)
    check_model_options(
        model,
        config,
        weights=weights,
        model_kwargs=model_kwargs,
        input_sizes=input_size,
        dtypes=dtype,
        vocab=vocab,
    )
    files = list(input_files or [])
    if batch is not None and files:
        raise UsageError("--batch and --input cannot be combined: the file's rows are the batch")
    if model is not None:
        if params:
            raise UsageError(
                "--params lists a config model's weights; it does not apply to --model",
                hint="use `nncli summary --model ...` for the parameter counts",
            )
        _run_model(
            model, model_kwargs, input_size, dtype, vocab, files, batch, seed, device, json_out
        )
        return
    if len(files) > 1:
        raise UsageError("a config model takes one --input file (its rows are the batch)")
    input_file = files[0] if files else None
    from nncli.core.device import select_device

    spec, state = model_and_weights(config, weights)
    rows = None
    if input_file is not None:
        from nncli.core.inputs import load_rows

        rows = load_rows(input_file, spec.input_features, spec.sample_shape)
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
