"""Model configs: TOML files describing a feed-forward network, read with tomllib
into a :class:`~nncli.core.model.spec.ModelSpec` (and written back, for checkpoints).

A config is validated completely before any tensor exists, and every error names
the file and the bad key or value (exit 2).
"""

from __future__ import annotations

import json
import math
import re
import sys
import tomllib
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from nncli.core.activation.activations import get_activation
from nncli.core.init.inits import InitScheme, get_scheme
from nncli.core.memory import format_bytes
from nncli.core.model import layertypes as lt
from nncli.core.model.layertypes import short
from nncli.core.model.spec import (
    LayerSpec,
    ModelSpec,
    check_tensor_sizes,
    layer_fail,
    module_names,
)
from nncli.core.model.spec import spec_error as _fail
from nncli.errors import UsageError, closest
from nncli.limits import MAX_SIZE

DEFAULT_CONFIG = "demo"
# A 1,000-layer config is about 50 KB; a file far larger is not a model config, and
# is refused before it is read into memory.
MAX_CONFIG_BYTES = 16 * 2**20
_TOP_KEYS = ("name", "input_features", "input_shape", "layers", "description")
_LAYER_KEYS = ("out_features", "activation", "init", "init_args", "bias", "name")

# Public attributes of the nn.Sequential the model is built in (torch 2.x). A layer
# named after one cannot be added (``KeyError: attribute 'train' already exists``).
# Kept static so that reading a config never imports torch; a test compares it with
# ``dir(nn.Sequential())``, and build_model checks again against the real container.
# Every name starting with "_" is reserved as well: torch's private attributes.
RESERVED_NAMES = frozenset(
    [
        "T_destination",
        "add_module",
        "append",
        "apply",
        "bfloat16",
        "buffers",
        "call_super_init",
        "children",
        "compile",
        "cpu",
        "cuda",
        "double",
        "dump_patches",
        "eval",
        "extend",
        "extra_repr",
        "float",
        "forward",
        "get_buffer",
        "get_extra_state",
        "get_parameter",
        "get_submodule",
        "half",
        "insert",
        "ipu",
        "load_state_dict",
        "modules",
        "mtia",
        "named_buffers",
        "named_children",
        "named_modules",
        "named_parameters",
        "parameters",
        "pop",
        "register_backward_hook",
        "register_buffer",
        "register_forward_hook",
        "register_forward_pre_hook",
        "register_full_backward_hook",
        "register_full_backward_pre_hook",
        "register_load_state_dict_post_hook",
        "register_load_state_dict_pre_hook",
        "register_module",
        "register_parameter",
        "register_state_dict_post_hook",
        "register_state_dict_pre_hook",
        "requires_grad_",
        "set_extra_state",
        "set_submodule",
        "share_memory",
        "state_dict",
        "to",
        "to_empty",
        "train",
        "training",
        "type",
        "xpu",
        "zero_grad",
    ]
)


def bundled_folder() -> Traversable:
    """The folder of bundled configs, in a wheel and in a source checkout alike.

    The configs live in the repository's top-level ``configs/``; a wheel ships them
    as ``nncli/configs`` (pyproject's package-dir maps ``nncli.configs`` to
    ``configs``). An editable install or a checkout has no ``nncli/configs``: there
    the folder is the package's sibling.
    """
    package = resources.files("nncli")
    packaged = package / "configs"
    if packaged.is_dir():
        return packaged
    return Path(str(package)).resolve().parent / "configs"


def bundled_configs() -> list[str]:
    """Names of the configs shipped inside the package (``--config demo`` etc.)."""
    folder = bundled_folder()
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def locate(config: str | None) -> tuple[str, str]:
    """Return ``(label, text)`` for a path or a bundled config name."""
    if config is not None and not config.strip():
        # An empty value is a mistake (an unset shell variable), never "the default".
        raise UsageError(
            f"config {config!r}: empty; give a TOML file or a bundled name",
            hint=f"leave out --config for the default, {DEFAULT_CONFIG}",
        )
    ref = DEFAULT_CONFIG if config is None else config
    try:
        return _locate(ref)
    except OSError as exc:  # a name too long for the file system, a path through a file
        raise UsageError(f"config {ref}: cannot be read ({exc.strerror or exc})") from exc


