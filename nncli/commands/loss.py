"""``nncli loss`` and ``nncli losses``: loss functions, their gradients, and what they pair with.

Two modes share one command, as a learner meets them: without ``--pred`` it draws
the loss and its gradient over a range of predictions (like ``plot`` does for
activations); with ``--pred ... --target ...`` it evaluates the loss on the user's
numbers, to check a hand calculation or pin a value in CI.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

import typer

from nncli.commands._options import (
    JSON_POINTS,
    DeviceOpt,
    FullDataOpt,
    JsonOpt,
    check_dpi,
    check_int,
    dpi_option,
    lang_option,
    show_option,
)
from nncli.core.loss.losses import LOSSES
from nncli.errors import UsageError

MAX_POINTS = 1_000_000  # the figure's samples
# --json carries at most this many samples per series unless --full-data, as `plot`:
# a million points for two losses are 126 MB of JSON and seconds of encoding.
MAX_CLASSES = 1_000
DTYPES = ("float32", "float64")
THROUGH = ("sigmoid", "softmax")

_FIGURE = "Figure"
_NUMBERS = "Numbers (--pred)"
_PARAMS = "Loss parameters (only those the loss takes)"
_CATALOGUE = "Catalogue"


def _complete_loss(incomplete: str) -> list[str]:
    from nncli.core.loss.losses import ALIASES, loss_names

    return [n for n in [*loss_names(), *ALIASES] if n.startswith(incomplete)]


def _complete_through(incomplete: str) -> list[str]:
    return [t for t in THROUGH if t.startswith(incomplete)]


def _param_option(flag: str, help_text: str) -> Any:
    return typer.Option(flag, help=help_text, show_default=False, rich_help_panel=_PARAMS)


def _takers(param: str) -> str:
    """The losses that take a parameter, for its help: "huber", "a, b, c"."""
    return ", ".join(entry.name for entry in LOSSES.values() if param in entry.param_names)


def _with_input(kind: str) -> str:
    """The losses with a second input of this kind: "gaussian_nll", "a and b"."""
    names = [entry.name for entry in LOSSES.values() if entry.inputs == kind]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


# The options that only the figure uses (parameter name -> flag), in the order a
# --pred run names the first one given. --pred2, --var and --reduction only numbers use.
FIGURE_ONLY = {
    "logits": "--logits",
    "through": "--through",
    "x_range": "--range",
    "output": "--output",
    "show": "--show",
    "lang": "--lang",
    "classes": "--classes",
    "points": "--points",
    "dpi": "--dpi",
    "saturation": "--saturation",
    "full_data": "--full-data",
    "device": "--device",
}


def _given(ctx: typer.Context, name: str) -> bool:
    """Whether the option was given (not left at its default), so a figure-only option
    is refused with --pred even when given its default value (`-n 500`)."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")


