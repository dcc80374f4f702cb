"""Rich tables and the JSON document of ``nncli init-stats``."""

from __future__ import annotations

import textwrap
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from nncli.core.init.initstats import InitStatsResult, SchemeStats
from nncli.core.init.propagation import LayerStats, Propagation
from nncli.fmt import num
from nncli.render.fit import fits_unwrapped
from nncli.render.tables import new_table

LAYER_ROWS = 12  # above 2 × this many layers the table shows the first and last ones
OVERFLOW_CONTEXT = 1  # rows shown either side of an overflow layer hidden in the middle
NUMBER_COLUMNS = ("mean", "std", "variance", "min", "max")


def _params(res: SchemeStats) -> str:
    # choices (mode, nonlinearity) are self-explanatory without their key
    return " ".join(
        f"{k}={num(v)}" if isinstance(v, float) else str(v) for k, v in res.values.items()
    )


def render_init_stats(result: InitStatsResult, console: Console) -> None:
    """The comparison table, then the theory formulas and, with --depth, each stack.

    At the full width the verdict is the table's last column; where the table would not
    fit, the σ error and verdict move to a table of their own below it, and below that
    width the variance (std², with its own line saying so): nothing is cut or dropped
    silently.
    """
    first = result.results[0]
    console.print(
        Text.assemble(
            ("init-stats", "bold"),
            f" · weight (fan_out, fan_in) = ({first.fan_out:,}, {first.fan_in:,}), "
            f"{first.numel:,} value{'' if first.numel == 1 else 's'} · device {result.device} "
            f"· seed {result.seed}",
        )
    )
    layouts = (
        (NUMBER_COLUMNS, True),
        (NUMBER_COLUMNS, False),
        (tuple(c for c in NUMBER_COLUMNS if c != "variance"), False),
    )
    for columns, with_check in layouts:
        table = _stats_table(result, columns, with_check)
        if fits_unwrapped(table, console):
            break
    console.print(table)
    if "variance" not in columns:
        console.print("variance = std² (not shown at this width; --json has it)", style="dim")
    if not with_check:
        console.print(_check_table(result))
    console.print(
        Text.assemble(("Theory", "bold"), " (from the formulas, independently of torch):")
    )
    for res in result.results:
        _print_wrapped(console, f"{res.scheme}: {res.theory.formula}", indent=2, hanging=4)
    _print_wrapped(
        console,
        "min/max theory: the support's ends where it is bounded. σ err: the relative error "
        "of the measured std; ok within ± 5 standard errors of the sampling noise for this "
        "many values (mean and bounds are checked too).",
        style="dim",
    )
    for res in result.results:
        if res.propagation is not None:
            render_propagation(res.scheme, res.propagation, console)


def _print_wrapped(
    console: Console, text: str, indent: int = 0, hanging: int = 0, style: str = ""
) -> None:
    """Wrap at spaces only (a token such as "0.1083" or "√(256 + 256)" may move to the
    next line whole, never in parts); continuation lines get ``hanging`` more spaces."""
    lines = textwrap.wrap(
        text,
        width=max(console.width, 20),
        initial_indent=" " * indent,
        subsequent_indent=" " * (indent + hanging),
        break_long_words=False,
        break_on_hyphens=False,
    )
    for line in lines:
        console.print(line, style=style, soft_wrap=True)


def _sigma_error(res: SchemeStats) -> tuple[str, str]:
    """The σ error and its tolerance, as two short cells."""
    c = res.check
    if not c.std_measurable:
        return "n/a", "too few"
    if c.std_rel_error is None:
        return "exact", ""
    return f"{c.std_rel_error:+.2%}", f"±{c.std_tolerance:.2%}"


def _verdict(res: SchemeStats) -> Text:
    c = res.check
    return Text(c.verdict, style="green" if c.ok else "red")


