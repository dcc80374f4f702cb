"""The import layers (issue 14): the contracts in pyproject.toml hold, and they cover
every command module and every core topic, so a new one cannot slip past them."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "nncli"


def _contracts() -> dict[str, dict[str, object]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    linter = config["tool"]["importlinter"]
    assert linter["root_package"] == "nncli"
    return {c["id"]: c for c in linter["contracts"]}


def _layer_modules(contract: dict[str, object]) -> set[str]:
    layers = contract["layers"]
    assert isinstance(layers, list)
    return {name.strip() for layer in layers for name in layer.replace(":", "|").split("|")}


def test_every_command_is_in_the_independence_contract() -> None:
    commands = {
        f"nncli.commands.{path.stem}"
        for path in (PACKAGE / "commands").glob("*.py")
        if not path.stem.startswith("_")  # __init__, and _options: shared helpers
    }
    modules = _contracts()["commands-independent"]["modules"]
    assert isinstance(modules, list)
    assert set(modules) == commands


def test_every_core_topic_is_in_a_core_layer() -> None:
    topics = {
        f"nncli.core.{path.stem if path.suffix else path.name}"
        for path in (PACKAGE / "core").iterdir()
        if (path.suffix == ".py" and path.stem != "__init__") or (path / "__init__.py").exists()
    }
    assert _layer_modules(_contracts()["core-topics"]) == topics


def test_every_top_level_module_is_in_a_layer() -> None:
    top = {
        f"nncli.{path.stem if path.suffix else path.name}"
        for path in PACKAGE.iterdir()
        if (path.suffix == ".py" and path.stem != "__init__") or (path / "__init__.py").exists()
    }
    assert _layer_modules(_contracts()["layers"]) == top


def test_lint_imports_keeps_every_contract() -> None:
    pytest.importorskip("importlinter")
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("lint-imports is not installed beside this interpreter")
    proc = subprocess.run(
        [exe, "--no-cache", "--no-logo"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
