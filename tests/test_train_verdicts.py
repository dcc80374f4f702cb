"""Every verdict of ``train`` is a claim: each is reached by a run built to reach it, and
not by runs built to fool it (easy data learned perfectly, a diverging lr, unscaled
inputs, noisy data, pure noise, a stopped run). The thresholds are checked on both
sides with built histories; the signal norms against a hand-written autograd pass."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from torch import nn

from nncli.core.train import verdict
from nncli.core.train.datasets import generate
from nncli.core.train.plan import plan_runs
from nncli.core.train.records import EpochRecord, LayerStats, RunConfig, TrainRun
from nncli.core.train.trainer import model_spec, train


@dataclass(frozen=True)
class _Base:
    """A stand-in baseline with a given score (the real one: test_train_baseline.py)."""

    method: str = "k-nearest neighbours (k=5)"
    k: int = 5
    test_accuracy: float | None = None
    test_r2: float | None = None
    train_rows: int = 0
    test_rows: int = 0


def _train(name="xor", *, hidden=(8, 8), activation=None, init=None, optimizer="adam",
           lr=0.03, epochs=100, batch=32, samples=500, noise=0.0, seed=0, scale=1.0,
           data=None, **kw):  # fmt: skip
    ds = data if data is not None else generate(name, samples=samples, noise=noise, seed=seed, **kw)
    if scale != 1.0:
        ds.x_train, ds.x_test = ds.x_train * scale, ds.x_test * scale
    plan = plan_runs(
        ds, config=None, hidden=hidden, activations=[activation], inits=[init],
        optimizers=[optimizer], lrs=[lr], loss=None, weight_decay=0.0, l1=0.0,
    )[0]  # fmt: skip
    run = train(ds, plan.config, plan.spec, epochs=epochs, batch=min(batch, len(ds.y_train)),
                seed=seed, device="cpu")  # fmt: skip
    return ds, run


# ------------------------------------------------------------------ built histories

_DATA = generate("xor", samples=200, seed=0)
_SPEC = model_spec(_DATA, config=None, hidden=(4,), activation="tanh", init=None)


def _rec(epoch, train_loss=0.5, test_loss=0.5, acc=0.5, train_acc=None, signal=(1.0, 1.0)):
    return EpochRecord(
        epoch, train_loss, test_loss, acc if train_acc is None else train_acc, acc,
        [1.0, 1.0], 1, signal_norms=list(signal),
    )  # fmt: skip


def _stats(signal=1.0, dead=None):
    return LayerStats("0", "tanh", 0.0, 1.0, dead, None, 1.0, signal_norm=signal)


def _judged(history, *, initial=0.7, start=(1.0, 1.0), base=None, interrupted=False,
            data=_DATA):  # fmt: skip
    run = TrainRun(
        RunConfig("tanh", None, "sgd", 0.1, (4,), "bce_with_logits"), _SPEC, history,
        [_stats(s) for s in start], [_stats(), _stats()], "", "", nn.Linear(1, 1),
        initial_loss=initial, baseline=base, interrupted=interrupted, epochs=len(history),
    )  # fmt: skip
    return verdict.judge(run, data)


def _flat(n, **kw):
    return [_rec(e, **kw) for e in range(1, n + 1)]


def test_learned_at_the_bar_and_not_below():
    bar = verdict.accuracy_bar(_DATA)
    assert bar == pytest.approx(0.9)  # two balanced classes: 20 % of chance's 0.5 error
    assert _judged(_flat(3, acc=bar)).verdict == "learned"
    assert _judged(_flat(3, acc=bar - 0.01)).verdict == "did not learn"


def test_diverged_on_any_epoch_far_above_the_start():
    ok = _flat(5, train_loss=0.5)
    assert _judged(ok).verdict == "did not learn"
    spike = [*_flat(2), _rec(3, train_loss=1.4), *_flat(2)]  # exactly 2× the start (0.7)
    judged = _judged(spike)
    assert judged.verdict == "diverged" and "epoch 3" in judged.evidence
    assert judged.next_step == "lower --lr (try 0.01)"
    assert _judged([*_flat(2), _rec(3, train_loss=1.39)]).verdict == "did not learn"
    assert _judged([_rec(1, train_loss=math.nan)]).verdict == "diverged"
    assert _judged([_rec(1, test_loss=math.inf)]).verdict == "diverged"
    # even when the accuracy ended high: a run that blew up on the way teaches "lower lr"
    assert _judged([_rec(1, train_loss=5.0), *_flat(4, acc=1.0)]).verdict == "diverged"


def test_oscillation_is_unstable():
    losses = [0.5, 0.7] * 10  # the test loss jumps 40 % every other epoch
    history = [_rec(e, test_loss=v) for e, v in enumerate(losses, 1)]
    judged = _judged(history)
    assert judged.verdict == "diverged" and "unstable" in judged.evidence
    calm = [_rec(e, test_loss=0.5 + 0.01 * (e % 2)) for e in range(1, 21)]
    assert _judged(calm).verdict == "did not learn"
    # a run that learned all the same gets it as a caveat
    learned = [_rec(e, test_loss=v, acc=0.97) for e, v in enumerate(losses, 1)]
    judged = _judged(learned)
    assert judged.verdict == "learned" and "a lower --lr" in (judged.caveat or "")
    # the noise of a small loss is not oscillation: 0.04 -> 0.06 is 50 %, but only 3 % of
    # the loss before training (0.7)
    small = [_rec(e, test_loss=v) for e, v in enumerate([0.04, 0.06] * 10, 1)]
    assert _judged(small).verdict == "did not learn"
    # too few epochs in the last half to call it oscillation
    short = [_rec(e, test_loss=v) for e, v in enumerate([0.5, 0.7] * 9, 1)]
    assert _judged(short).verdict == "did not learn"


def test_a_spike_that_loses_the_run_is_diverged_and_a_recovered_one_a_caveat():
    learned = [_rec(e, train_loss=0.7 - 0.06 * e, acc=0.95) for e in range(1, 11)]  # to 0.1
    low = [_rec(11, train_loss=0.05, acc=0.97)]
    spike = [_rec(12, train_loss=0.4, acc=0.6)]  # back above half of the start (0.35)
    lost = [_rec(e, train_loss=0.3, acc=0.8) for e in range(13, 16)]
    judged = _judged(learned + low + spike + lost)
    assert judged.verdict == "diverged" and "jumped back to 0.4 at epoch 12" in judged.evidence
    assert "lower --lr" in (judged.next_step or "")
    recovered = [_rec(e, train_loss=0.05, acc=0.97) for e in range(13, 16)]
    judged = _judged(learned + low + spike + recovered)
    assert judged.verdict == "learned" and "jumped back" in (judged.caveat or "")
    # not a spike: the loss never fell below a tenth of the start, or never came back
    # above half of it
    assert _judged([*learned[:5], _rec(6, train_loss=0.4, acc=0.6)]).verdict == "did not learn"
    assert spike_free(learned + low + [_rec(12, train_loss=0.34, acc=0.6)])


def spike_free(history):
    run = TrainRun(
        RunConfig("tanh", None, "sgd", 0.1, (4,), "bce_with_logits"), _SPEC, history,
        [], [], "", "", nn.Linear(1, 1), initial_loss=0.7,
    )  # fmt: skip
    return verdict.spike(run) is None


def test_overfitting_needs_the_test_accuracy_to_fall_or_a_gap():
    rising = [_rec(e, acc=0.95, train_acc=0.95) for e in range(1, 21)]
    fell = rising[:10] + [_rec(e, acc=0.89, train_acc=0.99) for e in range(11, 21)]
    judged = _judged(fell)
    assert judged.verdict == "overfitting" and "fell from 0.950" in judged.evidence
    # a fall smaller than OVERFIT_DROP is a caveat on "learned", not overfitting
    small = rising[:10] + [_rec(e, acc=0.91, train_acc=0.97) for e in range(11, 21)]
    judged = _judged(small)
    assert judged.verdict == "learned" and "slipped from 0.950" in (judged.caveat or "")
    tiny = rising[:10] + [_rec(e, acc=0.935, train_acc=0.97) for e in range(11, 21)]
    assert _judged(tiny).caveat is None
    # a run near chance whose test accuracy wanders is not overfitting: it fits nothing
    wander = [_rec(e, acc=0.62, train_acc=0.6) for e in range(1, 11)]
    wander += [_rec(e, acc=0.52, train_acc=0.62) for e in range(11, 21)]
    assert _judged(wander).verdict == "did not learn"
    # a gap of 15 points: memorised the training rows
    gap = [_rec(e, acc=0.80, train_acc=0.95) for e in range(1, 21)]
    assert _judged(gap).verdict == "overfitting"
    assert _judged([_rec(e, acc=0.81, train_acc=0.95) for e in range(1, 21)]).verdict == (
        "did not learn"
    )


def test_loss_creep_with_steady_accuracy_is_learned_with_a_caveat():
    history = [_rec(e, test_loss=0.04 if e < 10 else 0.06, acc=0.98) for e in range(1, 21)]
    judged = _judged(history)
    assert judged.verdict == "learned"
    assert judged.caveat is not None and "confident" in judged.caveat


def test_vanishing_is_judged_on_the_signal_at_the_start_or_over_training():
    assert _judged(_flat(5), start=(0.0099, 1.0)).verdict == "vanishing gradients"
    assert _judged(_flat(5), start=(0.01, 1.0)).verdict == "did not learn"
    assert _judged(_flat(5, signal=(0.005, 1.0))).verdict == "vanishing gradients"
    judged = _judged(_flat(5, signal=(0.005, 1.0)))
    assert "relu" in (judged.next_step or "")


def test_inconclusive_on_a_tiny_test_set():
    small = generate("xor", samples=30, seed=0)  # 8 test rows per class
    judged = _judged(_flat(3, acc=1.0), data=small)
    rows = len(small.y_test)
    assert rows < verdict.MIN_TEST_ROWS
    assert judged.verdict == "inconclusive" and f"{rows} rows" in judged.evidence
    assert "--samples" in (judged.next_step or "")


def test_interrupted_unless_learned():
    judged = _judged(_flat(3, acc=0.6), interrupted=True)
    assert judged.verdict == "interrupted" and "epoch 3" in judged.evidence
    learned = _judged(_flat(3, acc=0.99), interrupted=True)
    assert learned.verdict == "learned" and "Ctrl-C" in (learned.caveat or "")
    assert _judged([]).verdict == "interrupted"


def test_the_bar_follows_the_baseline_on_noisy_data():
    noisy = _Base(test_accuracy=0.82)  # chance 0.5: the data allow about 0.82
    bar = verdict.accuracy_bar(_DATA, noisy)
    assert bar == pytest.approx(0.79)
    assert _judged(_flat(3, acc=0.80), base=noisy).verdict == "learned"
    assert _judged(_flat(3, acc=0.78), base=noisy).verdict == "did not learn"
    # a baseline near chance gives no easier bar: there is nothing to learn
    at_chance = _Base(test_accuracy=0.55)
    assert verdict.accuracy_bar(_DATA, at_chance) == pytest.approx(0.9)
    judged = _judged(_flat(3, acc=0.55), base=at_chance)
    assert judged.verdict == "did not learn"
    assert "may not predict" in (judged.next_step or "")


def test_next_steps_for_did_not_learn():
    improving = [_rec(e, acc=0.5 + 0.01 * e) for e in range(1, 21)]
    judged = _judged(improving)
    assert judged.verdict == "did not learn"
    assert judged.next_step == "still improving: train longer (--epochs 40)"
    stuck = _flat(20, acc=0.7)
    assert "too small" in (_judged(stuck).next_step or "")


def test_smoothed_is_a_trailing_mean():
    assert verdict.smoothed([1.0, 2.0, 3.0, 4.0], share=0.5) == [1.0, 1.5, 2.5, 3.5]
    assert verdict.smoothed([1.0, 5.0], share=0.01) == [1.0, 5.0]


# ------------------------------------------------------------------ the signal norms


def test_signal_norms_match_a_hand_written_autograd_pass():
    """δ of each linear layer on the epoch's first step, by retain_grad, by hand."""
    ds = generate("moons", samples=120, seed=3)
    spec = model_spec(ds, config=None, hidden=(6, 5), activation="sigmoid", init=None)
    config = RunConfig("sigmoid", None, "sgd", 0.1, (6, 5), "bce_with_logits")
    run = train(ds, config, spec, epochs=1, batch=20, seed=3, device="cpu", stats_every=10**6)
    torch.manual_seed(3)
    model = nn.Sequential(
        nn.Linear(2, 6), nn.Sigmoid(), nn.Linear(6, 5), nn.Sigmoid(), nn.Linear(5, 1)
    )
    perm = torch.randperm(len(ds.x_train), generator=torch.Generator().manual_seed(3))
    idx = perm[:20]
    x = torch.from_numpy(ds.x_train)[idx]
    y = torch.from_numpy(ds.y_train.astype(np.float32)).reshape(-1, 1)[idx]
    outs, h = [], x
    for module in model:
        h = module(h)
        if isinstance(module, nn.Linear):
            h.retain_grad()
            outs.append(h)
    nn.BCEWithLogitsLoss()(h, y).backward()
    expected = [float(o.grad.norm()) for o in outs]
    assert run.history[0].signal_norms == pytest.approx(expected, rel=1e-5)
    # and the start statistics: the same quantity over the statistics rows
    assert all(s.signal_norm > 0 for s in run.start)


