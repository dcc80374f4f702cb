"""One JSON document written incrementally, for outputs too large to build in memory.

The document is byte-for-byte what :func:`nncli.render.jsonout.emit` would print
for the same payload (same key order, same separators, non-finite floats as
null), but numpy arrays in it are written in chunks of
:data:`~nncli.core.model.forward.STREAM_CHUNK_VALUES` values, so a million-row output
never exists as Python floats or as one string. If writing fails halfway, the
exception still reaches the CLI's error handler, which exits non-zero.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable, Mapping
from typing import Any

from nncli.core.model.forward import STREAM_CHUNK_VALUES
from nncli.render.jsonout import SCHEMA_VERSION, to_jsonable

Write = Callable[[str], Any]


def emit_stream(command: str, payload: Mapping[str, Any]) -> None:
    """Print one JSON document with ``schema_version`` and ``command`` first."""
    document = {"schema_version": SCHEMA_VERSION, "command": command, **payload}
    write = sys.stdout.write
    write_json(write, document)
    write("\n")
    sys.stdout.flush()


def write_json(write: Write, value: Any) -> None:
    """Write ``value`` as JSON, streaming every numpy array found inside it."""
    import numpy as np

    if isinstance(value, np.ndarray) and value.ndim > 0:
        _write_array(write, value)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        write_json(write, {f.name: getattr(value, f.name) for f in dataclasses.fields(value)})
    elif isinstance(value, Mapping):
        write("{")
        for i, (key, item) in enumerate(value.items()):
            write(", " if i else "")
            write(json.dumps(str(key), ensure_ascii=False) + ": ")
            write_json(write, item)
        write("}")
    elif isinstance(value, (list, tuple)):
        write("[")
        for i, item in enumerate(value):
            write(", " if i else "")
            write_json(write, item)
        write("]")
    else:
        write(json.dumps(to_jsonable(value), ensure_ascii=False, allow_nan=False))


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
        chunk = part.tolist() if _all_finite(part) else to_jsonable(part.tolist())
        write((", " if start else "") + json.dumps(chunk, allow_nan=False)[1:-1])
    write("]")


def _all_finite(part: Any) -> bool:
    """True when no value needs to_jsonable's NaN/inf -> null (a per-value Python call)."""
    import numpy as np

    return part.dtype.kind not in "fc" or bool(np.isfinite(part).all())
