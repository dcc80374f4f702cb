"""``nncli train``: train a small network on toy data and watch the tutorial's lessons happen.

Everything is validated before any training starts (exit 2), so a typo in the
fifth value of ``--lr`` never costs the four runs before it. A comma list in
``--activation``, ``--init``, ``--optimizer`` or ``--lr`` trains one run per
combination on the same data with the same seed, so the runs differ only in
what the user varied.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

import typer

from nncli.commands._options import (
    DeviceOpt,
    JsonOpt,
    SeedOpt,
    check_dpi,
    check_int,
    check_seed,
    dpi_option,
    lang_option,
)
from nncli.core.loss.losses import train_default
from nncli.core.train.datasets import DATASETS, DEFAULT_FEATURES, FEATURES, TASKS
from nncli.core.train.optimizers import DEFAULT_OPTIMIZER, OPTIMIZERS
from nncli.errors import RuntimeFailure, UsageError
from nncli.fmt import num

if TYPE_CHECKING:
    from nncli.core.model.spec import ModelSpec
    from nncli.core.train.baseline import Baseline
    from nncli.core.train.datasets import Dataset
    from nncli.core.train.plan import RunPlan
    from nncli.core.train.trainer import TrainRun

MAX_EPOCHS = 1_000_000
DEFAULT_LR = 0.03  # TF Playground's default learning rate
DEFAULT_BATCH = 32
# TF Playground's two layers of 8 for its 2-D toy sets; one layer of 64 for a table, whose
# rows have more features and classes (sklearn's MLPClassifier uses one layer of 100): with
# it iris, wine, breast_cancer and digits come within 3 points of MLPClassifier
# (benchmarks/bench_real_data.py), where 8,8 falls 4-9 points short on digits.
DEFAULT_HIDDEN = "8,8"
DEFAULT_DATA_HIDDEN = "64"

_DATA = "Data"
_MODEL = "Model and optimiser"
_OUTPUT = "Output"
_CI = "CI gates"


def _opt(flag: str, help_text: str, panel: str, metavar: str | None = None, **kw: Any) -> Any:
    return typer.Option(flag, help=help_text, rich_help_panel=panel, metavar=metavar, **kw)


def _one_of(names: Iterable[str]) -> str:
    """``a, b or c``."""
    *rest, last = names
    return f"{', '.join(rest)} or {last}" if rest else last


def _datasets_text() -> str:
    """``xor, circles, ... (classification), plane, sine (regression)``, from the registry."""
    groups = [
        ("classification", [d.name for d in DATASETS.values() if d.task != "regression"]),
        ("regression", [d.name for d in DATASETS.values() if d.task == "regression"]),
    ]
    return ", ".join(f"{', '.join(names)} ({kind})" for kind, names in groups if names)


# Help text read from the registries (core/train/datasets.py and optimizers.py, core/loss),
# so that a new dataset, feature or optimiser appears in --help and the docs by itself.
_DATASET_HELP = _datasets_text() + "."
_FEATURES_HELP = f"Input features, any of {','.join(FEATURES)} (TF Playground's)."
_OPTIMIZER_HELP = f"{_one_of(OPTIMIZERS)}; a comma list trains one run each."
_LOSS_HELP = f"Loss; default from the task: {_one_of(train_default(t, None).name for t in TASKS)}."


def train(
    dataset: Annotated[
        str | None,
        typer.Argument(
            metavar="DATASET",
            help=_DATASET_HELP,
            show_default=False,
        ),
    ] = None,
    data: Annotated[
        str | None,
        _opt("--data", "Train on your own table: a .csv with a header, or a .npy.", _DATA, "FILE"),
    ] = None,
    target: Annotated[
        str | None,
        _opt("--target", "--data: the target column (default: the last).", _DATA, "COLUMN"),
    ] = None,
    task: Annotated[
        str | None,
        _opt(
            "--task",
            "--data: binary, multi-class, classification or regression (default: inferred).",
            _DATA,
            "TASK",
        ),
    ] = None,
    samples: Annotated[int, _opt("--samples", "Generated points.", _DATA, "N")] = 500,
    noise: Annotated[
        float, _opt("--noise", "Noise, a share of the data's radius (0 to 100).", _DATA, "S")
    ] = 0.0,
    test_fraction: Annotated[
        float, _opt("--test-fraction", "Share held out for testing, in (0, 1).", _DATA, "F")
    ] = 0.5,
    standardize: Annotated[
        bool | None,
        _opt(
            "--standardize/--no-standardize",
            "Scale each input feature to mean 0, std 1 with the training split's statistics "
            "(kept in --save's checkpoint).  [default: on for --data, off for the generated "
            "sets, which keep TF Playground's scale]",
            _DATA,
            show_default=False,
        ),
    ] = None,
    features: Annotated[
        str | None,
        _opt(
            "--features",
            f"{_FEATURES_HELP}  [default: {','.join(DEFAULT_FEATURES)}]",
            _DATA,
            "F,F",
            show_default=False,
        ),
    ] = None,
    arms: Annotated[int, _opt("--arms", "spiral: the number of arms (classes).", _DATA, "K")] = 2,
    classes: Annotated[int, _opt("--classes", "blobs: the number of blobs.", _DATA, "K")] = 3,
    config: Annotated[
        str | None,
        _opt(
            "--config",
            "The whole model from a config (a TOML file or a bundled name) instead of "
            "--hidden/--activation/--init; its sizes must fit the data.",
            _MODEL,
            "PATH|NAME",
            show_default=False,
        ),
    ] = None,
    hidden: Annotated[
        str | None,
        _opt(
            "--hidden",
            f"Hidden layer widths.  [default: {DEFAULT_HIDDEN}; {DEFAULT_DATA_HIDDEN} for --data]",
            _MODEL,
            "W,W",
            show_default=False,
        ),
    ] = None,
    activation: Annotated[
        str | None,
        _opt(
            "--activation",
            "Hidden activation; a comma list trains one run each.  [default: tanh]",
            _MODEL,
            "NAME[,NAME]",
            show_default=False,
        ),
    ] = None,
    init: Annotated[
        str | None,
        _opt(
            "--init",
            "Weight init (default: PyTorch's); a comma list trains one run each.",
            _MODEL,
            "NAME[,NAME]",
        ),
    ] = None,
    loss: Annotated[
        str | None,
        _opt(
            "--loss",
            _LOSS_HELP,
            _MODEL,
            "NAME",
        ),
    ] = None,
    optimizer: Annotated[
        str,
        _opt(
            "--optimizer",
            _OPTIMIZER_HELP,
            _MODEL,
            "NAME[,NAME]",
        ),
    ] = DEFAULT_OPTIMIZER,
    lr: Annotated[
        str,
        _opt("--lr", "Learning rate; a comma list trains one run each.", _MODEL, "LR[,LR]"),
    ] = str(DEFAULT_LR),
    weight_decay: Annotated[
        float, _opt("--weight-decay", "L2 penalty (the optimiser's weight_decay).", _MODEL, "W")
    ] = 0.0,
    l1: Annotated[float, _opt("--l1", "L1 penalty on the weights.", _MODEL, "W")] = 0.0,
    epochs: Annotated[int, _opt("--epochs", "Passes over the training set.", _MODEL, "N")] = 100,
    batch: Annotated[
        int | None,
        _opt(
            "--batch",
            f"Mini-batch size, at most the training rows.  [default: {DEFAULT_BATCH}, "
            "or the training rows when fewer]",
            _MODEL,
            "N",
            show_default=False,
        ),
    ] = None,
    seed: SeedOpt = 0,
    device: DeviceOpt = None,
    plot: Annotated[
        str | None,
        _opt("--plot", "Draw the dashboard to FILE (.png, .svg, .pdf).", _OUTPUT, "FILE"),
    ] = None,
    dpi: Annotated[int, dpi_option(_OUTPUT)] = 150,
    lang: Annotated[str | None, lang_option("the figure's labels", _OUTPUT)] = None,
    save: Annotated[
        str | None,
        _opt(
            "--save",
            "Write the trained model (config + weights) to FILE (.pt); use it with "
            "`run --weights` and `summary --weights`. With several runs, the first.",
            _OUTPUT,
            "FILE",
        ),
    ] = None,
    quiet: Annotated[
        bool, _opt("--quiet", "No progress bar.", _OUTPUT, show_default=False)
    ] = False,
    expect_accuracy: Annotated[
        float | None,
        _opt("--expect-accuracy", "Exit 1 unless the final test accuracy is >= A.", _CI, "A"),
    ] = None,
    expect_loss: Annotated[
        float | None,
        _opt("--expect-loss", "Exit 1 unless the final test loss is <= L.", _CI, "L"),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Train a network on toy data (as TF Playground) and show the learning, the
    gradients and a verdict.

    Seeded: the same seed on the CPU gives the same history, number for number.
    Exit codes: 0 trained, 1 an --expect-* gate missed, 2 bad input, 130 Ctrl-C.
    """
    request = _parse(
        dataset=dataset,
        data=data,
        target=target,
        task=task,
        features=features,
        config=config,
        hidden=hidden,
        activation=activation,
        init=init,
        optimizer=optimizer,
        lr=lr,
        seed=seed,
        arms=arms,
        classes=classes,
        samples=samples,
        noise=noise,
        epochs=epochs,
        batch=batch,
        dpi=dpi,
        expect_accuracy=expect_accuracy,
        expect_loss=expect_loss,
    )
    ds = _load_dataset(request, samples, noise, test_fraction, features, standardize)
    if batch is None:  # the default never refuses a small training set
        batch = min(DEFAULT_BATCH, len(ds.y_train))
    shape = request.config.input_shape if request.config is not None else None
    if shape is not None and len(shape) > 1:
        # Two columns are a CNN's 1×2 (or 2×1) sample here, not points of a plane: the
        # figure then shows the curves without a decision boundary.
        ds.raw_train = ds.raw_test = None
    if expect_accuracy is not None and ds.task == "regression":
        raise UsageError("--expect-accuracy needs a classification task; use --expect-loss")
    from nncli.core.train.trainer import check_hyperparameters

    for rate in request.lrs:
        check_hyperparameters(
            lr=rate,
            epochs=epochs,
            batch=batch,
            samples=len(ds.y_train),
            weight_decay=weight_decay,
            l1=l1,
        )
    files = _check_outputs(plot, save, lang, dpi)
    from nncli.core.train.plan import plan_runs

    plans = plan_runs(
        ds,
        config=request.config,
        hidden=request.hidden,
        activations=request.activations,
        inits=request.inits,
        optimizers=request.optimizers,
        lrs=request.lrs,
        loss=loss,
        weight_decay=weight_decay,
        l1=l1,
    )
    from nncli.core.train.trainer import check_batch_norm

    for plan in plans:
        check_batch_norm(ds, plan.spec, batch)
    _check_memory(ds, plans, batch, device)
    from nncli.core.device import select_device

    chosen = select_device(device)
    from nncli.core.train.verdict import scale_warning
    from nncli.render.console import warn

    scale = scale_warning(ds)
    for message in dict.fromkeys(w for plan in plans for w in plan.warnings):
        warn(message)
    if scale is not None:
        warn(scale)
    _warn_if_long(ds, plans, epochs, batch, seed, chosen)
    from nncli.core.train.baseline import baseline as knn_baseline

    base = knn_baseline(ds, seed)
    runs, interrupted = _train_all(ds, plans, epochs, batch, seed, chosen, quiet or json_out, base)
    if not interrupted:
        _write_files(runs, ds, files)
    gates = _gates(runs, expect_accuracy, expect_loss)
    _report(ds, runs, files, json_out, gates)
    if interrupted:
        raise typer.Exit(130)
    _gate(gates)


