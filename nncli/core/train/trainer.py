"""Training a feed-forward model on a :class:`Dataset`, and judging the run.

The loop is plain tensors on the device: one seeded ``torch.randperm`` per epoch,
slices of it as batches, no ``DataLoader`` and no per-sample Python. Nothing is
read back to the host inside an epoch (losses and gradient norms accumulate on the
device), so the loop runs at the speed of a hand-written one.

Definitions (the README repeats them):

* ``train_loss`` of an epoch: the mean of the loss over the epoch's training samples,
  as the model was at each step (the running mean a hand-written loop prints), without
  the L1 penalty; ``test_loss``: the loss of the whole test set after the epoch.
* ``grad_norms``: per layer with weights (linear, conv), the L2 norm of its weight's
  gradient, averaged over the steps sampled in the epoch (every ``stats_every``-th step, by default
  :data:`STATS_EVERY`, the epoch's first step included).
* layer statistics (start and end), per layer with weights: one forward and backward
  pass in eval mode over up to :data:`STATS_ROWS` training rows. Dead: the share of
  units that output exactly 0 for every one of those rows (activations with a dead
  side, ReLU's); saturated: the share of outputs where ``|f'(pre-activation)| < 0.01``
  (saturating activations), and the signal norm as below, from the same pass.
* ``signal_norms``: per layer with weights, the L2 norm of ∂L/∂(the layer's output), the
  backpropagated signal δ, averaged over the same sampled steps (a forward hook on the
  layer arms a tensor hook on its output only on those steps).
* ``train_accuracy``: a running accuracy, like ``train_loss``: each batch is scored by the
  model as it was at that step, so it lags the test accuracy, which is measured after the
  epoch.

Batch order: one ``torch.randperm`` per epoch from a ``torch.Generator`` seeded with
``--seed`` (drawn on the CPU, so every device sees the same batches); dropout's masks come
from torch's global generator, seeded likewise.

The verdict on the run is :func:`nncli.core.train.verdict.judge` (its docstring gives the
rules and their thresholds).
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from nncli import fmt
from nncli.core.activation.activations import get_activation
from nncli.core.init.inits import get_scheme
from nncli.core.loss.losses import get_loss, train_default, train_losses
from nncli.core.memory import FLOAT32, ensure_fits
from nncli.core.model.spec import (
    LayerSpec,
    ModelSpec,
    check_batch_statistics,
    check_tensor_sizes,
    module_names,
)
from nncli.core.train.datasets import TASKS
from nncli.core.train.optimizers import make_optimizer
from nncli.core.train.records import (
    VERDICTS,
    EpochRecord,
    LayerStats,
    RunConfig,
    TrainRun,
    signal_ratio,
)
from nncli.core.train.threads import choose_threads, use_threads
from nncli.core.train.verdict import (
    DEAD_SHARE,
    DIVERGED_GROWTH,
    LEARNED_R2,
    VANISHING_RATIO,
    accuracy_bar,
    chance_accuracy,
    dead_share,
    judge,
)
from nncli.errors import UsageError, unknown_name
from nncli.limits import check_int

if TYPE_CHECKING:
    import torch
    from torch import nn

    from nncli.core.train.baseline import Baseline
    from nncli.core.train.datasets import Dataset

    Weighted = nn.Linear | nn.Conv1d | nn.Conv2d

DEFAULT_ACTIVATION = "tanh"

SATURATION_THRESHOLD = 0.01  # |f'| below this: as init-stats counts a saturated unit
# Gradient norms are sampled every STATS_EVERY-th step (the first step of each epoch
# included), not every step: on tiny models the norms cost about 5 % of a step.
STATS_EVERY = 10
STATS_ROWS = 2048  # rows of the training set used for the start/end layer statistics
EVAL_ROWS = 65536  # the test set is evaluated in chunks of this many rows

# The losses that can train each task (the registry's train_tasks), the default first.
TASK_LOSSES: dict[str, tuple[str, ...]] = {task: train_losses(task) for task in TASKS}

Progress = Callable[[int, int, dict[str, float]], None]

# The run-length estimate (estimate_run): a run expected to take longer than this is
# announced before it starts. A few steps are timed on a throwaway copy of the model.
LONG_RUN_SECONDS = 60.0
TIMED_STEPS = 5  # steps (and evaluations) timed after an untimed warm-up, the fastest kept,
TIMING_BUDGET = 0.5  # while they took less than this many seconds in all
CLOCK: Callable[[], float] = time.perf_counter  # the estimate's clock (tests inject one)


# --------------------------------------------------------------------------- checks


def _finite_number(name: str, value: float, *, positive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UsageError(f"{name} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise UsageError(f"{name} must be finite, got {value!r}")
    if positive and number <= 0:
        raise UsageError(f"{name} must be greater than 0, got {fmt.num(number)}")
    if not positive and number < 0:
        raise UsageError(f"{name} must be at least 0, got {fmt.num(number)}")
    return number


def check_hyperparameters(
    *, lr: float, epochs: int, batch: int, samples: int, weight_decay: float, l1: float
) -> None:
    """Every hyperparameter's rule; ``samples`` is the number of training rows."""
    _finite_number("--lr", lr, positive=True)
    check_int("--epochs", epochs)
    check_int("--batch", batch)
    if batch > samples:
        raise UsageError(
            f"--batch must be at most the number of training samples ({samples:,}), got {batch:,}",
            hint="lower --batch, or raise --samples or lower --test-fraction",
        )
    _finite_number("--weight-decay", weight_decay, positive=False)
    _finite_number("--l1", l1, positive=False)


