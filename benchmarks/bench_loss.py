"""Benchmark ``nncli loss`` against the hand-written script it replaces.

The floor is the least a user could write by hand: import torch and matplotlib
(Agg), compute MSE and BCE on σ(z) and their autograd gradients with respect to
the logit z at 500 points, and save the same two-panel PNG.
``nncli loss mse bce --through sigmoid -o x.png`` does that plus argument parsing,
validation, saturation intervals, the numerical-stability findings (bce on σ(z)
against bce_with_logits, float32 against float64) and the text report; the target
is at most 1.2x the floor's wall time.

    python benchmarks/bench_loss.py [--repeat N]
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

    z = torch.linspace(-8, 8, {points}, dtype=torch.float64, requires_grad=True)
    y = torch.ones_like(z)
    p = torch.sigmoid(z)
    mse = torch.nn.MSELoss(reduction="none")(p, y)
    bce = torch.nn.BCELoss(reduction="none")(p, y)
    (d_mse,) = torch.autograd.grad(mse.sum(), z, retain_graph=True)
    (d_bce,) = torch.autograd.grad(bce.sum(), z)
    z = z.detach().numpy()
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5))
    left.plot(z, mse.detach().numpy(), label="MSE")
    left.plot(z, bce.detach().numpy(), label="BCE")
    left.set_title("Losses through sigmoid, target y = 1")
    left.set_xlabel("logit z")
    left.set_ylabel("loss L")
    left.legend()
    right.plot(z, d_mse.numpy(), label="MSE")
    right.plot(z, d_bce.numpy(), label="BCE")
    right.set_title("Gradients (autograd) through sigmoid")
    right.set_xlabel("logit z")
    right.set_ylabel("dL/dz")
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
                ("nncli", nncli("loss", "mse", "bce", "--through", "sigmoid", "-o", "x.png")),
                ("floor", python(FLOOR.format(points=500))),
            ],
            repeat,
        )
        ok = report("nncli loss mse bce --through sigmoid (500 points)", subject, floor, TARGET)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
