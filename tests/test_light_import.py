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


# Lists sys.modules as the process exits: -X importtime alone misses what
# importlib.import_module loads (nncli.cli imports the command modules that way).
AT_EXIT = (
    "import atexit, runpy, sys\n"
    "atexit.register(lambda: print('\\nsys.modules:', *sys.modules, file=sys.stderr))\n"
)


def imported_modules(args: list[str], env: dict[str, str] | None = None) -> tuple[set[str], str]:
    """The modules ``python ARGS`` imports (``-c CODE`` or ``-m nncli ...``), and its stdout."""
    if args[0] == "-c":
        argv = ["-c", AT_EXIT + args[1], *args[2:]]
    else:
        assert args[:2] == ["-m", "nncli"], args
        run = "runpy.run_module('nncli', run_name='__main__', alter_sys=True)"  # as -m does
        argv = ["-c", AT_EXIT + run, *args[2:]]
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *argv],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
        timeout=60,
    )
    names = set(re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s+(\S+)$", proc.stderr, re.M))
    at_exit = re.findall(r"^sys\.modules: (.*)$", proc.stderr, re.M)
    assert at_exit, proc.stderr[-2000:]
    return {n.strip() for n in names} | set(at_exit[-1].split()), proc.stdout


def assert_light(modules: set[str]) -> None:
    assert modules, "importtime output was not parsed"
    heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY)
    assert not heavy, f"imported {heavy[:5]}"


def command_modules(modules: set[str]) -> set[str]:
    """The command modules imported (the shared nncli.commands._options aside)."""
    return {
        m for m in modules if m.startswith("nncli.commands.") and m != "nncli.commands._options"
    }


def test_importing_the_cli_module_is_light() -> None:
    modules, _ = imported_modules(["-c", "import nncli.cli"])
    assert "nncli.cli" in modules
    assert_light(modules)
    assert not command_modules(modules)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--help"], set()),
        (["--version"], set()),
        (["summary", "--help"], {"nncli.commands.summary"}),
        (["losses", "--help"], {"nncli.commands.loss"}),
        (["draw", "--help"], {"nncli.commands.draw"}),
        (["sumary"], set()),  # "Did you mean 'summary'?" comes from the table
    ],
)
def test_only_the_module_of_the_command_that_runs_is_imported(
    args: list[str], expected: set[str]
) -> None:
    modules, _ = imported_modules(["-m", "nncli", *args])
    assert "nncli.cli" in modules
    assert command_modules(modules) == expected


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["--version"],
        ["summary", "--help"],
        ["plot", "--help"],
        ["draw", "--help"],
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
    if cword == "1":  # completing the command's name reads the table, imports none
        assert not command_modules(modules)
