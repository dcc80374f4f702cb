"""Models whose inputs need the newer --input-size forms (tests/test_model_inputs_forms.py):
mixed positional and named inputs, unbatched inputs, and a per-sample lengths input."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence


class Mixed(nn.Module):
    """forward(x, mask=None): one positional input and one by name."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        y = self.a(x)
        return y if mask is None else y * mask


class Packed(nn.Module):
    """forward(x, lengths): pack_padded_sequence needs every length in [1, x.shape[1]]."""

    def __init__(self) -> None:
        super().__init__()
        self.rnn = nn.GRU(4, 6, batch_first=True)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, h = self.rnn(packed)
        return h


class Unbatched(nn.Module):
    """Refuses a batch dimension: x must be exactly [4]."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 1:
            raise ValueError(f"expected an unbatched [4] input, got {list(x.shape)}")
        return self.a(x)


class Labelled(nn.Module):
    """A per-sample class label into an embedding of 3 rows: ids must stay below 3."""

    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(3, 2)
        self.a = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        return self.a(x) + self.emb(label)
