"""torch's intra-op thread count for training a model: one thread for small steps.

A training step of a TF-Playground network (2 → 16 → 16 → 1 at batch 32: about
10,000 multiply-adds) is far too small to split between threads: a second intra-op
thread only adds synchronisation, and on a busy machine its spinning wait makes each
step 3-30× slower. Large steps (the bundled ``mnist_mlp`` at batch 256: 60 million
multiply-adds) do gain from torch's default. :func:`choose_threads` draws the line at
:data:`PARALLEL_MULT_ADDS`; :func:`use_threads` applies a count for the length of a
``with`` block and leaves the interpreter as it found it.

Measured on the 2-core development machine (torch 2.13 CPU, OpenMP), one Adam step
(forward, backward, update) of tanh MLPs, best of 3 runs of 20-2000 steps, idle:

====================  =====  =================  ========  =========  ========
widths                batch  mult-adds / step   1 thread  2 threads  2 / 1
====================  =====  =================  ========  =========  ========
2-8-8-8-8-8-1         32     8,960              661 µs    894 µs     1.29-4.0
2-64-64-1             32     137,216            705 µs    859 µs     1.22
4-128-128-3           64     1,105,920          612 µs    803 µs     1.31
64-128-128-10         128    3,309,568          816 µs    1061 µs    1.30
64-256-256-10         128    10,813,440         1487 µs   1629 µs    1.10
784-128-10            128    13,008,896         1263 µs   1294 µs    1.02
784-256-128-10        128    30,048,256         2478 µs   2537 µs    1.02
784-256-128-10        256    60,096,512         4060 µs   2456 µs    0.60-1.01
784-512-512-10        128    85,590,016         7317 µs   4013 µs    0.55
784-256-128-10        512    120,193,024        7318 µs   4003 µs    0.55
784-512-512-10        256    171,180,032        12045 µs  6738 µs    0.56
====================  =====  =================  ========  =========  ========

(mult-adds here: the weights' in × out × batch.) Below 30 million a second thread
never helped and often hurt; from 60 million it saved up to 45%. With a busy
process on the other core, 2 threads were 1.4-9.6× slower than 1 at every size up
to 171 million, and 3.4× slower for the tiny networks: the threshold is set for an
idle machine, where the large work gains, and the small work is safe either way.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from nncli.core.model import layertypes as lt
from nncli.core.model.counting import mult_adds
from nncli.core.model.spec import ModelSpec

# Forward multiply-adds per training step (torchinfo's rule, over the whole batch) from
# which torch's default thread count pays; below it training runs on one thread.
PARALLEL_MULT_ADDS = 50_000_000

# Environment variables by which a user chooses the thread count; either one set wins.
THREAD_ENV_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


def step_mult_adds(spec: ModelSpec, batch: int) -> int:
    """The forward pass's multiply-adds for one batch of ``batch`` rows, by torchinfo's
    rule (:func:`nncli.core.model.counting.mult_adds`): the summary's total at that batch."""
    total = 0
    for layer, in_shape, out_shape in zip(
        spec.layers, spec.layer_inputs(), spec.layer_shapes, strict=True
    ):
        named = lt.parameters(layer.kind, layer.args, layer.out_features, layer.bias, in_shape)
        total += mult_adds(named, [batch, *out_shape], layer.kind.conv)
    return total


def user_chose_threads() -> bool:
    """Whether OMP_NUM_THREADS or MKL_NUM_THREADS is set (to anything non-empty)."""
    return any(os.environ.get(name, "").strip() for name in THREAD_ENV_VARS)


def choose_threads(spec: ModelSpec, batch: int, device: str) -> int:
    """torch's intra-op thread count for training ``spec`` at ``batch`` rows per step.

    - On a device other than the CPU, and whenever the user set ``OMP_NUM_THREADS`` or
      ``MKL_NUM_THREADS`` in the environment (an explicit choice, which torch has
      already applied): the current count, ``torch.get_num_threads()``, unchanged.
    - Otherwise 1 when a step's forward pass is under :data:`PARALLEL_MULT_ADDS`
      multiply-adds (:func:`step_mult_adds`), and the current count (torch's default:
      one per core) from there on.
    """
    import torch

    current = int(torch.get_num_threads())
    if device.split(":", 1)[0] != "cpu" or user_chose_threads():
        return current
    if step_mult_adds(spec, batch) < PARALLEL_MULT_ADDS:
        return 1
    return current


@contextmanager
def use_threads(n: int) -> Iterator[int]:
    """Run the block with ``torch.set_num_threads(n)``; the previous count afterwards,
    on an exception as well. Only the intra-op count: the inter-op count can be set only
    once per process, so it is never touched."""
    import torch

    if n < 1:
        raise ValueError(f"thread count must be at least 1, got {n}")
    previous = int(torch.get_num_threads())
    if n != previous:
        torch.set_num_threads(n)
    try:
        yield n
    finally:
        if int(torch.get_num_threads()) != previous:
            torch.set_num_threads(previous)
