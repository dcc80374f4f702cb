"""The numbers of ``nncli loss NAME --pred ... --target ...``: inline text or a file.

A value is inline (``"0.2,0.7,0.1"``; rows separated by ``;``, spaces allowed)
or a .csv / .npy file, read by the same reader as ``run --input`` so both
commands refuse the same bad files with the same messages. Every problem is a
usage error that names the option, the value and the rule.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from nncli.core.inputs import (
    INPUT_FORMATS,
    ROW_SEPARATOR,
    VALUE_SEPARATOR,
    is_number,
    parse_inline,
    read_rows,
)

if TYPE_CHECKING:
    import numpy as np

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
        rows = parse_inline(text, option, SYNTAX, files=True)
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
