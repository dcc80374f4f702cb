"""Build a feed-forward ``nn.Sequential`` from a :class:`ModelSpec` (linear, conv, pool,
norm, dropout and flatten layers, each optionally followed by an activation).

Activations are modules (``nn.Sigmoid`` ...), not functional calls, so they show
up as layers in summaries and in ``named_modules()``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nncli.core.activation.activations import get_activation
from nncli.core.init.inits import get_scheme
from nncli.core.model import layertypes as lt
from nncli.core.model.spec import NO_INIT, ModelSpec, module_names
from nncli.core.seed import seeded
from nncli.errors import UsageError

if TYPE_CHECKING:
    import torch
    from torch import nn


@dataclass
class BuiltModel:
    model: nn.Sequential
    spec: ModelSpec
    inits: dict[str, str]  # module name -> init label ("xavier_normal", "default", "-")
    device: str
    # module name -> the init scheme's parameters as applied, defaults included
    init_args: dict[str, dict[str, Any]] = field(default_factory=dict)


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
        for layer, shape, (layer_name, act_name) in zip(
            spec.layers, spec.layer_inputs(), module_names(spec), strict=True
        ):
            kind = layer.kind
            kwargs = lt.constructor_kwargs(kind, layer.args, layer.out_features, layer.bias, shape)
            module = getattr(nn, kind.module)(**kwargs)
            inits[layer_name] = layer.init_label(shape)
            if layer.init is not None and kind.weighted:
                if not meta:  # meta tensors have no values to initialise
                    with torch.no_grad():
                        get_scheme(layer.init).apply(module.weight, layer.init_args)
                init_args[layer_name] = dict(layer.init_args)
            modules[layer_name] = module
            if act_name is not None and layer.activation is not None:
                modules[act_name] = get_activation(layer.activation).make_module()
                inits[act_name] = NO_INIT
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
    """Standard-normal input of shape ``(batch, *sample_shape)`` from torch's global CPU
    generator (the same numbers, in the same order, as ``(batch, prod(shape))`` rows).

    Called right after :func:`build_model` under the same :func:`seeded` block, this
    reproduces the tutorial's order (``Model()`` then ``torch.randn(5, 3)``), so a
    hand-written script with the same ``torch.manual_seed`` gets the same numbers.
    """
    import torch

    return torch.randn(batch, *spec.sample_shape)
