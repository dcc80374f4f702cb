"""The one reader of the user's numbers in .csv and .npy files: rows for ``nncli run
--input``, ``nncli loss --pred/--target`` and ``nncli train --data`` (:func:`read_rows`,
:func:`read_header`), and the .npy arrays of ``--model --input`` (:func:`npy_header`,
:func:`load_npy`).

Every problem with a file is a usage error (exit 2) that names the option and
the file, and, for a bad value, where it is: the line and column of a CSV, the
row and column of a .npy array. Nothing from numpy or the file system reaches
the user raw.
"""

from __future__ import annotations

import csv
import math
import re
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
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
FLOAT64_MAX = 1.7976931348623157e308
ROW_SEPARATOR = ";"  # between the rows of numbers given inline (parse_inline)
VALUE_SEPARATOR = ","
SHOWN = 40  # characters of a bad value quoted in a message
# The float types rows can be read as, with their itemsize and largest finite value.
FLOAT_TYPES = {"float32": (FLOAT32, FLOAT32_MAX), "float64": (8, FLOAT64_MAX)}
# Integer and floating dtypes convert to float32 exactly or by rounding; bool,
# complex, strings, dates, objects and records are not rows of numbers.
NUMERIC_KINDS = "iuf"
# A CSV cell is an ASCII decimal number. float() alone would also take "1_000",
# "١" (Arabic-Indic one) and surrounding whitespace of any script.
_NUMBER = re.compile(
    r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|nan|inf|infinity)",
    re.IGNORECASE,
)


def is_number(text: str) -> bool:
    """``text`` is one ASCII decimal number (nan and inf included), as a CSV cell must be."""
    return _NUMBER.fullmatch(text) is not None


# (row index, column index) -> ("line 3, column 2", the value as written, if known)
Locate = Callable[[int, int], tuple[str, str | None]]


