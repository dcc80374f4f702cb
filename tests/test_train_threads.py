"""torch's thread count for training (nncli.core.train.threads): the rule at both ends
and at its threshold, the multiply-adds against the summary's and hand arithmetic, the
count restored after the block (on an exception too), the user's environment honoured,
and the same training history whatever the thread count."""

from __future__ import annotations

import math

import pytest
import torch

from nncli.core.model.config import load_config, parse_config
from nncli.core.model.summarize import summarize_spec
from nncli.core.train import threads, trainer
from nncli.core.train.datasets import generate
from nncli.core.train.threads import (
    PARALLEL_MULT_ADDS,
    THREAD_ENV_VARS,
    choose_threads,
    step_mult_adds,
    use_threads,
)
from nncli.core.train.trainer import RunConfig, model_spec, resolve_loss, train


@pytest.fixture(autouse=True)
def _no_user_choice(monkeypatch):
    """The rule itself: no OMP_NUM_THREADS / MKL_NUM_THREADS from the test's environment."""
    for name in THREAD_ENV_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def _found():
    """Leave torch's thread count as found, whatever a test did."""
    before = torch.get_num_threads()
    yield before
    torch.set_num_threads(before)


def _mlp(*widths: int, conv: str = ""):
    layers = "".join(f"[[layers]]\nout_features = {w}\nactivation = 'tanh'\n" for w in widths[1:-1])
    text = f"input_features = {widths[0]}\n{conv}{layers}[[layers]]\nout_features = {widths[-1]}\n"
    return parse_config(text, "test.toml")


# ------------------------------------------------------------------ mult-adds


def test_step_mult_adds_by_hand_and_as_the_summary_counts():
    mnist = load_config("mnist_mlp")
    by_hand = (784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10) * 256
    assert step_mult_adds(mnist, 256) == by_hand == 60_197_376
    assert step_mult_adds(mnist, 256) == summarize_spec(mnist, 256, "cpu").mult_adds
    tiny = _mlp(2, 16, 16, 1)
    assert step_mult_adds(tiny, 32) == (2 * 16 + 16 + 16 * 16 + 16 + 16 + 1) * 32
    for name in ("lenet5", "cifar_cnn", "demo", "deep_tanh"):  # conv, pool, batch norm
        spec = load_config(name)
        assert step_mult_adds(spec, 7) == summarize_spec(spec, 7, "cpu").mult_adds, name


# ------------------------------------------------------------------ the rule


def test_tiny_networks_get_one_thread(_found):
    with use_threads(2):
        assert choose_threads(_mlp(2, 16, 16, 1), 32, "cpu") == 1
        assert choose_threads(_mlp(2, 8, 8, 8, 8, 8, 1), 500, "cpu") == 1


def test_mnist_mlp_at_batch_256_keeps_the_default(_found):
    mnist = load_config("mnist_mlp")
    for n in (2, 3):  # the count as found, whatever it is
        with use_threads(n):
            assert choose_threads(mnist, 256, "cpu") == n
    with use_threads(2):
        assert choose_threads(mnist, 64, "cpu") == 1  # a quarter of the work: one thread


def test_the_threshold_is_where_the_rule_turns(_found):
    # 1 → 1 linear without bias: exactly `batch` mult-adds per step.
    spec = parse_config("input_features = 1\n[[layers]]\nout_features = 1\nbias = false\n")
    assert step_mult_adds(spec, 5) == 5
    with use_threads(2):
        assert choose_threads(spec, PARALLEL_MULT_ADDS - 1, "cpu") == 1
        assert choose_threads(spec, PARALLEL_MULT_ADDS, "cpu") == 2


def test_other_devices_keep_the_count(_found):
    with use_threads(2):
        assert choose_threads(_mlp(2, 16, 16, 1), 32, "cuda") == 2
        assert choose_threads(_mlp(2, 16, 16, 1), 32, "cuda:1") == 2
        assert choose_threads(_mlp(2, 16, 16, 1), 32, "mps") == 2
        assert choose_threads(_mlp(2, 16, 16, 1), 32, "cpu") == 1  # the same model on the CPU


@pytest.mark.parametrize("name", THREAD_ENV_VARS)
def test_a_thread_count_set_in_the_environment_is_honoured(monkeypatch, _found, name):
    tiny = _mlp(2, 16, 16, 1)
    with use_threads(2):
        monkeypatch.setenv(name, "2")
        assert choose_threads(tiny, 32, "cpu") == 2
        monkeypatch.setenv(name, "")  # set but empty: no choice made
        assert choose_threads(tiny, 32, "cpu") == 1


# ------------------------------------------------------------------ use_threads


