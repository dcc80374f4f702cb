"""Bounds on every integer that reaches torch, checked in one place.

Options and config values alike go through :func:`check_int` and
:func:`check_seed` before anything is allocated, so an out-of-range value is a
usage error (exit 2) that names the option or key, never a torch overflow.
"""

from __future__ import annotations

from nncli.errors import UsageError

# Sizes (batch, features, fans, depth, points): an int32 index. Larger values are
# far past any machine's memory anyway, and past them torch's size arithmetic
# overflows (``Storage size calculation overflowed``) before a memory check can help.
MAX_SIZE = 2**31 - 1
SEED_MAX = 2**64 - 1  # torch.manual_seed's range for non-negative seeds
# --json writes numpy arrays in chunks of this many values (nncli.render.jsonout); a
# chunk is held as Python floats and as JSON text, so the output never costs more than
# a chunk's worth at a time (core.model.forward budgets its bytes).
STREAM_CHUNK_VALUES = 1 << 16


def check_int(name: str, value: int, minimum: int = 1, maximum: int = MAX_SIZE) -> int:
    """``value`` within [minimum, maximum], else a usage error naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise UsageError(f"{name} must be at least {minimum:,}, got {value:,}")
    if value > maximum:
        raise UsageError(f"{name} must be at most {maximum:,}, got {value:,}")
    return value


def check_seed(seed: int, name: str = "--seed") -> int:
    """One rule for seeds everywhere: an integer from 0 to 2**64 - 1."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= SEED_MAX:
        raise UsageError(f"{name} must be an integer from 0 to 2**64 - 1, got {seed}")
    return seed


# nncli draw: the largest MLP drawn as neurons. Past either, the model is drawn as
# blocks and the output says so. Columns: the input layer and every linear layer (the
# issue asks for ~8 layers readable; deep_tanh, the vanishing-gradient lesson, has 12
# and is drawn as neurons); connections: the JSON lists every one (mnist_mlp's
# 784 → 256 → 128 → 10 has 234,752 and is drawn as neurons, its wide layers elided).
MAX_NEURON_COLUMNS = 12
MAX_NEURON_CONNECTIONS = 250_000
# A layer wider than this is drawn as its first and last few neurons with "⋮ (N more)"
# between them; the JSON still lists every neuron.
MAX_DRAWN_NEURONS = 10
