"""Benchmark issue 17: `summary --model` of ResNet-50 against torchinfo, and what counting
the compute costs.

Run: python benchmarks/bench_compute.py [--repeat N]

(a) `nncli summary --model tests/models/arch_nets.py:resnet50 --input-size 3,224,224
    --batch 1` against the shortest torchinfo script on the same model (whole processes,
    interleaved, medians): target <= 0.8x.
(b) In-process, the same summary's pass with the measured-compute mode and with it
    swapped for a no-op (nncli's own hook, patched here only): the counting's share of
    the pass, target <= 10 %. (The whole command also pays the imports, so counting's
    share of it is smaller still.)
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(ROOT))

from _timing import measure_many, nncli, python, repeat_from_argv, report  # noqa: E402

MODEL = "tests/models/arch_nets.py:resnet50"
TORCHINFO_FLOOR = """
import sys; sys.path.insert(0, "tests/models")
import torchinfo
from arch_nets import resnet50
torchinfo.summary(resnet50(), (1, 3, 224, 224))
"""


def _counting_share(repeat: int) -> float:
    from nncli.core.model import hooks
    from nncli.core.model.user.request import ModelRequest
    from nncli.core.model.user.summary import summarize_target

    request = ModelRequest(MODEL, input_sizes=("3,224,224",), batch=1)

    def once() -> float:
        began = time.perf_counter()
        summarize_target(request, depth=3, functional=None)
        return time.perf_counter() - began

    class _Off:
        def __init__(self, *args: object) -> None:
            pass

        def __enter__(self) -> _Off:
            return self

        def __exit__(self, *exc: object) -> bool:
            return False

    counting = hooks._compute_mode_class
    once()  # warm-up: imports and first-use costs
    on, off = [], []
    try:
        for _ in range(repeat):
            hooks._compute_mode_class = counting
            on.append(once())
            hooks._compute_mode_class = lambda: _Off  # type: ignore[assignment]
            off.append(once())
    finally:
        hooks._compute_mode_class = counting
    share = statistics.median(on) / statistics.median(off) - 1
    print(
        f"counting: pass {statistics.median(on) * 1e3:.1f} ms with, "
        f"{statistics.median(off) * 1e3:.1f} ms without -> +{100 * share:.1f}% "
        f"(target <= 10%) {'OK' if share <= 0.10 else 'MISS'}",
        flush=True,
    )
    return share


def main() -> int:
    repeat = repeat_from_argv(__doc__)
    import os

    os.chdir(ROOT)
    argv = nncli("summary", "--model", MODEL, "--input-size", "3,224,224", "--batch", "1")
    subject, floor, torch_only = measure_many(
        [
            ("nncli", argv),
            ("torchinfo", python(TORCHINFO_FLOOR)),
            ("torch", python("import torch")),
        ],
        repeat,
    )
    ok = report("(a) summary --model resnet50 vs a torchinfo script", subject, floor, 0.8)
    # Both pay `import torch` (about 1 s here, most of the floor); what each adds to it
    # is the part a summary tool controls.
    beyond = subject.median_s - torch_only.median_s
    beyond_floor = floor.median_s - torch_only.median_s
    share = torch_only.median_s / floor.median_s
    print(
        f"    import torch alone {torch_only.median_s:.3f}s ({share:.2f} of the floor); "
        f"beyond it: nncli {beyond:.3f}s, torchinfo {beyond_floor:.3f}s "
        f"-> {beyond / beyond_floor:.2f}x",
        flush=True,
    )
    ok = _counting_share(max(repeat, 9)) <= 0.10 and ok
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
