"""`nncli summary` against torchsummary and torchinfo, on the demo and every shipped config."""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
import torchinfo
import torchsummary.torchsummary as tsm
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from nncli.core.memory import format_bytes
from nncli.core.model.build import build_model
from nncli.core.model.config import bundled_configs, load_config
from nncli.core.model.summarize import summarize_model, summarize_spec

from .conftest import check_golden


class _MetaTorch:
    """Lets torchsummary run on a meta-device model: its input becomes a meta tensor.

    torchsummary does ``torch.rand(2, *size).type(torch.FloatTensor)``; on the meta
    device that allocates nothing, so even the 10-billion-parameter config is
    checked against torchsummary's own arithmetic.
    """

    FloatTensor = torch.float32

    def __getattr__(self, name: str) -> object:
        return getattr(torch, name)

    @staticmethod
    def rand(*shape: int) -> torch.Tensor:
        return torch.empty(*shape, device="meta")


@contextlib.contextmanager
def meta_torchsummary() -> Iterator[None]:
    original = tsm.torch
    tsm.torch = _MetaTorch()  # type: ignore[assignment]
    try:
        yield
    finally:
        tsm.torch = original


def torchsummary_text(model: nn.Module, features: tuple[int, ...], batch: int) -> str:
    buffer = io.StringIO()
    with meta_torchsummary(), contextlib.redirect_stdout(buffer):
        tsm.summary(model, features, batch_size=batch, device="cpu")
    return buffer.getvalue()


def torchsummary_counts(text: str) -> tuple[int, int, int, list[int]]:
    def total(label: str) -> int:
        match = re.search(rf"^{label}: ([\d,]+)$", text, re.M)
        assert match, label
        return int(match.group(1).replace(",", ""))

    rows = re.findall(r"^\s*\w+-\d+\s+\[.*?\]\s+([\d,]+)$", text, re.M)
    per_layer = [int(r.replace(",", "")) for r in rows]
    return (
        total("Total params"),
        total("Trainable params"),
        total("Non-trainable params"),
        per_layer,
    )


@pytest.mark.parametrize("name", bundled_configs())
def test_counts_equal_torchsummary_and_torchinfo(name: str) -> None:
    spec = load_config(name)
    result = summarize_spec(spec, batch=5, device="cpu")
    model = build_model(spec, meta=True).model

    total, trainable, frozen, per_layer = torchsummary_counts(
        torchsummary_text(model, spec.sample_shape, 5)
    )
    assert (result.total_params, result.trainable_params, result.non_trainable_params) == (
        total,
        trainable,
        frozen,
    )
    assert [row.params for row in result.layers] == per_layer

    info = torchinfo.summary(
        model,
        input_data=torch.empty(5, *spec.sample_shape, device="meta"),
        device=torch.device("meta"),
        verbose=0,
    )
    assert result.total_params == info.total_params
    assert result.trainable_params == info.trainable_params
    assert result.mult_adds == info.total_mult_adds
    assert result.total_params == spec.linear_params()


def test_demo_summary_has_the_tutorials_26_parameters(cli) -> None:
    out = cli("summary", "--json")
    assert out.exit_code == 0, out.stderr
    doc = out.json()
    assert doc["schema_version"] == 1
    assert (doc["total_params"], doc["trainable_params"], doc["non_trainable_params"]) == (
        26,
        26,
        0,
    )
    assert doc["input_shape"] == [5, 3]
    assert doc["device"] == "cpu" or doc["device"].startswith(("cuda", "mps"))
    names = [(layer["name"], layer["type"], layer["params"]) for layer in doc["layers"]]
    assert names == [
        ("linear1", "Linear", 12),
        ("sigmoid1", "Sigmoid", 0),
        ("linear2", "Linear", 8),
        ("relu2", "ReLU", 0),
        ("out", "Linear", 6),
        ("softmax3", "Softmax", 0),
    ]
    formulas = [layer["param_formula"] for layer in doc["layers"] if layer["params"]]
    assert formulas == ["3×3 + 3 = 12", "3×2 + 2 = 8", "2×2 + 2 = 6"]
    assert [layer["init"] for layer in doc["layers"]][::2] == [
        "xavier_normal",
        "kaiming_normal",
        "default",
    ]
    for layer in doc["layers"]:
        assert {"name", "type", "input_shape", "output_shape", "params", "trainable"} <= set(layer)
        assert "init_args" in layer
    # input 5×3, outputs 5×(3+3+2+2+2+2), params 26, all float32
    assert doc["memory_bytes"] == {
        "input": 60,
        "activations": 280,
        "params": 104,
        "buffers": 0,
        "total": 444,
    }
    assert doc["mult_adds"] == 5 * 26


def test_demo_table_golden(cli, no_accelerators: None) -> None:
    out = cli("summary")
    assert out.exit_code == 0
    assert "\x1b[" not in out.stdout
    check_golden("summary_demo.txt", out.stdout)


def test_batch_changes_shapes_and_mult_adds(cli) -> None:
    doc = cli("summary", "--json", "--batch", "64").json()
    assert doc["input_shape"] == [64, 3]
    assert doc["layers"][0]["output_shape"] == [64, 3]
    assert doc["mult_adds"] == 64 * 26


@pytest.mark.parametrize("batch", ["0", "-3", "x"])
def test_bad_batch_is_a_usage_error(cli, batch: str) -> None:
    out = cli("summary", "--batch", batch)
    assert out.exit_code == 2
    assert "Error:" in out.stderr and "--batch" in out.stderr
    if batch != "x":
        assert f"--batch must be at least 1, got {batch}" in out.stderr


