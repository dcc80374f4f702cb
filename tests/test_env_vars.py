"""NNCLI_* environment variables: a bad value is a usage error naming it, never ignored."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nncli.core.memory import MAX_SIZE_BYTES, memory_limit, parse_size
from nncli.errors import UsageError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2000000000", 2_000_000_000),
        ("1", 1),
        ("2GB", 2 * 1000**3),
        ("2gb", 2 * 1000**3),
        ("2 GB", 2 * 1000**3),
        ("2GiB", 2 * 1024**3),
        ("2gib", 2 * 1024**3),
        ("1.5GiB", 1536 * 1024**2),
        (".5KiB", 512),
        ("512MiB", 512 * 1024**2),
        ("3TB", 3 * 1000**4),
        ("1TiB", 1024**4),
        ("10kB", 10_000),
        ("7b", 7),
        ("1.9b", 1),  # fractions of a byte round down
        (" 64MB ", 64 * 1000**2),
        ("0.1GB", 100_000_000),  # exact: no binary-float rounding of 0.1
        ("0.000000000931322574615478515625GiB", 1),  # exactly 2**-30 GiB: 30 decimals
        ("0.0000000000009094947017729282379150390625TiB", 1),  # 2**-40 TiB: 40 decimals
    ],
)
def test_parse_size_accepts_bytes_and_units(text: str, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "abc",
        "-5",
        "²",  # "²".isdigit() is True, and int("²") raises ValueError (issue 7, item 27)
        "٣",
        "1e9",
        "0x10",
        "1_000",
        "2 G B",
        "2XB",
        "GiB",
        "",
        "0",
        "0.4b",
        "inf",
        "nan",
        "1" * 5000,  # more digits than int() converts
        str(2**63),
    ],
)
def test_parse_size_refuses_anything_else_naming_the_variable(text: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_size(text)
    assert info.value.message.startswith("NNCLI_MEMORY_LIMIT: ")


def test_parse_size_names_the_option_it_parses_for() -> None:
    with pytest.raises(UsageError, match=r"^--max-memory: 'lots' is not a size in bytes"):
        parse_size("lots", "--max-memory")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=12))
def test_parse_size_is_a_positive_int_or_a_usage_error(text: str) -> None:
    try:
        size = parse_size(text)
    except UsageError:
        return
    assert isinstance(size, int) and 1 <= size <= MAX_SIZE_BYTES


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 2**22), st.sampled_from(["", "B", "KB", "MiB", "gb", "TiB"]))
def test_parse_size_round_trips_integers(n: int, unit: str) -> None:
    factor = {"": 1, "b": 1, "kb": 1000, "mib": 1024**2, "gb": 1000**3, "tib": 1024**4}
    assert parse_size(f"{n}{unit}") == n * factor[unit.lower()]


def test_unset_or_empty_means_no_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NNCLI_MEMORY_LIMIT", raising=False)
    assert memory_limit() is None
    monkeypatch.setenv("NNCLI_MEMORY_LIMIT", "")
    assert memory_limit() is None
    monkeypatch.setenv("NNCLI_MEMORY_LIMIT", "3KiB")
    assert memory_limit() == 3072


@pytest.mark.parametrize("value", ["abc", "-5", "²", "2XB", "0"])
@pytest.mark.parametrize(
    "command",
    [
        ["run"],
        ["run", "--json"],
        ["summary", "--classic"],
        ["init-stats", "xavier_normal", "--fan-in", "4", "--fan-out", "4"],
    ],
)
def test_a_bad_memory_limit_is_a_usage_error_in_every_command_that_checks(
    cli, command: list[str], value: str
) -> None:
    out = cli(*command, env={"NNCLI_MEMORY_LIMIT": value})
    assert out.exit_code == 2, out.stderr
    assert out.stderr.startswith(f"Error: NNCLI_MEMORY_LIMIT: {value!r} ")
    assert "Traceback" not in out.stderr and out.stdout == ""


@pytest.mark.parametrize(("value", "fits"), [("2GB", True), ("2GiB", True), ("1KB", False)])
def test_a_memory_limit_with_units_is_applied(cli, value: str, fits: bool) -> None:
    # issue 7, item 31: "2GB" used to be ignored silently; now it is a 2e9-byte budget.
    out = cli("run", "--batch", "1000", env={"NNCLI_MEMORY_LIMIT": value})
    assert out.exit_code == (0 if fits else 1), out.stderr
    if not fits:
        assert "but only 1000 B is available; nothing was allocated" in out.stderr


def test_a_bad_device_variable_is_a_usage_error_naming_it(cli) -> None:
    for value in ("tpu", "cuda:x", "cpu:0"):
        out = cli("run", env={"NNCLI_DEVICE": value})
        assert out.exit_code == 2
        assert out.stderr.startswith("Error: NNCLI_DEVICE: ")
        assert repr(value) in out.stderr
