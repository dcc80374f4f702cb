"""User-supplied input rows for ``nncli run --input`` (.csv or .npy)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from nncli.errors import UsageError

if TYPE_CHECKING:
    import numpy as np

INPUT_FORMATS = ("csv", "npy")


def load_rows(path: str, features: int) -> np.ndarray:
    """A float32 ``(rows, features)`` array; every problem names the file (exit 2)."""
    import numpy as np

    source = Path(path)
    ext = source.suffix.lower().lstrip(".")
    if ext not in INPUT_FORMATS:
        raise UsageError(
            f"--input {path}: unsupported format {source.suffix or '(none)'!r}; use .csv or .npy"
        )
    if not source.is_file():
        raise UsageError(f"--input {path}: no such file")
    data = _read_npy(source) if ext == "npy" else _read_csv(source)
    if data.ndim == 1:
        data = data.reshape(1, -1)
    if data.ndim != 2:
        raise UsageError(
            f"--input {path}: expected a 2-D array of rows, got shape {list(data.shape)}"
        )
    if data.shape[0] == 0:
        raise UsageError(f"--input {path}: contains no rows")
    if data.shape[1] != features:
        raise UsageError(
            f"--input {path}: rows have {data.shape[1]} values but the model takes "
            f"{features} input features"
        )
    bad = np.argwhere(~np.isfinite(data))
    if bad.size:
        row, col = (int(v) for v in bad[0])
        raise UsageError(f"--input {path}: non-finite value at row {row + 1}, column {col + 1}")
    return data.astype(np.float32, copy=False)


def _read_npy(source: Path) -> np.ndarray:
    import numpy as np

    try:
        data = np.load(source, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise UsageError(f"--input {source}: not a valid .npy array ({exc})") from exc
    if not np.issubdtype(data.dtype, np.number) or np.iscomplexobj(data):
        raise UsageError(f"--input {source}: expected real numbers, got dtype {data.dtype}")
    return data


def _read_csv(source: Path) -> np.ndarray:
    import numpy as np

    try:
        lines = source.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--input {source}: cannot be read ({exc})") from exc
    rows: list[list[float]] = []
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        cells = [c.strip() for c in text.split(",")]
        try:
            rows.append([float(c) for c in cells])
        except ValueError:
            if not rows and number == _first_content_line(lines):
                continue  # a header row
            raise UsageError(
                f"--input {source}: line {number} is not numeric: {text[:60]!r}"
            ) from None
        if len(rows[-1]) != len(rows[0]):
            raise UsageError(
                f"--input {source}: line {number} has {len(rows[-1])} values, "
                f"the first row has {len(rows[0])}"
            )
    return np.array(rows, dtype=np.float64).reshape(len(rows), -1 if rows else 0)


def _first_content_line(lines: list[str]) -> int:
    for number, line in enumerate(lines, start=1):
        if line.strip() and not line.strip().startswith("#"):
            return number
    return 0
