"""MetaShapes: the commonest layers' outputs on meta tensors by arithmetic.

The reference is torch's own meta kernel: every answer must have its shape and dtype,
a call torch refuses must be left to torch (so its error is raised), and a summary
with the mode must equal one without it, row for row.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from nncli.core.model.hooks import collect_tree
from nncli.core.model.user.metashapes import _rules, meta_shapes
from tests.models import zoo

ROOT = Path(__file__).resolve().parent.parent


def meta(*shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.empty(shape, dtype=dtype, device="meta")


def check(func: Any, *args: Any, **kwargs: Any) -> str:
    """Our answer against torch's: "same", "left to torch", or an AssertionError."""
    try:
        expected = func(*args, **kwargs)
    except Exception:
        expected = None
    answer = _rules()[func](*args, **kwargs)
    if answer is None:
        return "left to torch"
    assert expected is not None, f"torch refuses {func} {args} {kwargs}, the rule answered"
    assert (answer.shape, answer.dtype, answer.device) == (
        expected.shape,
        expected.dtype,
        expected.device,
    )
    assert answer.stride() == expected.stride(), (func, answer.stride(), expected.stride())
    return "same"


def test_conv_against_torch() -> None:
    rng = random.Random(0)
    outcomes = []
    for _ in range(300):
        dims = rng.choice([1, 2, 3])
        groups = rng.choice([1, 1, 2, 3])
        channels = groups * rng.randint(1, 3) + rng.choice([0, 0, 0, 1])  # sometimes wrong
        out = groups * rng.randint(1, 3)
        kernel = [rng.randint(1, 4) for _ in range(dims)]
        size = [rng.randint(1, 9) for _ in range(dims)]
        x = meta(2, channels, *size)
        w = meta(out, channels // groups or 1, *kernel)
        bias = rng.choice([None, meta(out), meta(out + 1)])
        stride = rng.choice([1, 2, [rng.randint(1, 3)] * dims])
        padding = rng.choice([0, 1, 2])
        dilation = rng.choice([1, 2])
        conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[dims]
        outcomes.append(check(conv, x, w, bias, stride, padding, dilation, groups))
    assert outcomes.count("same") > 100 and "left to torch" in outcomes


def test_linear_batch_norm_relu_against_torch() -> None:
    for lead, features, out in itertools.product([(), (3,), (2, 5)], [4, 6], [1, 3]):
        x = meta(*lead, features)
        for bias in (None, meta(out), meta(out + 1)):
            check(F.linear, x, meta(out, 4), bias)
    for shape in [(2, 3), (2, 3, 5), (1, 3, 4, 4), (2, 3, 2, 2, 2), (3,)]:
        x = meta(*shape)
        stats = [meta(3), meta(3)]
        assert check(F.batch_norm, x, *stats, meta(3), meta(3), False) in ("same", "left to torch")
        check(F.batch_norm, x, meta(4), meta(4), None, None, False)
        assert check(F.batch_norm, x, *stats, None, None, True) == "left to torch"
        assert check(F.relu, x) == "same"
    x = meta(2, 3)
    assert _rules()[F.relu](x, inplace=True) is x
    assert check(F.relu, meta(2, dtype=torch.int64)) == "left to torch"


def test_pools_and_add_against_torch() -> None:
    rng = random.Random(1)
    for _ in range(200):
        x = meta(2, 3, rng.randint(1, 12), rng.randint(1, 12))
        kernel = rng.choice([1, 2, 3, (2, 3)])
        stride = rng.choice([None, 1, 2, (1, 2)])
        padding = rng.choice([0, 1, 2])
        check(F.max_pool2d, x, kernel, stride, padding, 1, rng.random() < 0.2)
        check(F.adaptive_avg_pool2d, x, rng.choice([1, (1, 1), (2, None), 3, (0, 2)]))
    for a, b in [((2, 3), (2, 3)), ((2, 3), (3,)), ((2, 3), (1, 3)), ((2, 3), (2, 1, 3))]:
        x = meta(*a)
        try:
            x.add_(meta(*b))
            fits = True
        except RuntimeError:
            fits = False
        assert (_rules()[torch.Tensor.add_](x, meta(*b)) is x) == fits


def test_anything_unusual_is_left_to_torch() -> None:
    x, w = meta(2, 3, 8, 8), meta(4, 3, 3, 3)
    assert check(F.conv2d, x, w, None, 1, "same") == "left to torch"
    assert check(F.conv2d, x.to(torch.float16), w) == "left to torch"  # mixed dtypes
    assert check(F.conv2d, x.transpose(2, 3), w) == "left to torch"  # not contiguous
    assert _rules()[F.conv2d](torch.zeros(2, 3, 8, 8), torch.zeros(4, 3, 3, 3)) is None  # cpu
    assert check(F.max_pool2d, x, 2, 2, 0, 1, True) == "left to torch"  # ceil_mode
    assert check(F.linear, meta(2, 4), meta(3, 5)) == "left to torch"


def test_elementwise_against_torch() -> None:
    base = meta(2, 3, 4, 6)
    layouts = [base, base.transpose(1, 2), base[..., :3], base.permute(3, 1, 0, 2), meta(4, 6)]
    for x in layouts:
        for unary in (torch.cos, torch.Tensor.sin, torch.rsqrt, torch.Tensor.neg, F.silu):
            assert check(unary, x) == "same"
        for other in (2, 0.5, x, meta(*x.shape[-1:]), meta(1, *x.shape[-2:]), meta(5)):
            for op in (torch.add, torch.Tensor.mul, torch.Tensor.pow, torch.Tensor.__rpow__):
                check(op, x, other)
            check(torch.Tensor.div, x, other)
    ids = torch.empty(7, dtype=torch.int64, device="meta")
    assert check(torch.Tensor.div, ids, 4) == "same"  # true division: the default dtype
    assert check(torch.Tensor.mul, ids, 4) == "left to torch"
    assert check(torch.add, base, base.to(torch.float64)) == "left to torch"
    assert check(torch.add, base, True) == "left to torch"


def test_reductions_joins_and_transformer_calls_against_torch() -> None:
    x = meta(2, 5, 8)
    for dim, keepdim in [(-1, True), (1, False), ((0, 2), True), (3, False), ((1, 1), True)]:
        check(torch.Tensor.mean, x, dim, keepdim=keepdim)
    a, b = x.chunk(2, dim=-1)
    assert check(torch.cat, (-b, a), dim=-1) == "same"
    check(torch.cat, (x, meta(2, 5, 3)), dim=1)
    check(torch.cat, (x, meta(2, 5, 3)), dim=2)
    assert check(torch.outer, meta(4), meta(6)) == "same"
    ids = torch.empty(2, 7, dtype=torch.int64, device="meta")
    assert check(F.embedding, ids, meta(10, 4)) == "same"
    check(F.embedding, ids, meta(10, 4), 12)
    q = meta(2, 7, 4, 8).transpose(1, 2)
    assert check(F.scaled_dot_product_attention, q, q, q, is_causal=True) == "same"
    check(F.scaled_dot_product_attention, q, meta(2, 4, 5, 8), meta(2, 4, 5, 3))
    check(F.scaled_dot_product_attention, q, meta(2, 4, 5, 7), meta(2, 4, 5, 3))
    for args, kwargs in [
        ((5,), {"device": "meta"}),
        ((0, 16, 2), {"device": "meta"}),
        ((3,), {"device": "meta", "dtype": torch.float32}),
        ((0.0, 1.0, 0.3), {"device": "meta"}),
    ]:
        assert check(torch.arange, *args, **kwargs) == "same"
    assert _rules()[torch.arange](5) is None  # not on meta: torch's


@pytest.mark.filterwarnings("ignore:Using a non-tuple sequence")
@pytest.mark.parametrize("name", sorted(zoo.zoo()))
def test_a_summary_is_the_same_with_the_mode(name: str) -> None:
    model, args = zoo.zoo()[name]
    model = model.to("meta")
    args = tuple(
        {k: v.to("meta") for k, v in a.items()} if isinstance(a, dict) else a.to("meta")
        for a in args
    )
    try:
        plain = collect_tree(model, args, {}, functional=True)
    except Exception as exc:  # not on meta (an LSTM): the mode leaves it to torch
        with pytest.raises(type(exc)), meta_shapes():
            collect_tree(model, args, {}, functional=True)
        return
    with meta_shapes():
        fast = collect_tree(model, args, {}, functional=True)
    assert fast == plain


def test_a_decoder_summary_is_the_same_with_the_mode() -> None:
    from tests.models.decoder7b import Decoder

    with torch.device("meta"):
        model = Decoder(vocab=50, width=32, depth=2, heads=4, hidden=48)
    tokens = torch.empty(2, 9, dtype=torch.int64, device="meta")
    plain = collect_tree(model, (tokens,), {}, functional=True)
    with meta_shapes():
        assert collect_tree(model, (tokens,), {}, functional=True) == plain


def test_a_wrong_input_fails_as_without_the_mode() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)).to("meta").eval()
    with pytest.raises(RuntimeError) as plain:
        model(meta(2, 5, 8, 8))
    with pytest.raises(RuntimeError) as fast, meta_shapes():
        model(meta(2, 5, 8, 8))
    assert str(fast.value) == str(plain.value)


def test_a_resnet_summary_imports_neither_dynamo_nor_sympy() -> None:
    """In a fresh process: the modules that cost about 1 s are not imported, for a ResNet
    nor for a Llama-shaped decoder."""
    code = (
        "import json, sys\n"
        "from nncli.core.model.user.request import ModelRequest\n"
        "from nncli.core.model.user.summary import summarize_target\n"
        "r = summarize_target(ModelRequest('tests/models/zoo.py:resnet18',\n"
        "    input_sizes=('3,64,64',), batch=1), depth=3, functional=None)\n"
        "d = summarize_target(ModelRequest('tests/models/decoder7b.py:Decoder',\n"
        "    kwargs_text='{\"depth\": 2}', input_sizes=('16',), dtypes=('long',), batch=1),\n"
        "    depth=3, functional=None)\n"
        "print(json.dumps([r.total_params, r.built_on, d.built_on,\n"
        "    [m for m in ('torch._dynamo', 'sympy') if m in sys.modules]]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "MPLBACKEND": "Agg"},
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == [11_689_512, "meta", "meta", []]
