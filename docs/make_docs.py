"""Regenerate the generated parts of README.md and docs/ from the program itself.

Two kinds of generated text, so the docs cannot drift from the code:

* **Regions** between ``<!-- generated: KEY -->`` and ``<!-- end generated -->``
  in any page: a command's ``--help`` (``help summary``), the lists the
  registries hold (``activations``, ``init-schemes``, ``losses``, ``optimizers``,
  ``datasets``, ``configs``), ``exit-codes`` and ``environment``. The prose around
  them is written by hand. ``tests/test_docs.py`` checks every region is current.
* **Console examples**: a fenced block opened with ```` ```console ```` (or
  ```` ```console slow ```` for one that takes more than a few seconds). Each line
  starting with ``$ nncli`` is a command (a line ending in ``\\`` continues it); the
  lines after it, up to the next ``$`` line or the fence, are what it prints: stdout
  and stderr as a terminal shows them, at 80 columns with colour off, run in an
  empty temporary folder (``tests``, ``configs`` and ``docs`` are linked into it, so
  paths such as ``tests/models/zoo.py`` work and figures land in the temporary
  folder). A command may end in ``| head -N`` or ``| tail -N`` (stdout only; stderr
  then comes first) and in a comment ``# exit N`` when it is meant to fail with N.
  ``tests/test_examples.py`` runs every example and compares its output exactly.
  Blocks that are not nncli's output use another fence (```` ```bash ````,
  ```` ```json ````, ```` ```text ````) and are not run.

Run::

    python docs/make_docs.py              # rewrite the regions (fast)
    python docs/make_docs.py --examples   # also rerun every example and rewrite its output
    python docs/make_docs.py --check      # exit 1 if a region is stale (as the test does)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shlex
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
HELP_WIDTH = "100"  # the option reference is read in a browser, not a terminal
EXAMPLE_ENV: dict[str, str | None] = {
    "COLUMNS": "80",  # the width of a pipe or a plain terminal
    "NO_COLOR": "1",
    "MPLBACKEND": "Agg",
    # The examples show what nncli does by default, whatever this machine's settings.
    "NNCLI_DEVICE": None,
    "NNCLI_LANG": None,
    "NNCLI_MEMORY_LIMIT": None,
    "NNCLI_DEBUG": None,
}
LINKED = ("tests", "configs", "docs")  # linked into each example's temporary folder


def pages() -> list[Path]:
    """Every page that may hold generated regions or examples."""
    return [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


# --------------------------------------------------------------------------- commands


def command_names() -> list[str]:
    """The CLI's commands in their --help order: the one place the docs ask the app."""
    from nncli import cli

    listed = getattr(cli, "COMMANDS", None)  # the lazy loader's public list, when present
    if isinstance(listed, dict):
        return [str(name) for name in listed]
    if listed is not None:
        return [item if isinstance(item, str) else str(item[0]) for item in listed]
    return [c.name for c in cli.app.registered_commands if c.name]


def help_text(args: list[str]) -> str:
    from typer.testing import CliRunner

    from nncli.cli import app

    result = CliRunner().invoke(
        app, [*args, "--help"], env={"COLUMNS": HELP_WIDTH, "NO_COLOR": "1"}, prog_name="nncli"
    )
    assert result.exit_code == 0, result.output
    return "\n".join(line.rstrip() for line in result.stdout.strip().splitlines())


# --------------------------------------------------------------------------- registries


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _code(text: str) -> str:
    return f"`{text}`"


def activations_table() -> str:
    from nncli.core.activation.activations import ACTIVATIONS

    rows = [
        (
            _code(a.name) + ("".join(f" ({_code(x)})" for x in a.aliases)),
            a.formula,
            a.output_range,
            a.saturates,
            a.use,
            a.init,
        )
        for a in ACTIVATIONS.values()
    ]
    return _table(("name", "f(x)", "range", "saturates", "use", "init"), rows)


def init_schemes_table() -> str:
    from nncli.core.init.inits import FAMILIES, INIT_SCHEMES

    rows = []
    for scheme in INIT_SCHEMES.values():
        options = ", ".join(
            f"`--{p.name.replace('_', '-')}`" + ("" if p.default is None else f" ({p.default})")
            for p in scheme.params
        )
        rows.append(
            (
                _code(scheme.name),
                scheme.description,
                f"`torch.nn.init.{scheme.torch_fn}`",
                options or "-",
            )
        )
    table = _table(("scheme", "what it is", "torch function", "options (default)"), rows)
    families = "; ".join(f"`{name}`: {', '.join(members)}" for name, members in FAMILIES.items())
    return f"{table}\n\nFamilies (one name for several schemes): {families}."


