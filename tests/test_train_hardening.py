"""Issue 15, items 5, 6, 7, 14, 15 and 18: configs that torch would refuse at run time
(reflect/circular "same" padding, batch norm on one value per channel), a model
with nothing to train, ``--hidden ''``, ``--features`` with ``--data``, and the
warning before a long training run."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

from nncli.core.model.config import parse_config
from nncli.errors import UsageError

SMALL = ("--samples", "40", "--epochs", "2", "--batch", "8", "--hidden", "4", "--quiet")


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


# --- 5: "same" padding with reflect or circular padding_mode --------------------------


def _same_conv(h: int, w: int, kernel: int, dilation: int, mode: str) -> str:
    return f"""
input_shape = [1, {h}, {w}]
[[layers]]
type = "conv2d"
out_channels = 2
kernel_size = {kernel}
dilation = {dilation}
padding = "same"
padding_mode = "{mode}"
[[layers]]
type = "flatten"
"""


@pytest.mark.parametrize("mode", ["reflect", "circular", "replicate", "zeros"])
def test_same_padding_is_checked_as_torch_checks_it(mode: str) -> None:
    """The shape check agrees with torch on every size, kernel and dilation tried."""
    import torch
    from torch import nn

    checked = 0
    for (h, w), kernel, dilation in itertools.product(
        [(1, 1), (2, 2), (2, 5), (3, 3), (4, 1)], [1, 2, 3, 4, 5, 7], [1, 2]
    ):
        text = _same_conv(h, w, kernel, dilation, mode)
        conv = nn.Conv2d(1, 2, kernel, dilation=dilation, padding="same", padding_mode=mode)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # torch's note on even kernels with "same"
                torch_shape = tuple(conv(torch.zeros(1, 1, h, w)).shape[1:])
        except (RuntimeError, ValueError):
            torch_shape = None
        try:
            ours = parse_config(text).layer_shapes[0]
        except UsageError as error:
            assert torch_shape is None, (h, w, kernel, dilation, error.message)
            assert "layers[1] (conv2d)" in error.message
            assert mode in error.message
            checked += 1
        else:
            assert ours == torch_shape, (h, w, kernel, dilation)
    if mode in ("reflect", "circular"):
        assert checked > 0  # some of the cases are too wide, and were refused


@pytest.mark.parametrize("command", ["summary", "run"])
@pytest.mark.parametrize("mode", ["reflect", "circular"])
def test_a_same_padded_kernel_wider_than_its_input_is_exit_2(cli, tmp_path, command, mode):
    config = _write(tmp_path, "wide.toml", _same_conv(2, 2, 7, 1, mode))
    out = cli(command, "--config", config)
    assert out.exit_code == 2, out.stderr
    assert "layers[1] (conv2d)" in out.stderr
    assert "padding 'same'" in out.stderr
    assert "SomeType" not in out.stderr and "RuntimeError" not in out.stderr


# --- 6: batch norm with one value per channel ------------------------------------------

BN_MLP = """
input_features = 2
[[layers]]
out_features = 4
[[layers]]
type = "batchnorm1d"
[[layers]]
out_features = 1
"""


def _pooled_bn(track: bool, kind: str = "batchnorm2d") -> str:
    flatten_first = kind == "batchnorm1d"
    layers = [
        '[[layers]]\ntype = "conv2d"\nout_channels = 4\nkernel_size = 3\npadding = 1',
        '[[layers]]\ntype = "adaptiveavgpool2d"\noutput_size = 1',
    ]
    norm = f'[[layers]]\ntype = "{kind}"\ntrack_running_stats = {str(track).lower()}'
    flatten = '[[layers]]\ntype = "flatten"'
    layers += [flatten, norm] if flatten_first else [norm, flatten]
    layers.append("[[layers]]\nout_features = 2")
    return "input_shape = [3, 4, 4]\n" + "\n".join(layers) + "\n"


def test_a_last_batch_of_one_row_joins_the_one_before_with_batch_norm(cli, tmp_path):
    """66 points, half for training: batches of 32 and 1 rows, or one of 33 with batch norm."""
    config = _write(tmp_path, "bn.toml", BN_MLP)
    args = ("--samples", "66", "--batch", "32", "--epochs", "3", "--json")
    out = cli("train", "xor", "--config", config, *args)
    assert out.exit_code == 0, out.stderr
    history = out.json()["runs"][0]["history"]
    assert [r["steps"] for r in history] == [1, 1, 1]
    plain = cli("train", "xor", "--hidden", "4", *args)
    assert plain.exit_code == 0, plain.stderr
    assert [r["steps"] for r in plain.json()["runs"][0]["history"]] == [2, 2, 2]


def test_the_folded_epoch_is_torchs_loop_over_those_batches():
    """The fold changes the batches only: a hand-written loop over them gives the same loss."""
    import torch

    from nncli.core.model.build import build_model
    from nncli.core.train import datasets
    from nncli.core.train.trainer import RunConfig, train

    ds = datasets.generate("xor", samples=66, seed=3)
    spec = parse_config(BN_MLP)
    run = RunConfig(None, None, "sgd", 0.1, None, "bce_with_logits")
    result = train(ds, run, spec, epochs=2, batch=16, seed=3, device="cpu")
    model = build_model(spec, "cpu", seed=3).model
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.as_tensor(ds.x_train)
    y = torch.as_tensor(ds.y_train, dtype=torch.float32).reshape(-1, 1)
    generator = torch.Generator().manual_seed(3)
    for epoch in range(2):
        order = torch.randperm(len(x), generator=generator)
        bounds = [(0, 16), (16, 33)]  # 33 rows: 16 and 17, never 16, 16 and 1
        total = 0.0
        for begin, end in bounds:
            index = order[begin:end]
            loss = torch.nn.functional.binary_cross_entropy_with_logits(model(x[index]), y[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * (end - begin)
        assert result.history[epoch].steps == 2
        assert result.history[epoch].train_loss == pytest.approx(total / 33, rel=1e-5)


def test_batch_1_is_refused_when_batch_norm_sees_one_value(cli, tmp_path):
    config = _write(tmp_path, "bn.toml", BN_MLP)
    out = cli("train", "xor", "--config", config, "--samples", "40", "--batch", "1", "--quiet")
    assert out.exit_code == 2, out.stderr
    assert "layers[2] (batchnorm1d)" in out.stderr
    assert "--batch 2" in out.stderr


def test_a_test_set_of_one_row_is_refused_without_running_statistics(cli, tmp_path):
    untracked = BN_MLP.replace('type = "batchnorm1d"', 'type = "batchnorm1d"\n'
                               "track_running_stats = false")  # fmt: skip
    config = _write(tmp_path, "bn.toml", untracked)
    table = _write(
        tmp_path, "t.csv", "a,b,y\n" + "".join(f"{i},{-i},{int(i == 4)}\n" for i in range(5))
    )
    args = ("--data", table, "--config", config, "--test-fraction", "0.2", "--batch", "2")
    out = cli("train", *args, "--quiet")
    assert out.exit_code == 2, out.stderr
    assert "layers[2] (batchnorm1d)" in out.stderr and "the test set" in out.stderr
    tracked = _write(tmp_path, "tracked.toml", BN_MLP)
    out = cli("train", *args[:2], "--config", tracked, *args[4:], "--quiet", "--epochs", "2")
    assert out.exit_code == 0, out.stderr


@pytest.mark.parametrize("kind", ["batchnorm2d", "batchnorm1d"])
@pytest.mark.parametrize("command", ["summary", "run"])
def test_untracked_batch_norm_on_one_value_per_channel_is_exit_2(cli, tmp_path, command, kind):
    config = _write(tmp_path, "bn.toml", _pooled_bn(track=False, kind=kind))
    out = cli(command, "--config", config, "-b", "1")
    assert out.exit_code == 2, out.stderr
    index = 4 if kind == "batchnorm1d" else 3  # batchnorm1d after the flatten
    assert f"layers[{index}] ({kind})" in out.stderr and "track_running_stats" in out.stderr
    assert cli(command, "--config", config, "-b", "2").exit_code == 0
    tracked = _write(tmp_path, "tracked.toml", _pooled_bn(track=True, kind=kind))
    assert cli(command, "--config", tracked, "-b", "1").exit_code == 0  # running statistics


def test_torch_agrees_that_one_value_per_channel_fails():
    """What the check refuses is what torch refuses, in eval mode without running stats."""
    import torch

    from nncli.core.model.build import build_model

    for track, rows in itertools.product([False, True], [1, 2]):
        spec = parse_config(_pooled_bn(track))
        model = build_model(spec, "cpu", seed=0).model.eval()
        try:
            model(torch.zeros(rows, 3, 4, 4))
            torch_ok = True
        except ValueError:
            torch_ok = False
        assert torch_ok == (track or rows > 1)


def test_run_refuses_a_one_row_input_file(cli, tmp_path):
    config = _write(tmp_path, "bn.toml", _pooled_bn(track=False))
    rows = _write(tmp_path, "x.csv", ",".join(["0.5"] * 48) + "\n")
    out = cli("run", "--config", config, "--input", rows)
    assert out.exit_code == 2, out.stderr
    assert "layers[3] (batchnorm2d)" in out.stderr


def test_evaluation_chunks_never_end_in_one_row():
    from nncli.core.train.trainer import _chunks, steps_per_epoch

    for rows, size in [(65537, 65536), (5, 2), (1, 4), (2, 1), (9, 4), (8, 4)]:
        chunks = list(_chunks(rows, size))
        lengths = [c.stop - c.start for c in chunks]
        assert sum(lengths) == rows and chunks[0].start == 0
        assert all(a.stop == b.start for a, b in itertools.pairwise(chunks))
        assert rows == 1 or min(lengths) > 1 or size == 1
    assert steps_per_epoch(33, 32) == 2 and steps_per_epoch(33, 32, fold=True) == 1
    assert steps_per_epoch(10, 1, fold=True) == 10  # batch 1: nothing to fold into


# --- 7: a model without parameters ----------------------------------------------------

FLATTEN_ONLY = 'input_features = 1\n[[layers]]\ntype = "flatten"\n'


def test_training_a_model_without_parameters_is_exit_2(cli, tmp_path):
    config = _write(tmp_path, "flat.toml", FLATTEN_ONLY)
    out = cli("train", "xor", "--features", "x", "--config", config, "--quiet")
    assert out.exit_code == 2, out.stderr
    assert "nothing to train" in out.stderr and config in out.stderr
    assert "empty parameter list" not in out.stderr


def test_classic_summary_of_a_model_without_parameters_is_exit_2(cli, tmp_path):
    config = _write(tmp_path, "flat.toml", FLATTEN_ONLY)
    out = cli("summary", "--config", config, "--classic")
    assert out.exit_code == 2, out.stderr
    assert "--classic" in out.stderr and "no parameters" in out.stderr
    assert "AttributeError" not in out.stderr
    assert cli("summary", "--config", config).exit_code == 0


# --- 14, 15: empty --hidden; --features with --data -----------------------------------


def test_an_empty_hidden_is_exit_2(cli):
    out = cli("train", "xor", "--hidden", "", "--quiet")
    assert out.exit_code == 2, out.stderr
    assert "--hidden" in out.stderr and "empty" in out.stderr


@pytest.mark.parametrize("features", ["nope", "x,y", ""])
def test_features_with_data_is_exit_2(cli, tmp_path, features):
    table = _write(tmp_path, "t.csv", "a,b,y\n" + "".join(f"{i},{-i},{i % 2}\n" for i in range(8)))
    out = cli("train", "--data", table, "--features", features, "--quiet")
    assert out.exit_code == 2, out.stderr
    assert "--features" in out.stderr and "--data" in out.stderr
    assert cli("train", "--data", table, "--quiet", "--epochs", "2", "--batch", "2").exit_code == 0


# --- 18: long runs are announced -------------------------------------------------------


def _estimate(**kw):
    from nncli.core.train.trainer import RunEstimate

    values = {"runs": 1, "epochs": 100, "steps": 8, "step_seconds": 1e-3, "eval_seconds": 1e-3}
    return RunEstimate(**{**values, **kw})


def test_the_warning_says_how_long_and_how_to_shorten():
    from nncli.core.train.trainer import long_run_warning

    assert _estimate().seconds == pytest.approx(0.9)
    assert long_run_warning(_estimate()) is None
    assert long_run_warning(_estimate(epochs=6666)) is None  # 59.99 s
    long = _estimate(epochs=1_000_000, steps=2, step_seconds=1e-3, eval_seconds=1e-4)
    assert long.seconds == pytest.approx(2100)
    message = long_run_warning(long)
    assert message is not None
    assert "about 35 minutes" in message and "1,000,000 epochs × 2 steps" in message
    assert "--epochs" in message and "--batch" in message
    several = long_run_warning(_estimate(runs=4, epochs=1000, step_seconds=0.01))
    assert several is not None and "4 runs × 1,000 epochs" in several


def _fake_clock(tick: float):
    now = [0.0]

    def clock() -> float:
        now[0] += tick
        return now[0]

    return clock


def test_the_estimate_scales_timed_steps_to_the_run():
    from nncli.core.train import datasets
    from nncli.core.train.trainer import RunConfig, estimate_run, model_spec

    ds = datasets.generate("xor", samples=4)  # 2 training rows, 2 test rows
    spec = model_spec(ds, config=None, hidden=(8, 8), activation=None, init=None)
    run = RunConfig("tanh", None, "adam", 0.03, (8, 8), "bce_with_logits")
    kw = {"batch": 1, "seed": 0, "device": "cpu"}
    estimate = estimate_run(ds, run, spec, epochs=1_000_000, clock=_fake_clock(0.25), **kw)
    assert (estimate.steps, estimate.step_seconds, estimate.eval_seconds) == (2, 0.25, 0.25)
    assert estimate.seconds == 1_000_000 * (2 * 0.25 + 0.25)
    fast = estimate_run(ds, run, spec, epochs=100, clock=_fake_clock(2**-14), **kw)
    assert fast.seconds < 1


@pytest.mark.parametrize(("tick", "warned"), [(1.0, True), (2**-14, False)])
def test_train_warns_before_a_long_run_only(cli, monkeypatch, tick, warned):
    from nncli.core.train import trainer

    monkeypatch.setattr(trainer, "CLOCK", _fake_clock(tick))
    # 20 training rows, batch 8: 3 steps and an evaluation per epoch, 1 s each (fake)
    out = cli("train", "xor", *SMALL[:2], "--epochs", "20", *SMALL[4:], "--json")
    assert out.exit_code == 0, out.stderr
    assert ("this training will take about 1.3 minutes" in out.stderr) is warned
    assert out.json()["command"] == "train"  # the warning stays off stdout


def test_the_estimate_changes_nothing_in_the_run(cli, monkeypatch):
    from nncli.core.train import trainer

    first = cli("train", "moons", *SMALL, "--json").json()
    monkeypatch.setattr(trainer, "estimate_run", lambda *a, **k: _estimate())
    second = cli("train", "moons", *SMALL, "--json").json()
    assert first["runs"][0]["history"] == second["runs"][0]["history"]


def test_the_issues_run_warns_at_once_and_ctrl_c_ends_it():
    """The real process: the warning comes before training, and Ctrl-C still stops it."""
    env = {**os.environ, "NO_COLOR": "1", "NNCLI_DEVICE": "cpu"}
    # 40 rows, a million epochs of one-row steps: estimated at many minutes on any machine
    args = ["train", "xor", "--samples", "40", "--epochs", "1000000", "--batch", "1", "--quiet"]
    # A pytest-xdist worker ignores SIGINT and a child inherits that: start the child
    # with Python's own handler instead, so the Ctrl-C below reaches it as a user's would.
    saved = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "nncli", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
    finally:
        signal.signal(signal.SIGINT, saved)
    with process:
        assert process.stderr is not None
        deadline = time.monotonic() + 120
        line = ""
        while time.monotonic() < deadline:
            line = process.stderr.readline()
            if not line or "Warning:" in line:
                break
        process.send_signal(signal.SIGINT)
        _, rest = process.communicate(timeout=60)
    assert "this training will take about" in line, line + rest
    assert "--epochs" in line + rest
    assert process.returncode == 130, rest
    assert "Traceback" not in rest
