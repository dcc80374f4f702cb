"""The Typer app: the table of commands, the global options, and errors to exit codes.

This module is imported on every ``nncli`` invocation, including each Tab press
of shell completion, so it must not import torch or matplotlib (a test checks).
It imports no command module either: :data:`COMMANDS` names each command's
module, and only the module of the command that runs is imported, so
``nncli --help`` and completion cost little more than importing typer.
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from nncli import __version__
from nncli.errors import ExitCode, NncliError, RuntimeFailure, UsageError, closest

# The one table of commands, in the order --help lists them: name -> (module, function,
# short help). The short help is what --help and completion show without importing the
# module; it must be the first sentence of the function's docstring (tests/test_cli.py
# checks), so the command's own --help and the list never disagree.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "summary": (
        "nncli.commands.summary",
        "summary",
        "Summarise the model (default: the tutorial's demo): its layers and parameters.",
    ),
    "run": (
        "nncli.commands.run",
        "run",
        "Run one forward pass of the model (default: the tutorial's demo) and show the output.",
    ),
    "draw": (
        "nncli.commands.draw",
        "draw",
        "Draw the model (default: the tutorial's demo) as neurons and connections, or as blocks.",
    ),
    "plot": (
        "nncli.commands.plot",
        "plot",
        "Plot activation functions beside their derivatives and shade where gradients vanish.",
    ),
    "activations": (
        "nncli.commands.activations",
        "activations",
        "List every activation: formula, range, zero-centred, saturation, max |f′|, use, loss,"
        " init.",
    ),
    "init-stats": (
        "nncli.commands.init_stats",
        "init_stats",
        "Initialise a (fan_out, fan_in) weight with each scheme and compare it with the theory.",
    ),
    "loss": (
        "nncli.commands.loss",
        "loss",
        "Draw loss functions and their gradients, or evaluate one on your numbers.",
    ),
    "losses": (
        "nncli.commands.loss",
        "losses",
        "The catalogue of loss functions: task, what the prediction and target must be, the"
        " output activation each pairs with, and the tutorial's pairing table.",
    ),
    "train": (
        "nncli.commands.train",
        "train",
        "Train a network on toy data (as TF Playground) and show the learning, the gradients"
        " and a verdict.",
    ),
}

# typer >= 0.2x vendors click as typer._click; older releases use click itself.
try:
    _click: Any = importlib.import_module("typer._click")
except ImportError:  # pragma: no cover - depends on the installed typer
    _click = importlib.import_module("click")
cx = _click.exceptions
_completion: Any = importlib.import_module(f"{_click.__name__}.shell_completion")
_short_help: Any = importlib.import_module(f"{_click.__name__}.utils").make_default_short_help


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


def _print_traceback() -> None:
    """With --debug, the traceback of the error being handled (imported only then)."""
    if _State.debug:
        import traceback

        traceback.print_exc()


@functools.cache
def command(name: str) -> Any:
    """The click command ``name`` (a key of :data:`COMMANDS`), importing only its module.

    Built by typer from the function, exactly as ``app.command(name)(function)``
    would: a one-command Typer app without completion options gives that command.
    """
    module, function, _short = COMMANDS[name]
    single = typer.Typer(
        add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None
    )
    single.command(name)(getattr(importlib.import_module(module), function))
    return typer.main.get_command(single)


class NncliGroup(TyperGroup):
    """The one place where every failure becomes ``Error: ...`` and an exit code.

    Its commands come from :data:`COMMANDS`, imported when one runs (or its --help
    is asked for); listing them (--help, completion, "Did you mean") reads the table.
    """

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in COMMANDS:
            return None
        if cmd_name not in self.commands:
            self.commands[cmd_name] = command(cmd_name)
        return self.commands[cmd_name]

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """The Commands section of --help, as click writes it, from the table."""
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = [(name, _short_help(short, limit)) for name, (_, _, short) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def shell_complete(self, ctx: Any, incomplete: str) -> list[Any]:
        """Command names from the table, then the group's own options (as click does,
        with the short help cut at its default 45 characters)."""
        items = [
            _completion.CompletionItem(name, help=_short_help(short, 45))
            for name, (_, _, short) in COMMANDS.items()
            if name.startswith(incomplete)
        ]
        return items + _click.Command.shell_complete(self, ctx, incomplete)

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
            _print_traceback()
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
            _print_traceback()
            where = f" ({exc.filename})" if exc.filename else ""
            _print_error(f"input/output failed{where}: {exc.strerror or exc}")
            sys.exit(ExitCode.FAILURE)
        except MemoryError:
            _print_error("out of memory; try a smaller --batch, fan or config")
            sys.exit(ExitCode.FAILURE)
        except Exception as exc:  # a bug or an environment failure: say so, briefly
            _print_traceback()
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


def main() -> None:
    """Console-script entry point."""
    app(prog_name="nncli")