@dataclass
class _Request:
    dataset: str | None
    data: str | None
    target: str | None
    task: str | None
    config: ModelSpec | None
    hidden: tuple[int, ...] | None
    activations: list[str | None]
    inits: list[str | None]
    optimizers: list[str]
    lrs: list[float]
    seed: int
    arms: int
    classes: int


@dataclass
class _Files:
    plot: str | None = None
    save: str | None = None
    lang: str = "en"
    dpi: int = 150
    written: dict[str, str] = field(default_factory=dict)


def split_list(option: str, text: str) -> list[str]:
    """``"a, b"`` -> ``["a", "b"]``; an empty item (``"a,,b"``, ``""``) is an error."""
    items = [part.strip() for part in text.split(",")]
    if not items or any(not item for item in items):
        raise UsageError(f"{option}: {text!r} has an empty item; give a comma list like 'a,b'")
    return items


def parse_hidden(text: str) -> tuple[int, ...]:
    widths = []
    for item in split_list("--hidden", text):
        try:
            width = int(item)
        except ValueError:
            raise UsageError(
                f"--hidden: {item!r} is not an integer; give widths like '8,8'"
            ) from None
        widths.append(check_int("--hidden", width))
    return tuple(widths)


def parse_lrs(text: str) -> list[float]:
    rates = []
    for item in split_list("--lr", text):
        try:
            rate = float(item)
        except ValueError:
            raise UsageError(f"--lr: {item!r} is not a number") from None
        if not math.isfinite(rate) or rate <= 0:
            raise UsageError(f"--lr must be finite and > 0, got {item}")
        rates.append(rate)
    return rates


