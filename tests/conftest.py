"""Shared fixtures: a CliRunner at a fixed width with colour off, and device mocks."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from typer.testing import CliRunner

from nncli.cli import app

GOLDEN = Path(__file__).parent / "golden"


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    """pyproject's addopts ask pytest-xdist for workers; without xdist, run in one process.

    When xdist is not installed, or is turned off with ``-p no:xdist``, nothing
    else knows ``--numprocesses``/``--maxprocesses``/``--dist`` and pytest would stop with
    "unrecognized arguments". Here they are accepted and ignored instead (the long
    forms only: pytest keeps lowercase short options such as ``-n`` to plugins).
    """
    if pluginmanager.has_plugin("xdist"):
        return
    group = parser.getgroup("xdist-absent", "pytest-xdist is not active: tests run in one process")
    group.addoption("--numprocesses", dest="numprocesses", default=None, help="ignored")
    group.addoption("--maxprocesses", dest="maxprocesses", default=None, help="ignored")
    group.addoption("--dist", dest="dist", default=None, help="ignored")


FIXED_ENV = {"NO_COLOR": "1", "COLUMNS": "100", "NNCLI_DEVICE": None, "NNCLI_LANG": None}


@dataclass
class Outcome:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


Invoke = Callable[..., Outcome]


@pytest.fixture
def cli() -> Invoke:
    """``cli("summary", "--json")`` -> Outcome, with colour off and 100 columns."""

    def invoke(*args: str, env: dict[str, str | None] | None = None) -> Outcome:
        runner = CliRunner()
        result = runner.invoke(app, list(args), env={**FIXED_ENV, **(env or {})})
        return Outcome(result.exit_code, result.stdout, result.stderr)

    return invoke


@pytest.fixture
def no_accelerators(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend the machine has only a CPU, whatever it really has."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


def check_golden(name: str, text: str, update: bool = False) -> None:
    """Compare ``text`` with tests/golden/<name>; NNCLI_UPDATE_GOLDEN=1 rewrites it."""
    import os

    path = GOLDEN / name
    if update or os.environ.get("NNCLI_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"golden file {path} missing; run with NNCLI_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")
    trailing = [i for i, line in enumerate(text.splitlines(), 1) if line != line.rstrip()]
    assert not trailing, f"{name}: lines {trailing} end in spaces"


def docs_generator() -> ModuleType:
    """docs/make_docs.py as a module (it is a script, not part of the package), loaded once."""
    import importlib.util
    import sys

    if "make_docs" in sys.modules:
        return sys.modules["make_docs"]
    path = Path(__file__).resolve().parents[1] / "docs" / "make_docs.py"
    spec = importlib.util.spec_from_file_location("make_docs", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module
