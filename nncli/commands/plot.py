"""``nncli plot``: activation functions, their derivatives, and where gradients vanish."""

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
    dpi_option,
    lang_option,
    show_option,
)
from nncli.errors import UsageError

# --json carries at most this many samples per series unless --full-data: ten
# million points would be hundreds of MB of JSON and over a minute of encoding.
# Peak memory per sample: autograd's working set for one curve (softmax's prefix
# sums are the largest, ~100 B), plus x, y and f' kept in float64 for every curve.
WORK_BYTES_PER_POINT, KEPT_BYTES_PER_POINT = 104, 24


def _complete_activation(incomplete: str) -> list[str]:
    from nncli.core.activation.activations import activation_names

    return [n for n in activation_names(include_aliases=True) if n.startswith(incomplete)]


_FIGURE = "Figure"
_CATALOGUE = "Catalogue"


def plot(
    names: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="NAME...",
            help="Activations to draw (see --list). Several overlay in the same two panels.",
            autocompletion=_complete_activation,
            show_default=False,
        ),
    ] = None,
    x_range: Annotated[
        tuple[float, float],
        typer.Option(
            "--range", metavar="LO HI", help="The x range sampled.", rich_help_panel=_FIGURE
        ),
    ] = (-5.0, 5.0),
    points: Annotated[
        int,
        typer.Option(
            "--points",
            "-n",
            metavar="N",
            help="Evenly spaced samples, 2 to 10,000,000.",
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
                "Where to write the figure; .png, .svg or .pdf. Default: NAME.png here "
                "(NAME_zh.png with --lang zh)."
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
            help=(
                "Shade and report where |f′(x)| < T (gradient vanishing; softmax: T × its own "
                "maximum, information loss); 0 turns it off."
            ),
            rich_help_panel=_FIGURE,
        ),
    ] = 0.05,
    negative_slope: Annotated[
        float | None,
        typer.Option(
            "--negative-slope",
            metavar="A",
            help="leaky_relu's slope for x < 0.  [default: 0.01]",
            show_default=False,
            rich_help_panel=_FIGURE,
        ),
    ] = None,
    lang: Annotated[str | None, lang_option("titles, labels and legend", _FIGURE)] = None,
    show: Annotated[bool, show_option(_FIGURE)] = False,
    list_: Annotated[
        bool,
        typer.Option(
            "--list",
            help="Print the catalogue of activations and exit (as `nncli activations`).",
            rich_help_panel=_CATALOGUE,
        ),
    ] = False,
    info: Annotated[
        bool,
        typer.Option(
            "--info",
            help="Explain the activation(s) in text (properties, derivative, pitfalls); no figure.",
            rich_help_panel=_CATALOGUE,
        ),
    ] = False,
    full_data: FullDataOpt = False,
    device: DeviceOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Plot activation functions beside their derivatives and shade where gradients vanish.

    One NAME gives the tutorial's figure: the function on the left, its derivative
    (from autograd, never a hand-written formula) on the right, with the x-intervals
    where |f′(x)| < T shaded and dead regions (f′ exactly 0 by the formula, e.g. ReLU
    for x < 0) hatched instead. The intervals are also printed.

    softmax is the tutorial's 1-D case: the sampled x values are taken as one vector,
    so y sums to 1 over the samples, and the derivative drawn is the Jacobian diagonal
    ∂yᵢ/∂xᵢ = yᵢ(1 − yᵢ).

    The figure is written without a display (matplotlib's Agg backend) unless --show.
    """
    if list_:
        from nncli.render.activation_tables import show_catalogue

        show_catalogue("plot", json_out)
        return
    acts = _resolve(names or [])
    if info:
        _show_info(acts, json_out)
        return

    from nncli.core.activation.curves import (
        validate_points,
        validate_range,
        validate_spacing,
        validate_threshold,
    )
    from nncli.files import check_output_path
    from nncli.render.figures import FIGURE_FORMATS, resolve_language

    overrides = _parameters(acts, negative_slope)
    lo, hi = validate_range(*x_range)
    points = validate_points(points)
    validate_spacing(lo, hi, points)
    threshold = validate_threshold(saturation)
    check_dpi(dpi)
    language = resolve_language(lang)
    target = check_output_path(
        output if output is not None else default_output(acts, language), FIGURE_FORMATS
    )

    from nncli.core.device import select_device
    from nncli.core.memory import ensure_fits

    chosen = select_device(device)
    per_point = WORK_BYTES_PER_POINT + KEPT_BYTES_PER_POINT * len(acts)
    ensure_fits(points * per_point, chosen, f"{points:,} points for {len(acts)} curve(s)")

    from nncli.core.activation.curves import compute_curves

    curves = compute_curves(acts, lo, hi, points, threshold, chosen, **overrides)

    from nncli.render.activation_figure import render_figure
    from nncli.render.console import warn

    outcome = render_figure(curves, target, lang=language, dpi=dpi, show=show)
    for message in outcome.warnings:
        warn(message)
    if json_out:
        from nncli.render.activation_tables import plot_document, trimmed_note
        from nncli.render.jsonout import emit

        limit = None if full_data else JSON_POINTS
        note = trimmed_note(points, limit)
        if note is not None:
            warn(note)
        emit("plot", plot_document(curves, str(outcome.path), outcome.language, limit))
        return
    from nncli.render.activation_tables import render_plot_result
    from nncli.render.console import stdout_console

    render_plot_result(curves, str(outcome.path), outcome.language, stdout_console())


def default_output(acts: list[Any], language: str) -> str:
    """``sigmoid.png``, ``sigmoid_tanh.png``; ``sigmoid_zh.png`` in Chinese, so the two
    languages never overwrite each other (named by the language asked for)."""
    stem = "_".join(a.name for a in acts)
    return f"{stem}_{language}.png" if language != "en" else f"{stem}.png"


def _resolve(names: list[str]) -> list[Any]:
    from nncli.core.activation.activations import get_activation

    if not names:
        raise UsageError(
            "name at least one activation, e.g. `nncli plot sigmoid`",
            hint="`nncli plot --list` shows them all",
        )
    acts = []
    for name in names:
        act = get_activation(name)
        if act not in acts:
            acts.append(act)
    return acts


def _parameters(acts: list[Any], negative_slope: float | None) -> dict[str, float | None]:
    """A parameter applies to the named activations that take it; none taking it is an error."""
    if negative_slope is None:
        return {}
    if not math.isfinite(negative_slope):
        raise UsageError(f"--negative-slope must be finite, got {negative_slope:g}")
    if not any("negative_slope" in a.param_names for a in acts):
        # The registry's own message names the flag and what the activation takes.
        acts[0].module_kwargs(negative_slope=negative_slope)
    return {"negative_slope": negative_slope}


def _show_info(acts: list[Any], json_out: bool) -> None:
    if json_out:
        from nncli.render.activation_tables import catalogue_document
        from nncli.render.jsonout import emit

        emit("plot", catalogue_document(acts))
        return
    from nncli.render.activation_tables import render_info
    from nncli.render.console import stdout_console

    console = stdout_console()
    for i, act in enumerate(acts):
        if i:
            console.print()
        render_info(act, console)