def test_the_probe_leaves_no_hooks_behind():
    _, run = _train(epochs=2, samples=100)
    for module in run.model.modules():
        assert not module._forward_hooks


# ------------------------------------------------------------------ real runs (the cases)


@pytest.mark.parametrize(
    "name,kw",
    [
        ("xor", {"optimizer": "sgd"}),
        ("xor", {"activation": "relu", "optimizer": "sgd"}),
        ("moons", {"activation": "relu", "hidden": (16, 16)}),
        ("circles", {"optimizer": "momentum"}),
        ("xor", {}),
    ],
)
def test_lr_10_is_diverged_with_lower_lr(name, kw):
    _, run = _train(name, lr=10, **kw)
    assert run.verdict == "diverged", run.evidence
    assert run.next_step is not None and "lower --lr" in run.next_step


def test_xor_defaults_are_learned_not_overfitting():
    _, run = _train("xor")
    assert run.verdict == "learned", run.evidence


@pytest.mark.parametrize("lr,optimizer", [(0.1, "adam"), (1.0, "sgd"), (0.1, "momentum")])
def test_healthy_learning_rates_are_not_called_diverged(lr, optimizer):
    _, run = _train("circles", lr=lr, optimizer=optimizer)
    assert run.verdict == "learned", run.evidence