def _canonical(option: str, text: str | None, lookup: Any) -> list[str | None]:
    """Names from a registry, canonical and de-duplicated (``relu,ReLU`` is one run)."""
    if text is None:
        return [None]
    names = [lookup(item).name for item in split_list(option, text)]
    return list(dict.fromkeys(names))


def _parse(**kw: Any) -> _Request:
    dataset, data = kw["dataset"], kw["data"]
    if (dataset is None) == (data is None):
        raise UsageError(
            "give one of DATASET or --data FILE",
            hint=f"e.g. `nncli train moons`; datasets: {', '.join(DATASETS)}",
        )
    if data is None and (kw["target"] is not None or kw["task"] is not None):
        raise UsageError("--target and --task apply to --data only")
    if data is not None and kw["features"] is not None:
        raise UsageError(
            "--features applies to the generated datasets only; "
            "with --data the inputs are the table's columns",
            hint="drop --features; pick the input columns in the file itself",
        )
    from nncli.core.train import datasets

    if kw["task"] is not None:
        datasets.check_task(kw["task"])
    if kw["batch"] is not None:
        check_int("--batch", kw["batch"], 1)
    check_seed(kw["seed"])
    check_int("--samples", kw["samples"], datasets.MIN_SAMPLES, datasets.MAX_SAMPLES)
    datasets.check_noise(kw["noise"])
    check_int("--arms", kw["arms"], 2, datasets.MAX_CLASSES)
    check_int("--classes", kw["classes"], 2, datasets.MAX_CLASSES)
    check_int("--epochs", kw["epochs"], 1, MAX_EPOCHS)
    check_dpi(kw["dpi"])
    _check_gates(kw["expect_accuracy"], kw["expect_loss"])
    config = None
    if kw["config"] is not None:
        if kw["hidden"] is not None or kw["activation"] is not None or kw["init"] is not None:
            raise UsageError(
                "--config cannot be combined with --hidden, --activation or --init",
                hint="the config already sets the layers, activations and inits",
            )
        from nncli.core.model.config import load_config

        config = load_config(kw["config"])
    from nncli.core.activation.activations import get_activation
    from nncli.core.init.inits import get_scheme
    from nncli.core.train.optimizers import check_optimizer
    from nncli.core.train.plan import check_run_count

    optimizers = list(
        dict.fromkeys(check_optimizer(n) for n in split_list("--optimizer", kw["optimizer"]))
    )
    request = _Request(
        dataset=dataset,
        data=data,
        target=kw["target"],
        task=kw["task"],
        config=config,
        hidden=None if config is not None else parse_hidden(_or(kw["hidden"], _hidden(data))),
        activations=_canonical("--activation", kw["activation"], get_activation),
        inits=_canonical("--init", kw["init"], get_scheme),
        optimizers=optimizers,
        lrs=list(dict.fromkeys(parse_lrs(kw["lr"]))),
        seed=kw["seed"],
        arms=kw["arms"],
        classes=kw["classes"],
    )
    check_run_count(request.activations, request.inits, optimizers, request.lrs)
    return request


