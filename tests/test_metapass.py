"""The meta pass without torch._dynamo (nncli/core/model/metapass.py).

The checks that depend on torch._dynamo not being imported yet run in a fresh
interpreter: the test process may have imported it already (then fast_meta does
nothing, by design).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from nncli.core.model.user.meta import DYNAMO, fast_meta, run_meta, skip_init_on_meta

ROOT = Path(__file__).resolve().parent.parent

CNN = """
import gc, json, sys, types
import torch
from torch import nn
from torch.nn import functional as F

class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 3, padding=1)
        self.bn = nn.BatchNorm2d(6)
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.fc = nn.Linear(6 * 4 + 6, 5)
        self.register_buffer("scale", torch.ones(6).normal_())
        nn.init.trunc_normal_(self.fc.weight, std=0.02)
        nn.init.orthogonal_(self.conv.weight)

    def forward(self, x):
        y = F.relu(self.bn(self.conv(x)))
        y = y + y * self.scale[:, None, None]
        pooled = torch.flatten(self.pool(y), 1)
        return y, self.fc(torch.cat([pooled, y.mean((2, 3))], 1))

def shapes(model, x):
    with torch.no_grad():
        return [list(t.shape) for t in model(x)]
"""

FAST = (
    CNN
    + """
from nncli.core.model.user.meta import CACHE_ATTR, DYNAMO, fast_meta, run_meta, skip_init_on_meta

def cached():
    return sum(
        1 for f in gc.get_objects()
        if isinstance(f, types.FunctionType) and CACHE_ATTR in f.__dict__
    )

out = {}
with torch.device("meta"), skip_init_on_meta(), fast_meta() as record:
    model = CNN()
out["installed"] = record.installed
out["params_on_meta"] = all(p.is_meta for p in model.parameters())
seen = {}

def meta_pass():
    seen["dynamo_inside"] = type(sys.modules.get(DYNAMO)).__name__
    model.eval()  # batch_norm's eval decomposition: elementwise refs that ask for sympy
    result = shapes(model, torch.empty(2, 3, 8, 8, device="meta"))
    model.train()
    result = shapes(model, torch.empty(2, 3, 8, 8, device="meta"))
    seen["sympy_inside"] = (sys.modules.get("sympy").__doc__ or "")[:5]
    seen["cached_inside"] = cached()
    return result

out["meta_shapes"] = run_meta(meta_pass)
out.update(seen)
out["dynamo_after"] = DYNAMO in sys.modules
out["sympy_after"] = "sympy" in sys.modules
out["symbolic_after"] = "torch.fx.experimental.symbolic_shapes" in sys.modules
out["torch_attr_after"] = "_dynamo" in torch.__dict__
out["cached_after"] = cached()

# run_meta: a function that needs more of torch._dynamo than `disable` fails under the
# stand-in and is run again without it.
calls = []
def needs_dynamo():
    module = sys.modules.get(DYNAMO)
    calls.append(module is not None)
    if module is not None:
        module.config  # the stand-in has no config: AttributeError
    return "second try"
out["retried"] = run_meta(needs_dynamo)
out["retry_calls"] = calls

# A real error: not the stand-in's doing, so not retried, and it propagates.
real_calls = []
def broken():
    real_calls.append(1)
    raise ValueError("a real error")
try:
    run_meta(broken)
except ValueError as exc:
    out["real_error"] = str(exc)
out["real_calls"] = len(real_calls)

# The same error after the stand-in was asked for more: retried once, then propagates.
both = []
def broken_twice():
    module = sys.modules.get(DYNAMO)
    both.append(module is not None)
    if module is not None:
        getattr(module, "is_compiling", None)
    raise ValueError("still broken")
try:
    run_meta(broken_twice)
except ValueError as exc:
    out["twice_error"] = str(exc)
out["twice_calls"] = both
out["dynamo_at_end"] = DYNAMO in sys.modules

# The independent reference: the same model built and run for real.
torch.manual_seed(0)
out["real_shapes"] = shapes(CNN(), torch.randn(2, 3, 8, 8))
out["dynamo_after_real"] = DYNAMO in sys.modules

# The measured fact metapass exists for: without it, the same build and pass import
# torch._dynamo (about 0.8 s). If a torch release stops doing that, the control fails
# and metapass can go.
with torch.device("meta"):
    plain = CNN()
