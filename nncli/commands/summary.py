"""``nncli summary``: the model's layers, parameter counts, mult-adds and memory.

The model is a config (``--config``, default the tutorial's demo) or the user's own
``nn.Module`` (``--model``). Neither allocates weights: a config's shapes and counts
are computed from the config itself, a --model is built on torch's meta device.
Budgets (``--max-params``, ``--max-memory``, ``--max-macs``) are checked
after the summary is printed, so a CI log always shows what was over.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from nncli.commands._options import (
    DEFAULT_DEPTH,
    ConfigOpt,
    DepthOpt,
    DeviceOpt,
    DtypeOpt,
    FunctionalOpt,
    InputSizeOpt,
    JsonOpt,
    ModelKwargsOpt,
    ModelOpt,
    VocabOpt,
    WeightsOpt,
)

if TYPE_CHECKING:
    from nncli.core.model.results import SummaryResult

_BUDGETS = "CI budgets"

BatchOpt = Annotated[
    int | None,
    typer.Option(
        "--batch",
        "-b",
        help=(
            "Batch size shown in the shapes (as torchsummary's batch_size); 0 with --model: "
            "no batch dimension, each input is exactly its --input-size.  [default: 5]"
        ),
        show_default=False,
    ),
]
MaxParamsOpt = Annotated[
    str | None,
    typer.Option(
        "--max-params",
        metavar="N",
        help="Exit 1 after the summary if the model has more parameters: 25M, 1.5B, 1e6.",
        rich_help_panel=_BUDGETS,
        show_default=False,
    ),
]
MaxMemoryOpt = Annotated[
    str | None,
    typer.Option(
        "--max-memory",
        metavar="SIZE",
        help=(
            "Exit 1 after the summary if the estimated memory (input, activations, parameters "
            "and buffers) is larger: 2GiB, 500MB, 1e9."
        ),
        rich_help_panel=_BUDGETS,
        show_default=False,
    ),
]
MaxMacsOpt = Annotated[
    str | None,
    typer.Option(
        "--max-macs",
        metavar="N",
        help=(
            "Exit 1 after the summary if the measured multiply-accumulates of one forward "
            "pass are more: 2G, 500M, 1.5e9 (--model only)."
        ),
        rich_help_panel=_BUDGETS,
        show_default=False,
    ),
]
InputFilesOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--input",
        "-i",
        metavar="FILE",
        help="With --model: take the input shapes and dtypes from .npy files (one per input).",
        rich_help_panel="Your own model (--model)",
        show_default=False,
    ),
]


def summary(
    config: ConfigOpt = None,
    model: ModelOpt = None,
    model_kwargs: ModelKwargsOpt = None,
    input_size: InputSizeOpt = None,
    dtype: DtypeOpt = None,
    vocab: VocabOpt = None,
    input_files: InputFilesOpt = None,
    batch: BatchOpt = None,
    depth: DepthOpt = DEFAULT_DEPTH,
    functional: FunctionalOpt = None,
    device: DeviceOpt = None,
    classic: Annotated[
        bool,
        typer.Option(
            "--classic", help="Also print torchsummary's own output (needs real weights)."
        ),
    ] = False,
    weights: WeightsOpt = None,
    max_params: MaxParamsOpt = None,
    max_memory: MaxMemoryOpt = None,
    max_macs: MaxMacsOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Summarise the model (default: the tutorial's demo): its layers and parameters.

    No weights are allocated: a config's shapes, counts and mult-adds are computed from
    the config, and a --model is built on torch's meta device. So a 10-billion-parameter
    config, or a 7-billion-parameter --model, summarises in seconds. A --model whose
    forward does not run on meta tensors is built for real after a memory check, and
    the output says so.

    Exit codes: 0 printed (and within budget), 1 a budget exceeded or a runtime failure,
    2 bad input.
    """
    from nncli.commands._options import check_at_least, check_batch, check_model_options
    from nncli.core.model.budgets import parse_count, parse_memory

    check_batch(batch, model)
    check_at_least("--depth", depth)
    check_model_options(
        model,
        config,
        weights=weights,
        model_kwargs=model_kwargs,
        input_sizes=input_size,
        dtypes=dtype,
        vocab=vocab,
        functional=functional,
    )
    if input_files and model is None:
        from nncli.errors import UsageError

        raise UsageError("--input only applies to --model in summary (its shapes and dtypes)")
    if input_files and batch is not None:
        from nncli.errors import UsageError

        raise UsageError(
            "--batch and --input cannot be combined: the files' first axis is the batch"
        )
    if classic and model is not None:
        from nncli.errors import UsageError

        raise UsageError("--classic (torchsummary) works with --config models only")
    # Budgets are validated before anything is built: a typo fails fast.
    if max_params is not None:
        parse_count(max_params, "--max-params")
    if max_memory is not None:
        parse_memory(max_memory, "--max-memory")
    if max_macs is not None:
        parse_count(max_macs, "--max-macs")
        if model is None:
            from nncli.errors import UsageError

            raise UsageError(
                "--max-macs needs --model: a config's summary does not measure MACs",
                hint="a config's compute is its mult-adds; use --max-params or --max-memory",
            )
    show_functions = depth >= 3 if functional is None else functional

    from nncli.core.device import select_device

    if model is not None:
        chosen = select_device(device)
        from nncli.core.model.user.request import ModelRequest
        from nncli.core.model.user.summary import summarize_target

        request = ModelRequest(
            model,
            kwargs_text=model_kwargs,
            input_sizes=tuple(input_size or ()),
            dtypes=tuple(dtype or ()),
            vocab=vocab,
            input_files=tuple(input_files or ()),
            batch=5 if batch is None else batch,
            device=chosen,
        )
        result = summarize_target(request, depth=depth, functional=show_functions)
        state = None
    else:
        result, state = _config_summary(
            config, weights, 5 if batch is None else batch, device, classic, depth
        )
    del state  # loaded to prove the checkpoint matches its config; the summary needs no values

    from nncli.core.model.budgets import budget_error, check_budgets

    budgets = check_budgets(result, max_params, max_memory, max_macs)
    if json_out:
        from nncli.render.jsonout import emit
        from nncli.render.tables import summary_document

        emit("summary", summary_document(result, budgets, weights))
    else:
        from nncli.render.console import stdout_console
        from nncli.render.tables import render_summary

        render_summary(result, stdout_console(), budgets if budgets else None)
    error = budget_error(budgets)
    if error is not None:
        raise error


def _config_summary(
    config: str | None,
    weights: str | None,
    batch: int,
    device: str | None,
    classic: bool,
    depth: int,
) -> tuple[SummaryResult, Any]:
    from nncli.commands._options import model_and_weights
    from nncli.core.device import select_device

    spec, state, _standardization = model_and_weights(config, weights)
    chosen = select_device(device)

    from nncli.core.model.summarize import classic_summary, summarize_spec

    result = summarize_spec(spec, batch, chosen)
    result.depth = depth
    if classic:
        # torchsummary runs a real forward pass (batch 2) and keeps every output.
        needed = result.memory.params + 2 * result.memory.activations
        result.classic = classic_summary(spec, batch, chosen, needed)
    return result, state
