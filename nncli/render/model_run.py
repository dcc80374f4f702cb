"""``nncli run --model``: the output of the user's module, as text and as a JSON document.

Each output leaf gets a line with its path, shape, dtype and min/mean/max, then a
preview of its values: a ``[rows, columns]`` float output as ``run``'s table (the
same folding to the width), anything else as numpy prints it, summarised and
wrapped at the console width.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.text import Text

from nncli.core.model.results import SUM_TOLERANCE, RunResult
from nncli.core.model.user.run import ModelRunResult, OutputTensor
from nncli.fmt import num
from nncli.render.fit import packed
from nncli.render.run_tables import MAX_COLUMNS, MAX_ROWS, output_tables
from nncli.render.tables import shape

# The values of this many outputs are shown; a model that returns a long list of
# tensors (every layer's hidden state) gets a line each for the rest.
MAX_PREVIEWS = 8
# numpy's summary: arrays with more elements than this show their first and last items.
THRESHOLD = 200
PRECISION = 4


def render_model_run(result: ModelRunResult, console: Console) -> None:
    facts = [f"model {result.source}", f"device {result.device}", f"seed {result.seed}"]
    for i, line in enumerate(packed([result.model_name, *facts], console.width)):
        lead = (line[0], "bold") if i == 0 else line[0]  # the model's name, in bold
        console.print(Text.assemble(lead, *(f" · {part}" for part in line[1:])))
    inputs = input_labels(result)
    if inputs:
        for line in packed(inputs, console.width):
            console.print(" · ".join(line))
    for note in result.notes:
        console.print(note, style="dim")
    if not result.outputs:
        console.print("the model returned nothing (no output leaves)")
    blank = False  # whether the last thing printed ends with an empty line (a table)
    previews = 0
    for output in result.outputs:
        if not blank:
            console.print()
        preview = output.values is not None and previews < MAX_PREVIEWS
        previews += preview
        blank = render_output(output, console, preview=preview)
    hidden = sum(o.values is not None for o in result.outputs) - previews
    if hidden > 0:
        if not blank:
            console.print()
        console.print(
            f"… the values of {hidden:,} more output{'s' if hidden > 1 else ''} are not "
            "shown (use --json for all of them)",
            style="dim",
        )


def input_labels(result: ModelRunResult) -> list[str]:
    """``input x [5, 3, 8, 8] float32, random N(0, 1)``, one per input; unnamed inputs
    by position when there are several."""
    several = len(result.inputs) > 1
    labels = []
    for i, item in enumerate(result.inputs):
        name = item.get("name") or (f"[{i}]" if several else "")
        label = f"input{'' if name.startswith('[') or not name else ' '}{name}"
        label += f" {shape(item['shape'])} {item['dtype']}"
        drawn = result.drawn[i] if i < len(result.drawn) else result.input_source
        labels.append(f"{label}, {drawn}")
    return labels


def render_output(output: OutputTensor, console: Console, *, preview: bool = True) -> bool:
    """The output's line (path, shape, dtype, statistics) and, with ``preview``, its
    values; True when what was printed ends with an empty line (a table does)."""
    if output.values is None:
        what = "not a tensor" if output.shape == [] else "no values"
        console.print(Text.assemble((output.path, "bold"), f" {output.dtype} ({what})"))
        return False
    parts = [f"{output.path} {shape(output.shape)} {output.dtype}", *stats(output.values)]
    for i, line in enumerate(packed(parts, console.width)):
        text = " · ".join(line)
        if i == 0:  # the path, in bold
            console.print(Text.assemble((output.path, "bold"), text[len(output.path) :]))
        else:
            console.print(text)
    return render_values(output, console) if preview else False


def stats(values: Any) -> list[str]:
    """``min …``, ``mean …``, ``max …`` of a real array (none for a single value, an
    empty array or a complex one)."""
    import numpy as np

    if values.size <= 1 or values.dtype.kind == "c":  # one value is its own statistics
        return []
    as_float = values.astype(np.float64)
    return [
        f"min {num(as_float.min())}",
        f"mean {num(as_float.mean())}",
        f"max {num(as_float.max())}",
    ]


def render_values(output: OutputTensor, console: Console) -> bool:
    """The values: a table for ``[rows, columns]`` floats (True: it ends with an empty
    line), else numpy's own summary, wrapped at the console width."""
    values = output.values
    if values.size == 0:
        console.print("(empty)", style="dim")
        return False
    if values.ndim == 2 and values.dtype.kind == "f":
        return _render_table(values, console)
    import numpy as np

    text = np.array2string(
        values,
        precision=PRECISION,
        # Beyond two axes every value takes a line's share: summarise sooner.
        threshold=THRESHOLD if values.ndim <= 2 else THRESHOLD // 4,
        edgeitems=3 if values.ndim <= 2 else (2 if values.ndim == 3 else 1),
        max_line_width=console.width,
    )
    console.out(text, highlight=False)
    return False


