"""Text output about activations at 80 and 120 columns: catalogue, --info, plot results.

The rule for every table: no column silently dropped, no number cut, no word split
mid-token. Golden files pin the layouts; the token checks say why they are right.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from nncli.core.activation.activations import ACTIVATIONS, get_activation
from nncli.core.activation.curves import compute_curve, compute_curves
from nncli.render.activation_tables import (
    render_catalogue,
    render_info,
    render_plot_result,
    x_formatter,
)
from tests.conftest import Invoke, check_golden

WIDTHS = (80, 120)
PLOT_ARGS = (
    "plot",
    "sigmoid",
    "tanh",
    "relu",
    "softmax",
    "hardswish",
    "leaky_relu",
    "--negative-slope",
    "0",
    "-n",
    "1001",
    "--device",
    "cpu",
)


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def _lines_fit(text: str, width: int) -> None:
    too_long = [line for line in text.splitlines() if len(line) > width]
    assert not too_long, too_long


def _tokens_intact(text: str, sources: list[str]) -> None:
    """Every whitespace-separated token of ``sources`` appears whole in ``text``."""
    missing = sorted({t for s in sources for t in s.split() if t not in text})
    assert not missing, f"split or dropped: {missing}"


def _catalogue_cells() -> list[str]:
    cells = []
    for act in ACTIVATIONS.values():
        cells += [act.name, act.short_formula, act.output_range, act.layer, act.short_loss]
        cells += [act.saturates]
    return cells


@pytest.mark.parametrize("width", WIDTHS)
def test_catalogue_golden(cli: Invoke, width: int) -> None:
    out = cli("activations", env={"COLUMNS": str(width)})
    assert out.exit_code == 0, out.stderr
    check_golden(f"activations_catalogue_{width}.txt", out.stdout)
    _lines_fit(out.stdout, width)
    # every column, every cell, no token broken (80 columns used to give "transfo/rmers")
    for header in ("Name", "f(x)", "Range", "0-ctr", "Sat.", "max|f′|", "Use", "Loss", "Init"):
        assert header in out.stdout
    _tokens_intact(out.stdout, _catalogue_cells())
    assert cli("plot", "--list", env={"COLUMNS": str(width)}).stdout == out.stdout


@pytest.mark.parametrize("width", [70, 80, 90, 100, 101, 102, 110, 120, 160])
def test_catalogue_never_splits_a_token(width: int) -> None:
    buffer = io.StringIO()
    render_catalogue(list(ACTIVATIONS.values()), Console(file=buffer, width=width))
    text = buffer.getvalue()
    _tokens_intact(text, _catalogue_cells())
    _lines_fit(text, width)


def test_catalogue_is_one_table_when_it_fits() -> None:
    wide, narrow = io.StringIO(), io.StringIO()
    render_catalogue(list(ACTIVATIONS.values()), Console(file=wide, width=120))
    render_catalogue(list(ACTIVATIONS.values()), Console(file=narrow, width=80))
    assert "Use, loss and init" not in wide.getvalue()
    assert "Use, loss and init" in narrow.getvalue()  # moved below, not dropped


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", ["relu", "softmax", "gelu_tanh"])
def test_info_golden(cli: Invoke, width: int, name: str) -> None:
    out = cli("plot", name, "--info", env={"COLUMNS": str(width)})
    assert out.exit_code == 0, out.stderr
    check_golden(f"activations_info_{name}_{width}.txt", out.stdout)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_info_never_splits_a_token_at_80(name: str) -> None:
    act = get_activation(name)
    buffer = io.StringIO()
    render_info(act, Console(file=buffer, width=80))
    text = buffer.getvalue()
    _lines_fit(text, 80)
    _tokens_intact(text, [act.formula, act.derivative, act.use, act.loss, act.notes])
    _tokens_intact(text, list(act.pitfalls))


def test_info_names_the_dead_regions_and_the_shading_rule() -> None:
    buffer = io.StringIO()
    render_info(get_activation("relu6"), Console(file=buffer, width=120))
    assert "f′ = 0 exactly for x < 0, x > 6" in buffer.getvalue()
    buffer = io.StringIO()
    render_info(get_activation("softmax"), Console(file=buffer, width=120))
    assert "|f′| < T × its maximum over the samples" in buffer.getvalue()


@pytest.mark.parametrize("width", WIDTHS)
def test_plot_result_golden(cli: Invoke, width: int) -> None:
    out = cli(*PLOT_ARGS, env={"COLUMNS": str(width)})
    assert out.exit_code == 0, out.stderr
    check_golden(f"plot_result_{width}.txt", out.stdout)
    _lines_fit(out.stdout, width)


def test_plot_result_names_the_rule_for_softmax(cli: Invoke) -> None:
    out = cli("plot", "softmax", "--device", "cpu")
    assert re.search(r"\|f′\| < 0\.05·max +x < 1\.9\d", out.stdout), out.stdout
    assert "relative: below 0.05 × max |f′|" in out.stdout


def test_underflow_is_not_reported_dead(cli: Invoke) -> None:
    # the reproduction: sigmoid was "dead (f′ = 0)" for x > 36.7
    out = cli("plot", "sigmoid", "tanh", "--range", "-50", "50", "-n", "10001")
    assert out.exit_code == 0, out.stderr
    assert "dead" not in out.stdout
    assert "x < -2.89, x > 2.89" in out.stdout


@pytest.mark.parametrize("width", [80])
def test_huge_range_prints_short_numbers(cli: Invoke, width: int) -> None:
    out = cli("plot", "sigmoid", "relu", "--range", "-1e300", "1e300", "--device", "cpu")
    assert out.exit_code == 0, out.stderr
    check_golden("plot_result_huge_range_80.txt", out.stdout)
    assert "[-1e+300, 1e+300]" in out.stdout
    assert max(len(t) for t in out.stdout.split()) < 20


@settings(max_examples=40, deadline=None)
@given(
    lo=st.floats(-1e308, 1e308, allow_nan=False),
    width=st.floats(1e-300, 1e308, allow_nan=False),
)
def test_every_range_prints_short_numbers(lo: float, width: float) -> None:
    hi = lo + width
    if not (hi > lo and hi < float("inf")):
        return
    try:
        curves = compute_curves([get_activation("relu"), get_activation("tanh")], lo, hi, 7)
    except Exception as exc:  # too narrow for 7 distinct floats: a usage error, fine
        assert type(exc).__name__ == "UsageError", exc
        return
    buffer = io.StringIO()
    render_plot_result(curves, "x.png", "en", Console(file=buffer, width=80))
    numbers = re.findall(r"-?\d[\d.e+-]*", buffer.getvalue())
    assert numbers and max(len(n) for n in numbers) <= 24, numbers


@pytest.mark.parametrize(
    ("lo", "hi", "values", "expected"),
    [
        (-5.0, 5.0, [-4.5848, -1.04e-16, 0.0], ["-4.58", "0.00", "0.00"]),
        (-1e300, 1e300, [-1e300, 0.0], ["-1e+300", "0"]),
        (1e6, 1e6 + 1, [1_000_000.25, 1_000_000.75], ["1000000.25", "1000000.75"]),
        (0.0, 1e-3, [5e-4], ["0.000500"]),
    ],
)
def test_x_formatter_tells_boundaries_apart(
    lo: float, hi: float, values: list[float], expected: list[str]
) -> None:
    show = x_formatter(lo, hi)
    assert [show(v) for v in values] == expected


def test_relu_text_reports_dead_only() -> None:
    curve = compute_curve(get_activation("relu"), -5, 5, 500)
    buffer = io.StringIO()
    render_plot_result([curve], "relu.png", "en", Console(file=buffer, width=80))
    text = buffer.getvalue()
    assert "x < 0: units there get no gradient" in text
    assert "none outside the dead region" in text
    assert "-0.01" not in text  # the old interpolated "vanishing" edge
