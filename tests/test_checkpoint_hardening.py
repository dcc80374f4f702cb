"""Checkpoints and configs that used to reach the catch-all handler (issue 15, items 1-4):
every unreadable or ill-formed ``--weights`` file is exit 2 naming the file (and the key),
the same for ``run`` and ``summary``, and no pickle from a file ever runs."""

from __future__ import annotations

import io
import os
import pickle
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path
from typing import Any

import pytest
import torch

from nncli.core.model.build import build_model
from nncli.core.model.config import parse_config
from nncli.core.train.checkpoint import spec_to_toml

COMMANDS = ["run", "summary"]
CATCH_ALL = "run with --debug for the traceback"  # only the catch-all handler says this


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real checkpoint, written by ``nncli train --save`` once for the module."""
    from typer.testing import CliRunner

    from nncli.cli import app

    path = tmp_path_factory.mktemp("ckpt") / "m.pt"
    args = ["train", "xor", "--samples", "40", "--epochs", "2", "--batch", "8"]
    result = CliRunner().invoke(app, [*args, "--hidden", "4", "--save", str(path)])
    assert result.exit_code == 0, result.stderr
    return path


def _refused(out: Any, *named: str) -> None:
    """Exit 2 with a plain ``Error:`` that names each of ``named``."""
    assert out.exit_code == 2, out.stderr
    assert out.stderr.startswith("Error: checkpoint") or out.stderr.startswith("Error: config")
    assert CATCH_ALL not in out.stderr and "Traceback" not in out.stderr
    for text in named:
        assert text in out.stderr, out.stderr


def _with_pickle(blob: bytes, pkl: bytes) -> bytes:
    """The checkpoint ``blob`` with its ``data.pkl`` replaced, CRCs recomputed."""
    source = zipfile.ZipFile(io.BytesIO(blob))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as target:
        for name in source.namelist():
            target.writestr(name, pkl if name.endswith("/data.pkl") else source.read(name))
    return out.getvalue()


def _data_pkl(blob: bytes) -> bytes:
    archive = zipfile.ZipFile(io.BytesIO(blob))
    return archive.read(next(n for n in archive.namelist() if n.endswith("/data.pkl")))


# --------------------------------------------------------------------------- items 1, 2


@pytest.mark.parametrize("command", COMMANDS)
def test_proc_file_and_one_byte_file_exit_2(cli, tmp_path: Path, command: str) -> None:
    one = tmp_path / "a.pt"
    one.write_bytes(b"a")
    files = [str(one)]
    if Path("/proc/self/status").is_file():
        files.append("/proc/self/status")
    for file in files:
        _refused(
            cli(command, "--weights", file), f"checkpoint {file!r}", "not an nncli checkpoint: "
        )


@pytest.fixture(scope="module")
def flips_by_error(saved: Path) -> dict[str, bytes]:
    """One checkpoint per kind of exception torch.load raises on a flipped ``data.pkl``
    byte (CRC recomputed, so the zip itself is sound)."""
    blob = saved.read_bytes()
    pkl = _data_pkl(blob)
    found: dict[str, bytes] = {}
    for index in range(len(pkl)):
        for mask in (0x01, 0x80):
            flipped = bytearray(pkl)
            flipped[index] ^= mask
            candidate = _with_pickle(blob, bytes(flipped))
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    torch.load(io.BytesIO(candidate), map_location="cpu", weights_only=True)
            except Exception as exc:  # what the CLI must turn into exit 2
                found.setdefault(type(exc).__name__, candidate)
    return found


@pytest.mark.parametrize("command", COMMANDS)
def test_a_flipped_byte_in_data_pkl_is_exit_2(cli, flips_by_error, tmp_path, command) -> None:
    found = flips_by_error
    # torch.load's own failures on these bytes (torch 2.x): what used to reach the handler.
    assert {"IndexError", "TypeError", "AssertionError", "AttributeError"} <= set(found), found
    for name, candidate in found.items():
        path = tmp_path / f"{name}.pt"
        path.write_bytes(candidate)
        out = cli(command, "--weights", str(path))
        _refused(out, f"{name}.pt", "not an nncli checkpoint: ")


def test_a_corrupt_file_prints_no_torch_warning(saved, tmp_path: Path) -> None:
    """torch warns about an unknown pickle protocol before it fails: only ``Error:``."""
    blob = saved.read_bytes()
    pkl = bytearray(_data_pkl(blob))
    assert pkl[0] == 0x80  # PROTO
    pkl[1] = 0xFD  # protocol 253
    pkl[-1] = 0x00  # and no STOP
    path = tmp_path / "p.pt"
    path.write_bytes(_with_pickle(blob, bytes(pkl)))
    nncli = [sys.executable, "-m", "nncli", "run", "--weights", str(path)]
    proc = subprocess.run(nncli, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("Error: checkpoint"), proc.stderr
    assert "Warning" not in proc.stderr and "Traceback" not in proc.stderr


class _Hostile:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("command", COMMANDS)
def test_no_hostile_pickle_ever_runs(cli, saved, tmp_path: Path, command: str) -> None:
    marker = tmp_path / "ran"
    evil = _Hostile(marker)
    raw = torch.load(saved, weights_only=True)
    files = {
        "top.pt": {"format": "nncli-checkpoint", "x": evil},
        "in_state.pt": {**raw, "state_dict": {**raw["state_dict"], "linear1.bias": evil}},
        "config.pt": {**raw, "config": evil},
    }
    for name, payload in files.items():
        torch.save(payload, tmp_path / name)
    (tmp_path / "plain.pt").write_bytes(pickle.dumps(evil, protocol=2))  # no zip at all
    hostile_pkl = pickle.dumps({"format": "nncli-checkpoint", "x": evil}, protocol=2)
    (tmp_path / "zipped.pt").write_bytes(_with_pickle(saved.read_bytes(), hostile_pkl))
    for name in [*files, "plain.pt", "zipped.pt"]:
        out = cli(command, "--weights", str(tmp_path / name))
        _refused(out, name, "not an nncli checkpoint: ")
        assert not marker.exists(), name
    out = cli(command, "--weights", str(tmp_path / "top.pt"))
    assert "holds objects a checkpoint never has" in out.stderr
    assert "weights_only" not in out.stderr  # torch's advice to turn safety off is not ours


# --------------------------------------------------------------------------- item 3

LONG = "1" * 5000


@pytest.mark.parametrize("command", COMMANDS)
def test_a_config_integer_over_the_digit_limit_is_exit_2(cli, tmp_path: Path, command: str) -> None:
    config = tmp_path / "long.toml"
    config.write_text(f"input_features = 2\n\n[[layers]]\nout_features = {LONG}\n")
    out = cli(command, "--config", str(config))
    assert out.exit_code == 2, out.stderr
    assert out.stderr.startswith(f"Error: config {config}: an integer at line 4 is too long")
    assert "4,300 digits" in out.stderr and CATCH_ALL not in out.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_a_checkpoint_config_integer_over_the_digit_limit_is_exit_2(
    cli, saved, tmp_path: Path, command: str
) -> None:
    raw = torch.load(saved, weights_only=True)
    text = raw["config"].replace('name = "', f'# {LONG}\nname = "').rstrip("\n")
    path = tmp_path / "long.pt"
    torch.save({**raw, "config": text + f"\n\n[[layers]]\nout_features = {LONG}\n"}, path)
    out = cli(command, "--weights", str(path))
    assert out.exit_code == 2, out.stderr
    assert out.stderr.startswith(f"Error: config {path} (checkpoint): an integer")
    assert "too long to read" in out.stderr and CATCH_ALL not in out.stderr


def test_a_long_float_or_hex_number_is_no_error(cli, tmp_path: Path) -> None:
    """The limit is Python's on decimal integers only; the rest of the config decides."""
    config = tmp_path / "ok.toml"
    config.write_text(
        f'description = "{LONG}"\ninput_features = 0x{"0" * 5000}2\n\n'
        f'[[layers]]\nout_features = 1\ninit = "normal"\ninit_args = {{ std = 0.{LONG} }}\n'
    )
    out = cli("summary", "--config", str(config), "--json")
    assert out.exit_code == 0, out.stderr