def _output_activation(spec: ModelSpec) -> str | None:
    return spec.layers[-1].activation


def default_loss(task: str, spec: ModelSpec) -> tuple[str, list[str]]:
    """The tutorial's pairing for the task and the output layer, and its pitfalls.

    Binary: ``bce_with_logits`` on the logit, or ``bce`` when the model already ends in
    a sigmoid (the pairing for a sigmoid output); multi-class: ``cross_entropy`` on the
    logits; regression: ``mse``.
    """
    if task not in TASKS:
        raise unknown_name("task", task, TASKS)
    name = train_default(task, _output_activation(spec)).name
    return name, pairing_warnings(name, spec)


def pairing_warnings(loss: str, spec: ModelSpec) -> list[str]:
    """Known pitfalls of feeding this model's output layer into this loss."""
    out = _output_activation(spec)
    entry = get_loss(loss)
    warnings = []
    if entry.built_in and out == entry.built_in:
        warnings.append(
            f"the model ends in {out} and {loss} applies {out} again{entry.built_in_twice}"
        )
    if entry.target_kind == "real" and out == "sigmoid":
        # Regression on the 0/1 label behind a sigmoid.
        pairing = train_default("binary", out).name
        warnings.append(
            f"{loss} on a sigmoid output: the gradient vanishes where the sigmoid "
            f"saturates, even on wrong answers; {pairing} is the pairing for a sigmoid"
        )
    return warnings


def resolve_loss(task: str, spec: ModelSpec, name: str | None = None) -> tuple[str, list[str]]:
    """``--loss`` checked against the task and the model (default: :func:`default_loss`)."""
    if name is None:
        return default_loss(task, spec)
    loss = get_loss(name).name
    allowed = TASK_LOSSES[task]
    if loss not in allowed:
        raise UsageError(
            f"--loss {loss} cannot train a {task} task; choose from: {', '.join(allowed)}",
            hint=f"the default for {task} is {default_loss(task, spec)[0]}",
        )
    needs = get_loss(loss).needs_activation
    if needs and _output_activation(spec) != needs:
        raise UsageError(
            f"--loss {loss} needs probabilities, but the model's output layer has no {needs}",
            hint=f"use {default_loss(task, spec)[0]} on the logit (the default), "
            f"or end the model in {needs}",
        )
    return loss, pairing_warnings(loss, spec)


def check_targets(dataset: Dataset, loss: str) -> None:
    """Target values a loss cannot take (poisson_nll's counts are ≥ 0)."""
    if get_loss(loss).target_kind == "count":
        low = min(float(np.min(dataset.y_train)), float(np.min(dataset.y_test)))
        if low < 0:
            raise UsageError(
                f"--loss {loss} needs targets ≥ 0 (counts), but the data has {fmt.num(low)}"
            )


# --------------------------------------------------------------------------- model


def output_size(dataset: Dataset) -> int:
    if dataset.task == "multi-class":
        if dataset.classes is None:  # pragma: no cover - a Dataset invariant
            raise UsageError(f"dataset {dataset.name}: multi-class without a class count")
        return int(dataset.classes)
    return 1


def _n_features(dataset: Dataset) -> int:
    return int(dataset.x_train.shape[1])


def _task_output(dataset: Dataset) -> str:
    if dataset.task == "binary":
        return "1 logit (binary)"
    if dataset.task == "multi-class":
        return f"{output_size(dataset)} logits ({dataset.classes} classes)"
    return "1 value (regression)"


def model_spec(
    dataset: Dataset,
    *,
    config: ModelSpec | None,
    hidden: tuple[int, ...] | None,
    activation: str | None,
    init: str | None,
) -> ModelSpec:
    """The model: a config checked against the data, or built inline from ``hidden``.

    Inline: a Linear layer of each hidden width followed by ``activation`` (default
    tanh), all initialised with ``init`` (None: PyTorch's default), then an output
    layer without activation sized by the task.
    """
    inputs, outputs = _n_features(dataset), output_size(dataset)
    if config is not None:
        if hidden is not None or activation is not None or init is not None:
            raise UsageError(
                "--config gives the whole model; leave out --hidden, --activation and --init"
            )
        check_trainable(config)
        _check_inputs(config, dataset, inputs)
        if config.output_features != outputs:
            raise UsageError(
                f"config {config.source}: the last layer has {config.output_features} "
                f"output{'s' * (config.output_features != 1)}, but a {dataset.task} task "
                f"on this data needs {_task_output(dataset)}"
            )
        return config
    widths = tuple(check_int("--hidden", w) for w in (hidden or ()))
    act = get_activation(activation or DEFAULT_ACTIVATION).name
    init_name, init_args = None, {}
    if init is not None:
        scheme = get_scheme(init)
        init_name, init_args = scheme.name, scheme.resolve_params({})
    layers = [LayerSpec(w, act, init_name, dict(init_args)) for w in widths]
    layers.append(LayerSpec(outputs, None, init_name, dict(init_args)))
    name = f"{dataset.name}_mlp"
    if not (name.isprintable() and name.strip()):
        name = "mlp"
    shape = " → ".join(str(n) for n in (inputs, *widths, outputs))
    spec = ModelSpec(inputs, tuple(layers), name, f"{shape}, {act}", "inline")
    check_tensor_sizes(spec)
    if init_name is not None:
        fan_in = inputs
        for layer in layers:  # the float32 fit of the init, as configs check it
            get_scheme(init_name).theory(fan_in, layer.out_features, layer.init_args)
            fan_in = layer.out_features
    return spec


