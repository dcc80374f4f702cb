"""Writes to stdout at import, in its factory, in forward and while its output is read:
with ``--json`` all of it must go to stderr (issue 15, item 11)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

import torch
from torch import nn

print("print at import")
os.write(1, b"fd1 at import\n")


class LoudOutput(Mapping[str, Any]):
    """A mapping output whose reads print (run reads it to list the output's leaves)."""

    def __init__(self, logits: torch.Tensor) -> None:
        self.logits = logits

    def __getitem__(self, key: str) -> Any:
        print("print reading the output")
        os.write(1, b"fd1 reading the output\n")
        return {"logits": self.logits}[key]

    def __iter__(self) -> Iterator[str]:
        return iter(["logits"])

    def __len__(self) -> int:
        return 1


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> LoudOutput:
        return LoudOutput(self.fc(x))


def make() -> nn.Module:
    print("print in the factory")
    os.write(1, b"fd1 in the factory\n")
    return Net()
