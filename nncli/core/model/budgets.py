"""CI budgets: ``--max-params`` and ``--max-memory``, parsed and checked against a summary.

Counts (``--max-params``) are whole numbers of parameters, written as

- digits, optionally grouped by ``_`` or ``,`` in threes: ``26010123``, ``25_000_000``,
  ``26,010,123`` (the form nncli's own messages print);
- a decimal with a suffix (case-insensitive): ``k`` = 10³, ``M`` = 10⁶, ``B`` or ``G`` =
  10⁹, ``T`` = 10¹²: ``25M``, ``1.5B``, ``2.5k``;
- exponent notation, alone or before a suffix: ``1e6``, ``2.5E9``, ``1e3M``.

The value must come out as a whole number (``1.5`` and ``1.2345k`` are refused, not
rounded) between 1 and 2**63 - 1; the arithmetic is exact (no binary floats).

Sizes (``--max-memory``) are everything :func:`nncli.core.memory.parse_size` accepts
(``2000000000``, ``500MB``, ``1.5GiB``: decimal units are powers of 1000, binary ones of
1024) plus exponent notation (``1e6`` bytes, ``1.5e3MiB``) and the bare shorthand
``K``/``M``/``G``/``T`` for the decimal units kB/MB/GB/TB (``2G`` = 2,000,000,000 bytes).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

from nncli.core.memory import SIZE_RULE as PARSE_SIZE_RULE
from nncli.core.memory import SIZE_UNITS, format_bytes, parse_size
from nncli.errors import RuntimeFailure, UsageError

if TYPE_CHECKING:
    from nncli.core.model.results import SummaryResult

MAX_COUNT = 2**63 - 1  # what torch's numel (a C int64) can hold
COUNT_SUFFIXES = {"": 0, "k": 3, "m": 6, "b": 9, "g": 9, "t": 12}  # powers of ten
COUNT_RULE = "a whole number of parameters such as 26010123, 25_000_000, 25M, 1.5B, 2.5k or 1e6"
# The bare shorthand of sizes: decimal units, as "2G" means in most CI settings.
SIZE_SHORTHAND = {"k": "kb", "m": "mb", "g": "gb", "t": "tb"}
SIZE_RULE = (
    "a size in bytes, optionally with a unit: 2000000000, 500MB, 2GiB, 1.5GiB, 2G (= 2GB) or 1e9"
)
# No sane value is longer; the bound also keeps int() and 10**n away from huge inputs.
MAX_TEXT = 100

# ASCII digits only: str.isdigit() and float() also accept "²", "١", "nan" and "inf".
_NUMBER = (
    r"(?P<int>[0-9]{1,3}(?:(?P<sep>[_,])[0-9]{3})(?:(?P=sep)[0-9]{3})*|[0-9]*)"
    r"(?:\.(?P<frac>[0-9]*))?"
    r"(?:[eE](?P<exp>[+-]?[0-9]+))?"
)
_TEXT = re.compile(_NUMBER + r"\s*(?P<unit>[A-Za-z]*)")


@dataclass
class Budget:
    """One checked budget: ``value`` (the model's) against ``limit`` (parsed from ``given``)."""

    option: str  # "--max-params", "--max-memory" or "--max-macs"
    given: str  # the value as the user wrote it, e.g. "25M"
    limit: int
    value: int
    unit: str  # "parameters", "bytes" or "MACs" (measured, see SummaryResult.macs)
    ok: bool  # value <= limit


@dataclass(frozen=True)
class _Parsed:
    """A number as written: ``digits`` × 10**``exponent``, exactly, and the unit after it."""

    digits: int
    exponent: int
    unit: str


def _parse(text: str, option: str, rule: str) -> _Parsed:
    stripped = text.strip()
    if stripped.startswith(("-", "+")):
        raise UsageError(f"{option}: {text!r} must be a positive number, not signed ({rule})")
    match = _TEXT.fullmatch(stripped) if len(stripped) <= MAX_TEXT else None
    if match is None:
        raise UsageError(f"{option}: {text!r} is not {rule}")
    whole = match.group("int").replace("_", "").replace(",", "")
    frac = match.group("frac") or ""
    if not whole and not frac:
        raise UsageError(f"{option}: {text!r} is not {rule}")
    exponent = int(match.group("exp") or "0") - len(frac)
    return _Parsed(int(whole + frac), exponent, match.group("unit").lower())


def _digit_count(n: int) -> int:
    return len(str(n)) if n else 0


def parse_count(text: str, option: str) -> int:
    """A whole, positive number of parameters from ``"25M"``, ``"1.5B"``, ``"1e6"``, ...

    See the module docstring for the grammar. Anything else, zero, a fraction after
    scaling, or more than 2**63 - 1 is a :class:`UsageError` naming ``option`` and ``text``.
    """
    parsed = _parse(text, option, COUNT_RULE)
    if parsed.unit not in COUNT_SUFFIXES:
        hint = "a parameter count takes k, M, B (or G) and T; sizes are for --max-memory"
        raise UsageError(f"{option}: {text!r} is not {COUNT_RULE}", hint=hint)
    if parsed.digits == 0:
        raise UsageError(f"{option}: {text!r} must be at least 1 ({COUNT_RULE})")
    exponent = parsed.exponent + COUNT_SUFFIXES[parsed.unit]
    # Both bounds come before 10**exponent: "1e999999999" and "1e-999999999" must not
    # compute a billion digits. digits × 10**exponent has digit_count + exponent digits.
    magnitude = _digit_count(parsed.digits) + exponent
    if magnitude > _digit_count(MAX_COUNT):
        raise UsageError(f"{option}: {text!r} is more than 2**63 - 1 parameters")
    if magnitude <= 0:
        raise UsageError(f"{option}: {text!r} must be at least 1 ({COUNT_RULE})")
    value = Fraction(parsed.digits) * Fraction(10) ** exponent
    if value.denominator != 1:
        exact = Decimal(parsed.digits).scaleb(exponent)
        raise UsageError(
            f"{option}: {text!r} is {exact:f} parameters, not a whole number ({COUNT_RULE})"
        )
    count = int(value)
    if count > MAX_COUNT:
        raise UsageError(f"{option}: {text!r} is more than 2**63 - 1 parameters")
    return count


def _plain_decimal(parsed: _Parsed) -> str:
    """``digits`` × 10**``exponent`` written without an exponent, for :func:`parse_size`."""
    digits = str(parsed.digits)
    if parsed.exponent >= 0:
        # parse_size refuses over 20 whole digits as too large; capping the zeros keeps
        # "1e999999999" from building a huge string first.
        return digits + "0" * min(parsed.exponent, 25)
    places = -parsed.exponent
    if places > len(digits) + 40:
        # Under 1e-40: no unit (at most 1024**4 bytes) makes a whole byte of it.
        return "0"
    padded = digits.rjust(places + 1, "0")
    return f"{padded[:-places]}.{padded[-places:]}"


def parse_memory(text: str, option: str) -> int:
    """Bytes from ``"2GiB"``, ``"500MB"``, ``"1e6"``, ``"2G"`` (see the module docstring).

    The number is rewritten without its exponent and the shorthand unit spelled out,
    then :func:`nncli.core.memory.parse_size` does the rest, so both agree on every
    form that parse_size accepts (fractions of a byte round down; zero and more than
    2**63 - 1 bytes are refused).
    """
    parsed = _parse(text, option, SIZE_RULE)
    unit = SIZE_SHORTHAND.get(parsed.unit, parsed.unit)
    if unit not in SIZE_UNITS:
        hint = "units: B, kB, MB, GB, TB (powers of 1000), KiB, MiB, GiB, TiB (1024), K/M/G/T"
        raise UsageError(f"{option}: {text!r} is not {SIZE_RULE}", hint=hint)
    plain = _plain_decimal(parsed) + unit
    try:
        return parse_size(plain, option)
    except UsageError as error:
        # parse_size names the rewritten text; the user should see what they typed.
        message = error.message.replace(repr(plain), repr(text), 1)
        message = message.replace(PARSE_SIZE_RULE, SIZE_RULE)
        raise UsageError(message, hint=error.hint) from None


def check_budgets(
    result: SummaryResult,
    max_params: str | None,
    max_memory: str | None,
    max_macs: str | None = None,
) -> list[Budget]:
    """The budgets that were given, checked against ``result`` (in option order).

    Parameters are ``result.total_params`` (shared parameters once); memory is the
    summary's whole estimate, ``result.memory.total``: input, every layer's output,
    parameters and buffers.
    """
    budgets = []
    if max_params is not None:
        limit = parse_count(max_params, "--max-params")
        value = result.total_params
        budgets.append(
            Budget("--max-params", max_params, limit, value, "parameters", value <= limit)
        )
    if max_memory is not None:
        limit = parse_memory(max_memory, "--max-memory")
        value = result.memory.total
        budgets.append(Budget("--max-memory", max_memory, limit, value, "bytes", value <= limit))
    if max_macs is not None:
        limit = parse_count(max_macs, "--max-macs")
        if result.macs is None:
            raise UsageError(
                "--max-macs needs measured MACs: a config's summary does not measure them",
                hint="use --model, or --max-params and --max-memory",
            )
        value = result.macs
        budgets.append(Budget("--max-macs", max_macs, limit, value, "MACs", value <= limit))
    return budgets


def exceeded_by(value: int, limit: int) -> str:
    """How far ``value`` is over ``limit``, in percent: one decimal, or more when needed.

    Rounded half up to one decimal, as people read "4.0%"; when that would show 0.0%
    for a budget that *is* exceeded, more decimals are used until a digit shows.
    Exact rational arithmetic: no float or Decimal rounding before the last step.
    """
    excess = Fraction(value - limit, limit) * 100
    places = 1
    while True:
        units = math.floor(abs(excess) * 10**places + Fraction(1, 2))
        # Terminates: an excess is at least 100 / 2**63, so some place shows a digit.
        if units > 0 or excess == 0:
            break
        places += 1
    whole, frac = divmod(units, 10**places)
    sign = "-" if excess < 0 else ""
    return f"{sign}{whole:,}.{frac:0{places}d}%"


def _describe(budget: Budget) -> str:
    given = budget.given.strip()
    by = exceeded_by(budget.value, budget.limit)
    if budget.unit in ("parameters", "MACs"):
        return f"{budget.value:,} {budget.unit} exceed {budget.option} {given} (by {by})"
    return (
        f"estimated memory {format_bytes(budget.value)} ({budget.value:,} bytes) exceeds "
        f"{budget.option} {given} (by {by})"
    )


def budget_error(budgets: list[Budget]) -> RuntimeFailure | None:
    """One exit-1 error naming every exceeded budget ("; "-joined), or None if all hold."""
    over = [b for b in budgets if not b.ok]
    if not over:
        return None
    return RuntimeFailure("; ".join(_describe(b) for b in over))
