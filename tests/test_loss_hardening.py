"""Issue 15, items 16 and 17: `nncli loss` refuses the figure's options in numbers mode
(even at their default values) and an unknown device in every mode; its figure `--json`
carries at most 10,000 samples per series unless `--full-data`, as `plot` does."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Invoke

NUMBERS = ("loss", "mse", "--pred", "1,2", "--target", "1,2")

# ------------------------------------------------------------------ item 16


@pytest.mark.parametrize(
    ("extra", "flag"),
    [
        (["-n", "0"], "--points"),
        (["-n", "500"], "--points"),  # the default value is still an option given
        (["--points", "1000"], "--points"),
        (["--classes", "1"], "--classes"),
        (["--classes", "3"], "--classes"),
        (["--dpi", "1"], "--dpi"),
        (["--dpi", "150"], "--dpi"),
        (["-t", "nan"], "--saturation"),
        (["--saturation", "0.05"], "--saturation"),
        (["--device", "cuda"], "--device"),
        (["--device", "cpu"], "--device"),
        (["-d", "auto"], "--device"),
        (["--full-data"], "--full-data"),
        (["--logits"], "--logits"),
        (["--through", "sigmoid"], "--through"),
        (["--range", "0", "1"], "--range"),
        (["-o", "x.png"], "--output"),
        (["--show"], "--show"),
        (["--lang", "en"], "--lang"),
    ],
)
def test_numbers_mode_refuses_figure_options(
    cli: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: list[str], flag: str
) -> None:
    monkeypatch.chdir(tmp_path)
    out = cli(*NUMBERS, *extra, "--json")
    assert out.exit_code == 2, (extra, out.stdout, out.stderr)
    assert out.stderr.startswith(f"Error: {flag} applies to the figure, not to --pred numbers")
    assert "Traceback" not in out.stderr and out.stdout == ""
    assert list(tmp_path.iterdir()) == []


def test_numbers_mode_keeps_its_own_options(cli: Invoke) -> None:
    out = cli("loss", "huber", "--pred", "1,3", "--target", "1,1", "--delta", "0.5",
              "--dtype", "float32", "--reduction", "sum", "--json")  # fmt: skip
    assert out.exit_code == 0, out.stderr
    doc = out.json()
    assert (doc["reduction"], doc["dtype"], doc["params"]) == ("sum", "float32", {"delta": 0.5})
    assert doc["value"] == pytest.approx(0.5 * (2 - 0.25))  # δ(|x| − δ/2) for |x| = 2


@pytest.mark.parametrize(
    "args",
    [
        [*NUMBERS, "--device", "gpu"],
        ["loss", "mse", "--device", "gpu"],
        ["loss", "mse", "--through", "sigmoid", "-n", "50", "--device", "gpu"],
        ["loss", "--list", "--device", "gpu"],
        ["loss", "mse", "--info", "--json", "--device", "gpu"],
    ],
)
def test_an_unknown_device_is_refused_in_every_mode(
    cli: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    out = cli(*args)
    assert out.exit_code == 2, (args, out.stdout, out.stderr)
    assert out.stderr.startswith("Error: --device: unknown device 'gpu'")
    assert out.stdout == "" and list(tmp_path.iterdir()) == []


def test_a_figure_refuses_reduction_even_at_its_default(cli: Invoke, tmp_path: Path) -> None:
    out = cli("loss", "mse", "--reduction", "mean", "-o", str(tmp_path / "f.png"))
    assert out.exit_code == 2, out.stderr
    assert out.stderr.startswith("Error: --reduction goes with --pred (numbers)")
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ item 17


def _figure_json(cli: Invoke, tmp_path: Path, points: int, *extra: str) -> tuple[dict, str]:
    out = cli("loss", "mse", "bce", "--through", "sigmoid", "-n", str(points), "--device", "cpu",
              "-o", str(tmp_path / "f.png"), "--json", *extra)  # fmt: skip
    assert out.exit_code == 0, out.stderr
    return out.json(), out.stderr


def test_json_series_are_trimmed_unless_full_data(cli: Invoke, tmp_path: Path) -> None:
    points = 20_001
    trimmed, warning = _figure_json(cli, tmp_path, points)
    full, quiet = _figure_json(cli, tmp_path, points, "--full-data")
    assert "--json: the series carry 6,668 of the 20,001 points (one in 3)" in warning
    assert "--full-data" in warning and quiet == ""
    assert (trimmed["points"], trimmed["series_points"], trimmed["series_stride"]) == (
        points,
        6_668,
        3,
    )
    assert (full["points"], full["series_points"], full["series_stride"]) == (points, points, 1)
    kept = [*range(0, points, 3), points - 1]
    assert len(kept) == 6_668 and kept[-2:] == [19_998, 20_000]
    for short, every in zip(trimmed["series"], full["series"], strict=True):
        assert short["loss"] == every["loss"]
        for key in ("x", "value", "grad"):
            assert len(every[key]) == points
            assert len(short[key]) == 6_668
            assert short[key] == [every[key][i] for i in kept], key  # exactly, not approx
        # The intervals come from every sample either way.
        assert short["saturation"] == every["saturation"]
    assert trimmed["findings"] == full["findings"]
    assert trimmed["series"][0]["x"][0] == -8.0 and trimmed["series"][0]["x"][-1] == 8.0


def test_json_at_the_limit_carries_every_sample(cli: Invoke, tmp_path: Path) -> None:
    doc, stderr = _figure_json(cli, tmp_path, 10_000)
    assert stderr == ""
    assert (doc["series_points"], doc["series_stride"]) == (10_000, 1)
    assert all(len(s[key]) == 10_000 for s in doc["series"] for key in ("x", "value", "grad"))
