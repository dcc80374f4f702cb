"""Numbers for people, one format everywhere (tables, messages, figure labels).

Pure Python, no torch and no rich, so core/ (evidence strings, intervals) and
render/ share it. A number is never printed with hundreds of digits: outside a
readable range it switches to scientific notation.
"""

from __future__ import annotations

import math

FIXED_LIMIT = 1e6  # at and above this magnitude, fixed notation becomes scientific


def num(x: float | None, digits: int = 4) -> str:
    """``digits`` significant digits: 0.1234, 12.35, 1.235e+06, 1e-300; nan, inf, -inf.

    None prints as "-" (a value that does not apply). "-0" prints as "0".
    """
    if x is None:
        return "-"
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    text = f"{x:.{digits}g}"
    return "0" if text in ("-0", "0", "-0.0") else text


def fixed(x: float, places: int) -> str:
    """``places`` decimals (-4.58, 0.00) for moderate numbers; scientific beyond
    :data:`FIXED_LIMIT` or where the decimals would show only zeros."""
    x = float(x)
    if not math.isfinite(x):
        return num(x)
    if abs(x) >= FIXED_LIMIT or (x != 0 and abs(x) < 0.5 * 10.0**-places):
        return num(x, max(3, min(places + 1, 6)))
    text = f"{x:.{places}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text  # no "-0.00"
