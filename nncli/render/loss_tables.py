"""Terminal output of ``nncli losses``, ``nncli loss NAME --info`` and the figure mode.

Readable at 80 columns: the catalogue splits into two tables with the same rows
when one does not fit (as the activation catalogue does), and every cell folds at
word boundaries, never inside a token.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from nncli.core.loss.losscurves import x_symbol
from nncli.core.loss.losses import PAIRINGS, Loss
from nncli.fmt import num
from nncli.render.activation_tables import describe_intervals, x_formatter
from nncli.render.fit import fit
from nncli.render.tables import new_table, print_bullets, print_fitted

if TYPE_CHECKING:
    from nncli.core.loss.losscurves import LossCurve, LossCurves

CATALOGUE_CAPTION = (
    "Prediction: what the loss must be given. Pairs with: the output activation before "
    "it. nncli loss NAME draws one; --info explains it; --json gives the full text."
)
SUMMARY_COLUMNS = ("Name", "Task", "Loss", "Pairs with")
INPUT_COLUMNS = ("Name", "Prediction", "Target")
_NO_WRAP = ("Name", "Task")


def catalogue_document(losses: Sequence[Loss]) -> dict[str, Any]:
    """The ``--json`` document of ``nncli losses`` and ``loss --list``: every registry
    entry and the tutorial's pairing table."""
    return {
        "losses": [entry.properties() for entry in losses],
        "pairings": [
            {"activation": act, "loss": name, "task": task} for act, name, task in PAIRINGS
        ],
    }


def info_document(losses: Sequence[Loss]) -> dict[str, Any]:
    """The ``--json`` document of ``loss NAME... --info``: the named registry entries."""
    return {"losses": [entry.properties() for entry in losses]}


def show_catalogue(command: str, json_out: bool) -> None:
    """Every loss, as ``--json`` or the tables: ``nncli losses`` and ``nncli loss --list``
    print the same (the command only names the document)."""
    from nncli.core.loss.losses import LOSSES
    from nncli.render.console import stdout_console

    entries = list(LOSSES.values())
    if json_out:
        from nncli.render.jsonout import emit

        emit(command, catalogue_document(entries))
        return
    render_loss_catalogue(entries, stdout_console())


def render_loss_catalogue(losses: Sequence[Loss], console: Console) -> None:
    """One table when it fits the width, else two (summary, then inputs) with the same rows."""
    title = f"{len(losses)} losses · nncli loss NAME draws one · --info explains it"
    print_fitted(
        console,
        _catalogue_table(losses, SUMMARY_COLUMNS + INPUT_COLUMNS[1:], title),
        [
            _catalogue_table(losses, SUMMARY_COLUMNS, title),
            _catalogue_table(losses, INPUT_COLUMNS, "What the prediction and the target must be"),
        ],
        CATALOGUE_CAPTION,
    )


def _catalogue_table(losses: Sequence[Loss], columns: Sequence[str], title: str | None) -> Table:
    table = new_table(collapse_padding=True, title=title)
    for column in columns:
        if column in _NO_WRAP:
            table.add_column(column, no_wrap=True)
        else:
            table.add_column(column, overflow="fold")
    for loss in losses:
        cells = {
            "Name": loss.name + "".join(f"\n({a})" for a in loss.aliases),
            "Task": loss.task,
            "Loss": loss.short,
            "Pairs with": loss.pairs_with,
            "Prediction": loss.prediction,
            "Target": loss.target,
        }
        table.add_row(*(cells[c] for c in columns))
    return table


def render_loss_info(loss: Loss, console: Console) -> None:
    """``nncli loss NAME --info``: formulas, inputs, pairing, pitfalls, the pairing table."""
    title = Text.assemble((loss.label, "bold"), f" ({loss.name}) · {loss.label_zh}")
    if loss.aliases:
        title.append(f" · also called {', '.join(loss.aliases)}")
    console.print(title)
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    rows = [
        ("loss", loss.formula),
        ("gradient", loss.gradient + "  (plotted from autograd)"),
        ("task", loss.task),
        ("prediction", loss.prediction),
        ("target", loss.target),
        ("pairs with", loss.pairs_with),
        ("outliers", loss.robust),
        ("torch module", f"torch.nn.{loss.module}"),
    ]
    rows += [(p.flag, _param_text(p.help, p.default, p.rule())) for p in loss.params]
    for key, value in rows:
        grid.add_row(key, value)
    console.print(grid)
    console.print()
    console.print(loss.notes)
    if loss.pitfalls:
        console.print()
        console.print("Pitfalls", style="bold")
        print_bullets(loss.pitfalls, console)
    console.print()
    render_pairings(console, highlight=loss.name)


def _param_text(help_text: str, default: Any, rule: str) -> str:
    shown = "unset" if default is None else str(default).lower()
    return f"{help_text} (default {shown}; {rule})"


