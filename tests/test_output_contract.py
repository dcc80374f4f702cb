"""The output contract enforced by the shared plumbing: literal text (no markup), no
trailing spaces off a terminal, no escape codes under NO_COLOR, atomic files that
fail cleanly, byte-reproducible figures, and clear failures of the streams."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.text import Text

from nncli.errors import RuntimeFailure, UsageError
from nncli.files import TEMP_PREFIX, atomic_write, check_output_path
from nncli.render import console as console_module
from nncli.render import progress as progress_module

# ---------------------------------------------------------------- literal text


def _printed(monkeypatch: pytest.MonkeyPatch, action, stream: str = "stderr") -> str:
    buffer = io.StringIO()
    monkeypatch.setattr(sys, stream, buffer)
    action()
    return buffer.getvalue()


def test_a_library_warning_with_brackets_prints_literally(monkeypatch) -> None:
    message = "more than 2 std from [a, b] in [bold]red[/bold] [/]"
    out = _printed(monkeypatch, lambda: console_module.warn(message))
    assert out == f"Warning: {message}\n"


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.text(alphabet=st.sampled_from("[]/=ab :\\#@x"), max_size=40))
def test_any_string_reaches_the_terminal_unchanged(text: str) -> None:
    """Fuzz: every string printed, alone or in a table cell, comes out as given."""
    from nncli.render.tables import new_table

    buffer = io.StringIO()
    original = sys.stdout
    sys.stdout = buffer
    try:
        console = console_module.stdout_console()
        console.print(text, soft_wrap=True)
        table = new_table()
        table.add_column("c", no_wrap=True)
        table.add_row(text)
        console.print(table)
    finally:
        sys.stdout = original
    lines = buffer.getvalue().split("\n")
    assert lines[0] == text.rstrip(" ")
    assert text.strip(" ") in buffer.getvalue()


def test_summary_of_a_config_with_brackets_in_its_name(cli, tmp_path: Path) -> None:
    config = tmp_path / "[a].toml"
    config.write_text('input_features = 3\n[[layers]]\nout_features = 2\nname = "x"\n')
    out = cli("summary", "--config", str(config))
    assert out.exit_code == 0, out.stderr
    assert f"config {config}" in out.stdout


# ---------------------------------------------------------------- trailing spaces


def test_piped_lines_never_end_in_spaces(cli) -> None:
    for command in (
        ["summary"],
        ["run"],
        ["activations"],
        ["init-stats", "xavier_normal"],
        ["draw", "--format", "mermaid"],
        ["draw", "--format", "dot"],
    ):
        out = cli(*command)
        assert out.exit_code == 0, (command, out.stderr)
        bad = [line for line in out.stdout.splitlines() if line != line.rstrip()]
        assert not bad, (command, bad)


def test_the_stripping_stream_keeps_spaces_inside_a_line() -> None:
    sink = io.StringIO()
    stream = console_module._RstripLines(sink)
    for chunk in ("a  ", " b   ", "\n", "   \n", "c \t", "d\n", "tail  "):
        stream.write(chunk)
    assert sink.getvalue() == "a   b\n\nc \td\ntail"


# ---------------------------------------------------------------- NO_COLOR and the bar


@pytest.mark.parametrize(
    ("env", "shown"),
    [({}, True), ({"NO_COLOR": "1"}, False), ({"TERM": "dumb"}, False)],
)
def test_the_progress_bar_only_on_a_terminal_that_wants_one(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], shown: bool
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(progress_module, "stderr_is_terminal", lambda: True)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    with progress_module.progress("work") as step:
        assert (step is not None) is shown


def test_no_color_drops_every_style_even_when_forced(monkeypatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("FORCE_COLOR", "1")
    out = _printed(
        monkeypatch,
        lambda: console_module.stdout_console().print(Text("bold", style="bold red")),
        "stdout",
    )
    assert out == "bold\n"


# ---------------------------------------------------------------- files


def _leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(TEMP_PREFIX)]


def test_a_name_past_the_filesystem_limit_is_exit_1_naming_it(cli, tmp_path: Path) -> None:
    target = tmp_path / ("a" * 300 + ".png")
    out = cli("plot", "relu", "-o", str(target))
    assert out.exit_code == 1
    assert out.stderr.startswith(f"Error: cannot write {str(target)!r}")
    assert "longer than" in out.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_legal_long_name_is_written(cli, tmp_path: Path) -> None:
    target = tmp_path / ("b" * 251 + ".png")  # 255 bytes: the limit itself
    out = cli("plot", "relu", "-o", str(target))
    assert out.exit_code == 0, out.stderr
    assert target.is_file()
    assert _leftovers(tmp_path) == []


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs /proc")
@pytest.mark.parametrize("folder", ["/proc", "/proc/self"])
def test_a_virtual_filesystem_is_exit_1(cli, folder: str) -> None:
    out = cli("plot", "relu", "-o", f"{folder}/relu.png")
    assert out.exit_code == 1
    assert out.stderr.startswith(f"Error: cannot write '{folder}/relu.png'")


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs /proc")
@pytest.mark.parametrize("name", ["net.png", "net.mmd"])
def test_draw_to_a_virtual_filesystem_is_exit_1(cli, name: str) -> None:
    out = cli("draw", "-o", f"/proc/{name}")
    assert out.exit_code == 1
    assert out.stderr.startswith(f"Error: cannot write '/proc/{name}'")


def test_check_output_path_refuses_before_any_work(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"has '\.jpg'"):
        check_output_path(tmp_path / "x.jpg", ["png"])
    with pytest.raises(RuntimeFailure, match="does not exist"):
        check_output_path(tmp_path / "missing" / "x.png", ["png"])
    (tmp_path / "d.png").mkdir()
    with pytest.raises(RuntimeFailure, match="it is a directory"):
        check_output_path(tmp_path / "d.png", ["png"])
    assert _leftovers(tmp_path) == []


def test_a_failed_write_leaves_nothing_and_names_the_path(tmp_path: Path) -> None:
    target = tmp_path / "out.png"

    def half_then_fail(tmp: str) -> None:
        Path(tmp).write_bytes(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(RuntimeFailure, match=r"cannot write .*out\.png.*No space left"):
        atomic_write(target, half_then_fail)
    assert list(tmp_path.iterdir()) == []

    def interrupted(tmp: str) -> None:
        Path(tmp).write_bytes(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, interrupted)
    assert list(tmp_path.iterdir()) == []


def test_an_existing_file_survives_a_failed_write(tmp_path: Path) -> None:
    target = tmp_path / "keep.png"
    target.write_bytes(b"old")

    def fail(tmp: str) -> None:
        raise OSError(5, "Input/output error")

    with pytest.raises(RuntimeFailure):
        atomic_write(target, fail)
    assert target.read_bytes() == b"old"


# ---------------------------------------------------------------- reproducible figures


@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
def test_figures_are_byte_reproducible(cli, tmp_path: Path, fmt: str) -> None:
    first, second = tmp_path / f"a.{fmt}", tmp_path / f"b.{fmt}"
    for target in (first, second):
        out = cli("plot", "sigmoid", "tanh", "-n", "200", "-o", str(target))
        assert out.exit_code == 0, out.stderr
    assert first.read_bytes() == second.read_bytes()


def test_init_stats_figures_are_byte_reproducible(cli, tmp_path: Path) -> None:
    paths = [tmp_path / "a.svg", tmp_path / "b.svg"]
    for target in paths:
        out = cli("init-stats", "xavier_normal", "--fan-in", "64", "--fan-out", "64",
                  "--hist", str(target))  # fmt: skip
        assert out.exit_code == 0, out.stderr
    assert paths[0].read_bytes() == paths[1].read_bytes()


# ---------------------------------------------------------------- streams and environment


def _nncli(*args: str, **kwargs) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    env.update(kwargs.pop("env", {}))
    return subprocess.run(
        [sys.executable, "-m", "nncli", *args], capture_output=True, text=True, env=env, **kwargs
    )


def test_a_closed_stdout_is_exit_1_with_a_message() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "nncli", "summary", "--json"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: os.close(1),
    )
    assert out.returncode == 1
    assert out.stderr.strip() == "Error: standard output is closed; nothing could be printed"


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_disk_on_stdout_is_exit_1() -> None:
    with open("/dev/full", "w") as full:
        out = subprocess.run(
            [sys.executable, "-m", "nncli", "summary", "--json"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
        )
    assert out.returncode == 1
    assert out.stderr.startswith("Error: ") and "No space left on device" in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("value", ["maybe", "2", "ja"])
def test_nncli_debug_must_be_a_boolean(cli, value: str) -> None:
    out = cli("summary", env={"NNCLI_DEBUG": value})
    assert out.exit_code == 2
    assert f"Error: NNCLI_DEBUG: {value!r} is not a boolean" in out.stderr


@pytest.mark.parametrize(("value", "traceback"), [("0", False), ("off", False), ("yes", True)])
def test_nncli_debug_accepts_booleans(cli, value: str, traceback: bool) -> None:
    out = cli("summary", "--config", "nope", env={"NNCLI_DEBUG": value})
    assert out.exit_code == 2
    assert ("Traceback" in out.stderr) is traceback


def test_end_of_input_is_not_taken_for_ctrl_c(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    import nncli.core.model.summarize as summary_module

    def eof(*args: object, **kwargs: object) -> None:
        raise EOFError("ran out of input")

    monkeypatch.setattr(summary_module, "summarize_spec", eof)
    out = cli("summary")
    assert out.exit_code == 1
    assert "Error: unexpected end of input: ran out of input" in out.stderr
    assert "interrupted" not in out.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [("NNCLI_MEMORY_LIMIT", "abc"), ("NNCLI_DEVICE", "tpu"), ("NNCLI_LANG", "fr")],
)
@pytest.mark.parametrize("command", [["activations"], ["plot", "relu", "--info"], ["summary"]])
def test_every_nncli_variable_is_checked_by_every_command(
    cli, name: str, value: str, command: list[str]
) -> None:
    out = cli(*command, env={name: value})
    assert out.exit_code == 2, (command, out.stderr)
    assert out.stderr.startswith(f"Error: {name}: ")
    assert repr(value) in out.stderr
