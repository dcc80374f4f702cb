"""One end-to-end run of the installed `nncli` console script, in a real subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest


@pytest.mark.skipif(shutil.which("nncli") is None, reason="nncli is not installed on PATH")
def test_installed_console_script_runs_summary_and_run(tmp_path: os.PathLike[str]) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "NNCLI_DEVICE")}
    summary = subprocess.run(
        ["nncli", "summary"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )
    assert summary.returncode == 0, summary.stderr
    assert "Total params" in summary.stdout and "26" in summary.stdout
    assert "\x1b[" not in summary.stdout  # stdout is a pipe: no ANSI codes

    run = subprocess.run(
        ["nncli", "run", "--json", "--seed", "1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["seed"] == 1 and len(doc["output"]) == 5

    bad = subprocess.run(
        ["nncli", "plot", "no-such-activation"], capture_output=True, text=True, env=env
    )
    assert bad.returncode == 2
    assert bad.stderr.startswith("Error: ")
    assert "Traceback" not in bad.stderr
