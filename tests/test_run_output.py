"""``run``'s table at 80 and 120 columns, the one-output case, and the streamed JSON."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rich.console import Console

from nncli.core.model.results import NamedParam, RunResult
from nncli.render import jsonout
from nncli.render.run_tables import MAX_COLUMNS, render_run

from .conftest import check_golden

CONFIGS = ["demo", "mnist_mlp", "deep_tanh"]


@pytest.mark.parametrize("columns", [80, 120])
@pytest.mark.parametrize("config", CONFIGS)
def test_table_golden(cli, no_accelerators: None, config: str, columns: int) -> None:
    out = cli("run", "--config", config, "--seed", "0", env={"COLUMNS": str(columns)})
    assert out.exit_code == 0, out.stderr
    check_golden(f"run_{config}_{columns}.txt", out.stdout)


def shown_headers(text: str) -> list[str]:
    return re.findall(r"out\[\d+\]", text)


@pytest.mark.parametrize("columns", [40, 60, 80, 120])
@pytest.mark.parametrize("config", CONFIGS)
def test_every_value_is_shown_whole_at_any_width(cli, config: str, columns: int) -> None:
    # issue 7, item 7: at 80 columns mnist_mlp's ten outputs were cut to "0.…".
    out = cli("run", "--config", config, env={"COLUMNS": str(columns)})
    doc = cli("run", "--config", config, "--json").json()
    assert "…" not in out.stdout
    assert max(map(len, out.stdout.splitlines())) <= columns
    width = doc["output_shape"][1]
    assert shown_headers(out.stdout) == [f"out[{j}]" for j in range(width)]
    for row in doc["output"]:  # every value appears, with its six decimals
        for value in row:
            assert f"{value:.6f}" in out.stdout


def test_header_lines_break_between_facts_only(cli) -> None:
    lines = cli("run", "--config", "mnist_mlp", env={"COLUMNS": "80"}).stdout.splitlines()
    assert lines[:3] == [
        "mnist_mlp · config bundled:mnist_mlp · device cpu · seed 0",
        "input random N(0, 1)",
        "input shape [5, 784] → output shape [5, 10]",
    ]


def one_output_config(tmp_path: Path) -> Path:
    config = tmp_path / "reg.toml"
    config.write_text(
        'input_features = 2\n[[layers]]\nout_features = 1\nactivation = "sigmoid"\n',
        encoding="utf-8",
    )
    return config


def test_a_model_with_one_output_has_no_argmax(cli, tmp_path: Path) -> None:
    # issue 7, item 10: the argmax of one value is always 0 and says nothing.
    config = one_output_config(tmp_path)
    table = cli("run", "--config", str(config)).stdout
    assert "argmax" not in table
    doc = cli("run", "--config", str(config), "--json").json()
    assert doc["predictions"] is None
    assert doc["output_shape"] == [5, 1] and len(doc["output"]) == 5
    two = cli("run", "--json").json()  # the demo has two outputs: argmax is the class
    assert two["predictions"] == [int(np.argmax(r)) for r in two["output"]]
    assert "argmax" in cli("run").stdout


def result_with(output: np.ndarray, *, softmax: bool = False) -> RunResult:
    return RunResult(
        model_name="m",
        source="test",
        device="cpu",
        seed=0,
        input_source="random N(0, 1)",
        input_shape=[len(output), 3],
        output_shape=list(output.shape),
        output=output,
        predictions=output.argmax(axis=-1) if output.shape[1] > 1 else None,
        row_sums=output.sum(axis=-1),
        softmax_output=softmax,
        sums_to_one=None,
    )


def rendered(result: RunResult, width: int = 80) -> str:
    buffer = io.StringIO()
    render_run(result, Console(file=buffer, width=width, markup=False, color_system=None))
    return buffer.getvalue()


def test_extreme_values_print_in_scientific_notation_not_cut() -> None:
    values = np.array([[1e30, -1.5e-9, np.nan, -np.inf, 123456.5, -0.0]], dtype=np.float32)
    text = rendered(result_with(values))
    for cell in ("1e+30", "-1.5e-09", "nan", "-inf", "123456.500000"):
        assert cell in text
    assert "…" not in text


def test_beyond_max_columns_a_notice_says_how_many_are_not_shown() -> None:
    wide = np.zeros((2, MAX_COLUMNS + 7), dtype=np.float32)
    text = rendered(result_with(wide), width=120)
    assert shown_headers(text) == [f"out[{j}]" for j in range(MAX_COLUMNS)]
    assert "… 7 more output columns (use --json for all of them)" in text


def test_params_fit_the_width(cli) -> None:
    out = cli("run", "--config", "mnist_mlp", "--params", env={"COLUMNS": "80"})
    assert out.exit_code == 0
    assert max(map(len, out.stdout.splitlines())) <= 80
    assert "linear1.weight [256, 784]" in out.stdout


PAYLOAD = {
    "name": "x [a, b] \u00e9",
    "shape": [3, 2],
    "output": np.array([[0.5, np.nan], [np.inf, -1.0], [1e-30, 2.0]], dtype=np.float32),
    "predictions": np.array([0, 1, 1]),
    "empty": np.zeros((0, 2), dtype=np.float32),
    "none": None,
    "flag": True,
}


def plain_document(command: str, payload: Mapping[Any, Any]) -> str:
    """What ``json.dumps`` prints for the document as plain JSON types (the writer
    before it streamed): the bytes the streamed writer must reproduce."""
    document = {"schema_version": jsonout.SCHEMA_VERSION, "command": command}
    document.update(jsonout.to_jsonable(payload))
    return json.dumps(document, ensure_ascii=False, allow_nan=False) + "\n"


@pytest.mark.parametrize("chunk", [1, 2, 3, 1 << 16])
def test_streamed_json_is_byte_for_byte_the_plain_document(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    monkeypatch.setattr(jsonout, "STREAM_CHUNK_VALUES", chunk)
    params = [NamedParam("w", [2, 2], np.eye(2, dtype=np.float32))]
    payload = {**PAYLOAD, "params": params}
    jsonout.emit("run", payload)
    streamed = capsys.readouterr().out
    assert streamed == plain_document("run", payload)
    doc = json.loads(streamed)
    assert doc["output"] == [[0.5, None], [None, -1.0], [pytest.approx(1e-30), 2.0]]
    assert doc["params"] == [{"name": "w", "shape": [2, 2], "values": [[1.0, 0.0], [0.0, 1.0]]}]


ODD_ARRAYS = {
    "text": np.array(["é", "中文", 'a"b']),
    "complex": np.array([1 + 2j, np.nan + 0j]),
    "bools": np.array([[True, False]]),
    "ints": np.arange(5, dtype=np.int8),
    "cube": np.arange(8.0).reshape(2, 2, 2),
    "zero_dim": np.array(2.5),
    "scalar": np.float32(0.1),
    "nested": {"deep": [np.array([np.inf, 1.0]), (1, "x")], 3: None},
    "plain": [0.5, float("nan"), {"k": "ü"}],
}


@pytest.mark.parametrize("chunk", [1, 4, 1 << 16])
def test_every_kind_of_array_streams_as_the_plain_document(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    monkeypatch.setattr(jsonout, "STREAM_CHUNK_VALUES", chunk)
    jsonout.emit("plot", ODD_ARRAYS)
    assert capsys.readouterr().out == plain_document("plot", ODD_ARRAYS)


def test_the_command_and_schema_version_come_first(capsys: pytest.CaptureFixture[str]) -> None:
    jsonout.emit("loss", {"a": 1, "command": "ignored?", "values": np.zeros(2)})
    text = capsys.readouterr().out
    assert text.startswith('{"schema_version": 1, "command": "ignored?", "a": 1')
    assert text == plain_document("loss", {"a": 1, "command": "ignored?", "values": np.zeros(2)})


def test_a_failure_mid_stream_exits_non_zero(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def fail_on_second_chunk(part: np.ndarray) -> bool:
        calls.append(len(part))
        if len(calls) > 1:
            raise OSError(28, "No space left on device")
        return True

    monkeypatch.setattr(jsonout, "STREAM_CHUNK_VALUES", 4)
    monkeypatch.setattr(jsonout, "_plain_numbers", fail_on_second_chunk)
    out = cli("run", "--json", "--batch", "10")
    assert out.exit_code == 1
    assert "No space left on device" in out.stderr


def test_json_rows_match_the_table_rows(cli) -> None:
    doc = cli("run", "--json", "--batch", "25", "--seed", "4").json()
    text = cli("run", "--batch", "25", "--seed", "4").stdout
    assert len(doc["output"]) == len(doc["row_sums"]) == len(doc["predictions"]) == 25
    assert "… 5 more rows (use --json for all of them)" in text
    for i, (row, pred) in enumerate(zip(doc["output"][:20], doc["predictions"], strict=False)):
        line = next(ln for ln in text.splitlines() if ln.split()[:1] == [str(i)])
        assert line.split()[1:] == [*(f"{v:.6f}" for v in row), str(pred), line.split()[-1]]