def test_classic_prints_torchsummarys_own_output(cli, no_accelerators: None) -> None:
    out = cli("summary", "--classic")
    assert out.exit_code == 0, out.stderr
    assert "Total params: 26" in out.stdout
    assert "Linear-1                     [5, 3]" in out.stdout
    assert "linear1" in out.stdout  # and nncli's own table after it
    doc = cli("summary", "--classic", "--json").json()
    assert "Total params: 26" in doc["classic"]


def test_classic_is_refused_when_the_model_would_not_fit(cli, no_accelerators: None) -> None:
    out = cli(
        "summary", "--classic", "--config", "wide_10b", env={"NNCLI_MEMORY_LIMIT": str(2**33)}
    )
    assert out.exit_code == 1
    assert "--classic (torchsummary needs real weights) needs about 40.05 GiB" in out.stderr
    assert "nothing was allocated" in out.stderr


def test_classic_refuses_mps(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    out = cli("summary", "--classic", "--device", "mps")
    assert out.exit_code == 2
    assert "torchsummary supports only cpu and cuda" in out.stderr


def test_ten_billion_parameters_allocate_nothing() -> None:
    """The 10 B config is summarised on the meta device: the process stays small."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "nncli", "summary", "--config", "wide_10b", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "NNCLI_DEVICE": "cpu"},
    )
    _pid, status, usage = os.wait4(proc.pid, 0)
    stdout = proc.stdout.read() if proc.stdout else b""
    assert os.waitstatus_to_exitcode(status) == 0
    assert b'"total_params": 10738073600' in stdout
    assert usage.ru_maxrss < 1024 * 1024  # KiB: well under 1 GiB, against 40 GiB of weights


def test_shared_parameters_are_counted_once_and_model_is_left_as_found() -> None:
    tied = nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 4))
    tied[2].weight = tied[0].weight  # weight tying
    tied.eval()
    before_hooks = [len(m._forward_hooks) for m in tied.modules()]
    result = summarize_model(tied, (2, 4), device="cpu")
    assert result.total_params == 16 + 4 + 4  # one weight, two biases
    assert [row.params for row in result.layers] == [20, 0, 4]
    assert "rest shared" in result.layers[2].param_formula
    assert sum(row.params for row in result.layers) == result.total_params
    assert not tied.training
    assert [len(m._forward_hooks) for m in tied.modules()] == before_hooks
    assert all(p.device.type == "cpu" for p in tied.parameters())
    tied.train()
    summarize_model(tied, (2, 4), device="cpu")
    assert tied.training


def test_hooks_are_removed_even_when_the_forward_pass_fails() -> None:
    model = nn.Sequential(nn.Linear(4, 3), nn.Linear(5, 2))  # shapes do not chain
    with pytest.raises(RuntimeError):
        summarize_model(model, (1, 4), device="cpu")
    assert all(not m._forward_hooks for m in model.modules())


def test_frozen_parameters_are_non_trainable() -> None:
    model = nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 1))
    for p in model[0].parameters():
        p.requires_grad_(False)
    result = summarize_model(model, (1, 3), device="cpu")
    assert (result.trainable_params, result.non_trainable_params) == (4, 12)
    assert [row.trainable for row in result.layers] == [False, None, True]


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0 B"),
        (104, "104 B"),
        (1023, "1023 B"),
        (1536, "1.50 KiB"),
        (3 * 2**20, "3.00 MiB"),
        (40 * 2**30, "40.00 GiB"),
    ],
)
def test_memory_units_scale(n: int, text: str) -> None:
    assert format_bytes(n) == text


@given(st.integers(0, 2**50))
def test_memory_units_round_trip(n: int) -> None:
    value, unit = format_bytes(n).split()
    scale = {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}[unit]
    # Two decimals are within half a hundredth of the unit; exact halves (48.625 KiB
    # prints as 48.62) sit on the bound, so allow the float product's rounding noise.
    assert abs(float(value) * scale - n) <= 0.005 * scale * (1 + 1e-9)
    assert unit == "B" or float(value) >= 1


def test_golden_files_exist_for_every_table() -> None:
    golden = Path(__file__).parent / "golden"
    assert (golden / "summary_demo.txt").exists()
    for name in bundled_configs():  # at 80 and 120 columns: tests/test_summary_hardening.py
        assert (golden / f"summary_{name}_80.txt").exists()
        assert (golden / f"summary_{name}_120.txt").exists()


@pytest.mark.parametrize("name", bundled_configs())
def test_meta_shape_propagation_equals_a_real_forward_pass(name: str) -> None:
    """The meta path infers shapes from the layers; a hooked forward pass must agree."""
    from nncli.core.model.summarize import collect

    spec = load_config(name)
    fast = summarize_spec(spec, batch=3, device="cpu")
    model = build_model(spec, meta=True).model
    rows, memory = collect(model, torch.empty(3, *spec.sample_shape, device="meta"))
    assert [(r.name, r.input_shape, r.output_shape, r.params) for r in fast.layers] == [
        (r.name, r.input_shape, r.output_shape, r.params) for r in rows
    ]
    assert fast.memory == memory


def test_shape_propagation_rejects_mismatched_layers() -> None:
    from nncli.core.model.summarize import propagate_shapes

    with torch.device("meta"):
        model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(5, 2))
    with pytest.raises(RuntimeError, match="layer 2: expects 5 input features"):
        propagate_shapes(model, torch.empty(1, 4, device="meta"))


def test_other_architectures_take_the_forward_hook_path() -> None:
    from nncli.core.model.summarize import propagate_shapes

    with torch.device("meta"):
        model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.1), nn.Linear(4, 2))
    assert propagate_shapes(model, torch.empty(1, 4, device="meta")) is None
    result = summarize_model(model, (2, 4), device="cpu")
    assert [r.type for r in result.layers] == ["Linear", "Dropout", "Linear"]
    assert result.total_params == 30
