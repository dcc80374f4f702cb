"""The init registry: the only place a weight-initialisation scheme is defined.

Tensors are always initialised by ``torch.nn.init`` itself. Weights have the
shape ``(fan_out, fan_in)``, as ``nn.Linear`` stores them, so the fans follow
torch's convention (``fan_in = weight.shape[1]``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nncli.errors import UsageError, unknown_name

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class InitParam:
    name: str  # nncli's name: the CLI flag (with '_' -> '-') and the config key
    torch_kw: str  # the keyword torch.nn.init takes
    default: Any  # None means required
    help: str
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class InitScheme:
    name: str
    torch_fn: str  # function in torch.nn.init
    description: str
    params: tuple[InitParam, ...] = ()
    fixed: tuple[tuple[str, Any], ...] = ()  # torch kwargs nncli sets itself

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def resolve_params(self, given: dict[str, Any]) -> dict[str, Any]:
        """Merge user values over defaults; reject parameters the scheme does not take."""
        for key, value in given.items():
            if value is not None and key not in self.param_names:
                takes = ", ".join(self.param_names) or "none"
                raise UsageError(
                    f"{key!r} does not apply to init scheme {self.name}; it takes: {takes}"
                )
        values: dict[str, Any] = {}
        for p in self.params:
            value = given.get(p.name)
            value = p.default if value is None else value
            if value is None:
                raise UsageError(f"init scheme {self.name} needs {p.name!r} ({p.help})")
            if p.choices and value not in p.choices:
                raise unknown_name(f"{p.name} for {self.name}", str(value), p.choices)
            values[p.name] = value
        return values

    def torch_kwargs(self, values: dict[str, Any]) -> dict[str, Any]:
        kwargs = {p.torch_kw: values[p.name] for p in self.params}
        kwargs.update(dict(self.fixed))
        return kwargs

    def apply(self, tensor: torch.Tensor, values: dict[str, Any] | None = None) -> None:
        """Initialise ``tensor`` in place with ``torch.nn.init`` (no grad is recorded)."""
        from torch.nn import init

        resolved = self.resolve_params(values or {})
        getattr(init, self.torch_fn)(tensor, **self.torch_kwargs(resolved))


_GAIN = InitParam("gain", "gain", 1.0, "scaling factor")
_NONLINEARITIES = (
    "linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
    "conv_transpose3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu",
)  # fmt: skip
_KAIMING = (
    InitParam("a", "a", 0.0, "negative slope of the rectifier after this layer"),
    InitParam("mode", "mode", "fan_in", "keep the variance of the forward (fan_in) or backward "
              "(fan_out) pass", ("fan_in", "fan_out")),
    InitParam("nonlinearity", "nonlinearity", "leaky_relu", "the activation that follows",
              _NONLINEARITIES),
)  # fmt: skip

_ENTRIES = (
    InitScheme("zeros", "zeros_", "every weight 0: no symmetry breaking"),
    InitScheme("constant", "constant_", "every weight the same value",
               (InitParam("value", "val", None, "the constant"),)),
    InitScheme("normal", "normal_", "N(mean, std²)",
               (InitParam("mean", "mean", 0.0, "mean"), InitParam("std", "std", 1.0, "std"))),
    InitScheme("uniform", "uniform_", "U(low, high)",
               (InitParam("low", "a", 0.0, "lower bound"),
                InitParam("high", "b", 1.0, "upper bound"))),
    InitScheme("trunc_normal", "trunc_normal_",
               "N(mean, std²) truncated to [a, b] (absolute bounds, as in torch)",
               (InitParam("mean", "mean", 0.0, "mean"), InitParam("std", "std", 1.0, "std"),
                InitParam("a", "a", -2.0, "lower cut-off"),
                InitParam("b", "b", 2.0, "upper cut-off"))),
    InitScheme("xavier_uniform", "xavier_uniform_",
               "Glorot & Bengio 2010: U(−b, b), b = gain·√(6/(fan_in + fan_out))", (_GAIN,)),
    InitScheme("xavier_normal", "xavier_normal_",
               "Glorot & Bengio 2010: N(0, std²), std = gain·√(2/(fan_in + fan_out))", (_GAIN,)),
    InitScheme("kaiming_uniform", "kaiming_uniform_",
               "He et al. 2015: U(−b, b), b = gain·√(3/fan)", _KAIMING),
    InitScheme("kaiming_normal", "kaiming_normal_",
               "He et al. 2015: N(0, std²), std = gain/√fan", _KAIMING),
    InitScheme("orthogonal", "orthogonal_", "a (semi-)orthogonal matrix times gain", (_GAIN,)),
    InitScheme("sparse", "sparse_",
               "each column has a fraction `sparsity` of zeros, the rest N(0, std²)",
               (InitParam("sparsity", "sparsity", None, "fraction of zeros per column"),
                InitParam("std", "std", 0.01, "std of the non-zero values"))),
    InitScheme("linear_default", "kaiming_uniform_",
               "what nn.Linear does: kaiming_uniform with a = √5, i.e. std = 1/√(3·fan_in)",
               fixed=(("a", math.sqrt(5)),)),
)  # fmt: skip

INIT_SCHEMES: dict[str, InitScheme] = {s.name: s for s in _ENTRIES}
FAMILIES: dict[str, tuple[str, ...]] = {
    "xavier": ("xavier_uniform", "xavier_normal"),
    "kaiming": ("kaiming_uniform", "kaiming_normal"),
    "he": ("kaiming_uniform", "kaiming_normal"),
}


def scheme_names(include_families: bool = False) -> list[str]:
    names = list(INIT_SCHEMES)
    return names + list(FAMILIES) if include_families else names


def get_scheme(name: str) -> InitScheme:
    """One concrete scheme by name; unknown names suggest the closest."""
    key = name.strip().lower().replace("-", "_")
    if key not in INIT_SCHEMES:
        if key in FAMILIES:
            variants = " or ".join(FAMILIES[key])
            raise UsageError(f"{name!r} is a family of init schemes; name one: {variants}")
        raise unknown_name("init scheme", name, scheme_names())
    return INIT_SCHEMES[key]


def expand(name: str) -> list[InitScheme]:
    """A scheme or a family name ('xavier', 'kaiming', 'he') as concrete schemes."""
    key = name.strip().lower().replace("-", "_")
    if key in FAMILIES:
        return [INIT_SCHEMES[n] for n in FAMILIES[key]]
    if key not in INIT_SCHEMES:
        raise unknown_name("init scheme", name, scheme_names(include_families=True))
    return [INIT_SCHEMES[key]]
