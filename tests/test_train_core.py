"""The training loop (nncli.core.train.trainer): numbers against a hand-written torch
loop, determinism, every verdict reached by a run built to reach it, loss pairing,
the model, hyperparameter checks, Ctrl-C and the memory estimate."""

from __future__ import annotations

import dataclasses
import math
import os
import signal

import numpy as np
import pytest
import torch
from torch import nn

from nncli.core.model.config import parse_config
from nncli.core.train import trainer, verdict
from nncli.core.train.datasets import generate
from nncli.core.train.optimizers import OPTIMIZERS, check_optimizer
from nncli.core.train.trainer import (
    RunConfig,
    check_hyperparameters,
    default_loss,
    estimate_bytes,
    model_spec,
    predict,
    resolve_loss,
    train,
)
from nncli.errors import RuntimeFailure, UsageError


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny models: intra-op threads only add contention (5-30× slower on a busy
    2-core machine); the numbers do not depend on the thread count."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _run(
    name="xor",
    hidden=(4,),
    activation="tanh",
    init=None,
    optimizer="adam",
    lr=0.03,
    epochs=20,
    batch=32,
    seed=0,
    samples=200,
    noise=0.0,
    loss=None,
    config=None,
    stats_every=trainer.STATS_EVERY,
    **kw,
):
    data = generate(name, samples=samples, noise=noise, seed=seed)
    if config is not None:
        spec = model_spec(data, config=config, hidden=None, activation=None, init=None)
        hidden = activation = None
    else:
        spec = model_spec(data, config=None, hidden=hidden, activation=activation, init=init)
    loss_name, _ = resolve_loss(data.task, spec, loss)
    run = RunConfig(activation, init, optimizer, lr, hidden, loss_name, **kw)
    result = train(
        data, run, spec, epochs=epochs, batch=batch, seed=seed, device="cpu",
        stats_every=stats_every,
    )  # fmt: skip
    return data, result


def _config(text: str):
    return parse_config(text, "test.toml")


# ------------------------------------------------------------------ against a hand loop