def load_rows(path: str, features: int, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """A float32 ``(rows, features)`` array of finite values; every problem names the file.

    ``shape`` is the model's input shape per sample (a CNN config's ``input_shape``):
    a CSV row then holds its ``prod(shape)`` values, and a .npy may also be stored as
    ``(rows, *shape)``. The caller reshapes the rows.
    """
    return read_rows(path, option="--input", features=features, dtype="float32", shape=shape)


def read_rows(
    path: str,
    *,
    option: str,
    features: int | None = None,
    dtype: str = "float32",
    shape: tuple[int, ...] | None = None,
) -> np.ndarray:
    """A ``(rows, width)`` array of finite ``dtype`` values read from a .csv or .npy file.

    ``features`` fixes the width (a model's input features); None takes the width
    of the first row and requires every row to match it. Messages start with
    ``option`` and the path, so the user knows which of several files is wrong.
    """
    source = _Source(Path(path), option, features, shape)
    ext = source.path.suffix.lower().lstrip(".")
    if ext not in INPUT_FORMATS:
        raise source.error(
            f"unsupported format {source.path.suffix or '(none)'!r}; use .csv or .npy"
        )
    check_file(source.path, source.option)
    locate: Locate = _npy_location
    try:
        if ext == "npy":
            data = _read_npy(source, FLOAT_TYPES[dtype][0])
        else:
            data, locate = _read_csv(source)
    except OSError as exc:  # permissions, a file that vanished, an I/O error
        raise source.error(f"cannot be read ({exc.strerror or exc})") from exc
    return _as_float(source, data, locate, dtype)


@dataclass(frozen=True)
class _Source:
    """The file being read, the option that named it and the width its rows must have."""

    path: Path
    option: str
    features: int | None  # None: any width, the same for every row
    shape: tuple[int, ...] | None = None  # the model's input shape per sample, if not 1-D

    def __str__(self) -> str:
        return str(self.path)

    def error(self, message: str) -> UsageError:
        return _error(self.option, self.path, message)

    def check_width(self, where: str, values: int) -> None:
        """``values`` in a row is the model's input features; with any width, at least one."""
        if self.features is not None:
            if values != self.features and self.shape is not None and len(self.shape) > 1:
                shown = "×".join(map(str, self.shape))
                raise self.error(
                    f"{where} has {values} values but the model takes inputs of shape "
                    f"{shown} ({self.features} values per row)"
                )
            if values != self.features:
                raise self.error(
                    f"{where} has {values} values but the model takes "
                    f"{self.features} input features"
                )
        elif values == 0:
            raise self.error(f"{where} has no values")

    def check_rows(self, rows: int) -> None:
        if rows == 0:
            raise self.error("contains no rows")
        if rows > MAX_SIZE:
            raise self.error(f"has {rows:,} rows; at most {MAX_SIZE:,} can be read at once")


def _check_same_width(source: _Source, where: str, values: int, first: str, width: int) -> None:
    if values != width:
        raise source.error(
            f"{where} has {values} values but {first} has {width}; "
            "every row needs the same number of values"
        )


def _as_float(source: _Source, data: np.ndarray, locate: Locate, dtype: str) -> np.ndarray:
    """``data`` as ``dtype``, refusing NaN, inf and values that overflow it.

    ``dtype`` is what the values are computed in; numpy would turn 1e300 into inf
    in float32 with only a RuntimeWarning, so overflow is refused like a
    non-finite value.
    """
    import numpy as np

    with np.errstate(over="ignore", invalid="ignore"):
        converted = data.astype(dtype, order="C", copy=False)
    bad = np.argwhere(~np.isfinite(converted))
    if bad.size:
        row, col = (int(v) for v in bad[0])
        value = data[row, col]
        where, text = locate(row, col)
        if np.isfinite(value) or (text is not None and _spelled_finite(text)):
            largest = FLOAT_TYPES[dtype][1]
            raise source.error(
                f"{where}: {text or format(value, 'g')} does not fit in {dtype} "
                f"(largest magnitude {largest:.4g}); values must be finite {dtype} numbers"
            )
        raise source.error(f"{where}: {text or value} is not finite; values must be finite numbers")
    return converted


# --- .npy -------------------------------------------------------------------
# The one .npy reader: run --input and loss --pred (rows of numbers, through
# read_rows) and the user's own model's --input (arrays of any shape, through
# core.model.user.inputs). The header is read and checked first, so each caller's
# rules and the memory check run before numpy loads any data.


@dataclass(frozen=True)
class NpyHeader:
    """What a .npy file's header promises; the file holds all of its data."""

    shape: tuple[int, ...]
    dtype: np.dtype
    offset: int  # where the data starts

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


def check_file(path: str | Path, option: str) -> None:
    """A usage error unless ``path`` is an existing regular file."""
    file = Path(path)
    try:
        exists, is_file = file.exists(), file.is_file()
    except (OSError, ValueError) as exc:  # a name too long, a NUL byte in it
        reason = getattr(exc, "strerror", None) or exc
        raise _error(option, path, f"cannot be opened ({reason})") from exc
    if not exists:
        raise _error(option, path, "no such file")
    if not is_file:
        raise _error(option, path, "is not a regular file (a directory?)")


def npy_header(path: str | Path, option: str) -> NpyHeader:
    """The shape and dtype of a .npy file, checked, without reading its data: numpy's
    magic string and format version, a header numpy can parse, and a file long
    enough for the data the header promises. Any dtype; callers apply their own.
    Messages name ``option`` and ``path`` as given."""
    check_file(path, option)
    file = Path(path)
    try:
        with file.open("rb") as f:
            shape, dtype = _npy_header(path, option, f)
            offset = f.tell()
        size = file.stat().st_size
    except OSError as exc:  # permissions, a file that vanished, an I/O error
        raise _error(option, path, f"cannot be read ({exc.strerror or exc})") from exc
    header = NpyHeader(shape, dtype, offset)
    if size - offset < header.nbytes:
        raise _error(
            option,
            path,
            f"is truncated: its header promises {header.nbytes:,} bytes of {dtype} data, "
            f"the file holds {max(size - offset, 0):,}",
        )
    return header


def load_npy(path: str | Path, option: str) -> np.ndarray:
    """The array of a .npy file whose header :func:`npy_header` has checked."""
    import numpy as np

    try:
        with Path(path).open("rb") as f:
            return np.lib.format.read_array(f, allow_pickle=False)
    except (ValueError, EOFError) as exc:
        raise _error(option, path, f"not a valid .npy array ({exc})") from exc
    except OSError as exc:
        raise _error(option, path, f"cannot be read ({exc.strerror or exc})") from exc


def _error(option: str, path: Path | str, message: str) -> UsageError:
    return UsageError(f"{option} {path}: {message}")


def _npy_header(path: str | Path, option: str, f: IO[bytes]) -> tuple[tuple[int, ...], np.dtype]:
    import numpy as np

    magic = f.read(len(NPY_MAGIC) + 2)
    if not magic:
        raise _error(
            option, path, "empty file (0 bytes), not a .npy file; save an array with numpy.save"
        )
    if magic.startswith(ZIP_MAGIC):
        raise _error(
            option,
            path,
            "not a .npy file: it is an .npz archive (numpy.savez); save one array with numpy.save",
        )
    if len(magic) < len(NPY_MAGIC) + 2 or not magic.startswith(NPY_MAGIC):
        raise _error(option, path, "not a .npy file (it does not start with numpy's magic string)")
    version = (magic[-2], magic[-1])
    readers = {
        (1, 0): np.lib.format.read_array_header_1_0,
        (2, 0): np.lib.format.read_array_header_2_0,
    }
    if version not in readers:
        raise _error(option, path, f"unsupported .npy format version {version[0]}.{version[1]}")
    try:
        shape, _fortran, dtype = readers[version](f)
    except (ValueError, OSError, EOFError, SyntaxError) as exc:
        raise _error(option, path, f"not a valid .npy header ({exc})") from exc
    if any(int(n) < 0 for n in shape):
        raise _error(option, path, f"not a valid .npy header (negative shape {list(shape)})")
    return tuple(int(n) for n in shape), dtype


def _npy_location(row: int, col: int) -> tuple[str, str | None]:
    return f"row {row + 1}, column {col + 1}", None


def _read_npy(source: _Source, itemsize: int) -> np.ndarray:
    """Rows of real numbers from a .npy file: the header, dtype and shape are checked
    before numpy reads any data; ``itemsize`` is that of the float type the values
    will be converted to."""
    header = npy_header(source.path, source.option)
    shape, dtype = header.shape, header.dtype
    if dtype.kind not in NUMERIC_KINDS or dtype.names is not None or dtype.hasobject:
        raise source.error(f"expected real numbers, got dtype {dtype}")
    if len(shape) > 2 and source.shape is not None and len(source.shape) > 1:
        # Images stored as they are: (rows, channels, height, width).
        if tuple(shape[1:]) != source.shape:
            wanted = ", ".join(map(str, source.shape))
            raise source.error(
                f"has shape {list(shape)}, but the model takes samples of shape [{wanted}]: "
                f"expected [rows, {wanted}] or [rows, {math.prod(source.shape)}]"
            )
    elif len(shape) not in (1, 2):
        raise source.error(f"expected a 1-D row or a 2-D array of rows, got shape {list(shape)}")
    rows = 1 if len(shape) == 1 else shape[0]
    source.check_rows(rows)
    width = shape[-1] if len(shape) <= 2 else math.prod(shape[1:])
    source.check_width("each row" if rows > 1 else "the row", width)
    # The array as stored plus its float copy, before numpy allocates either.
    count = rows * width
    ensure_fits(
        count * (dtype.itemsize + itemsize),
        "cpu",
        f"reading {source.option} {source} ({rows:,} rows)",
    )
    return load_npy(source.path, source.option).reshape(rows, width)


# --- .csv -------------------------------------------------------------------
# Comma-separated, with the csv module's quoting ("1.5","2"; a header "a,b",c), one
# row per line; blank lines and # comments are skipped.


def _cells(text: str) -> list[str]:
    """The cells of one CSV line, quotes removed and whitespace stripped."""
    if '"' not in text:  # the common case, and what csv.reader gives for it
        return [cell.strip() for cell in text.split(",")]
    (cells,) = csv.reader([text], skipinitialspace=True)
    return [cell.strip() for cell in cells]


def _csv_lines(f: IO[str]) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of each line that is not blank or a ``#`` comment."""
    for number, line in enumerate(f, start=1):
        text = line.strip()
        if text and not text.startswith("#"):
            yield number, _cells(text)


def _open_text(path: Path) -> IO[str]:
    # utf-8-sig drops a byte-order mark; newline=None takes \n, \r\n and \r.
    return path.open(encoding="utf-8-sig", newline=None)


def _is_header(cells: list[str]) -> bool:
    """A first line with no number in it names the columns."""
    return not any(map(_NUMBER.fullmatch, cells))


def read_header(path: str | Path, option: str = "--data") -> tuple[int, list[str]] | None:
    """A CSV's header, which :func:`read_rows` skips: its line number and the column
    names, unquoted; None when the first line is data or the file is not a CSV."""
    file = Path(path)
    if file.suffix.lower() != ".csv":
        return None
    try:
        with _open_text(file) as f:
            for number, cells in _csv_lines(f):
                return (number, cells) if _is_header(cells) else None
    except UnicodeDecodeError as exc:
        raise _error(option, file, f"is not UTF-8 text (byte {exc.start:,}: {exc.reason})") from exc
    return None


def _read_csv(source: _Source) -> tuple[np.ndarray, Locate]:
    """Comma-separated numbers, one row per line; blank lines and ``#`` comments skipped.

    A first line with no number in it is a header. Values are gathered in a
    compact ``array`` (8 bytes each), not in Python lists (about 32 bytes each).
    """
    import numpy as np

    values = array("d")
    lines = array("q")  # the file line of each row, for messages
    header: int | None = None
    try:
        with _open_text(source.path) as f:
            for number, cells in _csv_lines(f):
                if not lines and header is None and _is_header(cells):
                    header = number
                    continue
                source.check_width(f"line {number}", len(cells))
                if lines:  # any width will do, but the same on every line
                    width = len(values) // len(lines)
                    _check_same_width(
                        source, f"line {number}", len(cells), f"line {lines[0]}", width
                    )
                values.extend(_parse_cells(source, number, cells))
                lines.append(number)
                source.check_rows(len(lines))
    except UnicodeDecodeError as exc:
        raise source.error(f"is not UTF-8 text (byte {exc.start:,}: {exc.reason})") from exc
    if not lines:
        found = f" (line {header} is taken as a header)" if header is not None else ""
        raise source.error(f"contains no rows{found}")
    data = np.frombuffer(values, dtype=np.float64).reshape(len(lines), -1)

    def locate(row: int, col: int) -> tuple[str, str | None]:
        return f"line {lines[row]}, column {col + 1}", _cell(source, lines[row], col)

    return data, locate


def _parse_cells(source: _Source, number: int, cells: list[str]) -> list[float]:
    row = []
    for col, cell in enumerate(cells, start=1):
        if _NUMBER.fullmatch(cell) is None:
            what = "an empty cell" if not cell else f"{cell[:40]!r}"
            raise source.error(f"line {number}, column {col}: {what} is not a number")
        row.append(float(cell))
    return row


def _spelled_finite(text: str) -> bool:
    """A number written with digits (1e400, which parses as inf), not nan or inf."""
    return text.lower().lstrip("+-") not in ("nan", "inf", "infinity")


def _cell(source: _Source, line: int, col: int) -> str:
    """The text of one cell, read again for a message (1e400 reads as inf)."""
    with _open_text(source.path) as f:
        for number, cells in _csv_lines(f):
            if number == line:
                return cells[col][:40]
    return "?"  # pragma: no cover - the file changed while it was read


# --- numbers given inline -------------------------------------------------------


def parse_inline(text: str, option: str, syntax: str, *, files: bool = False) -> np.ndarray:
    """Numbers given on the command line ("0.2,0.7,0.1"; rows separated by ";", spaces
    allowed) as a 2-D float64 array, by the rule a CSV cell follows (:func:`is_number`).
    Every problem names ``option``, the value and where it is; ``syntax`` says what the
    option takes; ``files``: the option takes a file too (a misnamed one gets a hint).
    Used by ``loss --pred/--target`` and ``draw --input``."""
    import numpy as np

    if not text.strip():
        raise UsageError(f"{option} is empty; expected {syntax}")
    rows = [row.strip() for row in text.split(ROW_SEPARATOR)]
    values: list[list[float]] = []
    for r, row in enumerate(rows, start=1):
        where = f"row {r}" if len(rows) > 1 else "the value"
        if not row:
            raise UsageError(
                f"{option} {_quote(text)}: {where} is empty; expected {syntax}",
                hint="drop the extra ';'" if len(rows) > 1 else None,
            )
        values.append(
            [
                _inline_number(text, option, (r, c, len(rows)), cell, syntax, files)
                for c, cell in _inline_cells(row)
            ]
        )
        _check_inline_width(text, option, values)
    if len(values) * len(values[0]) > MAX_SIZE:  # pragma: no cover - argv cannot be this long
        raise UsageError(f"{option}: more than {MAX_SIZE:,} values")
    return np.array(values, dtype=np.float64)


def _inline_cells(row: str) -> list[tuple[int, str]]:
    return [(c, cell.strip()) for c, cell in enumerate(row.split(VALUE_SEPARATOR), start=1)]


def _inline_number(
    text: str, option: str, at: tuple[int, int, int], cell: str, syntax: str, files: bool
) -> float:
    """One finite float64 from ``cell``, value ``col`` of row ``row`` of ``rows``
    (``at``); the message says where it is in ``text``."""
    row, col, rows = at
    where = f"row {row}, value {col}" if rows > 1 else f"value {col}"
    prefix = f"{option} {_quote(text)}: {where}"
    if not is_number(cell):
        what = "an empty value" if not cell else repr(cell[:SHOWN])
        hint = "separate values with ','" if " " in cell or "\t" in cell else None
        if files and re.fullmatch(r"\.[A-Za-z]\w*", Path(cell).suffix):  # data.txt, misnamed
            hint = "a file must end in .csv or .npy"
        raise UsageError(f"{prefix}: {what} is not a number; expected {syntax}", hint=hint)
    value = float(cell)
    if not math.isfinite(value):
        if cell.lower().lstrip("+-") in ("nan", "inf", "infinity"):
            raise UsageError(f"{prefix}: {cell} is not finite; values must be finite numbers")
        raise UsageError(
            f"{prefix}: {cell[:SHOWN]} does not fit in float64 "
            f"(largest magnitude {FLOAT64_MAX:.4g}); values must be finite numbers"
        )
    return value


def _check_inline_width(text: str, option: str, values: list[list[float]]) -> None:
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