def test_deep_sigmoid_stack_vanishes_from_the_start_and_relu_does_not():
    kw = {"hidden": (8, 8, 8, 8, 8), "epochs": 60, "lr": 0.01}
    _, sig = _train("spiral", activation="sigmoid", init="xavier_normal", **kw)
    assert sig.verdict == "vanishing gradients", sig.evidence
    assert verdict.start_signal_ratio(sig) < verdict.VANISHING_RATIO
    _, relu = _train("spiral", activation="relu", init="kaiming_normal", **kw)
    assert relu.verdict != "vanishing gradients"
    assert verdict.start_signal_ratio(relu) > verdict.VANISHING_RATIO


def test_tiny_inputs_are_not_vanishing_gradients():
    """xor × 1e-4: the weight gradients of layer 1 are tiny, the signal is not."""
    _, run = _train("xor", scale=1e-4, epochs=30)
    assert run.verdict != "vanishing gradients", run.evidence
    assert verdict.start_signal_ratio(run) > verdict.VANISHING_RATIO
    assert run.start[0].grad_norm / run.start[-1].grad_norm < verdict.VANISHING_RATIO
    if run.verdict == "did not learn":
        assert "--standardize" in (run.next_step or "")


def test_noisy_moons_can_be_learned():
    _, run = _train("moons", noise=0.5)
    assert run.baseline is not None and run.baseline.test_accuracy < 0.9
    assert run.verdict == "learned", run.evidence


def test_pure_noise_is_not_learned(tmp_path):
    """100 rows, 2 positives, random features: the stratified split puts one positive in
    each side, and neither the network nor the baseline can be called learned."""
    from nncli.core.train.datasets import load_table

    rng = np.random.default_rng(0)
    table = np.column_stack([rng.normal(size=(100, 3)), np.zeros(100)])
    table[rng.choice(100, 2, replace=False), -1] = 1
    path = tmp_path / "noise.csv"
    np.savetxt(path, table, delimiter=",", header="a,b,c,y", comments="", fmt="%.6f")
    ds = load_table(str(path))
    assert sorted(np.bincount(ds.y_test.astype(int))) == [1, 49]
    _, run = _train(data=ds, epochs=50)
    assert run.verdict != "learned", run.evidence
