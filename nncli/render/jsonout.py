"""The ``--json`` contract: exactly one JSON document on stdout, nothing else.

:func:`emit` is the one writer of every command's document. The text is what
``json.dumps`` prints for the document made of plain JSON types (default
separators, ``schema_version`` and ``command`` first, non-finite floats as null),
but numpy arrays in it are written in chunks of :data:`STREAM_CHUNK_VALUES`
values, so a million-row output never exists as Python floats or as one string.
If writing fails halfway, the exception still reaches the CLI's error handler,
which exits non-zero.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
from collections.abc import Callable, Mapping
from typing import Any

from nncli.limits import STREAM_CHUNK_VALUES

SCHEMA_VERSION = 1

Write = Callable[[str], Any]


def to_jsonable(value: Any) -> Any:
    """Plain JSON types only. Non-finite floats (overflow findings) become null."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    if hasattr(value, "tolist"):  # numpy / torch scalars and arrays
        return to_jsonable(value.tolist())
    return str(value)


def emit(command: str, payload: Mapping[str, Any], write: Write | None = None) -> None:
    """Print one JSON document with ``schema_version`` and ``command`` first; to
    ``write`` instead of stdout where given (a file the command writes)."""
    document = {"schema_version": SCHEMA_VERSION, "command": command, **payload}
    out = sys.stdout.write if write is None else write
    write_json(out, document)
    out("\n")
    if write is None:
        sys.stdout.flush()


def write_json(write: Write, value: Any) -> None:
    """Write ``value`` as JSON, streaming every numpy array found inside it.

    A part of the document that holds no array is encoded in one ``json.dumps``
    call, so a long list of plain numbers costs no more than it did before streaming.
    """
    if _is_array(value):
        _write_array(write, value)
    elif not _holds_array(value):
        write(_dumps(to_jsonable(value)))
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        write_json(write, {f.name: getattr(value, f.name) for f in dataclasses.fields(value)})
    elif isinstance(value, Mapping):
        write("{")
        for i, (key, item) in enumerate(value.items()):
            write(", " if i else "")
            write(_dumps(str(key)) + ": ")
            write_json(write, item)
        write("}")
    else:  # a list or tuple
        write("[")
        for i, item in enumerate(value):
            write(", " if i else "")
            write_json(write, item)
        write("]")


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def _is_array(value: Any) -> bool:
    """A numpy array with at least one dimension. numpy is looked up, not imported:
    a document built without numpy cannot hold an array, and ``activations --json``
    should not pay numpy's import."""
    np = sys.modules.get("numpy")
    return np is not None and isinstance(value, np.ndarray) and value.ndim > 0


def _holds_array(value: Any) -> bool:
    if _is_array(value):
        return True
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return any(_holds_array(getattr(value, f.name)) for f in dataclasses.fields(value))
    if isinstance(value, Mapping):
        return any(_holds_array(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_holds_array(v) for v in value)
    return False


def _write_array(write: Write, array: Any) -> None:
    """``array.tolist()`` as JSON, a chunk of whole sub-arrays at a time."""
    if array.ndim > 2:  # not produced today; stream each sub-array on its own
        write_json(write, list(array))
        return
    per_item = max(1, array[0].size if array.ndim == 2 and len(array) else 1)
    step = max(1, STREAM_CHUNK_VALUES // per_item)
    write("[")
    for start in range(0, len(array), step):
        part = array[start : start + step]
        chunk = part.tolist() if _plain_numbers(part) else to_jsonable(part.tolist())
        write((", " if start else "") + _dumps(chunk)[1:-1])
    write("]")


def _plain_numbers(part: Any) -> bool:
    """True when ``part.tolist()`` is JSON as it is: integers, booleans or finite real
    floats. Anything else (NaN/inf -> null, complex, strings, objects) goes through
    :func:`to_jsonable`, a per-value Python call."""
    import numpy as np

    kind = part.dtype.kind
    return kind in "biu" or (kind == "f" and bool(np.isfinite(part).all()))
