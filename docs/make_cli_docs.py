"""Regenerate docs/cli.md from the commands' own --help (the docs cannot drift).

Run: python docs/make_cli_docs.py        (tests/test_docs.py checks it is current)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

OUT = Path(__file__).with_name("cli.md")
WIDTH = "100"


def help_text(args: list[str]) -> str:
    from typer.testing import CliRunner

    from nncli.cli import app

    result = CliRunner().invoke(
        app, [*args, "--help"], env={"COLUMNS": WIDTH, "NO_COLOR": "1"}, prog_name="nncli"
    )
    assert result.exit_code == 0, result.output
    return "\n".join(line.rstrip() for line in result.stdout.strip().splitlines())


def render() -> str:
    from nncli.cli import app

    commands = [c.name for c in app.registered_commands if c.name]
    parts = [
        "# nncli command reference",
        "",
        "Generated from `--help` by `python docs/make_cli_docs.py`; do not edit by hand.",
        "",
        "## nncli",
        "",
        "```text",
        help_text([]),
        "```",
    ]
    for name in commands:
        parts += ["", f"## nncli {name}", "", "```text", help_text([name]), "```"]
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    os.environ.setdefault("NO_COLOR", "1")
    OUT.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {OUT}\n")
