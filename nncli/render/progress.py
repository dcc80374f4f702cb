"""A rich progress bar on stderr, shown only when stderr is a terminal."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from nncli.render.console import stderr_console, stderr_is_terminal

Step = Callable[[int, int], None]  # (done, total)


@contextlib.contextmanager
def progress(description: str) -> Iterator[Step | None]:
    """Yield a ``step(done, total)`` callback, or None when stderr is not a terminal."""
    if not stderr_is_terminal():
        yield None
        return
    from rich.progress import Progress

    with Progress(console=stderr_console(), transient=True) as bar:
        task = bar.add_task(description, total=None)

        def step(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield step
