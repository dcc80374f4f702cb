"""The loss figure: non-empty PNG/SVG/PDF, byte-reproducible, legends below the data,
shading, Chinese labels; and the terminal renderers at 80 columns."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import matplotlib
import pytest
from rich.console import Console

from nncli.core.loss.losscurves import LossCurves, compute_curves
from nncli.core.loss.losses import LOSSES, get_loss
from nncli.render.figures import apply_language, find_cjk_font
from nncli.render.loss_figure import build_loss_figure, render_loss_figure, save_loss_figure
from nncli.render.loss_tables import (
    render_loss_catalogue,
    render_loss_curves,
    render_loss_info,
)

MAGIC = {"png": b"\x89PNG", "svg": b"<?xml", "pdf": b"%PDF"}


def result(*names: str, **options: Any) -> LossCurves:
    settings: dict[str, Any] = {
        "target": None,
        "through": None,
        "logits": False,
        "classes": 3,
        "lo": None,
        "hi": None,
        "points": 200,
        "dtype": "float64",
        "threshold": 0.05,
        "device": "cpu",
    }
    settings.update(options)
    return compute_curves([(get_loss(n), {}) for n in names], **settings)


@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
def test_every_format_is_written_and_reproducible(tmp_path: Path, fmt: str) -> None:
    data = result("mse", "bce", through="sigmoid")
    first = save_loss_figure(data, tmp_path / f"a.{fmt}", "en")
    second = save_loss_figure(data, tmp_path / f"b.{fmt}", "en")
    content = first.read_bytes()
    assert len(content) > 5000 and content.startswith(MAGIC[fmt])
    assert content == second.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"a.{fmt}", f"b.{fmt}"]  # no temp


def _legend_texts(ax: Any) -> list[str]:
    legend = ax.get_legend()
    assert legend is not None
    return [t.get_text() for t in legend.get_texts()]


def _bottom_of_axes(fig: Any) -> float:
    return min(ax.get_window_extent().y0 for ax in fig.axes)


@pytest.mark.parametrize(
    ("names", "options"),
    [(("mse", "bce"), {"through": "sigmoid"}), (("bce",), {}), (("mse", "huber", "mae"), {})],
)
def test_legends_sit_below_the_panels(names: tuple[str, ...], options: dict[str, Any]) -> None:
    fig = build_loss_figure(result(*names, **options), "en")
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    bottom = _bottom_of_axes(fig)
    for ax in fig.axes:
        legend = ax.get_legend()
        assert legend is not None
        assert legend.get_window_extent(renderer).y1 < bottom


def _filled(ax: Any) -> list[Any]:
    return [c for c in ax.collections if len(c.get_paths()) > 0]


def _x_spans(collection: Any) -> list[tuple[float, float]]:
    """The x extent of each band of a collection (its vertices are in data x)."""
    spans = []
    for path in collection.get_paths():
        xs = path.vertices[:, 0]
        spans.append((float(xs.min()), float(xs.max())))
    return spans


def test_the_mse_vs_bce_figure_has_a_strip_per_loss() -> None:
    data = result("mse", "bce", through="sigmoid")
    fig = build_loss_figure(data, "en")
    left, right = fig.axes
    assert "through sigmoid" in left.get_title() and "y = 1" in left.get_title()
    assert right.get_ylabel() == "∂L/∂z"
    assert "pre-activation logit z" in right.get_xlabel()
    names = {t.get_text() for t in right.texts}
    assert {"mse", "bce"} <= names
    strips = _filled(right)
    # mse: stuck (hatched) on the left, converged (pale) on the right; bce: converged only.
    hatched = [c for c in strips if c.get_hatch()]
    pale = [c for c in strips if not c.get_hatch()]
    mse, bce = data.curves
    assert [_x_spans(c) for c in hatched] == [mse.stuck]
    assert sorted(_x_spans(c) for c in pale) == sorted([mse.converged, bce.converged])
    labels = _legend_texts(right)
    assert "hatched strip: stuck, wrong yet |∂L/∂z| < 0.05" in labels
    assert "pale strip: converged, right and |∂L/∂z| < 0.05" in labels


def test_a_single_loss_shades_stuck_apart_from_converged() -> None:
    data = result("mse", through="sigmoid")
    fig = build_loss_figure(data, "en")
    left, right = fig.axes
    assert left.get_title().startswith("MSE loss")
    stuck, converged = _filled(right)
    (curve,) = data.curves
    assert _x_spans(stuck) == curve.stuck and stuck.get_hatch() == "//"
    assert _x_spans(converged) == curve.converged and not converged.get_hatch()
    # a warning red against a calm green, the green the paler
    red, green = stuck.get_facecolor()[0], converged.get_facecolor()[0]
    assert red[0] > red[1] and green[1] > green[0] and green[3] <= red[3]
    labels = _legend_texts(right)
    assert "stuck: wrong, yet |∂L/∂z| < 0.05" in labels
    assert "converged: right, |∂L/∂z| < 0.05" in labels


def test_a_loss_that_never_sticks_has_no_stuck_entry() -> None:
    """Huber's small gradient is only at its minimum: the key says converged, and
    nothing in the figure or its key says stuck (nor "vanishing")."""
    fig = build_loss_figure(result("huber"), "en")
    right = fig.axes[1]
    (converged,) = _filled(right)
    assert not converged.get_hatch()
    labels = " | ".join(_legend_texts(right))
    assert "converged" in labels and "stuck" not in labels and "vanishing" not in labels


def test_no_shading_without_a_threshold() -> None:
    fig = build_loss_figure(result("mse", through="sigmoid", threshold=0.0), "en")
    assert _filled(fig.axes[1]) == []
    assert len(_legend_texts(fig.axes[1])) == 1


def test_the_json_document_reports_both_kinds() -> None:
    from nncli.core.loss.losscurves import NEAR_MINIMUM_SHARE
    from nncli.render.loss_figure import figure_document

    data = result("mse", "bce", through="sigmoid")
    doc = figure_document(data, "x.png", "en")
    assert doc["near_minimum_share"] == NEAR_MINIMUM_SHARE
    mse = doc["series"][0]
    assert mse["stuck"] == [list(iv) for iv in data.curves[0].stuck]
    assert mse["converged"] == [list(iv) for iv in data.curves[0].converged]
    assert mse["saturation"] == [list(iv) for iv in data.curves[0].saturation]
    assert mse["loss_floor"] <= mse["near_minimum"]


def test_a_tall_loss_runs_off_the_axes_and_says_so() -> None:
    fig = build_loss_figure(result("mse", "bce", through="sigmoid"), "en")
    labels = _legend_texts(fig.axes[0])
    assert labels[1].startswith("BCE (runs off the axes, to 8")


@pytest.mark.skipif(find_cjk_font() is None, reason="no font with Chinese glyphs installed")
def test_chinese_labels(tmp_path: Path) -> None:
    data = result("mse", "bce", through="sigmoid")
    outcome = render_loss_figure(data, tmp_path / "zh.png", lang="zh")
    assert outcome.language == "zh" and not outcome.warnings
    assert outcome.path.stat().st_size > 5000
    with matplotlib.rc_context():
        apply_language("zh")
        fig = build_loss_figure(data, "zh")
        single = build_loss_figure(result("mse", through="sigmoid"), "zh")
    left, right = fig.axes
    assert left.get_title().startswith("损失函数") and "目标值" in left.get_title()
    assert right.get_title().startswith("梯度")
    assert left.get_ylabel() == "损失 L" and right.get_ylabel() == "梯度 ∂L/∂z"
    assert "激活前的 logit z" in left.get_xlabel()
    assert _legend_texts(left)[0] == "均方误差"
    labels = _legend_texts(right)
    assert "斜线色带: 卡住, 预测错误但 |∂L/∂z| < 0.05" in labels
    assert "浅色色带: 已收敛, 预测正确且 |∂L/∂z| < 0.05" in labels
    labels = _legend_texts(single.axes[1])
    assert "卡住: 预测错误, 但 |∂L/∂z| < 0.05" in labels
    assert "已收敛: 预测正确, |∂L/∂z| < 0.05" in labels


def test_every_prediction_axis_has_a_chinese_name() -> None:
    from nncli.render.loss_figure import X_DESC_ZH

    descs = {loss.x_desc for loss in LOSSES.values() if loss.x_kind == "prediction"}
    assert descs | {"rate predicted"} <= set(X_DESC_ZH)


# --- terminal renderers -------------------------------------------------------------------


def _console(width: int) -> Console:
    return Console(width=width, file=io.StringIO(), markup=False, no_color=True)


def _checked(console: Console) -> str:
    text = console.file.getvalue()  # type: ignore[attr-defined]
    for line in text.splitlines():
        assert len(line) <= console.width, line
        assert "…" not in line
    return text


@pytest.mark.parametrize("width", [80, 120])
def test_catalogue_keeps_every_column(width: int) -> None:
    console = _console(width)
    render_loss_catalogue(list(LOSSES.values()), console)
    text = _checked(console)
    for column in ("Name", "Task", "Loss", "Pairs with", "Prediction", "Target"):
        assert column in text
    for name in LOSSES:
        assert name in text
    assert "(bce_logits)" in text and "log-probabilities" in text


def test_info_has_the_pairing_table_with_its_row_marked() -> None:
    console = _console(80)
    render_loss_info(get_loss("cross_entropy"), console)
    text = _checked(console)
    assert "交叉熵损失" in text and "double softmax" in text
    assert "--label-smoothing" in text and "≥ 0 and ≤ 1" in text
    marked = [line for line in text.splitlines() if line.lstrip().startswith("▶")]
    assert len(marked) == 1 and "cross_entropy" in marked[0] and "softmax" in marked[0]


def test_curves_report_the_intervals_and_findings() -> None:
    console = _console(80)
    render_loss_curves(result("mse", "bce", through="sigmoid"), "x.png", "en", console)
    text = _checked(console)
    assert text.startswith("Wrote x.png")
    assert "stuck      x < -3.61" in text  # mse's vanishing gradient, confidently wrong
    assert "converged  x > 1.56" in text and "stuck      none" in text  # bce never stuck
    assert "more than 10% of its range above its minimum" in text
    assert "Numerical stability" in text and "−100" in text
