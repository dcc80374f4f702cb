"""Models whose code does what no ordinary exception handler sees (issue 15, items 8-10):
exits, raises KeyboardInterrupt itself, starts the debugger, or runs until Ctrl-C."""

from __future__ import annotations

import sys
import time

import torch
from torch import nn


class _Base(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x)


class ExitInInit(_Base):
    def __init__(self) -> None:
        super().__init__()
        sys.exit(4)


class ExitInForward(_Base):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        sys.exit(5)


def exit_factory() -> nn.Module:
    raise SystemExit("a factory gave up")


class InterruptInInit(_Base):
    def __init__(self) -> None:
        super().__init__()
        raise KeyboardInterrupt


class InterruptInForward(_Base):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise KeyboardInterrupt


class DebuggerInForward(_Base):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        breakpoint()  # quits at once when stdin is not a terminal
        return self.fc(x)


class Custom(BaseException):
    """Not an Exception: the CLI's catch-all handler would not see it."""


class BaseExceptionInForward(_Base):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise Custom("not an Exception")


class Looping(_Base):
    """Runs until Ctrl-C; says so on stderr first (the test waits for the line)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        print("looping", file=sys.stderr, flush=True)
        while True:
            time.sleep(0.02)


class LoopingCatches(_Base):
    """Runs until Ctrl-C, then turns the interrupt into an error of its own."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        print("looping", file=sys.stderr, flush=True)
        try:
            while True:
                time.sleep(0.02)
        except KeyboardInterrupt:
            raise RuntimeError("interrupted, said the model") from None


def _tracer(frame: object, event: str, arg: object) -> None:
    return None


class LeavesATracer(_Base):
    """Sets a trace function (as a debugger that is left running does) and returns."""

    def __init__(self) -> None:
        super().__init__()
        sys.settrace(_tracer)
