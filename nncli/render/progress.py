"""A rich progress bar on stderr, shown only when stderr is a terminal that wants one."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator

from nncli.render.console import no_color, stderr_console, stderr_is_terminal

# step(done, total) or step(done, total, note): the note (e.g. "loss 0.31 · acc 92%")
# is shown after the description.
Step = Callable[..., None]


def progress_enabled() -> bool:
    """A bar redraws itself with cursor-control codes: only on a real terminal, and
    not under NO_COLOR or TERM=dumb, where any escape code is unwanted."""
    if os.environ.get("TERM") == "dumb" or no_color():
        return False
    return stderr_is_terminal()


@contextlib.contextmanager
def progress(description: str) -> Iterator[Step | None]:
    """Yield a ``step(done, total)`` callback, or None when no bar is shown."""
    if not progress_enabled():
        yield None
        return
    from rich.progress import Progress

    # refresh_per_second throttles redraws, so a fast loop is not slowed by the bar.
    with Progress(console=stderr_console(), transient=True, refresh_per_second=8) as bar:
        task = bar.add_task(description, total=None)

        def step(done: int, total: int, note: str | None = None) -> None:
            if note is None:
                bar.update(task, completed=done, total=total)
            else:
                bar.update(task, completed=done, total=total, description=f"{description} {note}")

        yield step
