"""Benchmark issue 4: `init-stats` against the hand-written torch scripts it replaces.

Run: python benchmarks/bench_init_stats.py [--repeat N]
Each figure is a median of N whole-process runs after one warm-up.

1. `nncli init-stats kaiming_normal --fan-in 8192 --fan-out 8192` against a script that
   calls kaiming_normal_ on an empty 8192 × 8192 tensor and prints torch.std_mean, min
   and max. Targets: time ratio <= 1.2, peak RSS ratio <= 1.2.
2. `--depth 50` at width 1024 against a plain torch loop doing the same forward and
   backward pass (weights without gradients, retain_grad on each layer's output, the
   same per-layer statistics: mean, std, saturated and dead fractions, gradient std).
   Target: time ratio <= 1.2. The naive loop (nn.Linear, whose weights also get
   gradients) is reported for reference.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _timing import measure, measure_many, nncli, python, repeat_from_argv, report

STATS_FLOOR = """
import torch
w = torch.empty(8192, 8192)
torch.nn.init.kaiming_normal_(w)
std, mean = torch.std_mean(w)
print(mean.item(), std.item(), w.min().item(), w.max().item())
"""

DEPTH_FLOOR = """
import torch
torch.manual_seed(0)
width, depth, batch = 1024, 50, 1024
weights = [torch.nn.init.kaiming_normal_(torch.empty(width, width)) for _ in range(depth)]
x = torch.randn(batch, width)
outs, h = [], x.requires_grad_()
for w in weights:
    pre = h @ w.T
    h = torch.relu(pre)
    (slope,) = torch.autograd.grad(h, pre, torch.ones_like(h), retain_graph=True)
    saturated = ((slope.abs() < 0.01) & (h != 0)).float().mean()
    h.retain_grad()
    outs.append((h, saturated))
h.sum().backward()
for i, (out, saturated) in enumerate(outs, 1):
    std, mean = torch.std_mean(out.detach())
    dead = (out == 0).float().mean()
    print(i, mean.item(), std.item(), saturated.item(), dead.item(), out.grad.std().item())
"""

NAIVE_DEPTH_FLOOR = """
import torch
from torch import nn
torch.manual_seed(0)
width, depth, batch = 1024, 50, 1024
layers = [nn.Linear(width, width, bias=False) for _ in range(depth)]
for layer in layers:
    nn.init.kaiming_normal_(layer.weight)
h, outs = torch.randn(batch, width), []
for layer in layers:
    h = torch.relu(layer(h))
    h.retain_grad()
    outs.append(h)
h.sum().backward()
for i, out in enumerate(outs, 1):
    print(i, out.mean().item(), out.std().item(), out.grad.std().item())
"""


def main() -> int:
    n = repeat_from_argv(__doc__)
    env = {"NNCLI_DEVICE": "cpu"}
    ok = True

    stats, floor = measure_many(
        [
            (
                "nncli init-stats 8192²",
                nncli("init-stats", "kaiming_normal", "--fan-in", "8192", "--fan-out", "8192"),
            ),
            ("kaiming_normal_ script", python(STATS_FLOOR)),
        ],
        n,
        env,
    )
    ok &= report("init-stats 8192×8192 vs script", stats, floor, 1.2, rss_target=1.2)

    depth_args = ["kaiming_normal", "--fan-in", "1024", "--depth", "50", "--activation", "relu"]
    depth, loop = measure_many(
        [
            ("nncli init-stats --depth 50", nncli("init-stats", *depth_args)),
            ("plain torch loop", python(DEPTH_FLOOR)),
        ],
        n,
        env,
    )
    ok &= report("init-stats --depth 50 (width 1024) vs torch loop", depth, loop, 1.2)
    naive = measure("naive nn.Linear loop", python(NAIVE_DEPTH_FLOOR), n, env)
    report("(reference) --depth 50 vs naive nn.Linear loop", depth, naive, 1.2)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