# --------------------------------------------------------------------------- item 4


def _checkpoint(path: Path, config: str, **replace: Any) -> Path:
    """A checkpoint of ``config`` (TOML) with the seeded weights, some replaced."""
    spec = parse_config(config, "x.toml")
    state = build_model(spec, "cpu", seed=0).model.state_dict()
    for key, value in replace.items():
        state[key.replace("__", ".")] = value
    payload = {"format": "nncli-checkpoint", "version": 1, "config": spec_to_toml(spec)}
    torch.save({**payload, "state_dict": dict(state)}, path)
    return path


MLP = "input_features = 3\n[[layers]]\nout_features = 4\n[[layers]]\nout_features = 2\n"
BN = 'input_features = 3\n[[layers]]\nout_features = 4\n[[layers]]\ntype = "batchnorm1d"\n'


def _quantized() -> torch.Tensor:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # quantized tensors are deprecated (torch 2.13)
        return torch.quantize_per_tensor(torch.zeros(4, 3), 0.1, 0, torch.qint8)


BAD_WEIGHTS: dict[str, tuple[Any, str]] = {  # made when used: some warn when made
    "sparse_coo": (lambda: torch.zeros(4, 3).to_sparse(), "is a sparse_coo tensor"),
    "sparse_csr": (lambda: torch.zeros(4, 3).to_sparse_csr(), "is a sparse_csr tensor"),
    "meta": (lambda: torch.zeros(4, 3, device="meta"), "is a meta tensor"),
    "quantized": (_quantized, "is a quantized tensor"),
    "int": (lambda: torch.zeros(4, 3, dtype=torch.int64), "is not a float tensor (it is int64"),
    "bool": (lambda: torch.zeros(4, 3, dtype=torch.bool), "is not a float tensor (it is bool"),
    "complex": (
        lambda: torch.zeros(4, 3, dtype=torch.complex64),
        "is not a float tensor (it is complex64",
    ),
    "shape": (lambda: torch.zeros(3, 4), "has shape [3, 4], but its config needs [4, 3]"),
    "list": (lambda: [[0.0] * 3] * 4, "is not a tensor but list"),
    "number": (lambda: 1.5, "is not a tensor but float"),
}


