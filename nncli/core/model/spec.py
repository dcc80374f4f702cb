"""What a model config describes, as data: :class:`ModelSpec` and its :class:`LayerSpec` s.

Pure Python. Everything here follows from the spec alone (shapes, module names,
parameter and buffer counts) through the layer-type registry
(:mod:`nncli.core.model.layertypes`); :mod:`nncli.core.model.config` reads a TOML
file into a spec and :mod:`nncli.core.model.build` makes torch modules of it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from nncli.core.memory import FLOAT32, MAX_SIZE_BYTES
from nncli.core.model import layertypes as lt
from nncli.errors import UsageError

DEFAULT_INIT = "default"  # init label: PyTorch's own initialisation of the layer's weights
NO_INIT = "-"  # init label: a layer without parameters (and every activation)


@dataclass(frozen=True)
class LayerSpec:
    """One ``[[layers]]`` table. ``out_features`` is linear's argument; for the other
    types it is the last dimension of the layer's output (inferred), so that
    ``ModelSpec.output_features`` is the model's output width whatever the last layer."""

    out_features: int
    activation: str | None = None  # canonical registry name
    init: str | None = None  # None: PyTorch's default
    init_args: dict[str, Any] = field(default_factory=dict)
    bias: bool = True
    name: str | None = None
    type: str = "linear"  # a key of layertypes.LAYER_TYPES
    # torch's constructor arguments as the config gives them (not out_features or bias,
    # which are fields, nor the inferred in_channels / in_features / num_features)
    args: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> lt.LayerType:
        return lt.LAYER_TYPES[self.type]

    def init_label(self, in_shape: tuple[int, ...]) -> str:
        """The init scheme's name, :data:`DEFAULT_INIT` or :data:`NO_INIT` (no parameters)."""
        if self.init is not None and self.kind.weighted:
            return self.init
        params = lt.param_count(self.kind, self.args, self.out_features, self.bias, in_shape)
        return DEFAULT_INIT if params else NO_INIT


@dataclass(frozen=True)
class ModelSpec:
    input_features: int  # per sample; with input_shape, the product of its dimensions
    layers: tuple[LayerSpec, ...]
    name: str = "model"
    description: str = ""
    source: str = "<memory>"
    # The config's input_shape (channels first, no batch); None: it gave input_features.
    input_shape: tuple[int, ...] | None = None

    @property
    def output_features(self) -> int:
        return self.layers[-1].out_features

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """One input sample's shape: input_shape, or ``(input_features,)``."""
        return self.input_shape if self.input_shape is not None else (self.input_features,)

    @cached_property
    def layer_shapes(self) -> tuple[tuple[int, ...], ...]:
        """Each layer's output shape per sample (its activation keeps it)."""
        return tuple(infer_shapes(self))

    def layer_inputs(self) -> list[tuple[int, ...]]:
        """Each layer's input shape per sample."""
        return [self.sample_shape, *self.layer_shapes[:-1]]

    def param_count(self) -> int:
        """Parameter count from the config alone, without building anything."""
        return sum(
            lt.param_count(layer.kind, layer.args, layer.out_features, layer.bias, shape)
            for layer, shape in zip(self.layers, self.layer_inputs(), strict=True)
        )

    def linear_params(self) -> int:
        """The name :meth:`param_count` had when every layer was linear."""
        return self.param_count()

    def buffer_count(self) -> int:
        """Buffer elements (BatchNorm's running statistics)."""
        return sum(
            lt.buffer_count(layer.kind, layer.args, shape)
            for layer, shape in zip(self.layers, self.layer_inputs(), strict=True)
        )


def spec_error(source: str, where: str, message: str, hint: str | None = None) -> UsageError:
    """``config SOURCE: WHERE: MESSAGE``: every config error names the file and the key."""
    return UsageError(f"config {source}: {where}: {message}", hint=hint)


def layer_fail(source: str, index: int, type_: str) -> lt.Fail:
    """The ``fail`` of :mod:`~nncli.core.model.layertypes` for ``layers[index]``."""

    def fail(key: str | None, message: str, hint: str | None) -> UsageError:
        where = f"layers[{index}].{key}" if key else f"layers[{index}] ({type_})"
        return spec_error(source, where, message, hint)

    return fail


def infer_shapes(spec: ModelSpec) -> list[tuple[int, ...]]:
    """Every layer's output shape per sample; a usage error names an impossible one."""
    shapes, shape = [], spec.sample_shape
    for index, layer in enumerate(spec.layers, start=1):
        shape = lt.out_shape(
            layer.kind,
            layer.args,
            layer.out_features,
            shape,
            layer_fail(spec.source, index, layer.type),
        )
        shapes.append(shape)
    return shapes


