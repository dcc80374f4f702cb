"""Checkpoints: a trained model's config and ``state_dict`` in one file.

The file is ``torch.save`` of a dict of plain data and tensors::

    {"format": "nncli-checkpoint", "version": 1,
     "config": <the model as TOML text, read back with parse_config>,
     "state_dict": {name: tensor, ...}, "dataset": {...}, "run": {...},
     "standardization": {"mean": [...], "std": [...], "features": [...]} or None}

``standardization`` holds the training split's per-feature statistics the model was
trained with (:class:`nncli.core.train.datasets.Standardization`); ``run --weights``
applies them to its ``--input`` rows. A checkpoint written before it existed has no such
entry and loads as one without standardisation (the format version is unchanged).

It is written through :func:`nncli.files.atomic_write` (no partial file ever),
and read with ``torch.load(..., weights_only=True)``: loading never runs code from the
file. The config is TOML so that loading validates it like any config file.
"""

from __future__ import annotations

import pickle
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nncli.core.model.config import MAX_CONFIG_BYTES, parse_config, toml_value
from nncli.core.model.layertypes import short
from nncli.core.model.spec import ModelSpec
from nncli.errors import UsageError

if TYPE_CHECKING:
    import torch

    from nncli.core.model.build import BuiltModel
    from nncli.core.train.datasets import Dataset, Standardization
    from nncli.core.train.trainer import TrainRun

FORMAT = "nncli-checkpoint"
VERSION = 1
EXTENSIONS = ("pt", "pth", "ckpt")  # torch.save files, by the usual names


# --------------------------------------------------------------------------- TOML


def spec_to_toml(spec: ModelSpec) -> str:
    """The config as TOML text that :func:`parse_config` reads back to an equal spec."""
    lines = [
        f"name = {toml_value(spec.name)}",
        f"description = {toml_value(spec.description)}",
    ]
    if spec.input_shape is not None:
        lines.append(f"input_shape = {toml_value(list(spec.input_shape))}")
    else:
        lines.append(f"input_features = {spec.input_features}")
    for layer in spec.layers:
        lines += ["", "[[layers]]"]
        if layer.type == "linear":
            lines.append(f"out_features = {layer.out_features}")
        else:  # out_features is inferred for the other types
            lines.append(f"type = {toml_value(layer.type)}")
            lines += [f"{key} = {toml_value(value)}" for key, value in layer.args.items()]
        if layer.name is not None:
            lines.append(f"name = {toml_value(layer.name)}")
        if layer.activation is not None:
            lines.append(f"activation = {toml_value(layer.activation)}")
        if layer.init is not None:
            lines.append(f"init = {toml_value(layer.init)}")
            if layer.init_args:
                args = ", ".join(f"{k} = {toml_value(v)}" for k, v in layer.init_args.items())
                lines.append(f"init_args = {{ {args} }}")
        if not layer.bias:
            lines.append("bias = false")
    return "\n".join(lines) + "\n"


def _structure(spec: ModelSpec) -> tuple[Any, ...]:
    """What the weights depend on: types, sizes, arguments, activations, biases (not
    inits or names)."""
    return (
        spec.sample_shape,
        tuple(
            (layer.type, layer.out_features, layer.activation, layer.bias, _args(layer.args))
            for layer in spec.layers
        ),
    )


def _args(args: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    """Arguments in a fixed order, lists as tuples."""
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in args.items()))


def describe(spec: ModelSpec) -> str:
    """``2 → 8 tanh → 1``: the shape a mismatch message names; other layer types by
    their type and output shape (``conv2d 6×28×28``)."""
    parts = ["×".join(map(str, spec.sample_shape))]
    for layer, shape in zip(spec.layers, spec.layer_shapes, strict=True):
        act = f" {layer.activation}" if layer.activation else ""
        size = str(layer.out_features)
        if layer.type != "linear":
            size = f"{layer.type} " + "×".join(map(str, shape))
        parts.append(f"{size}{act}{'' if layer.bias or not layer.kind.bias else ' (no bias)'}")
    return " → ".join(parts)