def _render_table(values: Any, console: Console) -> bool:
    """``run``'s table of rows × columns (argmax, and the row sums of a softmax), then
    what it leaves out; True when nothing follows the table's closing empty line."""
    as_run = _as_run_result(values)
    for table in output_tables(as_run, console):
        console.print(table)
    notes = []
    hidden_rows = values.shape[0] - MAX_ROWS
    hidden_columns = values.shape[1] - MAX_COLUMNS
    if hidden_rows > 0:
        notes.append(f"… {hidden_rows:,} more rows (use --json for all of them)")
    if hidden_columns > 0:
        notes.append(f"… {hidden_columns:,} more columns (use --json for all of them)")
    for note in notes:
        console.print(note, style="dim")
    if as_run.sums_to_one:
        notes.append("sums")
        console.print(f"rows sum to 1 (within {SUM_TOLERANCE:g})")
    return not notes


def _as_run_result(values: Any) -> RunResult:
    """A 2-D float output as ``run``'s result, so its table code is reused as it is."""
    rows = row_facts(values)
    return RunResult(
        model_name="",
        source="",
        device="",
        seed=0,
        input_source="",
        input_shape=[],
        output_shape=list(values.shape),
        output=values,
        predictions=rows["predictions"],
        row_sums=rows["row_sums"],
        softmax_output=bool(rows["sums_to_one"]),
        sums_to_one=rows["sums_to_one"],
    )


def row_facts(values: Any) -> dict[str, Any]:
    """For a ``[rows, columns]`` float output: the argmax of each row (None with one
    column: it is always 0), the row sums, and True when every row sums to 1 (a
    probability output; None otherwise, as run says of a model without softmax).
    All None for any other output."""
    import numpy as np

    none: dict[str, Any] = {"predictions": None, "row_sums": None, "sums_to_one": None}
    if values is None or values.ndim != 2 or values.dtype.kind != "f" or values.size == 0:
        return none
    sums = values.astype(np.float32).sum(axis=-1)
    probabilities = bool(np.all(np.abs(sums - 1) < SUM_TOLERANCE))
    return {
        "predictions": values.argmax(axis=-1) if values.shape[1] > 1 else None,
        "row_sums": sums,
        "sums_to_one": True if probabilities else None,
    }


# -- JSON --------------------------------------------------------------------------------


def model_run_document(result: ModelRunResult) -> dict[str, Any]:
    """``run --json``'s document for ``--model``: run's keys (``config`` and ``weights``
    null, ``output`` the first tensor output's values) plus every output by path.

    Values stay numpy arrays so :func:`nncli.render.jsonout.emit` writes
    them in chunks.
    """
    tensors = [o for o in result.outputs if o.values is not None]
    first = tensors[0] if tensors else None
    rows = row_facts(first.values if first is not None else None)
    return {
        "model": result.model_name,
        "config": None,
        "model_spec": result.source,
        "device": result.device,
        "seed": result.seed,
        "weights": None,
        "input": result.input_source,
        "inputs": result.inputs,
        "input_shape": result.inputs[0]["shape"] if result.inputs else None,
        "output_shape": first.shape if first is not None else None,
        "outputs": [
            {
                "path": o.path,
                "shape": o.shape,
                "dtype": o.dtype,
                "values": json_values(o.values),
            }
            for o in result.outputs
        ],
        "output": json_values(first.values) if first is not None else None,
        "predictions": rows["predictions"],
        "row_sums": rows["row_sums"],
        "sums_to_one": rows["sums_to_one"],
        "params": None,  # run --params applies to config models only
        "notes": list(result.notes),
    }


def json_values(values: Any) -> Any:
    """Values JSON can hold: a complex array as [real, imaginary] pairs (one more axis)."""
    import numpy as np

    if values is not None and values.dtype.kind == "c":
        return np.stack([values.real, values.imag], axis=-1)
    return values