def _hidden(data: str | None) -> str:
    return DEFAULT_HIDDEN if data is None else DEFAULT_DATA_HIDDEN


def _or(value: str | None, default: str) -> str:
    """The option's value, or its default when it was not given (an empty value was)."""
    return default if value is None else value


def _check_gates(accuracy: float | None, loss: float | None) -> None:
    if accuracy is not None and not (math.isfinite(accuracy) and 0 <= accuracy <= 1):
        raise UsageError(f"--expect-accuracy must be between 0 and 1, got {accuracy}")
    if loss is not None and not (math.isfinite(loss) and loss >= 0):
        raise UsageError(f"--expect-loss must be finite and >= 0, got {loss}")


def _load_dataset(
    request: _Request,
    samples: int,
    noise: float,
    test_fraction: float,
    features: str | None,
    standardize: bool | None,
) -> Dataset:
    from nncli.core.train import datasets

    datasets.check_fraction(test_fraction)
    if request.data is not None:
        return datasets.load_table(
            request.data,
            target=request.target,
            task=request.task,
            test_fraction=test_fraction,
            seed=request.seed,
            standardize=True if standardize is None else standardize,
        )
    assert request.dataset is not None
    return datasets.generate(
        request.dataset,
        samples=samples,
        noise=noise,
        test_fraction=test_fraction,
        seed=request.seed,
        features=datasets.parse_features(_or(features, ",".join(DEFAULT_FEATURES))),
        arms=request.arms,
        classes=request.classes,
        standardize=bool(standardize),
    )


