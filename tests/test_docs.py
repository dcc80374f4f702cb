"""The README a newcomer reads, and the reference in docs/ generated from the program itself."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import docs_generator

ROOT = Path(__file__).resolve().parents[1]


docs = docs_generator()
README = (ROOT / "README.md").read_text(encoding="utf-8")


def read(page: str) -> str:
    return (ROOT / "docs" / page).read_text(encoding="utf-8")


def test_generated_regions_are_current() -> None:
    """--help, the registries' lists, exit codes and environment variables as the code has them."""
    stale = [str(p.relative_to(ROOT)) for p in docs.stale_pages()]
    assert not stale, f"stale generated docs in {stale}; run: python docs/make_docs.py"


def test_every_command_has_a_readme_section_and_a_page_with_its_help() -> None:
    for name in docs.command_names():
        assert f"## `nncli {name}" in README, f"README lacks a section for {name}"
        page = read(f"commands/{name}.md")
        assert f"<!-- generated: help {name} -->" in page, f"docs/commands/{name}.md lacks --help"
        assert f"(docs/commands/{name}.md)" in README, f"README does not link {name}'s page"


def test_readme_is_short() -> None:
    assert len(README.splitlines()) <= 400


def test_readme_starts_with_a_two_command_quick_start() -> None:
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```(?:bash|sh)\n(.*?)```", quick, re.S)
    assert block, "no code block in the quick start"
    commands = [line for line in block.group(1).splitlines() if line and not line.startswith("#")]
    assert len(commands) == 2
    assert "nncli summary" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_readmes_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "pytest" in ci and "ruff" in ci and "mypy" in ci


def test_every_bundled_config_is_documented() -> None:
    from nncli.core.model.config import bundled_configs

    configs = read("configs.md")
    for name in bundled_configs():
        assert f"`{name}`" in configs


def test_key_json_keys_are_documented() -> None:
    json_page = read("json.md")
    for key in ("schema_version", "total_params", "mult_adds", "memory_bytes", "predictions"):
        assert f"`{key}`" in json_page


def test_every_top_level_json_key_is_documented() -> None:
    """The keys each command really prints (cheap runs of each) are named in docs/json.md."""
    import json

    from typer.testing import CliRunner

    from nncli.cli import app

    json_page = read("json.md")
    runs = [
        ["summary", "--device", "cpu"],
        ["run", "--batch", "1", "--device", "cpu"],
        ["activations"],
        ["losses"],
        ["init-stats", "normal", "--fan-in", "4", "--fan-out", "4", "--device", "cpu"],
        ["loss", "mse", "--pred", "1,2", "--target", "0,2"],
        ["draw", "--format", "mermaid"],
    ]
    for args in runs:
        result = CliRunner().invoke(app, [*args, "--json"], env=docs.EXAMPLE_ENV)
        assert result.exit_code == 0, result.output
        for key in json.loads(result.stdout):
            assert f"`{key}`" in json_page or f'"{key}"' in json_page, (args[0], key)


def test_every_page_link_resolves() -> None:
    for page in docs.pages():
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if "://" in target:
                continue
            assert (page.parent / target).exists(), f"{page.relative_to(ROOT)}: broken {target}"


def test_every_nncli_variable_is_documented() -> None:
    """Every NNCLI_* name in the package is in the generated table (the generator asserts a
    description for each)."""
    table = docs.environment_table()
    for name in docs.environment_variables():
        assert f"`{name}`" in table


def test_the_readmes_mermaid_is_what_draw_prints() -> None:
    """The README's ```mermaid block (GitHub renders it) is `nncli draw --format mermaid`."""
    from typer.testing import CliRunner

    from nncli.cli import app

    block = re.search(r"```mermaid\n(.*?)```", README, re.S)
    assert block, "the README has no mermaid block"
    result = CliRunner().invoke(app, ["draw", "--format", "mermaid"], env=docs.EXAMPLE_ENV)
    assert result.exit_code == 0, result.output
    assert block.group(1) == result.stdout
