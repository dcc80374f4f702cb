"""Benchmark issue 10: `summary --model` against torchinfo, and a 7 B decoder without weights.

Run: python benchmarks/bench_model_summary.py [--repeat N] [--check]
Each figure is a median of N whole-process runs after one warm-up; peak RSS is the
largest of those runs (os.wait4). Targets, from the issue:

(a) `nncli summary --model tests/models/zoo.py:resnet18 --input-size 3,224,224 --batch 1`
    against the shortest torchinfo script on the same model: <= 1.2x the time and the
    peak RSS;
(b) `summary` of the 7-billion-parameter decoder (tests/models/decoder7b.py) within 2x
    the ResNet-18 summary's time, and its peak RSS within 1.3x that of `nncli summary`
    (the demo): no weights allocated.

A command that fails is reported and its targets show n/a. The exit code is 0 unless
--check is given; then 1 when a target is missed or could not be measured.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _timing import Timing, measure_many, nncli, python

ROOT = Path(__file__).resolve().parent.parent
RESNET = "tests/models/zoo.py:resnet18"
DECODER = "tests/models/decoder7b.py:Decoder"

# The floor: what a torchinfo user types for the same model (the import path aside).
TORCHINFO_FLOOR = """
import sys; sys.path.insert(0, "tests/models")
import torchinfo
from zoo import resnet18
torchinfo.summary(resnet18(), (1, 3, 224, 224))
"""

COMMANDS = {
    "resnet18": (
        "nncli summary --model zoo.py:resnet18",
        nncli("summary", "--model", RESNET, "--input-size", "3,224,224", "--batch", "1"),
    ),
    "torchinfo": ("torchinfo script, resnet18", python(TORCHINFO_FLOOR)),
    "decoder": (
        "nncli summary --model decoder7b.py:Decoder",
        nncli(
            "summary", "--model", DECODER, "--input-size", "16", "--dtype", "long", "--batch", "1"
        ),
    ),
    "demo": ("nncli summary (demo)", nncli("summary")),
}


@dataclass
class Target:
    name: str
    numerator: str  # a COMMANDS key
    denominator: str
    what: str  # "time" or "rss"
    limit: float


TARGETS = [
    Target("(a) resnet18 time: nncli / torchinfo", "resnet18", "torchinfo", "time", 1.2),
    Target("(a) resnet18 peak RSS: nncli / torchinfo", "resnet18", "torchinfo", "rss", 1.2),
    Target("(b) 7B decoder time / resnet18 time", "decoder", "resnet18", "time", 2.0),
    Target("(b) 7B decoder peak RSS / demo peak RSS", "decoder", "demo", "rss", 1.3),
]


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9, help="runs per command (>= 5)")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args()
    args.repeat = max(5, args.repeat)
    return args


def _works(label: str, argv: list[str], env: dict[str, str]) -> bool:
    """One trial run, so a command that cannot run yet is reported, not fatal."""
    proc = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if proc.returncode != 0:
        last = (proc.stderr.decode().strip().splitlines() or ["(no output)"])[-1]
        print(f"{label}: exit {proc.returncode}: {last}", flush=True)
    return proc.returncode == 0


def _table(timings: dict[str, Timing]) -> None:
    print(f"\n{'command':<44} {'median s':>9} {'min s':>7} {'max s':>7} {'peak RSS MiB':>13}")
    for t in timings.values():
        print(
            f"{t.label:<44} {t.median_s:>9.3f} {min(t.runs):>7.3f} {max(t.runs):>7.3f} "
            f"{t.peak_rss_mib:>13.0f}"
        )


def _ratios(timings: dict[str, Timing]) -> bool:
    print(f"\n{'target':<44} {'ratio':>7} {'limit':>7}  result")
    ok = True
    for target in TARGETS:
        top, bottom = timings.get(target.numerator), timings.get(target.denominator)
        if top is None or bottom is None:
            print(f"{target.name:<44} {'n/a':>7} {target.limit:>7.2f}  n/a (a command failed)")
            ok = False
            continue
        if target.what == "time":
            ratio = top.median_s / bottom.median_s
        else:
            ratio = top.peak_rss_mib / bottom.peak_rss_mib
        met = ratio <= target.limit
        ok &= met
        print(f"{target.name:<44} {ratio:>7.2f} {target.limit:>7.2f}  {'OK' if met else 'MISS'}")
    return ok


def main() -> int:
    args = _arguments()
    os.chdir(ROOT)  # the model specs and the floor's import path are relative to the repo
    env = {**os.environ, "NO_COLOR": "1", "NNCLI_DEVICE": "cpu"}
    import torch
    import torchinfo

    print(
        f"python {sys.version.split()[0]}, torch {torch.__version__}, torchinfo "
        f"{torchinfo.__version__}, {os.cpu_count()} CPUs; median of {args.repeat} runs",
        flush=True,
    )
    runnable = {k: c for k, c in COMMANDS.items() if _works(*c, env)}
    measured = measure_many(list(runnable.values()), args.repeat, {"NNCLI_DEVICE": "cpu"})
    timings = dict(zip(runnable, measured, strict=True))
    _table(timings)
    ok = _ratios(timings)
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    raise SystemExit(main())