def _locate(ref: str) -> tuple[str, str]:
    path = Path(ref)
    if path.suffix != ".toml" and not path.exists() and "/" not in ref:
        bundled = bundled_folder() / f"{ref}.toml"
        if bundled.is_file():
            return f"bundled:{ref}", bundled.read_text(encoding="utf-8")
        names = bundled_configs()
        guess = closest(ref, names)
        hint = f"did you mean {guess}?" if guess else None
        raise UsageError(
            f"config {ref!r}: no such file, and not a bundled config ({', '.join(names)})",
            hint=hint,
        )
    if not path.exists():
        raise UsageError(f"config {ref}: no such file")
    if not path.is_file():
        raise UsageError(f"config {ref}: not a regular file")
    size = path.stat().st_size
    if size > MAX_CONFIG_BYTES:
        raise UsageError(
            f"config {ref}: {format_bytes(size)} is larger than a model config can be "
            f"({format_bytes(MAX_CONFIG_BYTES)})"
        )
    try:
        return ref, path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"config {ref}: cannot be read ({exc})") from exc


def load_config(config: str | None = None) -> ModelSpec:
    label, text = locate(config)
    return parse_config(text, label)


def parse_config(text: str, source: str = "<string>") -> ModelSpec:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message carries "(at line N, column M)".
        raise UsageError(f"config {source}: malformed TOML: {exc}") from exc
    except RecursionError as exc:
        # tomllib parses nested arrays and inline tables recursively; no config
        # needs more than three levels, so a depth that exhausts the stack is bad input.
        raise UsageError(
            f"config {source}: malformed TOML: arrays or inline tables nested too deeply"
        ) from exc
    except ValueError as exc:
        # Not a TOMLDecodeError: Python's int-string limit (sys.set_int_max_str_digits),
        # which tomllib meets when it converts a decimal integer of over 4,300 digits.
        if "digits" not in str(exc):
            raise UsageError(f"config {source}: malformed TOML: {exc}") from exc
        raise UsageError(
            f"config {source}: an integer{_long_number_at(text)} is too long to read (more "
            f"than {sys.get_int_max_str_digits():,} digits); no model size comes near that",
        ) from exc
    return _spec_from(data, source)


def _long_number_at(text: str) -> str:
    """`` at line N``: where the first over-long run of digits is (or nothing)."""
    limit = sys.get_int_max_str_digits()
    found = re.search(rf"\d[\d_]{{{limit},}}", text) if limit else None
    return f" at line {text.count(chr(10), 0, found.start()) + 1}" if found else ""


def _check_keys(data: dict[str, Any], allowed: tuple[str, ...], source: str, where: str) -> None:
    for key in data:
        if key not in allowed:
            guess = closest(key, allowed)
            raise _fail(
                source,
                where,
                f"unknown key {short(key)} (allowed: {', '.join(allowed)})",
                f"did you mean {guess}?" if guess else None,
            )


