"""Atomic file output: write a temp file beside the target, then rename it.

A failed or interrupted run never leaves a half-written file behind, and every
operating-system failure (a name too long, a read-only or virtual filesystem
such as /proc, a full disk) is a runtime failure (exit 1) naming the path.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from nncli.errors import RuntimeFailure, UsageError

# Short and fixed-length, so a legal target name never yields an illegal temp name.
TEMP_PREFIX = ".nncli-"
TEMP_SUFFIX = ".tmp"
NAME_MAX_FALLBACK = 255  # bytes; Linux, macOS and Windows filesystems


def _folder(target: Path) -> Path:
    return target.parent if str(target.parent) else Path(".")


def _cannot(target: Path, reason: str) -> RuntimeFailure:
    return RuntimeFailure(f"cannot write {str(target)!r}: {reason}")


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def _name_max(folder: Path) -> int:
    try:
        return int(os.pathconf(folder, "PC_NAME_MAX"))
    except (OSError, ValueError, AttributeError):
        return NAME_MAX_FALLBACK


def check_output_path(path: str | os.PathLike[str], extensions: Iterable[str]) -> Path:
    """Validate an output path up front, before any work is done.

    An unknown extension is a usage error (exit 2); a path that cannot be
    written is a runtime failure (exit 1). Both name the path. Writability is
    proved by creating (and removing) a temp file where the output will go.
    """
    target = Path(path)
    allowed = tuple(extensions)
    ext = target.suffix.lower().lstrip(".")
    if ext not in allowed:
        shown = f"'.{ext}'" if ext else "no extension"
        raise UsageError(
            f"output {str(target)!r} has {shown}; supported: {', '.join('.' + e for e in allowed)}"
        )
    folder = _folder(target)
    try:
        if not folder.is_dir():
            raise _cannot(target, f"directory {str(folder)!r} does not exist")
        limit = _name_max(folder)
        if len(os.fsencode(target.name)) > limit:
            raise _cannot(target, f"the file name is longer than {limit} bytes")
        if target.is_dir():
            raise _cannot(target, "it is a directory")
        _probe(folder)
    except OSError as exc:
        raise _cannot(target, _reason(exc)) from exc
    return target


def _probe(folder: Path) -> None:
    """Create and remove a temp file in ``folder``: the only reliable writability test
    (os.access says yes to root on a read-only mount or under /proc)."""
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX, dir=folder)
    os.close(fd)
    os.unlink(tmp)


def atomic_write(path: str | os.PathLike[str], write: Callable[[str], None]) -> Path:
    """Call ``write(tmp_path)`` then atomically move the temp file onto ``path``.

    ``write`` must not infer the format from the temp name's extension (it has
    none of the target's): pass the format explicitly.
    """
    target = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX, dir=_folder(target))
    except OSError as exc:
        raise _cannot(target, _reason(exc)) from exc
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise _cannot(target, _reason(exc)) from exc
        raise
    return target
