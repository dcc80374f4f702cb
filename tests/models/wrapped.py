"""Models people bring wrapped: torch.compile'd, TorchScript (whole or a child), and a
parameter left uninitialised until the first forward (issue 17)."""

from __future__ import annotations

import torch
from torch import nn


class Small(nn.Module):
    """4 -> 8 -> 2: 40 + 18 = 58 parameters."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(4, 8)
        self.b = nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(torch.relu(self.a(x)))


def compiled() -> nn.Module:
    return torch.compile(Small())


COMPILED_INSTANCE = torch.compile(Small())


def scripted() -> nn.Module:
    return torch.jit.script(Small())


class WithScriptChild(nn.Module):
    """A scripted Small (58) and a 2 -> 3 head (9): 67 parameters."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = torch.jit.script(Small())
        self.head = nn.Linear(2, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.inner(x))


class Uninitialised(nn.Module):
    """A 3 x in weight materialised in the first forward (a torchinfo fixture's pattern)."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.UninitializedParameter()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if isinstance(self.w, nn.UninitializedParameter):
            self.w.materialize((3, x.shape[-1]))
            with torch.no_grad():
                self.w.normal_()
        return x @ self.w.t()
