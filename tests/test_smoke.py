"""One end-to-end run of the installed `nncli` console script, in a real subprocess.

The script is the one installed beside the running interpreter (the venv's, or the
system's), never whichever ``nncli`` comes first on PATH: that one may belong to
another install with other code. The test fails, rather than skips, when that
script is missing, so a broken entry point cannot pass unseen.
"""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest


def console_script() -> Path:
    """The ``nncli`` script of the running interpreter's install."""
    name = "nncli.exe" if os.name == "nt" else "nncli"
    folders = [sysconfig.get_path("scripts"), str(Path(sys.executable).parent)]
    if site.ENABLE_USER_SITE:  # `pip install --user` (never in a venv)
        folders.append(sysconfig.get_path("scripts", sysconfig.get_preferred_scheme("user")))
    for folder in folders:
        path = Path(folder) / name
        if path.is_file():
            return path
    pytest.fail(f"no nncli console script beside {sys.executable}; run `pip install -e .`")


def test_console_script_belongs_to_the_running_interpreter() -> None:
    """The script starts this interpreter, so it runs the code these tests import."""
    if os.name == "nt":
        pytest.skip("a Windows launcher is an .exe, not a script with a #! line")
    head = console_script().read_text(encoding="utf-8", errors="replace").splitlines()[:3]
    # "#!/venv/bin/python3", or for a long path pip's "#!/bin/sh" + "exec '/venv/bin/python3'"
    assert str(Path(sys.executable).parent) in "\n".join(head), head


def test_installed_console_script_runs_summary_and_run(tmp_path: os.PathLike[str]) -> None:
    nncli = str(console_script())
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "NNCLI_DEVICE")}
    summary = subprocess.run(
        [nncli, "summary"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )
    assert summary.returncode == 0, summary.stderr
    assert "Total params" in summary.stdout and "26" in summary.stdout
    assert "\x1b[" not in summary.stdout  # stdout is a pipe: no ANSI codes

    run = subprocess.run(
        [nncli, "run", "--json", "--seed", "1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["seed"] == 1 and len(doc["output"]) == 5

    bad = subprocess.run(
        [nncli, "plot", "no-such-activation"], capture_output=True, text=True, env=env
    )
    assert bad.returncode == 2
    assert bad.stderr.startswith("Error: ")
    assert "Traceback" not in bad.stderr
