"""A zoo of small models for the tree collector's tests (tests/test_model_zoo.py).

Each is tiny so a forward pass takes milliseconds; ``resnet18`` is torchvision's
ResNet-18 layout (the benchmark and ``--model tests/models/zoo.py:resnet18`` use it).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


class LeNet(nn.Module):
    """LeNet-5 style: conv, pool, flatten, linear; activations are F.relu calls."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class BasicBlock(nn.Module):
    """torchvision's ResNet BasicBlock: two 3x3 convs, a skip connection, a downsample."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample: nn.Module | None = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(
                nn.Conv2d(inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class ResNet(nn.Module):
    """torchvision's ResNet for BasicBlocks (same module names, so the same rows)."""

    def __init__(self, layers: list[int], num_classes: int = 1000, width: int = 64) -> None:
        super().__init__()
        self.inplanes = width
        self.conv1 = nn.Conv2d(3, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(width, layers[0])
        self.layer2 = self._make_layer(width * 2, layers[1], 2)
        self.layer3 = self._make_layer(width * 4, layers[2], 2)
        self.layer4 = self._make_layer(width * 8, layers[3], 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(width * 8, num_classes)

    def _make_layer(self, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        layers = [BasicBlock(self.inplanes, planes, stride)]
        self.inplanes = planes
        layers += [BasicBlock(planes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)


def resnet18(num_classes: int = 1000) -> ResNet:
    """torchvision.models.resnet18's layout: 11,689,512 parameters at 1000 classes."""
    return ResNet([2, 2, 2, 2], num_classes)


def tiny_resnet(num_classes: int = 10) -> ResNet:
    """ResNet-18's structure at width 8: same rows, a fraction of the work."""
    return ResNet([2, 2, 2, 2], num_classes, width=8)


class BatchNormNet(nn.Module):
    """BatchNorm1d and BatchNorm2d: running statistics are buffers, not parameters."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4, 5)
        self.bn1d = nn.BatchNorm1d(5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.adaptive_avg_pool2d(self.bn(self.conv(x)), 1).flatten(1)
        return self.bn1d(self.fc(x))


class LSTMNet(nn.Module):
    """Embedding, a 2-layer LSTM (output, (h, c)), a head on the last step."""

    def __init__(self, vocab: int = 20, hidden: int = 8) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, 6)
        self.lstm = nn.LSTM(6, hidden, num_layers=2, batch_first=True)
        self.head = nn.Linear(hidden, 3)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        out, (_h, _c) = self.lstm(self.embed(tokens))
        return self.head(out[:, -1])


class GRUNet(nn.Module):
    """A bidirectional GRU on float features; returns the GRU's (output, h) tuple too."""

    def __init__(self) -> None:
        super().__init__()
        self.gru = nn.GRU(5, 7, bidirectional=True)
        self.head = nn.Linear(14, 2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out, h = self.gru(x)
        return self.head(out), h


class TransformerNet(nn.Module):
    """Embedding + nn.TransformerEncoder (multi-head attention) + a classifier."""

    def __init__(self, vocab: int = 30, d_model: int = 16, layers: int = 2) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, d_model)
        layer = nn.TransformerEncoderLayer(d_model, 2, dim_feedforward=32, dropout=0.0)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Linear(d_model, 4)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.encoder(self.embed(tokens))  # (seq, batch, d_model)
        return torch.softmax(self.head(x.mean(0)), dim=-1)


class TiedSeq2Seq(nn.Module):
    """Encoder-decoder whose output projection shares the input embedding's weight."""

    def __init__(self, vocab: int = 25, dim: int = 8) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.encoder = nn.GRU(dim, dim, batch_first=True)
        self.decoder = nn.GRU(dim, dim, batch_first=True)
        self.out = nn.Linear(dim, vocab)
        self.out.weight = self.embed.weight  # tied: one parameter, two modules

    def forward(self, src: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
        _, h = self.encoder(self.embed(src))
        dec, _ = self.decoder(self.embed(tgt), h)
        return self.out(dec)


class FrozenBackbone(nn.Module):
    """A pretrained-style backbone with requires_grad False, and a trainable head."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1))
        self.head = nn.Linear(4, 2)
        for p in self.backbone.parameters():
            p.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x).flatten(1))


class ReusedTwice(nn.Module):
    """One Linear applied twice (weights counted once), with a residual add."""

    def __init__(self) -> None:
        super().__init__()
        self.inp = nn.Linear(6, 6)
        self.shared = nn.Linear(6, 6)
        self.act = nn.Tanh()
        self.out = nn.Linear(6, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.inp(x)
        x = x + self.act(self.shared(x))
        x = x + self.act(self.shared(x))
        return self.out(x)


class DictInput(nn.Module):
    """forward(batch: dict) with an image and extra features."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.extra = nn.Linear(5, 4)
        self.head = nn.Linear(8, 3)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        image = self.pool(self.conv(batch["image"])).flatten(1)
        return self.head(torch.cat([image, self.extra(batch["extra"])], dim=1))


class _Heads(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.cls = nn.Linear(8, 3)
        self.box = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"logits": self.cls(x), "boxes": self.box(x)}


class DictOutput(nn.Module):
    """A detection-style model: a trunk, then a module returning a dict of tensors."""

    def __init__(self) -> None:
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(6, 8), nn.ReLU())
        self.heads = _Heads()

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.heads(self.trunk(x))


def zoo() -> dict[str, tuple[nn.Module, tuple[Any, ...]]]:
    """name -> (model, forward args), built fresh with fixed seeds; inputs tiny."""
    torch.manual_seed(0)
    tokens = torch.randint(0, 20, (2, 7))
    return {
        "lenet": (LeNet(), (torch.randn(2, 1, 32, 32),)),
        "basic_block": (BasicBlock(4, 8, stride=2), (torch.randn(2, 4, 8, 8),)),
        "tiny_resnet": (tiny_resnet(), (torch.randn(1, 3, 32, 32),)),
        "batchnorm": (BatchNormNet(), (torch.randn(2, 3, 6, 6),)),
        "lstm": (LSTMNet(), (tokens,)),
        "gru": (GRUNet(), (torch.randn(4, 2, 5),)),
        "transformer": (TransformerNet(), (torch.randint(0, 30, (6, 2)),)),
        "tied_seq2seq": (TiedSeq2Seq(), (tokens, torch.randint(0, 25, (2, 5)))),
        "frozen": (FrozenBackbone(), (torch.randn(2, 3, 8, 8),)),
        "reused": (ReusedTwice(), (torch.randn(3, 6),)),
        "dict_input": (
            DictInput(),
            ({"image": torch.randn(2, 3, 6, 6), "extra": torch.randn(2, 5)},),
        ),
        "dict_output": (DictOutput(), (torch.randn(2, 6),)),
    }
