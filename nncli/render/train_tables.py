"""``nncli train``'s tables and its ``--json`` document."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from nncli.fmt import num
from nncli.render.fit import natural_width
from nncli.render.tables import new_table

if TYPE_CHECKING:
    from nncli.core.train.datasets import Dataset
    from nncli.core.train.trainer import EpochRecord, LayerStats, TrainRun

SHOWN_EPOCHS = 6  # first, last, and evenly spaced ones between: enough to see the trend


def selected_epochs(count: int, shown: int = SHOWN_EPOCHS) -> list[int]:
    """Indices of the epochs a table shows: the first, the last, evenly spaced between."""
    if count <= shown:
        return list(range(count))
    step = (count - 1) / (shown - 1)
    return sorted({round(i * step) for i in range(shown)})


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def render_train(
    ds: Dataset, runs: list[TrainRun], files: dict[str, str], console: Console
) -> None:
    from nncli.core.train.plan import run_label, varied_keys

    console.print(_dataset_line(ds))
    varied = varied_keys([r.config for r in runs])
    for run in runs:
        title = f"Run {run_label(run.config, varied)}" if len(runs) > 1 else "Training"
        console.print()
        console.print(epochs_table(run, title))
        console.print(layers_table(run))
        console.print(verdict_text(run))
    if len(runs) > 1:
        console.print()
        console.print(comparison_table(runs, varied, console))
    for kind, path in files.items():
        console.print(f"{'Figure' if kind == 'plot' else 'Checkpoint'}: {path}", soft_wrap=True)


def _dataset_line(ds: Dataset) -> Text:
    """Short lines, so none wraps at 80 columns; a data file's path gets its own."""
    classes = f", {ds.classes} classes" if ds.classes else ""
    return Text.assemble(
        ("Dataset ", "bold"),
        f"{ds.name} ({ds.task}{classes}), seed {ds.seed}\n",
        f"{len(ds.y_train)} train, {len(ds.y_test)} test; {features_text(ds.features)}; "
        + (f"noise {num(ds.noise)}" if ds.source == "generated" else f"\nfrom {ds.source}"),
    )


SHOWN_FEATURES = 8


def features_text(features: list[str]) -> str:
    """``features x,y,x2``; a table's 784 columns as ``784 features c0, c1, ..., c783``."""
    if len(features) <= SHOWN_FEATURES:
        return f"features {','.join(features)}"
    return f"{len(features)} features {', '.join(features[:2])}, ..., {features[-1]}"


def epochs_table(run: TrainRun, title: str) -> Table:
    classify = any(r.test_accuracy is not None for r in run.history)
    caption = None
    if run.interrupted:
        caption = f"interrupted after epoch {run.history[-1].epoch if run.history else 0}"
    table = new_table(title, caption)
    table.add_column("epoch", justify="right")
    table.add_column("train loss", justify="right")
    table.add_column("test loss", justify="right")
    if classify:
        table.add_column("train acc", justify="right")
        table.add_column("test acc", justify="right")
    for index in selected_epochs(len(run.history)):
        record: EpochRecord = run.history[index]
        cells = [str(record.epoch), num(record.train_loss), num(record.test_loss)]
        if classify:
            cells += [_pct(record.train_accuracy), _pct(record.test_accuracy)]
        table.add_row(*cells)
    return table


def layers_table(run: TrainRun) -> Table:
    """Start and end side by side per layer: the lesson is in how they differ."""
    from nncli.core.train.trainer import SATURATION_THRESHOLD

    table = new_table(
        "Layers (start -> end)",
        caption="grad: weight-gradient norm; dead: units never active; "
        f"sat: outputs with |f'| < {num(SATURATION_THRESHOLD)}",
    )
    for name in ("layer", "act", "when", "grad", "mean", "std", "dead", "sat"):
        table.add_column(name, justify="left" if name in ("layer", "act", "when") else "right")
    for start, end in zip(run.start, run.final, strict=False):
        for when, stats in (("start", start), ("end", end)):
            table.add_row(*_layer_cells(stats, when, first=when == "start"))
    return table


def _layer_cells(stats: LayerStats, when: str, *, first: bool) -> list[str]:
    return [
        stats.layer if first else "",
        (stats.activation or "-") if first else "",
        when,
        num(stats.grad_norm, 3),
        num(stats.mean, 3),
        num(stats.std, 3),
        _pct(stats.dead_fraction),
        _pct(stats.saturated_fraction),
    ]


def verdict_text(run: TrainRun) -> Text:
    style = "green" if run.verdict == "learned" else "yellow"
    return Text.assemble(("Verdict: ", "bold"), (run.verdict, style), f" ({run.evidence})")


