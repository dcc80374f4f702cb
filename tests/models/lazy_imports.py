"""Factories that import a library only when called, as issue 14's reproducer does
(``def f(): import torchvision; return torchvision.models...``)."""

from __future__ import annotations

import importlib

import torch
from torch import nn


def make() -> nn.Module:
    """Imports :mod:`tests.models.uses_torch_internals` (torch._dynamo, sympy) inside."""
    internals = importlib.import_module("tests.models.uses_torch_internals")
    assert isinstance(internals.counters, dict)
    width = internals.three()
    return nn.Sequential(nn.Linear(4, width), nn.BatchNorm1d(width))


class Chatty(nn.Module):
    """Writes to stdout while built and run: print() and raw writes to file descriptor 1."""

    def __init__(self) -> None:
        import os

        print("print in __init__")
        os.write(1, b"fd1 in __init__\n")
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        import os

        print("print in forward")
        os.write(1, b"fd1 in forward\n")
        return self.fc(x)
