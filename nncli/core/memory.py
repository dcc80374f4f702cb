"""Memory estimates, made before anything is allocated, and the available memory."""

from __future__ import annotations

import os
import re

from nncli.errors import RuntimeFailure, UsageError

FLOAT32 = 4
LIMIT_ENV = "NNCLI_MEMORY_LIMIT"

# Decimal units are powers of 1000 and binary ones powers of 1024, as in the IEC
# standard: "2GB" is 2,000,000,000 bytes and "2GiB" 2,147,483,648.
SIZE_UNITS = {
    "": 1,
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
MAX_SIZE_BYTES = 2**63 - 1  # what a C size (and torch) can hold
SIZE_RULE = "a size in bytes, optionally with a unit: 2000000000, 2GB, 1.5GiB, 512MiB"
# ASCII digits only: str.isdigit() and float() also accept "²", "١" and "1_000".
_SIZE = re.compile(r"(?P<number>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(?P<unit>[A-Za-z]*)")


def format_bytes(n: float) -> str:
    """Binary units that scale: 104 B, 1.50 KiB, 3.20 MiB, 40.00 GiB."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{int(n)} B" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def parse_size(text: str, name: str = LIMIT_ENV) -> int:
    """Bytes from ``"2000000000"``, ``"2GB"``, ``"1.5GiB"`` (units case-insensitive).

    Anything else (a sign, an exponent, an unknown unit, zero, more than
    :data:`MAX_SIZE_BYTES`) is a usage error naming ``name`` and the value.
    Fractions of a byte are rounded down.
    """
    match = _SIZE.fullmatch(text.strip())
    unit = match.group("unit").lower() if match else None
    if match is None or unit not in SIZE_UNITS:
        raise UsageError(f"{name}: {text!r} is not {SIZE_RULE}")
    whole, _, frac = match.group("number").partition(".")
    # Bounded before int(): Python refuses to convert strings of over 4300 digits.
    if len(whole.lstrip("0")) > 20:
        raise UsageError(f"{name}: {text!r} is more than 2**63 - 1 bytes")
    # Digits past 1e-40 of a unit cannot change the whole bytes: the largest unit is
    # 1024**4 < 1e13 bytes, so they are below 1e-27 of a byte. (Cutting at 1e-20 was
    # too soon: "0.000000000931322574615478515625GiB" is exactly 1 byte.)
    frac = frac[:40]
    # Exact integer arithmetic: "1.5GiB" must not pass through a binary float.
    scale = 10 ** len(frac)
    size = (int(whole or "0") * scale + int(frac or "0")) * SIZE_UNITS[unit] // scale
    if size < 1:
        raise UsageError(f"{name}: {text!r} must be at least 1 byte ({SIZE_RULE})")
    if size > MAX_SIZE_BYTES:
        raise UsageError(f"{name}: {text!r} is more than 2**63 - 1 bytes")
    return size


def memory_limit() -> int | None:
    """The budget set by ``NNCLI_MEMORY_LIMIT``, or None when unset (empty counts as unset)."""
    text = os.environ.get(LIMIT_ENV)
    if text is None or not text.strip():
        return None
    return parse_size(text)


def available_bytes(device: str = "cpu") -> int:
    """Memory that can be allocated now on ``device``.

    ``NNCLI_MEMORY_LIMIT`` caps it, so tests and shared machines can set a budget
    without depending on the host. An invalid value is a usage error, never ignored.
    """
    cap = memory_limit()
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
