"""Packaging: the bundled configs are a real folder and ship inside the package.

The top-level ``configs/`` used to be a symbolic link to ``nncli/configs``; a clone
without symlink support (Windows' default ``core.symlinks=false``) got a one-line
text file instead. Now ``configs/`` is the folder and pyproject's package-dir maps
``nncli.configs`` onto it, so a wheel has ``nncli/configs/*.toml`` and an editable
install reads the checkout's folder. Both installs are built here from a copy of
the project, in fresh virtual environments, and asked for every bundled config.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import tomllib
import venv
from pathlib import Path

import pytest

from nncli.core.model.config import bundled_configs

REPO = Path(__file__).resolve().parents[1]
SHIPPED = sorted(p.stem for p in (REPO / "configs").glob("*.toml"))

# Asked of the installed copy: where it lives, which configs it finds, and that
# importlib.resources sees them.
PROBE = """
import json, nncli
from importlib import resources
from nncli.core.model.config import bundled_configs, bundled_folder, load_config
print(json.dumps({
    "file": nncli.__file__,
    "names": bundled_configs(),
    "folder": str(bundled_folder()),
    "resources": (resources.files("nncli") / "configs").is_dir(),
    "layers": len(load_config("deep_tanh").layers),
}))
"""


def test_configs_is_a_real_folder_not_a_link() -> None:
    folder = REPO / "configs"
    assert folder.is_dir() and not folder.is_symlink()
    assert not (REPO / "nncli" / "configs").exists()  # one copy only, no drift
    assert {"demo", "mnist_mlp", "deep_tanh", "wide_10b"} <= set(SHIPPED)
    assert bundled_configs() == SHIPPED


def test_pyproject_lists_every_package() -> None:
    """The package list is explicit (find cannot see a mapped folder): keep it whole."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    tool = config["tool"]["setuptools"]
    on_disk = {
        ".".join(p.parent.relative_to(REPO).parts)
        for p in (REPO / "nncli").rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    assert set(tool["packages"]) == on_disk | {"nncli.configs"}
    assert tool["package-dir"] == {"nncli.configs": "configs"}
    assert tool["package-data"]["nncli.configs"] == ["*.toml"]


def _project_copy(tmp_path: Path) -> Path:
    """The files a build reads, copied, so nothing is written into the checkout."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO / "nncli", src / "nncli", ignore=ignore)
    shutil.copytree(REPO / "configs", src / "configs", ignore=ignore)
    return src


def _parent_site_dirs() -> list[str]:
    """The site-packages folders of the interpreter running the tests.

    ``system_site_packages=True`` would reach the *base* interpreter's folders, which
    inside a venv lack typer (and may hold an old setuptools with no bdist_wheel):
    the tests failed in a fresh venv and passed only outside one. These are the
    running interpreter's own folders, in a venv or not.
    """
    dirs = [*site.getsitepackages(), *(sysconfig.get_path(k) for k in ("purelib", "platlib"))]
    if site.ENABLE_USER_SITE:
        dirs.append(site.getusersitepackages())
    return list(dict.fromkeys(d for d in dirs if d in sys.path and Path(d).is_dir()))


def _venv(path: Path) -> Path:
    """A fresh venv that sees this interpreter's packages (torch, setuptools, pip).

    A ``.pth`` file of plain paths appends the running interpreter's site folders
    after the venv's own. Python does not read the ``.pth`` files inside folders a
    ``.pth`` adds, so this interpreter's own nncli install (an editable finder
    hooked in by a ``.pth``) stays invisible to the new venv.
    """
    venv.EnvBuilder(system_site_packages=False, with_pip=False).create(path)
    python = path / ("Scripts" if os.name == "nt" else "bin") / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    lines = "".join(f"{d}\n" for d in _parent_site_dirs())
    (Path(purelib) / "_nncli_tests_parent.pth").write_text(lines, encoding="utf-8")
    return python


# Offline, and blind to the nncli the running interpreter has installed: without
# --ignore-installed, pip sees that copy through the .pth above and, were it a
# regular install of the same version, would skip the wheel as "already installed".
PIP_INSTALL = ("-m", "pip", "install", "--no-deps", "--no-index", "--ignore-installed", "-q")


def _run(python: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update({"NNCLI_DEVICE": "cpu", "NO_COLOR": "1", "PYTHONNOUSERSITE": "1"})
    proc = subprocess.run(
        [str(python), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def _check_install(python: Path, home: Path, cwd: Path) -> dict:
    probe = json.loads(_run(python, "-c", PROBE, cwd=cwd).stdout)
    assert Path(probe["file"]).resolve().is_relative_to(home.resolve()), probe
    assert probe["names"] == SHIPPED
    assert probe["layers"] == 11
    out = _run(python, "-m", "nncli", "summary", "--config", "deep_tanh", "--json", cwd=cwd)
    doc = json.loads(out.stdout)
    assert (doc["config"], doc["total_params"]) == ("bundled:deep_tanh", 41_665)
    return probe


@pytest.mark.slow
def test_wheel_ships_every_bundled_config(tmp_path: Path) -> None:
    src = _project_copy(tmp_path)
    wheels = tmp_path / "wheels"
    pip = [sys.executable, "-m", "pip"]
    build = [*pip, "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), "."]
    subprocess.run(build, cwd=src, check=True, capture_output=True, timeout=120)
    (wheel,) = wheels.glob("nncli-*.whl")
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    assert sorted(n for n in names if n.startswith("nncli/configs/")) == [
        f"nncli/configs/{name}.toml" for name in SHIPPED
    ]
    python = _venv(tmp_path / "venv")
    _run(python, *PIP_INSTALL, str(wheel), cwd=tmp_path)
    shutil.rmtree(src)  # the wheel must not need the sources
    probe = _check_install(python, tmp_path / "venv", cwd=tmp_path)
    assert probe["resources"]  # importlib.resources.files("nncli") / "configs"


@pytest.mark.slow
def test_editable_install_finds_every_bundled_config(tmp_path: Path) -> None:
    src = _project_copy(tmp_path)
    python = _venv(tmp_path / "venv")
    _run(python, *PIP_INSTALL, "--no-build-isolation", "-e", str(src), cwd=tmp_path)
    probe = _check_install(python, src, cwd=tmp_path)
    assert Path(probe["folder"]) == (src / "configs").resolve()


def test_ci_runs_the_readmes_test_command_in_a_fresh_venv() -> None:
    """CI installs like a user, in a new venv, and runs every check the issue asks for."""
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert subprocess.run(["bash", "-n", str(REPO / ".ci" / "run")]).returncode == 0
    assert '-m venv "$VENV"' in ci and '. "$VENV/bin/activate"' in ci
    assert 'pip install --quiet -e ".[dev]"' in ci
    for check in ("ruff check .", "ruff format --check .", "mypy", "lint-imports"):
        assert f"\n{check}\n" in ci, check
    assert "python -m pytest ||" in ci  # and any exit code but 0 (5: no tests) fails


def test_the_dev_extra_holds_what_the_suite_and_ci_run() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    dev = {
        req.split(">")[0].split("=")[0].strip()
        for req in config["project"]["optional-dependencies"]["dev"]
    }
    assert {"pytest", "pytest-xdist", "hypothesis", "mpmath", "import-linter"} <= dev
    assert {"ruff", "mypy", "torchinfo", "setuptools"} <= dev


def test_the_suite_runs_without_xdist() -> None:
    """pyproject's addopts ask xdist for workers; without it the suite runs in one process.

    (With xdist, the suite itself is the test.)"""
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:xdist", "-p", "no:cacheprovider", "-q",
         "tests/test_cli.py::test_version"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTEST_ADDOPTS": ""},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout
