"""The Typer app: registers the commands, the global options, and maps errors to exit codes.

This module is imported on every ``nncli`` invocation, including each Tab press
of shell completion, so it must not import torch or matplotlib (a test checks).
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from nncli import __version__
from nncli.commands import activations, init_stats, loss, plot, run, summary, train
from nncli.errors import ExitCode, NncliError, RuntimeFailure, UsageError, closest

# typer >= 0.2x vendors click as typer._click; older releases use click itself.
try:
    _click: Any = importlib.import_module("typer._click")
except ImportError:  # pragma: no cover - depends on the installed typer
    _click = importlib.import_module("click")
cx = _click.exceptions


class _State:
    debug = False


DEBUG_ENV = "NNCLI_DEBUG"
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")


def env_flag(name: str) -> bool:
    """A boolean NNCLI_* variable: 1/true/yes/on or 0/false/no/off (any case), else exit 2."""
    value = os.environ.get(name, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise UsageError(
        f"{name}: {os.environ[name]!r} is not a boolean; "
        f"use one of {', '.join(_TRUE)} or {', '.join(v for v in _FALSE if v)}"
    )


def _check_environment() -> None:
    """Every NNCLI_* variable is validated on every command, so a bad value is an
    error (exit 2, naming it) even where the command would not have used it."""
    from nncli.core.device import request_from
    from nncli.core.memory import memory_limit
    from nncli.render.figures import resolve_language

    memory_limit()
    request_from(None)
    resolve_language(None)


def _check_streams() -> None:
    """A closed stdout (``nncli summary >&-``) is a clear failure, not an AttributeError."""
    if sys.stdout is None or getattr(sys.stdout, "closed", False):
        raise RuntimeFailure("standard output is closed; nothing could be printed")


def _print_error(message: str, hint: str | None = None) -> None:
    text = f"Error: {message}"
    if hint:
        text += f"\n  Hint: {hint}"
    if sys.stderr is None or getattr(sys.stderr, "closed", False):
        return  # nowhere to say it; the exit code still does
    typer.echo(text, err=True)


class NncliGroup(TyperGroup):
    """The one place where every failure becomes ``Error: ...`` and an exit code."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            _State.debug = env_flag(DEBUG_ENV)
            _check_streams()
            rv = super().main(
                args=args,
                prog_name=prog_name,
                complete_var=complete_var,
                standalone_mode=False,
                **extra,
            )
        except NncliError as exc:
            if _State.debug:
                traceback.print_exc()
            _print_error(exc.message, exc.hint)
            sys.exit(exc.exit_code)
        except cx.NoArgsIsHelpError as exc:
            typer.echo(exc.ctx.get_help() if exc.ctx else exc.format_message())
            sys.exit(ExitCode.USAGE)
        except cx.UsageError as exc:
            _print_usage_error(exc)
        except cx.ClickException as exc:
            _print_error(exc.format_message())
            sys.exit(exc.exit_code)
        except (typer.Abort, KeyboardInterrupt) as exc:
            if isinstance(exc.__cause__, EOFError):  # click turns EOFError into Abort too
                _print_error(
                    f"unexpected end of input: {exc.__cause__ or 'EOFError'}",
                    None if _State.debug else "run with --debug for the traceback",
                )
                sys.exit(ExitCode.FAILURE)
            typer.echo("\nError: interrupted", err=True)
            sys.exit(ExitCode.INTERRUPTED)
        except typer.Exit as exc:
            sys.exit(exc.exit_code)
        except BrokenPipeError:  # `nncli ... | head`: not an error worth a message
            sys.stderr.close()
            sys.exit(ExitCode.FAILURE)
        except OSError as exc:  # the environment failed, e.g. stdout on a full disk
            if _State.debug:
                traceback.print_exc()
            where = f" ({exc.filename})" if exc.filename else ""
            _print_error(f"input/output failed{where}: {exc.strerror or exc}")
            sys.exit(ExitCode.FAILURE)
        except MemoryError:
            _print_error("out of memory; try a smaller --batch, fan or config")
            sys.exit(ExitCode.FAILURE)
        except Exception as exc:  # a bug or an environment failure: say so, briefly
            if _State.debug:
                traceback.print_exc()
            _print_error(
                f"{type(exc).__name__}: {exc}",
                None if _State.debug else "run with --debug for the traceback",
            )
            sys.exit(ExitCode.FAILURE)
        if rv == ExitCode.INTERRUPTED:  # typer turns Ctrl-C into Exit(130)
            typer.echo("\nError: interrupted", err=True)
        if isinstance(rv, int) and not isinstance(rv, bool) and rv != 0:
            sys.exit(rv)  # Exit(n) raised inside a command comes back as a return value
        if standalone_mode:
            sys.exit(ExitCode.OK)
        return rv

    def resolve_command(self, ctx: Any, args: list[str]) -> tuple[Any, Any, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except cx.UsageError as exc:
            name = args[0] if args else ""
            guess = closest(name, self.list_commands(ctx))
            if guess and "did you mean" not in exc.message.lower():
                exc.message = f"{exc.message} Did you mean {guess!r}?"
            raise


def _print_usage_error(exc: Any) -> None:
    message = exc.format_message()
    ctx = exc.ctx
    hint = f"try '{ctx.command_path} --help'" if ctx is not None else None
    _print_error(message, hint)
    sys.exit(ExitCode.USAGE)


app = typer.Typer(
    cls=NncliGroup,
    name="nncli",
    help=(
        "Make the building blocks of a neural network visible and checkable: activation "
        "functions and their derivatives, weight-initialisation schemes, a feed-forward "
        "model's structure, parameters and forward pass, loss functions, and training on "
        "toy data where these lessons become visible.\n\n"
        "Exit codes: 0 success, 1 runtime failure, 2 usage error, 130 interrupted."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode=None,  # plain click help: rich help rendering costs ~250 ms per call
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"nncli {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", "-V", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
    debug: Annotated[
        bool,
        typer.Option("--debug", help="Show tracebacks for errors (also NNCLI_DEBUG=1)."),
    ] = False,
) -> None:
    """Global options apply to every command: `nncli --debug summary`."""
    if debug:
        _State.debug = True
    _check_environment()


app.command("summary")(summary.summary)
app.command("run")(run.run)
app.command("plot")(plot.plot)
app.command("activations")(activations.activations)
app.command("init-stats")(init_stats.init_stats)
app.command("loss")(loss.loss)
app.command("losses")(loss.losses)
app.command("train")(train.train)


def main() -> None:
    """Console-script entry point."""
    app(prog_name="nncli")
