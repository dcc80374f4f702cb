"""Rich tables for the human-readable output of each command."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from nncli.core.memory import format_bytes
from nncli.core.model.summary import SummaryResult
from nncli.fmt import num


def shape(dims: Sequence[int]) -> str:
    return "[" + ", ".join(str(d) for d in dims) + "]"


def new_table(title: str | None = None, caption: str | None = None, **options: Any) -> Table:
    """The one table style of nncli; ``options`` go to rich's Table."""
    return Table(
        title=title,
        caption=caption,
        box=box.SIMPLE_HEAVY,
        title_justify="left",
        caption_justify="left",
        pad_edge=False,
        **options,
    )


def trainable_label(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "no")


def natural_width(console: Console, table: Table) -> int:
    """The width ``table`` takes with no cell wrapped (rich's measure, unclamped)."""
    unbounded = console.options.update(width=_UNBOUNDED, max_width=_UNBOUNDED)
    return Measurement.get(console, unbounded, table).maximum


_UNBOUNDED = 100_000


def init_label(init: str, args: dict[str, Any]) -> str:
    """``xavier_normal(gain=1.667)``: the scheme with the arguments that differ from its
    defaults (all of them are in ``--json``); plain labels ("default", "-") as they are."""
    from nncli.core.init.inits import INIT_SCHEMES

    scheme = INIT_SCHEMES.get(init)
    if scheme is None or not args:
        return init
    shown = [
        f"{p.name}={num(args[p.name]) if p.numeric else args[p.name]}"
        for p in scheme.params
        if p.name in args and args[p.name] != p.default
    ]
    return f"{init}({', '.join(shown)})" if shown else init


def render_summary(result: SummaryResult, console: Console) -> None:
    if result.classic is not None:
        console.out(result.classic, end="")
        console.print()
    where = (
        "shapes from torch's meta device, no weights allocated"
        if result.built_on == "meta"
        else f"built on {result.built_on}"
    )
    console.print(
        Text.assemble(
            (result.model_name, "bold"),
            f" · config {result.source} · device {result.device} · "
            f"input {shape(result.input_shape)}\n{where}",
        )
    )
    for table in _layer_tables(result, console):
        console.print(table)
    console.print(_totals_table(result))
    console.print(f"Mult-adds: {result.mult_adds_rule}.", style="dim")


def _layer_tables(result: SummaryResult, console: Console) -> list[Table]:
    """One table when it fits the console; otherwise the parameter formulas and inits
    move to a second table below, so no cell has to break a formula or a name."""
    wide = _layers_table(result, details=True)
    if natural_width(console, wide) <= console.width:
        return [wide]
    return [_layers_table(result, details=False), _details_table(result)]


def _layers_table(result: SummaryResult, *, details: bool) -> Table:
    table = new_table()
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("Layer", overflow="fold")
    table.add_column("Type", overflow="fold")
    table.add_column("Input", overflow="fold")
    table.add_column("Output", overflow="fold")
    table.add_column("Params", justify="right", no_wrap=details, overflow="fold")
    if details:
        table.add_column("Init", no_wrap=True)
    table.add_column("Trainable", no_wrap=True)
    for row in result.layers:
        cells = [str(row.index), row.name, row.type, shape(row.input_shape)]
        cells.append(shape(row.output_shape))
        if details:
            cells += [row.param_formula, init_label(row.init, row.init_args)]
        else:
            cells.append(f"{row.params:,}")
        table.add_row(*cells, trainable_label(row.trainable))
    return table


def _details_table(result: SummaryResult) -> Table:
    """The layers with parameters: how the count is made up, and how they are initialised."""
    table = new_table("Parameters and initialisation")
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("Layer", overflow="fold")
    table.add_column("Params", overflow="fold")
    table.add_column("Init", overflow="fold")
    for row in result.layers:
        if row.params or row.init not in ("-", "default"):
            init = init_label(row.init, row.init_args)
            table.add_row(str(row.index), row.name, row.param_formula, init)
    return table


def _totals_table(result: SummaryResult) -> Table:
    totals = new_table()
    totals.add_column("Totals")
    totals.add_column("", justify="right")
    totals.add_row("Total params", f"{result.total_params:,}")
    totals.add_row("Trainable params", f"{result.trainable_params:,}")
    totals.add_row("Non-trainable params", f"{result.non_trainable_params:,}")
    totals.add_row("Mult-adds", f"{result.mult_adds:,}")
    totals.add_row("Input memory", format_bytes(result.memory.input))
    totals.add_row("Activation memory (forward)", format_bytes(result.memory.activations))
    totals.add_row("Parameter memory", format_bytes(result.memory.params))
    totals.add_row("Estimated total", format_bytes(result.memory.total))
    return totals


def fit_columns(table: Table, console: Console) -> bool:
    """Set column widths so that no cell splits a word; False if the width cannot allow it.

    Rich shrinks the widest wrapping column first, below its longest word if need be
    ("transfo/rmers"). Here each column gets at least its longest word, and the
    room left goes to the columns that would wrap, in proportion to what they lack.
    """
    wide = console.options.update_width(10_000)
    ranges = [table._measure_column(console, wide, c) for c in table.columns]
    room = console.width - table._extra_width
    if sum(r.maximum for r in ranges) <= room:
        return True
    if sum(r.minimum for r in ranges) > room:
        return False
    widths = [r.minimum for r in ranges]
    lacking = [r.maximum - r.minimum for r in ranges]
    spare = room - sum(widths)
    total = sum(lacking)
    for i, lack in enumerate(lacking):
        widths[i] += lack * spare // total
    for i, column in enumerate(table.columns):
        column.width = widths[i] - table._get_padding_width(i)
    return True


def print_fitted(console: Console, full: Table, parts: Sequence[Table], caption: str) -> None:
    """``full`` when its words fit the width, else ``parts`` one below the other (the same
    rows, fewer columns each), so a catalogue never splits a word; the caption last."""
    if fit_columns(full, console):
        full.caption = caption
        console.print(full)
        return
    for table in parts:
        fit_columns(table, console)
        console.print(table)
    console.print(caption)


def print_bullets(items: Sequence[str], console: Console) -> None:
    bullets = Table.grid(padding=(0, 1))
    bullets.add_column(no_wrap=True)
    bullets.add_column(overflow="fold")
    for item in items:
        bullets.add_row("  •", item)
    console.print(bullets)
