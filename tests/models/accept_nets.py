"""Models for issue 17 section 2's smaller items: a pruned model, a forward that branches
on the device, and one that calls ``.item()`` on its attention mask (as Hugging Face's
mask handling does)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import prune


class Pruned(nn.Module):
    """Linear(4, 8) -> Linear(8, 2); fc1's weight pruned to half its 32 values (16 zeros).
    ``real=True`` calls ``.item()`` in forward, which the meta pass cannot run: the model
    is then built for real (the fallback), so both build paths are reachable."""

    def __init__(self, real: bool = False) -> None:
        super().__init__()
        self.real = real
        self.fc1 = nn.Linear(4, 8)
        self.fc2 = nn.Linear(8, 2)
        prune.l1_unstructured(self.fc1, "weight", amount=0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.real:
            float(x.sum().item())
        return self.fc2(torch.relu(self.fc1(x)))


def pruned(real: bool = False) -> Pruned:
    return Pruned(real)


PRUNED_INSTANCE = Pruned()


class DeviceBranch(nn.Module):
    """On the CPU: Linear(4, 2) (output [B, 2]); anywhere else: a wider path (Linear(4, 64)
    then Linear(64, 16), output [B, 16]). Built on meta it takes the second branch."""

    def __init__(self) -> None:
        super().__init__()
        self.small = nn.Linear(4, 2)
        self.wide = nn.Linear(4, 64)
        self.out = nn.Linear(64, 16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type == "cpu":
            return self.small(x)
        return self.out(torch.relu(self.wide(x)))


class CudaBranch(DeviceBranch):
    """The same, written with ``x.is_cuda``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not x.is_cuda:
            return self.small(x)
        return self.out(torch.relu(self.wide(x)))


class UsesDevice(nn.Module):
    """Reads ``x.device`` only to place a tensor: no branch, no note."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x + torch.zeros(4, device=x.device))


class MaskItem(nn.Module):
    """A tiny encoder whose mask handling calls ``.item()``, as Hugging Face's does
    (checking whether the mask is all ones)."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(10, 8)
        self.fc = nn.Linear(8, 2)

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        h = self.embed(input_ids)
        if attention_mask is not None and not bool((attention_mask == 1).all().item()):
            h = h * attention_mask.unsqueeze(-1)
        return self.fc(h)
