"""Models for ``nncli draw``'s block graph (tests/test_draw_blocks.py): a residual block
with and without a downsample, two inputs with a tuple output, a dict output, a view in
a container's forward, and a model that leaves a module uncalled."""

from __future__ import annotations

import torch
from torch import nn

try:  # imported as tests.models.draw_nets, or as a file by --model (its folder on sys.path)
    from tests.models.zoo import BasicBlock
except ImportError:
    from zoo import BasicBlock  # type: ignore[no-redef]


class ResidualBlock(BasicBlock):
    """torchvision's BasicBlock (zoo.py's): conv-bn-relu-conv-bn, plus the input (or its
    downsample); 8 channels in and out unless told."""

    def __init__(self, cin: int = 8, cout: int = 8, stride: int = 1) -> None:
        super().__init__(cin, cout, stride)


def residual_down() -> ResidualBlock:
    """The block with a downsample: 8 -> 16 channels, stride 2."""
    return ResidualBlock(8, 16, 2)


class TwoInTwoOut(nn.Module):
    """forward(x, y) -> (a, b): two encoders, their sum, and two heads."""

    def __init__(self) -> None:
        super().__init__()
        self.enc_x = nn.Linear(4, 6)
        self.enc_y = nn.Linear(3, 6)
        self.head_a = nn.Linear(6, 2)
        self.head_b = nn.Linear(6, 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.enc_x(x) + self.enc_y(y)
        return self.head_a(h), self.head_b(h)


class DictHeads(nn.Module):
    """One input, a dict of two outputs; the second head reads the first's input too."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 8), nn.ReLU())
        self.cls = nn.Linear(8, 3)
        self.reg = nn.Linear(8, 1)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        h = self.body(x)
        return {"cls": self.cls(h), "reg": self.reg(h)}


class Viewed(nn.Module):
    """A reshape and a slice in the model's own forward, between two leaves."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, padding=1)
        self.fc = nn.Linear(2 * 4 * 4, 5)
        self.unused = nn.Linear(3, 3)  # never called: no node

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv(x)
        return self.fc(h.reshape(h.shape[0], -1)[:, :32])