@pytest.mark.filterwarnings("ignore")  # sparse CSR is a beta feature
@pytest.mark.parametrize("case", sorted(BAD_WEIGHTS))
@pytest.mark.parametrize("command", COMMANDS)
def test_a_bad_weight_is_exit_2_naming_the_key(cli, tmp_path, command: str, case: str) -> None:
    make, message = BAD_WEIGHTS[case]
    path = _checkpoint(tmp_path / "w.pt", MLP, linear1__weight=make())
    _refused(cli(command, "--weights", str(path)), "w.pt", f"linear1.weight {message}")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (torch.tensor(3.0), "is not an integer tensor (it is float32"),
        (torch.tensor([3, 4]), "has shape [2], but its config needs []"),
        (torch.tensor(3).to_sparse(), "is a sparse_coo tensor"),
    ],
)
@pytest.mark.parametrize("command", COMMANDS)
def test_batch_norms_counter_must_be_an_integer_scalar(cli, tmp_path, command, value, message):
    path = _checkpoint(tmp_path / "bn.pt", BN, batchnorm1d2__num_batches_tracked=value)
    _refused(cli(command, "--weights", str(path)), f"batchnorm1d2.num_batches_tracked {message}")


@pytest.mark.parametrize("command", COMMANDS)
def test_other_float_dtypes_are_weights(cli, tmp_path: Path, command: str) -> None:
    """float16/bfloat16/float64 weights load into the float32 model: not refused."""
    path = _checkpoint(
        tmp_path / "f.pt",
        MLP,
        linear1__weight=torch.zeros(4, 3, dtype=torch.float16),
        linear1__bias=torch.zeros(4, dtype=torch.bfloat16),
        linear2__weight=torch.zeros(2, 4, dtype=torch.float64),
    )
    out = cli(command, "--weights", str(path), "--json")
    assert out.exit_code == 0, out.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_odd_keys_are_named_readably(cli, tmp_path: Path, command: str) -> None:
    spec = parse_config(MLP, "x.toml")
    state: dict[Any, Any] = dict(build_model(spec, "cpu", seed=0).model.state_dict())
    state[7] = torch.zeros(1)
    state["\x1b[31mred"] = torch.zeros(1)
    path = tmp_path / "k.pt"
    payload = {"format": "nncli-checkpoint", "version": 1, "config": spec_to_toml(spec)}
    torch.save({**payload, "state_dict": state}, path)
    out = cli(command, "--weights", str(path))
    _refused(out, "its weights do not match its config (unexpected 7, '\\x1b[31mred')")
    assert "\x1b" not in out.stderr

    bn = _checkpoint(tmp_path / "bn.pt", BN)
    torch.save({**torch.load(bn, weights_only=True), "state_dict": {}}, bn)
    _refused(cli(command, "--weights", str(bn)), "(missing linear1.weight, ", " and 2 more)")


@pytest.mark.parametrize("command", COMMANDS)
def test_a_name_too_long_for_the_file_system_is_exit_2(cli, command: str) -> None:
    out = cli(command, "--weights", "w" * 5000 + ".pt")
    _refused(out, "cannot be read (File name too long)")
    assert len(out.stderr) < 300  # the name is shortened


@pytest.mark.parametrize("command", COMMANDS)
def test_a_huge_bad_version_is_shown_short(cli, saved, tmp_path: Path, command: str) -> None:
    path = tmp_path / "v.pt"
    torch.save({**torch.load(saved, weights_only=True), "version": "9" * 100_000}, path)
    out = cli(command, "--weights", str(path))
    _refused(out, "not an nncli checkpoint: bad version '999")
    assert len(out.stderr) < 400
