"""Models as people bring them (issue 17): torch.compile'd ones are summarised and run as
the original module, with a note. References: the original module's own parameter count
and forward."""

from __future__ import annotations

from pathlib import Path

import pytest

WRAPPED = Path(__file__).parent / "models" / "wrapped.py"


@pytest.mark.parametrize("name", ["compiled", "COMPILED_INSTANCE"])
def test_a_compiled_model_is_summarised_as_its_original(cli, name: str) -> None:
    out = cli("summary", "--model", f"{WRAPPED}:{name}", "--input-size", "4", "--json")
    assert out.exit_code == 0, out.stderr
    doc = out.json()
    assert doc["total_params"] == 58
    assert [row["name"] for row in doc["layers"] if row["type"] == "Linear"] == ["a", "b"]
    assert any("torch.compile" in note for note in doc.get("notes", [])), doc.get("notes")
    table = cli("summary", "--model", f"{WRAPPED}:{name}", "--input-size", "4")
    assert table.exit_code == 0 and "torch.compile'd" in table.stdout


@pytest.mark.parametrize("name", ["compiled", "COMPILED_INSTANCE"])
def test_a_compiled_model_runs_eagerly(cli, name: str) -> None:
    out = cli("run", "--model", f"{WRAPPED}:{name}", "--input-size", "4", "--json")
    assert out.exit_code == 0, out.stderr
    doc = out.json()
    assert doc["outputs"][0]["shape"] == [5, 2]
    assert any("torch.compile" in note for note in doc["notes"])


def _summary(cli, name: str) -> dict:
    out = cli("summary", "--model", f"{WRAPPED}:{name}", "--input-size", "4", "--json")
    assert out.exit_code == 0, out.stderr
    return out.json()


def test_a_scripted_model_is_summarised_from_the_outside(cli) -> None:
    """torch.jit.script refuses hooks; its parameters are counted once (58), its compute
    measured in the total (5 rows: 4×8 + 8×2 products = 240 MACs), and a note says what
    cannot be seen."""
    doc = _summary(cli, "scripted")
    assert doc["total_params"] == 58
    assert sum(row["params"] for row in doc["layers"]) == 58
    assert doc["macs"] == 5 * (4 * 8 + 8 * 2)
    assert any("TorchScript" in note for note in doc["notes"])


def test_a_scripted_child_is_counted_once(cli) -> None:
    """torchinfo counts 218 where the truth is 146 for its fixture; here 58 + 9 = 67."""
    doc = _summary(cli, "WithScriptChild")
    assert doc["total_params"] == 67
    assert sum(row["params"] for row in doc["layers"]) == 67
    assert not [row for row in doc["layers"] if row["type"] == "function"]
    assert doc["macs"] == 5 * (4 * 8 + 8 * 2 + 2 * 3)
    assert any("TorchScript (inner)" in note for note in doc["notes"])


def test_a_parameter_materialised_in_forward_is_counted(cli) -> None:
    """Bug (issue 17): nncli's own numel() crashed on nn.UninitializedParameter and
    blamed the user. The forward makes it 3 × 4 = 12."""
    doc = _summary(cli, "Uninitialised")
    assert doc["total_params"] == 12
    assert sum(row["params"] for row in doc["layers"]) == 12
    assert doc["macs"] == 5 * 4 * 3


@pytest.mark.parametrize("name", ["scripted", "WithScriptChild", "Uninitialised"])
def test_run_takes_them_too(cli, name: str) -> None:
    out = cli("run", "--model", f"{WRAPPED}:{name}", "--input-size", "4", "--json")
    assert out.exit_code == 0, out.stderr
    assert out.json()["outputs"][0]["shape"][0] == 5
