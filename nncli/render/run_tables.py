"""The rich output of ``nncli run``: the output rows, predictions and parameters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from nncli.core.model.forward import SUM_TOLERANCE, NamedParam, RunResult
from nncli.fmt import fixed
from nncli.render.tables import natural_width, new_table, shape

MAX_ROWS = 20  # the terminal shows this many output rows; --json carries all of them
MAX_COLUMNS = 40  # and this many output columns, folded into blocks that fit the width
PLACES = 6  # decimals of an output value (scientific beyond fmt.FIXED_LIMIT)


def render_run(result: RunResult, console: Console) -> None:
    facts = [
        f"config {result.source}",
        f"device {result.device}",
        f"seed {result.seed}",
        f"input {result.input_source}",
    ]
    for i, line in enumerate(packed([result.model_name, *facts], console.width)):
        lead = (line[0], "bold") if i == 0 else line[0]  # the model's name, in bold
        console.print(Text.assemble(lead, *(f" · {part}" for part in line[1:])))
    shapes = [
        f"input shape {shape(result.input_shape)}",
        f"output shape {shape(result.output_shape)}",
    ]
    for line in packed(shapes, console.width, " → "):
        console.print(" → ".join(line))
    for table in output_tables(result, console):
        console.print(table)
    hidden_rows = len(result.output) - MAX_ROWS
    hidden_columns = result.output_shape[-1] - MAX_COLUMNS
    if hidden_rows > 0:
        console.print(f"… {hidden_rows:,} more rows (use --json for all of them)", style="dim")
    if hidden_columns > 0:
        console.print(
            f"… {hidden_columns:,} more output columns (use --json for all of them)", style="dim"
        )
    if result.softmax_output:
        verdict = "yes" if result.sums_to_one else "NO"
        console.print(f"softmax rows sum to 1 (within {SUM_TOLERANCE:g}): {verdict}")
    if result.params is not None:
        render_params(result.params, console)


def packed(parts: list[str], width: int, separator: str = " · ") -> list[list[str]]:
    """``parts`` grouped into lines that, joined by ``separator``, fit ``width``;
    lines break only between parts, so "N(0, 1)" or a shape is never split."""
    lines = [[parts[0]]]
    for part in parts[1:]:
        used = sum(map(cell_len, lines[-1])) + cell_len(separator) * len(lines[-1])
        if used + cell_len(part) <= width:  # cells, not characters: 中文 takes two each
            lines[-1].append(part)
        else:
            lines.append([part])
    return lines


def output_tables(result: RunResult, console: Console) -> list[Table]:
    """The shown rows as tables that fit the console width.

    Output columns that do not fit beside each other are folded into further
    blocks, each with the row number; argmax and sum close the last block. Only
    the shown rows are formatted, so a million-row output costs nothing here.
    """
    shown = result.output[:MAX_ROWS, :MAX_COLUMNS]
    values = [[fixed(v, PLACES) for v in row] for row in shown.tolist()]
    tail: list[tuple[str, list[str]]] = []
    if result.predictions is not None:  # a model with one output has nothing to pick
        tail.append(("argmax", [str(p) for p in result.predictions[:MAX_ROWS].tolist()]))
    if result.softmax_output:
        tail.append(("sum", [fixed(s, PLACES) for s in result.row_sums[:MAX_ROWS].tolist()]))
    columns = [(f"out[{j}]", [row[j] for row in values]) for j in range(shown.shape[1])]
    blocks = _blocks(console, len(values), columns, tail)
    return [
        _table(len(values), columns[start:end] + (tail if end == len(columns) else []))
        for start, end in blocks
    ]


def _blocks(
    console: Console,
    rows: int,
    columns: list[tuple[str, list[str]]],
    tail: list[tuple[str, list[str]]],
) -> list[tuple[int, int]]:
    """``(start, end)`` of each block: as few blocks as fit, then evened out, so ten
    columns fold as 5 + 5 rather than 9 + 1."""
    greedy: list[tuple[int, int]] = []
    start = 0
    while start < len(columns) or not greedy:
        end = _fitting(console, rows, columns, start, tail)
        greedy.append((start, end))
        start = end
    count = len(greedy)
    size = -(-len(columns) // count)  # ceil: the last block, which has the tail, is smallest
    even = [(i, min(i + size, len(columns))) for i in range(0, len(columns), size)]
    if len(even) == count and all(
        _fits(console, _table(rows, columns[a:b] + (tail if b == len(columns) else [])))
        for a, b in even
    ):
        return even
    return greedy


def _fitting(
    console: Console,
    rows: int,
    columns: list[tuple[str, list[str]]],
    start: int,
    tail: list[tuple[str, list[str]]],
) -> int:
    """The end of the longest run of value columns from ``start`` that fits (at least one).

    The last block also carries ``tail`` (argmax, sum); when they do not fit beside
    it, its last value column moves on to a final block.
    """
    end = start + 1
    while end < len(columns) and _fits(console, _table(rows, columns[start : end + 1])):
        end += 1
    last = end == len(columns) and end - start > 1
    if last and not _fits(console, _table(rows, columns[start:end] + tail)):
        end -= 1
    return end


def _fits(console: Console, table: Table) -> bool:
    return natural_width(console, table) <= console.width


def _table(rows: int, columns: Sequence[tuple[str, list[str]]]) -> Table:
    table = new_table()
    table.add_column("row", justify="right", no_wrap=True)
    for header, _cells in columns:
        table.add_column(header, justify="right", no_wrap=True)
    for i in range(rows):
        table.add_row(str(i), *(cells[i] for _header, cells in columns))
    return table


def render_params(params: list[NamedParam], console: Console) -> None:
    import numpy as np

    console.print()
    console.print("Parameters (w and b)", style="bold")
    for p in params:
        values: Any = np.asarray(p.values, dtype=np.float32)
        # numpy wraps its own lines at the console width, between numbers.
        text = np.array2string(
            values, precision=4, threshold=200, edgeitems=3, max_line_width=console.width
        )
        console.print(f"{p.name} {shape(p.shape)}", style="bold")
        console.out(text)