def module_names(spec: ModelSpec) -> list[tuple[str, str | None]]:
    """``(layer name, activation module name or None)`` for each layer, all unique.

    Unnamed layers are ``{type}{i}`` (``linear1``, ``conv2d1``, ``maxpool2d2``),
    activations ``{activation}{i}``. A name given
    in the config is never changed: if it repeats another layer's name, given or
    automatic, that is a usage error naming both layers.
    """
    owner: dict[str, str] = {}  # module name -> "layers[i]" or "layers[i]'s activation"

    def claim(name: str, who: str, given: bool) -> str:
        if name in owner and given:
            raise spec_error(
                spec.source,
                f"{who}.name",
                f"{name!r} is already the name of {owner[name]}; layer names must be unique",
            )
        base, n = name, 2
        while name in owner:  # two automatic names meet (relu6 at 1 = relu at 61)
            name, n = f"{base}_{n}", n + 1
        owner[name] = who
        return name

    given = {layer.name: i for i, layer in enumerate(spec.layers, start=1) if layer.name}
    names = []
    for i, layer in enumerate(spec.layers, start=1):
        where = f"layers[{i}]"
        if layer.name is not None:
            linear = claim(layer.name, where, given=True)
        else:
            linear = _automatic(f"{layer.type}{i}", where, given, spec.source)
            linear = claim(linear, where, given=False)
        act = None
        if layer.activation:
            act_where = f"{where}'s activation"
            act = _automatic(f"{layer.activation}{i}", act_where, given, spec.source)
            act = claim(act, act_where, given=False)
        names.append((linear, act))
    return names


def _automatic(name: str, who: str, given: dict[str, int], source: str) -> str:
    """An automatic name that a given name elsewhere in the config would also claim."""
    if name in given:
        raise spec_error(
            source,
            f"layers[{given[name]}].name",
            f"{name!r} is already the automatic name of {who}; layer names must be unique",
            "pick another name, or name both layers",
        )
    return name


def check_tensor_sizes(spec: ModelSpec, batch: int | None = None) -> None:
    """Refuse a tensor torch cannot address, counted in Python ints before torch sees it.

    Every size is within MAX_SIZE, but products are not: a 2**31 × 2**31 float32
    weight is 2**64 bytes, and torch fails with "Storage size calculation
    overflowed" even on the meta device. ``batch`` adds the activations.
    """
    inputs = spec.layer_inputs()
    for i, (layer, shape) in enumerate(zip(spec.layers, inputs, strict=True), start=1):
        weight = lt.weight_shape(layer.kind, layer.args, layer.out_features, shape)
        if weight is not None:
            _tensor_fits(spec.source, f"layers[{i}]", "weight", weight)
        if batch is not None:
            out = spec.layer_shapes[i - 1]
            what = "output (batch × out_features)" if len(out) == 1 else "output"
            _tensor_fits(spec.source, f"layers[{i}]", what, (batch, *out))
    if batch is not None:
        if spec.input_shape is None:
            where, what = "input_features", "input (batch × input_features)"
        else:
            where, what = "input_shape", "input"
        _tensor_fits(spec.source, where, what, (batch, *spec.sample_shape))


def _tensor_fits(source: str, where: str, what: str, shape: tuple[int, ...]) -> None:
    numel = math.prod(shape)
    if numel * FLOAT32 > MAX_SIZE_BYTES:
        dims = " × ".join(f"{d:,}" for d in shape)
        raise spec_error(
            source,
            where,
            f"its {what} would be {dims} = {numel:.3g} float32 values, "
            f"{numel * FLOAT32:.3g} bytes: more than torch can address (2**63 - 1 bytes)",
        )


def check_batch_statistics(
    spec: ModelSpec, rows: int, *, training: bool, what: str = "a batch", hint: str | None = None
) -> None:
    """Refuse a batch norm layer that would see one value per channel (torch raises
    "Expected more than 1 value per channel"): ``rows`` rows of a batch, normalised
    with the batch's own statistics (in training mode, or without running statistics).
    """
    inputs = spec.layer_inputs()
    for i, (layer, shape) in enumerate(zip(spec.layers, inputs, strict=True), start=1):
        if not lt.uses_batch_statistics(layer.kind, layer.args, training=training):
            continue
        per_sample = lt.values_per_channel(shape)
        if rows * per_sample > 1:
            continue
        mode = "in training" if training else "with track_running_stats = false (even in eval mode)"
        raise spec_error(
            spec.source,
            f"layers[{i}] ({layer.type})",
            f"its input {lt.dims(shape)} has one value per channel per sample, and it "
            f"normalises each channel over the batch {mode}: {what} of {rows} row "
            "gives it a single value per channel, which torch refuses",
            hint,
        )
