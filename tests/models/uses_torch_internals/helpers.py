"""Imports sympy and torch._dynamo's utils at import time, as model libraries do: the
optional import guarded, a module reference kept for later."""

import sympy  # type: ignore[import-untyped]

try:
    from torch._dynamo.utils import counters
except ImportError:  # an optional feature, as libraries write it
    counters = {}  # type: ignore[assignment]


def three() -> int:
    """Uses the sympy imported above, after the import: a fake sympy fails here."""
    return int(sympy.Integer(3))


__all__ = ["counters", "three"]