def _hand_loop(data, optimizer, lr, epochs, batch, seed, weight_decay=0.0, l1=0.0, every=1):
    """The shortest hand-written torch loop for a 2-4-1 tanh net with bce_with_logits."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))
    make = {
        "sgd": lambda p: torch.optim.SGD(p, lr=lr, weight_decay=weight_decay),
        "momentum": lambda p: torch.optim.SGD(p, lr=lr, momentum=0.9, weight_decay=weight_decay),
        "adam": lambda p: torch.optim.Adam(p, lr=lr, weight_decay=weight_decay),
        "adamw": lambda p: torch.optim.AdamW(p, lr=lr, weight_decay=weight_decay),
        "rmsprop": lambda p: torch.optim.RMSprop(p, lr=lr, weight_decay=weight_decay),
    }
    opt = make[optimizer](model.parameters())
    x = torch.from_numpy(data.x_train)
    y = torch.from_numpy(data.y_train.astype(np.float32)).reshape(-1, 1)
    xt = torch.from_numpy(data.x_test)
    yt = torch.from_numpy(data.y_test.astype(np.float32)).reshape(-1, 1)
    gen = torch.Generator().manual_seed(seed)
    loss_fn = nn.BCEWithLogitsLoss()
    rows = []
    for _ in range(epochs):
        perm = torch.randperm(len(x), generator=gen)
        total, correct, norms, sampled = 0.0, 0, [0.0, 0.0], 0
        for step, i in enumerate(range(0, len(x), batch)):
            idx = perm[i : i + batch]
            out = model(x[idx])
            loss = loss_fn(out, y[idx])
            penalty = l1 * (model[0].weight.abs().sum() + model[2].weight.abs().sum())
            opt.zero_grad()
            (loss + penalty).backward()
            if step % every == 0:
                norms[0] += model[0].weight.grad.norm().item()
                norms[1] += model[2].weight.grad.norm().item()
                sampled += 1
            opt.step()
            total += loss.item() * len(idx)
            correct += int(((out > 0).float() == y[idx]).sum())
        with torch.no_grad():
            out = model(xt)
            test_loss = loss_fn(out, yt).item()
            test_acc = ((out > 0).float() == yt).float().mean().item()
        rows.append(
            (total / len(x), test_loss, correct / len(x), test_acc, [n / sampled for n in norms])
        )
    return rows


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_history_matches_a_hand_written_loop(optimizer):
    data, result = _run(
        optimizer=optimizer, lr=0.05, epochs=4, batch=24, weight_decay=1e-3, stats_every=1
    )
    expected = _hand_loop(data, optimizer, 0.05, 4, 24, 0, weight_decay=1e-3)
    assert len(result.history) == 4
    for record, (train_loss, test_loss, train_acc, test_acc, norms) in zip(
        result.history, expected, strict=True
    ):
        assert record.train_loss == pytest.approx(train_loss, rel=1e-5)
        assert record.test_loss == pytest.approx(test_loss, rel=1e-5)
        assert record.train_accuracy == pytest.approx(train_acc)
        assert record.test_accuracy == pytest.approx(test_acc)
        assert record.grad_norms == pytest.approx(norms, rel=1e-5)


def test_l1_penalty_is_in_the_gradient_not_in_the_reported_loss():
    data, result = _run(optimizer="sgd", lr=0.1, epochs=3, batch=50, l1=0.01, stats_every=1)
    expected = _hand_loop(data, "sgd", 0.1, 3, 50, 0, l1=0.01)
    plain = _run(optimizer="sgd", lr=0.1, epochs=3, batch=50)[1]
    for record, row in zip(result.history, expected, strict=True):
        assert record.train_loss == pytest.approx(row[0], rel=1e-5)
        assert record.grad_norms == pytest.approx(row[4], rel=1e-5)
    assert result.history[-1].train_loss != plain.history[-1].train_loss


def test_same_seed_same_history_number_for_number():
    a = _run(name="moons", hidden=(8, 8), epochs=5)[1]
    b = _run(name="moons", hidden=(8, 8), epochs=5)[1]
    assert [vars(r) for r in a.history] == [vars(r) for r in b.history]
    for sa, sb in zip(a.final, b.final, strict=True):
        assert vars(sa) == vars(sb)
    c = _run(name="moons", hidden=(8, 8), epochs=5, seed=1)[1]
    assert [r.train_loss for r in c.history] != [r.train_loss for r in a.history]


def test_grad_norms_are_sampled_every_k_steps_by_default():
    # 100 training rows at batch 7: 15 steps per epoch, sampled at steps 0 and 10
    data, result = _run(epochs=2, batch=7, lr=0.05)
    expected = _hand_loop(data, "adam", 0.05, 2, 7, 0, every=trainer.STATS_EVERY)
    every_step = _hand_loop(data, "adam", 0.05, 2, 7, 0)
    for record, row, dense in zip(result.history, expected, every_step, strict=True):
        assert record.grad_norms == pytest.approx(row[4], rel=1e-5)
        assert record.grad_norms != pytest.approx(dense[4], rel=1e-5)
        assert record.train_loss == pytest.approx(row[0], rel=1e-5)  # training unchanged


# ------------------------------------------------------------------ verdicts


def test_xor_learned_by_a_2_4_1_tanh_network():
    data, result = _run(samples=500, epochs=100, lr=0.03)
    assert [m.out_features for m in result.model if isinstance(m, nn.Linear)] == [4, 1]
    assert result.history[-1].test_accuracy >= 0.95
    assert result.verdict == "learned"
    assert "test accuracy" in result.evidence
    assert result.epochs_to_learn is not None and result.epochs_to_learn <= 100
    # predict() uses the same threshold as the accuracy
    predicted = predict(result, data.x_test, data.task)
    assert np.mean(predicted == data.y_test) == pytest.approx(result.history[-1].test_accuracy)


def test_diverging_lr_stops_at_the_nan_epoch():
    _, result = _run(activation="relu", hidden=(8,), optimizer="sgd", lr=1e10, epochs=20, batch=10)
    assert result.verdict == "diverged"
    assert len(result.history) < 20  # stopped there
    assert not math.isfinite(result.history[-1].train_loss)
    assert f"epoch {result.history[-1].epoch}" in result.evidence
    assert "lr 1e+10" in result.evidence


def test_a_finite_loss_that_blew_up_is_diverged():
    _, result = _run(optimizer="sgd", lr=1e6, epochs=5, batch=10)
    assert all(math.isfinite(r.train_loss) for r in result.history)
    assert result.history[-1].train_loss > trainer.DIVERGED_GROWTH * result.initial_loss
    assert result.verdict == "diverged"
    assert "lr 1e+06" in result.evidence


def test_tiny_lr_is_flat_and_did_not_learn():
    _, result = _run(optimizer="sgd", lr=1e-6, epochs=10)
    assert result.verdict == "did not learn"
    first, last = result.history[0].train_loss, result.history[-1].train_loss
    assert abs(last - first) / first < 1e-3
    assert "over 10 epochs" in result.evidence


def test_deep_sigmoid_stack_vanishes():
    _, result = _run(
        hidden=(8, 8, 8, 8, 8, 8), activation="sigmoid", optimizer="sgd", lr=0.1, epochs=10
    )
    ratio = verdict.start_signal_ratio(result)
    assert ratio is not None and ratio < trainer.VANISHING_RATIO
    # the weight gradients show it too: layer 1 orders of magnitude below the last
    last = result.history[-1].grad_norms
    assert last[0] / last[-1] < 1e-2
    assert result.verdict == "vanishing gradients"
    # ReLU with He init on the same stack keeps layer 1's signal within 100×
    _, healthy = _run(
        hidden=(8, 8, 8, 8, 8, 8), activation="relu", init="kaiming_normal", lr=0.01, epochs=10
    )
    assert verdict.median_signal_ratio(healthy.history) > trainer.VANISHING_RATIO
    assert verdict.start_signal_ratio(healthy) > trainer.VANISHING_RATIO


DEAD = """
input_features = 2
[[layers]]
out_features = 16
activation = "relu"
[[layers]]
out_features = 16
activation = "relu"
init = "normal"
init_args = { mean = -1.0, std = 0.01 }
[[layers]]
out_features = 1
"""


def test_dead_relus():
    _, result = _run(config=_config(DEAD), optimizer="sgd", lr=0.1, epochs=5)
    dead = result.final[1].dead_fraction
    assert dead == 1.0  # every unit of layer 2 is 0 for every input
    share, count = trainer.dead_share(result.final, result.spec)
    assert share >= trainer.DEAD_SHARE and count >= 16
    assert result.verdict == "dead relus"
    assert f"{share:.0%}" in result.evidence


def test_overfitting():
    _, result = _run(
        name="moons",
        samples=40,
        noise=0.3,
        hidden=(64, 64),
        activation="relu",
        lr=0.01,
        epochs=300,
        batch=10,
    )
    last = result.history[-1]
    assert last.train_accuracy == 1.0 and last.test_accuracy < 0.8
    assert result.verdict == "overfitting"
    assert "(epoch " in result.evidence


def test_regression_learned_by_r_squared():
    data, result = _run(name="plane", hidden=(8,), epochs=60, lr=0.01)
    assert result.history[-1].train_accuracy is None
    assert result.history[-1].test_accuracy is None
    pred = predict(result, data.x_test, data.task)
    y = data.y_test.astype(np.float64)
    r2 = 1 - np.sum((pred - y) ** 2) / np.sum((y - y.mean()) ** 2)
    assert result.test_r2 == pytest.approx(r2, rel=1e-4)
    assert result.verdict == "learned"


def test_multi_class_accuracy_is_the_argmax():
    data, result = _run(name="blobs", hidden=(8,), activation="relu", epochs=10)
    assert result.spec.output_features == data.classes
    pred = predict(result, data.x_test, data.task)
    assert np.mean(pred == data.y_test) == pytest.approx(result.history[-1].test_accuracy)


def test_learned_bar_depends_on_chance():
    data = generate("blobs", samples=300, classes=3, seed=0)
    counts = np.bincount(data.y_test)
    chance = counts.max() / counts.sum()
    assert trainer.accuracy_bar(data) == pytest.approx(1 - 0.2 * (1 - chance))


# ------------------------------------------------------------------ layer statistics


def test_layer_stats_against_direct_computation():
    data, result = _run(name="moons", hidden=(6, 5), activation="sigmoid", epochs=2)
    x = torch.from_numpy(data.x_train[: trainer.STATS_ROWS])
    y = torch.from_numpy(data.y_train[: trainer.STATS_ROWS].astype(np.float32)).reshape(-1, 1)
    model = result.model
    model.zero_grad()
    h1 = torch.sigmoid(model[0](x))
    out = model[4](torch.sigmoid(model[2](h1)))
    nn.functional.binary_cross_entropy_with_logits(out, y).backward()
    first = result.final[0]
    assert first.layer == "linear1" and first.activation == "sigmoid"
    assert first.mean == pytest.approx(h1.mean().item(), rel=1e-5)
    assert first.std == pytest.approx(h1.std(correction=0).item(), rel=1e-5)
    slope = h1 * (1 - h1)  # σ' from σ
    assert first.saturated_fraction == pytest.approx((slope < 0.01).float().mean().item())
    assert first.dead_fraction is None  # sigmoid has no dead side
    assert first.grad_norm == pytest.approx(model[0].weight.grad.norm().item(), rel=1e-5)
    output = result.final[-1]
    assert output.activation is None and output.saturated_fraction is None
    assert output.mean == pytest.approx(out.mean().item(), rel=1e-5)


def test_dead_fraction_counts_units_dead_for_every_input():
    _, result = _run(name="moons", hidden=(16,), activation="relu", epochs=1)
    data = generate("moons", samples=200, seed=0)
    h = torch.relu(result.model[0](torch.from_numpy(data.x_train)))
    expected = (h == 0).all(dim=0).float().mean().item()
    assert result.final[0].dead_fraction == pytest.approx(expected)
    assert result.final[0].saturated_fraction is None  # ReLU does not saturate


# ------------------------------------------------------------------ loss pairing


def _spec(out_activation, outputs=1, inputs=2):
    act = f'activation = "{out_activation}"\n' if out_activation else ""
    return _config(
        f'input_features = {inputs}\n[[layers]]\nout_features = 4\nactivation = "tanh"\n'
        f"[[layers]]\nout_features = {outputs}\n{act}"
    )


def test_default_loss_follows_task_and_output_layer():
    assert default_loss("binary", _spec(None)) == ("bce_with_logits", [])
    assert default_loss("binary", _spec("sigmoid")) == ("bce", [])
    assert default_loss("multi-class", _spec(None, 3)) == ("cross_entropy", [])
    assert default_loss("regression", _spec(None)) == ("mse", [])
    name, warnings = default_loss("multi-class", _spec("softmax", 3))
    assert name == "cross_entropy" and "double softmax" in warnings[0]


def test_pitfall_pairings_warn():
    _, warnings = resolve_loss("binary", _spec("sigmoid"), "bce_with_logits")
    assert "sigmoid" in warnings[0] and "bce_with_logits" in warnings[0]
    assert resolve_loss("binary", _spec(None), "bce_logits") == ("bce_with_logits", [])


def test_bad_loss_choices():
    with pytest.raises(UsageError, match="cannot train a binary task"):
        resolve_loss("binary", _spec(None), "cross_entropy")
    with pytest.raises(UsageError, match="needs probabilities"):
        resolve_loss("binary", _spec(None), "bce")
    with pytest.raises(UsageError, match="cannot train a multi-class task"):
        resolve_loss("multi-class", _spec(None, 3), "nll")
    with pytest.raises(UsageError, match="unknown loss"):
        resolve_loss("regression", _spec(None), "nope")


@pytest.mark.parametrize(
    ("task", "loss"),
    [(t, name) for t, names in trainer.TASK_LOSSES.items() for name in names],
)
def test_every_allowed_loss_trains(task, loss):
    name = {"binary": "xor", "multi-class": "blobs", "regression": "sine"}[task]
    config = _spec("sigmoid") if loss == "bce" else None
    data = generate(name, samples=60, seed=0)
    if loss == "poisson_nll":  # counts: sine's targets made non-negative
        data = dataclasses.replace(data, y_train=np.abs(data.y_train), y_test=np.abs(data.y_test))
    spec = model_spec(
        data, config=config, hidden=None if config else (4,), activation=None, init=None
    )
    chosen, _ = resolve_loss(data.task, spec, loss)
    run = RunConfig(None, None, "adam", 0.01, None, chosen)
    result = train(data, run, spec, epochs=2, batch=10, seed=0, device="cpu")
    assert chosen == loss
    assert math.isfinite(result.history[-1].train_loss)
    assert result.history[-1].train_loss != result.initial_loss  # it trained


def test_poisson_needs_counts():
    with pytest.raises(UsageError, match="poisson_nll needs targets ≥ 0"):
        _run(name="sine", loss="poisson_nll", epochs=1, samples=60, batch=10)


def test_signed_loss_accuracy_uses_a_zero_threshold():
    data, result = _run(loss="soft_margin", epochs=30, samples=300)
    pred = predict(result, data.x_test, data.task)
    assert np.mean(pred == data.y_test) == pytest.approx(result.history[-1].test_accuracy)


@pytest.mark.parametrize(
    ("loss", "out", "expected"),
    [
        ("bce_with_logits", 0.0, 0.5),
        ("bce_with_logits", 2.0, 1 / (1 + math.exp(-2.0))),
        ("soft_margin", -1.0, 1 / (1 + math.exp(1.0))),  # log(1 + e^(−y·s)) is logistic
        ("bce", 0.3, 0.3),  # already a probability
        ("mse", 1.4, 1.0),  # a label estimate, clipped
        ("mse", -0.2, 0.0),
    ],
)
def test_binary_probability_reads_the_output_as_its_loss_does(loss, out, expected):
    got = trainer.binary_probability(loss, torch.tensor([out]))
    assert got.item() == pytest.approx(expected, rel=1e-6)
    # the 0.5 probability is the accuracy's decision threshold for every loss
    threshold = 0.0 if loss in ("bce_with_logits", "soft_margin") else 0.5
    assert (got.item() > 0.5) == (out > threshold)


# ------------------------------------------------------------------ the model


def test_inline_model_spec():
    data = generate("blobs", samples=100, classes=4, seed=0)
    spec = model_spec(data, config=None, hidden=(8, 3), activation=None, init="xavier_normal")
    assert spec.input_features == 2
    assert [layer.out_features for layer in spec.layers] == [8, 3, 4]
    assert [layer.activation for layer in spec.layers] == ["tanh", "tanh", None]
    assert {layer.init for layer in spec.layers} == {"xavier_normal"}
    linear_only = model_spec(data, config=None, hidden=(), activation=None, init=None)
    assert [layer.out_features for layer in linear_only.layers] == [4]


def test_config_sizes_must_match_the_data():
    data = generate("xor", samples=100, seed=0)
    with pytest.raises(UsageError, match=r"input_features is 3, but the data has 2 input features"):
        model_spec(data, config=_spec(None, 1, 3), hidden=None, activation=None, init=None)
    with pytest.raises(UsageError, match=r"has 3 outputs, but a binary task .* needs 1 logit"):
        model_spec(data, config=_spec(None, 3), hidden=None, activation=None, init=None)
    with pytest.raises(UsageError, match="leave out --hidden"):
        model_spec(data, config=_spec(None), hidden=(4,), activation=None, init=None)


def test_bad_model_options():
    data = generate("xor", samples=100, seed=0)
    with pytest.raises(UsageError, match="--hidden must be at least 1"):
        model_spec(data, config=None, hidden=(4, 0), activation=None, init=None)
    with pytest.raises(UsageError, match="unknown activation"):
        model_spec(data, config=None, hidden=(4,), activation="nope", init=None)
    with pytest.raises(UsageError, match="unknown init"):
        model_spec(data, config=None, hidden=(4,), activation=None, init="nope")


# ------------------------------------------------------------------ hyperparameters


GOOD = {"lr": 0.1, "epochs": 1, "batch": 10, "samples": 100, "weight_decay": 0.0, "l1": 0.0}


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("lr", 0.0, "--lr must be greater than 0"),
        ("lr", -1.0, "--lr must be greater than 0"),
        ("lr", math.nan, "--lr must be finite"),
        ("lr", math.inf, "--lr must be finite"),
        ("epochs", 0, "--epochs must be at least 1"),
        ("batch", 0, "--batch must be at least 1"),
        ("batch", 101, r"--batch must be at most the number of training samples \(100\)"),
        ("weight_decay", -0.1, "--weight-decay must be at least 0"),
        ("weight_decay", math.inf, "--weight-decay must be finite"),
        ("l1", -1e-9, "--l1 must be at least 0"),
        ("l1", math.nan, "--l1 must be finite"),
    ],
)
def test_bad_hyperparameters(key, value, message):
    with pytest.raises(UsageError, match=message):
        check_hyperparameters(**{**GOOD, key: value})


def test_good_hyperparameters_pass():
    check_hyperparameters(**{**GOOD, "batch": 100})


def test_unknown_optimizer():
    with pytest.raises(UsageError, match="unknown optimizer 'adma'"):
        check_optimizer("adma")
    assert check_optimizer("Adam") == "adam"


# ------------------------------------------------------------------ Ctrl-C


def test_ctrl_c_stops_after_the_current_step(monkeypatch):
    data = generate("xor", samples=200, seed=0)
    spec = model_spec(data, config=None, hidden=(4,), activation="tanh", init=None)
    run = RunConfig("tanh", None, "adam", 0.03, (4,), "bce_with_logits")
    previous = signal.getsignal(signal.SIGINT)
    adam = OPTIMIZERS["adam"]
    steps = []

    def counting(params, lr, weight_decay):
        optimizer = adam.make(params, lr, weight_decay)
        step = optimizer.step

        def step_then_signal(*args, **kwargs):
            steps.append(1)
            if len(steps) == 7:  # Ctrl-C in the middle of epoch 4's first of two steps
                os.kill(os.getpid(), signal.SIGINT)
            return step(*args, **kwargs)

        optimizer.step = step_then_signal
        return optimizer

    monkeypatch.setitem(OPTIMIZERS, "adam", dataclasses.replace(adam, make=counting))
    result = train(data, run, spec, epochs=50, batch=50, seed=0, device="cpu")
    assert result.interrupted
    assert len(steps) == 7  # the step in flight finished, and no other began
    assert [r.epoch for r in result.history] == [1, 2, 3, 4]
    assert result.history[-1].partial and result.history[-1].steps == 1
    assert not result.history[2].partial and result.history[2].steps == 2
    assert signal.getsignal(signal.SIGINT) is previous  # the handler is restored
    monkeypatch.setitem(OPTIMIZERS, "adam", adam)
    full = train(data, run, spec, epochs=3, batch=50, seed=0, device="cpu")
    assert [vars(r) for r in full.history] == [vars(r) for r in result.history[:3]]


def test_ctrl_c_between_epochs_stops_before_the_next():
    data = generate("xor", samples=200, seed=0)
    spec = model_spec(data, config=None, hidden=(4,), activation="tanh", init=None)
    run = RunConfig("tanh", None, "adam", 0.03, (4,), "bce_with_logits")

    def progress(epoch, epochs, metrics):
        if epoch == 3:
            os.kill(os.getpid(), signal.SIGINT)

    result = train(data, run, spec, epochs=50, batch=100, seed=0, device="cpu", progress=progress)
    assert result.interrupted
    assert [r.epoch for r in result.history] == [1, 2, 3]
    assert not result.history[-1].partial


def test_keyboard_interrupt_from_a_callback_stops_the_run():
    data = generate("xor", samples=100, seed=0)
    spec = model_spec(data, config=None, hidden=(4,), activation="tanh", init=None)
    run = RunConfig("tanh", None, "sgd", 0.1, (4,), "bce_with_logits")

    def progress(epoch, epochs, metrics):
        assert set(metrics) >= {"train_loss", "test_loss", "test_accuracy"}
        if epoch == 2:
            raise KeyboardInterrupt

    result = train(data, run, spec, epochs=10, batch=10, seed=0, device="cpu", progress=progress)
    assert result.interrupted and len(result.history) == 2
    assert result.verdict  # judged on the epochs so far


# ------------------------------------------------------------------ memory


def test_memory_estimate_is_checked_before_allocating(monkeypatch):
    data = generate("xor", samples=100, seed=0)
    spec = model_spec(data, config=None, hidden=(1000, 1000), activation="tanh", init=None)
    needed = estimate_bytes(data, spec, 10)
    assert needed >= 4 * 4 * spec.linear_params()  # weights, grads, two moments
    assert estimate_bytes(data, spec, 10, "cuda") > needed  # the data is copied there
    monkeypatch.setenv("NNCLI_MEMORY_LIMIT", str(needed - 1))
    run = RunConfig("tanh", None, "adam", 0.1, (1000, 1000), "bce_with_logits")
    with pytest.raises(RuntimeFailure, match="training needs about"):
        train(data, run, spec, epochs=1, batch=10, seed=0, device="cpu")
    monkeypatch.setenv("NNCLI_MEMORY_LIMIT", str(needed))
    train(data, run, spec, epochs=1, batch=10, seed=0, device="cpu")
