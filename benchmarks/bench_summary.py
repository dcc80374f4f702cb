"""Benchmark issue 2: start-up, `summary` against torchsummary, and summary at 10 B parameters.

Run: python benchmarks/bench_summary.py [--repeat N]
Each figure is a median of N whole-process runs after one warm-up.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _timing import measure_many, nncli, python, repeat_from_argv, report

# The floor: the shortest hand-written script doing summary's job, as in the tutorial.
TORCHSUMMARY_FLOOR = """
import torch
from torch import nn
from torchsummary import summary
class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear1 = nn.Linear(3, 3)
        nn.init.xavier_normal_(self.linear1.weight)
        self.linear2 = nn.Linear(3, 2)
        nn.init.kaiming_normal_(self.linear2.weight)
        self.out = nn.Linear(2, 2)
    def forward(self, x):
        x = torch.sigmoid(self.linear1(x))
        x = torch.relu(self.linear2(x))
        return torch.softmax(self.out(x), dim=-1)
summary(Model(), input_size=(3,), batch_size=5, device="cpu")
"""


def main() -> int:
    n = repeat_from_argv(__doc__)
    env = {"NNCLI_DEVICE": "cpu"}
    ok = True

    help_run, import_floor = measure_many(
        [("nncli --help", nncli("--help")), ("import typer, rich", python("import typer, rich"))],
        n,
        env,
    )
    ok &= report("nncli --help vs import typer, rich", help_run, import_floor, 2.0)

    summary, floor, huge = measure_many(
        [
            ("nncli summary", nncli("summary")),
            ("torchsummary script", python(TORCHSUMMARY_FLOOR)),
            ("nncli summary -c wide_10b", nncli("summary", "--config", "wide_10b")),
        ],
        n,
        env,
    )
    ok &= report("nncli summary vs torchsummary script", summary, floor, 1.2)

    ok &= report("summary 10.7 B params vs demo", huge, summary, 1.3, rss_target=1.2)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
