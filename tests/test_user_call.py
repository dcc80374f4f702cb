"""The one guarded call of the user's code (``--model``), for ``summary`` and ``run``.

The user's output goes to stderr (``print`` and raw writes to fd 1), the model is built
once per command, nothing of nncli's stays in ``sys.modules``, and a library the user's
factory imports is imported for real.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from nncli.core.model.user.call import (
    _Budget,
    call_with,
    meta_copies,
    shapes_text,
    skip_init_on_meta,
    user_output,
)
from nncli.core.model.user.request import ModelRequest
from nncli.core.model.user.summary import summarize_target
from nncli.errors import RuntimeFailure

from .conftest import Invoke

ROOT = Path(__file__).resolve().parent.parent
CHATTY = "tests/models/lazy_imports.py:Chatty"
WRITES = ["print in __init__", "fd1 in __init__", "print in forward", "fd1 in forward"]


def _python(code: str) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter (nothing imported yet), in the repository root."""
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "100", "MPLBACKEND": "Agg"}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return _python(
        f"import sys; from nncli.cli import main; sys.argv = ['nncli', *{args!r}]; main()"
    )


# --- the user's output ---------------------------------------------------------------


@pytest.mark.parametrize("command", ["summary", "run"])
def test_json_stays_one_document_whatever_the_model_writes(command: str) -> None:
    """In a real process: print() and os.write(1, ...) in __init__ and forward go to
    stderr, and stdout is exactly the JSON document. (Before issue 14, `run --model
    --json` printed the model's prints ahead of it.)"""
    done = _cli(command, "--model", CHATTY, "--input-size", "4", "--json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)  # one document, nothing before or after it
    assert document["command"] == command
    for line in WRITES:
        assert line in done.stderr
        assert line not in done.stdout


@pytest.mark.parametrize("command", ["summary", "run"])
def test_prints_go_to_stderr_under_the_cli_runner(command: str, cli: Invoke) -> None:
    out = cli(command, "--model", CHATTY, "--input-size", "4", "--json")
    assert out.exit_code == 0, out.stderr
    assert out.json()["command"] == command
    assert "print in __init__" in out.stderr and "print in forward" in out.stderr


def test_user_output_restores_fd_1_when_the_block_raises() -> None:
    before = os.fstat(1)
    with pytest.raises(ZeroDivisionError), user_output():
        assert os.fstat(1).st_ino == os.fstat(2).st_ino
        _ = 1 / 0
    after = os.fstat(1)
    assert (after.st_dev, after.st_ino) == (before.st_dev, before.st_ino)


# --- no stand-in modules -----------------------------------------------------------------

_STAND_INS = """
import json, sys
from nncli.core.model.user.request import ModelRequest
from nncli.core.model.user.summary import summarize_target
before = set(sys.modules)
result = summarize_target(
    ModelRequest("tests.models.lazy_imports:make", input_sizes=("4",), batch=2),
    depth=3, functional=None,
)
doc = lambda m: getattr(m, "__doc__", "") or ""
fakes = [n for n, m in sys.modules.items() if "nncli's stand-in" in doc(m)]
real = {n: getattr(sys.modules.get(n), "__file__", None) is not None
        for n in ("torch._dynamo", "sympy", "torch.fx.experimental.symbolic_shapes")
        if n in sys.modules}
print(json.dumps({"fakes": fakes, "real": real, "params": result.total_params,
                  "built_on": result.built_on, "fallback": result.fallback,
                  "left": sorted(n for n in set(sys.modules) - before if "nncli" in n)}))
"""


def test_a_factory_imports_torch_internals_for_real() -> None:
    """Issue 14's reproducer: a package importing torch._dynamo.utils and sympy in a
    submodule, imported inside the factory, in a fresh process."""
    done = _python(_STAND_INS)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.splitlines()[-1])
    assert found["fakes"] == []
    assert found["real"] and all(found["real"].values())
    assert found["params"] == 4 * 3 + 3 + 3 + 3  # Linear(4, 3) and BatchNorm1d(3)
    assert (found["built_on"], found["fallback"]) == ("meta", None)
    assert "nncli.core.model.user.meta" not in found["left"]  # the stand-ins' module: gone


