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
from nncli.core.model.hooks import collect_tree, summarize_module
from nncli.core.model.results import SummaryResult
from nncli.core.model.summarize import summarize_spec

from .conftest import check_golden


def summarize_model(model: nn.Module, input_shape: tuple[int, ...]) -> SummaryResult:
    """The forward-hook path (what --model takes) on zeros of ``input_shape``."""
    return summarize_module(
        model,
        (torch.zeros(input_shape),),
        {},
        device="cpu",
        depth=9,
        functional=False,
        name="model",
        source="<memory>",
    )


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
    if batch == "0":  # --batch 0 (no batch dimension) is for --model inputs only
        assert "--batch 0 (inputs without a batch dimension) applies to --model only" in (
            out.stderr
        )
    elif batch != "x":  # a config's batch is at least 1
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
    result = summarize_model(tied, (2, 4))
    assert result.total_params == 16 + 4 + 4  # one weight, two biases
    assert [row.params for row in result.layers] == [20, 0, 4]
    assert "rest shared" in result.layers[2].param_formula
    assert sum(row.params for row in result.layers) == result.total_params
    assert not tied.training
    assert [len(m._forward_hooks) for m in tied.modules()] == before_hooks
    assert all(p.device.type == "cpu" for p in tied.parameters())
    tied.train()
    summarize_model(tied, (2, 4))
    assert tied.training


def test_hooks_are_removed_even_when_the_forward_pass_fails() -> None:
    model = nn.Sequential(nn.Linear(4, 3), nn.Linear(5, 2))  # shapes do not chain
    with pytest.raises(RuntimeError):
        summarize_model(model, (1, 4))
    assert all(not m._forward_hooks for m in model.modules())


def test_frozen_parameters_are_non_trainable() -> None:
    model = nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 1))
    for p in model[0].parameters():
        p.requires_grad_(False)
    result = summarize_model(model, (1, 3))
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
def test_rows_from_the_spec_equal_the_forward_hook_path(name: str) -> None:
    """The config's rows are arithmetic; the hooked forward pass of the built model
    (the path every --model takes) must give every field of every row, and the memory."""
    spec = load_config(name)
    result = summarize_spec(spec, batch=3, device="cpu")
    built = build_model(spec, meta=True)
    x = torch.empty(3, *spec.sample_shape, device="meta")
    rows, memory = collect_tree(
        built.model, (x,), {}, functional=False, inits=built.inits, init_args=built.init_args
    )
    assert result.layers == rows
    assert result.memory == memory
    assert result.total_params == sum(p.numel() for p in built.model.parameters())


def test_other_architectures_take_the_forward_hook_path() -> None:
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.1), nn.Linear(4, 2))
    result = summarize_model(model, (2, 4))
    assert [r.type for r in result.layers] == ["Linear", "Dropout", "Linear"]
    assert result.total_params == 30


# ------------------------------------------------------------------ issue 14: from the spec

# Every layer type and the arguments that change its counts: grouped and strided
# convs without bias, norms without affine weights or running statistics, layer norm
# over two dimensions without bias, pools with ceil_mode and dilation, flatten inside.
EVERY_TYPE = {
    "images": """
input_shape = [3, 11, 9]
[[layers]]
type = "conv2d"
out_channels = 6
kernel_size = [3, 2]
stride = [2, 1]
padding = [1, 0]
dilation = [1, 2]
groups = 3
bias = false
activation = "leaky_relu"
[[layers]]
type = "batchnorm2d"
momentum = 0.2
[[layers]]
type = "batchnorm2d"
affine = false
track_running_stats = false
[[layers]]
type = "maxpool2d"
kernel_size = 3
stride = 2
padding = 1
dilation = 2
ceil_mode = true
[[layers]]
type = "layernorm"
normalized_shape = [3, 3]
bias = false
[[layers]]
type = "layernorm"
elementwise_affine = false
[[layers]]
type = "dropout"
p = 0.5
[[layers]]
type = "flatten"
start_dim = 2
[[layers]]
type = "conv1d"
out_channels = 3
kernel_size = 2
name = "c1"
init = "xavier_uniform"
init_args = {gain = 2.0}
activation = "tanh"
[[layers]]
type = "batchnorm1d"
[[layers]]
type = "flatten"
[[layers]]
out_features = 4
bias = false
init = "kaiming_normal"
[[layers]]
type = "batchnorm1d"
activation = "softmax"
""",
    "pools": """
input_shape = [3, 11, 9]
[[layers]]
type = "avgpool2d"
kernel_size = [2, 3]
stride = 2
ceil_mode = true
padding = 1
count_include_pad = false
divisor_override = 3
[[layers]]
type = "conv2d"
out_channels = 4
kernel_size = 4
padding = "same"
dilation = 2
padding_mode = "reflect"
activation = "gelu"
[[layers]]
type = "adaptiveavgpool2d"
output_size = [2, 4]
[[layers]]
type = "layernorm"
[[layers]]
type = "flatten"
start_dim = -2
end_dim = -1
[[layers]]
type = "flatten"
[[layers]]
out_features = 1
activation = "sigmoid"
""",
    "sequence": """
input_shape = [4, 17]
[[layers]]
type = "conv1d"
out_channels = 3
kernel_size = 5
stride = 3
padding = 2
[[layers]]
out_features = 7
activation = "relu"
[[layers]]
type = "flatten"
""",
    "rows": """
input_features = 6
[[layers]]
type = "batchnorm1d"
activation = "relu"
[[layers]]
type = "layernorm"
[[layers]]
type = "dropout"
[[layers]]
out_features = 3
bias = false
activation = "elu"
""",
}