def losses_table() -> str:
    from nncli.core.loss.losses import LOSSES

    rows = [
        (
            _code(loss.name) + "".join(f" ({_code(x)})" for x in loss.aliases),
            f"`torch.nn.{loss.module.rsplit('.', 1)[-1]}`",
            loss.task,
            ", ".join(f"`--{p.name.replace('_', '-')}`" for p in loss.params) or "-",
            loss.pairs_with,
        )
        for loss in LOSSES.values()
    ]
    return _table(("loss", "module", "task", "parameters", "pairs with"), rows)


def optimizers_table() -> str:
    from nncli.core.train.optimizers import OPTIMIZERS

    rows = [(_code(o.name), o.description) for o in OPTIMIZERS.values()]
    return _table(("optimizer", "what it is"), rows)


def datasets_table() -> str:
    from nncli.core.train.datasets import DATASETS

    rows = [(_code(d.name), d.task, d.description) for d in DATASETS.values()]
    return _table(("dataset", "task", "the points"), rows)


def configs_table() -> str:
    import tomllib

    from nncli.core.model.config import bundled_configs, bundled_folder

    rows = []
    for name in bundled_configs():
        data = tomllib.loads((bundled_folder() / f"{name}.toml").read_text(encoding="utf-8"))
        params = summary_json(["--config", name])["total_params"]
        rows.append((_code(name), str(data.get("description", "")), f"{params:,}"))
    return _table(("config", "model", "parameters"), rows)


def summary_json(args: list[str]) -> dict[str, Any]:
    """``nncli summary ARGS --json``, through the CLI and its JSON contract."""
    from typer.testing import CliRunner

    from nncli.cli import app

    result = CliRunner().invoke(
        app, ["summary", *args, "--device", "cpu", "--json"], env=EXAMPLE_ENV, prog_name="nncli"
    )
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


EXIT_MEANINGS = {
    "OK": "success",
    "FAILURE": (
        "a runtime failure: an unavailable device, a run that would not fit in memory, an "
        "output that cannot be written (a missing or read-only directory, a name longer than the "
        "filesystem allows, `/proc`, a full disk, a closed stdout), a budget "
        "(`summary --max-params/--max-memory`) or a gate (`train --expect-accuracy/--expect-loss`) "
        "missed"
    ),
    "USAGE": "a usage error: a bad option or value, an unknown name, a bad config or input file",
    "INTERRUPTED": "interrupted (Ctrl-C, 128 + SIGINT)",
}


def exit_codes_table() -> str:
    from nncli.errors import ExitCode

    codes = {k: v for k, v in vars(ExitCode).items() if k.isupper() and isinstance(v, int)}
    missing = set(codes) - set(EXIT_MEANINGS)
    assert not missing, f"describe ExitCode.{', '.join(sorted(missing))} in EXIT_MEANINGS"
    rows = [(str(v), f"`ExitCode.{k}`", EXIT_MEANINGS[k]) for k, v in codes.items()]
    return _table(("code", "name", "meaning"), rows)


ENV_MEANINGS = {
    "NNCLI_DEVICE": "the default device (`auto`, `cpu`, `cuda`, `cuda:N`, `mps`); `--device` wins",
    "NNCLI_LANG": "the default figure language, `en` or `zh`; `--lang` wins",
    "NNCLI_DEBUG": (
        "`1`, `true`, `yes` or `on` shows tracebacks, like `--debug`; `0`, `false`, `no`, "
        "`off` or empty: off"
    ),
    "NNCLI_MEMORY_LIMIT": (
        'a memory budget for the up-front "does it fit" checks: bytes (`2000000000`) or a size '
        "with a unit, `B`, `KB`, `MB`, `GB`, `TB` (powers of 1000) or `KiB`, `MiB`, `GiB`, "
        "`TiB` (powers of 1024), any case, decimals allowed (`1.5GiB`); empty means unset"
    ),
}


def environment_variables() -> dict[str, str]:
    """Every variable the code reads, name -> where it is defined."""
    from nncli import cli
    from nncli.core import device, memory
    from nncli.render import figures

    found = {
        cli.DEBUG_ENV: "nncli/cli.py",
        device.ENV_VAR: "nncli/core/device.py",
        memory.LIMIT_ENV: "nncli/core/memory.py",
        figures.LANG_ENV: "nncli/render/figures.py",
    }
    # Any other NNCLI_* literal in the package must be documented too.
    for path in sorted((ROOT / "nncli").rglob("*.py")):
        for name in re.findall(r"\bNNCLI_[A-Z_]+[A-Z]\b", path.read_text(encoding="utf-8")):
            found.setdefault(name, str(path.relative_to(ROOT)))
    return found