def test_no_stand_ins_after_a_summary_in_this_process() -> None:
    result = summarize_target(
        ModelRequest("tests/models/zoo.py:resnet18", input_sizes=("3,32,32",), batch=1),
        depth=1,
        functional=None,
    )
    assert result.built_on == "meta"
    for name in ("torch._dynamo", "sympy", "torch.fx.experimental.symbolic_shapes"):
        module = sys.modules.get(name)
        assert module is None or getattr(module, "__file__", None) is not None, name
    assert "nncli.core.model.user.meta" not in sys.modules


# --- one construction ---------------------------------------------------------------------

_COUNTED = (
    "from torch import nn\nBUILT = []\n"
    "class Net(nn.Module):\n"
    "    def __init__(self):\n"
    "        BUILT.append(1)\n        super().__init__()\n"
    "        self.fc1, self.fc2 = nn.Linear(4, 6), nn.Linear(6, 3)\n"
    "    def forward(self, x):\n        return self.fc2(self.fc1(x))\n"
)


def _built(stem: str) -> list[int]:
    return [len(m.BUILT) for n, m in sys.modules.items() if n.startswith(f"_nncli_user_{stem}_")]


def test_summary_builds_the_model_once(tmp_path: Path) -> None:
    (tmp_path / "once_summary.py").write_text(_COUNTED)
    spec = f"{tmp_path / 'once_summary.py'}:Net"
    result = summarize_target(
        ModelRequest(spec, input_sizes=("4",), batch=2), depth=3, functional=None
    )
    assert result.total_params == 4 * 6 + 6 + 6 * 3 + 3
    assert _built("once_summary") == [1]


def test_run_builds_the_model_once(tmp_path: Path, cli: Invoke) -> None:
    (tmp_path / "once_run.py").write_text(_COUNTED)
    out = cli("run", "--model", f"{tmp_path / 'once_run.py'}:Net", "--input-size", "4")
    assert out.exit_code == 0, out.stderr
    assert _built("once_run") == [1]


# --- the allocation budget of a real build ------------------------------------------------


def test_the_budget_moves_to_meta_past_its_limit() -> None:
    budget = _Budget(limit=100)
    with budget.watching():
        small = torch.zeros(5, 5)  # 100 bytes: fits exactly
        big = torch.empty((3,), dtype=torch.float64)  # 24 more: made on meta
        layer = nn.Linear(4, 4)  # on meta, its init skipped
        like = torch.ones_like(small)
    assert not small.is_meta and small.abs().sum() == 0
    assert big.is_meta and layer.weight.is_meta and like.is_meta
    assert budget.over and budget.total == 100 + 24 + (16 + 4) * 4 + 100


def test_a_real_build_refuses_what_does_not_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    from nncli.core.model.user.call import build_module
    from nncli.core.model.user.target import resolve_target

    target = resolve_target("tests/models/run_nets.py:Net")
    monkeypatch.setenv("NNCLI_MEMORY_LIMIT", "100")
    with pytest.raises(RuntimeFailure, match=r"the model needs about 204 B on cpu"):
        build_module(target, {}, meta=False, device="cpu", seed=0)
    monkeypatch.setenv("NNCLI_MEMORY_LIMIT", "204")
    model = build_module(target, {}, meta=False, device="cpu", seed=0)
    torch.manual_seed(0)
    expected = target.obj()
    assert all(
        torch.equal(a, b) for a, b in zip(model.parameters(), expected.parameters(), strict=True)
    )


# --- an instance left as found ------------------------------------------------------------