def _stats_table(result: InitStatsResult, columns: tuple[str, ...], with_check: bool) -> Table:
    table = new_table()
    table.add_column("Scheme", overflow="fold", min_width=14)
    table.add_column("", no_wrap=True, style="dim")
    for name in columns:
        table.add_column(name, justify="right", no_wrap=True)
    if with_check:
        table.add_column("σ err", justify="right", no_wrap=True)
        table.add_column("check", overflow="fold", min_width=5)
    for res in result.results:
        t, e = res.theory, res.empirical
        cells = {
            "mean": (num(t.mean), num(e.mean, 3)),
            "std": (num(t.std), num(e.std)),
            "variance": (num(t.variance), num(e.std * e.std)),
            "min": (num(t.low), num(e.min)),
            "max": (num(t.high), num(e.max)),
        }
        params = _params(res)
        row: list[Any] = [
            Text.assemble((res.scheme, "bold"), (f"\n{params}" if params else "", "dim")),
            "theory\nmeasured",
            *(f"{cells[c][0]}\n{cells[c][1]}" for c in columns),
        ]
        if with_check:
            err, tol = _sigma_error(res)
            row += [
                Text.assemble("\n", err, (f"\n{tol}" if tol else "", "dim")),
                Text.assemble("\n", _verdict(res)),
            ]
        table.add_row(*row, end_section=True)
    return table


def _check_table(result: InitStatsResult) -> Table:
    """σ error and verdict per scheme, for widths where they do not fit beside the numbers."""
    table = new_table()
    table.add_column("Scheme", overflow="fold")
    table.add_column("σ err", justify="right", no_wrap=True)
    table.add_column("tolerance", justify="right", no_wrap=True)
    table.add_column("check", overflow="fold")
    for res in result.results:
        err, tol = _sigma_error(res)
        table.add_row(res.scheme, err, tol, _verdict(res))
    return table


def _shown_rows(prop: Propagation) -> list[LayerStats | None]:
    """The layers the table shows (None marks a gap): all of a short stack; of a long one
    the first and last LAYER_ROWS, and each overflow layer with its neighbours."""
    layers = prop.layers
    if len(layers) <= 2 * LAYER_ROWS:
        return list(layers)
    keep = set(range(LAYER_ROWS)) | set(range(len(layers) - LAYER_ROWS, len(layers)))
    for where in (prop.forward_overflow_layer, prop.backward_overflow_layer):
        if where is not None:
            keep |= set(range(where - 1 - OVERFLOW_CONTEXT, where + OVERFLOW_CONTEXT))
    rows: list[LayerStats | None] = []
    for i in sorted(i for i in keep if 0 <= i < len(layers)):
        if rows and rows[-1] is not None and rows[-1].layer != i:  # layer numbers are 1-based
            rows.append(None)
        rows.append(layers[i])
    return rows