def render_pairings(console: Console, highlight: str | None = None) -> None:
    """The tutorial's table: output activation → loss → task; ``highlight``'s row marked."""
    table = new_table(title="Output activation and loss (the tutorial's pairing)")
    table.add_column("", no_wrap=True)
    table.add_column("Output activation", overflow="fold")
    table.add_column("Loss", no_wrap=True)
    table.add_column("Task", overflow="fold")
    for activation, loss, task in PAIRINGS:
        mark = "▶" if loss == highlight else ""
        style = "bold" if loss == highlight else None
        table.add_row(mark, activation, loss, task, style=style)
    fit(table, console, share="proportional")
    console.print(table)


AXIS_WORDS = {
    "residual": "x = ŷ − y (prediction − target)",
    "probability": "x = p (predicted probability)",
    "logit": "x = z (logit)",
}


def axis_words(result: LossCurves) -> str:
    if result.x_kind == "logit" and result.through is not None:
        return f"x = z (pre-activation logit, prediction {result.through}(z))"
    return AXIS_WORDS.get(result.x_kind, f"x = {result.x_desc}")


def render_loss_curves(result: LossCurves, output: str, language: str, console: Console) -> None:
    """What ``nncli loss NAME...`` prints after writing the figure: the path, the sampling,
    per loss its gradient range and where |∂L/∂x| < T, split into stuck and converged
    (and the line that defines them), then the stability findings."""
    lo, hi = result.lo, result.hi
    show = x_formatter(lo, hi)
    console.print(f"Wrote {output}", soft_wrap=True)
    console.print(
        f"{result.points:,} points on [{show(lo)}, {show(hi)}] · {axis_words(result)} · "
        f"target {num(result.target)} · {result.dtype} · device {result.device} · "
        f"∂L/∂{x_symbol(result.x_kind)} by autograd · language {language}"
    )
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True)
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for curve in result.curves:
        for i, (key, value) in enumerate(_curve_rows(curve, result, show)):
            grid.add_row(_name_cell(curve) if i == 0 else "", key, value)
    console.print(grid)
    if result.threshold > 0:
        console.print()
        console.print(small_gradient_rule(result))
    if result.findings:
        console.print()
        console.print("Numerical stability", style="bold")
        print_bullets(result.findings, console)


def small_gradient_rule(result: LossCurves) -> str:
    """The one line that says what "stuck" and "converged" mean in the rows above."""
    from nncli.core.loss.losscurves import NEAR_MINIMUM_SHARE

    v = x_symbol(result.x_kind)
    share = f"{NEAR_MINIMUM_SHARE:.0%}"
    return (
        f"stuck: |∂L/∂{v}| < {num(result.threshold)} with the loss more than {share} of its "
        f"range above its minimum (wrong, yet learning stalls); converged: |∂L/∂{v}| < "
        f"{num(result.threshold)} within {share} of its minimum (right, nothing left to learn)"
    )


def _name_cell(curve: LossCurve) -> Text:
    params = [f"{k}={_value(v)}" for k, v in curve.params.items()]
    name = Text("\n".join([curve.loss, *params]))
    name.stylize("bold")
    return name


def _value(v: Any) -> str:
    if v is None:
        return "unset"
    if isinstance(v, bool):
        return str(v).lower()
    return num(v)


def _curve_rows(
    curve: LossCurve, result: LossCurves, show: Callable[[float], str]
) -> list[tuple[str, str]]:
    v = x_symbol(result.x_kind)
    rows = [
        ("loss", _range_text(curve.value, curve.x, show)),
        (f"∂L/∂{v}", _range_text(curve.grad, curve.x, show)),
    ]
    if result.threshold == 0:
        rows.append(("stuck, converged", "off (--saturation 0)"))
    else:
        # |∂L/∂x| < T split in two: far above the minimum (stuck) or near it (converged).
        rows.append(("stuck", describe_intervals(curve.stuck, result.lo, result.hi, show)))
        rows.append(("converged", describe_intervals(curve.converged, result.lo, result.hi, show)))
    rows += [("note", note) for note in curve.notes]
    return rows


def _range_text(values: Any, x: Any, show: Callable[[float], str]) -> str:
    """``-1 (x = -8.00) to 0 (x = 8.00)``: the finite extremes and where they are reached."""
    import numpy as np

    finite = np.isfinite(values)
    if not finite.any():
        return "not finite at any point (see the note)"
    low = int(np.argmin(np.where(finite, values, np.inf)))
    high = int(np.argmax(np.where(finite, values, -np.inf)))
    return (
        f"{num(float(values[low]))} (x = {show(float(x[low]))}) to "
        f"{num(float(values[high]))} (x = {show(float(x[high]))})"
    )
