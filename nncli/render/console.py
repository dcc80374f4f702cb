"""Rich consoles for stdout (results) and stderr (progress, warnings, errors).

Three rules hold for every byte nncli prints, and they are enforced here, once:

- **No markup.** Consoles are created with ``markup=False``, so a string from the
  user, a config or a library (``more than 2 std from [a, b]``) prints as it is.
  Styling goes through ``style=`` arguments and :class:`rich.text.Text`, never
  through ``[bold]...[/bold]`` in a string.
- **No ANSI off a terminal, none at all with NO_COLOR.** Rich emits no escape
  codes when the stream is not a terminal; ``color_system=None`` (NO_COLOR) drops
  every style, bold and dim included.
- **No trailing spaces off a terminal.** Rich pads table cells with spaces; when
  the output is piped, each line is right-stripped, so golden files diff cleanly.

The width comes from ``COLUMNS``, else the terminal, else 80 when piped.
"""

from __future__ import annotations

import os
import sys
from typing import IO

from rich.console import Console
from rich.text import Text


def _color_system() -> str | None:
    return None if no_color() else "auto"


def no_color() -> bool:
    """https://no-color.org: any non-empty NO_COLOR turns colour (and styles) off."""
    return bool(os.environ.get("NO_COLOR"))


class _RstripLines:
    """A text stream that drops the spaces at the end of every line it passes on.

    Whitespace at the end of a write is held back until the next write shows
    whether the line goes on (keep it) or ends (drop it).
    """

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._pending = ""

    def write(self, text: str) -> int:
        if not text:
            return 0
        lines = (self._pending + text).split("\n")
        self._pending = ""
        for line in lines[:-1]:
            self._stream.write(line.rstrip(" \t") + "\n")
        last = lines[-1]
        body = last.rstrip(" \t")
        self._pending = last[len(body) :]
        if body:
            self._stream.write(body)
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self._stream.fileno()

    @property
    def encoding(self) -> str:
        return getattr(self._stream, "encoding", None) or "utf-8"


def _console(stream: IO[str]) -> Console:
    terminal = _isatty(stream)
    out: IO[str] = stream if terminal else _RstripLines(stream)  # type: ignore[assignment]
    return Console(
        file=out,
        color_system=_color_system(),  # type: ignore[arg-type]
        highlight=False,
        markup=False,
        emoji=False,
        force_terminal=terminal or None,
    )


def _isatty(stream: IO[str] | None) -> bool:
    try:
        return bool(stream is not None and stream.isatty())
    except (ValueError, OSError):  # a closed stream
        return False


def stdout_console() -> Console:
    return _console(sys.stdout)


def stderr_console() -> Console:
    return _console(sys.stderr)


def warn(message: str) -> None:
    """A warning on stderr; never on stdout, so ``--json`` stays one document."""
    stderr_console().print(Text.assemble(("Warning:", "yellow"), " ", message), soft_wrap=True)


def info(message: str) -> None:
    stderr_console().print(message, soft_wrap=True)


def stderr_is_terminal() -> bool:
    return _isatty(sys.stderr)
