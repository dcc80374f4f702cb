"""A 7-billion-parameter decoder (tests/models/decoder7b.py): counts, a real tiny forward,
and `summary --model` on the full size in a fresh process, without allocating weights.

References: the parameter count by formula and Llama-2-7B's published count
(6,738,415,616, the figure of the Hugging Face checkpoint), torch's own numel,
torchinfo, and torch's F.rms_norm.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from tests.models.decoder7b import Decoder, RMSNorm

ROOT = Path(__file__).parent.parent
SPEC = "tests/models/decoder7b.py:Decoder"
LLAMA2_7B_PARAMS = 6_738_415_616  # published; equals the formula below at the default size
TINY = {"vocab": 101, "width": 64, "depth": 2, "heads": 4, "hidden": 172}


def expected_params(vocab: int, width: int, depth: int, heads: int, hidden: int) -> int:
    """Embedding + blocks (q, k, v, o; gate, up, down; two norm scales) + norm + head."""
    del heads  # the heads split the projections; they add no parameters
    block = 4 * width * width + 3 * width * hidden + 2 * width
    return vocab * width + depth * block + width + width * vocab


def test_formula_matches_the_published_llama2_count() -> None:
    assert expected_params(32000, 4096, 32, 32, 11008) == LLAMA2_7B_PARAMS


def test_full_size_on_meta_has_6_7_billion_parameters() -> None:
    with torch.device("meta"):
        model = Decoder()
    assert sum(p.numel() for p in model.parameters()) == LLAMA2_7B_PARAMS
    assert all(p.is_meta for p in model.parameters())
    assert list(model.buffers()) == []  # rotary tables are computed in forward
    logits = model(torch.zeros(1, 16, dtype=torch.long, device="meta"))
    assert logits.shape == (1, 16, 32000)


def test_tiny_decoder_real_forward() -> None:
    torch.manual_seed(0)
    model = Decoder(**TINY).eval()
    assert sum(p.numel() for p in model.parameters()) == expected_params(**TINY)
    tokens = torch.randint(0, TINY["vocab"], (3, 9))
    with torch.no_grad():
        logits = model(tokens)
        # Causal: changing the last token changes no earlier position's logits.
        changed = tokens.clone()
        changed[:, -1] = (changed[:, -1] + 1) % TINY["vocab"]
        again = model(changed)
    assert logits.shape == (3, 9, TINY["vocab"])
    assert logits.dtype == torch.float32 and torch.isfinite(logits).all()
    assert torch.equal(logits[:, :-1], again[:, :-1])
    assert not torch.equal(logits[:, -1], again[:, -1])


def test_tiny_decoder_count_agrees_with_torchinfo() -> None:
    import torchinfo

    model = Decoder(**TINY)
    tokens = torch.randint(0, TINY["vocab"], (1, 5))
    stats = torchinfo.summary(model, input_data=[tokens], verbose=0)
    assert stats.total_params == expected_params(**TINY)


def test_rmsnorm_matches_torch() -> None:
    torch.manual_seed(0)
    norm = RMSNorm(8)
    with torch.no_grad():
        norm.weight.uniform_(0.5, 1.5)
    x = torch.randn(2, 3, 8)
    reference = F.rms_norm(x, (8,), norm.weight, eps=norm.eps)
    torch.testing.assert_close(norm(x), reference)


def _run_measured(argv: list[str], timeout: float) -> tuple[int, str, str, int]:
    """(exit code, stdout, stderr, peak RSS in bytes) of one child process.

    os.wait4 gives this child's own peak RSS; RUSAGE_CHILDREN would be the largest of
    every child pytest ever waited for (wheel builds and other tests' processes too).
    """
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "100", "NNCLI_DEVICE": "cpu"}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=err)
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
        try:
            _pid, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        out.seek(0)
        err.seek(0)
        return proc.returncode, out.read().decode(), err.read().decode(), usage.ru_maxrss * 1024


@pytest.mark.slow
def test_summary_of_7b_decoder_allocates_no_weights() -> None:
    argv = [sys.executable, "-m", "nncli", "summary", "--model", SPEC]
    argv += ["--input-size", "16", "--dtype", "long", "--vocab", "32000", "--batch", "1"]
    code, stdout, stderr, peak = _run_measured([*argv, "--json"], timeout=120)
    assert code == 0, stderr
    doc = json.loads(stdout)
    assert doc["total_params"] == LLAMA2_7B_PARAMS
    assert doc["trainable_params"] == LLAMA2_7B_PARAMS
    assert doc["built_on"] == "meta" and doc["fallback"] is None
    assert doc["model_spec"] == SPEC
    assert doc["memory_bytes"]["params"] == 4 * LLAMA2_7B_PARAMS  # float32, estimated
    rows = {row["name"]: row for row in doc["layers"]}
    assert rows["lm_head"]["output_shape"] == [1, 16, 32000]
    assert rows["lm_head"]["params"] == 4096 * 32000
    assert rows["embed"]["params"] == 32000 * 4096
    assert rows["blocks.31.mlp"]["params"] == 3 * 4096 * 11008  # depth 3: folded
    assert sum(row["params"] for row in doc["layers"]) == LLAMA2_7B_PARAMS
    # The float32 weights alone would be 27 GB; a meta build stays near a bare torch import.
    assert peak < 1.5e9, f"peak RSS {peak / 2**20:.0f} MiB"