# --------------------------------------------------------------------------- save


def save_checkpoint(path: str | Path, run: TrainRun, dataset: Dataset) -> Path:
    """Write the trained model, its config and where it came from, atomically."""
    import torch

    from nncli.files import atomic_write

    state = {k: v.detach().cpu().clone() for k, v in run.model.state_dict().items()}
    last = run.history[-1] if run.history else None
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "config": spec_to_toml(run.spec),
        "state_dict": state,
        "dataset": {
            "name": dataset.name,
            "task": dataset.task,
            "classes": dataset.classes,
            "features": list(dataset.features),
            "samples": int(dataset.samples),
            "noise": float(dataset.noise),
            "seed": int(dataset.seed),
            "source": str(dataset.source),
        },
        "run": {
            "activation": run.config.activation,
            "init": run.config.init,
            "optimizer": run.config.optimizer,
            "lr": float(run.config.lr),
            "loss": run.config.loss,
            "weight_decay": float(run.config.weight_decay),
            "l1": float(run.config.l1),
            "epochs": last.epoch if last else 0,
            "verdict": run.verdict,
            "interrupted": run.interrupted,
        },
        "standardization": _standardization_entry(dataset),
    }
    return atomic_write(path, lambda tmp: torch.save(payload, tmp))


def _standardization_entry(dataset: Dataset) -> dict[str, list[Any]] | None:
    """The dataset's standardisation as plain lists (weights_only loads them), or None."""
    st = getattr(dataset, "standardization", None)
    if st is None:
        return None
    return {**st.as_dict(), "features": [str(name) for name in dataset.features]}


# --------------------------------------------------------------------------- load


def _not_ours(path: str | Path, why: str) -> UsageError:
    return UsageError(
        f"checkpoint {str(path)!r}: not an nncli checkpoint: {why}",
        hint="write one with nncli train --save FILE",
    )


def _refusal(exc: pickle.UnpicklingError) -> str:
    """What weights_only refused, from torch's message: the line that names the object
    or the opcode, not the paragraphs about ``weights_only=False`` around it."""
    text = str(exc)
    if "WeightsUnpickler error:" in text:
        text = text.split("WeightsUnpickler error:", 1)[1]
    skip = ("Weights only load failed", "Check the documentation", "(1) ", "(2) ", "Re-running")
    for raw in text.splitlines():
        line = raw.strip().split(" Please use ", 1)[0]
        if line and not line.startswith(skip):
            return _printable(line)
    return type(exc).__name__


def _printable(text: str, limit: int = 160) -> str:
    """One line of a foreign message, safe to print: no escape codes, not too long."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _read(path: str | Path) -> Any:
    import torch

    file = Path(path)
    try:
        exists, regular = file.exists(), file.is_file()
    except OSError as exc:  # a name too long for the file system
        raise UsageError(
            f"checkpoint {short(str(path))}: cannot be read ({exc.strerror or exc})"
        ) from exc
    if not exists:
        raise UsageError(f"checkpoint {str(path)!r}: no such file")
    if not regular:
        raise UsageError(f"checkpoint {str(path)!r}: not a regular file")
    try:
        with warnings.catch_warnings():
            # A corrupt file makes torch warn (an unknown pickle protocol, sparse
            # invariants) before it fails: the error below says all there is to say.
            warnings.simplefilter("ignore")
            return torch.load(file, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        # weights_only refuses any class outside plain data and tensors, and any
        # opcode it does not know: nothing from the file ever runs.
        detail = _refusal(exc)
        if "GLOBAL" in detail or "global" in detail:
            raise _not_ours(path, f"it holds objects a checkpoint never has ({detail})") from exc
        raise _not_ours(path, f"its pickle is corrupt or unsupported ({detail})") from exc
    except OSError as exc:
        raise UsageError(
            f"checkpoint {str(path)!r}: cannot be read ({exc.strerror or exc})"
        ) from exc
    except Exception as exc:  # around torch.load only: any failure there is a bad file
        # A file that is not a torch.save zip, or one that is truncated or corrupted,
        # makes torch.load raise almost anything (IndexError, struct.error, TypeError,
        # AssertionError, RuntimeError, EOFError, BadZipFile, UnicodeDecodeError, ...).
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        detail = type(exc).__name__ + (f": {_printable(first, 120)}" if first else "")
        raise _not_ours(
            path, f"not a file written by torch.save, or truncated or corrupted ({detail})"
        ) from exc


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint's parts, all checked: the config, the weights and the statistics its
    inputs were standardised with (None: the model takes the inputs as they are)."""

    spec: ModelSpec
    state: dict[str, torch.Tensor]
    standardization: Standardization | None
    features: tuple[str, ...] | None  # the standardised inputs' names, when saved