def test_use_threads_sets_and_restores(_found):
    torch.set_num_threads(2)
    with use_threads(1) as n:
        assert n == 1 and torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2
    with use_threads(2):  # the count already: nothing to change
        assert torch.get_num_threads() == 2
    assert torch.get_num_threads() == 2


def test_use_threads_restores_on_an_exception(_found):
    torch.set_num_threads(2)
    with pytest.raises(KeyboardInterrupt), use_threads(1):
        assert torch.get_num_threads() == 1
        raise KeyboardInterrupt
    assert torch.get_num_threads() == 2


def test_use_threads_restores_after_the_block_changed_the_count(_found):
    torch.set_num_threads(2)
    with use_threads(1):
        torch.set_num_threads(3)
    assert torch.get_num_threads() == 2


def test_use_threads_never_touches_the_interop_count(monkeypatch, _found):
    def refuse(n):
        raise AssertionError("set_num_interop_threads called")

    monkeypatch.setattr(torch, "set_num_interop_threads", refuse)
    interop = torch.get_num_interop_threads()
    with use_threads(1):
        pass
    assert torch.get_num_interop_threads() == interop


def test_use_threads_refuses_zero():
    with pytest.raises(ValueError), use_threads(0):
        pass


# ------------------------------------------------------------------ training


def _train(monkeypatch, n: int, hidden=(16, 16), samples=200, epochs=15, batch=32):
    """A seeded run of moons on ``n`` intra-op threads (the trainer's own choice, once it
    makes one, replaced by ``n``); the history and the thread count seen in each epoch."""
    monkeypatch.setattr(trainer, "choose_threads", lambda *a, **k: n, raising=False)
    data = generate("moons", samples=samples, seed=0)
    spec = model_spec(data, config=None, hidden=hidden, activation="tanh", init=None)
    loss, _ = resolve_loss(data.task, spec, None)
    seen: list[int] = []
    with use_threads(n):
        result = train(
            data,
            RunConfig("tanh", None, "adam", 0.03, hidden, loss),
            spec,
            epochs=epochs,
            batch=batch,
            seed=0,
            device="cpu",
            progress=lambda *_: seen.append(torch.get_num_threads()),
        )
    return result, seen


def _numbers(result):
    return [
        (
            r.train_loss,
            r.test_loss,
            r.train_accuracy,
            r.test_accuracy,
            list(r.grad_norms),
            list(getattr(r, "signal_norms", [])),
        )
        for r in result.history
    ]


def test_the_history_is_the_same_on_one_and_two_threads(monkeypatch, _found):
    one, seen_one = _train(monkeypatch, 1)
    two, seen_two = _train(monkeypatch, 2)
    assert set(seen_one) == {1} and set(seen_two) == {2}
    # Bit-identical: these tensors are below every intra-op grain size, so a second
    # thread never splits their work.
    assert _numbers(one) == _numbers(two)
    for a, b in zip(one.model.parameters(), two.model.parameters(), strict=True):
        assert torch.equal(a, b)


def test_a_wider_model_agrees_across_thread_counts_to_rounding(monkeypatch, _found):
    """Where a second thread does split the work (a 256-wide layer at batch 256), the
    reductions may add in another order, so only float32 rounding is promised (on the
    2-core development machine, torch 2.13 + MKL, these were bit-identical too)."""
    one, _ = _train(monkeypatch, 1, hidden=(256, 256), samples=1000, epochs=3, batch=256)
    two, _ = _train(monkeypatch, 2, hidden=(256, 256), samples=1000, epochs=3, batch=256)
    for a, b in zip(_numbers(one), _numbers(two), strict=True):
        assert math.isclose(a[0], b[0], rel_tol=1e-4) and math.isclose(a[1], b[1], rel_tol=1e-4)


def test_train_runs_a_tiny_model_on_one_thread_and_restores_the_count(monkeypatch, _found):
    if not hasattr(trainer, "use_threads"):
        pytest.skip("trainer.train does not choose its thread count yet")
    torch.set_num_threads(2)
    data = generate("moons", samples=200, seed=0)
    spec = model_spec(data, config=None, hidden=(16, 16), activation="tanh", init=None)
    loss, _ = resolve_loss(data.task, spec, None)
    seen: list[int] = []
    train(
        data,
        RunConfig("tanh", None, "adam", 0.03, (16, 16), loss),
        spec,
        epochs=3,
        batch=32,
        seed=0,
        device="cpu",
        progress=lambda *_: seen.append(torch.get_num_threads()),
    )
    assert seen == [1, 1, 1]
    assert torch.get_num_threads() == 2
    assert threads.choose_threads(spec, 32, "cpu") == 1
