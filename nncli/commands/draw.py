"""``nncli draw``: the network as the tutorial draws it (neurons and weighted
connections), or any model as a graph of blocks, as a figure, Mermaid, DOT or JSON."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from nncli.commands._options import (
    DEFAULT_DEPTH,
    ConfigOpt,
    DtypeOpt,
    InputSizeOpt,
    JsonOpt,
    ModelKwargsOpt,
    ModelOpt,
    SeedOpt,
    VocabOpt,
    WeightsOpt,
    dpi_option,
    lang_option,
    show_option,
)
from nncli.errors import UsageError
from nncli.render.figures import FIGURE_FORMATS

if TYPE_CHECKING:
    from nncli.core.draw.graph import Graph

_FIGURE = "Figure"

TEXT_FORMATS = ("mermaid", "dot", "json")
FORMATS = FIGURE_FORMATS + TEXT_FORMATS
# -o FILE's extension -> the format it means.
EXTENSIONS = {
    "png": "png",
    "svg": "svg",
    "pdf": "pdf",
    "mmd": "mermaid",
    "mermaid": "mermaid",
    "dot": "dot",
    "gv": "dot",
    "json": "json",
}
DEFAULT_STEM = "network"
ROW_SYNTAX = 'one number per input neuron, like "0.5,-1,2"'


def _complete_format(incomplete: str) -> list[str]:
    return [f for f in FORMATS if f.startswith(incomplete)]


def draw(
    config: ConfigOpt = None,
    weights: WeightsOpt = None,
    model: ModelOpt = None,
    model_kwargs: ModelKwargsOpt = None,
    input_size: InputSizeOpt = None,
    dtype: DtypeOpt = None,
    vocab: VocabOpt = None,
    depth: Annotated[
        int | None,
        typer.Option(
            "--depth",
            metavar="N",
            help=(
                "With --model: one block per module at depth N; deeper modules are folded "
                "into their parent.  [default: 3]"
            ),
            rich_help_panel="Your own model (--model)",
            show_default=False,
        ),
    ] = None,
    input_row: Annotated[
        str | None,
        typer.Option(
            "--input",
            "-i",
            metavar="ROW",
            help=(
                'One sample, comma-separated ("0.5,-1,2"): each neuron is filled by the value '
                "it outputs and the prediction is shown. Neuron diagrams only."
            ),
            show_default=False,
        ),
    ] = None,
    seed: SeedOpt = 0,
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help=(
                "Where to write: .png, .svg, .pdf, .mmd (Mermaid), .dot or .json; the "
                "extension gives the format. Default: network.png here (network_zh.png with "
                "--lang zh); Mermaid and DOT go to stdout."
            ),
            show_default=False,
            rich_help_panel=_FIGURE,
        ),
    ] = None,
    format_: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            help=(
                "png, svg or pdf (a figure), mermaid or dot (text on stdout, no figure), "
                "json (the graph document). Default: from -o's extension, else png."
            ),
            autocompletion=_complete_format,
            show_default=False,
            rich_help_panel=_FIGURE,
        ),
    ] = None,
    lang: Annotated[
        str | None, lang_option("the layer titles (also in Mermaid and DOT)", _FIGURE)
    ] = None,
    dpi: Annotated[int, dpi_option(_FIGURE)] = 150,
    show: Annotated[bool, show_option(_FIGURE)] = False,
    json_out: JsonOpt = False,
) -> None:
    """Draw the model (default: the tutorial's demo) as neurons and connections, or as blocks.

    A small MLP config is drawn as the tutorial draws it: one column of neurons per
    layer, every connection coloured by the sign of its weight and as wide as |w|, a
    "+1" bias node per layer, each layer's activation and parameter formula. The
    weights are the config's seeded init (the same as `nncli run --seed S --params`),
    or a checkpoint's with --weights. --input ROW shows one sample flowing forward.

    A config too big for that (convolutions, more than 12 columns or 250,000
    connections) is drawn as blocks, and the output says so; so is --model, one box per
    module at --depth with its output shape and parameters, the arrows following the
    data (residual additions and concatenations show as merges).

    Figures need no display and no graphviz; --format mermaid gives text that GitHub
    renders in a README, --format dot text for graphviz.
    """
    from nncli.commands._options import check_dpi, check_model_options, check_seed
    from nncli.render.figures import resolve_language

    check_model_options(
        model,
        config,
        weights=weights,
        model_kwargs=model_kwargs,
        input_sizes=input_size,
        dtypes=dtype,
        vocab=vocab,
    )
    if depth is not None and model is None:
        raise UsageError(
            "--depth applies to --model only (the depth of its module tree)",
            hint="a config is drawn whole: as neurons, or as one block per layer",
        )
    if depth is not None:
        from nncli.commands._options import check_at_least

        check_at_least("--depth", depth)
    if input_row is not None and model is not None:
        raise UsageError(
            "--input ROW applies to a neuron diagram (a small MLP config), not to --model"
        )
    row = parse_row(input_row) if input_row is not None else None
    check_seed(seed)
    check_dpi(dpi)
    language = resolve_language(lang)
    fmt, target = resolve_output(output, format_, language)
    if show and fmt not in FIGURE_FORMATS:
        raise UsageError(f"--show applies to a figure (png, svg, pdf), not --format {fmt}")

    graph = _graph(config, weights, model, model_kwargs, input_size, dtype, vocab, depth, row, seed)
    if fmt in FIGURE_FORMATS:
        _write_figure(graph, fmt, target, language, dpi, show, json_out)
    else:
        _write_text(graph, fmt, target, language, json_out)


# --- Options ----------------------------------------------------------------------------


def parse_row(text: str) -> tuple[float, ...]:
    """``--input "0.5,-1,2"``: one row of finite numbers, read by the rule of every number
    nncli reads (core.inputs.parse_inline); a bad one is named."""
    from nncli.core.inputs import parse_inline

    rows = parse_inline(text, "--input", ROW_SYNTAX)
    if len(rows) != 1:
        raise UsageError(f'--input "{text}": one sample, not {len(rows)} rows', hint="drop the ';'")
    return tuple(float(value) for value in rows[0])


def resolve_output(
    output: str | None, format_: str | None, language: str
) -> tuple[str, Path | None]:
    """The format and the file to write (None: text on stdout), validated before any
    work: an unknown --format, a bad -o extension, or the two disagreeing."""
    from nncli.files import check_output_path

    fmt = _check_format(format_) if format_ is not None else None
    if output is None:
        fmt = fmt or "png"
        if fmt not in FIGURE_FORMATS:
            return fmt, None
        stem = f"{DEFAULT_STEM}_{language}" if language != "en" else DEFAULT_STEM
        return fmt, check_output_path(f"{stem}.{fmt}", FIGURE_FORMATS)
    ext = Path(output).suffix.lower().lstrip(".")
    implied = EXTENSIONS.get(ext)
    if fmt is not None and implied is not None and implied != fmt:
        raise UsageError(
            f"-o {output!r} is a .{ext} file but --format is {fmt}",
            hint=f"drop --format, or name the file with .{_extension(fmt)}",
        )
    if fmt is not None and implied is None:
        raise UsageError(
            f"-o {output!r}: the extension does not match --format {fmt}",
            hint=f"name the file with .{_extension(fmt)}",
        )
    target = check_output_path(output, EXTENSIONS)  # an unknown extension: exit 2
    return fmt or EXTENSIONS[ext], target


def _check_format(format_: str) -> str:
    from nncli.errors import unknown_name

    value = format_.strip().lower()
    if value not in FORMATS:
        err = unknown_name("format", format_, FORMATS)
        err.message = f"--format: {err.message}"
        raise err
    return value


def _extension(fmt: str) -> str:
    return "mmd" if fmt == "mermaid" else fmt


# --- The graph --------------------------------------------------------------------------


def _graph(
    config: str | None,
    weights: str | None,
    model: str | None,
    model_kwargs: str | None,
    input_size: list[str] | None,
    dtype: list[str] | None,
    vocab: int | None,
    depth: int | None,
    row: tuple[float, ...] | None,
    seed: int,
) -> Graph:
    if model is not None:
        from nncli.core.draw.blocks import model_block_graph
        from nncli.core.model.user.request import ModelRequest

        request = ModelRequest(
            model,
            kwargs_text=model_kwargs,
            input_sizes=tuple(input_size or ()),
            dtypes=tuple(dtype or ()),
            vocab=vocab,
            batch=1,
            device="cpu",
            seed=seed,
        )
        return model_block_graph(request, depth=DEFAULT_DEPTH if depth is None else depth)
    return _config_graph(config, weights, row, seed)


def _config_graph(
    config: str | None, weights: str | None, row: tuple[float, ...] | None, seed: int
) -> Graph:
    """Neurons where the config can be drawn so, else blocks with a note saying why."""
    from nncli.commands._options import model_and_weights
    from nncli.core.draw.neurons import neuron_graph, neuron_refusal

    spec, state, standardization = model_and_weights(config, weights)
    reason = neuron_refusal(spec)
    if reason is None:
        return neuron_graph(
            spec, state=state, standardization=standardization, seed=seed, input_row=row
        )
    if row is not None:
        raise UsageError(
            f"--input ROW applies to a neuron diagram, but {reason}: it is drawn as blocks",
            hint="drop --input, or use `nncli run --input FILE` for this model's outputs",
        )
    from nncli.core.draw.blocks import config_block_graph

    return config_block_graph(spec, note=f"too big to draw as neurons: {reason}; drawn as blocks")


# --- Output -----------------------------------------------------------------------------


def _write_figure(
    graph: Graph, fmt: str, target: Path | None, language: str, dpi: int, show: bool, json_out: bool
) -> None:
    from nncli.render.console import warn
    from nncli.render.draw_figure import FIGURE_RC, draw_figure
    from nncli.render.figures import render_and_save

    assert target is not None  # a figure always has a file (network.png by default)
    outcome = render_and_save(
        lambda lang, plt: draw_figure(graph, lang, plt),
        target,
        lang=language,
        dpi=dpi,
        show=show,
        rc=FIGURE_RC,
    )
    for message in outcome.warnings:
        warn(message)
    if json_out:
        _emit(graph, fmt, str(outcome.path), outcome.language)
        return
    from nncli.render.console import stdout_console
    from nncli.render.draw_text import render_draw_result

    render_draw_result(graph, str(outcome.path), outcome.language, stdout_console())


def _write_text(graph: Graph, fmt: str, target: Path | None, language: str, json_out: bool) -> None:
    from nncli.render.draw_text import graph_text

    if target is not None:
        _write_file(target, graph_text(graph, fmt, lang=language, path=str(target)))
    if json_out or (fmt == "json" and target is None):
        _emit(graph, fmt, str(target) if target is not None else None, None)
        return
    if target is None:
        import sys

        from nncli.render.console import info

        sys.stdout.write(graph_text(graph, fmt, lang=language))  # as it is: no wrapping, no styling
        sys.stdout.flush()
        for note in graph.notes:
            info(f"note: {note}")  # stderr: stdout is the text, to paste or pipe
        return
    from nncli.render.console import stdout_console
    from nncli.render.draw_text import render_draw_result

    render_draw_result(graph, str(target), None, stdout_console())


def _write_file(target: Path, text: str) -> None:
    from nncli.files import atomic_write

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as stream:
            stream.write(text)

    atomic_write(target, write)


def _emit(graph: Graph, fmt: str, path: str | None, language: str | None) -> None:
    from nncli.render.draw_text import draw_document
    from nncli.render.jsonout import emit

    emit("draw", draw_document(graph, fmt, path, language))
