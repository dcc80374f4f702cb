"""The rich output of ``nncli run``: the output rows, predictions and parameters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from nncli.core.model.results import SUM_TOLERANCE, NamedParam, RunResult
from nncli.fmt import fixed
from nncli.render.fit import fits_unwrapped, pack, packed
from nncli.render.tables import new_table, shape

MAX_ROWS = 20  # the terminal shows this many output rows; --json carries all of them
MAX_COLUMNS = 40  # and this many output columns, folded into blocks that fit the width
PLACES = 6  # decimals of an output value (scientific beyond fmt.FIXED_LIMIT)

Column = tuple[str, list[str]]  # a header and its cells, one a row


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
    note = standardization_note(result)
    if note is not None:
        console.print(note)
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


def standardization_note(result: RunResult) -> str | None:
    """What ``run --weights`` did with the checkpoint's standardisation, or None."""
    if result.standardization is None:
        return None
    if result.standardized_input:
        return "inputs: standardised with the checkpoint's statistics (from the training split)"
    return (
        "inputs: random N(0, 1), already in the standardised space: the checkpoint's "
        "statistics are not applied"
    )


def output_tables(result: RunResult, console: Console) -> list[Table]:
    """The shown rows as tables that fit the console width.

    Output columns that do not fit beside each other are folded into further
    blocks, each with the row number; argmax and sum close the last block. Only
    the shown rows are formatted, so a million-row output costs nothing here.
    """
    shown = result.output[:MAX_ROWS, :MAX_COLUMNS]
    values = [[fixed(v, PLACES) for v in row] for row in shown.tolist()]
    tail: list[Column] = []
    if result.predictions is not None:  # a model with one output has nothing to pick
        tail.append(("argmax", [str(p) for p in result.predictions[:MAX_ROWS].tolist()]))
    if result.softmax_output:
        tail.append(("sum", [fixed(s, PLACES) for s in result.row_sums[:MAX_ROWS].tolist()]))
    columns = [(f"out[{j}]", [row[j] for row in values]) for j in range(shown.shape[1])]
    return folded_tables(console, len(values), columns, tail)


def folded_tables(
    console: Console, rows: int, columns: list[Column], tail: list[Column]
) -> list[Table]:
    """``columns`` beside a row number, folded into as few blocks as fit the width and
    then evened out (ten columns fold as 5 + 5 rather than 9 + 1). The last block also
    carries ``tail`` (argmax, sum); when they do not fit beside it, its last value
    column moves on to a final block."""

    def block(start: int, end: int) -> Table:
        return _table(rows, columns[start:end] + (tail if end == len(columns) else []))

    blocks = pack(len(columns), lambda a, b: fits_unwrapped(block(a, b), console), even=True)
    return [block(start, end) for start, end in blocks or [(0, 0)]]


def _table(rows: int, columns: Sequence[Column]) -> Table:
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


def run_document(result: RunResult, weights: str | None) -> dict[str, Any]:
    """``run --json``'s document for a config. Values stay numpy arrays, so that
    :func:`nncli.render.jsonout.emit` streams them in chunks."""
    return {
        "model": result.model_name,
        "config": result.source,
        "device": result.device,
        "seed": result.seed,
        "weights": weights,  # the checkpoint, or null: the seed drew the weights
        "input": result.input_source,
        "input_shape": result.input_shape,
        "output_shape": result.output_shape,
        "output": result.output,
        "predictions": result.predictions,  # null when the model has one output
        "row_sums": result.row_sums,
        "sums_to_one": result.sums_to_one,
        "params": result.params,
        # run --weights with a standardised checkpoint: its statistics and whether they
        # were applied (to --input rows; random inputs are drawn standardised). Else null.
        "standardization": None
        if result.standardization is None
        else {**result.standardization.as_dict(), "applied": result.standardized_input},
    }