def check_trainable(spec: ModelSpec) -> None:
    """A model without parameters has nothing for an optimiser to change."""
    if spec.param_count() == 0:
        raise UsageError(
            f"config {spec.source}: the model has no parameters: nothing to train",
            hint="add a layer with weights (a linear or conv layer)",
        )


def has_batch_norm(spec: ModelSpec) -> bool:
    """A layer normalising over the batch in training mode (batch norm)."""
    return any(layer.kind.batch_stats for layer in spec.layers)


def check_batch_norm(dataset: Dataset, spec: ModelSpec, batch: int) -> None:
    """Batch norm needs two values per channel: in every training batch (the last one
    is never a single row, see :func:`steps_per_epoch`), and, without running
    statistics, in the test set too (evaluation chunks never end in a single row)."""
    check_batch_statistics(
        spec,
        batch,
        training=True,
        what="a training batch (--batch)",
        hint="use --batch 2 or more",
    )
    check_batch_statistics(
        spec,
        len(dataset.x_test),
        training=False,
        what="the test set",
        hint="hold out more rows (--test-fraction, --samples), or set track_running_stats = true",
    )


def steps_per_epoch(rows: int, batch: int, fold: bool = False) -> int:
    """Optimiser steps in one pass over ``rows``; with ``fold`` (a model with batch norm)
    a last batch of one row joins the batch before it (batch norm cannot normalise one
    row), so batch sizes are ``batch``, …, ``batch``, ``batch + 1``."""
    steps = math.ceil(rows / batch)
    if fold and steps > 1 and rows % batch == 1:
        steps -= 1
    return steps


def _chunks(rows: int, size: int = EVAL_ROWS) -> Iterator[slice]:
    """Slices of at most ``size`` rows (a last single row joins the chunk before: batch
    norm without running statistics cannot normalise one row)."""
    begin = 0
    while begin < rows:
        end = min(begin + size, rows)
        if rows - end == 1:
            end = rows
        yield slice(begin, end)
        begin = end


def _check_inputs(config: ModelSpec, dataset: Dataset, inputs: int) -> None:
    """The data's feature columns are the model's input, reshaped to its input_shape."""
    if config.input_features == inputs:
        return
    features = f"{inputs} input feature{'s' * (inputs != 1)}"
    if config.input_shape is None:
        raise UsageError(
            f"config {config.source}: input_features is {config.input_features}, but "
            f"the data has {features} ({', '.join(dataset.features)})"
        )
    shape = "×".join(map(str, config.input_shape))
    where = f"dataset {dataset.name}" if dataset.source == "generated" else "the data"
    raise UsageError(
        f"config {config.source}: its input_shape is {shape} ({config.input_features:,} "
        f"values per sample), but {where} has {features}",
        hint=f"train it on your own table: --data FILE with {config.input_features:,} "
        "feature columns (a sample's values, flattened) and a target column",
    )


def estimate_bytes(dataset: Dataset, spec: ModelSpec, batch: int, device: str = "cpu") -> int:
    """An upper estimate of what training allocates, before anything is.

    Parameters × 4 (weights, gradients, two optimiser moments); per layer output, the
    activations of a batch and of an evaluation chunk, kept for the backward pass
    (pre- and post-activation, and their gradients); the data when it is copied to
    another device (on the CPU the dataset's arrays are used in place).
    """
    params = spec.param_count() + spec.buffer_count()
    widths = sum(math.prod(shape) for shape in spec.layer_shapes) + spec.input_features
    n_train, n_test = len(dataset.x_train), len(dataset.x_test)
    rows = batch + min(max(n_train, n_test), EVAL_ROWS) + min(n_train, STATS_ROWS)
    total = 4 * params * FLOAT32 + 4 * rows * widths * FLOAT32
    if device != "cpu":
        total += dataset.x_train.nbytes + dataset.x_test.nbytes
        total += dataset.y_train.nbytes + dataset.y_test.nbytes
    total += (n_train + n_test) * 8  # the permutation (int64) and its batch slices
    total += n_train * spec.output_features * FLOAT32  # an epoch's outputs, for its accuracy
    return int(total)


