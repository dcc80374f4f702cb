"""CI budgets: --max-params / --max-memory parsing, checking, messages and exit codes.

References are independent of the code under test: exact Decimal/Fraction arithmetic,
Python's own digit grouping, nncli.core.memory.parse_size (which --max-memory extends)
and hand-computed messages from the issue text.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nncli.core.memory import SIZE_UNITS, parse_size
from nncli.core.model.budgets import (
    Budget,
    budget_error,
    check_budgets,
    exceeded_by,
    parse_count,
    parse_memory,
)
from nncli.core.model.results import Memory, SummaryResult
from nncli.errors import ExitCode, RuntimeFailure, UsageError

from .conftest import Invoke

MAX = 2**63 - 1
P, M = "--max-params", "--max-memory"
# suffix -> power of ten, per the documented rules (case-insensitive)
SUFFIXES = {"": 0, "k": 3, "K": 3, "M": 6, "m": 6, "B": 9, "b": 9, "G": 9, "g": 9, "T": 12}


# ---------------------------------------------------------------- parse_count


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("25M", 25_000_000),
        ("1.5B", 1_500_000_000),
        ("1e6", 1_000_000),
        ("26010123", 26_010_123),
        ("25_000_000", 25_000_000),
        ("26,010,123", 26_010_123),  # what nncli's own messages print
        ("2.5K", 2_500),
        ("2.5k", 2_500),
        ("7G", 7_000_000_000),
        ("1T", 10**12),
        ("1E3", 1_000),
        ("2.5e9", 2_500_000_000),
        ("1e3M", 10**9),
        (".5m", 500_000),
        ("5.", 5),
        ("1.2345e4", 12_345),
        ("  25 M ", 25_000_000),
        ("0025M", 25_000_000),
        ("9223372036854775807", MAX),
        ("9.223372036854775807e18", MAX),
        ("1", 1),
    ],
)
def test_parse_count_accepts(text: str, expected: int) -> None:
    assert parse_count(text, P) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1.5", "not a whole number"),
        ("1.2345k", "1234.5 parameters, not a whole number"),
        ("0", "at least 1"),
        ("0e5", "at least 1"),
        ("0.0001", "at least 1"),
        ("1e-9999", "at least 1"),
        ("-5", "signed"),
        ("+5", "signed"),
        ("-1e6", "signed"),
        ("nan", "is not a whole number of parameters"),
        ("inf", "is not"),
        ("", "is not"),
        ("   ", "is not"),
        ("abc", "is not"),
        ("1e", "is not"),
        ("e6", "is not"),
        (".", "is not"),
        ("1,5M", "is not"),  # a decimal comma, not a group of three
        ("1_0", "is not"),
        ("1,000_000", "is not"),  # mixed separators
        ("25MB", "is not"),
        ("2GiB", "is not"),
        ("1.2.3", "is not"),
        ("0x10", "is not"),
        ("١٢", "is not"),  # non-ASCII digits: float() would take them
        ("5²", "is not"),
        ("1e19", "2**63 - 1"),
        ("9223372036854775808", "2**63 - 1"),
        ("9.3e18", "2**63 - 1"),
        ("1e999999999", "2**63 - 1"),
        ("1e" + "9" * 90, "2**63 - 1"),  # must not compute 10**(10**90)
        ("1e-" + "9" * 90, "at least 1"),
        ("1" * 200, "is not"),
    ],
)
def test_parse_count_refuses(text: str, reason: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_count(text, P)
    message = str(caught.value)
    assert reason in message
    assert message.startswith(f"{P}: {text!r}")
    assert caught.value.exit_code == ExitCode.USAGE


def test_count_errors_give_examples_and_point_sizes_elsewhere() -> None:
    with pytest.raises(UsageError) as caught:
        parse_count("bogus", P)
    assert "25M" in caught.value.message and "1e6" in caught.value.message
    with pytest.raises(UsageError) as caught:
        parse_count("25MB", P)
    assert caught.value.hint is not None and "--max-memory" in caught.value.hint


def _scaled(n: int, power: int) -> str:
    """n / 10**power written exactly as a plain decimal (Decimal's formatting, not ours)."""
    return f"{Decimal(n).scaleb(-power):f}"


@settings(max_examples=300, deadline=None)
@given(st.integers(1, MAX), st.sampled_from(sorted(SUFFIXES)))
def test_count_round_trips_through_any_suffix(n: int, suffix: str) -> None:
    text = _scaled(n, SUFFIXES[suffix]) + suffix
    assert parse_count(text, P) == n


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 10**12), st.integers(-6, 18), st.sampled_from(sorted(SUFFIXES)))
def test_count_exponent_notation(mantissa: int, exp: int, suffix: str) -> None:
    exact = Fraction(mantissa) * Fraction(10) ** (exp + SUFFIXES[suffix])
    text = f"{mantissa}e{exp}{suffix}"
    if exact.denominator != 1 or exact > MAX:
        with pytest.raises(UsageError):
            parse_count(text, P)
    else:
        assert parse_count(text, P) == exact


