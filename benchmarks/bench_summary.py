"""Benchmark issue 2: `summary` at 10 B parameters against the demo's.

Run: python benchmarks/bench_summary.py [--repeat N]
Each figure is a median of N whole-process runs after one warm-up. The start-up
figures (`--help`, and `summary` against torchsummary) are in bench_startup.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _timing import measure_many, nncli, repeat_from_argv, report


def main() -> int:
    n = repeat_from_argv(__doc__)
    env = {"NNCLI_DEVICE": "cpu"}
    ok = True

    summary, huge = measure_many(
        [
            ("nncli summary", nncli("summary")),
            ("nncli summary -c wide_10b", nncli("summary", "--config", "wide_10b")),
        ],
        n,
        env,
    )
    ok &= report("summary 10.7 B params vs demo", huge, summary, 1.3, rss_target=1.2)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
