"""The numbers of ``nncli loss NAME --pred ... --target ...``: inline text or a file.

A value is inline (``"0.2,0.7,0.1"``; rows separated by ``;``, spaces allowed)
or a .csv / .npy file, read by the same reader as ``run --input`` so both
commands refuse the same bad files with the same messages. Every problem is a
usage error that names the option, the value and the rule.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import TYPE_CHECKING

from nncli.core.inputs import FLOAT64_MAX, INPUT_FORMATS, is_number, read_rows
from nncli.errors import UsageError
from nncli.limits import MAX_SIZE

if TYPE_CHECKING:
    import numpy as np

ROW_SEPARATOR = ";"
VALUE_SEPARATOR = ","
SHOWN = 40  # characters of a bad value quoted in a message
SYNTAX = 'numbers like "0.2,0.7,0.1" (rows separated by ";") or a .csv / .npy file'


def parse_values(text: str, option: str) -> np.ndarray:
    """``text`` as a float64 array: 1-D for one row, 2-D ``(rows, width)`` for several.

    A value ending in .csv or .npy is a file, as is an existing file that is not
    a list of numbers (so a file named ``1`` does not turn ``--target 1`` into a
    file name); anything else is inline.
    """
    if _is_file(text):
        rows = read_rows(text, option=option, dtype="float64")
    else:
        rows = _parse_inline(text, option)
    return rows[0] if rows.shape[0] == 1 else rows


def _is_file(text: str) -> bool:
    if Path(text.strip()).suffix.lower().lstrip(".") in INPUT_FORMATS:
        return True
    if _looks_inline(text):
        return False
    try:
        return Path(text).is_file()
    except (OSError, ValueError):  # a name too long, a NUL byte in it
        return False


def _looks_inline(text: str) -> bool:
    cells = (c.strip() for row in text.split(ROW_SEPARATOR) for c in row.split(VALUE_SEPARATOR))
    return all(map(is_number, cells))


def _parse_inline(text: str, option: str) -> np.ndarray:
    import numpy as np

    if not text.strip():
        raise UsageError(f"{option} is empty; expected {SYNTAX}")
    rows = [row.strip() for row in text.split(ROW_SEPARATOR)]
    values: list[list[float]] = []
    for r, row in enumerate(rows, start=1):
        where = f"row {r}" if len(rows) > 1 else "the value"
        if not row:
            raise UsageError(
                f"{option} {_quote(text)}: {where} is empty; expected {SYNTAX}",
                hint="drop the extra ';'" if len(rows) > 1 else None,
            )
        values.append([_number(text, option, r, c, cell, len(rows)) for c, cell in _cells(row)])
        _check_width(text, option, values)
    if len(values) * len(values[0]) > MAX_SIZE:  # pragma: no cover - argv cannot be this long
        raise UsageError(f"{option}: more than {MAX_SIZE:,} values")
    return np.array(values, dtype=np.float64)


def _cells(row: str) -> list[tuple[int, str]]:
    return [(c, cell.strip()) for c, cell in enumerate(row.split(VALUE_SEPARATOR), start=1)]


def _number(text: str, option: str, row: int, col: int, cell: str, rows: int) -> float:
    """One finite float64 from ``cell``; the message says where it is in ``text``."""
    where = f"row {row}, value {col}" if rows > 1 else f"value {col}"
    prefix = f"{option} {_quote(text)}: {where}"
    if not is_number(cell):
        what = "an empty value" if not cell else repr(cell[:SHOWN])
        hint = "separate values with ','" if " " in cell or "\t" in cell else None
        if re.fullmatch(r"\.[A-Za-z]\w*", Path(cell).suffix):  # data.txt: a file, misnamed
            hint = "a file must end in .csv or .npy"
        raise UsageError(f"{prefix}: {what} is not a number; expected {SYNTAX}", hint=hint)
    value = float(cell)
    if not math.isfinite(value):
        if cell.lower().lstrip("+-") in ("nan", "inf", "infinity"):
            raise UsageError(f"{prefix}: {cell} is not finite; values must be finite numbers")
        raise UsageError(
            f"{prefix}: {cell[:SHOWN]} does not fit in float64 "
            f"(largest magnitude {FLOAT64_MAX:.4g}); values must be finite numbers"
        )
    return value


def _check_width(text: str, option: str, values: list[list[float]]) -> None:
    """The row just parsed has as many values as the first: a table, not a ragged list."""
    width, last = len(values[0]), len(values[-1])
    if last != width:
        raise UsageError(
            f"{option} {_quote(text)}: row {len(values)} has {_count(last)} but row 1 has "
            f"{width}; every row needs the same number of values"
        )


def _quote(text: str) -> str:
    shown = text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"
    return f'"{shown}"'


def _count(values: int) -> str:
    return f"{values} value" if values == 1 else f"{values} values"