def comparison_table(runs: list[TrainRun], varied: list[str], console: Console) -> Table:
    """One row per run. Where the run names would not fit, they become numbers with a
    legend, so no name is ever folded mid-word."""
    from nncli.core.train.plan import run_label

    names = [run_label(run.config, varied) for run in runs]
    table = _comparison(runs, names, legend=None)
    if natural_width(console, table) <= console.width:
        return table
    numbers = [str(i) for i in range(1, len(runs) + 1)]
    legend = "\n".join(f"{n} = {name}" for n, name in zip(numbers, names, strict=True))
    return _comparison(runs, numbers, legend=legend)


def _comparison(runs: list[TrainRun], names: list[str], legend: str | None) -> Table:
    caption = (
        "g1/gN: layer 1's weight-gradient norm over the last layer's, at the start "
        "and at the end (1e-3: layer 1 barely learns)"
    )
    table = new_table(
        "Comparison (test set, final epoch)",
        caption=f"{legend}\n{caption}" if legend else caption,
    )
    table.add_column("run")
    table.add_column("loss", justify="right")
    table.add_column("accuracy", justify="right")
    table.add_column("g1/gN start", justify="right")
    table.add_column("g1/gN end", justify="right")
    table.add_column("verdict")
    for run, name in zip(runs, names, strict=True):
        last = run.history[-1] if run.history else None
        table.add_row(
            name,
            num(last.test_loss) if last else "-",
            _pct(last.test_accuracy) if last else "-",
            num(grad_ratio([s.grad_norm for s in run.start]), 3),
            num(grad_ratio([s.grad_norm for s in run.final]), 3),
            run.verdict,
        )
    return table


def grad_ratio(norms: list[float]) -> float | None:
    """Layer 1's gradient norm over the last layer's: 1e-4 means it barely moves."""
    if len(norms) < 2 or not norms[-1]:
        return None
    return norms[0] / norms[-1]


def train_document(ds: Dataset, runs: list[TrainRun], files: dict[str, str]) -> dict[str, Any]:
    return {
        "dataset": {
            "name": ds.name,
            "samples": ds.samples,
            "train": len(ds.y_train),
            "test": len(ds.y_test),
            "features": list(ds.features),
            "task": ds.task,
            "classes": ds.classes,
            "noise": ds.noise,
            "seed": ds.seed,
            "source": ds.source,
        },
        "files": dict(files),
        "runs": [run_document(run) for run in runs],
    }


def run_document(run: TrainRun) -> dict[str, Any]:
    last = run.history[-1] if run.history else None
    return {
        "activation": run.config.activation,
        "init": run.config.init,
        "optimizer": run.config.optimizer,
        "lr": run.config.lr,
        "loss": run.config.loss,
        "weight_decay": run.config.weight_decay,
        "l1": run.config.l1,
        "model": model_table(run),
        "history": [dataclasses.asdict(r) for r in run.history],
        "final": {
            "epoch": last.epoch if last else 0,
            "train_loss": last.train_loss if last else None,
            "test_loss": last.test_loss if last else None,
            "train_accuracy": last.train_accuracy if last else None,
            "test_accuracy": last.test_accuracy if last else None,
            "layers": [dataclasses.asdict(s) for s in run.final],
        },
        "start": {"layers": [dataclasses.asdict(s) for s in run.start]},
        "verdict": run.verdict,
        "evidence": run.evidence,
        "epochs_to_learn": run.epochs_to_learn,
        "interrupted": run.interrupted,
        "seconds": run.seconds,
        "steps_per_second": run.steps_per_second,
    }


def model_table(run: TrainRun) -> dict[str, Any]:
    """The model as its config would write it: ``input_features`` and ``layers``."""
    spec = run.spec
    table: dict[str, Any] = {"name": spec.name, "input_features": spec.input_features}
    if spec.input_shape is not None:  # a CNN config: the shape its rows are reshaped to
        table["input_shape"] = list(spec.input_shape)
    table["layers"] = [_layer_table(layer) for layer in spec.layers]
    return table


def _layer_table(layer: Any) -> dict[str, Any]:
    """A linear layer as before; other types add their type and torch arguments
    (out_features is then the last dimension of the layer's output, inferred)."""
    row: dict[str, Any] = {}
    if layer.type != "linear":
        row.update(type=layer.type, args=dict(layer.args))
    row.update(
        out_features=layer.out_features,
        activation=layer.activation,
        init=layer.init,
        init_args=dict(layer.init_args),
        bias=layer.bias,
    )
    return row
