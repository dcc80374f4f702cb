"""Atomic file output: write a temp file beside the target, then rename it.

A failed or interrupted run never leaves a half-written file behind.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from nncli.errors import RuntimeFailure, UsageError


def check_output_path(path: str | os.PathLike[str], extensions: Iterable[str]) -> Path:
    """Validate an output path up front, before any work is done.

    An unknown extension is a usage error (exit 2); a missing or unwritable
    directory is a runtime failure (exit 1). Both name the path.
    """
    target = Path(path)
    allowed = tuple(extensions)
    ext = target.suffix.lower().lstrip(".")
    if ext not in allowed:
        shown = f"'.{ext}'" if ext else "no extension"
        raise UsageError(
            f"output {str(target)!r} has {shown}; supported: {', '.join('.' + e for e in allowed)}"
        )
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise RuntimeFailure(
            f"cannot write {str(target)!r}: directory {str(folder)!r} does not exist"
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise RuntimeFailure(
            f"cannot write {str(target)!r}: directory {str(folder)!r} is not writable"
        )
    if target.is_dir():
        raise RuntimeFailure(f"cannot write {str(target)!r}: it is a directory")
    return target


def atomic_write(path: str | os.PathLike[str], write: Callable[[str], None]) -> Path:
    """Call ``write(tmp_path)`` then atomically move the temp file onto ``path``."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp" + target.suffix, dir=folder)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target