def _check_outputs(plot: str | None, save: str | None, lang: str | None, dpi: int) -> _Files:
    """Output paths are proved writable before training, never after minutes of it."""
    from nncli.core.train.checkpoint import EXTENSIONS as CHECKPOINT_FORMATS
    from nncli.files import check_output_path
    from nncli.render.figures import FIGURE_FORMATS, resolve_language

    files = _Files(lang=resolve_language(lang), dpi=dpi)
    if plot is not None:
        files.plot = str(check_output_path(plot, FIGURE_FORMATS))
    if save is not None:
        files.save = str(check_output_path(save, CHECKPOINT_FORMATS))
    if files.plot is not None and files.plot == files.save:
        raise UsageError("--plot and --save name the same file")
    return files


def _check_memory(ds: Dataset, plans: list[RunPlan], batch: int, device: str | None) -> None:
    from nncli.core.device import select_device
    from nncli.core.memory import ensure_fits
    from nncli.core.train.trainer import estimate_bytes

    where = select_device(device)
    need = max(estimate_bytes(ds, plan.spec, batch, where) for plan in plans)
    ensure_fits(need, where, f"training {ds.name} (data x model, batch {batch})")


def _warn_if_long(
    ds: Dataset, plans: list[RunPlan], epochs: int, batch: int, seed: int, device: str
) -> None:
    """A run of more than a minute is announced before it starts, with how to shorten it."""
    from nncli.core.train.trainer import estimate_run, long_run_warning

    first = plans[0]
    estimate = estimate_run(
        ds,
        first.config,
        first.spec,
        epochs=epochs,
        batch=batch,
        seed=seed,
        device=device,
        runs=len(plans),
    )
    message = long_run_warning(estimate)
    if message is not None:
        from nncli.render.console import warn

        warn(message)


