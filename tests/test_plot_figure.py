"""The activation figure as a teacher would check it: drawn, then measured in display space.

Legends must never cover a curve or a shaded band (both languages), ReLU's negative
side is dead and only dead, softmax is shaded relative to its own maximum, overlaid
strips are named, and the function panel's y-limits show every curve.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

from nncli.core.activation.activations import get_activation
from nncli.core.activation.curves import compute_curves
from nncli.render import figures
from nncli.render.activation_figure import build_figure, focus_limits
from tests.conftest import Invoke

CASES = [
    ("sigmoid",),
    ("relu",),
    ("softmax",),
    ("hardsigmoid",),
    ("sigmoid", "tanh", "relu", "gelu"),
    ("sigmoid", "tanh", "relu", "softmax", "hardswish", "relu6", "gelu_tanh", "leaky_relu"),
]


def _has_cjk() -> bool:
    return figures.find_cjk_font() is not None


LANGS = ["en", pytest.param("zh", marks=pytest.mark.skipif(not _has_cjk(), reason="no CJK"))]


def _figure(names: tuple[str, ...], lang: str = "en", **kw: float) -> Iterator[Figure]:
    curves = compute_curves([get_activation(n) for n in names], -5, 5, 500, **kw)
    with matplotlib.rc_context(), warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph would be a warning
        effective, _ = figures.apply_language(lang)
        fig = build_figure(curves, effective)
        fig.canvas.draw()
        yield fig


def _boxes(fig: Figure) -> dict[str, list[object]]:
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    out: dict[str, list[object]] = {"legends": [], "data": [], "axes": [], "labels": []}
    for ax in fig.axes:
        out["axes"].append(ax.get_window_extent(renderer))
        legend = ax.get_legend()
        if legend is not None:
            out["legends"].append(legend.get_window_extent(renderer))
        for line in ax.get_lines():
            out["data"].append(line.get_window_extent(renderer))
        for artist in ax.collections:
            if isinstance(artist, PolyCollection):
                # the bands live in (data x, axes y): measure each polygon where it is drawn
                transform = artist.get_transform()
                for path in artist.get_paths():
                    out["data"].append(path.transformed(transform).get_extents())
        out["labels"].append(ax.xaxis.label.get_window_extent(renderer))
        for tick in ax.get_xticklabels():
            if tick.get_text():
                out["labels"].append(tick.get_window_extent(renderer))
    return out


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("names", CASES, ids="-".join)
def test_legends_never_cover_data_or_shading(names: tuple[str, ...], lang: str) -> None:
    for fig in _figure(names, lang):
        boxes = _boxes(fig)
        width, height = fig.bbox.width, fig.bbox.height
        assert len(boxes["legends"]) == 2, "both panels have a legend"
        assert all(np.isfinite(b.bounds).all() for b in boxes["data"])  # type: ignore[attr-defined]
        for legend in boxes["legends"]:
            for box in boxes["data"] + boxes["axes"] + boxes["labels"]:
                assert not legend.overlaps(box), (legend, box)  # type: ignore[attr-defined]
            assert legend.x0 >= 0 and legend.y0 >= 0  # type: ignore[attr-defined]
            assert legend.x1 <= width and legend.y1 <= height  # type: ignore[attr-defined]
        one, two = boxes["legends"]
        assert not one.overlaps(two)  # type: ignore[attr-defined]


def _legend_texts(fig: Figure, panel: int) -> list[str]:
    legend = fig.axes[panel].get_legend()
    return [t.get_text() for t in legend.get_texts()]


def test_relu_is_dead_only_not_vanishing() -> None:
    for fig in _figure(("relu",)):
        right = fig.axes[1]
        bands = [c for c in right.collections if isinstance(c, PolyCollection)]
        assert len(bands) == 1 and bands[0].get_hatch() == "//"
        texts = _legend_texts(fig, 1)
        assert "dead: f′ = 0, no gradient" in texts
        assert not any("vanishing" in t for t in texts)


def test_softmax_legend_names_the_relative_rule() -> None:
    for fig in _figure(("softmax",)):
        texts = _legend_texts(fig, 1)
        assert "information loss: |f′| < 0.05 × max" in texts
        # shaded x < 2.0 only, not the whole panel as an absolute 0.05 would
        (band,) = [c for c in fig.axes[1].collections if isinstance(c, PolyCollection)]
        xs = band.get_paths()[0].vertices[:, 0]
        assert xs.min() == -5 and 1.9 < xs.max() < 2.1


@pytest.mark.skipif(not _has_cjk(), reason="no CJK font")
def test_softmax_in_chinese_is_the_information_loss_region() -> None:
    for fig in _figure(("softmax",), "zh"):
        assert any("信息丢失区间" in t for t in _legend_texts(fig, 1))


def test_overlay_names_every_strip_and_has_a_derivative_legend() -> None:
    names = ("sigmoid", "tanh", "relu", "gelu")
    for fig in _figure(names):
        right = fig.axes[1]
        strip_names = [t.get_text() for t in right.texts]
        assert strip_names == list(names)
        texts = _legend_texts(fig, 1)
        assert texts[:4] == ["Sigmoid", "Tanh", "ReLU", "GELU"]
        assert "strip: |f′| < 0.05 (gradient vanishing)" in texts
        assert "hatched: f′ = 0 (dead)" in texts


def test_overlay_y_limits_show_sigmoid_and_tanh() -> None:
    for fig in _figure(("sigmoid", "tanh", "relu", "gelu")):
        lo, hi = fig.axes[0].get_ylim()
        # tanh spans [−1, 1]: at least half the height (it was a third with y up to 5)
        assert 2 / (hi - lo) > 0.5 and lo < -1 and hi > 1
        texts = _legend_texts(fig, 0)
        assert "ReLU (runs off the axes, to 5)" in texts
        assert "Sigmoid" in texts and "Tanh" in texts


@pytest.mark.parametrize(
    ("spans", "expected"),
    [
        ([(0.0, 1.0), (-1.0, 1.0), (0.0, 5.0)], (-1.15, 2.15)),  # core [−1, 1] ± 1, cut at 2
        ([(0.0, 1.0), (-1.0, 1.0)], None),  # nothing is squashed: autoscale
        ([(0.0, 0.25), (0.0, 1.0)], None),  # 4× is still readable
        ([(0.0, 1.0), (6.0, 6.0)], None),  # a flat line is readable at any scale
        ([(0.0, 1.0), (-20.0, 0.0)], (-0.575, 1.075)),  # cut below, never beyond the data
    ],
)
def test_focus_limits(
    spans: list[tuple[float, float]], expected: tuple[float, float] | None
) -> None:
    got = focus_limits(spans)
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected)


@pytest.fixture
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


@pytest.mark.usefixtures("_in_tmp")
def test_zh_default_file_does_not_overwrite_english(cli: Invoke, tmp_path: Path) -> None:
    assert cli("plot", "sigmoid", "-n", "51").exit_code == 0
    out = cli("plot", "sigmoid", "-n", "51", "--lang", "zh")
    assert out.exit_code == 0, out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sigmoid.png", "sigmoid_zh.png"]
    out = cli("plot", "sigmoid", "-n", "51", "--json", env={"NNCLI_LANG": "zh"})
    assert out.json()["output"] == "sigmoid_zh.png"


@pytest.mark.usefixtures("_in_tmp")
@pytest.mark.parametrize("ext", ["png", "svg"])
def test_a_huge_range_draws(cli: Invoke, tmp_path: Path, ext: str) -> None:
    out = cli("plot", "sigmoid", "relu", "--range", "-1e300", "1e300", "-o", f"h.{ext}")
    assert out.exit_code == 0, out.stderr
    assert (tmp_path / f"h.{ext}").stat().st_size > 1000
    assert "Warning" not in out.stderr


def test_strips_stay_below_the_curves() -> None:
    for fig in _figure(("sigmoid", "relu")):
        right = fig.axes[1]
        low, _ = right.get_ylim()
        lowest_curve = min(float(np.nanmin(line.get_ydata())) for line in right.get_lines()[:2])
        assert low < lowest_curve
