"""The verdict on a training run: what a teacher would say about it, with the evidence.

A verdict is a claim, so each has a named threshold, evidence in numbers and, where one
helps, a next step. They are tried in this order; the first that holds is the verdict:

1. **diverged**: the train or test loss became NaN or inf (training stops there); or
   the train loss of some epoch reached :data:`DIVERGED_GROWTH` × the loss before training
   (the running train loss of a healthy run never climbs that far above its start).
   Next step: lower ``--lr``.
2. **inconclusive**: the test set has fewer than :data:`MIN_TEST_ROWS` rows, or a class
   has fewer than :data:`MIN_CLASS_TEST_ROWS` of them: too few to judge anything by.
   **diverged** (unstable), when the run ended below the learned bar: the train loss
   spiked (back at :data:`SPIKE_LEVEL` × the loss before training after it had been below
   :data:`SPIKE_LOW` × it), or the loss oscillates: in the last half of the epochs (at
   least :data:`UNSTABLE_MIN_EPOCHS`), the test loss rose by :data:`UNSTABLE_JUMP` × (and
   by :data:`UNSTABLE_STEP` × the loss before training) from one epoch to the next in
   :data:`UNSTABLE_SHARE` of them or more. A run that learned all the same gets the spike
   or the oscillation as a caveat. Next step: lower ``--lr``.
3. **overfitting**: the model generalises worse: its test accuracy (smoothed over
   :data:`SMOOTH_SHARE` of the epochs) fell :data:`OVERFIT_DROP` or more below its best
   while the train accuracy held or rose and ends at the learned bar (a model must fit its
   training rows to overfit them; regression: test R² fell
   :data:`OVERFIT_R2_DROP`), or the train accuracy ends :data:`OVERFIT_GAP` or more
   above the test accuracy. A test *loss* that creeps up while the accuracy holds is not
   overfitting: the model grew more confident on the few points it gets wrong; that is
   "learned" with a caveat (:data:`OVERCONFIDENT_RISE`), as is a test accuracy that
   slipped :data:`SLIPPED_DROP` or more below its best without reaching the overfitting
   drop (early stopping would have kept the best).
4. **learned**: classification, the final test accuracy reaches the bar: the error at
   most :data:`LEARNED_ERROR_SHARE` of always guessing the most common class's error
   (0.9 for two balanced classes), or, when the data are noisier than that allows, within
   :data:`BASELINE_MARGIN` of a k-nearest-neighbours baseline on the same split (which
   must itself beat chance: its error at most :data:`LEARNABLE_SHARE` of chance's).
   Regression: test R² ≥ :data:`LEARNED_R2`, or within :data:`BASELINE_R2_MARGIN` of the
   baseline's R².
5. **interrupted**: Ctrl-C stopped the run before it learned.
   **did not learn** (input scale): a feature's standard deviation is outside
   :data:`SCALE_RANGE`: the inputs saturate or starve layer 1, so whatever the gradients
   show, the cause and the fix (``--standardize``) are the scale; checked before 6 and 7.
6. **dead relus**: :data:`DEAD_SHARE` or more of the units with a dead side output 0 for
   every training input at the end (no gradient crosses them, so layer 1 gets none).
7. **vanishing gradients**: the backpropagated signal, ∂L/∂(a layer's output), reaching
   layer 1 is below :data:`VANISHING_RATIO` × the last layer's, at the start or as the
   median over the epochs. The signal δ, not the weight gradient δ·xᵀ: the weight
   gradient also scales with the layer's inputs, so tiny (unscaled) inputs would look
   like vanishing gradients when the signal is healthy.
8. **did not learn**: none of the above; the next step says what to try (train longer
   while the metrics still improve; a larger network when the train accuracy is low too;
   nothing to learn when the baseline does no better than chance; scale the inputs).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from nncli import fmt
from nncli.core.train.records import signal_ratio

if TYPE_CHECKING:
    from nncli.core.model.spec import ModelSpec
    from nncli.core.train.baseline import Baseline
    from nncli.core.train.datasets import Dataset
    from nncli.core.train.records import EpochRecord, LayerStats, TrainRun

# diverged
DIVERGED_GROWTH = 2.0  # an epoch's train loss at 2× the loss before training
UNSTABLE_JUMP = 1.25  # the test loss 25 % above the epoch before's ...
UNSTABLE_STEP = 0.05  # ... and by 5 % of the loss before training ...
UNSTABLE_SHARE = 0.2  # ... in a fifth of the last half's epochs
UNSTABLE_MIN_EPOCHS = 10  # the last half must have this many epochs to call oscillation
# a spike: the train loss back at half its untrained value after it had been below a tenth
SPIKE_LEVEL = 0.5
SPIKE_LOW = 0.1
# inconclusive
MIN_TEST_ROWS = 20
MIN_CLASS_TEST_ROWS = 3
# overfitting
SMOOTH_SHARE = 0.05  # the accuracy curves are averaged over 5 % of the epochs (≥ 1)
OVERFIT_DROP = 0.05  # test accuracy 5 points below its best
SLIPPED_DROP = 0.02  # learned, but the test accuracy ends 2 points below its best
OVERFIT_R2_DROP = 0.05
OVERFIT_GAP = 0.15  # train accuracy 15 points above the test accuracy
OVERCONFIDENT_RISE = 1.2  # learned, but the test loss ends 20 % above its best
# learned
LEARNED_ERROR_SHARE = 0.2  # test error at most 20 % of chance's error
LEARNED_R2 = 0.9
BASELINE_MARGIN = 0.03  # within 3 points of the k-NN baseline's accuracy ...
BASELINE_R2_MARGIN = 0.05
LEARNABLE_SHARE = 0.8  # ... when the baseline's error is at most 80 % of chance's
# dead relus, vanishing gradients
DEAD_SHARE = 0.5
VANISHING_RATIO = 1e-2  # layer 1 gets under 1/100 of the last layer's signal
# did not learn: "still improving" compares the last tenth of the epochs with the tenth before
IMPROVING_ACCURACY = 0.01  # one point of test accuracy more
IMPROVING_LOSS = 0.95  # or a train loss 5 % lower
EPS = 1e-9  # thresholds on differences of shares hold at the threshold itself
# input scale: a feature whose standard deviation is outside this range is unscaled
SCALE_RANGE = (1e-2, 1e2)
SCALE_ROWS = 10_000


@dataclass
class Judgement:
    verdict: str
    evidence: str
    next_step: str | None = None
    caveat: str | None = None
    epochs_to_learn: int | None = None


def judge(run: TrainRun, ds: Dataset) -> Judgement:
    """The verdict on ``run`` (the order and the thresholds: the module docstring)."""
    history = run.history
    if not history:
        return Judgement("interrupted", "stopped before the first epoch ended", "rerun to train it")
    for rule in (_diverged, _inconclusive, _unstable, _overfitting, _learned):
        found = rule(run, ds)
        if found is not None:
            return found
    progress = _progress_words(run, ds)
    if run.interrupted:
        total = f" of {run.epochs}" if run.epochs else ""
        return Judgement(
            "interrupted",
            f"stopped by Ctrl-C at epoch {history[-1].epoch}{total}; {progress}",
            "rerun without interrupting to see where it ends",
        )
    unscaled = unscaled_features(ds)
    if unscaled:
        # Inputs far from unit scale saturate (or starve) layer 1: the signal may vanish,
        # but the cause is the data's scale, and so is the fix.
        return Judgement(
            "did not learn",
            f"{progress}; the inputs are far from unit scale ({_scale_words(unscaled)})",
            "standardise the inputs: use --standardize (the default for --data)",
        )
    dead = dead_share(run.final, run.spec)
    if dead is not None and dead[0] >= DEAD_SHARE:
        return Judgement(
            "dead relus",
            f"{dead[0]:.0%} of the units with a dead side ({dead[1]}) output 0 for every "
            f"training input at the end; {progress}",
            "lower --lr, or use --activation leaky_relu, or --init kaiming_normal",
        )
    vanishing = _vanishing(run)
    if vanishing is not None:
        return Judgement("vanishing gradients", f"{vanishing}; {progress}", _VANISHING_STEP)
    return Judgement("did not learn", progress, _next_step(run, ds))


_VANISHING_STEP = (
    "use relu or tanh in the hidden layers, an init for them (kaiming_normal, "
    "xavier_normal), or fewer layers"
)


# --------------------------------------------------------------------------- diverged


def _diverged(run: TrainRun, ds: Dataset) -> Judgement | None:
    history, lr = run.history, fmt.num(run.config.lr)
    step = f"lower --lr (try {fmt.num(run.config.lr / 10)})"
    last = history[-1]
    if not (math.isfinite(last.train_loss) and math.isfinite(last.test_loss)):
        which = "train" if not math.isfinite(last.train_loss) else "test"
        value = last.train_loss if which == "train" else last.test_loss
        return Judgement(
            "diverged",
            f"the {which} loss became {fmt.num(value)} at epoch {last.epoch} with lr {lr}",
            step,
        )
    before = run.initial_loss
    if math.isfinite(before) and before > 0:
        worst = max(history, key=lambda r: r.train_loss)
        if worst.train_loss >= DIVERGED_GROWTH * before:
            ended = f"; it ended at {fmt.num(last.train_loss)}" if worst is not last else ""
            return Judgement(
                "diverged",
                f"the train loss jumped from {fmt.num(before)} before training to "
                f"{fmt.num(worst.train_loss)} at epoch {worst.epoch} "
                f"({fmt.num(worst.train_loss / before, 2)}×, ≥ {DIVERGED_GROWTH:g}× counts as "
                f"diverging) with lr {lr}{ended}",
                step,
            )
    return None


def _oscillation(run: TrainRun) -> tuple[int, int] | None:
    """(jumps, epochs) when the test loss oscillates in the last half of the epochs: a
    jump is a rise of :data:`UNSTABLE_JUMP` × and at least :data:`UNSTABLE_STEP` × the
    loss before training (so the noise of a loss near 0 is not one)."""
    half = run.history[len(run.history) // 2 :]
    if len(half) < UNSTABLE_MIN_EPOCHS:
        return None
    floor = UNSTABLE_STEP * run.initial_loss if math.isfinite(run.initial_loss) else 0.0
    losses = [r.test_loss for r in half]
    jumps = sum(
        1
        for a, b in itertools.pairwise(losses)
        if a > 0 and b >= UNSTABLE_JUMP * a and b - a >= floor
    )
    if jumps >= UNSTABLE_SHARE * (len(losses) - 1):
        return jumps, len(half)
    return None


def _oscillation_words(jumps: int, span: int, lr: float) -> str:
    return (
        f"the test loss rose by {UNSTABLE_JUMP - 1:.0%} or more from one epoch to the next "
        f"{jumps} times in the last {span} epochs with lr {fmt.num(lr)}"
    )


def spike(run: TrainRun) -> tuple[EpochRecord, EpochRecord] | None:
    """The first epoch whose train loss jumped back to :data:`SPIKE_LEVEL` × the loss
    before training after an earlier epoch had brought it below :data:`SPIKE_LOW` × that
    loss, with the lowest epoch before it: (lowest, spike)."""
    before = run.initial_loss
    if not (math.isfinite(before) and before > 0):
        return None
    lowest: EpochRecord | None = None
    for record in run.history:
        fallen = lowest is not None and lowest.train_loss <= SPIKE_LOW * before
        if fallen and lowest is not None and record.train_loss >= SPIKE_LEVEL * before:
            return lowest, record
        if lowest is None or record.train_loss < lowest.train_loss:
            lowest = record
    return None


def _spike_words(run: TrainRun, low: EpochRecord, high: EpochRecord) -> str:
    return (
        f"the train loss fell to {fmt.num(low.train_loss)} (epoch {low.epoch}), then jumped "
        f"back to {fmt.num(high.train_loss)} at epoch {high.epoch} (the loss before training "
        f"was {fmt.num(run.initial_loss)})"
    )


def _unstable(run: TrainRun, ds: Dataset) -> Judgement | None:
    """A run that spiked or oscillates and ended below the learned bar (a run that
    learned all the same gets the instability as a caveat)."""
    if _learned(run, ds) is not None:
        return None
    step = f"lower --lr (try {fmt.num(run.config.lr / 10)})"
    found = spike(run)
    if found is not None:
        low, high = found
        return Judgement(
            "diverged",
            f"unstable: {_spike_words(run, low, high)}, and the run ended below the learned "
            f"bar with lr {fmt.num(run.config.lr)}",
            step,
        )
    oscillation = _oscillation(run)
    if oscillation is not None:
        return Judgement(
            "diverged", "unstable: " + _oscillation_words(*oscillation, run.config.lr), step
        )
    return None


# --------------------------------------------------------------------------- inconclusive


def test_class_counts(ds: Dataset) -> list[int] | None:
    """Rows per class in the test set (None: regression)."""
    if ds.task == "regression" or ds.classes is None:
        return None
    counts = np.bincount(np.asarray(ds.y_test, dtype=np.int64), minlength=int(ds.classes))
    return [int(c) for c in counts]


def _inconclusive(run: TrainRun, ds: Dataset) -> Judgement | None:
    rows = len(ds.y_test)
    counts = test_class_counts(ds)
    fewest = min(counts) if counts else None
    if rows >= MIN_TEST_ROWS and (fewest is None or fewest >= MIN_CLASS_TEST_ROWS):
        return None
    what = f"the test set has {rows} row{'s' * (rows != 1)}"
    if fewest is not None and fewest < MIN_CLASS_TEST_ROWS:
        what += f", and its smallest class {fewest}"
    return Judgement(
        "inconclusive",
        f"{what}: too few to judge (at least {MIN_TEST_ROWS}, and "
        f"{MIN_CLASS_TEST_ROWS} per class); {_progress_words(run, ds)}",
        "hold out more rows: raise --samples or --test-fraction",
    )


# --------------------------------------------------------------------------- overfitting


def smoothed(values: list[float], share: float = SMOOTH_SHARE) -> list[float]:
    """A trailing moving average over ``share`` of the points (at least one)."""
    width = max(1, round(len(values) * share))
    out, total = [], 0.0
    for i, value in enumerate(values):
        total += value
        if i >= width:
            total -= values[i - width]
        out.append(total / min(i + 1, width))
    return out


def _best(curve: list[float]) -> int:
    """The index of a smoothed curve's best value, among the points whose window is full
    (an early lucky epoch alone is not a best)."""
    width = max(1, round(len(curve) * SMOOTH_SHARE))
    start = min(width - 1, len(curve) - 1)
    return start + int(np.argmax(curve[start:]))


def _overfitting(run: TrainRun, ds: Dataset) -> Judgement | None:
    history = run.history
    if ds.task == "regression":
        r2 = [r.test_r2 for r in history]
        if any(v is None or not math.isfinite(v) for v in r2):
            return None
        test = smoothed([float(v) for v in r2 if v is not None])
        best = _best(test)
        fell = test[best] - test[-1]
        kept = history[-1].train_loss <= history[best].train_loss
        if fell >= OVERFIT_R2_DROP - EPS and kept:
            return Judgement(
                "overfitting",
                f"test R² fell from {test[best]:.3f} (epoch {history[best].epoch}) to "
                f"{test[-1]:.3f} while the train loss fell to "
                f"{fmt.num(history[-1].train_loss)}",
                _overfit_step(history[best].epoch),
            )
        return None
    test = smoothed([r.test_accuracy or 0.0 for r in history])
    train = smoothed([r.train_accuracy or 0.0 for r in history])
    best = _best(test)
    fell = test[best] - test[-1]
    # A model must fit its training rows to overfit them: a run near chance whose test
    # accuracy wanders is not overfitting (its train accuracy is below the learned bar).
    fits = train[-1] >= accuracy_bar(ds, run.baseline) - EPS
    if fell >= OVERFIT_DROP - EPS and train[-1] >= train[best] - EPS and fits:
        return Judgement(
            "overfitting",
            f"test accuracy fell from {test[best]:.3f} (epoch {history[best].epoch}) to "
            f"{test[-1]:.3f} while train accuracy rose to {train[-1]:.3f}",
            _overfit_step(history[best].epoch),
        )
    gap = train[-1] - test[-1]
    if gap >= OVERFIT_GAP - EPS:
        return Judgement(
            "overfitting",
            f"train accuracy {train[-1]:.3f}, test accuracy {test[-1]:.3f}: a gap of "
            f"{gap:.3f} (≥ {OVERFIT_GAP:g}); the network fits the training rows, not the "
            "pattern",
            _overfit_step(history[best].epoch),
        )
    return None


def _overfit_step(best_epoch: int) -> str:
    return (
        f"stop earlier (the test score was best at epoch {best_epoch}), add --weight-decay, "
        "use a smaller network, or more data (--samples)"
    )


# --------------------------------------------------------------------------- learned


def chance_accuracy(ds: Dataset) -> float:
    """The accuracy of always guessing the most common test class."""
    counts = np.bincount(np.asarray(ds.y_test, dtype=np.int64))
    return float(counts.max()) / float(counts.sum())


def accuracy_bar(ds: Dataset, baseline: Baseline | None = None) -> float:
    """The test accuracy that counts as learned (module docstring, rule 4)."""
    chance = chance_accuracy(ds)
    bar = 1.0 - LEARNED_ERROR_SHARE * (1.0 - chance)
    if baseline is None or baseline.test_accuracy is None:
        return bar
    base = baseline.test_accuracy
    if 1.0 - base > LEARNABLE_SHARE * (1.0 - chance):
        return bar  # the baseline is near chance: no easier bar than chance's
    return min(bar, max(base - BASELINE_MARGIN, (chance + base) / 2))


def r2_bar(baseline: Baseline | None = None) -> float:
    """The test R² that counts as learned."""
    if baseline is None or baseline.test_r2 is None or baseline.test_r2 < 1 - LEARNABLE_SHARE:
        return LEARNED_R2
    base = baseline.test_r2
    return min(LEARNED_R2, max(base - BASELINE_R2_MARGIN, base / 2))


def _bar_words(ds: Dataset, baseline: Baseline | None) -> str:
    parts = [f"chance {chance_accuracy(ds):.3f}"]
    if baseline is not None and baseline.test_accuracy is not None:
        parts.append(f"k-NN baseline {baseline.test_accuracy:.3f}")
    return ", ".join(parts)


def _learned(run: TrainRun, ds: Dataset) -> Judgement | None:
    last = run.history[-1]
    if ds.task == "regression":
        r2, bar = run.test_r2, r2_bar(run.baseline)
        if r2 is None or not r2 >= bar:
            return None
        base = run.baseline.test_r2 if run.baseline is not None else None
        against = f"; k-NN baseline {base:.3f}" if base is not None else ""
        first = next(
            (r.epoch for r in run.history if r.test_r2 is not None and r.test_r2 >= bar),
            last.epoch,
        )
        return Judgement(
            "learned",
            f"test R² {r2:.3f} (≥ {bar:.3f}{against}) after {last.epoch} epochs",
            caveat=_interrupted_caveat(run),
            epochs_to_learn=first,
        )
    bar = accuracy_bar(ds, run.baseline)
    if last.test_accuracy is None or last.test_accuracy < bar:
        return None
    first = next(
        r.epoch for r in run.history if r.test_accuracy is not None and r.test_accuracy >= bar
    )
    caveat = (
        _spiked(run)
        or _slipped(run.history)
        or _overconfident(run.history)
        or _interrupted_caveat(run)
    )
    return Judgement(
        "learned",
        f"test accuracy {last.test_accuracy:.3f} after {last.epoch} epochs (≥ {bar:.3f}; "
        f"{_bar_words(ds, run.baseline)}); first ≥ {bar:.3f} at epoch {first}",
        caveat=caveat,
        epochs_to_learn=first,
    )


def _spiked(run: TrainRun) -> str | None:
    found = spike(run)
    if found is not None:
        return f"{_spike_words(run, *found)} before it recovered: a lower --lr trains more steadily"
    oscillation = _oscillation(run)
    if oscillation is not None:
        words = _oscillation_words(*oscillation, run.config.lr)
        return f"{words}: a lower --lr trains more steadily"
    return None


def _slipped(history: list[EpochRecord]) -> str | None:
    test = smoothed([r.test_accuracy or 0.0 for r in history])
    best = _best(test)
    if test[best] - test[-1] < SLIPPED_DROP - EPS:
        return None
    return (
        f"the test accuracy slipped from {test[best]:.3f} (epoch {history[best].epoch}) to "
        f"{test[-1]:.3f} (smoothed) as training went on: stopping at epoch "
        f"{history[best].epoch} would have kept the best"
    )


def _overconfident(history: list[EpochRecord]) -> str | None:
    best = min(history, key=lambda r: r.test_loss)
    last = history[-1]
    if best is last or best.test_loss <= 0 or last.test_loss < OVERCONFIDENT_RISE * best.test_loss:
        return None
    return (
        f"the test loss rose from {fmt.num(best.test_loss)} (epoch {best.epoch}) to "
        f"{fmt.num(last.test_loss)} while the test accuracy held: the model grew more "
        "confident on the few points it gets wrong (not overfitting)"
    )


def _interrupted_caveat(run: TrainRun) -> str | None:
    if not run.interrupted:
        return None
    return f"stopped by Ctrl-C at epoch {run.history[-1].epoch}"


# --------------------------------------------------------------------------- the rest


def dead_share(stats: list[LayerStats], spec: ModelSpec) -> tuple[float, int] | None:
    """The share of dead units over every layer with a dead side, and their count.

    A unit is one output value of a sample (a conv layer has channels × positions)."""
    units = [
        math.prod(shape)
        for layer, shape in zip(spec.layers, spec.layer_shapes, strict=True)
        if layer.kind.weighted
    ]
    if len(stats) != len(units):  # not measured
        return None
    dead = total = 0.0
    for count, stat in zip(units, stats, strict=True):
        if stat.dead_fraction is not None:
            dead += stat.dead_fraction * count
            total += count
    return (dead / total, round(dead)) if total else None


def start_signal_ratio(run: TrainRun) -> float | None:
    """Layer 1's backpropagated signal over the last layer's, before training."""
    return signal_ratio([s.signal_norm for s in run.start])


def median_signal_ratio(history: list[EpochRecord]) -> float | None:
    """The median over the epochs of layer 1's signal over the last layer's."""
    ratios = [r for r in (signal_ratio(e.signal_norms) for e in history) if r is not None]
    return float(np.median(ratios)) if ratios else None


def _vanishing(run: TrainRun) -> str | None:
    start = start_signal_ratio(run)
    median = median_signal_ratio(run.history)
    low = [v for v in (start, median) if v is not None and v < VANISHING_RATIO]
    if not low:
        return None
    parts = []
    if start is not None:
        parts.append(f"{fmt.num(start, 2)} × the last layer's at the start")
    if median is not None:
        parts.append(f"{fmt.num(median, 2)} × as the median over {len(run.history)} epochs")
    return (
        "the backpropagated signal reaching layer 1 is "
        + " and ".join(parts)
        + f" (below {fmt.num(VANISHING_RATIO)} counts as vanishing)"
    )


def _score(record: EpochRecord) -> float:
    return record.test_accuracy if record.test_accuracy is not None else -record.test_loss


def still_improving(history: list[EpochRecord]) -> bool:
    """The last tenth of the epochs scores better than the tenth before (test accuracy up
    a point, or the train loss down 5 %)."""
    width = max(1, len(history) // 10)
    if len(history) < 2 * width or len(history) < 4:
        return len(history) > 1 and history[-1].train_loss < history[0].train_loss
    recent, before = history[-width:], history[-2 * width : -width]
    accuracy = [r.test_accuracy for r in history if r.test_accuracy is not None]
    if accuracy:
        gain = np.mean([r.test_accuracy or 0.0 for r in recent]) - np.mean(
            [r.test_accuracy or 0.0 for r in before]
        )
        if gain >= IMPROVING_ACCURACY:
            return True
    recent_loss = float(np.mean([r.train_loss for r in recent]))
    before_loss = float(np.mean([r.train_loss for r in before]))
    return before_loss > 0 and recent_loss <= IMPROVING_LOSS * before_loss


def unscaled_features(ds: Dataset) -> list[tuple[str, float]]:
    """Input features whose training standard deviation is outside :data:`SCALE_RANGE`
    (none once the inputs are standardised). Measured on at most :data:`SCALE_ROWS`
    evenly spaced training rows: a threshold of orders of magnitude needs no more, and a
    large table is not copied."""
    if getattr(ds, "standardization", None) is not None:
        return []
    rows = np.asarray(ds.x_train)
    if rows.ndim != 2 or len(rows) < 2:
        return []
    step = max(1, len(rows) // SCALE_ROWS)
    x = rows[::step].astype(np.float64)
    std = x.std(axis=0)
    low, high = SCALE_RANGE
    return [
        (name, float(s))
        for name, s in zip(ds.features, std, strict=False)
        if s > 0 and not low <= s <= high
    ]


def scale_warning(ds: Dataset) -> str | None:
    """A warning for inputs far from unit scale, with the way out."""
    bad = unscaled_features(ds)
    if not bad:
        return None
    return (
        f"input features far from unit scale: {_scale_words(bad)}; networks train best on "
        "standardised inputs: use --standardize"
    )


def _scale_words(bad: list[tuple[str, float]]) -> str:
    shown = ", ".join(f"{name} (std {fmt.num(s, 2)})" for name, s in bad[:3])
    return shown + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")


def _next_step(run: TrainRun, ds: Dataset) -> str:
    history = run.history
    base = run.baseline
    if base is not None and base.test_accuracy is not None and ds.task != "regression":
        chance = chance_accuracy(ds)
        if 1.0 - base.test_accuracy > LEARNABLE_SHARE * (1.0 - chance):
            return (
                f"the k-NN baseline scores {base.test_accuracy:.3f}, hardly better than "
                f"chance ({chance:.3f}): the inputs may not predict the target"
            )
    if still_improving(history):
        more = max(run.epochs, history[-1].epoch) * 2
        return f"still improving: train longer (--epochs {more})"
    last = history[-1]
    if last.train_accuracy is not None and last.train_accuracy < accuracy_bar(ds, base):
        return (
            f"train accuracy is low too ({last.train_accuracy:.3f}): the network may be "
            "too small: try wider or more hidden layers (--hidden), or another --lr"
        )
    return "try another --lr, --activation or --init"


def _progress_words(run: TrainRun, ds: Dataset) -> str:
    first, last = run.history[0], run.history[-1]
    drop = 1 - last.train_loss / first.train_loss if first.train_loss else 0.0
    words = (
        f"train loss {fmt.num(first.train_loss)} → {fmt.num(last.train_loss)} "
        f"({-drop:+.0%}) over {last.epoch} epochs"
    )
    if ds.task == "regression":
        r2 = run.test_r2
        bar = r2_bar(run.baseline)
        return words + (f", test R² {r2:.3f} (learned: ≥ {bar:.3f})" if r2 is not None else "")
    bar = accuracy_bar(ds, run.baseline)
    accuracy = last.test_accuracy if last.test_accuracy is not None else math.nan
    return words + (
        f", test accuracy {accuracy:.3f} (learned: ≥ {bar:.3f}; {_bar_words(ds, run.baseline)})"
    )
