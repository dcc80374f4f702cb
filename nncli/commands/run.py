"""``nncli run``: a forward pass on seeded random input, or on your own rows."""

from __future__ import annotations

from typing import Annotated

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
    WeightsOpt,
    check_batch,
    check_model_options,
    check_seed,
    model_and_weights,
)
from nncli.errors import UsageError


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
    from nncli.core.model.user.request import ModelRequest
    from nncli.core.model.user.run import run_target

    request = ModelRequest(
        model,
        kwargs_text=model_kwargs,
        input_sizes=tuple(input_size or ()),
        dtypes=tuple(dtype or ()),
        vocab=vocab,
        input_files=tuple(files),
        batch=5 if batch is None else batch,
        device=chosen,
        seed=seed,
    )
    result = run_target(request)
    if json_out:
        from nncli.render.jsonout import emit
        from nncli.render.model_run import model_run_document

        emit("run", model_run_document(result))
        return
    from nncli.render.console import stdout_console
    from nncli.render.model_run import render_model_run

    render_model_run(result, stdout_console())


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
            "--batch",
            "-b",
            help=(
                "Rows of N(0, 1) input; 0 with --model: no batch dimension, each input is "
                "exactly its --input-size.  [default: 5]"
            ),
            show_default=False,
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
    included; the seed then only draws the random input. A checkpoint trained on
    standardised features applies its training statistics to the --input rows (give
    the raw features, as in your CSV); random inputs are drawn already standardised.

    The seed fixes both the weights and the random input, in the tutorial's order
    (torch.manual_seed, build the model, torch.randn), and is always reported.

    With --model, your own nn.Module is built for real under the seed and run once on
    seeded random inputs of the --input-size shapes (or on --input .npy files).
    """
    check_batch(batch, model)
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

    spec, state, standardization = model_and_weights(config, weights)
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
        standardization=standardization,
    )
    if json_out:
        from nncli.render.jsonout import emit
        from nncli.render.run_tables import run_document

        # Streamed: the output rows are written in chunks, never held as Python floats.
        emit("run", run_document(result, weights))
        return
    from nncli.render.console import stdout_console
    from nncli.render.run_tables import render_run

    render_run(result, stdout_console())
