"""Small user models for ``--model`` (tests/test_usermodel.py, tests/test_model_inputs.py):
a CNN with BatchNorm and constructor arguments, a factory, an instance, dict and keyword
inputs, token ids, and models whose constructor or forward does not run on meta tensors."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class SmallCNN(nn.Module):
    """Conv -> BatchNorm -> ReLU -> pool -> Linear, on [batch, 3, 8, 8] images."""

    def __init__(self, num_classes: int = 10, width: int = 4) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, width, 3, padding=1)
        self.bn = nn.BatchNorm2d(width)
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.head = nn.Linear(width * 4, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(F.relu(self.bn(self.conv(x))))
        return self.head(torch.flatten(x, 1))


def make_cnn(num_classes: int = 10) -> nn.Module:
    """A factory: the same CNN, built by a function."""
    return SmallCNN(num_classes=num_classes, width=6)


def make_list() -> list[int]:
    """A factory that returns no module."""
    return [1, 2, 3]


# An instance, in training mode, with one frozen parameter: the summary must leave all of
# that (and its values) as found.
instance = SmallCNN(num_classes=5)
instance.conv.bias.requires_grad_(False)

NOT_A_MODEL = 3


class Config:
    """A class that is not an nn.Module."""


class MLP(nn.Module):
    """A first Linear layer: its input size can be inferred (in_features)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(12, 7)
        self.fc2 = nn.Linear(7, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.relu(self.fc1(x)))


class ItemNet(nn.Module):
    """forward() calls .item(): it cannot run on meta tensors."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(6, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = float(x.abs().max().item()) + 1.0
        return self.fc(x / scale)


class MetaCtorNet(nn.Module):
    """The constructor reads a value (.item()), which a meta tensor does not have."""

    def __init__(self) -> None:
        super().__init__()
        width = int(torch.arange(5).sum().item())  # 10
        self.fc = nn.Linear(4, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x)


class DictNet(nn.Module):
    """One dict argument: {"image": [b, 3, 4, 4], "extra": [b, 5]}."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 3)
        self.fc = nn.Linear(2 * 2 * 2 + 5, 4)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        features = torch.flatten(self.conv(batch["image"]), 1)
        return self.fc(torch.cat([features, batch["extra"]], dim=1))


class KwargsNet(DictNet):
    """The same, with the inputs as keyword arguments."""

    def forward(self, image: torch.Tensor, extra: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return super().forward({"image": image, "extra": extra})


class TokenNet(nn.Module):
    """Token ids -> Embedding(50, 8) and Embedding(30, 8) -> mean -> Linear."""

    def __init__(self) -> None:
        super().__init__()
        self.tokens = nn.Embedding(50, 8)
        self.positions = nn.Embedding(30, 8)
        self.fc = nn.Linear(8, 2)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.fc((self.tokens(ids) + self.positions(ids)).mean(1))


class ItemNormNet(nn.Module):
    """BatchNorm1d, then .item() in forward: an instance that must run for real."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(6, 4)
        self.bn = nn.BatchNorm1d(4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.fc(x)) / (float(x.abs().max().item()) + 1.0)


# In training mode: a real forward pass would update its running statistics.
item_instance = ItemNormNet()
