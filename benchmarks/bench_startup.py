"""Benchmark issue 14's start-up targets: `nncli --help` and `nncli summary` against their floors.

Run: python benchmarks/bench_startup.py [--repeat N] [--check]

(a) `nncli --help` within 1.3x `python -c "import typer, rich"`: the CLI may cost
    little more than the libraries it is written with. nncli/cli.py imports no
    command module for it (the COMMANDS table holds the short help).
(b) `nncli summary` (the tutorial's demo) within 1.1x the shortest torchsummary
    script doing the same job.

Both run the console script installed beside this interpreter, as a user types
it. Each figure is the median of N whole-process runs after one warm-up, the
subject and its floor interleaved (a, b, a, b, ...) so that a shared machine's
drift hits both alike. The exit code is 0 unless --check is given; then 1 when a
target is missed.

Measured for issue 14 (2-core shared machine, load ~2, --repeat 15, torch 2.13 CPU):
    nncli --help:  0.066 s vs 0.059 s -> 1.11  (was 1.67: every command module imported)
    nncli summary: 0.251 s vs 1.414 s -> 0.18  (was 1.25; a config is summarised by
                   arithmetic, without torch)
    the same with NNCLI_DEVICE=auto: 1.17 (torch is imported to look for CUDA/MPS)
Where --help's time goes (python -X importtime): typer and rich are the floor;
nncli adds nncli.cli (~7 ms, with click's completion and text utilities) and
nncli.errors (<1 ms). A command's own run adds typer's pydantic adapters (~60 ms,
typer >= 0.2x builds them for every option), then the command's module.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _timing import measure_many, python, report

HELP_TARGET = 1.3
SUMMARY_TARGET = 1.1

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


def console_script() -> list[str]:
    """The `nncli` installed beside this interpreter (`python -m nncli` if there is none)."""
    script = Path(sys.executable).parent / "nncli"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "nncli"]


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="runs per command (>= 5)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    n = max(5, args.repeat)
    nncli = console_script()
    env = {"NNCLI_DEVICE": "cpu"}

    help_run, import_floor = measure_many(
        [
            ("nncli --help", [*nncli, "--help"]),
            ("import typer, rich", python("import typer, rich")),
        ],
        n,
        env,
    )
    ok = report("nncli --help vs import typer, rich", help_run, import_floor, HELP_TARGET)

    summary, floor = measure_many(
        [
            ("nncli summary", [*nncli, "summary"]),
            ("torchsummary script", python(TORCHSUMMARY_FLOOR)),
        ],
        n,
        env,
    )
    ok &= report("nncli summary vs torchsummary script", summary, floor, SUMMARY_TARGET)

    # Without NNCLI_DEVICE the device is "auto": torch is imported to ask for CUDA and
    # MPS, which the floor (device="cpu") never does. Shown, not a target.
    auto, floor = measure_many(
        [
            ("nncli summary (device auto)", [*nncli, "summary"]),
            ("torchsummary script", python(TORCHSUMMARY_FLOOR)),
        ],
        n,
        {"NNCLI_DEVICE": "auto"},
    )
    report("nncli summary, device auto, vs torchsummary script", auto, floor, SUMMARY_TARGET)
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    raise SystemExit(main())
