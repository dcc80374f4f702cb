"""Placeholder: implemented in its own issue."""

from __future__ import annotations

from nncli.errors import RuntimeFailure


def plot() -> None:
    """Not implemented yet."""
    raise RuntimeFailure("not implemented yet")