def environment_table() -> str:
    found = environment_variables()
    missing = set(found) - set(ENV_MEANINGS)
    assert not missing, f"describe {', '.join(sorted(missing))} in ENV_MEANINGS"
    rows = [(_code(name), ENV_MEANINGS[name], f"`{where}`") for name, where in found.items()]
    return _table(("variable", "effect", "read in"), rows)


def region(key: str) -> str:
    """The text of the generated region ``key``."""
    kind, _, arg = key.partition(" ")
    if kind == "help":
        args = arg.split() if arg else []
        return "```text\n" + help_text(args) + "\n```"
    makers: dict[str, Callable[[], str]] = {
        "activations": activations_table,
        "init-schemes": init_schemes_table,
        "losses": losses_table,
        "optimizers": optimizers_table,
        "datasets": datasets_table,
        "configs": configs_table,
        "exit-codes": exit_codes_table,
        "environment": environment_table,
    }
    if kind == "commands":
        return "\n".join(f"- [`nncli {n}`](commands/{n}.md)" for n in command_names())
    if kind not in makers:
        raise SystemExit(f"unknown generated region {key!r}")
    return makers[kind]()


REGION = re.compile(r"(<!-- generated: (.+?) -->\n)(.*?)(<!-- end generated -->)", re.S)


def render_regions(text: str) -> str:
    return REGION.sub(lambda m: f"{m.group(1)}{region(m.group(2))}\n{m.group(4)}", text)


# --------------------------------------------------------------------------- examples

FENCE = re.compile(r"^( *)```console((?: [\w=-]+)*)\s*$")


@dataclass
class Example:
    """One ``$ nncli ...`` line of a console block and the output written under it."""

    path: Path
    line: int  # 1-based, of the ``$`` line
    command: list[str]  # the source lines of the command, continuations included
    expected: list[str]
    slow: bool = False

    @property
    def text(self) -> str:
        return " ".join(part.rstrip("\\").strip() for part in self.command)[2:]

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


@dataclass
class Block:
    path: Path
    start: int  # index of the first line inside the fence
    end: int  # index of the closing fence
    indent: str
    examples: list[Example] = field(default_factory=list)


def parse_blocks(path: Path) -> list[Block]:
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        indent, slow = match.group(1), "slow" in match.group(2).split()
        start = j = i + 1
        while j < len(lines) and lines[j].strip() != "```":
            j += 1
        block = Block(path, start, j, indent)
        body = [line.removeprefix(indent) for line in lines[start:j]]
        k = 0
        while k < len(body):
            if not body[k].startswith("$ "):
                raise SystemExit(f"{path}:{start + k + 1}: console block line before any '$ '")
            first = k
            command = [body[k]]
            while command[-1].endswith("\\") and k + 1 < len(body):
                k += 1
                command.append(body[k])
            k += 1
            out_start = k
            while k < len(body) and not body[k].startswith("$ "):
                k += 1
            block.examples.append(
                Example(path, start + first + 1, command, body[out_start:k], slow=slow)
            )
        blocks.append(block)
        i = j + 1
    return blocks


def all_examples() -> list[Example]:
    return [ex for page in pages() for block in parse_blocks(page) for ex in block.examples]


def _split_comment(text: str) -> tuple[str, str]:
    """``cmd args  # note`` -> (``cmd args``, ``note``), ignoring ``#`` inside quotes."""
    quote = ""
    for i, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or text[i - 1].isspace()):
            return text[:i].rstrip(), text[i + 1 :].strip()
    return text, ""


@dataclass
class Command:
    args: list[str]
    exit_code: int = 0
    pipe: tuple[str, int] | None = None  # ("head" | "tail", N)


def parse_command(text: str) -> Command:
    line, comment = _split_comment(text)
    words = shlex.split(line)
    pipe = None
    if "|" in words:
        at = words.index("|")
        tool = words[at + 1 :]
        if len(tool) == 3 and tool[1] == "-n":
            tool = [tool[0], "-" + tool[2]]
        if len(tool) != 2 or tool[0] not in ("head", "tail") or not tool[1][1:].isdigit():
            raise SystemExit(f"only '| head -N' or '| tail -N' may follow a command: {text}")
        pipe = (tool[0], int(tool[1][1:]))
        words = words[:at]
    if not words or words[0] != "nncli":
        raise SystemExit(f"a console example runs nncli: {text}")
    exit_code = 0
    found = re.search(r"\bexit (\d+)\b", comment)
    if found:
        exit_code = int(found.group(1))
    return Command(words[1:], exit_code, pipe)


