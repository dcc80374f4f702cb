"""Rich tables for the human-readable output of each command."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from rich import box
from rich.cells import cell_len
from rich.console import Console, JustifyMethod
from rich.table import Table
from rich.text import Text

from nncli.core.memory import format_bytes
from nncli.core.model.results import LayerRow, SummaryResult
from nncli.fmt import num
from nncli.render.fit import break_cells, fit, fits_unwrapped, joined, pack, stacked


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


def format_shape(value: Any) -> str:
    """A row's input or output shape: ``[5, 3, 32, 32]`` for a tensor, ``([5, 10, 20],
    ([1, 5, 20], [1, 5, 20]))`` for a tuple or list of them (nested as the value is),
    ``{logits: [5, 10], aux: [5, 2]}`` for a dict, ``-`` for anything else (None)."""
    if value is None:
        return "-"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {format_shape(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        if all(isinstance(d, int) for d in value):
            return shape(value)
        return "(" + ", ".join(format_shape(v) for v in value) + ")"
    return str(value)


_SCALES = ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "K"))


def scaled_count(value: int | None) -> str:
    """A count in scaled units, three significant digits: ``512``, ``16.4K``, ``1.81G``;
    ``-`` for None (not measured)."""
    if value is None:
        return "-"
    if value < 1000:
        return str(value)
    for factor, suffix in reversed(_SCALES):  # K, M, G, T: the first that keeps it < 1000
        scaled = float(f"{value / factor:.3g}")
        if scaled < 1000:
            return f"{scaled:g}{suffix}"
    return f"{value / 10**12:,.0f}T"


def _exact_and_scaled(value: int | None) -> str:
    """``1,814,073,344 (1.81G)`` for a totals row; ``-`` when not measured."""
    if value is None:
        return "-"
    scaled = scaled_count(value)
    return f"{value:,}" if scaled == str(value) else f"{value:,} ({scaled})"


def render_summary(
    result: SummaryResult, console: Console, budgets: Sequence[BudgetLike] | None = None
) -> None:
    """The summary: header, layers (a config's table, or the tree of a user's model),
    totals, the mult-adds rule and, when given, the budgets that were checked."""
    if result.classic is not None:
        console.out(result.classic, end="")
        console.print()
    if is_tree(result) or not _flat_fits(result, console):
        console.print(_tree_header(result, console.width))
        for note in result.extras.get("notes", []):  # e.g. an input shape that was inferred
            console.print(note, style="dim")
        _print_tree(result, console)
        if result.model_spec is None:  # a config: how each count is made up, and its init
            console.print(_details_table(result))
    else:
        console.print(_header(result))
        for table in _layer_tables(result, console):
            console.print(table)
    console.print(_totals_table(result))
    console.print(f"Mult-adds (torchinfo rule): {result.mult_adds_rule}.", style="dim")
    if result.macs is not None:
        console.print(f"MACs (measured): {result.macs_rule}.", style="dim")

    if budgets:
        console.print()
        console.print(_budgets_table(budgets, console))


def _header(result: SummaryResult) -> Text:
    """``name · config PATH · device cpu · input [5, 3]`` and where the shapes come from."""
    return Text.assemble(
        (result.model_name, "bold"),
        f" · {_source(result)} · device {result.device} · {_inputs_label(result)}\n"
        f"{_where(result)}",
    )


def _tree_header(result: SummaryResult, width: int) -> Text:
    """:func:`_header`, broken between its parts rather than inside a path or a shape."""
    parts = [
        Text(result.model_name, "bold"),
        Text(_source(result)),
        Text(f"device {result.device}"),
        Text(_inputs_label(result)),
    ]
    header = joined(parts, width)
    header.append(f"\n{_where(result)}")
    return header


def _source(result: SummaryResult) -> str:
    return f"model {result.model_spec}" if result.model_spec else f"config {result.source}"


def _where(result: SummaryResult) -> str:
    if result.built_on == "meta" and result.model_spec is None:
        return "shapes computed from the config, no weights allocated"
    if result.built_on == "meta":
        return "shapes from torch's meta device, no weights allocated"
    if result.fallback:
        return f"built on {result.built_on}: {result.fallback}"
    return f"built on {result.built_on}"


def _inputs_label(result: SummaryResult) -> str:
    """``input [5, 3]``; ``inputs x [5, 3, 32, 32], tokens [5, 16] (long)`` for several."""
    if not result.inputs:
        return f"input {format_shape(result.input_shape)}"
    labels = []
    for spec in result.inputs:
        text = format_shape(spec.get("shape"))
        if spec.get("name"):
            text = f"{spec['name']} {text}"
        dtype = _dtype_label(spec.get("dtype"))
        labels.append(f"{text} ({dtype})" if dtype else text)
    return ("input " if len(labels) == 1 else "inputs ") + ", ".join(labels)


def _dtype_label(dtype: Any) -> str:
    """ "" for float32, the default; ``long`` for int64 (as ``--dtype long`` is written)."""
    if dtype is None:
        return ""
    name = str(dtype).removeprefix("torch.")
    if name in ("float32", "float"):
        return ""
    return {"int64": "long"}.get(name, name)


def is_tree(result: SummaryResult) -> bool:
    """The tree layout is for the user's own models (--model) and anything a config's
    flat table cannot say: nesting, functional calls, shared or folded rows."""
    return result.model_spec is not None or any(
        row.depth > 1 or row.kind != "module" or row.shared or row.folded for row in result.layers
    )


def _flat_fits(result: SummaryResult, console: Console) -> bool:
    """A config's flat table fits when, at least without its formulas and inits, no name
    or shape has to wrap; a CNN config's image shapes ([5, 128, 8, 8]) at 80 columns do
    not, and then it takes the tree layout, whose tables split by columns instead."""
    return fits_unwrapped(_layers_table(result, details=False), console)


def _layer_tables(result: SummaryResult, console: Console) -> list[Table]:
    """One table when it fits the console; otherwise the parameter formulas and inits
    move to a second table below, so no cell has to break a formula or a name."""
    wide = _layers_table(result, details=True)
    if fits_unwrapped(wide, console):
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
        cells = [str(row.index), row.name, row.type, format_shape(row.input_shape)]
        cells.append(format_shape(row.output_shape))
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


# ------------------------------------------------------------------ the tree (issue 10)


@dataclass(frozen=True)
class _TreeColumn:
    header: str
    cell: Callable[[LayerRow], str]
    justify: JustifyMethod = "left"
    # Shapes may wrap at ", " as a last resort; names and numbers never do.
    wraps: bool = False


_TREE_COLUMNS = {
    "type": _TreeColumn("Type", lambda r: "function" if r.kind == "function" else r.type),
    "input": _TreeColumn("Input", lambda r: format_shape(r.input_shape), wraps=True),
    "output": _TreeColumn("Output", lambda r: format_shape(r.output_shape), wraps=True),
    "params": _TreeColumn("Params", lambda r: f"{r.params:,}", "right"),
    "trainable": _TreeColumn("Trainable", lambda r: trainable_label(r.trainable)),
    "mult_adds": _TreeColumn("Mult-adds", lambda r: f"{r.mult_adds:,}", "right"),
    "macs": _TreeColumn("MACs", lambda r: scaled_count(r.macs), "right"),
}
_WIDE = ("type", "input", "output", "params", "trainable", "mult_adds", "macs")
# Below the wide table's width: what a layer is, makes and holds; then what it takes
# in and computes. Each keeps the tree, so either one reads on its own.
_SPLIT = (("type", "output", "params"), ("input", "trainable", "mult_adds", "macs"))
_CONTINUED = "Layers, continued"


def tree_labels(rows: Sequence[LayerRow]) -> list[str]:
    """Each row's Layer cell: the tree drawn from ``parent`` (``├─``/``└─`` under the
    parent, ``│ `` while an ancestor has siblings still to come), then its short name
    (a function row shows its type), ``(shared)`` and the ``(+N)`` folded rows."""
    by_index = {row.index: row for row in rows}
    last_child: dict[int | None, int] = {}
    for row in rows:
        last_child[row.parent if row.parent in by_index else None] = row.index

    def is_last(row: LayerRow) -> bool:
        return last_child.get(row.parent if row.parent in by_index else None) == row.index

    labels = []
    for row in rows:
        chain: list[LayerRow] = []  # the row and its ancestors below depth 1, innermost first
        node: LayerRow | None = row
        while node is not None and node.parent in by_index and len(chain) < len(rows):
            chain.append(node)  # (bounded: a malformed parent cycle must not hang)
            node = by_index[node.parent] if node.parent is not None else None
        prefix = ""
        if chain:
            prefix = "".join("  " if is_last(a) else "│ " for a in reversed(chain[1:]))
            prefix += "└─" if is_last(row) else "├─"
        labels.append(prefix + _short_label(row))
    return labels


def _short_label(row: LayerRow) -> str:
    name = row.type if row.kind == "function" else (row.name.rsplit(".", 1)[-1] or "(model)")
    if row.shared:
        name += " (shared)"
    if row.folded:
        name += f" (+{row.folded})"
    return name


def _print_tree(result: SummaryResult, console: Console) -> None:
    for table in _tree_tables(result, console):
        console.print(stacked(table, console))
    legend = _legend(result)
    if legend:
        console.print(joined(legend, console.width), style="dim")


def _tree_tables(result: SummaryResult, console: Console) -> list[Table]:
    """One wide table where its cells fit, shapes wrapped at ", " in one row in eight at
    most (a tree whose rows take two lines each reads worse than two tables); else the
    same rows in two tables, each with the tree; else as many as it takes."""
    labels = tree_labels(result.layers)
    wide_keys = _shown(result, _WIDE)
    wide = _tree_table(result, labels, wide_keys)
    few = max(1, len(result.layers) // 8)
    if fit(wide, console) and _wrapped_rows(wide, result, wide_keys) <= few:
        tables = [wide]
    else:
        split = [_shown(result, keys) for keys in _SPLIT]
        tables = [_tree_table(result, labels, keys, i > 0) for i, keys in enumerate(split)]
        if not all(fit(table, console) for table in tables):
            tables = _packed_tables(result, labels, console)
    for table in tables:
        # A tuple of shapes too wide for its column breaks after a whole tensor's shape
        # (``([5, 10, 20],`` / ``([1, 5, 20], [1, 5, 20]))``), not inside one.
        break_cells(table, after=r"(?<=[])}],) ")
    return tables


def _shown(result: SummaryResult, keys: Sequence[str]) -> tuple[str, ...]:
    """The columns that say something: no MACs column where nothing was measured."""
    return tuple(key for key in keys if key != "macs" or result.macs is not None)


def _wrapped_rows(table: Table, result: SummaryResult, keys: Sequence[str]) -> int:
    """How many rows have a cell wider than the width :func:`fit` gave its column."""
    wrapped = 0
    for row in result.layers:
        for column, key in zip(table.columns[2:], keys, strict=True):
            if column.width is not None and cell_len(_TREE_COLUMNS[key].cell(row)) > column.width:
                wrapped += 1
                break
    return wrapped


def _packed_tables(result: SummaryResult, labels: list[str], console: Console) -> list[Table]:
    """Columns packed greedily into tables that each fit (#, Layer and at least one more);
    on a console too narrow for even that, the Layer column folds rather than overflow."""
    keys = _shown(result, (*_SPLIT[0], *_SPLIT[1]))

    def fits(start: int, end: int) -> bool:
        return fit(_tree_table(result, labels, keys[start:end]), console)

    tables = []
    for i, (start, end) in enumerate(pack(len(keys), fits)):
        table = _tree_table(result, labels, keys[start:end], i > 0)
        if not fit(table, console):
            table.columns[1].no_wrap = False
            table.columns[1].overflow = "fold"
            fit(table, console)
        tables.append(table)
    return tables


def _tree_table(
    result: SummaryResult, labels: list[str], keys: Sequence[str], continued: bool = False
) -> Table:
    table = new_table(_CONTINUED if continued else None)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("Layer", no_wrap=True)
    columns = [_TREE_COLUMNS[key] for key in keys]
    for column in columns:
        table.add_column(column.header, justify=column.justify, no_wrap=not column.wraps)
    for row, label in zip(result.layers, labels, strict=True):
        cells = [column.cell(row) for column in columns]
        style = "dim" if row.kind == "function" else None
        table.add_row(str(row.index), label, *cells, style=style)
    return table


def _legend(result: SummaryResult) -> list[Text]:
    """The marks the rows carry, each explained, and only those that appear."""
    rows = result.layers
    parts = []
    if any(row.kind == "function" for row in rows):
        parts.append("function = a call in forward (F.relu, x + y), not a module")
    if any(row.shared for row in rows):
        parts.append(
            "(shared) = weights already counted at an earlier row; Params are the new ones"
        )
    if any(row.folded for row in rows):
        parts.append(f"(+N) = includes the counts of N rows below --depth {result.depth}")
    return [Text(part) for part in parts]


# ------------------------------------------------------------------ totals and budgets


def _totals_table(result: SummaryResult) -> Table:
    totals = new_table()
    totals.add_column("Totals")
    totals.add_column("", justify="right")
    totals.add_row("Total params", f"{result.total_params:,}")
    totals.add_row("Trainable params", f"{result.trainable_params:,}")
    totals.add_row("Non-trainable params", f"{result.non_trainable_params:,}")
    if result.buffers:
        totals.add_row("Buffers (not parameters)", f"{result.buffers:,}")
    totals.add_row("Mult-adds (torchinfo rule)", f"{result.mult_adds:,}")
    if result.macs is not None:  # measured on --model's pass; a config is summarised by arithmetic
        totals.add_row("MACs (measured)", _exact_and_scaled(result.macs))
    if result.flops is not None:
        totals.add_row("FLOPs (measured, 2 × MACs)", _exact_and_scaled(result.flops))
    totals.add_row("Input memory", format_bytes(result.memory.input))
    totals.add_row("Activation memory (forward)", format_bytes(result.memory.activations))
    totals.add_row("Parameter memory", format_bytes(result.memory.params))
    if result.memory.buffers:
        totals.add_row("Buffer memory", format_bytes(result.memory.buffers))
    totals.add_row("Estimated total", format_bytes(result.memory.total))
    return totals


class BudgetLike(Protocol):
    """What the budgets table reads (:class:`nncli.core.model.budgets.Budget`)."""

    option: str
    given: str
    limit: int
    value: int
    unit: str  # "parameters" or "bytes"
    ok: bool


def _budgets_table(budgets: Sequence[BudgetLike], console: Console) -> Table:
    """Each budget: its limit as given and exactly, the model's value, and the result."""
    from nncli.core.model.budgets import exceeded_by

    table = new_table("Budgets")
    table.add_column("Option", no_wrap=True)
    table.add_column("Limit")
    table.add_column("Model")
    table.add_column("Result")
    for budget in budgets:
        exact = f"{budget.limit:,}"
        value = f"{budget.value:,}"
        if budget.unit == "bytes":
            exact, value = f"{exact} B", f"{format_bytes(budget.value)} = {value} B"
        limit = f"{budget.given.strip()} = {exact}"
        verdict = "ok" if budget.ok else f"exceeded by {exceeded_by(budget.value, budget.limit)}"
        table.add_row(budget.option, limit, value, verdict, style=None if budget.ok else "bold")
    fit(table, console)
    return table


def print_fitted(console: Console, full: Table, parts: Sequence[Table], caption: str) -> None:
    """``full`` when its words fit the width, else ``parts`` one below the other (the same
    rows, fewer columns each), so a catalogue never splits a word; the caption last."""
    if fit(full, console, share="proportional"):
        full.caption = caption
        console.print(full)
        return
    for table in parts:
        fit(table, console, share="proportional")
        console.print(table)
    console.print(caption)


def print_bullets(items: Sequence[str], console: Console) -> None:
    bullets = Table.grid(padding=(0, 1))
    bullets.add_column(no_wrap=True)
    bullets.add_column(overflow="fold")
    for item in items:
        bullets.add_row("  •", item)
    console.print(bullets)


def summary_document(
    result: SummaryResult, budgets: Sequence[BudgetLike] | None = None, weights: str | None = None
) -> dict[str, object]:
    """``summary --json``'s document (the keys are documented in docs/json.md)."""
    checked = list(budgets or [])
    return {
        "model": result.model_name,
        "config": None if result.model_spec is not None else result.source,
        "model_spec": result.model_spec,
        "device": result.device,
        "built_on": result.built_on,
        "fallback": result.fallback,
        "input_shape": result.input_shape,
        "inputs": result.inputs,
        "depth": result.depth,
        "layers": result.layers,
        "total_params": result.total_params,
        "trainable_params": result.trainable_params,
        "non_trainable_params": result.non_trainable_params,
        "buffers": result.buffers,
        "mult_adds": result.mult_adds,
        "mult_adds_rule": result.mult_adds_rule,
        "macs": result.macs,  # measured (null for a config's summary)
        "flops": result.flops,  # 2 × macs
        "macs_rule": result.macs_rule if result.macs is not None else None,
        "memory_bytes": {
            "input": result.memory.input,
            "activations": result.memory.activations,
            "params": result.memory.params,
            "buffers": result.memory.buffers,
            "total": result.memory.total,
        },
        "budgets": {"ok": all(b.ok for b in checked), "checked": checked},
        "notes": list(result.extras.get("notes", [])),
        "classic": result.classic,
        "weights": weights,  # the checkpoint of --weights, or null
    }
