"""Fitting tables and lines of text to the console width.

This is the only module that uses rich's private table API: ``Table._measure_column``,
``Table._extra_width``, ``Table._get_padding_width`` and ``Column._cells``. A rich
release that changes them fails ``tests/test_fit.py``, which names each one.

Two rules serve every table and header line of nncli:

- :func:`pack` splits a sequence into consecutive runs, each as long as still fits:
  the facts of a header into lines, a run's output columns into blocks, a tree's
  columns into tables, a wide cell's pieces into lines.
- :func:`fit` sets a table's column widths so that no column is narrower than its
  longest word, and a ``no_wrap`` column keeps its whole width. Rich, left alone,
  shrinks the widest wrapping column first, below its longest word if need be
  ("transfo/rmers"), and crops a no_wrap column's numbers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from copy import copy
from typing import Literal, TypeVar

from rich.cells import cell_len
from rich.console import Console
from rich.measure import Measurement
from rich.table import Column, Row, Table
from rich.text import Text

T = TypeVar("T", str, Text)
Share = Literal["least_lacking_first", "proportional"]

# A width no table reaches: measuring at it gives each column's unwrapped width.
UNBOUNDED = 100_000


# ------------------------------------------------------------------ packing runs


def pack(
    count: int, fits: Callable[[int, int], bool], *, even: bool = False
) -> list[tuple[int, int]]:
    """``(start, end)`` of consecutive runs that cover ``range(count)``, each as long as
    ``fits(start, end)`` allows and at least one item long (an item too wide on its own
    still gets a run, and overflows or wraps there).

    With ``even``, as many runs of equal size (the last one smallest) when they all fit,
    so ten columns fold as 5 + 5 rather than 9 + 1.
    """
    runs: list[tuple[int, int]] = []
    start = 0
    while start < count:
        end = start + 1
        while end < count and fits(start, end + 1):
            end += 1
        runs.append((start, end))
        start = end
    if not even or not runs:
        return runs
    size = -(-count // len(runs))
    evened = [(i, min(i + size, count)) for i in range(0, count, size)]
    if len(evened) == len(runs) and all(fits(a, b) for a, b in evened):
        return evened
    return runs


def packed(parts: Sequence[T], width: int, separator: str = " · ") -> list[list[T]]:
    """``parts`` grouped into lines that, joined by ``separator``, fit ``width``; lines
    break only between parts, so "N(0, 1)" or a shape is never split. Widths are in
    cells, not characters: 中文 takes two each."""
    sizes = [cell_len(p) if isinstance(p, str) else p.cell_len for p in parts]
    gap = cell_len(separator)

    def fits(start: int, end: int) -> bool:
        return sum(sizes[start:end]) + gap * (end - start - 1) <= width

    return [list(parts[start:end]) for start, end in pack(len(parts), fits)]


def joined(parts: Sequence[Text], width: int, separator: str = " · ") -> Text:
    """``parts`` on one line, separated, and on as many more as ``width`` needs: a new
    line starts only between parts (one longer than the width still wraps inside)."""
    text = Text()
    for i, line in enumerate(packed(parts, width, separator)):
        if i:
            text.append("\n")
        for j, part in enumerate(line):
            if j:
                text.append(separator)
            text.append_text(part)
    return text


# ------------------------------------------------------------------ column widths


def natural_width(console: Console, table: Table) -> int:
    """The width ``table`` takes with no cell wrapped (rich's measure, unclamped)."""
    unbounded = console.options.update(width=UNBOUNDED, max_width=UNBOUNDED)
    return Measurement.get(console, unbounded, _measurable(table)).maximum


def fits_unwrapped(table: Table, console: Console) -> bool:
    """True when ``table`` fits the console with no cell wrapped."""
    return natural_width(console, table) <= console.width


def fit(table: Table, console: Console, *, share: Share = "least_lacking_first") -> bool:
    """Set column widths so that no cell splits a word; False if the width cannot allow it.

    Each column gets at least its longest word (a ``no_wrap`` column its longest cell,
    so a tree prefix and its name, or a number, is never cut); the room left is then
    shared out by ``share``:

    - ``"least_lacking_first"``: the columns that lack least become whole first, so
      fewer columns wrap at all (trees, budgets);
    - ``"proportional"``: every wrapping column gets room in proportion to what it
      lacks, so prose columns wrap alike (the catalogues).

    A table that fits as it is keeps rich's widths; one that cannot fit is left as is.
    """
    wide = console.options.update_width(UNBOUNDED)
    ranges = []
    probe = _measurable(table)
    for column in probe.columns:
        measured = probe._measure_column(console, wide, column)
        whole = column.no_wrap and column.width is None
        ranges.append((measured.maximum if whole else measured.minimum, measured.maximum))
    room = console.width - table._extra_width
    if sum(high for _, high in ranges) <= room:
        return True
    if sum(low for low, _ in ranges) > room:
        return False
    widths = [low for low, _ in ranges]
    lacking = [high - low for low, high in ranges]
    spare = room - sum(widths)
    if share == "proportional":
        total = sum(lacking)
        widths = [
            width + lack * spare // total for width, lack in zip(widths, lacking, strict=True)
        ]
    else:
        order = sorted(range(len(ranges)), key=lambda i: lacking[i])
        for n, i in enumerate(order):
            given = min(lacking[i], spare // (len(order) - n))
            widths[i] += given
            spare -= given
    for i, column in enumerate(table.columns):
        column.width = widths[i] - table._get_padding_width(i)
    return True


def _measurable(table: Table) -> Table:
    """A copy of ``table`` that measures the same and fast: each column's string cells
    joined into one, whose narrowest width (its longest word) and widest (its longest
    line) are those of the widest cells. Rich measures a cell at a time, each through a
    padding and a measurement object: most of a 250-row tree's fitting time."""
    columns = []
    for column in table.columns:
        cells = column._cells
        one = copy(column)
        if len(cells) > 1 and all(isinstance(cell, str) for cell in cells):
            one._cells = ["\n".join(cells)]  # type: ignore[arg-type]
        columns.append(one)
    probe = copy(table)
    probe.columns = columns
    return probe


def break_cells(table: Table, after: str) -> None:
    """A cell wider than the width :func:`fit` gave its column breaks only where the
    regular expression ``after`` matches, its pieces packed into lines of that width,
    rather than wherever rich would wrap it (e.g. a tuple of shapes after a whole
    tensor's shape, not inside one)."""
    for column in table.columns:
        width = column.width
        if column.no_wrap or width is None:
            continue
        cells = column._cells
        for i, cell in enumerate(cells):
            if isinstance(cell, str) and cell_len(cell) > width:
                lines = packed(re.split(after, cell), width, " ")
                cells[i] = "\n".join(" ".join(line) for line in lines)


# ------------------------------------------------------------------ printing fast


def stacked(table: Table, console: Console) -> Table:
    """The same table as one row whose cells hold every row's lines, when that prints the
    same characters; anything else (a row style per position, a section line, a cell
    that is not a string, a column justified other than left or right), as is.

    Rich renders each cell of a table as its own renderable; a 250-row model tree is
    thousands of them, most of ``summary``'s time after torch's import. Stacked, each
    column is one :class:`Text`: a cell that needs more than one line is wrapped here by
    rich's own ``Text.wrap`` at its column's width, and every row is padded to its
    tallest cell, as rich pads it (top-aligned). A row's style stays on its lines, not
    on the padding between cells, where only a background would show; nncli sets none.
    """
    if len(table.rows) < 2 or table.row_styles or any(row.end_section for row in table.rows):
        return table
    columns = table.columns
    if any(column.justify not in ("left", "right", "default") for column in columns):
        return table
    cells_lines: list[list[list[str]]] = []
    for column in columns:
        column_lines = []
        for cell in column._cells:
            if not isinstance(cell, str):
                return table
            column_lines.append(_cell_lines(cell, column, console))
        cells_lines.append(column_lines)
    heights = [max(len(cells[r]) for cells in cells_lines) for r in range(len(table.rows))]
    stacked_columns = []
    for column, cells in zip(columns, cells_lines, strict=True):
        text = Text()
        for r, (lines, row) in enumerate(zip(cells, table.rows, strict=True)):
            style = row.style or ""
            for i in range(heights[r]):
                if r or i:
                    text.append("\n")
                text.append(lines[i] if i < len(lines) else "", style=style)
        one_column = copy(column)
        one_column._cells = [text]
        stacked_columns.append(one_column)
    one = copy(table)
    one.columns = stacked_columns
    one.rows = [Row()]
    # Unset widths are rich's own, and they match only while nothing has to shrink.
    if any(column.width is None for column in columns) and not fits_unwrapped(one, console):
        return table
    return one


def _cell_lines(cell: str, column: Column, console: Console) -> list[str]:
    """The lines rich prints for ``cell`` in ``column`` (its width, wrapping, overflow)."""
    width = column.width
    if "\n" not in cell and (width is None or cell_len(cell) <= width):
        return [cell]
    if width is None:
        return cell.split("\n")
    wrapped = Text(cell).wrap(
        console,
        width,
        justify="left",
        overflow=column.overflow,
        no_wrap=column.no_wrap,
    )
    return [line.plain.rstrip() for line in wrapped]
