"""Every console example in README.md and docs/ reproduces exactly.

An example is a ``$ nncli ...`` line in a ```` ```console ```` block and the lines
under it (the format is described in docs/make_docs.py). Each runs in-process at 80
columns with colour off, in an empty temporary folder; blocks fenced
```` ```console slow ```` are marked slow. When the program's output changes on
purpose, rewrite them all with ``python docs/make_docs.py --examples``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import docs_generator

ROOT = Path(__file__).resolve().parents[1]


docs = docs_generator()
EXAMPLES = docs.all_examples()


@pytest.mark.parametrize(
    "example",
    [pytest.param(e, id=e.id, marks=[pytest.mark.slow] if e.slow else []) for e in EXAMPLES],
)
def test_example_reproduces(example) -> None:  # type: ignore[no-untyped-def]
    problem = docs.check_example(example)
    assert problem is None, (
        f"{example.id}: $ {example.text}\n{problem}\n"
        "if the change is intended: python docs/make_docs.py --examples"
    )


def test_every_command_has_an_example() -> None:
    """Each command's page, and the README, show the command running."""
    by_page: dict[str, set[str]] = {}
    for example in EXAMPLES:
        name = docs.parse_command(example.text).args[0]
        by_page.setdefault(str(example.path.relative_to(ROOT)), set()).add(name)
    for name in docs.command_names():
        assert name in by_page.get("README.md", set()), f"README.md has no example of {name}"
        page = f"docs/commands/{name}.md"
        assert name in by_page.get(page, set()), f"{page} has no example of {name}"


def test_parse_command() -> None:
    command = docs.parse_command("nncli summary --max-params 20   # exit 1: over budget")
    assert (command.args, command.exit_code, command.pipe) == (
        ["summary", "--max-params", "20"],
        1,
        None,
    )
    command = docs.parse_command("nncli loss mse --pred '1,2 # 3' --target 0 | head -n 4")
    assert command.args == ["loss", "mse", "--pred", "1,2 # 3", "--target", "0"]
    assert command.pipe == ("head", 4)
    with pytest.raises(SystemExit):
        docs.parse_command("nncli losses | grep mse")
    with pytest.raises(SystemExit):
        docs.parse_command("python -m nncli losses")


def test_blocks_parse_continuations_and_output(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "text\n\n  ```console slow\n  $ nncli run \\\n      --seed 1\n  out 1\n\n  out 2\n"
        "  $ nncli losses | tail -1\n  last\n  ```\n\n```bash\n$ nncli not-run\n```\n",
        encoding="utf-8",
    )
    (block,) = docs.parse_blocks(page)
    first, second = block.examples
    assert first.text == "nncli run --seed 1" and first.slow and first.line == 4
    assert first.expected == ["out 1", "", "out 2"]
    assert second.text == "nncli losses | tail -1" and second.expected == ["last"]


def test_regeneration_rewrites_outputs_in_place(tmp_path: Path) -> None:
    """``make_docs.py --examples`` keeps the commands, the indentation and the prose, and
    replaces each output with what the command prints now."""
    page = tmp_path / "page.md"
    page.write_text(
        "Intro.\n\n- item:\n\n  ```console\n  $ nncli plot sigmod   # exit 2\n  stale\n"
        "  $ nncli losses | head -1\n  ```\n\nAfter.\n",
        encoding="utf-8",
    )
    assert docs.regenerate_examples(page) == 2
    text = page.read_text(encoding="utf-8")
    assert text.startswith("Intro.\n\n- item:\n\n  ```console\n  $ nncli plot sigmod   # exit 2\n")
    assert "  Error: unknown activation 'sigmod'" in text and "stale" not in text
    assert "  $ nncli losses | head -1\n  16 losses" in text
    assert text.endswith("  ```\n\nAfter.\n")
    (block,) = docs.parse_blocks(page)
    assert all(docs.check_example(example) is None for example in block.examples)
    assert docs.regenerate_examples(page) == 0
