"""``nncli.render.fit``: rich's private table API it relies on, and the fitting rules.

The first tests name each private piece of rich that :mod:`nncli.render.fit` uses, so
a rich release that changes one fails here, by name, rather than as a shifted golden.
"""

from __future__ import annotations

import io
import re

import pytest
import rich
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from nncli.render.fit import (
    UNBOUNDED,
    break_cells,
    fit,
    joined,
    natural_width,
    pack,
    packed,
    stacked,
)
from nncli.render.tables import new_table
from tests.conftest import Invoke


def console(width: int) -> Console:
    return Console(file=io.StringIO(), width=width, color_system=None, legacy_windows=False)


def printed(table: Table, width: int) -> list[str]:
    out = console(width)
    out.print(table)
    assert isinstance(out.file, io.StringIO)
    return out.file.getvalue().splitlines()


def sample(*columns: tuple[str, list[str]], no_wrap: bool = False) -> Table:
    table = new_table()
    for header, _ in columns:
        table.add_column(header, no_wrap=no_wrap)
    for row in zip(*(cells for _, cells in columns), strict=True):
        table.add_row(*row)
    return table


# ------------------------------------------------------------------ rich's private API


def test_rich_version_is_one_the_module_was_checked_against() -> None:
    major = int(rich.__version__.split(".")[0]) if hasattr(rich, "__version__") else None
    if major is None:  # rich has no __version__; the installed distribution says it
        from importlib.metadata import version

        major = int(version("rich").split(".")[0])
    assert major >= 13


def test_measure_column_gives_longest_word_and_whole_cell_with_padding() -> None:
    table = sample(("a", ["one two three", "x"]), ("b", ["4,096", "1"]))
    wide = console(80).options.update_width(UNBOUNDED)
    first = table._measure_column(console(80), wide, table.columns[0])
    second = table._measure_column(console(80), wide, table.columns[1])
    assert isinstance(first, Measurement)
    # pad_edge=False: the first column pads on its right only, the last on its left.
    assert (first.minimum, first.maximum) == (len("three") + 1, len("one two three") + 1)
    assert (second.minimum, second.maximum) == (len("4,096") + 1, len("4,096") + 1)
    table.columns[0].width = 7
    fixed = table._measure_column(console(80), wide, table.columns[0])
    assert (fixed.minimum, fixed.maximum) == (8, 8)  # a set width is the width


def test_padding_and_extra_width_add_up_to_the_printed_width() -> None:
    table = sample(("a", ["aaaa"]), ("b", ["bbbbbb"]), ("c", ["cc"]))
    assert [table._get_padding_width(i) for i in range(3)] == [1, 2, 1]
    assert table._extra_width == 2 + 2  # the two edges, and a rule between columns
    content = 4 + 6 + 2 + sum(table._get_padding_width(i) for i in range(3))
    assert max(map(len, printed(table, 200))) == content + table._extra_width
    assert natural_width(console(200), table) == content + table._extra_width


def test_column_cells_is_the_mutable_list_of_cells() -> None:
    table = sample(("a", ["x", "y"]))
    cells = table.columns[0]._cells
    assert cells == ["x", "y"]
    cells[1] = "z"
    assert "z" in "\n".join(printed(table, 40))


# ------------------------------------------------------------------ pack and packed


def test_pack_takes_the_longest_runs_that_fit_and_at_least_one_item() -> None:
    sizes = [3, 3, 3, 9, 1]
    fits = lambda a, b: sum(sizes[a:b]) <= 6  # noqa: E731
    assert pack(len(sizes), fits) == [(0, 2), (2, 3), (3, 4), (4, 5)]
    assert pack(0, fits) == []


