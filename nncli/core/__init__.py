"""Everything that touches torch. Returns plain dataclasses; never prints.

Modules here import torch lazily, inside the functions that need it, so the
registries (names, formulas, help text) can be read by the CLI at start-up.
"""
