"""The rich output of ``nncli run``: the output rows, predictions and parameters."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from nncli.core.forward import SUM_TOLERANCE, NamedParam, RunResult
from nncli.render.tables import new_table, shape

MAX_ROWS = 20  # the terminal shows this many output rows; --json carries all of them


def render_run(result: RunResult, console: Console) -> None:
    console.print(
        Text.assemble(
            (result.model_name, "bold"),
            f" · config {result.source} · device {result.device} · "
            f"seed {result.seed} · input {result.input_source}",
        )
    )
    console.print(
        f"input shape {shape(result.input_shape)} → output shape {shape(result.output_shape)}"
    )
    table = new_table()
    table.add_column("row", justify="right")
    width = result.output_shape[-1] if result.output_shape else 0
    for j in range(width):
        table.add_column(f"out[{j}]", justify="right")
    table.add_column("argmax", justify="right")
    if result.softmax_output:
        table.add_column("sum", justify="right")
    for i, (values, pred, total) in enumerate(
        zip(result.output, result.predictions, result.row_sums, strict=True)
    ):
        if i == MAX_ROWS:
            break
        cells = [str(i), *(f"{v:.6f}" for v in values), str(pred)]
        if result.softmax_output:
            cells.append(f"{total:.6f}")
        table.add_row(*cells)
    console.print(table)
    hidden = len(result.output) - MAX_ROWS
    if hidden > 0:
        console.print(f"… {hidden} more rows (use --json for all of them)", style="dim")
    if result.softmax_output:
        verdict = "yes" if result.sums_to_one else "NO"
        console.print(f"softmax rows sum to 1 (within {SUM_TOLERANCE:g}): {verdict}")
    if result.params is not None:
        render_params(result.params, console)


def render_params(params: list[NamedParam], console: Console) -> None:
    import numpy as np

    console.print()
    console.print("Parameters (w and b)", style="bold")
    for p in params:
        values = np.array(p.values, dtype=np.float32)
        text = np.array2string(values, precision=4, threshold=200, edgeitems=3, max_line_width=100)
        console.print(f"{p.name} {shape(p.shape)}", style="bold")
        console.out(text)
