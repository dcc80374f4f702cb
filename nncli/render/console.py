"""Rich consoles for stdout (results) and stderr (progress, warnings, errors).

Rich already emits no ANSI codes when the stream is not a terminal, honours
``NO_COLOR`` and takes the width from ``COLUMNS``; these factories only make
sure a console is created per call, against the current ``sys.stdout``.
"""

from __future__ import annotations

import os
import sys

from rich.console import Console


def _color_system() -> str | None:
    return None if os.environ.get("NO_COLOR") else "auto"


def stdout_console() -> Console:
    return Console(file=sys.stdout, color_system=_color_system(), highlight=False)  # type: ignore[arg-type]


def stderr_console() -> Console:
    return Console(file=sys.stderr, color_system=_color_system(), highlight=False)  # type: ignore[arg-type]


def warn(message: str) -> None:
    """A warning on stderr; never on stdout, so ``--json`` stays one document."""
    stderr_console().print(f"[yellow]Warning:[/yellow] {message}", markup=True, soft_wrap=True)


def info(message: str) -> None:
    stderr_console().print(message, markup=False, soft_wrap=True)


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty()
