"""`nncli run` against the tutorial's hand-written model, seeded the same way."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from .conftest import check_golden


class TutorialModel(nn.Module):
    """The tutorial's model, written out by hand exactly as it appears there."""

    def __init__(self) -> None:
        super().__init__()
        self.linear1 = nn.Linear(3, 3)
        nn.init.xavier_normal_(self.linear1.weight)
        self.linear2 = nn.Linear(3, 2)
        nn.init.kaiming_normal_(self.linear2.weight)
        self.out = nn.Linear(2, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.sigmoid(self.linear1(x))
        x = torch.relu(self.linear2(x))
        return torch.softmax(self.out(x), dim=-1)


def tutorial(seed: int, batch: int = 5) -> tuple[TutorialModel, torch.Tensor, torch.Tensor]:
    torch.manual_seed(seed)
    model = TutorialModel()
    x = torch.randn(batch, 3)
    with torch.no_grad():
        return model, x, model(x)


@settings(max_examples=8, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(1, 9))
def test_output_equals_the_tutorial_script_with_the_same_seed(seed: int, batch: int) -> None:
    from typer.testing import CliRunner

    from nncli.cli import app

    result = CliRunner().invoke(
        app, ["run", "--json", "--seed", str(seed), "--batch", str(batch), "--device", "cpu"]
    )
    assert result.exit_code == 0, result.stderr
    import json

    doc = json.loads(result.stdout)
    _model, _x, expected = tutorial(seed, batch)
    assert torch.allclose(torch.tensor(doc["output"]), expected, atol=1e-6)
    assert doc["predictions"] == expected.argmax(dim=-1).tolist()
    assert doc["seed"] == seed
    assert doc["input_shape"] == [batch, 3] and doc["output_shape"] == [batch, 2]


def test_json_keys_and_softmax_check(cli) -> None:
    out = cli("run", "--json")
    assert out.exit_code == 0, out.stderr
    doc = out.json()
    for key in (
        "schema_version",
        "device",
        "seed",
        "input_shape",
        "output_shape",
        "output",
        "predictions",
    ):
        assert key in doc
    assert doc["seed"] == 0  # the default, always reported
    assert doc["sums_to_one"] is True
    assert all(abs(s - 1) < 1e-5 for s in doc["row_sums"])
    assert doc["params"] is None


def test_same_seed_identical_different_seed_different(cli) -> None:
    a = cli("run", "--json", "--seed", "7").json()["output"]
    b = cli("run", "--json", "--seed", "7").json()["output"]
    c = cli("run", "--json", "--seed", "8").json()["output"]
    assert a == b
    assert a != c


def test_params_lists_every_named_parameter_with_its_values(cli) -> None:
    doc = cli("run", "--json", "--params", "--seed", "3").json()
    model, _x, _y = tutorial(3)
    expected = dict(model.named_parameters())
    assert [p["name"] for p in doc["params"]] == list(expected)
    for p in doc["params"]:
        assert torch.allclose(torch.tensor(p["values"]), expected[p["name"]].detach())
        assert p["shape"] == list(expected[p["name"]].shape)
    text = cli("run", "--params", "--seed", "3").stdout
    assert "linear1.weight [3, 3]" in text and "out.bias [2]" in text


def test_table_golden(cli, no_accelerators: None) -> None:
    out = cli("run", "--seed", "0")
    assert out.exit_code == 0
    check_golden("run_demo.txt", out.stdout)


def test_long_outputs_are_cut_in_the_table_not_in_json(cli) -> None:
    out = cli("run", "--batch", "25")
    assert "… 5 more rows (use --json for all of them)" in out.stdout
    assert len(cli("run", "--batch", "25", "--json").json()["output"]) == 25


def test_a_non_softmax_model_has_no_sum_check(cli, tmp_path: Path) -> None:
    config = tmp_path / "reg.toml"
    config.write_text("input_features = 2\n[[layers]]\nout_features = 1\n", encoding="utf-8")
    doc = cli("run", "--json", "--config", str(config)).json()
    assert doc["sums_to_one"] is None
    assert doc["output_shape"] == [5, 1]
    assert "sum" not in cli("run", "--config", str(config)).stdout.split("\n")[2]


def test_mnist_config_predicts_ten_classes(cli) -> None:
    doc = cli("run", "--json", "--config", "mnist_mlp", "--batch", "3").json()
    assert doc["output_shape"] == [3, 10]
    assert all(0 <= p < 10 for p in doc["predictions"])


def test_input_csv_with_header_and_npy(cli, tmp_path: Path) -> None:
    rows = np.array([[0.5, -1.0, 2.0], [1.5, 0.0, -0.25]], dtype=np.float32)
    csv = tmp_path / "rows.csv"
    csv.write_text("a,b,c\n" + "\n".join(",".join(str(v) for v in r) for r in rows) + "\n")
    npy = tmp_path / "rows.npy"
    np.save(npy, rows)
    model, _x, _y = tutorial(0)
    expected = model(torch.from_numpy(rows)).detach()
    for path in (csv, npy):
        out = cli("run", "--json", "--input", str(path))
        assert out.exit_code == 0, out.stderr
        doc = out.json()
        assert doc["input"] == str(path)
        assert torch.allclose(torch.tensor(doc["output"]), expected, atol=1e-6)


def test_a_single_row_npy_is_one_row(cli, tmp_path: Path) -> None:
    npy = tmp_path / "one.npy"
    np.save(npy, np.array([1.0, 2.0, 3.0]))
    assert cli("run", "--json", "--input", str(npy)).json()["input_shape"] == [1, 3]


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("w.csv", "1,2\n3,4\n", "line 1 has 2 values but the model takes 3 input features"),
        ("w.csv", "1,2,3\n4,5\n", "line 2 has 2 values but the model takes 3 input features"),
        ("w.csv", "1,2,3\n4,x,6\n", "line 2, column 2: 'x' is not a number"),
        ("w.csv", "1,2,nan\n", "line 1, column 3: nan is not finite"),
        ("w.csv", "a,b,c\n", "contains no rows (line 1 is taken as a header)"),
        ("w.txt", "1,2,3\n", "unsupported format '.txt'"),
        ("w.npy", "not numpy", "not a .npy file"),
    ],
)
def test_bad_input_files_are_usage_errors(
    cli, tmp_path: Path, name: str, content: str, fragment: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    out = cli("run", "--input", str(path))
    assert out.exit_code == 2
    assert out.stderr.startswith(f"Error: --input {path}")
    assert fragment in out.stderr


def test_missing_input_file(cli, tmp_path: Path) -> None:
    out = cli("run", "--input", str(tmp_path / "none.csv"))
    assert out.exit_code == 2
    assert "no such file" in out.stderr


def test_input_and_batch_cannot_be_combined(cli, tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text("1,2,3\n")
    out = cli("run", "--input", str(path), "--batch", "3")
    assert out.exit_code == 2
    assert "--batch and --input cannot be combined" in out.stderr


@pytest.mark.parametrize("batch", ["0", "-1"])
def test_batch_must_be_at_least_one(cli, batch: str) -> None:
    """A config's batch is at least 1; --batch 0 (no batch dimension) is --model's."""
    out = cli("run", "--batch", batch)
    assert out.exit_code == 2
    expected = "applies to --model only" if batch == "0" else "--batch must be at least 1"
    assert expected in out.stderr


def test_a_batch_too_large_is_refused_before_allocating(
    cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nncli.core.model.build as model_module

    def must_not_build(*args: object, **kwargs: object) -> None:
        raise AssertionError("the model was built")

    monkeypatch.setattr(model_module, "build_model", must_not_build)
    out = cli("run", "--batch", str(2**31 - 1))
    assert out.exit_code == 1
    assert "a forward pass of batch 2,147,483,647 needs about" in out.stderr
    assert "nothing was allocated" in out.stderr


def test_ten_billion_parameter_run_is_refused(cli) -> None:
    out = cli("run", "--config", "wide_10b", env={"NNCLI_MEMORY_LIMIT": str(2**34)})
    assert out.exit_code == 1
    assert "needs about 40.0" in out.stderr


@given(st.lists(st.floats(-1e3, 1e3, width=32), min_size=3, max_size=3))
@settings(max_examples=25, deadline=None)
def test_any_finite_row_gives_a_probability_distribution(row: list[float]) -> None:
    from nncli.core.model.config import load_config
    from nncli.core.model.forward import run_forward

    result = run_forward(load_config("demo"), "cpu", rows=np.array([row], dtype=np.float32))
    (out,) = result.output
    assert all(0 <= p <= 1 for p in out)
    assert abs(sum(out) - 1) < 1e-5
    assert result.sums_to_one


@pytest.mark.parametrize("seed", ["-1", str(2**64)])
def test_seed_out_of_range_is_a_usage_error(cli, seed: str) -> None:
    out = cli("run", "--seed", seed)
    assert out.exit_code == 2
    assert f"--seed must be an integer from 0 to 2**64 - 1, got {seed}" in out.stderr


def test_the_largest_seed_works(cli) -> None:
    assert cli("run", "--json", "--seed", str(2**64 - 1)).exit_code == 0