# --------------------------------------------------------------------------- run length


@dataclass(frozen=True)
class RunEstimate:
    """How long training will take: ``runs`` × ``epochs`` × (``steps`` optimiser steps
    of ``step_seconds`` each + one test-set evaluation of ``eval_seconds``)."""

    runs: int
    epochs: int
    steps: int  # optimiser steps per epoch
    step_seconds: float
    eval_seconds: float

    @property
    def seconds(self) -> float:
        epoch = self.steps * self.step_seconds + self.eval_seconds
        return self.runs * self.epochs * epoch


def estimate_run(
    dataset: Dataset,
    run: RunConfig,
    spec: ModelSpec,
    *,
    epochs: int,
    batch: int,
    seed: int,
    device: str,
    runs: int = 1,
    clock: Callable[[], float] | None = None,
) -> RunEstimate:
    """Time a few optimiser steps and one evaluation on a throwaway copy of the model
    (built under ``seed``, torch's RNG left as found, so the real run is unchanged), and
    scale them to the whole run. ``clock`` defaults to :data:`CLOCK`."""
    import torch

    from nncli.core.model.build import build_model
    from nncli.core.seed import seeded

    now = CLOCK if clock is None else clock
    dev = torch.device(device)
    task = _task_for(dataset, run.loss)
    n_train, n_test = len(dataset.x_train), len(dataset.x_test)
    fold = has_batch_norm(spec)
    steps = steps_per_epoch(n_train, batch, fold)
    with seeded(seed), use_threads(choose_threads(spec, batch, device)):
        model = build_model(spec, device, seed=seed).model
        loss_fn = get_loss(run.loss).make_module("mean")
        optimizer = make_optimizer(
            run.optimizer, model.parameters(), lr=run.lr, weight_decay=run.weight_decay
        )
        step_with = _Step(
            model,
            weighted_modules(model, spec),
            loss_fn,
            optimizer,
            task,
            run.l1,
            _Interrupt(),
            spec.output_features,
            fold=fold,
        )
        generator = torch.Generator().manual_seed(seed)

        # One step: a pass over one batch (so with an epoch's own overhead, an overestimate)
        x = _as_input(dataset.x_train[:batch], spec).to(dev)
        y = task.target(dataset.y_train[:batch], dev)
        step_seconds = _fastest(
            now, lambda: _epoch(step_with, 1, x, y, batch, generator, STATS_EVERY)
        )
        rows = min(n_test, EVAL_ROWS)
        x_test = _as_input(dataset.x_test[:rows], spec).to(dev)
        y_test = task.target(dataset.y_test[:rows], dev)
        eval_seconds = _fastest(now, lambda: evaluate(model, loss_fn, task, x_test, y_test))
    return RunEstimate(runs, epochs, steps, step_seconds, eval_seconds * n_test / rows)


def _fastest(now: Callable[[], float], work: Callable[[], object]) -> float:
    """The fastest of up to :data:`TIMED_STEPS` timed calls of ``work``, after an untimed
    warm-up (one-off set-up): the fastest, since a busy machine only ever adds time. A
    warm-up slower than :data:`TIMING_BUDGET` is the measure itself (a big model)."""
    began = now()
    work()
    seconds = now() - began
    if seconds >= TIMING_BUDGET:
        return seconds
    fastest, spent = math.inf, 0.0
    for _ in range(TIMED_STEPS):
        began = now()
        work()
        took = now() - began
        fastest, spent = min(fastest, took), spent + took
        if spent >= TIMING_BUDGET:
            break
    return fastest


def long_run_warning(estimate: RunEstimate, limit: float = LONG_RUN_SECONDS) -> str | None:
    """What to tell the user before a run of more than ``limit`` seconds (None: no more)."""
    seconds = estimate.seconds
    if not seconds > limit:
        return None
    runs = f"{estimate.runs} runs × " if estimate.runs > 1 else ""
    return (
        f"this training will take about {duration_words(seconds)} ({runs}"
        f"{estimate.epochs:,} epoch{'s' * (estimate.epochs != 1)} × {estimate.steps:,} "
        f"step{'s' * (estimate.steps != 1)} of about {fmt.num(estimate.step_seconds * 1e3, 2)} "
        "ms, plus a test-set evaluation per epoch); to shorten it, lower --epochs or raise "
        "--batch (fewer steps per epoch); Ctrl-C stops it and keeps the history so far"
    )


def duration_words(seconds: float) -> str:
    """``45 seconds``, ``3 minutes``, ``2.5 hours``, ``12 days``: a rough duration."""
    for unit, size in (("day", 86400.0), ("hour", 3600.0), ("minute", 60.0)):
        if seconds >= size:
            value = seconds / size
            text = f"{value:.1f}".rstrip("0").rstrip(".") if value < 10 else f"{value:,.0f}"
            return f"{text} {unit}{'s' * (text != '1')}"
    return f"{max(seconds, 0):.0f} seconds"


# --------------------------------------------------------------------------- training


