"""A library with a tensor made at import time: built under torch.device("meta"), it
would be a meta tensor for the rest of the process."""

import torch
from torch import nn

TABLE = torch.arange(1.0, 5.0)


class Scaled(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x * TABLE.to(x.device))
