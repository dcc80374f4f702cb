"""``nncli plot`` and ``nncli activations`` end to end, through the CLI runner."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nncli.core.activation.activations import ACTIVATIONS
from nncli.render import figures
from tests.conftest import Invoke, check_golden

SMALL = ("--points", "101")


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def assert_usage_error(out: object, *fragments: str, code: int = 2) -> None:
    assert out.exit_code == code, (out.stdout, out.stderr)  # type: ignore[attr-defined]
    err = out.stderr  # type: ignore[attr-defined]
    assert err.startswith("Error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, err
    assert out.stdout == ""  # type: ignore[attr-defined]


# -- the figure -------------------------------------------------------------------------


def test_default_output_is_name_png_in_cwd(cli: Invoke, tmp_path: Path) -> None:
    out = cli("plot", "sigmoid", *SMALL)
    assert out.exit_code == 0, out.stderr
    target = tmp_path / "sigmoid.png"
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Wrote sigmoid.png" in out.stdout
    assert "device cpu" in out.stdout
    assert "|f′| < 0.05" in out.stdout


@pytest.mark.parametrize(
    ("ext", "magic"), [("png", b"\x89PNG"), ("svg", b"<?xml"), ("pdf", b"%PDF")]
)
def test_format_follows_the_extension(cli: Invoke, tmp_path: Path, ext: str, magic: bytes) -> None:
    out = cli("plot", "tanh", "-o", f"fig.{ext.upper()}", *SMALL, "--dpi", "50")
    assert out.exit_code == 0, out.stderr
    assert (tmp_path / f"fig.{ext.upper()}").read_bytes().startswith(magic)


def test_several_names_overlay_in_one_figure(cli: Invoke, tmp_path: Path) -> None:
    out = cli("plot", "sigmoid", "tanh", "swish", *SMALL, "--json")
    assert out.exit_code == 0, out.stderr
    doc = out.json()
    assert [s["activation"] for s in doc["series"]] == ["sigmoid", "tanh", "silu"]
    assert doc["output"] == "sigmoid_tanh_silu.png"
    assert (tmp_path / "sigmoid_tanh_silu.png").exists()


def test_every_activation_plots(cli: Invoke, tmp_path: Path) -> None:
    out = cli("plot", *ACTIVATIONS, "-o", "all.png", "--points", "51", "--json")
    assert out.exit_code == 0, out.stderr
    assert [s["activation"] for s in out.json()["series"]] == list(ACTIVATIONS)
    assert (tmp_path / "all.png").stat().st_size > 0


def test_text_reports_saturation_and_dead_intervals(cli: Invoke) -> None:
    out = cli("plot", "sigmoid", "--range", "-8", "8", "--saturation", "0.01")
    assert out.exit_code == 0, out.stderr
    # σ'(x) = 0.01 at |x| = 4.5848, interpolated between samples 0.032 apart
    assert re.search(r"x < -4\.5[89], x > 4\.5[89]", out.stdout), out.stdout
    out = cli("plot", "relu", *SMALL)
    # ReLU's negative side is dead, and only dead: not also "vanishing" (issue item 15)
    assert "dead (f′ = 0)  x < 0: units there get no gradient" in out.stdout
    assert "|f′| < 0.05    none outside the dead region" in out.stdout


# -- JSON -------------------------------------------------------------------------------


def test_json_is_one_document_with_the_series(cli: Invoke) -> None:
    out = cli("plot", "sigmoid", "--range", "-8", "8", "-t", "0.01", "--points", "500", "--json")
    assert out.exit_code == 0, out.stderr
    doc = json.loads(out.stdout)  # raises on anything but exactly one document
    assert out.stdout.count("\n") == 1
    assert doc["schema_version"] == 1 and doc["command"] == "plot"
    assert doc["output"] == "sigmoid.png" and doc["device"] == "cpu"
    assert doc["range"] == [-8.0, 8.0] and doc["points"] == 500
    (series,) = doc["series"]
    for key in ("activation", "x", "y", "dy", "saturation", "dead", "formula", "derivative"):
        assert key in series
    for key in ("output_range", "zero_centred", "saturating", "gain", "use", "loss", "init"):
        assert key in series
    x, y, dy = (np.array(series[k]) for k in ("x", "y", "dy"))
    assert len(x) == len(y) == len(dy) == 500
    np.testing.assert_allclose(y, 1 / (1 + np.exp(-x)), rtol=1e-12)
    np.testing.assert_allclose(dy, y * (1 - y), rtol=1e-9, atol=1e-15)
    (lo1, hi1), (lo2, hi2) = series["saturation"]
    assert (lo1, hi2) == (-8.0, 8.0)
    assert hi1 == pytest.approx(-4.5848, abs=5e-3) and lo2 == pytest.approx(4.5848, abs=5e-3)


def test_json_softmax_is_the_1d_case(cli: Invoke) -> None:
    doc = cli("plot", "softmax", *SMALL, "--json").json()
    (series,) = doc["series"]
    y, dy = np.array(series["y"]), np.array(series["dy"])
    assert y.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(dy, y * (1 - y), rtol=1e-9, atol=1e-15)
    assert "one vector" in series["notes"][0]


def test_negative_slope_reaches_leaky_relu(cli: Invoke) -> None:
    doc = cli("plot", "leaky_relu", "--negative-slope", "0.2", *SMALL, "--json").json()
    (series,) = doc["series"]
    assert series["params"] == {"negative_slope": 0.2}
    x, dy = np.array(series["x"]), np.array(series["dy"])
    np.testing.assert_allclose(dy[x < 0], 0.2)


def test_saturation_zero_turns_shading_off(cli: Invoke) -> None:
    doc = cli("plot", "sigmoid", *SMALL, "--saturation", "0", "--json").json()
    assert doc["series"][0]["saturation"] == []


# -- catalogue and --info -----------------------------------------------------------------


def test_activations_table_golden(cli: Invoke) -> None:
    out = cli("activations")
    assert out.exit_code == 0, out.stderr
    for name in ACTIVATIONS:
        assert name in out.stdout
    check_golden("activations_catalogue.txt", out.stdout)
    assert cli("plot", "--list").stdout == out.stdout


def test_activations_json(cli: Invoke) -> None:
    doc = cli("activations", "--json").json()
    assert doc["command"] == "activations"
    assert [a["name"] for a in doc["activations"]] == list(ACTIVATIONS)
    assert cli("plot", "--list", "--json").json()["activations"] == doc["activations"]


def test_info_explains_relu(cli: Invoke, tmp_path: Path) -> None:
    out = cli("plot", "relu", "--info")
    assert out.exit_code == 0, out.stderr
    for text in ("ReLU(x) = max(0, x)", "dying ReLU", "kaiming_normal", "calculate_gain('relu')"):
        assert text in out.stdout
    assert not list(tmp_path.iterdir()), "--info draws nothing"
    doc = cli("plot", "relu", "--info", "--json").json()
    assert doc["activations"][0]["pitfalls"]


def test_catalogue_does_not_import_torch_or_matplotlib() -> None:
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from nncli.cli import app\n"
        "r = CliRunner().invoke(app, ['activations'])\n"
        "assert r.exit_code == 0, r.output\n"
        "print(sorted(m for m in ('torch', 'matplotlib') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- language -------------------------------------------------------------------------------


def _titles_and_legends(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Capture the texts of every figure the command saves."""
    seen: list[list[str]] = []
    real = figures.save_figure

    def spy(fig: object, path: object, dpi: int = 150) -> Path:
        texts = []
        for ax in fig.axes:  # type: ignore[attr-defined]
            texts.append(ax.get_title())
            legend = ax.get_legend()
            if legend is not None:
                texts.extend(t.get_text() for t in legend.get_texts())
        seen.append(texts)
        return real(fig, path, dpi=dpi)  # type: ignore[arg-type]

    monkeypatch.setattr(figures, "save_figure", spy)
    return seen