class Tied(nn.Module):
    """A module used twice, and a weight tied between two modules (embedding and head)."""

    def __init__(self) -> None:
        super().__init__()
        self.shared = nn.Linear(3, 3)
        self.norm = nn.BatchNorm1d(3)
        self.emb = nn.Embedding(5, 3)
        self.head = nn.Linear(3, 5, bias=False)
        self.head.weight = self.emb.weight
        self.twice = nn.Sequential(self.shared, self.norm, self.shared)


def test_call_with_swaps_through_functional_call() -> None:
    model = Tied()
    before = model.state_dict(keep_vars=True)
    seen: dict[str, Any] = {}

    def look() -> None:
        seen["devices"] = {t.device.type for t in [*model.parameters(), *model.buffers()]}
        seen["count"] = len(list(model.parameters()))  # tied weights stay tied
        seen["tied"] = model.head.weight is model.emb.weight
        seen["grad"] = all(p.requires_grad for p in model.parameters())

    call_with(model, meta_copies(model), look)
    assert seen == {"devices": {"meta"}, "count": 5, "tied": True, "grad": True}
    after = model.state_dict(keep_vars=True)
    assert all(after[name] is tensor for name, tensor in before.items())
    assert model.head.weight is model.emb.weight


# --- skip_init_on_meta, shapes_text -------------------------------------------------------


def test_skip_init_leaves_real_tensors_alone() -> None:
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


def test_shapes_text() -> None:
    assert shapes_text([2, 3]) == "[2, 3]"
    assert shapes_text([[2, 3], [2, 4]]) == "[2, 3], [2, 4]"
    assert shapes_text([[2, 3]]) == "[2, 3]"
    assert shapes_text({"x": [1, 2]}) == "{x: [1, 2]}"


