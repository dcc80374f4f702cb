"""Benchmark ``nncli draw`` against what it replaces.

(a) The demo as neurons (``nncli draw -o x.png``) against the least a user could write by
hand: import torch (nncli needs it for the weights) and matplotlib (Agg), draw 10 circles
and 19 lines, save a PNG. Target: at most 1.2x the script's wall time.

(b) A ResNet-50 block graph (``nncli draw --model tests/models/arch_nets.py:resnet50
--input-size 3,224,224 -o x.png``) against ``nncli summary`` of the same model: the graph
comes from the same meta-device pass, so drawing it may cost at most 1.5x the summary.

    python benchmarks/bench_draw.py [--repeat N]
"""

from __future__ import annotations

import os
import sys
import tempfile
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import measure_many, nncli, python, repeat_from_argv, report

ROOT = Path(__file__).resolve().parent.parent
RESNET50 = f"{ROOT / 'tests' / 'models' / 'arch_nets.py'}:resnet50"

# 3 + 3 + 2 + 2 neurons, 9 + 6 + 4 connections: the demo without its labels and biases.
FLOOR = textwrap.dedent(
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    widths = [3, 3, 2, 2]
    where = {}
    fig, ax = plt.subplots(figsize=(8, 4))
    for x, width in enumerate(widths):
        for i in range(width):
            where[x, i] = (x, i - width / 2)
            ax.add_patch(plt.Circle(where[x, i], 0.2, fill=False))
    for x in range(1, len(widths)):
        for i in range(widths[x - 1]):
            for j in range(widths[x]):
                (x0, y0), (x1, y1) = where[x - 1, i], where[x, j]
                ax.plot([x0, x1], [y0, y1], color="tab:blue")
    ax.set_aspect("equal")
    ax.axis("off")
    fig.savefig("floor.png", dpi=150)
    """
)

NEURONS_TARGET = 1.2
BLOCKS_TARGET = 1.5


def main() -> int:
    repeat = repeat_from_argv(__doc__)
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        subject, floor = measure_many(
            [("nncli", nncli("draw", "-o", "x.png")), ("floor", python(FLOOR))], repeat
        )
        ok = report("nncli draw (the demo as neurons)", subject, floor, NEURONS_TARGET)
        model = ("--model", RESNET50, "--input-size", "3,224,224")
        blocks, summary = measure_many(
            [
                ("draw", nncli("draw", *model, "-o", "x.png")),
                ("summary", nncli("summary", *model, "--device", "cpu")),
            ],
            repeat,
        )
        ok &= report("nncli draw resnet50 (blocks) vs summary", blocks, summary, BLOCKS_TARGET)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
