"""Whole-process timing for benchmarks: median wall time and peak RSS of a command.

Each command runs once as a warm-up (to fill the page cache and matplotlib's
font cache), then ``repeat`` times; wall time and the child's peak RSS come
from ``os.wait4``, so nothing is sampled and nothing else is measured.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

PY = sys.executable


@dataclass
class Timing:
    label: str
    median_s: float
    peak_rss_mib: float
    runs: list[float]


def _once(label: str, argv: list[str], env: dict[str, str]) -> tuple[float, int]:
    """One whole-process run: (wall seconds, peak RSS in KiB)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _pid, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{label}: {' '.join(argv)} failed:\n{err}")
    return elapsed, usage.ru_maxrss


def measure_many(
    commands: list[tuple[str, list[str]]], repeat: int = 5, env: dict[str, str] | None = None
) -> list[Timing]:
    """Time several commands with their runs interleaved (a, b, a, b, ...).

    On a shared machine the speed drifts over a minute; interleaving puts the
    subject and its floor under the same drift, so their ratio stays honest.
    """
    run_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    times: list[list[float]] = [[] for _ in commands]
    peaks = [0 for _ in commands]
    for i in range(repeat + 1):
        for k, (label, argv) in enumerate(commands):
            elapsed, rss = _once(label, argv, run_env)
            if i == 0:
                continue  # warm-up: page cache, matplotlib's font cache
            times[k].append(elapsed)
            peaks[k] = max(peaks[k], rss)
    return [
        Timing(label, statistics.median(t), peak / 1024, t)
        for (label, _), t, peak in zip(commands, times, peaks, strict=True)
    ]


def measure(
    label: str, argv: list[str], repeat: int = 5, env: dict[str, str] | None = None
) -> Timing:
    return measure_many([(label, argv)], repeat, env)[0]


def python(code: str) -> list[str]:
    return [PY, "-c", code]


def nncli(*args: str) -> list[str]:
    return [PY, "-m", "nncli", *args]


def report(
    name: str, subject: Timing, floor: Timing, target: float, rss_target: float | None = None
) -> bool:
    ratio = subject.median_s / floor.median_s
    ok = ratio <= target
    line = (
        f"{name}: {subject.median_s:.3f}s vs floor {floor.median_s:.3f}s -> ratio {ratio:.2f} "
        f"(target <= {target}) {'OK' if ok else 'MISS'}"
    )
    if rss_target is not None:
        rss = subject.peak_rss_mib / floor.peak_rss_mib
        rss_ok = rss <= rss_target
        ok = ok and rss_ok
        line += (
            f"; peak RSS {subject.peak_rss_mib:.0f} MiB vs {floor.peak_rss_mib:.0f} MiB -> "
            f"ratio {rss:.2f} (target <= {rss_target}) {'OK' if rss_ok else 'MISS'}"
        )
    print(line, flush=True)
    return ok


def repeat_from_argv(doc: str | None, default: int = 9) -> int:
    """The ``--repeat N`` every benchmark script takes (median of N runs, N >= 5)."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0] if doc else None)
    parser.add_argument("--repeat", type=int, default=default, help="runs per command (>= 5)")
    return max(5, parser.parse_args().repeat)


BUSY_LOOP = "while True: pass"


@contextmanager
def busy_process(code: str = BUSY_LOOP) -> Iterator[subprocess.Popen[bytes]]:
    """A process spinning on one core for the length of the block: a busy machine.

    Started before the block's commands (and given a moment to get scheduled), killed
    and reaped after them, on an exception as well.
    """
    proc = subprocess.Popen([PY, "-c", code], stdout=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        yield proc
    finally:
        proc.kill()
        proc.wait()
