"""`nncli summary` at 80 and 120 columns, init arguments, literal brackets, bounds (issue 7)."""

from __future__ import annotations

import json
from collections import OrderedDict
from pathlib import Path

import pytest
import torch
from rich.cells import cell_len
from torch import nn

from nncli.core.model.build import build_model
from nncli.core.model.config import bundled_configs, load_config
from nncli.core.model.hooks import summarize_module
from nncli.render.tables import init_label

from .conftest import check_golden

WIDTHS = (80, 120)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", bundled_configs())
def test_summary_golden(cli, no_accelerators: None, name: str, width: int) -> None:
    out = cli("summary", "--config", name, env={"COLUMNS": str(width)})
    assert out.exit_code == 0, out.stderr
    check_golden(f"summary_{name}_{width}.txt", out.stdout)


def test_every_shipped_config_has_its_golden_files() -> None:
    golden = Path(__file__).parent / "golden"
    for name in bundled_configs():
        for width in WIDTHS:
            assert (golden / f"summary_{name}_{width}.txt").is_file(), (name, width)


@pytest.mark.parametrize("width", [*WIDTHS, 100])
@pytest.mark.parametrize("name", bundled_configs())
def test_every_cell_stays_whole_within_the_width(cli, name: str, width: int) -> None:
    """No line past the width, and no name, formula or init label broken across lines."""
    out = cli("summary", "--config", name, env={"COLUMNS": str(width)})
    assert out.exit_code == 0, out.stderr
    lines = out.stdout.splitlines()
    assert max(cell_len(line) for line in lines) <= width
    assert "…" not in out.stdout  # nothing cut with an ellipsis

    def on_one_line(text: str) -> bool:
        return any(text in line for line in lines)

    doc = cli("summary", "--config", name, "--json").json()
    for layer in doc["layers"]:
        assert on_one_line(layer["name"]), layer["name"]
        assert on_one_line(f"{layer['params']:,}")
        if layer["params"]:
            assert on_one_line(layer["param_formula"]), layer["param_formula"]
            assert on_one_line(init_label(layer["init"], layer["init_args"]))
    for total in ("total_params", "mult_adds"):
        assert on_one_line(f"{doc[total]:,}")


def test_the_demo_at_80_columns_moves_formulas_and_inits_below(cli) -> None:
    """The issue's example: `xavier_normal` and `3×3 + 3 = 12` were split across lines."""
    out = cli("summary", env={"COLUMNS": "80"})
    assert "Parameters and initialisation" in out.stdout
    assert any(
        "linear1" in line and "3×3 + 3 = 12" in line and "xavier_normal" in line
        for line in out.stdout.splitlines()
    )
    wide = cli("summary", env={"COLUMNS": "120"})
    assert "Parameters and initialisation" not in wide.stdout  # one table where it fits


# ------------------------------------------------------------------ 14: init_args


def test_init_args_are_in_the_table_and_in_json(cli) -> None:
    doc = cli("summary", "--config", "deep_tanh", "--json").json()
    linears = [layer for layer in doc["layers"] if layer["type"] == "Linear"]
    gain = nn.init.calculate_gain("tanh")  # 5/3, the config's comment
    assert [layer["init_args"] for layer in linears] == [{"gain": gain}] * 10 + [{"gain": 1.0}]
    assert all(layer["init_args"] == {} for layer in doc["layers"] if layer["type"] == "Tanh")
    for width in WIDTHS:
        out = cli("summary", "--config", "deep_tanh", env={"COLUMNS": str(width)})
        assert out.stdout.count("xavier_normal(gain=1.667)") == 10
    mnist = cli("summary", "--config", "mnist_mlp").stdout
    assert mnist.count("kaiming_normal(nonlinearity=relu)") == 2


def test_json_init_args_are_the_arguments_applied() -> None:
    """torch.nn.init called with the reported arguments gives the built weights."""
    spec = load_config("deep_tanh")
    built = build_model(spec, seed=7)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(7)
        linear = nn.Linear(64, 64)  # the same draws as build_model's first layer
        nn.init.xavier_normal_(linear.weight, **built.init_args["linear1"])
    assert torch.equal(linear.weight, built.model.linear1.weight)
    assert built.init_args["linear1"] == {"gain": 5 / 3}


@pytest.mark.parametrize(
    ("init", "args", "label"),
    [
        ("xavier_normal", {"gain": 1.0}, "xavier_normal"),
        ("xavier_normal", {"gain": 5 / 3}, "xavier_normal(gain=1.667)"),
        ("kaiming_normal", {"a": 0.0, "mode": "fan_in", "nonlinearity": "relu"},
         "kaiming_normal(nonlinearity=relu)"),
        ("kaiming_uniform", {"a": 0.1, "mode": "fan_out", "nonlinearity": "leaky_relu"},
         "kaiming_uniform(a=0.1, mode=fan_out)"),
        ("normal", {"mean": 0.0, "std": 1e300}, "normal(std=1e+300)"),
        ("default", {}, "default"),
        ("-", {}, "-"),
    ],
)  # fmt: skip
def test_init_label_shows_the_arguments_that_differ_from_the_defaults(
    init: str, args: dict, label: str
) -> None:
    assert init_label(init, args) == label


# ------------------------------------------------------------------ 8: brackets


def test_brackets_in_path_and_model_name_print_literally(cli, tmp_path: Path) -> None:
    path = tmp_path / "[a].toml"
    path.write_text(
        'name = "[bold]model[/bold] [a, b]"\ninput_features = 3\n[[layers]]\nout_features = 2\n',
        encoding="utf-8",
    )
    out = cli("summary", "--config", str(path), env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.stderr
    assert f"config {path} ·" in out.stdout
    assert "[bold]model[/bold] [a, b] ·" in out.stdout


def test_brackets_in_layer_names_print_literally(capsys: pytest.CaptureFixture[str]) -> None:
    from nncli.render.console import stdout_console
    from nncli.render.tables import render_summary

    model = nn.Sequential(OrderedDict([("[red]x[/red]", nn.Linear(2, 2)), ("[y]", nn.ReLU())]))
    result = summarize_module(
        model,
        (torch.zeros(1, 2),),
        {},
        device="cpu",
        depth=1,
        functional=False,
        name="[m]",
        source="[s].toml",
    )
    render_summary(result, stdout_console())
    out = capsys.readouterr().out
    for text in ("[red]x[/red]", "[y]", "[m]", "[s].toml"):
        assert text in out


# ------------------------------------------------------------------ 26: --batch bounds


@pytest.mark.parametrize("batch", ["9223372036854775807", "18446744073709551616", "2147483648"])
def test_batch_beyond_the_bound_is_a_usage_error(cli, batch: str) -> None:
    out = cli("summary", "--batch", batch)
    assert out.exit_code == 2, out.stderr
    assert f"--batch must be at most 2,147,483,647, got {int(batch):,}" in out.stderr
    assert "Overflow" not in out.stderr and "overflowed" not in out.stderr


def test_the_largest_batch_is_summarised(cli) -> None:
    doc = cli("summary", "--batch", "2147483647", "--json").json()
    assert doc["input_shape"] == [2147483647, 3]
    assert doc["memory_bytes"]["input"] == 2147483647 * 3 * 4  # exact, in Python ints
    assert json.dumps(doc)  # plain ints, no floats
