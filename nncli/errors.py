"""The one error type of nncli and the exit codes it maps to.

Every user-facing failure is raised as an :class:`NncliError` (or a subclass) and
turned into ``Error: ...`` on stderr plus an exit code in exactly one place,
:func:`nncli.cli.NncliGroup.main`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class ExitCode:
    """Named exit codes: the contract with shell scripts and CI."""

    OK = 0
    FAILURE = 1  # a runtime failure: unavailable device, unwritable path, out of memory
    USAGE = 2  # a usage error: bad option, unknown name, bad config
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)


class NncliError(Exception):
    """A failure the user can act on. Never shown with a traceback (unless --debug)."""

    exit_code = ExitCode.FAILURE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if self.hint is None else f"{self.message} ({self.hint})"


class UsageError(NncliError):
    """Bad input: an unknown name, an out-of-range value, a bad config. Exit 2."""

    exit_code = ExitCode.USAGE


class RuntimeFailure(NncliError):
    """The input was fine but the run could not complete. Exit 1."""

    exit_code = ExitCode.FAILURE


def closest(name: str, choices: Iterable[str]) -> str | None:
    """The closest known name to ``name``, for "did you mean ...?" hints."""
    matches = difflib.get_close_matches(name.lower(), list(choices), n=1, cutoff=0.5)
    return matches[0] if matches else None


def unknown_name(kind: str, name: str, choices: Iterable[str]) -> UsageError:
    """A uniform "unknown X" error that names the value, suggests and lists the choices."""
    choices = sorted(choices)
    guess = closest(name, choices)
    hint = f"did you mean {guess}?" if guess else None
    return UsageError(f"unknown {kind} {name!r}; choose from: {', '.join(choices)}", hint=hint)