def _percent(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


def render_propagation(scheme: str, prop: Propagation, console: Console) -> None:
    console.print()
    console.print(
        Text.assemble(
            (scheme, "bold"),
            f" through {prop.depth} layers of {prop.width} × {prop.width} "
            f"(no bias) + {prop.activation}, batch {prop.batch}; backward from sum(output)",
        )
    )
    overflowed = any(lay.nonfinite_fraction > 0 for lay in prop.layers)
    table = new_table()
    table.add_column("Layer", justify="right")
    table.add_column("act mean", justify="right", no_wrap=True)
    table.add_column("act std", justify="right", no_wrap=True)
    table.add_column("saturated", justify="right", no_wrap=True)
    table.add_column("dead", justify="right", no_wrap=True)
    if overflowed:
        table.add_column("inf/NaN", justify="right", no_wrap=True)
    table.add_column("grad std", justify="right", no_wrap=True)
    rows = _shown_rows(prop)
    for lay in rows:
        if lay is None:
            table.add_row("…", *[""] * (len(table.columns) - 1))
            continue
        cells = [
            str(lay.layer),
            num(lay.activation_mean, 3),
            num(lay.activation_std, 3),
            _percent(lay.saturated_fraction),
            _percent(lay.dead_fraction),
        ]
        if overflowed:
            cells.append(_percent(lay.nonfinite_fraction))
        table.add_row(*cells, num(lay.grad_std, 3))
    console.print(table)
    hidden = len(prop.layers) - sum(lay is not None for lay in rows)
    if hidden:
        console.print(f"… {hidden} layers not shown (--json has all)", style="dim")
    if overflowed:
        _print_wrapped(
            console,
            "inf/NaN: outputs that overflowed float32; they count as neither saturated, "
            "dead nor alive.",
            style="dim",
        )
    _print_wrapped(
        console,
        f"activation std, layer {prop.depth}/layer 1: {num(prop.activation_ratio, 3)} · "
        f"gradient std, layer 1/layer {prop.depth}: {num(prop.gradient_ratio, 3)}",
    )
    colour = {"stable": "green", "saturated": "yellow"}.get(prop.verdict, "red")
    console.print(Text.assemble((prop.verdict, f"bold {colour}"), f": {prop.evidence}"))


def init_stats_document(
    result: InitStatsResult, saved: list[str], language: str | None = None
) -> dict[str, Any]:
    """The ``--json`` payload; non-finite numbers become null in :func:`emit`.

    ``language`` is the one the figures were drawn in (None without figures)."""
    return {
        "device": result.device,
        "seed": result.seed,
        "activation": result.activation,
        "depth": result.depth,
        "batch": result.batch,
        "results": [_result(res) for res in result.results],
        "files": saved,
        "language": language,
    }


def _result(res: SchemeStats) -> dict[str, Any]:
    t, e, c = res.theory, res.empirical, res.check
    doc: dict[str, Any] = {
        "scheme": res.scheme,
        "fan_in": res.fan_in,
        "fan_out": res.fan_out,
        "params": res.numel,  # the weight's parameter count, as in `summary --json`
        "options": dict(res.values),
        "theory": {
            "mean": t.mean,
            "std": t.std,
            "variance": t.variance,
            "bound": t.bound,
            "low": t.low,
            "high": t.high,
            "gain": t.gain,
            "formula": t.formula,
        },
        "empirical": {"mean": e.mean, "std": e.std, "min": e.min, "max": e.max},
        "check": {
            "std_rel_error": c.std_rel_error,
            "std_tolerance": c.std_tolerance,
            "mean_error": c.mean_error,
            "mean_tolerance": c.mean_tolerance,
            "in_bounds": c.in_bounds,
            "std_measurable": c.std_measurable,
            "ok": c.ok,
            "verdict": c.verdict,
        },
        "warnings": list(res.warnings),
    }
    prop = res.propagation
    if prop is not None:
        doc["layers"] = [
            {
                "layer": lay.layer,
                "activation_mean": lay.activation_mean,
                "activation_std": lay.activation_std,
                "saturated_fraction": lay.saturated_fraction,
                "dead_fraction": lay.dead_fraction,
                "nonfinite_fraction": lay.nonfinite_fraction,
                "grad_std": lay.grad_std,
                "grad_finite": lay.grad_finite,
            }
            for lay in prop.layers
        ]
        doc["propagation"] = {
            "activation": prop.activation,
            "width": prop.width,
            "depth": prop.depth,
            "batch": prop.batch,
            "activation_ratio": prop.activation_ratio,
            "gradient_ratio": prop.gradient_ratio,
            "activation_factor": prop.activation_factor,
            "gradient_factor": prop.gradient_factor,
            "verdict": prop.verdict,
            "evidence": prop.evidence,
            "overflow_layer": prop.overflow_layer,
            "forward_overflow_layer": prop.forward_overflow_layer,
            "backward_overflow_layer": prop.backward_overflow_layer,
        }
    return doc
