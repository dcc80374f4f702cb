"""--help, --version and shell completion must not import torch or matplotlib.

Completion runs the program on every Tab press, so a 2-second torch import there
would make the shell feel broken.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

HEAVY = ("torch", "matplotlib", "numpy", "torchsummary")


def imported_modules(args: list[str], env: dict[str, str] | None = None) -> tuple[set[str], str]:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
        timeout=60,
    )
    names = set(re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s+(\S+)$", proc.stderr, re.M))
    return {n.strip() for n in names}, proc.stdout


def assert_light(modules: set[str]) -> None:
    assert modules, "importtime output was not parsed"
    heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY)
    assert not heavy, f"imported {heavy[:5]}"


def test_importing_the_cli_module_is_light() -> None:
    modules, _ = imported_modules(["-c", "import nncli.cli"])
    assert "nncli.cli" in modules
    assert_light(modules)


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["--version"],
        ["summary", "--help"],
        ["plot", "--help"],
        ["init-stats", "--help"],
    ],
)
def test_help_and_version_are_light(args: list[str]) -> None:
    modules, stdout = imported_modules(["-m", "nncli", *args])
    assert stdout
    assert_light(modules)


@pytest.mark.parametrize(
    ("words", "cword", "expected"),
    [
        ("nncli sum", "1", "summary"),
        ("nncli summary --device c", "3", "cuda"),
        ("nncli summary --config mn", "3", "mnist_mlp"),
    ],
)
def test_shell_completion_is_light_and_works(words: str, cword: str, expected: str) -> None:
    env = {"_NNCLI_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": cword}
    modules, stdout = imported_modules(["-m", "nncli"], env)
    # python -m runs as "__main__"; completion keys on the program name
    if expected not in stdout:
        proc = subprocess.run(["nncli"], capture_output=True, text=True, env={**os.environ, **env})
        stdout = proc.stdout
    assert expected in stdout.split()
    assert_light(modules)
