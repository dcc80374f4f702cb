"""The optimisers ``nncli train --optimizer`` knows: one registry, name -> factory.

Every per-optimiser fact lives in its entry: the name, a one-line description (for
``--help`` and the docs) and the factory that builds the ``torch.optim`` object.
Validation, help text and the trainer all read :data:`OPTIMIZERS`; adding an
optimiser is one entry here.

torch is imported inside the factories only, so ``train --help`` stays light.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nncli.errors import unknown_name

if TYPE_CHECKING:
    import torch

    Params = Iterable[torch.nn.Parameter]

MOMENTUM = 0.9  # "momentum" is SGD with the classic 0.9


@dataclass(frozen=True)
class Optimizer:
    """A registry entry: ``make(params, lr, weight_decay)`` builds the torch optimiser."""

    name: str
    description: str
    make: Callable[[Params, float, float], torch.optim.Optimizer]


def _sgd(params: Params, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    import torch

    return torch.optim.SGD(params, lr=lr, weight_decay=weight_decay)


def _momentum(params: Params, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    import torch

    return torch.optim.SGD(params, lr=lr, momentum=MOMENTUM, weight_decay=weight_decay)


def _adam(params: Params, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    import torch

    return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)


def _adamw(params: Params, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    import torch

    return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)


def _rmsprop(params: Params, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    import torch

    return torch.optim.RMSprop(params, lr=lr, weight_decay=weight_decay)


# In --help order: the plain step first, then what each one adds.
OPTIMIZERS: dict[str, Optimizer] = {
    entry.name: entry
    for entry in (
        Optimizer("sgd", "plain stochastic gradient descent: w ← w − lr·g", _sgd),
        Optimizer("momentum", f"SGD with momentum {MOMENTUM}", _momentum),
        Optimizer("adam", "Adam: per-weight steps from running gradient moments", _adam),
        Optimizer("adamw", "AdamW: Adam with the weight decay decoupled from the step", _adamw),
        Optimizer("rmsprop", "RMSprop: steps divided by a running RMS of the gradient", _rmsprop),
    )
}
DEFAULT_OPTIMIZER = "adam"


def get_optimizer(name: str) -> Optimizer:
    """The entry for ``name`` (case and surrounding spaces ignored); a usage error naming
    the value and the choices otherwise."""
    entry = OPTIMIZERS.get(name.strip().lower()) if isinstance(name, str) else None
    if entry is None:
        raise unknown_name("optimizer", str(name), OPTIMIZERS)
    return entry


def check_optimizer(name: str) -> str:
    """The canonical name (``"Adam"`` -> ``"adam"``)."""
    return get_optimizer(name).name


def make_optimizer(
    name: str, params: Params, *, lr: float, weight_decay: float = 0.0
) -> torch.optim.Optimizer:
    return get_optimizer(name).make(params, lr, weight_decay)
