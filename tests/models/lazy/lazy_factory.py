"""A factory that imports its library only when it is called, as a torchvision factory
often does; the library sits beside this file and is not on sys.path otherwise."""

import torch
from torch import nn


def build() -> nn.Module:
    import nncli_lazy_helper  # a sibling module, imported lazily

    return nncli_lazy_helper.Scaled()


class Built(nn.Module):
    """The same through a class whose constructor imports the library."""

    def __init__(self) -> None:
        super().__init__()
        from nncli_lazy_helper import Scaled

        self.inner = Scaled()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x)
