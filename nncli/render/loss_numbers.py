"""The output of ``nncli loss NAME --pred ... --target ...``: value, per-element losses
and the gradient, as tables that fit the terminal; and the ``--json`` payload."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from nncli.core.loss.losseval import LossEvaluation
from nncli.fmt import num
from nncli.render.fit import packed
from nncli.render.run_tables import MAX_COLUMNS, MAX_ROWS, folded_tables
from nncli.render.tables import new_table, shape

DIGITS = 6  # significant digits: enough to check a hand calculation


def evaluation_document(ev: LossEvaluation) -> dict[str, Any]:
    """The ``--json`` payload, without ``schema_version`` and ``command``."""
    return {
        "loss": ev.loss,
        "params": ev.params,
        "reduction": ev.reduction,
        "dtype": ev.dtype,
        "value": ev.value,
        "elements": ev.elements,
        "grad": ev.grad,
        "pred_shape": ev.pred_shape,
        "target_shape": ev.target_shape,
        "warnings": ev.warnings,
        "notes": ev.notes,
    }


def render_evaluation(ev: LossEvaluation, console: Console) -> None:
    """The facts, the reduced loss, a table of the elements, the notes.

    Warnings are not printed here: they belong on stderr (the command warns).
    """
    from nncli.core.loss.losses import get_loss

    label = get_loss(ev.loss).label
    facts = [f"{label} ({ev.loss})", f"reduction {ev.reduction}", ev.dtype]
    facts += [f"{k} {_param(v)}" for k, v in ev.params.items()]
    facts += [f"prediction {shape(ev.pred_shape)}", f"target {shape(ev.target_shape)}"]
    for i, line in enumerate(packed(facts, console.width)):
        lead = (line[0], "bold") if i == 0 else line[0]
        console.print(Text.assemble(lead, *(f" · {part}" for part in line[1:])))
    if ev.reduction != "none":
        assert isinstance(ev.value, float)
        console.print(
            Text.assemble((f"loss ({ev.reduction})", "bold"), f" {num(ev.value, DIGITS)}")
        )
    tables, hidden = evaluation_tables(ev, console)
    for table in tables:
        console.print(table)
    for more in hidden:
        console.print(f"… {more} (use --json for all of them)", style="dim")
    for note in ev.notes:
        console.print(f"note: {note}", style="dim")


def evaluation_tables(ev: LossEvaluation, console: Console) -> tuple[list[Table], list[str]]:
    """The tables, and what they leave out ("80 more elements").

    One line per element when each prediction has its own loss (mse, bce, …);
    otherwise (cross_entropy, cosine_embedding: one loss per row of K values) a
    table of rows with the gradient's K columns, folded to the width as ``run`` does.
    """
    if _nested_like(ev.elements, ev.pred_values):
        return _element_table(ev)
    return _row_tables(ev, console)


def _element_table(ev: LossEvaluation) -> tuple[list[Table], list[str]]:
    """pred, target, loss and gradient of each element, the first MAX_ROWS of them."""
    table = new_table()
    for header in ("element", "pred", "target", "loss", "∂L/∂pred"):
        table.add_column(header, justify="right", no_wrap=True)
    columns = [_flat(ev.pred_values), _flat(ev.target_values), _flat(ev.elements), _flat(ev.grad)]
    total = len(columns[0])
    for i in range(min(total, MAX_ROWS)):
        index = _element_index(i, ev.pred_shape)
        table.add_row(index, *(num(column[i], DIGITS) for column in columns))
    hidden = [f"{total - MAX_ROWS:,} more elements"] if total > MAX_ROWS else []
    return [table], hidden


def _row_tables(ev: LossEvaluation, console: Console) -> tuple[list[Table], list[str]]:
    """Per row of K values: ∂L/∂pred in K columns, then the target and the loss."""
    grad = ev.grad if isinstance(ev.grad[0], list) else [ev.grad]
    shown = [row[:MAX_COLUMNS] for row in grad[:MAX_ROWS]]
    classes = len(shown[0])
    columns = [
        (f"∂L/∂pred[{j}]" if classes <= 3 else f"[{j}]", [num(row[j], DIGITS) for row in shown])
        for j in range(classes)
    ]
    tail = [
        ("target", _targets(ev, len(shown))),
        ("loss", [num(v, DIGITS) for v in _flat(ev.elements)[: len(shown)]]),
    ]
    tables = folded_tables(console, len(shown), columns, tail)
    if classes > 3:  # short headers fit more classes side by side
        tables[0].title = "[j]: ∂L/∂pred of class j"
    hidden = []
    if len(grad) > MAX_ROWS:
        hidden.append(f"{len(grad) - MAX_ROWS:,} more rows")
    if len(grad[0]) > MAX_COLUMNS:
        hidden.append(f"{len(grad[0]) - MAX_COLUMNS:,} more columns")
    return tables, hidden


def _targets(ev: LossEvaluation, rows: int) -> list[str]:
    if _soft(ev):  # a row of probabilities per sample: the note says how it is read
        return ["soft"] * rows
    return [_target(t) for t in ev.target_values[:rows]]


def _soft(ev: LossEvaluation) -> bool:
    """Rows of class probabilities (soft labels) as the target, as cross_entropy takes."""
    return ev.target_shape == ev.pred_shape


def _nested_like(elements: list, pred: list) -> bool:
    """The per-element losses have the prediction's shape: one loss per prediction."""
    if len(elements) != len(pred):
        return False
    return all(
        isinstance(e, list) == isinstance(p, list) and (not isinstance(e, list) or len(e) == len(p))
        for e, p in zip(elements, pred, strict=True)
    )


def _flat(values: Any) -> list:
    if not isinstance(values, list):
        return [values]
    return [v for item in values for v in _flat(item)]


def _element_index(i: int, dims: list[int]) -> str:
    """``i`` as a 1-D index, or ``row, column`` in a 2-D prediction."""
    return f"{i // dims[1]}, {i % dims[1]}" if len(dims) == 2 else str(i)


def _target(value: Any) -> str:
    return str(value) if isinstance(value, int) else num(value, DIGITS)


def _param(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "unset"}[value]
    return num(value, DIGITS)
