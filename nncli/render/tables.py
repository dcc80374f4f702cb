"""Rich tables for the human-readable output of each command."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from nncli.core.memory import format_bytes
from nncli.core.summary import SummaryResult


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
    table = new_table()
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("Layer", overflow="fold")
    table.add_column("Type", no_wrap=True)
    table.add_column("Input", no_wrap=True)
    table.add_column("Output", no_wrap=True)
    table.add_column("Params", justify="right", overflow="fold")
    table.add_column("Init", overflow="fold")
    table.add_column("Trainable", no_wrap=True)
    for row in result.layers:
        table.add_row(
            str(row.index),
            row.name,
            row.type,
            shape(row.input_shape),
            shape(row.output_shape),
            row.param_formula,
            row.init,
            trainable_label(row.trainable),
        )
    console.print(table)
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
    console.print(totals)
    console.print(f"Mult-adds: {result.mult_adds_rule}.", style="dim")
