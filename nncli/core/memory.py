"""Memory estimates, made before anything is allocated, and the available memory."""

from __future__ import annotations

import os

from nncli.errors import RuntimeFailure

FLOAT32 = 4


def format_bytes(n: float) -> str:
    """Binary units that scale: 104 B, 1.50 KiB, 3.20 MiB, 40.00 GiB."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{int(n)} B" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def available_bytes(device: str = "cpu") -> int:
    """Memory that can be allocated now on ``device``.

    ``NNCLI_MEMORY_LIMIT`` (bytes) caps it, so tests and shared machines can set a
    budget without depending on the host.
    """
    limit = os.environ.get("NNCLI_MEMORY_LIMIT")
    cap = int(limit) if limit and limit.isdigit() else None
    if device.startswith("cuda"):
        import torch

        free, _total = torch.cuda.mem_get_info(torch.device(device))
        found = int(free)
    else:
        found = _host_available()
    return min(found, cap) if cap is not None else found


def _host_available() -> int:
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - exotic platforms
        return 1 << 62  # unknown: do not refuse


def ensure_fits(needed: int, device: str, what: str) -> None:
    """Refuse up front, with the estimate, work that would not fit in memory (exit 1)."""
    available = available_bytes(device)
    if needed > available:
        raise RuntimeFailure(
            f"{what} needs about {format_bytes(needed)} on {device}, but only "
            f"{format_bytes(available)} is available; nothing was allocated"
        )