def loss(
    ctx: typer.Context,
    names: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="NAME...",
            help="Losses (see --list). Several overlay in the same two panels.",
            autocompletion=_complete_loss,
            show_default=False,
        ),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option(
            "--target",
            metavar="Y",
            help=(
                "The target. Figure: one value (default 1; for a multi-class loss, the true "
                "class). With --pred: values inline ('1', '0,1;1,0') or a .csv/.npy file."
            ),
            show_default=False,
        ),
    ] = None,
    pred: Annotated[
        str | None,
        typer.Option(
            "--pred",
            metavar="VALUES|FILE",
            help=(
                "Evaluate the loss on these predictions instead of drawing it: inline "
                "('0.2,0.7,0.1', rows separated by ';') or a .csv/.npy file."
            ),
            show_default=False,
            rich_help_panel=_NUMBERS,
        ),
    ] = None,
    pred2: Annotated[
        str | None,
        typer.Option(
            "--pred2",
            metavar="VALUES|FILE",
            help=f"The second input of {_with_input('pair')}.",
            show_default=False,
            rich_help_panel=_NUMBERS,
        ),
    ] = None,
    var: Annotated[
        str | None,
        typer.Option(
            "--var",
            metavar="VALUES|FILE",
            help=f"{_with_input('pred_var')}'s predicted variance (default 1 for every element).",
            show_default=False,
            rich_help_panel=_NUMBERS,
        ),
    ] = None,
    reduction: Annotated[
        str,
        typer.Option(
            "--reduction",
            metavar="mean|sum|none",
            help="How per-element losses are reduced, as torch's reduction argument.",
            rich_help_panel=_NUMBERS,
        ),
    ] = "mean",
    logits: Annotated[
        bool,
        typer.Option(
            "--logits",
            help="Binary losses: draw over the logit z instead of the probability p.",
            rich_help_panel=_FIGURE,
        ),
    ] = False,
    through: Annotated[
        str | None,
        typer.Option(
            "--through",
            metavar="sigmoid|softmax",
            help=(
                "Compose the loss with this output activation and differentiate with respect "
                "to the pre-activation logit (MSE through a sigmoid vanishes when confidently "
                "wrong; BCE's gradient σ(z) − y does not)."
            ),
            autocompletion=_complete_through,
            show_default=False,
            rich_help_panel=_FIGURE,
        ),
    ] = None,
    classes: Annotated[
        int,
        typer.Option(
            "--classes",
            metavar="K",
            help="Multi-class losses: the number of classes (the others' logits are 0).",
            rich_help_panel=_FIGURE,
        ),
    ] = 3,
    x_range: Annotated[
        tuple[float, float] | None,
        typer.Option(
            "--range",
            metavar="LO HI",
            help="The x range (default per loss: residual −3..3, probability 0..1, logit −6..6).",
            show_default=False,
            rich_help_panel=_FIGURE,
        ),
    ] = None,
    points: Annotated[
        int,
        typer.Option(
            "--points",
            "-n",
            metavar="N",
            help=f"Evenly spaced samples, 2 to {MAX_POINTS:,}.",
            rich_help_panel=_FIGURE,
        ),
    ] = 500,
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help=(
                "Where to write the figure; .png, .svg or .pdf. Default: loss_NAME.png here "
                "(loss_NAME_zh.png with --lang zh)."
            ),
            show_default=False,
            rich_help_panel=_FIGURE,
        ),
    ] = None,
    dpi: Annotated[int, dpi_option(_FIGURE)] = 150,
    saturation: Annotated[
        float,
        typer.Option(
            "--saturation",
            "-t",
            metavar="T",
            help="Shade and report where |∂L/∂x| < T, stuck (far from the minimum) apart from "
            "converged (near it); 0 turns it off.",
            rich_help_panel=_FIGURE,
        ),
    ] = 0.05,
    dtype: Annotated[
        str,
        typer.Option(
            "--dtype",
            metavar="float32|float64",
            help=(
                "Precision of the computation. Figures default to float64; float32 shows where "
                "the two disagree (e.g. BCE on σ(z) for large |z|)."
            ),
            rich_help_panel=_FIGURE,
        ),
    ] = "float64",
    lang: Annotated[str | None, lang_option("titles, labels and legend", _FIGURE)] = None,
    show: Annotated[bool, show_option(_FIGURE)] = False,
    delta: Annotated[
        float | None, _param_option("--delta", f"{_takers('delta')}: the threshold [1].")
    ] = None,
    beta: Annotated[
        float | None, _param_option("--beta", f"{_takers('beta')}: the threshold [1].")
    ] = None,
    pos_weight: Annotated[
        float | None,
        _param_option(
            "--pos-weight", f"{_takers('pos_weight')}: the weight of positive examples [1]."
        ),
    ] = None,
    label_smoothing: Annotated[
        float | None,
        _param_option(
            "--label-smoothing", f"{_takers('label_smoothing')}: the smoothing, 0 to 1 [0]."
        ),
    ] = None,
    margin: Annotated[float | None, _param_option("--margin", f"{_takers('margin')}.")] = None,
    log_target: Annotated[
        bool | None,
        _param_option(
            "--log-target/--no-log-target",
            f"{_takers('log_target')}: the target is given as log-probabilities.",
        ),
    ] = None,
    log_input: Annotated[
        bool | None,
        _param_option(
            "--log-input/--no-log-input",
            f"{_takers('log_input')}: the prediction is the log of the rate [yes]; "
            "--no-log-input: the rate.",
        ),
    ] = None,
    list_: Annotated[
        bool,
        typer.Option(
            "--list",
            help="Print the catalogue of losses and exit (as `nncli losses`).",
            rich_help_panel=_CATALOGUE,
        ),
    ] = False,
    info: Annotated[
        bool,
        typer.Option(
            "--info",
            help="Explain the loss(es) in text: formula, gradient, what it expects, pitfalls.",
            rich_help_panel=_CATALOGUE,
        ),
    ] = False,
    full_data: FullDataOpt = False,
    device: DeviceOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Draw loss functions and their gradients, or evaluate one on your numbers.

    Figure (default): the loss as a function of the prediction for a fixed --target on
    the left, its gradient (autograd) on the right, with the regions where the gradient
    vanishes shaded: stuck (wrong, hatched) apart from converged (right, pale).
    `nncli loss mse bce --through sigmoid` shows the lesson that joins
    activations and losses: through a sigmoid, MSE's gradient vanishes when the prediction
    is confidently wrong, while BCE's stays σ(z) − y.

    Numbers: `nncli loss cross_entropy --pred "2.0,0.5,-1" --target 0` prints the loss,
    the per-element losses and the gradient with respect to the prediction.
    """
    if device is not None:
        from nncli.core.device import parse_device

        parse_device(device)  # an unknown device is an error in every mode
    if list_:
        from nncli.render.loss_tables import show_catalogue

        show_catalogue("loss", json_out)
        return
    losses = _resolve(names or [])
    if info:
        _show_info(losses, json_out)
        return
    params = _parameters(
        losses,
        {
            "delta": delta,
            "beta": beta,
            "pos_weight": pos_weight,
            "label_smoothing": label_smoothing,
            "margin": margin,
            "log_target": log_target,
            "log_input": log_input,
        },
    )
    if dtype not in DTYPES:
        raise UsageError(f"--dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    if pred is not None:
        given = [flag for name, flag in FIGURE_ONLY.items() if _given(ctx, name)]
        if given:
            raise UsageError(
                f"{given[0]} applies to the figure, not to --pred numbers",
                hint="numbers mode takes --target, --pred2, --var, --reduction, --dtype, "
                "the loss parameters and --json",
            )
        _numbers(losses, params, pred, target, pred2, var, reduction, dtype, json_out)
        return
    for flag, value in (("--pred2", pred2), ("--var", var)):
        if value is not None:
            raise UsageError(f"{flag} goes with --pred (numbers), not with the figure")
    if _given(ctx, "reduction"):
        raise UsageError("--reduction goes with --pred (numbers); a figure shows one element")
    _figure(
        losses,
        params,
        target=_figure_target(target),
        through=through,
        logits=logits,
        classes=classes,
        x_range=x_range,
        points=points,
        output=output,
        dpi=dpi,
        saturation=saturation,
        dtype=dtype,
        lang=lang,
        show=show,
        device=device,
        json_out=json_out,
        full_data=full_data,
    )


def losses(json_out: JsonOpt = False) -> None:
    """The catalogue of loss functions: task, what the prediction and target must be,
    the output activation each pairs with, and the tutorial's pairing table."""
    from nncli.render.loss_tables import show_catalogue

    show_catalogue("losses", json_out)


