"""Tiny models for ``nncli run --model`` (tests/test_run_model.py): each output structure,
token ids, a module instance, a factory, and a forward that fails at a known layer."""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F


class Net(nn.Module):
    """Linear -> ReLU -> Linear: one [batch, classes] output."""

    def __init__(self, features: int = 4, hidden: int = 6, classes: int = 3) -> None:
        super().__init__()
        self.fc1 = nn.Linear(features, hidden)
        self.fc2 = nn.Linear(hidden, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.relu(self.fc1(x)))


class SoftmaxNet(Net):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(super().forward(x), dim=-1)


class ConvNet(nn.Module):
    """A [batch, 2, 4, 4] feature map and a [batch, 5] head, as a tuple."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, padding=1)
        self.bn = nn.BatchNorm2d(2)
        self.pool = nn.MaxPool2d(2)
        self.head = nn.Linear(2 * 4 * 4, 5)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.pool(F.relu(self.bn(self.conv(x))))
        return features, self.head(features.flatten(1))


Pair = namedtuple("Pair", ["low", "high"])


@dataclass
class Result:
    logits: torch.Tensor
    extra: object


class Structured(nn.Module):
    """Every structure at once: a dict with a nested tuple, a namedtuple, a dataclass,
    a list, and non-tensor leaves (None, a string, an int)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 2)

    def forward(self, x: torch.Tensor) -> dict[str, object]:
        y = self.fc(x)
        return {
            "logits": y,
            "pair": (y.sum(-1), [y * 2, None]),
            "named": Pair(y.min(), y.max()),
            "data": Result(y.argmax(-1), "label"),
            "count": 3,
        }


class Tokens(nn.Module):
    """Token ids through an embedding of ``vocab`` rows, mean-pooled to a linear head."""

    def __init__(self, vocab: int = 7, width: int = 4) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, width)
        self.out = nn.Linear(width, 2)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.out(self.embed(ids).mean(1))


class Echo(nn.Module):
    """Returns its input as it is: shows the ids the run drew."""

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return ids


class TwoInputs(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(3, 2)
        self.b = nn.Linear(5, 2)

    def forward(self, left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
        return self.a(left) + self.b(right)


class Broken(nn.Module):
    """fc2 expects 5 features but fc1 gives 6: fails in 'body.fc2' on [batch, 6]."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential()
        self.body.add_module("fc1", nn.Linear(4, 6))
        self.body.add_module("fc2", nn.Linear(5, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class FailsInOwnForward(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x) + torch.ones(7)


def make_net(hidden: int = 5) -> nn.Module:
    """A factory: returns a module."""
    return Net(features=4, hidden=hidden, classes=2)


class WithDropout(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 8)
        self.drop = nn.Dropout(0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.fc(x))


# A module instance, left in training mode: the run must use eval mode (no dropout)
# and leave it in training mode, weights untouched. Its own seed, in a forked RNG:
# importing this file must not reseed the importer's generator.
with torch.random.fork_rng(devices=[]):
    torch.manual_seed(1234)
    instance = WithDropout()
instance.train()


class NotOnMeta(nn.Module):
    """A constructor that reads a value (``.item()``): it cannot be built on meta, so
    the run skips the memory estimate and builds it for real."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 2)
        self.scale = float(torch.ones(1).sum().item()) * 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x) * self.scale