@settings(max_examples=200, deadline=None)
@given(st.integers(1, MAX), st.sampled_from([",", "_"]))
def test_count_grouped_digits(n: int, sep: str) -> None:
    assert parse_count(f"{n:{sep}}", P) == n


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 10**15), st.integers(1, 9), st.sampled_from(sorted(SUFFIXES)))
def test_count_fractions_are_refused_not_rounded(n: int, last: int, suffix: str) -> None:
    # 10n + last ends in a non-zero digit, so one decimal place more than the suffix
    # supplies leaves a fraction of a parameter.
    text = _scaled(10 * n + last, SUFFIXES[suffix] + 1) + suffix
    with pytest.raises(UsageError, match="not a whole number"):
        parse_count(text, P)


# ---------------------------------------------------------------- parse_memory


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2GiB", 2 * 1024**3),
        ("500MB", 500 * 1000**2),
        ("1.5GiB", 1536 * 1024**2),
        ("2000000000", 2_000_000_000),
        ("1e6", 1_000_000),
        ("1E9B", 10**9),
        ("2G", 2 * 10**9),
        ("2g", 2 * 10**9),
        ("512K", 512_000),
        ("3M", 3_000_000),
        ("1T", 10**12),
        ("1.5e3MiB", 1500 * 1024**2),
        ("1e3 kB", 10**6),
        ("1e-12T", 1),
        ("2.5", 2),  # fractions of a byte round down, as in parse_size
        ("9223372036854775807", MAX),
    ],
)
def test_parse_memory_accepts(text: str, expected: int) -> None:
    assert parse_memory(text, M) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("0", "at least 1 byte"),
        ("0.5", "at least 1 byte"),
        ("1e-9999", "at least 1 byte"),
        ("-2G", "signed"),
        ("2XB", "is not"),
        ("2 GiBs", "is not"),
        ("nan", "is not"),
        ("", "is not"),
        ("1e", "is not"),
        ("8EiB", "is not"),
        ("1e19", "2**63 - 1"),
        ("1e999999999", "2**63 - 1"),
        ("1e" + "9" * 90, "2**63 - 1"),
        ("1e-" + "9" * 90, "at least 1 byte"),
        ("9223372036854775808", "2**63 - 1"),
        ("8589934592GiB", "2**63 - 1"),
    ],
)
def test_parse_memory_refuses(text: str, reason: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_memory(text, M)
    message = str(caught.value)
    assert reason in message
    # The user's own text is named, even when parse_size saw a rewritten one.
    assert message.startswith(f"{M}: {text!r}")
    assert "1e9" in message or "2**63" in message  # the examples name the new forms


_PLAIN_NUMBERS = st.builds(
    lambda whole, frac: f"{whole}.{frac}" if frac else str(whole),
    st.integers(0, 10**13),
    st.one_of(st.just(""), st.from_regex(r"[0-9]{1,12}", fullmatch=True)),
)


@settings(max_examples=300, deadline=None)
@given(_PLAIN_NUMBERS, st.sampled_from(sorted(SIZE_UNITS)), st.booleans())
def test_memory_agrees_with_parse_size(number: str, unit: str, upper: bool) -> None:
    text = number + (unit.upper() if upper else unit)
    try:
        expected: int | None = parse_size(text, M)
    except UsageError:
        expected = None
    if expected is None:
        with pytest.raises(UsageError):
            parse_memory(text, M)
    else:
        assert parse_memory(text, M) == expected


@settings(max_examples=300, deadline=None)
@given(
    st.integers(0, 10**9),
    st.integers(-15, 15),
    st.sampled_from([*sorted(SIZE_UNITS), "k", "M", "G", "T"]),
)
def test_memory_exponent_and_shorthand(mantissa: int, exp: int, unit: str) -> None:
    shorthand = {"k": 1000, "M": 1000**2, "G": 1000**3, "T": 1000**4}
    scale = shorthand.get(unit) or SIZE_UNITS[unit]
    exact = Fraction(mantissa) * Fraction(10) ** exp * scale
    expected = int(exact)  # whole bytes, rounded down
    text = f"{mantissa}e{exp}{unit}"
    if not 1 <= expected <= MAX:
        with pytest.raises(UsageError):
            parse_memory(text, M)
    else:
        assert parse_memory(text, M) == expected


# ---------------------------------------------------------------- checks and messages


def _result(total_params: int, memory: Memory) -> SummaryResult:
    return SummaryResult(
        model_name="m",
        source="test",
        device="cpu",
        built_on="meta",
        input_shape=[1, 3],
        layers=[],
        total_params=total_params,
        trainable_params=total_params,
        non_trainable_params=0,
        mult_adds=0,
        memory=memory,
    )


def test_check_budgets_uses_total_params_and_the_whole_memory_estimate() -> None:
    memory = Memory(input=100, activations=2_000, params=30_000, buffers=400_000)
    result = _result(26_010_123, memory)
    budgets = check_budgets(result, "25M", "1e6")
    assert budgets == [
        Budget("--max-params", "25M", 25_000_000, 26_010_123, "parameters", False),
        # input + activations + params + buffers, summed here by hand
        Budget("--max-memory", "1e6", 1_000_000, 432_100, "bytes", True),
    ]
    assert check_budgets(result, None, None) == []
    assert [b.option for b in check_budgets(result, None, "1K")] == ["--max-memory"]


def test_a_value_equal_to_its_limit_is_within_budget() -> None:
    result = _result(26_010_123, Memory(1, 2, 3, 4))
    assert all(b.ok for b in check_budgets(result, "26,010,123", "10"))
    assert not any(b.ok for b in check_budgets(result, "26010122", "9"))


def test_check_budgets_refuses_bad_limits() -> None:
    result = _result(1, Memory(1, 1, 1, 1))
    with pytest.raises(UsageError, match=r"--max-params: '1\.5'"):
        check_budgets(result, "1.5", None)
    with pytest.raises(UsageError, match=r"--max-memory: '2XB'"):
        check_budgets(result, None, "2XB")


def test_the_issues_message_exactly() -> None:
    budget = Budget("--max-params", "25M", 25_000_000, 26_010_123, "parameters", False)
    error = budget_error([budget])
    assert isinstance(error, RuntimeFailure)
    assert error.exit_code == ExitCode.FAILURE
    assert str(error) == "26,010,123 parameters exceed --max-params 25M (by 4.0%)"


def test_memory_message() -> None:
    # 2,480,000,000 B / 2**30 = 2.3097 GiB; 2,480,000,000 / 2,147,483,648 - 1 = 15.48%
    budget = Budget("--max-memory", "2GiB", 2 * 1024**3, 2_480_000_000, "bytes", False)
    error = budget_error([budget])
    assert error is not None
    assert error.message == (
        "estimated memory 2.31 GiB (2,480,000,000 bytes) exceeds --max-memory 2GiB (by 15.5%)"
    )


def test_both_exceeded_is_one_error_naming_both() -> None:
    result = _result(26_010_123, Memory(0, 0, 2_480_000_000, 0))
    error = budget_error(check_budgets(result, " 25M ", "2GiB"))
    assert error is not None
    params, memory = error.message.split("; ")
    assert params == "26,010,123 parameters exceed --max-params 25M (by 4.0%)"
    assert memory.startswith("estimated memory 2.31 GiB (2,480,000,000 bytes) exceeds")


def test_no_error_within_budget() -> None:
    result = _result(10, Memory(1, 1, 1, 1))
    assert budget_error(check_budgets(result, "10", "4")) is None
    assert budget_error([]) is None


@pytest.mark.parametrize(
    ("value", "limit", "shown"),
    [
        (26_010_123, 25_000_000, "4.0%"),
        (2, 1, "100.0%"),
        (1_001, 1_000, "0.1%"),
        (10_005, 10_000, "0.1%"),  # 0.05 rounds half up
        (100_049, 100_000, "0.05%"),  # 0.049: one decimal would show 0.0
        (25_000_001, 25_000_000, "0.000004%"),
        (MAX, MAX - 1, "0.00000000000000001%"),
        (10**12, 1, "99,999,999,999,900.0%"),
        (MAX, 1, "922,337,203,685,477,580,600.0%"),
        (10, 10, "0.0%"),  # not exceeded: shown as is
        (5, 10, "-50.0%"),
    ],
)
def test_exceeded_by_table(value: int, limit: int, shown: str) -> None:
    assert exceeded_by(value, limit) == shown


@settings(max_examples=300, deadline=None)
@given(st.integers(1, MAX), st.integers(1, 10**12))
def test_exceeded_by_never_shows_zero_and_is_accurate(limit: int, excess: int) -> None:
    shown = exceeded_by(limit + excess, limit)
    number = Decimal(shown.rstrip("%").replace(",", ""))
    places = -number.as_tuple().exponent  # type: ignore[operator]
    exact = Fraction(excess, limit) * 100
    assert number > 0
    assert abs(Fraction(number) - exact) <= Fraction(1, 2 * 10**places)
    # one decimal unless one decimal would have shown 0.0
    assert places == 1 or exact < Fraction(1, 20)


# ---------------------------------------------------------------- the CLI's exit codes


def _demo_params() -> int:
    """The demo's parameter count as torch counts it (sum of numel), built on meta."""
    from nncli.core.model.build import build_model
    from nncli.core.model.config import load_config

    model = build_model(load_config(None), meta=True).model
    return sum(p.numel() for p in model.parameters())


def test_cli_budget_exit_codes(cli: Invoke) -> None:
    n = _demo_params()
    assert cli("summary", "--max-params", str(n)).exit_code == 0
    over = cli("summary", "--max-params", str(n - 1))
    assert over.exit_code == 1
    pct = exceeded_by(n, n - 1)
    assert f"Error: {n:,} parameters exceed --max-params {n - 1} (by {pct})" in over.stderr
    assert "Totals" in over.stdout  # the summary prints as usual first
    bad = cli("summary", "--max-params", "25MB")
    assert bad.exit_code == 2 and "--max-params: '25MB'" in bad.stderr
    assert cli("summary", "--max-memory", "0").exit_code == 2


def test_cli_budgets_in_json(cli: Invoke) -> None:
    n = _demo_params()
    out = cli("summary", "--json", "--max-params", "1", "--max-memory", "1G")
    assert out.exit_code == 1
    doc = out.json()
    budgets = doc["budgets"]
    assert budgets["ok"] is False
    params, memory = budgets["checked"]
    assert params == {
        "option": "--max-params",
        "given": "1",
        "limit": 1,
        "value": n,
        "unit": "parameters",
        "ok": False,
    }
    assert memory["limit"] == 10**9 and memory["ok"] is True
    parts = ("input", "activations", "params", "buffers")
    assert memory["value"] == sum(doc["memory_bytes"][k] for k in parts)
    within = cli("summary", "--json").json()["budgets"]
    assert within == {"ok": True, "checked": []}