def _resolve(names: list[str]) -> list[Any]:
    from nncli.core.loss.losses import get_loss

    if not names:
        raise UsageError(
            "name at least one loss, e.g. `nncli loss mse bce --through sigmoid`",
            hint="`nncli losses` shows them all",
        )
    found = []
    for name in names:
        entry = get_loss(name)
        if entry not in found:
            found.append(entry)
    return found


def _parameters(losses: list[Any], given: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each loss gets the given parameters it takes; a parameter none takes is an error
    (the registry's message names the flag and what the loss takes)."""
    chosen = {k: v for k, v in given.items() if v is not None}
    for key, value in chosen.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise UsageError(f"--{key.replace('_', '-')} must be finite, got {value:g}")
        if not any(key in _param_names(entry) for entry in losses):
            losses[0].module_kwargs(**{key: value})
    resolved = {}
    for entry in losses:
        mine = {k: v for k, v in chosen.items() if k in _param_names(entry)}
        entry.module_kwargs(**mine)  # validates ranges (e.g. --delta > 0) before any work
        resolved[entry.name] = mine
    return resolved


def _param_names(entry: Any) -> tuple[str, ...]:
    return tuple(p.name for p in entry.params)


def _figure_target(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        raise UsageError(
            f"--target for a figure is one number, got {text!r}",
            hint="to evaluate a loss on your own values, give --pred as well",
        ) from None
    if not math.isfinite(value):
        raise UsageError(f"--target must be finite, got {text}")
    return value


def _show_info(losses: list[Any], json_out: bool) -> None:
    if json_out:
        from nncli.render.jsonout import emit
        from nncli.render.loss_tables import info_document

        emit("loss", info_document(losses))
        return
    from nncli.render.console import stdout_console
    from nncli.render.loss_tables import render_loss_info

    console = stdout_console()
    for i, entry in enumerate(losses):
        if i:
            console.print()
        render_loss_info(entry, console)


def _numbers(
    losses: list[Any],
    params: dict[str, dict[str, Any]],
    pred: str,
    target: str | None,
    pred2: str | None,
    var: str | None,
    reduction: str,
    dtype: str,
    json_out: bool,
) -> None:
    from nncli.core.loss.losseval import EXTRA_OPTION, REDUCTIONS, evaluate
    from nncli.core.loss.lossinputs import parse_values

    if len(losses) != 1:
        raise UsageError(
            f"--pred evaluates one loss at a time; got {len(losses)}: "
            + ", ".join(entry.name for entry in losses)
        )
    (entry,) = losses
    if reduction not in REDUCTIONS:
        raise UsageError(f"--reduction must be one of {', '.join(REDUCTIONS)}, got {reduction!r}")
    if target is None:
        raise UsageError(f"--pred needs --target: {entry.name} expects {entry.target}")
    extra_flag = EXTRA_OPTION.get(entry.inputs)
    for flag, value in (("--pred2", pred2), ("--var", var)):
        if value is not None and flag != extra_flag:
            raise UsageError(f"{flag} does not apply to {entry.name}")
    if entry.inputs == "pair" and pred2 is None:
        raise UsageError(f"{entry.name} compares two inputs: give the second with --pred2")
    extra_text = pred2 if entry.inputs == "pair" else var
    result = evaluate(
        entry,
        params[entry.name],
        parse_values(pred, "--pred"),
        parse_values(target, "--target"),
        reduction=reduction,
        extra=None if extra_text is None else parse_values(extra_text, extra_flag or "--var"),
        dtype=dtype,
    )
    from nncli.render.console import warn

    for message in result.warnings:
        warn(message)
    if json_out:
        from nncli.render.jsonout import emit
        from nncli.render.loss_numbers import evaluation_document

        emit("loss", evaluation_document(result))
        return
    from nncli.render.console import stdout_console
    from nncli.render.loss_numbers import render_evaluation

    render_evaluation(result, stdout_console())


def _figure(
    losses: list[Any],
    params: dict[str, dict[str, Any]],
    *,
    target: float | None,
    through: str | None,
    logits: bool,
    classes: int,
    x_range: tuple[float, float] | None,
    points: int,
    output: str | None,
    dpi: int,
    saturation: float,
    dtype: str,
    lang: str | None,
    show: bool,
    device: str | None,
    json_out: bool,
    full_data: bool = False,
) -> None:
    from nncli.core.activation.curves import validate_range, validate_spacing, validate_threshold
    from nncli.files import check_output_path
    from nncli.render.figures import FIGURE_FORMATS, resolve_language

    if through is not None and through not in THROUGH:
        raise UsageError(f"--through must be one of {', '.join(THROUGH)}, got {through!r}")
    check_int("--classes", classes, 2, MAX_CLASSES)
    check_int("--points", points, 2, MAX_POINTS)
    lo = hi = None
    if x_range is not None:
        lo, hi = validate_range(*x_range)
        validate_spacing(lo, hi, points)
    threshold = validate_threshold(saturation)
    check_dpi(dpi)
    language = resolve_language(lang)
    path = check_output_path(
        output if output is not None else default_output(losses, through, language),
        FIGURE_FORMATS,
    )

    from nncli.core.device import select_device
    from nncli.core.loss.losscurves import compute_curves

    chosen = select_device(device)
    result = compute_curves(
        [(entry, params[entry.name]) for entry in losses],
        target=target,
        through=through,
        logits=logits,
        classes=classes,
        lo=lo,
        hi=hi,
        points=points,
        dtype=dtype,
        threshold=threshold,
        device=chosen,
    )

    from nncli.render.console import warn
    from nncli.render.loss_figure import render_loss_figure

    outcome = render_loss_figure(result, path, lang=language, dpi=dpi, show=show)
    for message in outcome.warnings:
        warn(message)
    if json_out:
        from nncli.render.activation_tables import trimmed_note
        from nncli.render.jsonout import emit
        from nncli.render.loss_figure import figure_document

        limit = None if full_data else JSON_POINTS
        note = trimmed_note(points, limit)
        if note is not None:
            warn(note)
        emit("loss", figure_document(result, str(outcome.path), outcome.language, limit))
        return
    from nncli.render.console import stdout_console
    from nncli.render.loss_tables import render_loss_curves

    render_loss_curves(result, str(outcome.path), outcome.language, stdout_console())


def default_output(losses: list[Any], through: str | None, language: str) -> str:
    """``loss_mse_bce.png``; ``loss_mse_bce_sigmoid.png`` with --through; ``_zh`` in Chinese."""
    stem = "loss_" + "_".join(entry.name for entry in losses)
    if through is not None:
        stem += f"_{through}"
    return f"{stem}_{language}.png" if language != "en" else f"{stem}.png"