@dataclass
class _Task:
    """How the targets, the loss and the accuracy work for one task and loss."""

    kind: str
    loss: str
    threshold: float | None  # binary: a prediction above it is class 1
    signed: bool = False  # the loss takes −1/1 targets (soft_margin), not the 0/1 labels

    def target(self, y: np.ndarray, device: Any) -> torch.Tensor:
        import torch

        if self.kind == "multi-class":
            return torch.as_tensor(np.ascontiguousarray(y, dtype=np.int64)).to(device)
        t = torch.as_tensor(np.ascontiguousarray(y, dtype=np.float32)).reshape(-1, 1)
        if self.signed:
            t = t * 2 - 1  # 0/1 -> -1/+1
        return t.to(device)

    def correct(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor | None:
        """The number of correct predictions, as a device tensor (None: regression)."""
        if self.kind == "regression":
            return None
        if self.kind == "multi-class":
            return (out.argmax(dim=1) == y).sum()
        positive = y > (0.0 if self.signed else 0.5)
        threshold = 0.5 if self.threshold is None else self.threshold
        return ((out > threshold) == positive).sum()


def _task_for(dataset: Dataset, loss: str) -> _Task:
    entry = get_loss(loss)
    threshold = entry.decision_threshold if dataset.task == "binary" else None
    return _Task(dataset.task, loss, threshold, signed=entry.target_kind == "sign")


class _Interrupt:
    """Ctrl-C sets a flag, and the loop stops after the step in flight.

    A second Ctrl-C raises KeyboardInterrupt at once. Off the main thread no handler
    can be installed; a KeyboardInterrupt raised there still stops the run (the step
    in flight is then lost).
    """

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None
        self._installed = False

    def _handler(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    @contextlib.contextmanager
    def installed(self) -> Iterator[_Interrupt]:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handler)
            self._installed = True
        try:
            yield self
        finally:
            if self._installed:
                # None: the old handler was not set from Python; restore Python's default.
                previous = self._previous
                signal.signal(
                    signal.SIGINT, signal.default_int_handler if previous is None else previous
                )


def train(
    dataset: Dataset,
    run: RunConfig,
    spec: ModelSpec,
    *,
    epochs: int,
    batch: int,
    seed: int,
    device: str,
    progress: Progress | None = None,
    stats_every: int = STATS_EVERY,
    baseline: Baseline | None = None,
) -> TrainRun:
    """Train one combination; the same seed on the CPU gives the same history.

    ``baseline``: the k-nearest-neighbours score the verdict compares with (computed from
    the dataset when not given; a command training several runs computes it once).
    torch's intra-op thread count is :func:`~nncli.core.train.threads.choose_threads`'s
    for the model's size while it trains (one thread for the small networks), then as found.
    """
    check_hyperparameters(
        lr=run.lr,
        epochs=epochs,
        batch=batch,
        samples=len(dataset.x_train),
        weight_decay=run.weight_decay,
        l1=run.l1,
    )
    check_int("stats_every", stats_every)
    check_targets(dataset, run.loss)
    check_trainable(spec)
    check_batch_norm(dataset, spec, batch)
    ensure_fits(estimate_bytes(dataset, spec, batch, device), device, "training")
    threads = choose_threads(spec, batch, device)
    with use_threads(threads):
        result = _fit(dataset, run, spec, epochs, batch, seed, device, progress, stats_every)
    result.threads = threads
    if baseline is None and result.history:
        from nncli.core.train.baseline import baseline as knn_baseline

        baseline = knn_baseline(dataset, seed)
    result.baseline = baseline
    result.epochs = epochs
    judged = judge(result, dataset)
    result.verdict, result.evidence = judged.verdict, judged.evidence
    result.next_step, result.caveat = judged.next_step, judged.caveat
    result.epochs_to_learn = judged.epochs_to_learn
    return result


def _fit(
    dataset: Dataset,
    run: RunConfig,
    spec: ModelSpec,
    epochs: int,
    batch: int,
    seed: int,
    device: str,
    progress: Progress | None,
    stats_every: int,
) -> TrainRun:
    """The training itself (train() checked everything and chose the threads)."""
    import torch

    from nncli.core.model.build import build_model
    from nncli.core.seed import seeded

    dev = torch.device(device)
    task = _task_for(dataset, run.loss)
    model = build_model(spec, device, seed=seed).model
    linears = weighted_modules(model, spec)
    loss_fn = get_loss(run.loss).make_module("mean")
    x_train = _as_input(dataset.x_train, spec).to(dev)
    x_test = _as_input(dataset.x_test, spec).to(dev)
    y_train, y_test = task.target(dataset.y_train, dev), task.target(dataset.y_test, dev)
    optimizer = make_optimizer(
        run.optimizer, model.parameters(), lr=run.lr, weight_decay=run.weight_decay
    )
    generator = torch.Generator().manual_seed(seed)

    stats_rows = slice(0, min(len(x_train), STATS_ROWS))
    start, initial_loss = layer_stats(
        model, spec, loss_fn, x_train[stats_rows], y_train[stats_rows]
    )
    history: list[EpochRecord] = []
    interrupt = _Interrupt()
    step_with = _Step(
        model,
        linears,
        loss_fn,
        optimizer,
        task,
        run.l1,
        interrupt,
        spec.output_features,
        fold=has_batch_norm(spec),
    )
    began, steps = time.perf_counter(), 0
    n = len(x_train)
    # seeded: dropout draws its masks from torch's global generator
    with interrupt.installed(), seeded(seed):
        for epoch in range(1, epochs + 1):
            try:
                record, done = _epoch(
                    step_with, epoch, x_train, y_train, batch, generator, stats_every
                )
            except KeyboardInterrupt:
                interrupt.requested, record, done = True, None, 0
            steps += done
            if record is not None:
                record.test_loss, record.test_accuracy, record.test_r2 = _evaluate(
                    model, loss_fn, task, x_test, y_test
                )
                record.partial = done < steps_per_epoch(n, batch, step_with.fold)
                history.append(record)
                if progress is not None and not interrupt.requested:
                    try:
                        progress(epoch, epochs, _metrics(record))
                    except KeyboardInterrupt:
                        interrupt.requested = True
            if interrupt.requested or (record is not None and _diverged(record)):
                break
    seconds = time.perf_counter() - began
    final, _ = layer_stats(model, spec, loss_fn, x_train[stats_rows], y_train[stats_rows])
    result = TrainRun(
        config=run,
        spec=spec,
        history=history,
        start=start,
        final=final,
        verdict="",
        evidence="",
        model=model,
        interrupted=interrupt.requested,
        seconds=seconds,
        steps_per_second=steps / seconds if seconds > 0 else 0.0,
        initial_loss=initial_loss,
    )
    if task.kind == "regression" and history and not _diverged(history[-1]):
        result.test_r2 = history[-1].test_r2
    return result


def _as_input(x: np.ndarray, spec: ModelSpec) -> torch.Tensor:
    """Rows of features as the model's input: ``(rows, *input_shape)`` float32."""
    import torch

    rows = torch.as_tensor(np.ascontiguousarray(x, dtype=np.float32))
    return rows.reshape(len(rows), *spec.sample_shape)


def weighted_modules(model: nn.Module, spec: ModelSpec) -> list[Weighted]:
    """The modules of the layers with a weight matrix or kernel (linear, conv), in order:
    those the gradient norms, the L1 penalty and the layer statistics are about."""
    modules = dict(model.named_children())
    return [
        cast("Weighted", modules[name])
        for layer, (name, _act) in zip(spec.layers, module_names(spec), strict=True)
        if layer.kind.weighted
    ]


@contextlib.contextmanager
def _eval_mode(model: nn.Module) -> Iterator[None]:
    """Dropout off and batch norm on its running statistics, then the mode as found."""
    was = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was)