def load_checkpoint(
    path: str | Path, spec: ModelSpec | None = None
) -> tuple[ModelSpec, dict[str, torch.Tensor]]:
    """The checkpoint's config and ``state_dict``, both checked (see :func:`read_checkpoint`,
    which also gives the standardisation)."""
    checkpoint = read_checkpoint(path, spec)
    return checkpoint.spec, checkpoint.state


def read_checkpoint(path: str | Path, spec: ModelSpec | None = None) -> Checkpoint:
    """The checkpoint's config, ``state_dict`` and standardisation, all checked.

    With ``spec`` (a ``--config`` given beside ``--weights``), its layers must be
    those the weights were trained for (sizes, activations, biases); inits and
    names may differ. Any problem is a usage error naming the file (exit 2).
    """
    data = _read(path)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise _not_ours(path, "no 'format': 'nncli-checkpoint' entry")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _not_ours(path, f"bad version {short(version)}")
    if version > VERSION:
        raise UsageError(
            f"checkpoint {str(path)!r}: format version {version} is newer than this "
            f"nncli reads ({VERSION})",
            hint="upgrade nncli",
        )
    text = data.get("config")
    if not isinstance(text, str):
        raise _not_ours(path, "no config")
    if len(text) > MAX_CONFIG_BYTES:  # characters, at least as many bytes
        raise _not_ours(
            path, f"its config is longer than a model config can be ({len(text):,} characters)"
        )
    saved = parse_config(text, f"{path} (checkpoint)")
    state = data.get("state_dict")
    if not isinstance(state, dict):
        raise _not_ours(path, "no state_dict")
    _check_state(path, saved, state)
    if spec is not None and _structure(spec) != _structure(saved):
        raise UsageError(
            f"checkpoint {str(path)!r} holds weights for {describe(saved)}, but config "
            f"{spec.source} is {describe(spec)}",
            hint="leave out --config: the checkpoint carries its own",
        )
    standardization, features = _read_standardization(
        path, data.get("standardization"), saved.input_features
    )
    return Checkpoint(saved, state, standardization, features)


def _read_standardization(
    path: str | Path, entry: Any, width: int
) -> tuple[Standardization | None, tuple[str, ...] | None]:
    """The saved statistics, checked: one finite mean and one finite positive std per
    input feature of the model. Absent or None (an older checkpoint): no standardisation."""
    import math

    from nncli.core.train.datasets import Standardization

    if entry is None:
        return None, None
    where = f"checkpoint {str(path)!r}: its standardization"
    if not isinstance(entry, dict):
        raise UsageError(f"{where} is not a mapping but {type(entry).__name__}")
    values: dict[str, tuple[float, ...]] = {}
    for key in ("mean", "std"):
        column = entry.get(key)
        if not isinstance(column, (list, tuple)):
            raise UsageError(f"{where} has no {key!r} list")
        if len(column) != width:
            raise UsageError(
                f"{where} has {len(column)} {key} values, but the model takes {width} inputs"
            )
        for value in column:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise UsageError(f"{where}: {key} holds {short(value)}, not a number")
            if not math.isfinite(value) or (key == "std" and value <= 0):
                rule = "finite and positive" if key == "std" else "finite"
                raise UsageError(f"{where}: {key} holds {value!r}; each must be {rule}")
        values[key] = tuple(float(v) for v in column)
    names = entry.get("features")
    features = None
    if isinstance(names, (list, tuple)) and len(names) == width:
        features = tuple(str(name) for name in names)
    return Standardization(values["mean"], values["std"]), features


