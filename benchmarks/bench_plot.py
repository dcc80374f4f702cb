"""Benchmark ``nncli plot`` against the hand-written script it replaces.

The floor is the least a user could write by hand: import torch and matplotlib
(Agg), compute relu and its autograd derivative at 500 points, and save the same
two-panel PNG. ``nncli plot relu -o x.png`` does that plus argument parsing,
validation, saturation intervals and the text report; the target is at most
1.2x the floor's wall time. A second line times 1,000,000 points.

    python benchmarks/bench_plot.py [--repeat N]
"""

from __future__ import annotations

import os
import sys
import tempfile
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import measure_many, nncli, python, repeat_from_argv, report

FLOOR = textwrap.dedent(
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    x = torch.linspace(-5, 5, {points}, requires_grad=True)
    y = torch.relu(x)
    (dy,) = torch.autograd.grad(y.sum(), x)
    x, y = x.detach().numpy(), y.detach().numpy()
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5))
    left.plot(x, y, label="ReLU", color="blue")
    left.set_title("ReLU function")
    left.set_xlabel("x")
    left.set_ylabel("ReLU(x)")
    left.legend()
    right.plot(x, dy.numpy(), label="ReLU derivative", color="red")
    right.set_title("ReLU derivative")
    right.set_xlabel("x")
    right.set_ylabel("ReLU'(x)")
    right.legend()
    fig.tight_layout()
    fig.savefig("floor.png", dpi=150)
    """
)

TARGET = 1.2


def main() -> int:
    repeat = repeat_from_argv(__doc__)
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        subject, floor = measure_many(
            [
                ("nncli", nncli("plot", "relu", "-o", "x.png")),
                ("floor", python(FLOOR.format(points=500))),
            ],
            repeat,
        )
        ok = report("nncli plot relu (500 points)", subject, floor, TARGET)
        big, big_floor = measure_many(
            [
                ("nncli 1e6", nncli("plot", "relu", "-o", "x.png", "--points", "1000000")),
                ("floor 1e6", python(FLOOR.format(points=1_000_000))),
            ],
            repeat,
        )
        print(
            f"nncli plot relu --points 1000000: {big.median_s:.3f}s "
            f"(peak RSS {big.peak_rss_mib:.0f} MiB); hand-written script: "
            f"{big_floor.median_s:.3f}s ({big_floor.peak_rss_mib:.0f} MiB)",
            flush=True,
        )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