def _train_all(
    ds: Dataset,
    plans: list[RunPlan],
    epochs: int,
    batch: int,
    seed: int,
    device: str,
    silent: bool,
    baseline: Baseline,
) -> tuple[list[TrainRun], bool]:
    from nncli.core.train.plan import run_names
    from nncli.core.train.trainer import train as train_one
    from nncli.render.progress import progress

    runs: list[TrainRun] = []
    names = run_names([p.config for p in plans], ds.name)
    for index, (plan, name) in enumerate(zip(plans, names, strict=True), 1):
        label = f"train {name}" + (f" ({index}/{len(plans)})" if len(plans) > 1 else "")
        bar_cm = contextlib.nullcontext() if silent else progress(label)
        with bar_cm as step:
            callback = _progress_callback(step) if step is not None else None
            result = train_one(
                ds,
                plan.config,
                plan.spec,
                epochs=epochs,
                batch=batch,
                seed=seed,
                device=device,
                progress=callback,
                baseline=baseline,
            )
        runs.append(result)
        if result.interrupted:
            return runs, True
    return runs, False


def _progress_callback(step: Any) -> Any:
    from nncli.fmt import num

    def callback(done: int, total: int, metrics: dict[str, float]) -> None:
        # epoch, loss and accuracy beside the bar (rich adds the ETA and throttles redraws);
        # short, so that the bar keeps its width on an 80-column terminal
        note = f"epoch {done}/{total} · loss {num(metrics['train_loss'], 3)}"
        accuracy = metrics.get("test_accuracy")
        if accuracy is not None:
            note += f" · test acc {accuracy:.0%}"
        step(done, total, note)

    return callback


def _write_files(runs: list[TrainRun], ds: Dataset, files: _Files) -> None:
    if files.save is not None:
        from nncli.core.train.checkpoint import save_checkpoint

        if len(runs) > 1:
            from nncli.render.console import warn

            warn("--save: several runs were trained; the first one is saved")
        files.written["save"] = str(save_checkpoint(files.save, runs[0], ds))
    if files.plot is not None:
        from nncli.render.console import warn
        from nncli.render.figures import render_and_save
        from nncli.render.train_figure import build_dashboard

        outcome = render_and_save(
            build_dashboard(ds, runs), files.plot, lang=files.lang, dpi=files.dpi, show=False
        )
        for message in outcome.warnings:
            warn(message)
        files.written["plot"] = str(outcome.path)


def _report(
    ds: Dataset,
    runs: list[TrainRun],
    files: _Files,
    json_out: bool,
    gates: list[dict[str, Any]],
) -> None:
    if json_out:
        from nncli.render.jsonout import emit
        from nncli.render.train_tables import train_document

        emit("train", train_document(ds, runs, files.written, gates))
        return
    from nncli.render.console import stdout_console
    from nncli.render.train_tables import render_train

    render_train(ds, runs, files.written, stdout_console())


def _gates(
    runs: list[TrainRun], accuracy: float | None, loss: float | None
) -> list[dict[str, Any]]:
    """Each --expect-* gate on each run's final test metric: option, threshold, value, ok."""
    from nncli.core.train.plan import run_names

    gates: list[dict[str, Any]] = []
    names = run_names([r.config for r in runs], "the run")
    for run, name in zip(runs, names, strict=True):
        last = run.history[-1] if run.history else None
        if accuracy is not None:
            got = last.test_accuracy if last is not None else None
            ok = got is not None and got >= accuracy
            gates.append(
                {"run": name, "option": "--expect-accuracy", "threshold": accuracy,
                 "value": got, "ok": ok}
            )  # fmt: skip
        if loss is not None:
            got_loss = last.test_loss if last is not None else math.nan
            gates.append(
                {"run": name, "option": "--expect-loss", "threshold": loss,
                 "value": got_loss, "ok": bool(got_loss <= loss)}  # NaN misses too
            )  # fmt: skip
    return gates


def _gate(gates: list[dict[str, Any]]) -> None:
    """CI gates on every run's final test metric; all misses are named in one message."""
    misses = []
    for gate in gates:
        if gate["ok"]:
            continue
        if gate["option"] == "--expect-accuracy":
            misses.append(
                f"{gate['run']}: test accuracy {num(gate['value'])} < {gate['threshold']:g}"
            )
        else:
            misses.append(f"{gate['run']}: test loss {num(gate['value'])} > {gate['threshold']:g}")
    if misses:
        raise RuntimeFailure("expectation missed: " + "; ".join(misses))