def test_zh_with_a_real_cjk_font(cli: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    if figures.find_cjk_font() is None:
        pytest.skip("no CJK font installed")
    seen = _titles_and_legends(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph ... missing from font" would fail the run
        out = cli("plot", "sigmoid", "--lang", "zh", *SMALL, "--json")
    assert out.exit_code == 0, out.stderr
    assert out.stderr == ""
    assert out.json()["language"] == "zh"
    texts = seen[0]
    assert "Sigmoid函数" in texts and "Sigmoid导数" in texts
    assert any("梯度消失区域" in t for t in texts)


def test_zh_softmax_and_overlay_draw_every_glyph(cli: Invoke) -> None:
    if figures.find_cjk_font() is None:
        pytest.skip("no CJK font installed")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = cli("plot", "relu", "softmax", "--lang", "zh", *SMALL)
    assert out.exit_code == 0, out.stderr


def test_nncli_lang_sets_the_default(cli: Invoke) -> None:
    if figures.find_cjk_font() is None:
        pytest.skip("no CJK font installed")
    out = cli("plot", "tanh", *SMALL, "--json", env={"NNCLI_LANG": "zh"})
    assert out.json()["language"] == "zh"
    out = cli("plot", "tanh", *SMALL, "--json", "--lang", "en", env={"NNCLI_LANG": "zh"})
    assert out.json()["language"] == "en"


def test_zh_without_a_cjk_font_warns_and_falls_back(
    cli: Invoke, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(figures, "find_cjk_font", lambda: None)
    seen = _titles_and_legends(monkeypatch)
    out = cli("plot", "sigmoid", "--lang", "zh", *SMALL, "--json")
    assert out.exit_code == 0, out.stderr
    assert "Warning:" in out.stderr and "Chinese" in out.stderr
    assert out.json()["language"] == "en"
    assert "Sigmoid function" in seen[0]
    assert not any(ord(c) > 0x2E80 for text in seen[0] for c in text)  # no CJK at all
    # named by the language asked for, so `for lang in en zh` still gives two files
    assert (tmp_path / "sigmoid_zh.png").exists()


def test_unknown_language(cli: Invoke) -> None:
    assert_usage_error(cli("plot", "relu", "--lang", "fr"), "--lang", "'fr'")
    assert_usage_error(cli("plot", "relu", env={"NNCLI_LANG": "de"}), "NNCLI_LANG")


# -- --show and devices -----------------------------------------------------------------------


def test_show_without_display_warns_and_does_not_block(cli: Invoke, tmp_path: Path) -> None:
    out = cli("plot", "relu", "--show", *SMALL, env={"DISPLAY": None, "WAYLAND_DISPLAY": None})
    assert out.exit_code == 0, out.stderr
    assert "--show" in out.stderr and "display" in out.stderr
    assert (tmp_path / "relu.png").exists()


class FakePyplot:
    """An "interactive" pyplot: records show() instead of opening a window."""

    def __init__(self, backend: str = "TkAgg", fail: bool = False) -> None:
        self.backend, self.fail, self.shown = backend, fail, 0

    def get_backend(self) -> str:
        return self.backend

    def figure(self, figsize: tuple[float, float], **options: object) -> object:
        if self.fail:
            raise RuntimeError("couldn't connect to display ':99'")
        from matplotlib.figure import Figure

        return Figure(figsize=figsize, **options)  # type: ignore[arg-type]

    def show(self) -> None:
        self.shown += 1

    def close(self, _fig: object) -> None:
        pass


@pytest.mark.parametrize(
    ("fake", "warning"),
    [
        (FakePyplot(), None),
        (FakePyplot(backend="agg"), "no interactive matplotlib backend"),
        (FakePyplot(fail=True), "could not open a window"),
    ],
)
def test_show_with_a_display(
    cli: Invoke,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    fake: FakePyplot,
    warning: str | None,
) -> None:
    monkeypatch.setattr(figures, "has_display", lambda: True)
    monkeypatch.setattr(figures, "pyplot", lambda show=False: fake)
    out = cli("plot", "relu", "--show", *SMALL)
    assert out.exit_code == 0, out.stderr
    assert (tmp_path / "relu.png").exists()  # saved before any window is tried
    if warning is None:
        assert fake.shown == 1 and out.stderr == ""
    else:
        assert fake.shown == 0 and warning in out.stderr


def test_device_is_reported(cli: Invoke) -> None:
    assert cli("plot", "relu", *SMALL, "--device", "cpu", "--json").json()["device"] == "cpu"


@pytest.mark.usefixtures("no_accelerators")
def test_unavailable_device_is_a_runtime_failure(cli: Invoke, tmp_path: Path) -> None:
    assert_usage_error(cli("plot", "relu", "--device", "cuda"), "'cuda'", "not available", code=1)
    assert not list(tmp_path.iterdir())


# -- errors -----------------------------------------------------------------------------------


def test_unknown_name_suggests_the_closest(cli: Invoke) -> None:
    assert_usage_error(cli("plot", "sigmod"), "'sigmod'", "did you mean sigmoid?")


def test_no_name(cli: Invoke) -> None:
    assert_usage_error(cli("plot"), "at least one activation")


@pytest.mark.parametrize(
    ("lo", "hi", "fragment"),
    [
        ("1", "1", "LO < HI"),
        ("5", "-5", "LO < HI"),
        ("nan", "1", "finite"),
        ("-inf", "1", "finite"),
        ("0", "inf", "finite"),
    ],
)
def test_bad_range(cli: Invoke, tmp_path: Path, lo: str, hi: str, fragment: str) -> None:
    assert_usage_error(cli("plot", "relu", "--range", lo, hi), "--range", fragment)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("points", "rule"),
    [
        ("1", "at least 2, got 1"),
        ("0", "at least 2, got 0"),
        ("-5", "at least 2, got -5"),
        ("10000001", "at most 10,000,000, got 10,000,001"),
        ("18446744073709551616", "at most 10,000,000"),
    ],
)
def test_bad_points(cli: Invoke, points: str, rule: str) -> None:
    assert_usage_error(cli("plot", "relu", "--points", points), f"--points must be {rule}")


def test_bad_saturation_and_dpi(cli: Invoke) -> None:
    assert_usage_error(cli("plot", "relu", "--saturation", "-1"), "--saturation", "-1")
    assert_usage_error(cli("plot", "relu", "--dpi", "0"), "--dpi", "0")


def test_unknown_extension(cli: Invoke, tmp_path: Path) -> None:
    assert_usage_error(cli("plot", "relu", "-o", "fig.jpg"), "'fig.jpg'", ".png", ".svg", ".pdf")
    assert not list(tmp_path.iterdir())


def test_missing_directory_is_exit_1_naming_the_path(cli: Invoke) -> None:
    assert_usage_error(
        cli("plot", "relu", "-o", "nope/fig.png"), "'nope/fig.png'", "does not exist", code=1
    )


def test_unwritable_directory_is_exit_1(cli: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    from nncli import files

    os.mkdir("locked")

    # Root may write anywhere, so creating the probe file itself is made to fail.
    def refuse(*_a: object, **_k: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(files.tempfile, "mkstemp", refuse)
    out = cli("plot", "relu", "-o", "locked/fig.png")
    assert_usage_error(out, "'locked/fig.png'", "Permission denied", code=1)
    assert os.listdir("locked") == []


def test_negative_slope_for_an_activation_without_it(cli: Invoke) -> None:
    out = cli("plot", "relu", "--negative-slope", "0.1")
    assert_usage_error(out, "--negative-slope does not apply to relu")
    assert_usage_error(cli("plot", "leaky_relu", "--negative-slope", "nan"), "finite")


def test_failed_save_leaves_no_file(
    cli: Invoke, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from matplotlib.figure import Figure

    def broken(self: Figure, path: str, **_kw: object) -> None:
        Path(path).write_bytes(b"\x89PNG half a file")
        raise OSError("disk full")

    monkeypatch.setattr(Figure, "savefig", broken)
    out = cli("plot", "relu", *SMALL)
    assert_usage_error(out, "disk full", code=1)
    assert list(tmp_path.iterdir()) == []


# -- argument handling, as properties ---------------------------------------------------------


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lo=st.floats(-1e6, 1e6), hi=st.floats(-1e6, 1e6))
def test_range_ordering_is_enforced(cli: Invoke, lo: float, hi: float) -> None:
    out = cli("plot", "sigmoid", "--range", repr(lo), repr(hi), "--points", "11", "--json")
    if lo < hi:
        assert out.exit_code == 0, out.stderr
        doc = out.json()
        assert doc["range"] == [lo, hi]
        for a, b in doc["series"][0]["saturation"]:
            assert lo <= a <= b <= hi
    else:
        assert_usage_error(out, "LO < HI")


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(points=st.integers(-10, 40) | st.integers(10_000_001, 10**12))
def test_points_bounds(cli: Invoke, points: int) -> None:
    out = cli("plot", "relu", "--points", str(points), "--json", "-o", "p.svg")
    if 2 <= points <= 10_000_000:
        assert out.exit_code == 0, out.stderr
        assert len(out.json()["series"][0]["x"]) == points
    else:
        assert_usage_error(out, "--points")


def test_saturation_intervals_agree_with_dy_in_json(cli: Invoke) -> None:
    doc = cli("plot", "gelu", "hardswish", "--points", "400", "--json").json()
    t = doc["saturation_threshold"]
    for series in doc["series"]:
        assert series["saturation_rule"] == "absolute" and series["saturation_cutoff"] == t
        x, g = np.array(series["x"]), np.abs(np.array(series["dy"]))
        for xi, gi in zip(x, g, strict=True):
            dead = any(a <= xi <= b for a, b in series["dead"])
            if dead:
                assert gi == 0  # the registry's dead region is flat in autograd too
            elif gi < t:
                assert any(a <= xi <= b for a, b in series["saturation"])
            if any(a < xi < b for a, b in series["saturation"]):
                assert gi < t


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 50_000), limit=st.integers(4, 5_000), seed=st.integers(0, 10))
def test_envelope_keeps_every_bucket_extreme(n: int, limit: int, seed: int) -> None:
    from nncli.render.activation_figure import envelope

    rng = np.random.default_rng(seed)
    x = np.linspace(-1, 1, n)
    y = rng.standard_normal(n).cumsum()
    ex, ey = envelope(x, y, limit)
    assert len(ex) == len(ey) <= max(n, limit)
    assert np.all(np.diff(ex) >= 0)  # still drawn left to right
    assert ey.max() == y.max() and ey.min() == y.min()
    assert set(ey.tolist()) <= set(y.tolist())
