"""Text output about activations: the catalogue table, ``--info``, and plot results."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from nncli.core.activation.activations import Activation
from nncli.fmt import FIXED_LIMIT, fixed, num
from nncli.render.tables import new_table, print_bullets, print_fitted

if TYPE_CHECKING:
    from nncli.core.activation.curves import Curve, Interval


# The tutorial's names for the two schemes every activation here recommends.
INIT_SHORT = {"xavier_normal": "Xavier", "kaiming_normal": "He"}


def yes_no(value: bool) -> str:
    return "yes" if value else "no"


def slope(value: float) -> str:
    """A maximum derivative, short: 0.25, 1, 1.758, 1/6."""
    if math.isclose(value, 1 / 6):
        return "1/6"
    return f"{value:.4g}"


CATALOGUE_CAPTION = (
    "0-ctr: zero-centred output. Sat.: where f′ → 0. max|f′|: sup over all x "
    "(softmax: of ∂yᵢ/∂xᵢ). Loss 'any': a hidden layer. Init: Xavier = xavier_normal, "
    "He = kaiming_normal. --json gives the full text."
)
PROPERTY_COLUMNS = ("Name", "f(x)", "Range", "0-ctr", "Sat.", "max|f′|")
USAGE_COLUMNS = ("Name", "Use", "Loss", "Init")


def render_catalogue(activations: Sequence[Activation], console: Console) -> None:
    """One table when it fits the width, else two (properties, then usage) with the same rows.

    A column never gets narrower than its longest word, so no token is ever broken;
    when the whole table cannot have that, its last columns move to a second table.
    """
    title = f"{len(activations)} activations · nncli plot NAME draws one · --info explains it"
    print_fitted(
        console,
        _catalogue_table(activations, PROPERTY_COLUMNS + USAGE_COLUMNS[1:], title),
        [
            _catalogue_table(activations, PROPERTY_COLUMNS, title),
            _catalogue_table(activations, USAGE_COLUMNS, "Use, loss and init"),
        ],
        CATALOGUE_CAPTION,
    )


def catalogue_document(activations: Sequence[Activation]) -> dict[str, Any]:
    """The ``--json`` document of the catalogue (``activations``, ``plot --list``) and of
    ``plot --info``: every property of each activation."""
    return {"activations": [a.properties() for a in activations]}


def show_catalogue(command: str, json_out: bool) -> None:
    """Every activation, as ``--json`` or the table: ``nncli activations`` and
    ``nncli plot --list`` print the same (the command only names the document)."""
    from nncli.core.activation.activations import ACTIVATIONS
    from nncli.render.console import stdout_console

    entries = list(ACTIVATIONS.values())
    if json_out:
        from nncli.render.jsonout import emit

        emit(command, catalogue_document(entries))
        return
    render_catalogue(entries, stdout_console())


def _catalogue_table(
    activations: Sequence[Activation], columns: Sequence[str], title: str | None
) -> Table:
    table = new_table(collapse_padding=True, title=title)
    for column in columns:
        if column in ("0-ctr", "Sat.", "Init", "Name"):
            table.add_column(column, no_wrap=True)
        elif column == "max|f′|":
            table.add_column(column, justify="right", no_wrap=True)
        else:
            table.add_column(column, overflow="fold")
    for act in activations:
        cells = {
            "Name": act.name + "".join(f"\n({a})" for a in act.aliases),
            "f(x)": act.short_formula,
            "Range": act.output_range,
            "0-ctr": yes_no(act.zero_centred),
            "Sat.": act.saturates,
            "max|f′|": slope(act.max_slope),
            "Use": act.layer,
            "Loss": act.short_loss,
            "Init": INIT_SHORT.get(act.init, act.init),
        }
        table.add_row(*(cells[c] for c in columns))
    return table


def render_info(act: Activation, console: Console) -> None:
    """``nncli plot NAME --info``: what the activation is, its derivative, its pitfalls."""
    title = Text.assemble((act.label, "bold"), f" ({act.name})")
    aliases = act.aliases
    if aliases:
        title.append(f", also called {', '.join(aliases)}")
    console.print(title)
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    saturates = {
        "none": "no",
        "both": "yes, on both sides (f′ → 0 as x → ±∞)",
        "left": "yes, for x → −∞",
        "right": "yes, for x → +∞",
    }[act.saturates]
    rows = [
        ("function", act.formula),
        ("derivative", act.derivative + "  (plotted from autograd)"),
        ("range", act.output_range),
        ("zero-centred", yes_no(act.zero_centred)),
        ("saturates", saturates),
        ("max |f′|", slope(act.max_slope)),
        ("element-wise", yes_no(act.elementwise)),
        ("torch module", f"torch.nn.{act.module}" + _fixed(act)),
        ("gain", f"torch.nn.init.calculate_gain({act.gain!r})" if act.gain else "none in torch"),
        ("typical use", act.use),
        ("loss", act.loss),
        ("init", act.init),
    ]
    if act.flat:
        where = describe_intervals(act.flat, -math.inf, math.inf, num)
        rows.insert(5, ("dead region", f"f′ = 0 exactly for {where}: no learning there"))
    rows.insert(6 if act.flat else 5, ("shaded", SHADING_RULE[act.saturation_rule]))
    rows += [
        (f"--{p.name.replace('_', '-')}", f"{p.help} (default {p.default:g})") for p in act.params
    ]
    for key, value in rows:
        grid.add_row(key, value)
    console.print(grid)
    console.print()
    console.print(act.notes)
    if act.pitfalls:
        console.print()
        console.print("Pitfalls", style="bold")
        print_bullets(act.pitfalls, console)


def _fixed(act: Activation) -> str:
    if not act.fixed:
        return ""
    return "(" + ", ".join(f"{k}={v!r}" for k, v in act.fixed.items()) + ")"


SHADING_RULE = {
    "absolute": "where |f′| < T (--saturation, default 0.05): gradient vanishing",
    "relative": (
        "where |f′| < T × its maximum over the samples (--saturation, default 0.05): "
        "information loss. Relative, because ∂yᵢ/∂xᵢ scales like 1/N with the number "
        "of samples, so no absolute T means anything"
    ),
}


def decimals_for(lo: float, hi: float) -> int:
    """Enough decimals to tell boundaries apart on this range: 2 on [−5, 5]."""
    span = hi - lo
    if span <= 0 or not math.isfinite(span):
        return 2
    return max(2, min(10, 3 - math.floor(math.log10(span))))


def x_formatter(lo: float, hi: float) -> Callable[[float], str]:
    """How x values on [lo, hi] print: -4.58 on [−5, 5]; far from 0, significant digits
    enough to tell the boundaries apart (1.00000025e+06, -1e+300), never 300 digits."""
    places = decimals_for(lo, hi)
    big = max(abs(lo), abs(hi))
    if big < FIXED_LIMIT:
        # The sample "0" of an odd linspace is -1.04e-16: on this range that is 0.00.
        tiny = 0.5 * 10.0**-places
        return lambda v: fixed(0.0 if abs(v) < tiny else v, places)
    span = hi - lo
    digits = 4
    if 0 < span < math.inf:
        digits = max(3, min(17, math.ceil(math.log10(big / span)) + 3))
    return lambda v: num(v, digits)


def describe_intervals(
    intervals: Sequence[Interval], lo: float, hi: float, show: Callable[[float], str]
) -> str:
    """``x < -4.58, x > 4.58`` for intervals on [lo, hi]; ``none`` when empty."""
    if not intervals:
        return "none"
    parts = []
    for a, b in intervals:
        at_lo, at_hi = a <= lo, b >= hi
        if at_lo and at_hi:
            parts.append(f"everywhere on [{show(lo)}, {show(hi)}]")
        elif at_lo:
            parts.append(f"x < {show(b)}")
        elif at_hi:
            parts.append(f"x > {show(a)}")
        else:
            parts.append(f"{show(a)} < x < {show(b)}")
    return ", ".join(parts)


def render_plot_result(
    curves: Sequence[Curve], output: str, language: str, console: Console
) -> None:
    """What ``nncli plot`` prints after writing the figure: path, then the intervals.

    Dead regions (f′ = 0 exactly, from the registry) print with the formula's own
    edges; vanishing regions, interpolated between samples, with the range's decimals.
    """
    first = curves[0]
    lo, hi = float(first.x[0]), float(first.x[-1])
    show = x_formatter(lo, hi)
    console.print(f"Wrote {output}", soft_wrap=True)
    console.print(
        f"{first.points:,} points on [{show(lo)}, {show(hi)}] · "
        f"device {first.device} · f′ by autograd · language {language}"
    )
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True)
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for curve in curves:
        name = Text("\n".join([curve.name, *(f"{k}={num(v)}" for k, v in curve.params.items())]))
        name.stylize("bold")
        grid.add_row(
            name, "max |f′|", f"{num(curve.max_abs_dy)} at x = {show(curve.argmax_abs_dy)}"
        )
        if curve.dead:
            exact = describe_intervals(curve.dead, lo, hi, _edge(show, lo, hi))
            grid.add_row("", "dead (f′ = 0)", f"{exact}: units there get no gradient")
        for key, value in _vanishing_rows(curve, show, lo, hi):
            grid.add_row("", key, value)
        for note in curve.notes:
            grid.add_row("", "note", note)
    console.print(grid)


def _edge(show: Callable[[float], str], lo: float, hi: float) -> Callable[[float], str]:
    # A dead region's inner edges are the formula's (0, 6, ±1, ±3): exact, so short.
    return lambda v: show(v) if v in (lo, hi) else num(v)


def _vanishing_rows(
    curve: Curve, show: Callable[[float], str], lo: float, hi: float
) -> list[tuple[str, str]]:
    t = curve.threshold
    if t == 0:
        return [("vanishing", "off (--saturation 0)")]
    where = describe_intervals(curve.saturation, lo, hi, show)
    if curve.dead:
        where += " outside the dead region" if where == "none" else " (besides the dead region)"
    if curve.rule == "relative":
        return [
            (f"|f′| < {num(t)}·max", where),
            (
                "rule",
                f"relative: below {num(t)} × max |f′| = {num(curve.cutoff)} "
                "(information loss; ∂yᵢ/∂xᵢ scales with 1/N)",
            ),
        ]
    return [(f"|f′| < {num(t)}", where)]


# ------------------------------------------------------------------ plot --json


def stride_for(points: int, limit: int | None) -> int:
    """The step that keeps at most ``limit`` of ``points`` samples, both ends included."""
    if limit is None or points <= limit:
        return 1
    return -(-(points - 1) // (limit - 1))


def strided_indices(points: int, limit: int | None) -> Any:
    import numpy as np

    picked = np.arange(0, points, stride_for(points, limit))
    return picked if picked[-1] == points - 1 else np.append(picked, points - 1)


def trimmed_note(points: int, limit: int | None) -> str | None:
    """What ``--json`` says on stderr when its series keep fewer than ``points`` samples."""
    if limit is None or points <= limit:
        return None
    return (
        f"--json: the series carry {len(strided_indices(points, limit)):,} of the "
        f"{points:,} points (one in {stride_for(points, limit):,}); the intervals "
        "use all of them; --full-data writes every point"
    )


def plot_document(
    curves: list[Any], output: str, language: str, limit: int | None = None
) -> dict[str, object]:
    """The ``--json`` document: the figure's path and the sampled series.

    With ``limit``, each series carries at most that many samples (every k-th, the
    last one too); the intervals and maxima always come from every sample.
    """
    first = curves[0]
    keep = strided_indices(first.points, limit)
    series = []
    for curve in curves:
        entry = curve.activation.properties()
        entry.update(
            {
                "activation": curve.name,
                "params": curve.params,
                "max_abs_derivative": curve.activation.max_abs_derivative(**curve.params),
                "sampled_max_abs_dy": curve.max_abs_dy,
                "sampled_argmax_abs_dy": curve.argmax_abs_dy,
                "saturation": [list(iv) for iv in curve.saturation],
                "saturation_rule": curve.rule,
                "saturation_cutoff": curve.cutoff,
                "dead": [list(iv) for iv in curve.dead],
                "notes": curve.notes,
                "x": curve.x[keep],
                "y": curve.y[keep],
                "dy": curve.dy[keep],
            }
        )
        series.append(entry)
    return {
        "output": output,
        "device": first.device,
        "dtype": first.dtype,
        "range": [float(first.x[0]), float(first.x[-1])],
        "points": first.points,
        "series_points": len(keep),
        "series_stride": stride_for(first.points, limit),
        "saturation_threshold": first.threshold,
        "language": language,
        "series": series,
    }
