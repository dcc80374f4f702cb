"""Device selection: explicit ``--device``, then ``NNCLI_DEVICE``, then automatic.

A requested device that is not available is an error naming it and the devices
that are; it is never silently replaced by another one.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from nncli.errors import RuntimeFailure, UsageError, unknown_name

if TYPE_CHECKING:
    import torch

ENV_VAR = "NNCLI_DEVICE"


# Device nodes a Linux GPU driver creates: NVIDIA (desktop and Jetson), AMD ROCm, WSL.
# Without any of them no GPU can be available, so "auto" needs no torch import
# (1-1.5 s) to find the CPU: a config's summary is pure arithmetic and needs none.
_GPU_NODES = ("nvidia*", "nvhost*", "nvmap", "kfd", "dxg")


def _torch_needed(platform: str) -> bool:
    """Whether only torch can tell: it is loaded already, or this OS might have the device."""
    if "torch" in sys.modules:
        return True
    if platform == "mps":
        return sys.platform == "darwin"
    if not sys.platform.startswith("linux"):
        return True
    dev = Path("/dev")
    return any(next(dev.glob(pattern), None) is not None for pattern in _GPU_NODES)


def _cuda_available() -> bool:
    if not _torch_needed("cuda"):
        return False
    import torch

    return bool(torch.cuda.is_available())


def _cuda_count() -> int:
    import torch

    return int(torch.cuda.device_count()) if torch.cuda.is_available() else 0


def _mps_available() -> bool:
    if not _torch_needed("mps"):
        return False
    import torch

    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


@dataclass(frozen=True)
class DeviceKind:
    name: str
    description: str
    available: Callable[[], bool]
    indexed: bool = False  # accepts "name:N"


# The one registry of device kinds, in automatic-selection order.
DEVICE_KINDS: dict[str, DeviceKind] = {
    "cuda": DeviceKind(
        "cuda", "NVIDIA GPU through CUDA (or AMD through ROCm)", _cuda_available, True
    ),
    "mps": DeviceKind("mps", "Apple-silicon GPU through Metal", _mps_available),
    "cpu": DeviceKind("cpu", "the CPU; always available", lambda: True),
}
AUTO = "auto"
DEVICE_CHOICES = (AUTO, *DEVICE_KINDS)

_SPEC = re.compile(r"^(?P<kind>[a-z]+)(?::(?P<index>\d+))?$")


@dataclass(frozen=True)
class DeviceRequest:
    """A parsed, not yet checked, device request."""

    kind: str  # "auto" or a key of DEVICE_KINDS
    index: int | None
    source: str  # "--device", "NNCLI_DEVICE" or "default"

    @property
    def spec(self) -> str:
        return self.kind if self.index is None else f"{self.kind}:{self.index}"


def parse_device(text: str, source: str = "--device") -> DeviceRequest:
    """Validate a device string without importing torch (usage errors exit 2)."""
    value = text.strip().lower()
    kind, _, index = value.partition(":")
    if kind not in DEVICE_CHOICES:
        err = unknown_name("device", text, DEVICE_CHOICES)
        err.message = f"{source}: {err.message}"
        raise err
    if ":" in value and not (kind in DEVICE_KINDS and DEVICE_KINDS[kind].indexed):
        raise UsageError(f"{source}: device {text!r} takes no index; only cuda:N does")
    if _SPEC.match(value) is None:
        raise UsageError(f"{source}: malformed device {text!r}; use auto, cpu, cuda, cuda:N or mps")
    return DeviceRequest(kind, int(index) if index else None, source)


def request_from(option: str | None) -> DeviceRequest:
    """Apply the precedence: the option, then the environment, then automatic."""
    if option is not None:
        return parse_device(option, "--device")
    env = os.environ.get(ENV_VAR)
    if env:
        return parse_device(env, ENV_VAR)
    return DeviceRequest(AUTO, None, "default")


def available_devices() -> list[str]:
    """Every device this machine can use right now, e.g. ``['cuda:0', 'cuda:1', 'cpu']``."""
    found: list[str] = []
    for kind in DEVICE_KINDS.values():
        if not kind.available():
            continue
        if kind.indexed:
            found.extend(f"{kind.name}:{i}" for i in range(max(_cuda_count(), 1)))
        else:
            found.append(kind.name)
    return found


def resolve(request: DeviceRequest) -> str:
    """Turn a request into a concrete torch device string, or fail naming the device."""
    if request.kind == AUTO:
        for kind in DEVICE_KINDS.values():
            if kind.available():
                return kind.name
        return "cpu"  # pragma: no cover - cpu is always available
    kind = DEVICE_KINDS[request.kind]
    if not kind.available():
        raise _unavailable(request)
    if request.index is not None and request.index >= _cuda_count():
        raise _unavailable(request)
    return request.spec


def _unavailable(request: DeviceRequest) -> RuntimeFailure:
    where = "" if request.source == "--device" else f" (from {request.source})"
    return RuntimeFailure(
        f"device {request.spec!r}{where} is not available on this machine; "
        f"available: {', '.join(available_devices())}"
    )


def select_device(option: str | None) -> str:
    """The device string to use for a command's ``--device`` option."""
    return resolve(request_from(option))


def torch_device(option: str | None) -> torch.device:
    import torch

    return torch.device(select_device(option))


def describe(device: str) -> str:
    """A human label for a device, e.g. ``cuda:0 (NVIDIA H100)``."""
    if device.startswith("cuda"):
        import torch

        try:
            return f"{device} ({torch.cuda.get_device_name(torch.device(device))})"
        except (RuntimeError, AssertionError):  # pragma: no cover - driver quirks
            return device
    return device