shapes(plain, torch.empty(2, 3, 8, 8, device="meta"))
out["dynamo_without_metapass"] = DYNAMO in sys.modules
print(json.dumps(out))
"""
)


def _run(code: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def fast() -> dict[str, Any]:
    return _run(FAST)


def test_meta_build_and_pass_give_the_real_shapes_without_dynamo(fast: dict[str, Any]) -> None:
    assert fast["installed"] is True
    assert fast["params_on_meta"] is True
    assert fast["meta_shapes"] == fast["real_shapes"] == [[2, 6, 8, 8], [2, 5]]
    # inside the pass the stand-in served the dynamo-wrapped kernels ...
    assert fast["dynamo_inside"] == "module"
    assert fast["cached_inside"] > 0
    # ... and nothing of it is left afterwards
    assert fast["dynamo_after"] is False
    assert fast["torch_attr_after"] is False
    assert fast["cached_after"] == 0
    assert fast["dynamo_at_end"] is False
    # sympy and symbolic_shapes (about 0.3 s) were stood in for, and are gone too
    assert fast["sympy_inside"] == "nncli"
    assert fast["sympy_after"] is False
    assert fast["symbolic_after"] is False


def test_run_meta_retries_without_the_stand_in(fast: dict[str, Any]) -> None:
    assert fast["retried"] == "second try"
    assert fast["retry_calls"] == [True, False]


def test_run_meta_lets_a_real_error_through(fast: dict[str, Any]) -> None:
    assert fast["real_error"] == "a real error"
    assert fast["real_calls"] == 1
    assert fast["twice_error"] == "still broken"
    assert fast["twice_calls"] == [True, False]


def test_without_metapass_the_same_pass_imports_dynamo(fast: dict[str, Any]) -> None:
    assert fast["dynamo_after_real"] is False
    assert fast["dynamo_without_metapass"] is True


def test_fast_meta_does_nothing_when_the_real_modules_are_imported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import types

    from nncli.core.model.user.meta import SYMBOLIC_SHAPES, SYMPY

    real = {name: types.ModuleType(name) for name in (DYNAMO, SYMBOLIC_SHAPES, SYMPY)}
    for name, module in real.items():
        monkeypatch.setitem(sys.modules, name, module)
    with fast_meta() as record:
        assert all(sys.modules[name] is module for name, module in real.items())
    assert record.installed is False
    assert all(sys.modules[name] is module for name, module in real.items())


PLAIN_VALUES = [True, False, 0, 1, 7]


def test_the_symbolic_shapes_stand_in_agrees_with_torch_on_plain_values() -> None:
    """Each helper the stand-in provides, against torch's own on ints and bools."""
    import itertools
    import warnings

    import torch.fx.experimental.symbolic_shapes as real

    from nncli.core.model.user.meta import _PLAIN, StandIn, _symbolic_stand_in

    stand_in = _symbolic_stand_in(StandIn(), [True])
    checked = 0
    for name in _PLAIN:
        if not hasattr(real, name):
            continue  # a name some torch releases import and this one lacks
        ours, theirs = getattr(stand_in, name), getattr(real, name)
        for args in itertools.chain(
            ((a,) for a in PLAIN_VALUES), itertools.product(PLAIN_VALUES, repeat=2)
        ):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", FutureWarning)  # guard_size_oblivious
                    expected = theirs(*args)
            except Exception:  # not a valid call (bool to guard_int, a 2nd arg): skip
                continue
            if name in ("_advise_is_size", "_constrain_range_for_size", "constrain_range"):
                continue
            got = ours(*args)
            if name == "free_unbacked_symbols":
                assert set(got) == set(expected) == set(), name
            else:
                assert got == expected, (name, args, got, expected)
            checked += 1
    assert checked > 40
    for a, b in (([1, 2], (1, 2)), ([1, 2], [1, 3]), ((), []), ([1], [1, 1])):
        assert stand_in.sym_eq(a, b) == real.sym_eq(a, b), (a, b)
    # a symbolic value, while active, is a miss (run_meta then retries)
    record = StandIn()
    active = _symbolic_stand_in(record, [True])
    with pytest.raises(TypeError):
        active.guard_or_false(object())
    assert record.missed == ["symbolic_shapes.guard_or_false"]


def test_skip_init_leaves_real_tensors_alone() -> None:
    import torch

    with skip_init_on_meta():
        real = torch.zeros(1000).normal_()
        meta = torch.zeros(3, 4, device="meta").uniform_()
        grown = torch.empty(3, device="meta").unsqueeze_(0)
        frozen = torch.empty(3, device="meta").requires_grad_(True)
    assert real.abs().sum().item() > 0  # drawn, not skipped
    assert meta.shape == (3, 4)
    assert grown.shape == (1, 3)  # shape-changing in-place ops still run
    assert frozen.requires_grad


def test_skip_init_skips_init_on_meta(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch
    from torch import nn

    called: list[str] = []
    original = torch.Tensor.uniform_

    def spy(self: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        called.append("uniform_")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "uniform_", spy)
    with torch.device("meta"), skip_init_on_meta():
        layer = nn.Linear(4, 3)
    assert called == []  # kaiming_uniform_ and uniform_ returned at once
    assert layer.weight.is_meta and layer.weight.shape == (3, 4)
    with torch.device("meta"):
        nn.Linear(4, 3)
    assert called  # the control: without the mode, init reaches uniform_


def test_run_meta_returns_the_value() -> None:
    assert run_meta(lambda: 42) == 42
