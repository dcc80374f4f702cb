"""What training records: the run's settings, its epochs, its layer statistics, the result.

Plain dataclasses, shared by the trainer (which fills them), the verdict (which reads
them), checkpoints and the renderers. Nothing here imports torch at run time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import nn

    from nncli.core.model.spec import ModelSpec
    from nncli.core.train.baseline import Baseline


@dataclass(frozen=True)
class RunConfig:
    """One trained combination."""

    activation: str | None
    init: str | None
    optimizer: str
    lr: float
    hidden: tuple[int, ...] | None  # None when the model comes from a config
    loss: str  # canonical loss name
    weight_decay: float = 0.0
    l1: float = 0.0


@dataclass
class EpochRecord:
    epoch: int
    train_loss: float
    test_loss: float
    train_accuracy: float | None  # None for regression; a running accuracy (see trainer)
    test_accuracy: float | None
    grad_norms: list[float]  # one per linear or conv layer, first first: mean over sampled steps
    steps: int = 0  # optimiser steps taken in this epoch
    partial: bool = False  # interrupted before the epoch's last step
    # Per linear or conv layer, first first: the L2 norm of ∂L/∂(the layer's output), the
    # backpropagated signal δ, averaged over the sampled steps. Unlike the weight gradient
    # (δ times the layer's input), it does not scale with the size of the inputs.
    signal_norms: list[float] = field(default_factory=list)
    test_r2: float | None = None  # regression: 1 − SSE/SST on the test set after the epoch


@dataclass
class LayerStats:
    layer: str  # the linear (or conv) module's name
    activation: str | None  # the activation after it (None: the output layer)
    mean: float  # of the activation's output (of the layer's, without one)
    std: float
    dead_fraction: float | None  # None: the activation has no dead side
    saturated_fraction: float | None  # None: the activation does not saturate
    grad_norm: float  # of the layer weight's gradient
    signal_norm: float = math.nan  # of ∂L/∂(the layer's output): the backpropagated signal


@dataclass
class TrainRun:
    config: RunConfig
    spec: ModelSpec
    history: list[EpochRecord]
    start: list[LayerStats]
    final: list[LayerStats]
    verdict: str
    evidence: str
    model: nn.Module
    interrupted: bool = False
    seconds: float = 0.0
    steps_per_second: float = 0.0
    test_r2: float | None = None  # regression only: 1 − SSE/SST on the test set
    initial_loss: float = math.nan  # on the statistics rows, before the first step
    epochs_to_learn: int | None = None  # first epoch meeting the "learned" bar
    next_step: str | None = None  # what to try next, where the verdict suggests something
    caveat: str | None = None  # a remark that qualifies the verdict (e.g. overconfident)
    baseline: Baseline | None = None  # the same split's k-nearest-neighbours score
    epochs: int = 0  # the epochs asked for (the history is shorter when stopped early)
    threads: int | None = None  # torch's intra-op threads during training (CPU)


VERDICTS = (
    "learned",
    "did not learn",
    "overfitting",
    "diverged",
    "vanishing gradients",
    "dead relus",
    "interrupted",
    "inconclusive",
)


def signal_ratio(norms: list[float]) -> float | None:
    """Layer 1's signal (or gradient) norm over the last layer's; None when undefined."""
    if len(norms) < 2:
        return None
    first, last = norms[0], norms[-1]
    if not (math.isfinite(first) and math.isfinite(last)) or last <= 0:
        return None
    return first / last
