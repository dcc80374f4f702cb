"""A small TOML writer for generated configs (tomllib reads TOML but cannot write it)."""

from __future__ import annotations

import json
import math
from typing import Any


def quote(text: str) -> str:
    """A TOML basic string: JSON's escapes are TOML's, but astral characters must stay
    literal (TOML refuses surrogate escapes) and DEL must be escaped."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_value(value: Any) -> str:
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
        return quote(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{quote(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
