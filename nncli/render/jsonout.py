"""The ``--json`` contract: exactly one JSON document on stdout, nothing else."""

from __future__ import annotations

import dataclasses
import json
import math
import sys
from collections.abc import Mapping
from typing import Any

SCHEMA_VERSION = 1


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


def emit(command: str, payload: Mapping[str, Any]) -> None:
    """Print one JSON document with ``schema_version`` and ``command`` first."""
    document = {"schema_version": SCHEMA_VERSION, "command": command}
    document.update(to_jsonable(payload))
    sys.stdout.write(json.dumps(document, ensure_ascii=False, allow_nan=False))
    sys.stdout.write("\n")
    sys.stdout.flush()
