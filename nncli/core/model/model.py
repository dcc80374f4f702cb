"""Build a feed-forward ``nn.Sequential`` from a :class:`ModelSpec`.

Activations are modules (``nn.Sigmoid`` ...), not functional calls, so they show
up as layers in summaries and in ``named_modules()``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nncli.core.activation.activations import get_activation
from nncli.core.init.inits import get_scheme
from nncli.core.model.config import ModelSpec, module_names
from nncli.errors import UsageError

if TYPE_CHECKING:
    import torch
    from torch import nn

DEFAULT_INIT = "default"  # label for PyTorch's own nn.Linear initialisation


@dataclass
class BuiltModel:
    model: nn.Sequential
    spec: ModelSpec
    inits: dict[str, str]  # module name -> init label ("xavier_normal", "default", "-")
    device: str
    # module name -> the init scheme's parameters as applied, defaults included
    init_args: dict[str, dict[str, Any]] = field(default_factory=dict)


def layer_names(spec: ModelSpec) -> list[tuple[str, str | None]]:
    """``(linear name, activation module name or None)`` for each layer, all unique."""
    return module_names(spec)


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


def build_model(
    spec: ModelSpec, device: str = "cpu", *, seed: int | None = None, meta: bool = False
) -> BuiltModel:
    """Build the model. ``meta=True`` allocates no weights (shapes and counts only).

    Weights are created and initialised on the CPU under ``seed`` and then moved,
    so the same seed gives the same weights on every device.
    """
    import torch
    from torch import nn

    modules: dict[str, nn.Module] = {}
    inits: dict[str, str] = {}
    init_args: dict[str, dict[str, Any]] = {}
    build_on = torch.device("meta") if meta else torch.device("cpu")
    with seeded(seed), build_on:
        fan_in = spec.input_features
        for layer, (linear_name, act_name) in zip(spec.layers, layer_names(spec), strict=True):
            linear = nn.Linear(fan_in, layer.out_features, bias=layer.bias)
            if layer.init is not None:
                if not meta:  # meta tensors have no values to initialise
                    with torch.no_grad():
                        get_scheme(layer.init).apply(linear.weight, layer.init_args)
                inits[linear_name] = layer.init
                init_args[linear_name] = dict(layer.init_args)
            else:
                inits[linear_name] = DEFAULT_INIT
            modules[linear_name] = linear
            if act_name is not None and layer.activation is not None:
                modules[act_name] = get_activation(layer.activation).make_module()
                inits[act_name] = "-"
            fan_in = layer.out_features
    model = nn.Sequential()
    for name, module in modules.items():
        _check_free(model, name, spec.source)
        model.add_module(name, module)
    if not meta and device != "cpu":
        model = model.to(torch.device(device))
    return BuiltModel(model, spec, inits, "meta" if meta else device, init_args)


def _check_free(model: nn.Module, name: str, source: str) -> None:
    """The config checks names against a static list (config.RESERVED_NAMES); this
    catches an attribute a newer torch adds, before add_module's KeyError."""
    if hasattr(model, name):
        raise UsageError(
            f"config {source}: layer name {name!r} is reserved: torch's "
            f"{type(model).__name__} has an attribute of that name"
        )


def random_input(spec: ModelSpec, batch: int) -> torch.Tensor:
    """Standard-normal input rows from torch's global CPU generator.

    Called right after :func:`build_model` under the same :func:`seeded` block, this
    reproduces the tutorial's order (``Model()`` then ``torch.randn(5, 3)``), so a
    hand-written script with the same ``torch.manual_seed`` gets the same numbers.
    """
    import torch

    return torch.randn(batch, spec.input_features)