@pytest.mark.parametrize("name", sorted(EVERY_TYPE))
def test_every_layer_type_from_the_spec_equals_torch(name: str) -> None:
    """Rows, memory and totals from arithmetic against the real model's hooked forward
    pass (real tensors: buffers keep their dtypes, int64 counters included) and torchinfo."""
    from nncli.core.model import layertypes as lt
    from nncli.core.model.config import parse_config

    spec = parse_config(EVERY_TYPE[name], f"{name}.toml")
    result = summarize_spec(spec, batch=2, device="cpu")
    built = build_model(spec, seed=0)
    x = torch.zeros(2, *spec.sample_shape)
    rows, memory = collect_tree(
        built.model, (x,), {}, functional=False, inits=built.inits, init_args=built.init_args
    )
    assert result.layers == rows
    assert result.memory == memory
    info = torchinfo.summary(built.model, input_data=x, verbose=0)
    assert result.total_params == info.total_params == spec.param_count()
    assert result.mult_adds == info.total_mult_adds
    buffers = sum(b.numel() for b in built.model.buffers())
    assert sum(row.buffers for row in result.layers) == spec.buffer_count() == buffers
    used = {layer.type for spec in map(parse_config, EVERY_TYPE.values()) for layer in spec.layers}
    assert used == set(lt.LAYER_TYPES)  # the configs above cover every layer type


def test_one_mult_adds_rule_for_every_summary() -> None:
    """An MLP config, a CNN config and a user's module print the same rule."""
    from nncli.core.model.counting import MULT_ADDS_RULE

    mlp = summarize_spec(load_config("demo"), batch=5, device="cpu")
    cnn = summarize_spec(load_config("lenet5"), batch=5, device="cpu")
    module = summarize_model(nn.Sequential(nn.Linear(3, 2)), (5, 3))
    assert mlp.mult_adds_rule == cnn.mult_adds_rule == module.mult_adds_rule == MULT_ADDS_RULE
    assert mlp.mult_adds == 5 * 26  # MLP numbers unchanged: batch × parameters


@pytest.mark.parametrize(
    ("params", "size", "conv", "expected"),
    [
        ([("weight", 9), ("bias", 3)], [5, 3], False, 60),  # Linear: × batch
        ([("weight", 150), ("bias", 6)], [5, 6, 28, 28], True, 156 * 5 * 28 * 28),
        ([("weight", 32), ("bias", 32)], [5, 32, 32, 32], False, 64 * 5),  # BatchNorm
        ([("weight_ih_l0", 12), ("bias_hh_l0", 4)], [2, 7, 4], False, 16 * 2 * 7),  # RNN
        ([("in_proj_weight", 48), ("scale", 3)], [2, 4], False, 48 * 2 * 4),
        ([("weight", 9)], [], False, 0),  # no output size: nothing to count
    ],
)
def test_the_mult_adds_rule(
    params: list[tuple[str, int]], size: list[int], conv: bool, expected: int
) -> None:
    from nncli.core.model.counting import mult_adds

    assert mult_adds(params, size, conv) == expected


@pytest.mark.parametrize(
    ("counted", "factors", "expected"),
    [
        ([("weight", 9), ("bias", 3)], (3, 3), "3×3 + 3 = 12"),
        ([("weight", 6)], (3, 2), "3×2 = 6"),
        ([("weight", 2400), ("bias", 16)], None, "2,400 + 16 = 2,416"),
        ([("weight", 64)], None, "64"),
        ([], None, "0"),
    ],
)
def test_the_parameter_formula(
    counted: list[tuple[str, int]], factors: tuple[int, int] | None, expected: str
) -> None:
    from nncli.core.model.counting import param_formula

    assert param_formula(counted, factors) == expected


@pytest.mark.parametrize("config", ["demo", "cifar_cnn"])
def test_a_config_summary_imports_no_torch(config: str) -> None:
    """Shapes, counts and mult-adds are arithmetic: with a device given, torch is not
    even imported (only automatic device selection asks torch for CUDA)."""
    code = (
        "import atexit, runpy, sys\n"
        "atexit.register(lambda: print('\\nmodules:', *sys.modules, file=sys.stderr))\n"
        "runpy.run_module('nncli', run_name='__main__', alter_sys=True)"
    )
    argv = [sys.executable, "-c", code, "summary", "--config", config, "--json"]
    proc = subprocess.run(
        argv, capture_output=True, text=True, timeout=60, env={**os.environ, "NNCLI_DEVICE": "cpu"}
    )
    assert proc.returncode == 0, proc.stderr
    modules = proc.stderr.rsplit("modules:", 1)[1].split()
    heavy = sorted(m for m in modules if m.split(".")[0] in ("torch", "numpy", "sympy"))
    assert not heavy, heavy[:5]
    assert '"built_on": "meta"' in proc.stdout  # "meta" still says: no weights allocated