def _metrics(record: EpochRecord) -> dict[str, float]:
    metrics = {"train_loss": record.train_loss, "test_loss": record.test_loss}
    if record.train_accuracy is not None:
        metrics["train_accuracy"] = record.train_accuracy
    if record.test_accuracy is not None:
        metrics["test_accuracy"] = record.test_accuracy
    return metrics


@dataclass
class _Step:
    """What one optimisation step needs, besides the data."""

    model: nn.Module
    linears: list[Weighted]  # the layers with weights (linear, conv)
    loss_fn: nn.Module
    optimizer: torch.optim.Optimizer
    task: _Task
    l1: float
    interrupt: _Interrupt
    outputs: int  # the model's output width
    fold: bool = False  # batch norm: a last single row joins the batch before it
    signals: _Probe = field(init=False)  # the signal norms of the linears, on sampled steps

    def __post_init__(self) -> None:
        self.signals = _Probe(self.linears)


class _Probe:
    """The backpropagated signal δ = ∂L/∂(output) of each weighted layer, on sampled steps.

    On a sampled step a forward hook on each layer registers a tensor hook on its output;
    the forward hooks are attached for that step's forward pass only, so the other steps
    run the modules without hooks (a hooked module takes nn.Module's slower call path).
    The norms stay on the device until :meth:`collect`.
    """

    def __init__(self, modules: list[Weighted]) -> None:
        self.modules = modules
        self.norms: list[torch.Tensor | None] = [None] * len(modules)
        self._handles: list[Any] = []

    @contextlib.contextmanager
    def armed(self, sample: bool) -> Iterator[None]:
        """Hooks on the layers for the block when ``sample``; none otherwise."""
        if not sample:
            yield
            return
        self._handles = [
            m.register_forward_hook(self._forward(i)) for i, m in enumerate(self.modules)
        ]
        try:
            yield
        finally:
            self.remove()

    def _forward(self, index: int) -> Callable[..., None]:
        def hook(module: Any, inputs: Any, output: Any) -> None:
            if getattr(output, "requires_grad", False):
                output.register_hook(lambda grad: self._store(index, grad))

        return hook

    def _store(self, index: int, grad: torch.Tensor) -> None:
        import torch

        self.norms[index] = torch.linalg.vector_norm(grad.detach())

    def collect(self, device: Any) -> torch.Tensor:
        """The norms of the last sampled step (0 where none arrived), then cleared."""
        import torch

        zero = torch.zeros((), device=device)
        values = torch.stack([zero if n is None else n.to(zero.dtype) for n in self.norms])
        self.norms = [None] * len(self.norms)
        return values

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []


def _epoch(
    step_with: _Step,
    epoch: int,
    x: torch.Tensor,
    y: torch.Tensor,
    batch: int,
    generator: torch.Generator,
    stats_every: int,
) -> tuple[EpochRecord | None, int]:
    """One pass over the training set; every sum stays on the device until the end."""
    import torch

    s = step_with
    n = len(x)
    # The permutation is drawn on the CPU, so every device sees the same batches.
    order = torch.randperm(n, generator=generator).to(x.device)
    # Each step only copies its loss and outputs into these (one op each); the epoch's
    # loss and accuracy are computed from them at the end, vectorised.
    total = steps_per_epoch(n, batch, s.fold)
    step_losses = torch.empty(total, device=x.device)
    outputs = torch.empty(n, s.outputs, device=x.device)
    norm_sum = torch.zeros(len(s.linears), device=x.device)
    signal_sum = torch.zeros(len(s.linears), device=x.device)
    sampled = seen = steps = 0
    for step in range(total):
        begin = step * batch
        index = order[begin : n if step == total - 1 else begin + batch]
        xb, yb = x[index], y[index]
        sample = step % stats_every == 0
        with s.signals.armed(sample):
            out = s.model(xb)
        loss = s.loss_fn(out, yb)
        objective = loss + s.l1 * sum(m.weight.abs().sum() for m in s.linears) if s.l1 else loss
        s.optimizer.zero_grad(set_to_none=True)
        objective.backward()
        if sample:
            norm_sum += torch.stack([torch.linalg.vector_norm(m.weight.grad) for m in s.linears])
            signal_sum += s.signals.collect(x.device)
            sampled += 1
        s.optimizer.step()
        step_losses[step] = loss.detach()
        outputs[begin : begin + len(index)] = out.detach()
        seen += len(index)
        steps += 1
        if s.interrupt.requested:
            break
    if steps == 0:  # pragma: no cover - n ≥ batch ≥ 1 always gives one step
        return None, 0
    rows = torch.full((steps,), float(batch), device=x.device)
    rows[-1] = seen - batch * (steps - 1)  # the last batch may be short (or one longer)
    train_loss = float((step_losses[:steps] * rows).sum().item()) / seen
    norms = (norm_sum / sampled).tolist()
    signals = (signal_sum / sampled).tolist()
    correct = s.task.correct(outputs[:seen], y[order[:seen]])
    accuracy = None if correct is None else int(correct.item()) / seen
    record = EpochRecord(
        epoch, train_loss, math.nan, accuracy, None, norms, steps, signal_norms=signals
    )
    return record, steps


def _diverged(record: EpochRecord) -> bool:
    return not (math.isfinite(record.train_loss) and math.isfinite(record.test_loss))


def evaluate(
    model: nn.Module, loss_fn: nn.Module, task: _Task, x: torch.Tensor, y: torch.Tensor
) -> tuple[float, float | None]:
    """The mean loss and the accuracy over a whole set, in chunks of EVAL_ROWS rows."""
    loss, accuracy, _r2 = _evaluate(model, loss_fn, task, x, y)
    return loss, accuracy


def _evaluate(
    model: nn.Module, loss_fn: nn.Module, task: _Task, x: torch.Tensor, y: torch.Tensor
) -> tuple[float, float | None, float | None]:
    """The mean loss, the accuracy (classification) and R² (regression) over a set."""
    import torch

    loss_sum = torch.zeros((), device=x.device, dtype=torch.float64)
    correct_sum = torch.zeros((), device=x.device, dtype=torch.int64)
    sse = torch.zeros((), device=x.device, dtype=torch.float64)
    regression = task.kind == "regression"
    with torch.no_grad(), _eval_mode(model):
        for chunk in _chunks(len(x)):
            xb, yb = x[chunk], y[chunk]
            out = model(xb)
            loss_sum += loss_fn(out, yb).double() * len(xb)
            if regression:
                sse += ((out.double() - yb.double()) ** 2).sum()
            correct = task.correct(out, yb)
            if correct is not None:
                correct_sum += correct
    n = len(x)
    accuracy = None if regression else int(correct_sum.item()) / n
    r2 = None
    if regression:
        sst = float(((y.double() - y.double().mean()) ** 2).sum())
        r2 = 1.0 - float(sse) / sst if sst > 0 else math.nan
    return float(loss_sum.item()) / n, accuracy, r2