def test_pack_evens_out_the_runs_when_they_still_fit() -> None:
    fits = lambda a, b: b - a <= 9  # noqa: E731
    assert pack(10, fits) == [(0, 9), (9, 10)]
    assert pack(10, fits, even=True) == [(0, 5), (5, 10)]
    # Evened runs that no longer fit are not taken.
    sizes = [1] * 9 + [8]
    fits_sizes = lambda a, b: sum(sizes[a:b]) <= 9  # noqa: E731
    assert pack(10, fits_sizes, even=True) == pack(10, fits_sizes)


def test_packed_breaks_only_between_parts_and_counts_cells() -> None:
    parts = ["model 中文", "device cpu", "seed 0", "input N(0, 1)"]
    # 中文 takes four cells: "model 中文 · device cpu" is 23 cells, one too many for 22.
    assert packed(parts, 22) == [["model 中文"], ["device cpu", "seed 0"], ["input N(0, 1)"]]
    assert packed(parts, 23) == [["model 中文", "device cpu"], ["seed 0", "input N(0, 1)"]]
    assert packed(["a" * 30, "b"], 10) == [["a" * 30], ["b"]]  # too wide alone: its own line


def test_joined_is_packed_with_its_separator() -> None:
    text = joined([Text("alpha"), Text("beta"), Text("gamma")], 12)
    assert text.plain == "alpha · beta\ngamma"


# ------------------------------------------------------------------ fit


def test_fit_leaves_a_table_that_fits_alone_and_refuses_what_cannot_fit() -> None:
    table = sample(("a", ["short"]), ("b", ["words"]))
    assert fit(table, console(80)) and all(c.width is None for c in table.columns)
    table = sample(("a", ["unbreakable" * 4]), ("b", ["x" * 40]))
    assert not fit(table, console(60)) and all(c.width is None for c in table.columns)


def test_fit_keeps_no_wrap_columns_whole() -> None:
    table = new_table()
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("Layer", no_wrap=True)
    table.add_column("Note")
    table.add_row("12", "│ └─conv1 (shared)", "a rather long note that may wrap " * 3)
    assert fit(table, console(60))
    lines = printed(table, 60)
    assert "12   │ └─conv1 (shared)   a" in lines[3] and max(map(len, lines)) <= 60


def test_fit_gives_the_room_first_to_the_columns_that_lack_least() -> None:
    # One column lacks 2 cells, the other 40: the first stops wrapping altogether.
    table = sample(("a", ["aa bb cc"]), ("b", ["word " * 10]))
    assert fit(table, console(40))
    assert printed(table, 40)[3].startswith(" aa bb cc ")


def test_break_cells_breaks_only_after_the_pattern() -> None:
    table = new_table()
    table.add_column("Output")
    table.add_row("([5, 10, 20], ([1, 5, 20], [1, 5, 20]))")
    table.columns[0].width = 14
    break_cells(table, after=r"(?<=[])}],) ")
    assert table.columns[0]._cells == ["([5, 10, 20],\n([1, 5, 20],\n[1, 5, 20]))"]


WORDS = st.text(alphabet="abcdefghij0123456789.,-", min_size=1, max_size=9)
CELLS = st.lists(WORDS, min_size=1, max_size=6).map(" ".join)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(st.lists(CELLS, min_size=3, max_size=3), min_size=1, max_size=4),
    width=st.sampled_from([40, 60, 80]),
)
def test_a_fitted_table_never_splits_a_word(rows: list[list[str]], width: int) -> None:
    table = new_table()
    for header in ("a", "b", "c"):
        table.add_column(header)
    for row in rows:
        table.add_row(*row)
    if not fit(table, console(width)):
        return  # rich's own layout then; nncli splits such tables before asking
    lines = printed(table, width)
    assert max(map(len, lines)) <= width
    words = set(re.findall(r"\S+", "\n".join(lines)))
    for row in rows:
        for word in " ".join(row).split():
            assert word in words, (word, lines)


