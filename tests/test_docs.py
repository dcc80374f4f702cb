"""The docs are generated from --help, and every command is documented in the README."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from nncli.cli import app

ROOT = Path(__file__).resolve().parents[1]


def load_generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "make_cli_docs", ROOT / "docs" / "make_cli_docs.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_reference_is_current() -> None:
    committed = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert committed == load_generator().render(), "run: python docs/make_cli_docs.py"


def test_every_command_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for command in app.registered_commands:
        assert f"## `nncli {command.name}" in readme, f"README lacks a section for {command.name}"


def test_readme_starts_with_a_two_command_quick_start() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```(?:bash|sh)\n(.*?)```", quick, re.S)
    assert block, "no code block in the quick start"
    commands = [line for line in block.group(1).splitlines() if line and not line.startswith("#")]
    assert len(commands) == 2
    assert "nncli summary" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_readmes_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "pytest" in ci and "ruff" in ci and "mypy" in ci


def test_every_bundled_config_and_json_key_is_in_the_readme() -> None:
    from nncli.core.model.config import bundled_configs

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in bundled_configs():
        assert f"`{name}`" in readme
    for key in ("schema_version", "total_params", "mult_adds", "memory_bytes", "predictions"):
        assert f"`{key}`" in readme
