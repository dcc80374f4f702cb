"""A model file that imports a module next to it (found only with its folder on sys.path)."""

from torch import nn
from user_sibling_helper import WIDTH  # type: ignore[import-not-found]


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(WIDTH, 2)

    def forward(self, x):  # type: ignore[no-untyped-def]
        return self.fc(x)
