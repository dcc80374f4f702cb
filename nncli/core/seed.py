"""Seeded blocks: the one way any core topic seeds torch's generator."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def seeded(seed: int | None) -> Iterator[None]:
    """Seed torch's CPU generator for the block, leaving the caller's RNG state untouched."""
    import torch

    if seed is None:
        yield
        return
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield
