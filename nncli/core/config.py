"""Model configs: TOML files describing a feed-forward network, read with tomllib.

A config is validated completely before any tensor exists, and every error names
the file and the bad key or value (exit 2).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from nncli.core.activations import get_activation
from nncli.core.inits import get_scheme
from nncli.errors import UsageError, closest

DEFAULT_CONFIG = "demo"
_TOP_KEYS = ("name", "input_features", "layers", "description")
_LAYER_KEYS = ("out_features", "activation", "init", "init_args", "bias", "name")


@dataclass(frozen=True)
class LayerSpec:
    out_features: int
    activation: str | None = None  # canonical registry name
    init: str | None = None  # None: PyTorch's default
    init_args: dict[str, Any] = field(default_factory=dict)
    bias: bool = True
    name: str | None = None


@dataclass(frozen=True)
class ModelSpec:
    input_features: int
    layers: tuple[LayerSpec, ...]
    name: str = "model"
    description: str = ""
    source: str = "<memory>"

    @property
    def output_features(self) -> int:
        return self.layers[-1].out_features

    def linear_params(self) -> int:
        """Parameter count from the config alone, without building anything."""
        total, fan_in = 0, self.input_features
        for layer in self.layers:
            total += fan_in * layer.out_features + (layer.out_features if layer.bias else 0)
            fan_in = layer.out_features
        return total


def bundled_configs() -> list[str]:
    """Names of the configs shipped inside the package (``--config demo`` etc.)."""
    folder = resources.files("nncli") / "configs"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def locate(config: str | None) -> tuple[str, str]:
    """Return ``(label, text)`` for a path or a bundled config name."""
    ref = config or DEFAULT_CONFIG
    path = Path(ref)
    if path.suffix != ".toml" and not path.exists() and "/" not in ref:
        bundled = resources.files("nncli") / "configs" / f"{ref}.toml"
        if bundled.is_file():
            return f"bundled:{ref}", bundled.read_text(encoding="utf-8")
        names = bundled_configs()
        guess = closest(ref, names)
        hint = f"did you mean {guess}?" if guess else None
        raise UsageError(
            f"config {ref!r}: no such file, and not a bundled config ({', '.join(names)})",
            hint=hint,
        )
    if not path.is_file():
        raise UsageError(f"config {ref}: no such file")
    try:
        return ref, path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
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
    return _spec_from(data, source)


def _fail(source: str, where: str, message: str, hint: str | None = None) -> UsageError:
    return UsageError(f"config {source}: {where}: {message}", hint=hint)


def _check_keys(data: dict[str, Any], allowed: tuple[str, ...], source: str, where: str) -> None:
    for key in data:
        if key not in allowed:
            guess = closest(key, allowed)
            raise _fail(
                source,
                where,
                f"unknown key {key!r} (allowed: {', '.join(allowed)})",
                f"did you mean {guess}?" if guess else None,
            )


def _positive_int(value: Any, source: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(source, where, f"must be an integer > 0, got {value!r}")
    if value <= 0:
        raise _fail(source, where, f"must be an integer > 0, got {value}")
    return value


def _spec_from(data: dict[str, Any], source: str) -> ModelSpec:
    _check_keys(data, _TOP_KEYS, source, "top level")
    if "input_features" not in data:
        raise _fail(source, "top level", "missing required key 'input_features'")
    input_features = _positive_int(data["input_features"], source, "input_features")
    name = data.get("name", Path(source.removeprefix("bundled:")).stem or "model")
    if not isinstance(name, str):
        raise _fail(source, "name", f"must be a string, got {name!r}")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise _fail(source, "description", f"must be a string, got {description!r}")
    raw_layers = data.get("layers")
    if not isinstance(raw_layers, list) or not raw_layers:
        raise _fail(source, "layers", "need at least one [[layers]] table")
    layers = tuple(_layer_from(raw, i, source) for i, raw in enumerate(raw_layers, start=1))
    return ModelSpec(input_features, layers, name, description, source)


def _layer_from(raw: Any, index: int, source: str) -> LayerSpec:
    where = f"layers[{index}]"
    if not isinstance(raw, dict):
        raise _fail(source, where, "must be a table")
    _check_keys(raw, _LAYER_KEYS, source, where)
    if "out_features" not in raw:
        raise _fail(source, where, "missing required key 'out_features'")
    out = _positive_int(raw["out_features"], source, f"{where}.out_features")

    activation = raw.get("activation")
    if activation is not None:
        if not isinstance(activation, str):
            raise _fail(source, f"{where}.activation", f"must be a string, got {activation!r}")
        try:
            activation = get_activation(activation).name
        except UsageError as exc:
            raise _fail(source, f"{where}.activation", exc.message, exc.hint) from exc

    init = raw.get("init")
    init_args = raw.get("init_args", {})
    if init is not None:
        if not isinstance(init, str):
            raise _fail(source, f"{where}.init", f"must be a string, got {init!r}")
        try:
            scheme = get_scheme(init)
        except UsageError as exc:
            raise _fail(source, f"{where}.init", exc.message, exc.hint) from exc
        init = scheme.name
        if not isinstance(init_args, dict):
            raise _fail(source, f"{where}.init_args", "must be a table")
        try:
            init_args = scheme.resolve_params(init_args)
        except UsageError as exc:
            raise _fail(source, f"{where}.init_args", exc.message, exc.hint) from exc
    elif init_args:
        raise _fail(source, f"{where}.init_args", "given without an 'init' scheme")

    bias = raw.get("bias", True)
    if not isinstance(bias, bool):
        raise _fail(source, f"{where}.bias", f"must be true or false, got {bias!r}")
    name = raw.get("name")
    if name is not None and (not isinstance(name, str) or not name.isidentifier()):
        raise _fail(source, f"{where}.name", f"must be a Python identifier, got {name!r}")
    return LayerSpec(out, activation, init, dict(init_args), bias, name)
