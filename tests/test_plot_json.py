"""``plot --json`` size and the bounds on --points: trimmed series, --full-data, memory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nncli.commands import plot as plot_cmd
from nncli.render.activation_tables import stride_for, strided_indices
from tests.conftest import Invoke


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize(
    ("points", "limit", "stride", "carried"),
    [(500, 10_000, 1, 500), (10_000, 10_000, 1, 10_000), (10_001, 10_000, 2, 5_001)],
)
def test_strided_indices_keep_both_ends(points: int, limit: int, stride: int, carried: int) -> None:
    keep = strided_indices(points, limit)
    assert stride_for(points, limit) == stride
    assert len(keep) == carried <= limit
    assert keep[0] == 0 and keep[-1] == points - 1
    assert np.all(np.diff(keep) >= 1)


def test_ten_million_points_carry_at_most_the_limit() -> None:
    keep = strided_indices(10_000_000, plot_cmd.JSON_POINTS)
    assert len(keep) <= plot_cmd.JSON_POINTS and keep[-1] == 9_999_999


def test_json_series_are_trimmed_with_a_warning(
    cli: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(plot_cmd, "JSON_POINTS", 100)
    out = cli("plot", "sigmoid", "-n", "1001", "--json", "-t", "0.01")
    assert out.exit_code == 0, out.stderr
    doc = out.json()
    assert doc["points"] == 1001 and doc["series_points"] == 92 and doc["series_stride"] == 11
    (series,) = doc["series"]
    x = np.array(series["x"])
    assert len(x) == len(series["y"]) == len(series["dy"]) == 92
    assert x[0] == -5 and x[-1] == 5
    assert "Warning: --json: the series carry 92 of the 1,001 points" in out.stderr
    assert "--full-data" in out.stderr
    # the intervals still come from all 1001 samples: the same as with --full-data
    full = cli("plot", "sigmoid", "-n", "1001", "--json", "-t", "0.01", "--full-data").json()
    assert full["series_points"] == 1001 and full["series_stride"] == 1
    assert len(full["series"][0]["x"]) == 1001
    assert full["series"][0]["saturation"] == series["saturation"]
    np.testing.assert_array_equal(np.array(full["series"][0]["x"])[::11], x[:-1])


def test_json_within_the_limit_has_no_warning(cli: Invoke) -> None:
    out = cli("plot", "relu", "-n", "501", "--json")
    assert out.exit_code == 0 and out.stderr == ""
    assert out.json()["series_points"] == 501


def test_json_reports_the_rule_and_the_cutoff(cli: Invoke) -> None:
    doc = cli("plot", "softmax", "relu", "--json").json()
    softmax, relu = doc["series"]
    assert softmax["saturation_rule"] == "relative"
    assert softmax["saturation_cutoff"] == pytest.approx(0.05 * softmax["sampled_max_abs_dy"])
    assert relu["saturation_rule"] == "absolute" and relu["saturation_cutoff"] == 0.05
    assert relu["dead"] == [[-5.0, 0.0]] and relu["saturation"] == []
    assert relu["dead_regions"] == [[None, 0.0]]  # (−inf, 0]: JSON has no infinity


def test_points_beyond_memory_are_refused_up_front(cli: Invoke, tmp_path: Path) -> None:
    out = cli("plot", "relu", "tanh", "-n", "1000000", env={"NNCLI_MEMORY_LIMIT": "10MB"})
    assert out.exit_code == 1, out.stdout
    assert "1,000,000 points for 2 curve(s) needs about" in out.stderr
    assert not list(tmp_path.iterdir())


def test_points_are_bounded_by_the_shared_rule(cli: Invoke) -> None:
    out = cli("plot", "relu", "-n", "9223372036854775808")
    assert out.exit_code == 2
    assert "--points must be at most 10,000,000" in out.stderr


@pytest.mark.parametrize(
    ("lo", "hi", "fragment"),
    [
        ("1", "1.0000000000000002", "too narrow for 500 distinct points"),
        ("1e300", "-1e300", "LO < HI, got 1e+300 -1e+300"),
        ("-1.7e308", "1.7e308", "too wide"),
    ],
)
def test_ranges_that_make_no_sense(cli: Invoke, lo: str, hi: str, fragment: str) -> None:
    out = cli("plot", "relu", "--range", lo, hi)
    assert out.exit_code == 2 and fragment in out.stderr, out.stderr
    assert "Traceback" not in out.stderr