def layer_stats(
    model: nn.Module, spec: ModelSpec, loss_fn: nn.Module, x: torch.Tensor, y: torch.Tensor
) -> tuple[list[LayerStats], float]:
    """Per layer with weights (linear, conv): its activation's output statistics and its
    weight's gradient norm, and the loss on ``x``.

    One forward and backward pass on ``x`` in eval mode (no dropout, and batch norm's
    running statistics stay as they are); the model's gradients are left cleared.
    """
    import torch

    names = module_names(spec)
    modules = dict(model.named_children())
    with torch.enable_grad(), _eval_mode(model):
        h = x
        outputs: list[tuple[LayerSpec, str, torch.Tensor, torch.Tensor | None]] = []
        for layer, (layer_name, act_name) in zip(spec.layers, names, strict=True):
            pre = modules[layer_name](h)
            if layer.kind.weighted and pre.requires_grad:
                pre.retain_grad()  # the backpropagated signal δ = ∂L/∂(the layer's output)
            if act_name is None:
                h, out, before = pre, pre, None
            else:
                h = modules[act_name](pre)
                out, before = h, pre
            if layer.kind.weighted:
                outputs.append((layer, layer_name, out, before))
        model.zero_grad(set_to_none=True)
        loss = loss_fn(h, y)
        loss.backward()
        stats = [
            _one_layer(layer, modules, layer_name, out, pre)
            for layer, layer_name, out, pre in outputs
        ]
    model.zero_grad(set_to_none=True)
    return stats, float(loss.detach())


def _one_layer(
    layer: LayerSpec,
    modules: dict[str, nn.Module],
    linear_name: str,
    out: torch.Tensor,
    pre: torch.Tensor | None,
) -> LayerStats:
    import torch

    values = out.detach()
    std, mean = torch.std_mean(values, correction=0)
    dead = saturated = None
    activation = get_activation(layer.activation) if layer.activation else None
    if activation is not None and pre is not None:
        if activation.dead_below is not None:
            # A dead unit outputs exactly 0 for every input: no gradient ever reaches it.
            dead = float((values == 0).all(dim=0).double().mean())
        if activation.saturating and activation.elementwise:
            pre_d = pre.detach().requires_grad_()
            with torch.enable_grad():
                act_out = activation.make_module()(pre_d)
                (slope,) = torch.autograd.grad(act_out, pre_d, torch.ones_like(act_out))
            flat = slope.abs() < SATURATION_THRESHOLD
            if activation.dead_below is not None:
                flat &= values != 0  # the dead side is counted as dead, not saturated
            saturated = float(flat.double().mean())
    weight = modules[linear_name].weight
    grad = weight.grad
    grad_norm = float(torch.linalg.vector_norm(grad)) if grad is not None else 0.0
    output = out if pre is None else pre  # the weighted layer's own output
    delta = output.grad
    signal = float(torch.linalg.vector_norm(delta)) if delta is not None else 0.0
    return LayerStats(
        linear_name,
        layer.activation,
        float(mean),
        float(std),
        dead,
        saturated,
        grad_norm,
        signal_norm=signal,
    )


# --------------------------------------------------------------------------- predictions


def binary_probability(loss: str, out: torch.Tensor) -> torch.Tensor:
    """P(class 1) from a binary model's output, as the loss reads it: the sigmoid of a
    logit (bce_with_logits; soft_margin, whose loss is the logistic one on ±1), the output
    itself after a sigmoid (bce), or the clipped label estimate (a regression loss)."""
    import torch

    if get_loss(loss).output == "logit":
        return torch.sigmoid(out)
    return out.clamp(0.0, 1.0)


def outputs(run: TrainRun, x: np.ndarray) -> torch.Tensor:
    """The trained model's raw outputs for rows of features, float32 on the CPU.

    In eval mode (dropout off, batch norm on its running statistics), in chunks of
    :data:`EVAL_ROWS` rows, with the model's mode restored afterwards: the same rows
    always give the same outputs, however often they are asked for.
    """
    import torch

    model = run.model
    device = next(model.parameters()).device
    pieces = []
    with torch.no_grad(), _eval_mode(model):
        for chunk in _chunks(len(x)):
            xb = _as_input(x[chunk], run.spec)
            pieces.append(model(xb.to(device)).float().cpu())
    return torch.cat(pieces) if pieces else torch.empty(0, run.spec.output_features)


def predict(run: TrainRun, x: np.ndarray, task: str) -> np.ndarray:
    """Classes (classification) or values (regression) for rows of features, in chunks.

    Binary uses the run's loss's decision threshold (logit > 0, probability > 0.5).
    """
    import torch

    out = outputs(run, x)
    if task == "multi-class":
        return out.argmax(dim=1).numpy()
    if task == "binary":
        threshold = get_loss(run.config.loss).decision_threshold
        return (out[:, 0] > threshold).to(torch.int64).numpy()
    return out[:, 0].numpy()


__all__ = [
    "DEAD_SHARE",
    "DIVERGED_GROWTH",
    "LEARNED_R2",
    "VANISHING_RATIO",
    "VERDICTS",
    "EpochRecord",
    "LayerStats",
    "RunConfig",
    "TrainRun",
    "accuracy_bar",
    "binary_probability",
    "chance_accuracy",
    "check_hyperparameters",
    "dead_share",
    "default_loss",
    "estimate_bytes",
    "estimate_run",
    "judge",
    "long_run_warning",
    "model_spec",
    "outputs",
    "predict",
    "resolve_loss",
    "signal_ratio",
    "train",
]
