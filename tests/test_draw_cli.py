"""``nncli draw`` through the CLI: every option, every error path, the files it writes
and the JSON contract."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
RESIDUAL = f"{ROOT / 'tests' / 'models' / 'draw_nets.py'}:ResidualBlock"
USAGE = 2


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in a fresh folder: the default output lands there."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def document(out: Any) -> dict[str, Any]:
    assert out.exit_code == 0, out.stderr
    assert out.stdout.count("\n") == 1, "one JSON document, one line"
    parsed: dict[str, Any] = json.loads(out.stdout)
    assert parsed["schema_version"] == 1 and parsed["command"] == "draw"
    return parsed


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- The default and the file names -----------------------------------------------------


def test_no_options_draws_the_demo_to_network_png(cli: Any, here: Path) -> None:
    out = cli("draw")
    assert out.exit_code == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "Wrote network.png"
    assert lines[1] == "demo · 3 → 3 → 2 → 2 neurons · 26 params · init seed 0 · language en"
    assert (here / "network.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in here.iterdir()] == ["network.png"]  # no temp file left


def test_lang_zh_writes_network_zh_png(cli: Any, here: Path) -> None:
    out = cli("draw", "--lang", "zh")
    assert out.exit_code == 0, out.stderr
    assert out.stdout.startswith("Wrote network_zh.png\n")
    assert (here / "network_zh.png").exists()


@pytest.mark.parametrize("fmt", ["svg", "pdf", "png"])
def test_format_without_output_names_the_file_network(cli: Any, here: Path, fmt: str) -> None:
    out = cli("draw", "--format", fmt)
    assert out.exit_code == 0, out.stderr
    assert (here / f"network.{fmt}").exists()


@pytest.mark.parametrize("name", ["d.svg", "d.pdf", "d.PNG"])
def test_the_output_extension_picks_the_format(cli: Any, here: Path, name: str) -> None:
    out = cli("draw", "-o", name, "--json")
    assert document(out)["format"] == Path(name).suffix.lower().lstrip(".")
    assert (here / name).exists()


def test_same_seed_gives_byte_identical_figures(cli: Any, here: Path) -> None:
    for fmt in ("png", "svg", "pdf"):
        assert cli("draw", "-o", f"a.{fmt}").exit_code == 0
        assert cli("draw", "-o", f"b.{fmt}").exit_code == 0
        assert digest(here / f"a.{fmt}") == digest(here / f"b.{fmt}"), fmt


# --- Text formats -----------------------------------------------------------------------


def test_format_mermaid_prints_the_flowchart_and_draws_no_figure(cli: Any, here: Path) -> None:
    out = cli("draw", "--format", "mermaid")
    assert out.exit_code == 0, out.stderr
    assert out.stdout.startswith("flowchart LR\n")
    assert out.stdout.count("-->") == 26
    assert list(here.iterdir()) == []


def test_lang_zh_names_the_layers_in_mermaid_too(cli: Any, here: Path) -> None:
    out = cli("draw", "--format", "mermaid", "--lang", "zh")
    assert 'subgraph layer0["输入层"]' in out.stdout
    assert 'subgraph layer2["隐藏层 2 · ReLU"]' in out.stdout
    assert 'subgraph layer3["输出层 · Softmax"]' in out.stdout


def test_format_dot_prints_a_digraph(cli: Any, here: Path) -> None:
    out = cli("draw", "--format", "dot")
    assert out.exit_code == 0, out.stderr
    assert out.stdout.startswith('digraph "demo" {\n  rankdir=LR;')
    assert out.stdout.count(" -> ") == 26


@pytest.mark.parametrize(("name", "start"), [("g.mmd", "flowchart LR"), ("g.dot", "digraph")])
def test_text_formats_write_the_output_file(cli: Any, here: Path, name: str, start: str) -> None:
    out = cli("draw", "-o", name)
    assert out.exit_code == 0, out.stderr
    assert out.stdout.startswith(f"Wrote {name}\n")
    assert (here / name).read_text(encoding="utf-8").startswith(start)


def test_format_json_and_a_json_file(cli: Any, here: Path) -> None:
    printed = document(cli("draw", "--format", "json"))
    assert printed["format"] == "json" and printed["path"] is None
    assert cli("draw", "-o", "g.json").exit_code == 0
    written = json.loads((here / "g.json").read_text(encoding="utf-8"))
    assert written["schema_version"] == 1 and written["edges"] == printed["edges"]


def test_json_with_a_text_format_has_no_path(cli: Any, here: Path) -> None:
    parsed = document(cli("draw", "--format", "mermaid", "--json"))
    assert parsed["format"] == "mermaid" and parsed["path"] is None


# --- The JSON document ------------------------------------------------------------------


def test_json_of_the_demo(cli: Any, here: Path) -> None:
    parsed = document(cli("draw", "--json"))
    assert parsed["path"] == "network.png" and parsed["format"] == "png"
    assert parsed["kind"] == "neurons" and parsed["model"] == "demo"
    assert parsed["total_params"] == 26
    weighted = [e for e in parsed["edges"] if not e["source"].endswith("_bias")]
    assert len(weighted) == 19 and len(parsed["edges"]) == 19 + 7
    assert [layer["formula"] for layer in parsed["layers"][1:]] == [
        "3×3 + 3 = 12",
        "3×2 + 2 = 8",
        "2×2 + 2 = 6",
    ]
    for node in parsed["nodes"]:
        assert {"id", "kind", "layer", "index", "label", "activation", "shape", "params"} <= set(
            node
        )
        assert node["value"] is None  # no --input


def test_the_seeded_init_is_the_one_run_uses(cli: Any, here: Path) -> None:
    """draw --seed S shows the weights of `nncli run --seed S --params`."""
    for seed in ("0", "7"):
        drawn = document(cli("draw", "--seed", seed, "--json"))
        run = json.loads(cli("run", "--seed", seed, "--params", "--json").stdout)
        first = next(p for p in run["params"] if p["name"] == "linear1.weight")["values"]
        edges = {(e["source"], e["target"]): e["weight"] for e in drawn["edges"]}
        for j, row in enumerate(first):
            for i, weight in enumerate(row):
                assert edges[(f"L0_{i}", f"L1_{j}")] == pytest.approx(weight, abs=1e-7)


def test_input_row_fills_the_neurons_and_predicts(cli: Any, here: Path) -> None:
    out = cli("draw", "--input", "0.5,-1,2", "-o", "x.svg")
    assert out.exit_code == 0, out.stderr
    assert "input 0.5, -1, 2 → prediction y1 (0.732)" in out.stdout
    parsed = document(cli("draw", "--input", "0.5, -1, 2", "-o", "x.svg", "--json"))
    assert parsed["input"] == [0.5, -1.0, 2.0] and parsed["prediction"] == 0
    assert all(node["value"] is not None for node in parsed["nodes"])


# --- Block graphs -----------------------------------------------------------------------


def test_a_cnn_config_is_drawn_as_blocks_and_says_so(cli: Any, here: Path) -> None:
    out = cli("draw", "--config", "lenet5", "-o", "l.png")
    assert out.exit_code == 0, out.stderr
    assert "note: too big to draw as neurons: lenet5 has conv2d" in out.stdout
    parsed = document(cli("draw", "--config", "lenet5", "-o", "l.png", "--json"))
    assert parsed["kind"] == "blocks" and parsed["notes"]
    assert parsed["notes"][0].startswith("too big to draw as neurons")


def test_mermaid_of_blocks_says_why_on_stderr_only(cli: Any, here: Path) -> None:
    out = cli("draw", "--config", "lenet5", "--format", "mermaid")
    assert out.exit_code == 0, out.stderr
    assert out.stdout.startswith("flowchart TD\n") and "note" not in out.stdout
    assert "too big to draw as neurons" in out.stderr


def test_model_residual_block(cli: Any, here: Path) -> None:
    args = ("draw", "--model", RESIDUAL, "--input-size", "8,4,4")
    out = cli(*args, "-o", "r.png")
    assert out.exit_code == 0, out.stderr
    assert out.stdout.startswith("Wrote r.png\n")
    parsed = document(cli(*args, "--depth", "1", "--format", "mermaid", "--json"))
    assert parsed["kind"] == "blocks" and parsed["depth"] == 1
    mermaid = cli(*args, "--format", "mermaid")
    assert mermaid.stdout.startswith("flowchart TD\n")


# --- Checkpoints ------------------------------------------------------------------------


@pytest.fixture
def checkpoint(cli: Any, tmp_path: Path) -> Path:
    path = tmp_path / "xor.pt"
    out = cli(
        "train", "xor", "--hidden", "4", "--epochs", "5", "--samples", "40", "--save", str(path)
    )
    assert out.exit_code == 0, out.stderr
    return path


def test_weights_draws_the_trained_network(cli: Any, here: Path, checkpoint: Path) -> None:
    parsed = document(cli("draw", "--weights", str(checkpoint), "--input", "1,-1", "--json"))
    assert parsed["weights"] == "checkpoint" and parsed["model"] == "xor_mlp"
    assert len(parsed["layers"]) == 3 and parsed["layers"][1]["size"] == 4
    out = cli("draw", "--weights", str(checkpoint), "-o", "t.png")
    assert "checkpoint weights" in out.stdout


def test_a_checkpoint_that_does_not_match_its_config(
    cli: Any, here: Path, checkpoint: Path
) -> None:
    out = cli("draw", "--weights", str(checkpoint), "--config", "demo")
    assert out.exit_code == USAGE
    assert str(checkpoint) in out.stderr and "demo" in out.stderr


# --- Errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--config", "nope"], "nope"),
        (["--format", "gif"], "gif"),
        (["-o", "x.txt"], "x.txt"),
        (["-o", "x.svg", "--format", "png"], "x.svg"),
        (["-o", "x.mmd", "--format", "dot"], "dot"),
        (["--input", "1,2"], "2 values"),
        (["--input", "1,x,3"], "'x'"),
        (["--input", "1,,3"], "1,,3"),
        (["--input", "1,nan,3"], "nan"),
        (["--input", ""], "--input"),
        (["--config", "lenet5", "--input", "1"], "--input"),
        (["--model", RESIDUAL, "--input", "1"], "--input"),
        (["--depth", "2"], "--depth"),
        (["--model", RESIDUAL, "--depth", "0"], "--depth"),
        (["--model", RESIDUAL, "--config", "demo"], "--model"),
        (["--model-kwargs", "{}"], "--model-kwargs"),
        (["--seed", "-1"], "--seed"),
        (["--dpi", "5"], "--dpi"),
        (["--lang", "fr"], "fr"),
        (["--format", "mermaid", "--show"], "--show"),
    ],
)
def test_bad_input_is_a_usage_error_naming_the_value(
    cli: Any, here: Path, args: list[str], named: str
) -> None:
    out = cli("draw", *args)
    assert out.exit_code == USAGE, (out.stdout, out.stderr)
    assert out.stderr.startswith("Error: ") and named in out.stderr
    assert "Traceback" not in out.stderr
    assert list(here.iterdir()) == []  # validated before anything is written


def test_an_unwritable_output_is_a_runtime_failure(cli: Any, here: Path) -> None:
    out = cli("draw", "-o", "missing/x.png")
    assert out.exit_code == 1 and "missing" in out.stderr


# --- The console contract ---------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["--input", "0.5,-1,2"],
        ["--config", "lenet5", "-o", "l.png"],
        ["--config", "mnist_mlp", "--format", "mermaid", "-o", "m.mmd"],
    ],
)
def test_output_has_no_ansi_and_fits_80_columns(cli: Any, here: Path, args: list[str]) -> None:
    out = cli("draw", *args, env={"COLUMNS": "80", "NO_COLOR": "1"})
    assert out.exit_code == 0, out.stderr
    assert "\x1b" not in out.stdout + out.stderr
    assert max(len(line) for line in out.stdout.splitlines()) <= 80