def _positive_int(value: Any, source: str, where: str) -> int:
    """A size in [1, MAX_SIZE]: the bound every integer option has (nncli.limits)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(source, where, f"must be an integer > 0, got {short(value)}")
    if value <= 0:
        raise _fail(source, where, f"must be an integer > 0, got {value}")
    if value > MAX_SIZE:
        shown = f"{value:,}" if value < 10**30 else f"a {len(str(value))}-digit number"
        raise _fail(source, where, f"must be at most {MAX_SIZE:,}, got {shown}")
    return value


def _spec_from(data: dict[str, Any], source: str) -> ModelSpec:
    _check_keys(data, _TOP_KEYS, source, "top level")
    input_shape = _input_shape(data, source)
    input_features = math.prod(input_shape) if input_shape is not None else 0
    if input_shape is None:
        input_features = _positive_int(data["input_features"], source, "input_features")
    stem = Path(source.removeprefix("bundled:")).stem
    name = data.get("name", stem if stem.strip() and stem.isprintable() else "model")
    if not isinstance(name, str) or not name.strip() or not name.isprintable():
        # Printed in headers: a newline or an escape code would break the table.
        raise _fail(source, "name", f"must be a one-line printable string, got {short(name)}")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise _fail(source, "description", f"must be a string, got {short(description)}")
    raw_layers = data.get("layers")
    if not isinstance(raw_layers, list) or not raw_layers:
        raise _fail(source, "layers", "need at least one [[layers]] table")
    layers = []
    shape = input_shape if input_shape is not None else (input_features,)
    for i, raw in enumerate(raw_layers, start=1):
        layer = _layer_from(raw, i, source, shape)
        layers.append(layer)
        shape = lt.out_shape(layer.kind, layer.args, layer.out_features, shape,
                             layer_fail(source, i, layer.type))  # fmt: skip
    _check_output(shape, len(layers), layers[-1].type, source)
    spec = ModelSpec(input_features, tuple(layers), name, description, source, input_shape)
    module_names(spec)  # duplicate or reserved layer names
    check_tensor_sizes(spec)
    _check_inits_fit(spec, source)
    return spec


def _input_shape(data: dict[str, Any], source: str) -> tuple[int, ...] | None:
    """``input_shape`` (checked), or None when the config gives ``input_features``."""
    given = [k for k in ("input_features", "input_shape") if k in data]
    if not given:
        raise _fail(
            source,
            "top level",
            "missing required key 'input_features' (or 'input_shape')",
            "input_features = N for rows of N numbers, input_shape = [C, H, W] for images",
        )
    if len(given) == 2:
        raise _fail(
            source,
            "top level",
            "give input_features or input_shape, not both",
            "input_shape = [C, H, W] says everything input_features would",
        )
    if given == ["input_features"]:
        return None
    raw = data["input_shape"]
    if not isinstance(raw, list) or not 1 <= len(raw) <= 3:
        raise _fail(
            source,
            "input_shape",
            f"must be a list of 1 to 3 sizes (no batch), got {short(raw)}",
            "e.g. [1, 28, 28] for one-channel 28×28 images",
        )
    shape = tuple(_positive_int(d, source, "input_shape") for d in raw)
    if math.prod(shape) > MAX_SIZE:
        raise _fail(source, "input_shape", f"{lt.dims(shape)} is more than {MAX_SIZE:,} values")
    return shape


def _check_output(shape: tuple[int, ...], count: int, type_: str, source: str) -> None:
    """run and train read the output as one row of scores per sample."""
    if len(shape) != 1:
        raise _fail(
            source,
            f"layers[{count}] ({type_})",
            f"the model's output must be one vector per sample, but the last layer's "
            f"output is {lt.dims(shape)}",
            'end with type = "flatten" (and a linear layer for the classes)',
        )


def _check_inits_fit(spec: ModelSpec, source: str) -> None:
    """What an init's arguments do depends on the fans (a Xavier bound shrinks with them),
    so once the sizes are known each scheme checks that its weights fit in float32 and
    can be sampled: the error then names the file and the layer, not just the scheme.
    The fans are torch's: a conv kernel's receptive field times its channels."""
    for index, (layer, shape) in enumerate(zip(spec.layers, spec.layer_inputs(), strict=True), 1):
        weight = lt.weight_shape(layer.kind, layer.args, layer.out_features, shape)
        if layer.init is not None and weight is not None:
            fan_in, fan_out = lt.fans(weight)
            try:
                get_scheme(layer.init).theory(fan_in, fan_out, layer.init_args)
            except UsageError as exc:
                raise _fail(source, f"layers[{index}].init_args", exc.message, exc.hint) from exc


def _layer_type(raw: dict[str, Any], source: str, where: str) -> lt.LayerType:
    value = raw.get("type", "linear")
    if not isinstance(value, str) or len(value) > _NAME_MAX:
        raise _fail(source, f"{where}.type", f"must be a layer type name, got {short(value)}")
    kind = lt.LAYER_TYPES.get(value.lower())
    if kind is None:
        names = tuple(lt.LAYER_TYPES)
        guess = closest(value.lower(), names)
        raise _fail(
            source,
            f"{where}.type",
            f"unknown layer type {short(value)} (known: {', '.join(names)})",
            f"did you mean {guess}?" if guess else None,
        )
    return kind


def _layer_keys(kind: lt.LayerType) -> tuple[str, ...]:
    if kind.takes_out_features:
        return (*_LAYER_KEYS, "type")
    weights = ("init", "init_args") if kind.weighted else ()
    bias = ("bias",) if kind.bias else ()
    return ("type", *kind.keys, "activation", *weights, *bias, "name")


def _layer_from(raw: Any, index: int, source: str, in_shape: tuple[int, ...]) -> LayerSpec:
    where = f"layers[{index}]"
    if not isinstance(raw, dict):
        raise _fail(source, where, "must be a table")
    kind = _layer_type(raw, source, where)
    for key in raw:
        if key in kind.inferred:
            raise _fail(
                source,
                f"{where}.{key}",
                f"is inferred from the previous layer's output ({lt.dims(in_shape)}); leave it out",
            )
    allowed = _layer_keys(kind)
    if not kind.takes_out_features and "out_features" in raw:
        raise _fail(
            source, where, f"unknown key 'out_features' for type {kind.name} "
            f"(allowed: {', '.join(allowed)})", kind.out_hint
        )  # fmt: skip
    _check_keys(raw, allowed, source, where)
    for key in kind.required:
        if key not in raw:
            hint = None
            if kind.takes_out_features and "type" not in raw:
                hint = 'a layer without a type is linear; give type = "conv2d" etc. for others'
            raise _fail(source, where, f"missing required key {key!r}", hint)
    out = _positive_int(raw["out_features"], source, f"{where}.out_features") if (
        kind.takes_out_features) else 0  # fmt: skip
    args = {k: v for k, v in raw.items() if k in kind.keys and k != "out_features"}
    lt.check_args(kind, args, _layer_fail_keyed(source, index))
    if not kind.takes_out_features:
        out = lt.out_shape(kind, args, None, in_shape, layer_fail(source, index, kind.name))[-1]

    activation = raw.get("activation")
    if activation is not None:
        activation = _registry_name(activation, "activation", source, where)
        try:
            activation = get_activation(activation).name
        except UsageError as exc:
            raise _fail(source, f"{where}.activation", exc.message, exc.hint) from exc

    init = raw.get("init")
    init_args = raw.get("init_args", {})
    if init is not None:
        init = _registry_name(init, "init", source, where)
        try:
            scheme = get_scheme(init)
        except UsageError as exc:
            raise _fail(source, f"{where}.init", exc.message, exc.hint) from exc
        init = scheme.name
        _check_init_args(init_args, scheme, source, f"{where}.init_args")
        try:
            init_args = scheme.resolve_params(init_args)
        except UsageError as exc:
            raise _fail(source, f"{where}.init_args", exc.message, exc.hint) from exc
    elif init_args:
        raise _fail(source, f"{where}.init_args", "given without an 'init' scheme")

    bias = raw.get("bias", True)
    if not isinstance(bias, bool):
        raise _fail(source, f"{where}.bias", f"must be true or false, got {short(bias)}")
    name = raw.get("name")
    if name is not None and (not isinstance(name, str) or not name.isidentifier()):
        raise _fail(source, f"{where}.name", f"must be a Python identifier, got {short(name)}")
    if name is not None and (name in RESERVED_NAMES or name.startswith("_")):
        raise _fail(
            source,
            f"{where}.name",
            f"{name!r} is reserved: torch's nn.Sequential has an attribute of that name "
            "(and every name starting with '_' is reserved for torch's own)",
            "pick another name, e.g. " + f"{name.strip('_') or 'layer'}{index}",
        )
    return LayerSpec(out, activation, init, dict(init_args), bias, name, kind.name, args)


def _layer_fail_keyed(source: str, index: int) -> lt.Fail:
    def fail(key: str | None, message: str, hint: str | None) -> UsageError:
        return _fail(source, f"layers[{index}]" + (f".{key}" if key else ""), message, hint)

    return fail


_NAME_MAX = 64  # longer than any registry name: not worth a lookup or a full quote


def _registry_name(value: Any, key: str, source: str, where: str) -> str:
    if not isinstance(value, str):
        raise _fail(source, f"{where}.{key}", f"must be a string, got {short(value)}")
    if len(value) > _NAME_MAX:
        raise _fail(source, f"{where}.{key}", f"unknown {key} {short(value)}")
    return value


def _check_init_args(args: Any, scheme: InitScheme, source: str, where: str) -> None:
    """The shape of ``init_args`` (the registry checks the values): a table of names
    the scheme takes, each a number or a string, so every message stays short."""
    if not isinstance(args, dict):
        raise _fail(source, where, f"must be a table, got {short(args)}")
    for key, value in args.items():
        if key not in scheme.param_names:
            takes = ", ".join(map(repr, scheme.param_names)) or "none"
            raise _fail(
                source,
                where,
                f"{short(key)} does not apply to init scheme {scheme.name}; it takes: {takes}",
            )
        if not isinstance(value, (int, float, str)) or (
            isinstance(value, str) and len(value) > _NAME_MAX
        ):
            raise _fail(source, f"{where}.{key}", f"must be a number or a name, got {short(value)}")


def toml_string(text: str) -> str:
    """A TOML basic string: JSON's escapes are TOML's, but astral characters must stay
    literal (TOML refuses surrogate escapes) and DEL must be escaped."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_value(value: Any) -> str:
    """A value in TOML (tomllib reads TOML but cannot write it): what checkpoints store
    their config with, and what the tests generate configs with."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        items = ", ".join(f"{toml_string(str(k))} = {toml_value(v)}" for k, v in value.items())
        return "{" + items + "}"
    raise TypeError(f"no TOML form for {type(value).__name__}")
