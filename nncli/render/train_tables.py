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
    from nncli.core.train.baseline import Baseline
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
    if runs and runs[0].baseline is not None:
        console.print(baseline_text(ds, runs[0].baseline))
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
        "\ninputs standardised (the training split's mean and std)"
        if getattr(ds, "standardization", None) is not None
        else "",
    )


def baseline_text(ds: Dataset, baseline: Baseline) -> Text:
    """What the verdict compares with: chance and the k-nearest-neighbours baseline."""
    from nncli.core.train.verdict import chance_accuracy

    if baseline.test_r2 is not None:
        score = f"test R² {baseline.test_r2:.3f}"
    else:
        score = f"test accuracy {baseline.test_accuracy:.3f}"
        score += f" (chance {chance_accuracy(ds):.3f})"
    return Text.assemble(("Baseline ", "bold"), f"{baseline.method} (k={baseline.k}): {score}")


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
    text = Text.assemble(("Verdict: ", "bold"), (run.verdict, style), f" ({run.evidence})")
    if run.caveat:
        text.append("\n")
        text.append_text(Text.assemble(("But: ", "bold"), run.caveat))
    if run.next_step:
        text.append("\n")
        text.append_text(Text.assemble(("Next: ", "bold"), run.next_step))
    return text


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
    from nncli.core.train.verdict import VANISHING_RATIO, median_signal_ratio, start_signal_ratio

    caption = (
        "δ1/δN: the backpropagated signal reaching layer 1 over the last layer's, at the "
        f"start and the median over the epochs (below {num(VANISHING_RATIO)}: vanishing)"
    )
    table = new_table(
        "Comparison (test set, final epoch)",
        caption=f"{legend}\n{caption}" if legend else caption,
    )
    table.add_column("run")
    table.add_column("loss", justify="right")
    table.add_column("accuracy" if runs[0].test_r2 is None else "R²", justify="right")
    table.add_column("δ1/δN start", justify="right")
    table.add_column("δ1/δN median", justify="right")
    table.add_column("verdict")
    for run, name in zip(runs, names, strict=True):
        last = run.history[-1] if run.history else None
        table.add_row(
            name,
            num(last.test_loss) if last else "-",
            _metric(run),
            num(start_signal_ratio(run), 3),
            num(median_signal_ratio(run.history), 3),
            run.verdict,
        )
    return table


def _metric(run: TrainRun) -> str:
    """Test accuracy, or R² for regression."""
    last = run.history[-1] if run.history else None
    if last is None:
        return "-"
    if last.test_accuracy is None:
        return "-" if run.test_r2 is None else f"R² {run.test_r2:.3f}"
    return _pct(last.test_accuracy)


def train_document(
    ds: Dataset,
    runs: list[TrainRun],
    files: dict[str, str],
    gates: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    from nncli.core.train.verdict import chance_accuracy

    standardization = getattr(ds, "standardization", None)
    baseline = runs[0].baseline if runs else None
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
            "standardization": None
            if standardization is None
            else {"mean": list(standardization.mean), "std": list(standardization.std)},
            "chance_accuracy": None if ds.task == "regression" else chance_accuracy(ds),
        },
        "baseline": None if baseline is None else baseline.as_dict(),
        "files": dict(files),
        "runs": [run_document(run, ds) for run in runs],
        "gates": list(gates or []),
    }


def run_document(run: TrainRun, ds: Dataset) -> dict[str, Any]:
    from nncli.core.train.verdict import (
        accuracy_bar,
        median_signal_ratio,
        r2_bar,
        start_signal_ratio,
    )

    last = run.history[-1] if run.history else None
    bar = r2_bar(run.baseline) if ds.task == "regression" else accuracy_bar(ds, run.baseline)
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
        "r2": run.test_r2,
        "verdict": run.verdict,
        "evidence": run.evidence,
        "next_step": run.next_step,
        "caveat": run.caveat,
        "learned_bar": {"metric": "r2" if ds.task == "regression" else "accuracy", "value": bar},
        "signal_ratio": {
            "start": start_signal_ratio(run),
            "median": median_signal_ratio(run.history),
        },
        "epochs_to_learn": run.epochs_to_learn,
        "interrupted": run.interrupted,
        "seconds": run.seconds,
        "steps_per_second": run.steps_per_second,
        "threads": run.threads,
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
