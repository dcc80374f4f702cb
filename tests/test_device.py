"""Device selection: explicit option, then NNCLI_DEVICE, then CUDA → MPS → CPU.

Availability is mocked, so these run the same on any machine.
"""

from __future__ import annotations

import sys

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from nncli.core import device as dev
from nncli.errors import RuntimeFailure, UsageError


def fake_machine(monkeypatch: pytest.MonkeyPatch, cuda: int = 0, mps: bool = False) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(dev.ENV_VAR, raising=False)


@pytest.mark.parametrize(
    ("cuda", "mps", "expected"),
    [(0, False, "cpu"), (0, True, "mps"), (1, False, "cuda"), (2, True, "cuda")],
)
def test_auto_prefers_cuda_then_mps_then_cpu(
    monkeypatch: pytest.MonkeyPatch, cuda: int, mps: bool, expected: str
) -> None:
    fake_machine(monkeypatch, cuda=cuda, mps=mps)
    assert dev.select_device(None) == expected
    assert dev.select_device("auto") == expected


def test_explicit_option_beats_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_machine(monkeypatch, cuda=2)
    monkeypatch.setenv(dev.ENV_VAR, "cuda:1")
    assert dev.select_device(None) == "cuda:1"
    assert dev.select_device("cpu") == "cpu"


def test_environment_beats_automatic(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_machine(monkeypatch, cuda=1)
    monkeypatch.setenv(dev.ENV_VAR, "cpu")
    assert dev.select_device(None) == "cpu"


def test_unavailable_device_is_an_error_never_a_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_machine(monkeypatch, cuda=0, mps=True)
    with pytest.raises(RuntimeFailure) as info:
        dev.select_device("cuda")
    assert "'cuda'" in info.value.message
    assert "available: mps, cpu" in info.value.message


def test_cuda_index_beyond_count_names_the_devices(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_machine(monkeypatch, cuda=2)
    assert dev.select_device("cuda:1") == "cuda:1"
    with pytest.raises(RuntimeFailure) as info:
        dev.select_device("cuda:2")
    assert "'cuda:2'" in info.value.message
    assert "cuda:0, cuda:1, cpu" in info.value.message


def test_unavailable_from_environment_says_where_it_came_from(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_machine(monkeypatch)
    monkeypatch.setenv(dev.ENV_VAR, "mps")
    with pytest.raises(RuntimeFailure, match="from NNCLI_DEVICE"):
        dev.select_device(None)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("gpu", "did you mean"),
        ("cuda:x", "malformed"),
        ("cpu:0", "takes no index"),
        ("mps:1", "takes no index"),
        ("", "unknown device"),
    ],
)
def test_bad_device_strings_are_usage_errors(text: str, fragment: str) -> None:
    with pytest.raises(UsageError) as info:
        dev.parse_device(text)
    assert fragment in str(info.value)


@given(st.text(max_size=12))
def test_parse_never_crashes_on_arbitrary_text(text: str) -> None:
    try:
        request = dev.parse_device(text)
    except UsageError:
        return
    assert request.kind in dev.DEVICE_CHOICES
    assert request.spec == text.strip().lower()


@given(st.sampled_from(["cpu", "cuda", "mps", "auto"]), st.one_of(st.none(), st.integers(0, 64)))
def test_parse_round_trips_valid_specs(kind: str, index: int | None) -> None:
    if index is not None and kind != "cuda":
        return
    text = kind if index is None else f"{kind}:{index}"
    request = dev.parse_device(text.upper())
    assert (request.kind, request.index, request.spec) == (kind, index, text)


def test_cli_reports_the_device_and_lists_available_ones(
    cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_machine(monkeypatch, cuda=0)
    out = cli("summary", "--device", "cuda")
    assert out.exit_code == 1
    assert "Error: device 'cuda' is not available on this machine; available: cpu" in out.stderr
    assert "Traceback" not in out.stderr


def test_cli_mocked_cuda_is_used_and_reported(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    # summary works on torch's meta device, so a mocked GPU is enough to check selection.
    fake_machine(monkeypatch, cuda=2)
    out = cli("summary", "--json")
    assert out.exit_code == 0, out.stderr
    assert out.json()["device"] == "cuda"
    out = cli("summary", "--json", "--device", "cuda:1")
    assert out.json()["device"] == "cuda:1"


def test_cli_bad_environment_device_is_a_usage_error(cli) -> None:
    out = cli("run", env={"NNCLI_DEVICE": "tpu"})
    assert out.exit_code == 2
    assert "Error: NNCLI_DEVICE: unknown device 'tpu'" in out.stderr


def test_cli_environment_device_is_used(cli, no_accelerators: None) -> None:
    out = cli("run", "--json", env={"NNCLI_DEVICE": "cpu"})
    assert out.exit_code == 0, out.stderr
    assert out.json()["device"] == "cpu"


def _auto_in_a_fresh_process(prelude: str = "") -> str:
    import os
    import subprocess
    import sys

    code = (
        f"{prelude}\nimport sys\nfrom nncli.core.device import select_device\n"
        "print(select_device(None), 'torch' in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if k != dev.ENV_VAR}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _has_gpu_nodes() -> bool:
    from pathlib import Path

    return any(next(Path("/dev").glob(p), None) is not None for p in dev._GPU_NODES)


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or _has_gpu_nodes(), reason="needs Linux without a GPU"
)
def test_auto_finds_the_cpu_without_importing_torch_where_no_gpu_driver_is() -> None:
    assert _auto_in_a_fresh_process() == "cpu False"


def test_once_torch_is_loaded_auto_asks_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    # torch is imported here, so the device-node shortcut must not decide: a mocked
    # CUDA is found even on a machine without GPU device nodes.
    fake_machine(monkeypatch, cuda=1)
    assert dev.select_device(None) == "cuda"


def test_gpu_device_nodes_send_auto_to_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "torch")  # as if torch were not loaded (restored after)
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(dev.Path, "glob", lambda self, pattern: iter([self / pattern]))
    assert dev._torch_needed("cuda") is True
    monkeypatch.setattr(dev.Path, "glob", lambda self, pattern: iter(()))
    assert dev._torch_needed("cuda") is False
    assert dev._torch_needed("mps") is False
    monkeypatch.setattr(sys, "platform", "darwin")
    assert dev._torch_needed("mps") is True
    assert dev._torch_needed("cuda") is True  # not Linux: only torch can tell