# ------------------------------------------------------------------ stacked printing


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(st.lists(CELLS, min_size=3, max_size=3), min_size=2, max_size=6),
    width=st.sampled_from([40, 60, 80, 120]),
    no_wrap=st.lists(st.booleans(), min_size=3, max_size=3),
    right=st.lists(st.booleans(), min_size=3, max_size=3),
    fitted=st.booleans(),
    newline=st.booleans(),
    dim=st.lists(st.booleans(), min_size=6, max_size=6),
)
def test_a_stacked_table_prints_what_rich_prints(
    rows: list[list[str]],
    width: int,
    no_wrap: list[bool],
    right: list[bool],
    fitted: bool,
    newline: bool,
    dim: list[bool],
) -> None:
    """The fast path prints the same characters as rich's own, row for row: cells that
    fit, cells rich wraps, cells with a line break, no_wrap columns cropped, right-justified
    numbers, fitted widths and rich's own."""

    def table() -> Table:
        made = new_table()
        for i, header in enumerate(("a", "b", "c")):
            made.add_column(header, no_wrap=no_wrap[i], justify="right" if right[i] else "left")
        for r, row in enumerate(rows):
            cells = [cell.replace(" ", "\n", 1) if newline and r == 1 else cell for cell in row]
            made.add_row(*cells, style="dim" if dim[r] else None)
        if fitted:
            fit(made, console(width))
        return made

    assert printed(stacked(table(), console(width)), width) == printed(table(), width)


def test_stacked_keeps_each_rows_style_on_its_lines() -> None:
    made = new_table()
    made.add_column("a")
    made.add_row("plain")
    made.add_row("dimmed", style="dim")
    out = Console(file=io.StringIO(), width=40, force_terminal=True, color_system="standard")
    one = stacked(made, out)
    assert one is not made and len(one.rows) == 1
    out.print(one)
    text = out.file.getvalue()  # type: ignore[attr-defined]
    assert "\x1b[2mdimmed" in text and "\x1b[2mplain" not in text


def test_stacked_leaves_tables_it_cannot_match_as_they_are() -> None:
    styled = new_table(row_styles=["dim", ""])
    styled.add_column("a")
    styled.add_row("x")
    styled.add_row("y")
    assert stacked(styled, console(40)) is styled
    rich_cell = new_table()
    rich_cell.add_column("a")
    rich_cell.add_row(Text("x"))
    rich_cell.add_row("y")
    assert stacked(rich_cell, console(40)) is rich_cell


# ------------------------------------------------------------------ the commands at 80


@pytest.mark.parametrize(
    "args",
    [
        ("activations",),
        ("loss", "--list"),
        ("run", "--config", "mnist_mlp"),
        ("summary", "--config", "cifar_cnn"),
        ("init-stats", "kaiming_normal", "xavier_uniform", "--depth", "3", "--batch", "8"),
    ],
)
def test_no_line_passes_80_columns_and_no_number_is_cut(cli: Invoke, args: tuple[str, ...]) -> None:
    out = cli(*args, env={"COLUMNS": "80"})
    assert out.exit_code == 0, out.stderr
    lines = out.stdout.splitlines()
    assert max(map(len, lines)) <= 80
    assert "…" not in out.stdout.replace("… ", "")  # rich's ellipsis: a cropped cell


def test_catalogue_words_are_whole_at_80(cli: Invoke) -> None:
    from nncli.core.activation.activations import ACTIVATIONS

    text = cli("activations", env={"COLUMNS": "80"}).stdout
    words = set(re.findall(r"\S+", text))
    for act in ACTIVATIONS.values():
        for word in (act.name, *act.layer.split()):
            assert word.strip(",.;") in {w.strip(",.;│") for w in words}, word


def test_no_other_module_touches_rich_private_table_api() -> None:
    from pathlib import Path

    import nncli

    private = re.compile(
        r"\._measure_column|\._extra_width|\._get_padding_width|\._cells\b"
        r"|_calculate_column_widths|rich\.measure|\bMeasurement\b"
    )
    root = Path(nncli.__file__).parent
    users = sorted(
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if private.search(path.read_text(encoding="utf-8"))
    )
    assert users == ["render/fit.py"]