_FLOATS = ("float16", "bfloat16", "float32", "float64")
_INTEGERS = ("uint8", "int8", "int16", "int32", "int64")
_LISTED = 5  # names listed in a missing/unexpected message before "and N more"


def _key(key: Any) -> str:
    """A state_dict key in a message: as is when it is a short printable name."""
    if isinstance(key, str) and key.isprintable() and 0 < len(key) <= 64:
        return key
    return short(key)


def _listed(keys: list[str]) -> str:
    more = len(keys) - _LISTED
    return ", ".join(keys[:_LISTED]) + (f" and {more} more" if more > 0 else "")


def _check_state(path: str | Path, spec: ModelSpec, state: dict[Any, Any]) -> None:
    """The state_dict has exactly the tensors the config's model has: dense CPU
    tensors of a float (an integer, for batch norm's counter) dtype, in their shapes.

    run loads them with ``load_state_dict`` and summary only checks them: both rely
    on this one check, so they accept and refuse the same files."""
    import torch

    from nncli.core.model.build import build_model

    model_state = build_model(spec, meta=True).model.state_dict()
    expected = {k: tuple(v.shape) for k, v in model_state.items()}
    missing = [k for k in expected if k not in state]
    extra = [_key(k) for k in state if k not in expected]
    if missing or extra:
        what = f"missing {_listed(missing)}" if missing else f"unexpected {_listed(extra)}"
        raise UsageError(f"checkpoint {str(path)!r}: its weights do not match its config ({what})")
    for key, shape in expected.items():
        tensor = state[key]
        where = f"checkpoint {str(path)!r}: {key}"
        if not isinstance(tensor, torch.Tensor):
            raise UsageError(f"{where} is not a tensor but {type(tensor).__name__}")
        if tensor.layout != torch.strided or tensor.is_nested:
            layout = "nested" if tensor.is_nested else str(tensor.layout).removeprefix("torch.")
            raise UsageError(f"{where} is a {layout} tensor; weights must be dense (strided)")
        if tensor.device.type != "cpu":  # map_location="cpu" moves all but meta tensors
            what = "a meta tensor, with no values" if tensor.is_meta else f"on {tensor.device}"
            raise UsageError(f"{where} is {what}; weights must be CPU tensors")
        if tensor.is_quantized:
            raise UsageError(f"{where} is a quantized tensor; weights must be plain tensors")
        # BatchNorm's num_batches_tracked is an integer buffer; everything else is float.
        floating = model_state[key].is_floating_point()
        dtype = str(tensor.dtype).removeprefix("torch.")
        if dtype not in (_FLOATS if floating else _INTEGERS):
            kind = "a float" if floating else "an integer"
            raise UsageError(
                f"{where} is not {kind} tensor (it is {dtype}; allowed: "
                f"{', '.join(_FLOATS if floating else _INTEGERS)})"
            )
        if tuple(tensor.shape) != shape:
            raise UsageError(
                f"{where} has shape {list(tensor.shape)}, but its config needs {list(shape)}"
            )


def load_model(path: str | Path, device: str = "cpu", spec: ModelSpec | None = None) -> BuiltModel:
    """Build the checkpoint's model on ``device`` with its trained weights."""
    import torch

    from nncli.core.model.build import build_model

    saved, state = load_checkpoint(path, spec)
    built = build_model(saved, "cpu", seed=0)
    with torch.no_grad():
        built.model.load_state_dict(
            {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
        )
    if device != "cpu":
        built.model = built.model.to(torch.device(device))
        built.device = device
    return built
