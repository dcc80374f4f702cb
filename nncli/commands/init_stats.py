"""``nncli init-stats``: every torch.nn.init scheme against its theory, and through a deep stack."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated, Any

import typer

from nncli.commands._options import (
    DeviceOpt,
    JsonOpt,
    SeedOpt,
    check_dpi,
    check_int,
    check_seed,
    dpi_option,
    lang_option,
    show_option,
)
from nncli.core.init.inits import FAMILIES, scheme_names
from nncli.core.init.theory import NONLINEARITIES
from nncli.errors import UsageError

SCHEME_PANEL = "Scheme parameters (only those the scheme takes)"
DEPTH_PANEL = "Depth propagation"
OUTPUT_PANEL = "Output"
DEFAULT_DEPTH_ACTIVATION = "relu"
DEFAULT_BATCH = 1024


def _complete_scheme(incomplete: str) -> list[str]:
    from nncli.core.init.inits import scheme_names

    return [n for n in scheme_names(include_families=True) if n.startswith(incomplete)]


def _complete_activation(incomplete: str) -> list[str]:
    from nncli.core.activation.activations import activation_names

    return [n for n in activation_names(include_aliases=True) if n.startswith(incomplete)]


def _opt(flag: str, text: str) -> Any:
    return typer.Option(flag, help=text, rich_help_panel=SCHEME_PANEL, show_default=False)


def init_stats(
    schemes: Annotated[
        list[str],
        typer.Argument(
            metavar="SCHEME",
            help=(
                f"One or more of: {', '.join(scheme_names())}. "
                f"Families expand: {', '.join(FAMILIES)} (he = kaiming)."
            ),
            autocompletion=_complete_scheme,
            show_default=False,
        ),
    ],
    fan_in: Annotated[
        int, typer.Option("--fan-in", help="Inputs per unit: the weight's shape[1].")
    ] = 256,
    fan_out: Annotated[int, typer.Option("--fan-out", help="Units: the weight's shape[0].")] = 256,
    value: Annotated[float | None, _opt("--value", "constant: the value.")] = None,
    mean: Annotated[float | None, _opt("--mean", "normal, trunc_normal: the mean [0].")] = None,
    std: Annotated[
        float | None, _opt("--std", "normal, trunc_normal [1]; sparse [0.01]: the std.")
    ] = None,
    low: Annotated[float | None, _opt("--low", "uniform: the lower bound [0].")] = None,
    high: Annotated[float | None, _opt("--high", "uniform: the upper bound [1].")] = None,
    a: Annotated[
        float | None,
        _opt(
            "--a",
            "trunc_normal: the absolute lower cut-off [-2]; kaiming_*: the leaky_relu slope [0].",
        ),
    ] = None,
    b: Annotated[float | None, _opt("--b", "trunc_normal: the absolute upper cut-off [2].")] = None,
    gain: Annotated[
        float | None, _opt("--gain", "xavier_*, orthogonal: the scaling factor [1].")
    ] = None,
    mode: Annotated[
        str | None,
        typer.Option(
            "--mode",
            metavar="fan_in|fan_out",
            help="kaiming_*: keep the forward (fan_in) or backward (fan_out) variance [fan_in].",
            rich_help_panel=SCHEME_PANEL,
            show_default=False,
        ),
    ] = None,
    nonlinearity: Annotated[
        str | None,
        typer.Option(
            "--nonlinearity",
            metavar="NAME",
            help=(
                f"kaiming_*: the activation the gain is for: {', '.join(NONLINEARITIES)} "
                "[leaky_relu, which with --a 0 equals relu]."
            ),
            rich_help_panel=SCHEME_PANEL,
            show_default=False,
        ),
    ] = None,
    sparsity: Annotated[
        float | None, _opt("--sparsity", "sparse: the fraction of zeros per column (required).")
    ] = None,
    depth: Annotated[
        int | None,
        typer.Option(
            "--depth",
            "-L",
            help="Also run L square fan_in × fan_in layers (no bias) and report each layer.",
            rich_help_panel=DEPTH_PANEL,
            show_default=False,
        ),
    ] = None,
    activation: Annotated[
        str | None,
        typer.Option(
            "--activation",
            metavar="NAME",
            help=(
                f"The activation after each layer (default with --depth: "
                f"{DEFAULT_DEPTH_ACTIVATION}). Without --depth it is only checked against a "
                "Kaiming scheme's --nonlinearity."
            ),
            autocompletion=_complete_activation,
            rich_help_panel=DEPTH_PANEL,
            show_default=False,
        ),
    ] = None,
    batch: Annotated[
        int | None,
        typer.Option(
            "--batch",
            help=f"Rows of the standard-normal input batch [{DEFAULT_BATCH}].",
            rich_help_panel=DEPTH_PANEL,
            show_default=False,
        ),
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option(
            "--plot",
            metavar="FILE",
            help="Save per-layer activation and gradient std (log axes), all schemes in one "
            "figure (.png, .svg, .pdf). Needs --depth.",
            rich_help_panel=OUTPUT_PANEL,
            show_default=False,
        ),
    ] = None,
    hist: Annotated[
        Path | None,
        typer.Option(
            "--hist",
            metavar="FILE",
            help="Save the weight histogram with the theoretical density (.png, .svg, .pdf).",
            rich_help_panel=OUTPUT_PANEL,
            show_default=False,
        ),
    ] = None,
    lang: Annotated[str | None, lang_option("the --hist and --plot figures", OUTPUT_PANEL)] = None,
    dpi: Annotated[int, dpi_option(OUTPUT_PANEL)] = 150,
    show: Annotated[bool, show_option(OUTPUT_PANEL)] = False,
    seed: SeedOpt = 0,
    device: DeviceOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Initialise a (fan_out, fan_in) weight with each scheme and compare it with the theory.

    The weight has nn.Linear's shape (fan_out, fan_in), so the fans follow torch's
    convention. Theory comes from the formulas (mean, std, bound, gain); the verdict
    allows 5 standard errors of sampling noise for fan_in × fan_out draws.

    With --depth L, it also shows the consequence (Glorot & Bengio 2010, He et al. 2015):
    activations and gradients through L layers, and a verdict: stable, vanishing,
    exploding or saturated. Example:
    `nncli init-stats xavier_normal kaiming_normal --depth 30 --plot cmp.png`
    """
    from nncli.core.activation.activations import get_activation
    from nncli.core.init.inits import resolve_all
    from nncli.render.figures import FIGURE_FORMATS, resolve_language

    given = {
        "value": value,
        "mean": mean,
        "std": std,
        "low": low,
        "high": high,
        "a": a,
        "b": b,
        "gain": gain,
        "mode": mode,
        "nonlinearity": nonlinearity,
        "sparsity": sparsity,
    }
    for flag, number in (("--fan-in", fan_in), ("--fan-out", fan_out), ("--depth", depth),
                         ("--batch", batch)):  # fmt: skip
        if number is not None:
            check_int(flag, number)
    check_seed(seed)
    check_dpi(dpi)
    language = resolve_language(lang)
    for flag, figure_option in (("--lang", lang), ("--show", show or None)):
        if figure_option is not None and hist is None and plot is None:
            raise UsageError(f"{flag} only applies to the figures; add --hist FILE or --plot FILE")
    resolved = resolve_all(schemes, given, spell=lambda n: "--" + n.replace("_", "-"))
    if depth is None:
        for flag, given_value in (("--batch", batch), ("--plot", plot)):
            if given_value is not None:
                raise UsageError(f"{flag} only applies to the depth experiment; add --depth L")
    act = None
    if activation is not None:
        act = get_activation(activation)
    elif depth is not None:
        act = get_activation(DEFAULT_DEPTH_ACTIVATION)
    if depth is not None and act is not None:
        from nncli.core.init.propagation import check_activation

        check_activation(act)

    from nncli.files import check_output_path

    for path in (hist, plot):
        if path is not None:
            check_output_path(path, FIGURE_FORMATS)

    from nncli.core.device import select_device

    chosen = select_device(device)

    from nncli.core.init.initstats import run
    from nncli.render.console import info, warn
    from nncli.render.progress import progress

    # The bar is for the depth experiment only: measuring the weights takes no time.
    bar = progress("depth propagation") if depth is not None else contextlib.nullcontext()
    with bar as step:
        result = run(
            resolved,
            fan_in,
            fan_out,
            device=chosen,
            seed=seed,
            activation=act,
            depth=depth,
            batch=batch if batch is not None else DEFAULT_BATCH,
            hist=hist is not None,
            progress=step,
        )

    saved: list[str] = []
    drawn_in = None  # the language the figures were drawn in (zh falls back without a font)
    warned: list[str] = []  # each figure reports a missing font or display: say it once
    if hist is not None or plot is not None:
        from nncli.render.init_figures import depth_figure, hist_figure

        for path, draw in ((hist, hist_figure), (plot, depth_figure)):
            if path is None:
                continue
            outcome = draw(result, path, lang=language, dpi=dpi, show=show)
            drawn_in = outcome.language
            saved.append(str(outcome.path))
            for message in outcome.warnings:
                if message not in warned:
                    warned.append(message)
                    warn(message)

    if json_out:
        from nncli.render.init_tables import init_stats_document
        from nncli.render.jsonout import emit

        emit("init-stats", init_stats_document(result, saved, drawn_in))
        return
    from nncli.render.console import stdout_console
    from nncli.render.init_tables import render_init_stats

    render_init_stats(result, stdout_console())
    for res in result.results:
        for message in res.warnings:
            warn(message)
    for saved_path in saved:
        info(f"saved {saved_path}")
