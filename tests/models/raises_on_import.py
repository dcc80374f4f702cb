"""A model file whose import fails (tests/test_usermodel.py)."""

from torch import nn


def _configure() -> int:
    raise ValueError("boom while importing")


class Net(nn.Module):
    pass


WIDTH = _configure()
