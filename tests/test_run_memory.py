"""``run``'s memory estimate is an upper bound of what it really holds, and is enforced.

Issue 7, item 5: ``run --batch 2000000`` was estimated at 130 MiB and peaked at
706 MB (1.13 GB with --json), because the output was converted to Python floats
and the JSON built as one string. Now results stay numpy arrays, the table
formats only the rows it shows, and --json streams.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from nncli.core.memory import format_bytes
from nncli.core.model import forward
from nncli.core.model.config import load_config

# Runs in a fresh interpreter: a warm-up run loads Python, torch and nncli, then
# the measured run's peak RSS above that is what the run itself held.
MEASURE = textwrap.dedent(
    """
    import json, os, resource, sys
    from nncli.cli import app

    def peak():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux

    def run(args):
        app(["run", "--device", "cpu", *args], standalone_mode=False)
        sys.stdout.flush()

    run(["--batch", "5", *sys.argv[2:]])
    base = peak()
    run(["--batch", sys.argv[1], *sys.argv[2:]])
    os.write(2, json.dumps({"base": base, "peak": peak()}).encode())
    """
)


def measured_growth(batch: int, *args: str) -> int:
    """Peak RSS of ``run --batch batch *args`` above the loaded runtime, in bytes."""
    proc = subprocess.run(
        [sys.executable, "-c", MEASURE, str(batch), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "80"},
        check=True,
        timeout=120,
    )
    sizes = json.loads(proc.stderr.decode().strip().splitlines()[-1])
    return int(sizes["peak"] - sizes["base"])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss units differ")
@pytest.mark.parametrize(
    ("config", "batch", "args"),
    [
        ("demo", 500_000, ("--json",)),  # before: 216 MiB held against a 32 MiB estimate
        ("mnist_mlp", 5_000, ("--json", "--params")),
    ],
)
def test_the_estimate_bounds_the_measured_peak(config: str, batch: int, args: tuple) -> None:
    spec = load_config(config)
    need = forward.estimate(spec, batch, "cpu", with_params="--params" in args)
    grown = measured_growth(batch, "--config", config, *args)
    assert grown <= need.device + need.host, (
        f"measured {format_bytes(grown)} above the runtime, "
        f"estimated {format_bytes(need.device + need.host)}"
    )


def test_a_batch_beyond_the_limit_is_refused_before_allocating(
    cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nncli.core.model.build as model_module

    def must_not_build(*args: object, **kwargs: object) -> None:
        raise AssertionError("the model was built")

    monkeypatch.setattr(model_module, "build_model", must_not_build)
    need = forward.estimate(load_config("demo"), 10_000_000)
    out = cli("run", "--batch", "10000000", "--json", env={"NNCLI_MEMORY_LIMIT": "100MB"})
    assert out.exit_code == 1
    assert out.stdout == ""
    assert out.stderr == (
        f"Error: a forward pass of batch 10,000,000 needs about "
        f"{format_bytes(need.device + need.host)} on cpu, but only 95.37 MiB is available; "
        "nothing was allocated\n"
    )


def test_the_estimate_counts_per_row_costs_and_the_json_chunk() -> None:
    """One more row costs its float32 activations plus the row statistics, on the CPU."""
    spec = load_config("demo")  # 3 -> 3 sigmoid -> 2 relu -> 2 softmax
    one, two = forward.estimate(spec, 1), forward.estimate(spec, 2)
    widths = 3 + 2 * 3 + 2 * 2 + 2 * 2
    assert two.device - one.device == 4 * widths
    assert two.host - one.host == forward.ROW_EXTRA_BYTES
    stream = forward.STREAM_CHUNK_VALUES * forward.STREAM_BYTES_PER_VALUE
    assert one.host == forward.ROW_EXTRA_BYTES + stream
    assert one.device == 4 * (spec.linear_params() + widths)


def test_off_the_cpu_the_device_and_the_host_are_checked_apart(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[int, str]] = []
    monkeypatch.setattr(
        forward, "ensure_fits", lambda need, where, what: calls.append((need, where))
    )
    spec = load_config("mnist_mlp")
    forward.ensure_run_fits(spec, 1000, "cuda:0", with_params=True)
    need = forward.estimate(spec, 1000, "cuda:0", with_params=True)
    on_cpu = forward.estimate(spec, 1000, "cpu", with_params=True)
    assert calls == [(need.device, "cuda:0"), (need.host, "cpu")]
    # the host holds the input drawn on the CPU, the output and the weights copied back
    copies = 4 * (1000 * (784 + 10) + spec.linear_params())
    assert need.host - on_cpu.host == copies
    calls.clear()
    forward.ensure_run_fits(spec, 1000, "cpu", with_params=True)
    assert calls == [(on_cpu.device + on_cpu.host, "cpu")]


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        # issue 7, item 26: huge values end to end, each refused before torch sees them
        (["--batch", str(2**31 - 1)], 1, "a forward pass of batch 2,147,483,647 needs about"),
        (["--batch", str(2**31)], 2, "--batch must be at most 2,147,483,647"),
        (["--batch", str(2**63)], 2, "--batch must be at most"),
        (["--batch", str(2**64)], 2, "--batch must be at most"),
        (["--batch", "9" * 40], 2, "--batch must be at most"),
        (["--seed", str(2**64)], 2, "--seed must be an integer from 0 to 2**64 - 1"),
        (["--seed", "-1"], 2, "--seed must be an integer from 0 to 2**64 - 1"),
    ],
)
def test_huge_values_end_to_end(cli, args: list[str], code: int, fragment: str) -> None:
    out = cli("run", "--json", *args, env={"NNCLI_MEMORY_LIMIT": "1GiB"})
    assert out.exit_code == code, out.stderr
    assert out.stderr.startswith("Error: ") and fragment in out.stderr
    assert out.stdout == ""


def test_an_npy_input_too_large_for_the_limit_is_refused_before_loading(cli, tmp_path) -> None:
    import numpy as np

    path = tmp_path / "rows.npy"
    np.save(path, np.zeros((40_000, 3)))  # 960 kB of float64, plus a 480 kB float32 copy
    out = cli("run", "--input", str(path), env={"NNCLI_MEMORY_LIMIT": "1MB"})
    assert out.exit_code == 1
    assert out.stderr.startswith(
        f"Error: reading --input {path} (40,000 rows) needs about 1.37 MiB on cpu, "
        "but only 976.56 KiB is available; nothing was allocated"
    )
    assert cli("run", "--input", str(path), "--json", env={"NNCLI_MEMORY_LIMIT": "1GB"}).json()[
        "input_shape"
    ] == [40_000, 3]