def test_a_model_that_fits_after_its_temporaries_is_built_again(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A 40 kB temporary takes the count past a 20 kB limit; the finished model (60 bytes)
    fits, so it is built again, unwatched, with the weights a first build would draw."""
    from nncli.core.model.user.call import build_module
    from nncli.core.model.user.target import resolve_target

    (tmp_path / "temporary.py").write_text(
        "import torch\nfrom torch import nn\nBUILT = []\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        BUILT.append(1)\n        super().__init__()\n"
        "        scratch = torch.zeros(10_000)\n        del scratch\n"
        "        self.fc = nn.Linear(4, 3)\n"
    )
    target = resolve_target(f"{tmp_path / 'temporary.py'}:Net")
    monkeypatch.setenv("NNCLI_MEMORY_LIMIT", "20000")
    torch.manual_seed(7)
    model: Any = build_module(target, {}, meta=False, device="cpu", seed=None)
    after = torch.randn(3)  # the generator continues from where one build leaves it
    torch.manual_seed(7)
    expected = target.obj()
    assert torch.equal(model.fc.weight, expected.fc.weight)
    assert torch.equal(after, torch.randn(3))
    assert not model.fc.weight.is_meta
    assert len(sys.modules[target.obj.__module__].BUILT) == 3  # twice here, once above


# --- exits, interrupts and the debugger (issue 15, items 8-10) ----------------------------

HOSTILE = "tests/models/hostile.py"


@pytest.mark.parametrize("command", ["summary", "run"])
@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("builtins:exit", "--model: building exit called sys.exit(None)"),
        ("builtins:quit", "--model: building quit called sys.exit(None)"),
        (f"{HOSTILE}:ExitInInit", "--model: building ExitInInit called sys.exit(4)"),
        (
            f"{HOSTILE}:exit_factory",
            "--model: building exit_factory called sys.exit('a factory gave up')",
        ),
        (
            f"{HOSTILE}:ExitInForward",
            "--model: the forward pass of ExitInForward called sys.exit(5)",
        ),
    ],
)
def test_an_exit_in_the_users_code_is_a_usage_error(
    command: str, spec: str, message: str, cli: Invoke
) -> None:
    """Before: exit 0 with no output at all (exit(), quit()), or the code passed (4, 5)."""
    out = cli(command, "--model", spec, "--input-size", "4", "--json")
    assert out.exit_code == 2, out.stderr
    assert f"Error: {message}" in out.stderr
    assert "Hint: nncli runs your code in its own process" in out.stderr
    assert out.stdout == ""


@pytest.mark.parametrize("command", ["summary", "run"])
@pytest.mark.parametrize(
    ("name", "call"),
    [("InterruptInInit", "building"), ("InterruptInForward", "the forward pass of")],
)
def test_a_keyboard_interrupt_the_code_raises_is_not_a_ctrl_c(
    command: str, name: str, call: str, cli: Invoke
) -> None:
    """Before: "Error: interrupted" and exit 130, though no signal was sent."""
    out = cli(command, "--model", f"{HOSTILE}:{name}", "--input-size", "4")
    assert out.exit_code == 2, out.stderr
    assert f"--model: {call} {name} raised KeyboardInterrupt, though no Ctrl-C" in out.stderr
    assert "hostile.py:" in out.stderr  # where it was raised
    assert "interrupted" not in out.stderr


@pytest.fixture
def quitting_debugger(monkeypatch: pytest.MonkeyPatch) -> None:
    """breakpoint() starts a real pdb that reads an empty stdin, so quits at once (pytest's
    own breakpoint hook would turn its capture off, and could wait for a terminal)."""

    def plain_pdb(*args: Any, **kwargs: Any) -> None:
        import io
        import pdb

        pdb.Pdb(stdin=io.StringIO(""), stdout=sys.stderr).set_trace(sys._getframe().f_back)

    monkeypatch.setattr(sys, "breakpointhook", plain_pdb)


@pytest.mark.parametrize("command", ["summary", "run"])
def test_a_base_exception_is_a_usage_error(command: str, cli: Invoke) -> None:
    out = cli(command, "--model", f"{HOSTILE}:BaseExceptionInForward", "--input-size", "4")
    assert out.exit_code == 2, out.stderr
    assert "the forward pass of BaseExceptionInForward raised Custom: not an Exception" in (
        out.stderr
    )


@pytest.mark.parametrize("command", ["summary", "run"])
@pytest.mark.parametrize(
    ("spec", "call"),
    [
        ("builtins:breakpoint", "building breakpoint"),
        (f"{HOSTILE}:DebuggerInForward", "the forward pass of DebuggerInForward"),
    ],
)
def test_a_debugger_that_quits_is_a_usage_error(
    command: str, spec: str, call: str, cli: Invoke, quitting_debugger: None
) -> None:
    """pdb really starts, reads an empty stdin and quits: BdbQuit, named, and no trace
    function left behind."""

    before = sys.gettrace()  # None, or a coverage tool's
    out = cli(command, "--model", spec, "--input-size", "4")
    assert sys.gettrace() is before
    assert out.exit_code == 2, out.stderr
    assert f"Error: --model: {call} started the debugger" in out.stderr
    assert "PYTHONBREAKPOINT=0" in out.stderr


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("raise KeyboardInterrupt", "raised KeyboardInterrupt, though no Ctrl-C was pressed"),
        ("breakpoint()", "importing it started the debugger"),
    ],
)
def test_an_interrupt_or_debugger_at_import_is_a_usage_error(
    code: str, message: str, tmp_path: Path, cli: Invoke, quitting_debugger: None
) -> None:
    (tmp_path / "at_import.py").write_text(f"x = 1\n{code}\ny = 2\n")
    out = cli("run", "--model", f"{tmp_path / 'at_import.py'}:Net", "--json")
    assert out.exit_code == 2, out.stderr
    assert message in out.stderr and "interrupted" not in out.stderr
    assert out.stdout == ""


@pytest.mark.parametrize("command", ["summary", "run"])
def test_a_trace_function_left_by_the_code_is_removed(command: str, cli: Invoke) -> None:
    before = sys.gettrace()  # None, or a coverage tool's
    out = cli(command, "--model", f"{HOSTILE}:LeavesATracer", "--input-size", "4", "--json")
    after = sys.gettrace()
    sys.settrace(before)  # whatever happened, not past this test
    assert after is before
    assert out.exit_code == 0, out.stderr


def test_a_debugger_in_a_real_process_keeps_json_clean() -> None:
    """In a real process, stdin closed: pdb's prompt goes to stderr, exit 2."""
    env = {**os.environ, "NO_COLOR": "1", "PYTHONBREAKPOINT": "pdb.set_trace"}
    done = subprocess.run(
        [sys.executable, "-m", "nncli", "summary", "--model", "builtins:breakpoint", "--json"],
        cwd=ROOT,
        capture_output=True,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert "building breakpoint started the debugger" in done.stderr


# Python's own SIGINT handler, as a terminal's nncli has it, even where this suite runs with
# SIGINT ignored (a background job): an ignored SIGINT is inherited, and Python keeps it.
_CTRL_C_MAIN = (
    "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "from nncli.cli import main; sys.argv = ['nncli', *sys.argv[1:]]; main()"
)


def _interrupted(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """``nncli ARGS`` in a real process, sent SIGINT once its code prints "looping"."""
    import signal
    import threading

    env = {**os.environ, "NO_COLOR": "1", "PYTHONBREAKPOINT": "0", "MPLBACKEND": "Agg"}
    proc = subprocess.Popen(
        [sys.executable, "-c", _CTRL_C_MAIN, *args],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    watchdog = threading.Timer(240, proc.kill)  # never hang the suite
    watchdog.start()
    try:
        assert proc.stderr is not None
        lines = []
        for line in proc.stderr:
            lines.append(line)
            if line.strip() == "looping":
                proc.send_signal(signal.SIGINT)
                break
        out, err = proc.communicate(timeout=240)
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
    return subprocess.CompletedProcess(args, proc.returncode, out, "".join(lines) + err)


@pytest.mark.parametrize(
    "args",
    [
        ["run", "--model", f"{HOSTILE}:Looping", "--input-size", "4", "--json"],
        ["summary", "--model", f"{HOSTILE}:LoopingCatches", "--input-size", "4"],
        ["summary", "--model", "LOOP_AT_IMPORT", "--json"],
    ],
    ids=["forward", "forward-catches-it", "import"],
)
def test_a_real_ctrl_c_in_the_users_code_exits_130(args: list[str], tmp_path: Path) -> None:
    """A real SIGINT stays an interrupt: exit 130, "Error: interrupted", no traceback,
    also when the model turns it into an error of its own, and in an endless loop at
    import (issue 15, item 12: Ctrl-C ends it cleanly)."""
    loop = tmp_path / "loops.py"
    loop.write_text(
        "import sys, time\nprint('looping', file=sys.stderr, flush=True)\n"
        "while True:\n    time.sleep(0.02)\n"
    )
    args = [f"{loop}:Net" if a == "LOOP_AT_IMPORT" else a for a in args]
    done = _interrupted(args, tmp_path)
    assert done.returncode == 130, done.stderr
    assert "Error: interrupted" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize("command", ["summary", "run"])
def test_writes_at_import_in_a_factory_and_reading_the_output_go_to_stderr(command: str) -> None:
    """Issue 15, item 11: print and os.write(1, ...) at import time, in a factory, and in an
    output mapping's __getitem__ (run reads the output's leaves), with --json."""
    done = _cli(
        command, "--model", "tests/models/noisy_import.py:make", "--input-size", "4", "--json"
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["command"] == command
    writes = ["at import", "in the factory"] + (["reading the output"] if command == "run" else [])
    for where in writes:
        for how in ("print", "fd1"):
            assert f"{how} {where}" in done.stderr
            assert f"{how} {where}" not in done.stdout
