"""Text output about activations: the catalogue table, ``--info``, and plot results."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text

from nncli.core.activations import Activation
from nncli.render.tables import new_table

if TYPE_CHECKING:
    from nncli.core.curves import Curve, Interval


# The tutorial's names for the two schemes every activation here recommends.
INIT_SHORT = {"xavier_normal": "Xavier", "kaiming_normal": "He"}


def yes_no(value: bool) -> str:
    return "yes" if value else "no"


def slope(value: float) -> str:
    """A maximum derivative, short: 0.25, 1, 1.758, 1/6."""
    if math.isclose(value, 1 / 6):
        return "1/6"
    return f"{value:.4g}"


def render_catalogue(activations: Sequence[Activation], console: Console) -> None:
    table = new_table(
        collapse_padding=True,
        title=f"{len(activations)} activations · nncli plot NAME draws one · --info explains it",
        caption=(
            "0-ctr: zero-centred output. Sat.: where f′ → 0. max|f′|: sup over all x "
            "(softmax: of ∂yᵢ/∂xᵢ). Loss 'any': a hidden layer. Init: Xavier = xavier_normal, "
            "He = kaiming_normal. --json gives the full text."
        ),
    )
    table.add_column("Name", no_wrap=True)
    table.add_column("f(x)", overflow="fold")
    table.add_column("Range", overflow="fold")
    table.add_column("0-ctr", no_wrap=True)
    table.add_column("Sat.", no_wrap=True)
    table.add_column("max|f′|", justify="right", no_wrap=True)
    table.add_column("Use", overflow="fold")
    table.add_column("Loss", overflow="fold")
    table.add_column("Init", no_wrap=True)
    for act in activations:
        name = act.name + "".join(f"\n({a})" for a in act.aliases)
        table.add_row(
            name,
            (act.short_formula),
            (act.output_range),
            yes_no(act.zero_centred),
            act.saturates,
            slope(act.max_slope),
            (act.layer),
            (act.short_loss),
            INIT_SHORT.get(act.init, act.init),
        )
    console.print(table)


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
    if act.dead_below is not None:
        rows.insert(5, ("dead region", f"f′ = 0 for x < {act.dead_below:g}: no learning there"))
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
        bullets = Table.grid(padding=(0, 1))
        bullets.add_column(no_wrap=True)
        bullets.add_column(overflow="fold")
        for item in act.pitfalls:
            bullets.add_row("  •", item)
        console.print(bullets)


def _fixed(act: Activation) -> str:
    if not act.fixed:
        return ""
    return "(" + ", ".join(f"{k}={v!r}" for k, v in act.fixed.items()) + ")"


def decimals_for(lo: float, hi: float) -> int:
    """Enough decimals to tell boundaries apart on this range: 2 on [−5, 5]."""
    span = hi - lo
    if span <= 0 or not math.isfinite(span):
        return 2
    return max(2, min(10, 3 - math.floor(math.log10(span))))


def number(value: float, places: int) -> str:
    text = f"{value:.{places}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text  # no "-0.00"


def describe_intervals(intervals: Sequence[Interval], lo: float, hi: float) -> str:
    """``x < -4.58, x > 4.58`` for intervals on [lo, hi]; ``none`` when empty."""
    if not intervals:
        return "none"
    places = decimals_for(lo, hi)
    parts = []
    for a, b in intervals:
        at_lo, at_hi = a <= lo, b >= hi
        if at_lo and at_hi:
            parts.append(f"everywhere on [{number(lo, places)}, {number(hi, places)}]")
        elif at_lo:
            parts.append(f"x < {number(b, places)}")
        elif at_hi:
            parts.append(f"x > {number(a, places)}")
        else:
            parts.append(f"{number(a, places)} < x < {number(b, places)}")
    return ", ".join(parts)


def render_plot_result(
    curves: Sequence[Curve], output: str, language: str, console: Console
) -> None:
    """What ``nncli plot`` prints after writing the figure: path, then the saturation text."""
    first = curves[0]
    lo, hi = float(first.x[0]), float(first.x[-1])
    places = decimals_for(lo, hi)
    console.print(f"Wrote {output}", soft_wrap=True)
    console.print(
        f"{first.points:,} points on [{number(lo, places)}, {number(hi, places)}] · "
        f"device {first.device} · derivatives by autograd · language {language}",
        soft_wrap=True,
    )
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True)
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    t = first.threshold
    for curve in curves:
        name = curve.name + "".join(f" {k}={v:g}" for k, v in curve.params.items())
        grid.add_row(
            Text(name, style="bold"),
            "max |f′|",
            f"{curve.max_abs_dy:.4g} at x = {number(curve.argmax_abs_dy, places)}",
        )
        vanish = describe_intervals(curve.saturation, lo, hi) if t > 0 else "off (--saturation 0)"
        grid.add_row("", f"|f′| < {t:g}", vanish)
        if curve.dead:
            grid.add_row("", "dead (f′ = 0)", describe_intervals(curve.dead, lo, hi))
        for note in curve.notes:
            grid.add_row("", "note", note)
    console.print(grid)