@contextlib.contextmanager
def example_folder() -> Iterator[Path]:
    """An empty temporary working folder with the repository's inputs linked in."""
    before = Path.cwd()
    with tempfile.TemporaryDirectory(prefix="nncli-example-") as tmp:
        folder = Path(tmp)
        for name in LINKED:
            (folder / name).symlink_to(ROOT / name, target_is_directory=True)
        os.chdir(folder)
        try:
            yield folder
        finally:
            os.chdir(before)


@dataclass
class Outcome:
    exit_code: int
    lines: list[str]


def run_example(text: str) -> Outcome:
    """Run one example in-process, as the shell line would, and return its lines."""
    from typer.testing import CliRunner

    from nncli.cli import app

    command = parse_command(text)
    with example_folder():
        result = CliRunner().invoke(app, command.args, env=EXAMPLE_ENV, prog_name="nncli")
    if command.pipe is None:
        lines = result.output.splitlines()
    else:
        tool, n = command.pipe
        out = result.stdout.splitlines()
        lines = result.stderr.splitlines() + (out[:n] if tool == "head" else out[-n:])
    lines = [line.rstrip() for line in lines]
    while lines and not lines[-1]:
        lines.pop()
    return Outcome(result.exit_code, lines)


def check_example(example: Example) -> str | None:
    """None when the example reproduces, else what differs."""
    command = parse_command(example.text)
    outcome = run_example(example.text)
    problems = []
    if outcome.exit_code != command.exit_code:
        problems.append(f"exit code {outcome.exit_code}, expected {command.exit_code}")
    if outcome.lines != example.expected:
        import difflib

        diff = difflib.unified_diff(
            example.expected, outcome.lines, "documented", "now", lineterm="", n=2
        )
        problems.append("\n".join(diff))
    return "\n".join(problems) or None


def regenerate_examples(path: Path, slow: bool = True) -> int:
    """Rerun every example of ``path`` and write the outputs in place; returns the changes."""
    lines = path.read_text(encoding="utf-8").splitlines()
    changed = 0
    for block in reversed(parse_blocks(path)):  # from the end, so indices stay valid
        body: list[str] = []
        for example in block.examples:
            if example.slow and not slow:
                fresh = example.expected
            else:
                outcome = run_example(example.text)
                wanted = parse_command(example.text).exit_code
                if outcome.exit_code != wanted:
                    sys.stderr.write(
                        f"{example.id}: exit code {outcome.exit_code}, expected {wanted}:\n"
                        + "\n".join(outcome.lines)
                        + "\n"
                    )
                fresh = outcome.lines
            changed += fresh != example.expected
            body += example.command + fresh
        lines[block.start : block.end] = [(block.indent + line) if line else line for line in body]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return changed


# --------------------------------------------------------------------------- main


def stale_pages() -> list[Path]:
    return [
        p
        for p in pages()
        if render_regions(p.read_text(encoding="utf-8")) != p.read_text(encoding="utf-8")
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", action="store_true", help="also rerun every example")
    parser.add_argument("--fast", action="store_true", help="with --examples: skip slow ones")
    parser.add_argument("--check", action="store_true", help="exit 1 if a region is stale")
    parser.add_argument("files", nargs="*", type=Path, help="only these pages")
    args = parser.parse_args(argv)
    os.environ.setdefault("NO_COLOR", "1")
    targets = [p.resolve() for p in args.files] or pages()
    if args.check:
        stale = [p for p in stale_pages() if p in targets]
        for page in stale:
            sys.stdout.write(f"stale: {page.relative_to(ROOT)}\n")
        return 1 if stale else 0
    for page in targets:
        text = page.read_text(encoding="utf-8")
        fresh = render_regions(text)
        if fresh != text:
            page.write_text(fresh, encoding="utf-8")
            sys.stdout.write(f"regions rewritten: {page.relative_to(ROOT)}\n")
        if args.examples:
            changed = regenerate_examples(page, slow=not args.fast)
            if changed:
                sys.stdout.write(f"{changed} example(s) rewritten: {page.relative_to(ROOT)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
