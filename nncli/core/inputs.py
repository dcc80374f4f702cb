"""User-supplied input rows for ``nncli run --input`` (.csv or .npy).

Every problem with a file is a usage error (exit 2) that names the file, and,
for a bad value, where it is: the line and column of a CSV, the row and column
of a .npy array. Nothing from numpy or the file system reaches the user raw.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING

from nncli.core.memory import FLOAT32, ensure_fits
from nncli.errors import UsageError
from nncli.limits import MAX_SIZE

if TYPE_CHECKING:
    import numpy as np

INPUT_FORMATS = ("csv", "npy")
NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"  # what np.savez writes: an .npz archive, not an array
FLOAT32_MAX = 2.0**128 - 2.0**104  # float32's largest finite value
# Integer and floating dtypes convert to float32 exactly or by rounding; bool,
# complex, strings, dates, objects and records are not rows of numbers.
NUMERIC_KINDS = "iuf"
# A CSV cell is an ASCII decimal number. float() alone would also take "1_000",
# "١" (Arabic-Indic one) and surrounding whitespace of any script.
_NUMBER = re.compile(
    r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|nan|inf|infinity)",
    re.IGNORECASE,
)

# (row index, column index) -> ("line 3, column 2", the value as written, if known)
Locate = Callable[[int, int], tuple[str, str | None]]


def load_rows(path: str, features: int) -> np.ndarray:
    """A float32 ``(rows, features)`` array of finite values; every problem names the file."""
    source = Path(path)
    ext = source.suffix.lower().lstrip(".")
    if ext not in INPUT_FORMATS:
        raise UsageError(
            f"--input {path}: unsupported format {source.suffix or '(none)'!r}; use .csv or .npy"
        )
    _check_file(source)
    locate: Locate = _npy_location
    try:
        if ext == "npy":
            data = _read_npy(source, features)
        else:
            data, locate = _read_csv(source, features)
    except OSError as exc:  # permissions, a file that vanished, an I/O error
        raise _error(source, f"cannot be read ({exc.strerror or exc})") from exc
    return _as_float32(source, data, locate)


def _check_file(source: Path) -> None:
    try:
        exists, is_file = source.exists(), source.is_file()
    except (OSError, ValueError) as exc:  # a name too long, a NUL byte in it
        raise _error(source, f"cannot be opened ({getattr(exc, 'strerror', None) or exc})") from exc
    if not exists:
        raise _error(source, "no such file")
    if not is_file:
        raise _error(source, "is not a regular file (a directory?)")


def _error(source: Path, message: str) -> UsageError:
    return UsageError(f"--input {source}: {message}")


def _check_width(source: Path, where: str, values: int, features: int) -> None:
    if values != features:
        raise _error(
            source,
            f"{where} has {values} values but the model takes {features} input features",
        )


def _check_rows(source: Path, rows: int) -> None:
    if rows == 0:
        raise _error(source, "contains no rows")
    if rows > MAX_SIZE:
        raise _error(source, f"has {rows:,} rows; at most {MAX_SIZE:,} can be run at once")


def _as_float32(source: Path, data: np.ndarray, locate: Locate) -> np.ndarray:
    """``data`` as float32, refusing NaN, inf and values that overflow float32.

    float32 is what the model computes in; numpy would turn 1e300 into inf with
    only a RuntimeWarning, so overflow is refused like a non-finite value.
    """
    import numpy as np

    with np.errstate(over="ignore", invalid="ignore"):
        converted = data.astype(np.float32, order="C", copy=False)
    bad = np.argwhere(~np.isfinite(converted))
    if bad.size:
        row, col = (int(v) for v in bad[0])
        value = data[row, col]
        where, text = locate(row, col)
        if np.isfinite(value) or (text is not None and _spelled_finite(text)):
            raise _error(
                source,
                f"{where}: {text or format(value, 'g')} does not fit in float32 "
                f"(largest magnitude {FLOAT32_MAX:.4g}); inputs must be finite float32 numbers",
            )
        raise _error(
            source, f"{where}: {text or value} is not finite; inputs must be finite numbers"
        )
    return converted


# --- .npy -------------------------------------------------------------------


def _npy_location(row: int, col: int) -> tuple[str, str | None]:
    return f"row {row + 1}, column {col + 1}", None


def _read_npy(source: Path, features: int) -> np.ndarray:
    """Check the magic, header, dtype and shape before numpy reads any data."""
    import numpy as np

    with source.open("rb") as f:
        shape, dtype = _npy_header(source, f)
        rows = 1 if len(shape) == 1 else shape[0]
        _check_rows(source, rows)
        _check_width(source, "each row" if rows > 1 else "the row", shape[-1], features)
        count = rows * features
        data_start = f.tell()
        size = source.stat().st_size
        if size - data_start < count * dtype.itemsize:
            raise _error(
                source,
                f"is truncated: its header promises {count * dtype.itemsize:,} bytes of "
                f"{dtype} data, the file holds {max(size - data_start, 0):,}",
            )
        # The array as stored plus its float32 copy, before numpy allocates either.
        ensure_fits(
            count * (dtype.itemsize + FLOAT32), "cpu", f"reading --input {source} ({rows:,} rows)"
        )
        f.seek(0)
        try:
            data = np.lib.format.read_array(f, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise _error(source, f"not a valid .npy array ({exc})") from exc
    return data.reshape(rows, features)


def _npy_header(source: Path, f: IO[bytes]) -> tuple[tuple[int, ...], np.dtype]:
    import numpy as np

    magic = f.read(len(NPY_MAGIC) + 2)
    if not magic:
        raise _error(source, "empty file (0 bytes); expected a .npy array written by numpy.save")
    if magic.startswith(ZIP_MAGIC):
        raise _error(
            source,
            "not a .npy file: it is a zip archive (.npz, from numpy.savez); "
            "save one array with numpy.save",
        )
    if len(magic) < len(NPY_MAGIC) + 2 or not magic.startswith(NPY_MAGIC):
        raise _error(source, "not a .npy file (it does not start with numpy's magic string)")
    version = (magic[-2], magic[-1])
    readers = {
        (1, 0): np.lib.format.read_array_header_1_0,
        (2, 0): np.lib.format.read_array_header_2_0,
    }
    if version not in readers:
        raise _error(source, f"unsupported .npy format version {version[0]}.{version[1]}")
    try:
        shape, _fortran, dtype = readers[version](f)
    except (ValueError, OSError, EOFError, SyntaxError) as exc:
        raise _error(source, f"not a valid .npy header ({exc})") from exc
    if dtype.kind not in NUMERIC_KINDS or dtype.names is not None or dtype.hasobject:
        raise _error(source, f"expected real numbers, got dtype {dtype}")
    if any(int(n) < 0 for n in shape):
        raise _error(source, f"not a valid .npy header (negative shape {list(shape)})")
    if len(shape) not in (1, 2):
        raise _error(source, f"expected a 1-D row or a 2-D array of rows, got shape {list(shape)}")
    return tuple(int(n) for n in shape), dtype


# --- .csv -------------------------------------------------------------------


def _read_csv(source: Path, features: int) -> tuple[np.ndarray, Locate]:
    """Comma-separated numbers, one row per line; blank lines and ``#`` comments skipped.

    A first line with no number in it is a header. Values are gathered in a
    compact ``array`` (8 bytes each), not in Python lists (about 32 bytes each).
    """
    import numpy as np

    values = array("d")
    lines = array("q")  # the file line of each row, for messages
    header: int | None = None
    try:
        # utf-8-sig drops a byte-order mark; newline=None takes \n, \r\n and \r.
        with source.open(encoding="utf-8-sig", newline=None) as f:
            for number, line in enumerate(f, start=1):
                text = line.strip()
                if not text or text.startswith("#"):
                    continue
                cells = [c.strip() for c in text.split(",")]
                if not lines and header is None and not any(map(_NUMBER.fullmatch, cells)):
                    header = number
                    continue
                _check_width(source, f"line {number}", len(cells), features)
                values.extend(_parse_cells(source, number, cells))
                lines.append(number)
                _check_rows(source, len(lines))
    except UnicodeDecodeError as exc:
        raise _error(source, f"is not UTF-8 text (byte {exc.start:,}: {exc.reason})") from exc
    if not lines:
        found = f" (line {header} is taken as a header)" if header is not None else ""
        raise _error(source, f"contains no rows{found}")
    data = np.frombuffer(values, dtype=np.float64).reshape(len(lines), features)

    def locate(row: int, col: int) -> tuple[str, str | None]:
        return f"line {lines[row]}, column {col + 1}", _cell(source, lines[row], col)

    return data, locate


def _parse_cells(source: Path, number: int, cells: list[str]) -> list[float]:
    row = []
    for col, cell in enumerate(cells, start=1):
        if _NUMBER.fullmatch(cell) is None:
            what = "an empty cell" if not cell else f"{cell[:40]!r}"
            raise _error(source, f"line {number}, column {col}: {what} is not a number")
        row.append(float(cell))
    return row


def _spelled_finite(text: str) -> bool:
    """A number written with digits (1e400, which parses as inf), not nan or inf."""
    return text.lower().lstrip("+-") not in ("nan", "inf", "infinity")


def _cell(source: Path, line: int, col: int) -> str:
    """The text of one cell, read again for a message (1e400 reads as inf)."""
    with source.open(encoding="utf-8-sig", newline=None) as f:
        for number, text in enumerate(f, start=1):
            if number == line:
                return text.strip().split(",")[col].strip()[:40]
    return "?"  # pragma: no cover - the file changed while it was read
