"""The CLI contract: version, help, exit codes, error format, --debug, Ctrl-C, no ANSI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from nncli import __version__
from nncli.cli import COMMANDS, app, command

WIDE_COMMANDS = [
    "summary",
    "run",
    "draw",
    "plot",
    "activations",
    "init-stats",
    "loss",
    "losses",
    "train",
]


def test_version(cli) -> None:
    out = cli("--version")
    assert (out.exit_code, out.stdout.strip()) == (0, f"nncli {__version__}")


def test_help_lists_every_command_without_ansi(cli) -> None:
    out = cli("--help")
    assert out.exit_code == 0
    assert "\x1b[" not in out.stdout
    for name in COMMANDS:
        assert name in out.stdout
    for name in COMMANDS:
        sub = cli(name, "--help")
        assert sub.exit_code == 0, name
        assert "--json" in sub.stdout, f"{name} lacks --json"


def test_the_table_holds_every_command_in_order() -> None:
    assert list(COMMANDS) == WIDE_COMMANDS


@pytest.mark.parametrize("name", list(COMMANDS))
def test_the_tables_short_help_is_the_docstrings_first_sentence(name: str) -> None:
    """--help lists commands from the table without importing them: it must not drift."""
    from typer._click.utils import make_default_short_help

    built = command(name)
    assert built.name == name
    assert built.short_help is None  # the command's own --help shows its whole docstring
    assert COMMANDS[name][2] == make_default_short_help(built.help or "", 10**6)


@pytest.mark.parametrize("columns", ["40", "60", "80", "100", "200"])
def test_help_lists_commands_as_click_would_from_the_commands(cli, columns: str) -> None:
    """The lazy Commands section is the one click writes from the imported commands."""
    import typer

    lazy = cli("--help", env={"COLUMNS": columns})
    eager = typer.Typer(rich_markup_mode=None, add_completion=False)
    for name, (module, function, _short) in COMMANDS.items():
        eager.command(name)(getattr(__import__(module, fromlist=[function]), function))
    eager.callback()(lambda: None)
    plain = CliRunner().invoke(eager, ["--help"], env={"COLUMNS": columns, "NO_COLOR": "1"})
    section = plain.stdout[plain.stdout.index("Commands:") :]
    assert lazy.stdout[lazy.stdout.index("Commands:") :] == section


def test_an_unknown_command_imports_nothing_and_none_is_returned() -> None:
    from nncli.cli import NncliGroup

    assert NncliGroup().get_command(None, "no-such") is None  # type: ignore[arg-type]


def test_no_arguments_shows_help_and_exits_2(cli) -> None:
    out = cli()
    assert out.exit_code == 2
    assert "Usage:" in out.stdout


def test_unknown_command_suggests_the_closest(cli) -> None:
    out = cli("summry")
    assert out.exit_code == 2
    assert out.stderr.startswith("Error: No such command 'summry'. Did you mean 'summary'?")


def test_unknown_option_is_a_usage_error(cli) -> None:
    out = cli("summary", "--bogus")
    assert out.exit_code == 2
    assert "Error: No such option: --bogus" in out.stderr
    assert "nncli summary --help" in out.stderr
    assert "Traceback" not in out.stderr


def test_debug_shows_the_traceback_of_a_user_error(cli) -> None:
    quiet = cli("summary", "--config", "nope")
    loud = cli("--debug", "summary", "--config", "nope")
    assert quiet.exit_code == loud.exit_code == 2
    assert "Traceback" not in quiet.stderr
    assert "Traceback" in loud.stderr
    assert "Error: config 'nope'" in loud.stderr
    env = cli("summary", "--config", "nope", env={"NNCLI_DEBUG": "1"})
    assert "Traceback" in env.stderr


def test_ctrl_c_exits_130(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    import nncli.core.model.summarize as summary_module

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(summary_module, "summarize_spec", interrupted)
    out = cli("summary")
    assert out.exit_code == 130
    assert "Error: interrupted" in out.stderr


def test_an_unexpected_failure_is_exit_1_without_traceback(
    cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nncli.core.model.summarize as summary_module

    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("boom")

    monkeypatch.setattr(summary_module, "summarize_spec", broken)
    out = cli("summary")
    assert out.exit_code == 1
    assert out.stderr.startswith("Error: ValueError: boom")
    assert "--debug" in out.stderr and "Traceback" not in out.stderr
    assert "Traceback" in cli("--debug", "summary").stderr


def test_memory_error_is_a_runtime_failure(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    import nncli.core.model.forward as forward_module

    def oom(*args: object, **kwargs: object) -> None:
        raise MemoryError

    monkeypatch.setattr(forward_module, "run_forward", oom)
    out = cli("run")
    assert out.exit_code == 1
    assert "Error: out of memory" in out.stderr


@pytest.mark.parametrize("command", [["summary"], ["run"]])
def test_json_is_exactly_one_document_on_stdout(cli, command: list[str]) -> None:
    out = cli(*command, "--json")
    assert out.exit_code == 0
    doc = json.loads(out.stdout)  # raises if anything else is on stdout
    assert doc["schema_version"] == 1
    assert doc["command"] == command[0]
    assert out.stdout.count("\n") == 1


def test_python_dash_m_is_the_same_program() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "nncli", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == f"nncli {__version__}"


def test_prog_name_in_usage_is_nncli() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "nncli", "summary", "--bogus"],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert out.returncode == 2
    assert "nncli summary --help" in out.stderr


def test_typer_app_object_is_importable() -> None:
    assert app.info.name == "nncli"


def test_colour_only_on_request_and_never_with_no_color(cli) -> None:
    forced = cli("summary", env={"NO_COLOR": None, "FORCE_COLOR": "1", "TTY_COMPATIBLE": "1"})
    assert forced.exit_code == 0
    assert "\x1b[" in forced.stdout  # a terminal would get styles...
    plain = cli("summary", env={"NO_COLOR": "1", "FORCE_COLOR": "1"})
    assert "\x1b[" not in plain.stdout  # ...but NO_COLOR wins
    piped = cli("summary", env={"NO_COLOR": None})
    assert "\x1b[" not in piped.stdout  # and a pipe never gets them
