"""The two-panel loss figure: L(x) on the left, ∂L/∂x (autograd) on the right.

The same layout as the activation figure, built from its helpers: a fixed plot area,
legends below the panels in a band the figure grows to hold (so they never cover a
curve or a band), a single curve's small-gradient regions shaded full height, and
with several curves one named strip per curve along the bottom. A small gradient
means one of two opposite things, and the figure shades them apart: "stuck" (the
loss far above its minimum: wrong, yet learning stalls) in a hatched warning red,
"converged" (the loss near its minimum: right, nothing left to learn) in a pale calm
green; a strip is hatched and strong where stuck, pale where converged. ``nncli loss
mse bce --through sigmoid`` thus shows MSE stuck over the confidently wrong logits,
where BCE is never stuck, and both converged on the right.

Without ``--show`` the figure is built on matplotlib's ``Figure`` directly, so pyplot
and its GUI machinery are never imported.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nncli.fmt import num
from nncli.render.activation_figure import (
    AXES_HEIGHT,
    BELOW_AXES,
    PAD,
    TOP,
    WIDTH,
    _anchor_legend,
    _band,
    _fit_legend,
    _place_axes,
    _span,
    envelope,
    focus_limits,
)
from nncli.render.figures import FigureOutcome, new_figure, render_and_save, strip_label

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from nncli.core.loss.losscurves import LossCurve, LossCurves

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "loss": "{label} loss",
        "gradient": "{label} gradient (autograd)",
        "losses": "Losses",
        "gradients": "Gradients (autograd)",
        "through": " through {act}",
        "target": "target y = {y}",
        "stuck": "stuck: wrong, yet |∂L/∂{v}| < {t}",
        "converged": "converged: right, |∂L/∂{v}| < {t}",
        "strip_stuck": "hatched strip: stuck, wrong yet |∂L/∂{v}| < {t}",
        "strip_converged": "pale strip: converged, right and |∂L/∂{v}| < {t}",
        "cut": "{label} (runs off the axes, to {top})",
        "residual": "prediction − target  ŷ − y",
        "probability": "predicted probability p",
        "logit": "logit z",
        "logit_through": "pre-activation logit z (prediction = {act}(z))",
        "logit_class": "logit z of the true class (the other {k} are 0)",
        "loss_axis": "loss L",
        "grad_axis": "∂L/∂{v}",
    },
    "zh": {
        "loss": "{label}",
        "gradient": "{label}梯度(自动求导)",
        "losses": "损失函数",
        "gradients": "梯度(自动求导)",
        "through": " (经过 {act})",
        "target": "目标值 y = {y}",
        "stuck": "卡住: 预测错误, 但 |∂L/∂{v}| < {t}",
        "converged": "已收敛: 预测正确, |∂L/∂{v}| < {t}",
        "strip_stuck": "斜线色带: 卡住, 预测错误但 |∂L/∂{v}| < {t}",
        "strip_converged": "浅色色带: 已收敛, 预测正确且 |∂L/∂{v}| < {t}",
        "cut": "{label} (超出坐标轴, 至 {top})",
        "residual": "预测值 - 目标值 ŷ - y",
        "probability": "预测概率 p",
        "logit": "logit z",
        "logit_through": "激活前的 logit z (预测值 = {act}(z))",
        "logit_class": "真实类别的 logit z (其余 {k} 个为 0)",
        "loss_axis": "损失 L",
        "grad_axis": "梯度 ∂L/∂{v}",
    },
}

# What "prediction" axes are called in Chinese (the registry's x_desc is English).
X_DESC_ZH = {
    "log-probability predicted": "预测的对数概率",
    "log-rate predicted": "预测的对数速率",
    "rate predicted": "预测的速率",
    "distance between the pair": "样本对之间的距离",
    "angle θ between x₁ and x₂ (radians)": "x₁ 与 x₂ 的夹角 θ (弧度)",
    "score difference x₁ − x₂": "分数差 x₁ - x₂",
}

SINGLE_LOSS, SINGLE_GRAD = "tab:blue", "tab:red"

# Stuck is the warning (red, hatched: it must read as a problem even in grey print);
# converged is calm (a pale green wash, no hatch). RGBA colours rather than one alpha,
# so the hatch stays strong while the wash stays light.
STUCK_STYLE: dict[str, Any] = {
    "facecolor": (0.84, 0.15, 0.16, 0.14),
    "edgecolor": (0.84, 0.15, 0.16, 0.55),
    "hatch": "//",
    "linewidth": 0,
}
CONVERGED_STYLE: dict[str, Any] = {"facecolor": (0.17, 0.63, 0.17, 0.13), "linewidth": 0}
# Several curves: each strip is in its curve's colour, hatched and strong where stuck,
# pale where converged; the legend shows both in grey.
STRIP_STUCK_ALPHA, STRIP_CONVERGED_ALPHA = 0.6, 0.2
STRIP_HATCH = "////"


def save_loss_figure(
    result: LossCurves,
    path: str | os.PathLike[str],
    lang: str,
    dpi: int = 150,
    show: bool = False,
) -> Path:
    """Build and save the figure atomically; the path written."""
    return render_loss_figure(result, path, lang=lang, dpi=dpi, show=show).path


def render_loss_figure(
    result: LossCurves,
    path: str | os.PathLike[str],
    *,
    lang: str = "en",
    dpi: int = 150,
    show: bool = False,
) -> FigureOutcome:
    """As :func:`save_loss_figure`, with the language drawn and any warnings (zh
    without a CJK font, ``--show`` without a display) for the caller to print."""
    return render_and_save(
        lambda language, plt: build_loss_figure(result, language, plt),
        path,
        lang=lang,
        dpi=dpi,
        show=show,
    )


def figure_document(
    result: LossCurves, output: str, language: str, limit: int | None = None
) -> dict[str, Any]:
    """The ``--json`` document of a figure: the issue's keys, then the sampling.

    With ``limit``, each series carries at most that many samples (every k-th, the last
    one too, as ``plot``); the intervals and findings always come from every sample.
    """
    from nncli.core.loss.losscurves import NEAR_MINIMUM_SHARE
    from nncli.render.activation_tables import stride_for, strided_indices

    stride = stride_for(result.points, limit)
    keep: Any = strided_indices(result.points, limit) if stride > 1 else slice(None)
    kept = result.points if stride == 1 else len(keep)
    series = []
    for curve in result.curves:
        entry = dict(curve.properties)  # the registry entry, then this curve
        entry.update(
            {
                "loss": curve.loss,
                "params": curve.params,
                "x_kind": result.x_kind,  # the axis drawn, not the registry's default
                "x": curve.x[keep],
                "value": curve.value[keep],
                "grad": curve.grad[keep],
                "saturation": [list(iv) for iv in curve.saturation],
                # saturation, split: far above the minimum (stuck) or near it (converged)
                "stuck": [list(iv) for iv in curve.stuck],
                "converged": [list(iv) for iv in curve.converged],
                "loss_floor": curve.floor,
                "near_minimum": curve.near_minimum,
                "curve_notes": curve.notes,  # the registry's "notes" stay as they are
            }
        )
        series.append(entry)
    return {
        "output": output,
        "target": result.target,
        "through": result.through,
        "x_kind": result.x_kind,
        "classes": result.classes,
        "range": [result.lo, result.hi],
        "points": result.points,
        "series_points": kept,
        "series_stride": stride,
        "dtype": result.dtype,
        "device": result.device,
        "saturation_threshold": result.threshold,
        "near_minimum_share": NEAR_MINIMUM_SHARE,
        "language": language,
        "findings": result.findings,
        "series": series,
    }


def variable(result: LossCurves) -> str:
    from nncli.core.loss.losscurves import x_symbol

    return x_symbol(result.x_kind)


def x_label(result: LossCurves, lang: str) -> str:
    text = TEXT[lang]
    if result.x_kind == "logit" and result.through is not None:
        return text["logit_through"].format(act=result.through)
    if result.x_kind == "logit" and any(_multi_class(c) for c in result.curves):
        return text["logit_class"].format(k=result.classes - 1)
    if result.x_kind in ("residual", "probability", "logit"):
        return text[result.x_kind]
    return X_DESC_ZH.get(result.x_desc, result.x_desc) if lang == "zh" else result.x_desc


def _multi_class(curve: LossCurve) -> bool:
    return bool(curve.properties.get("task") == "multi-class")


def build_loss_figure(result: LossCurves, lang: str, pyplot_module: Any = None) -> Figure:
    """The two panels for ``result``; ``lang`` must already be applied (en or zh)."""
    curves = result.curves
    text = TEXT[lang]
    single = len(curves) == 1
    colours = [SINGLE_LOSS] if single else [f"C{i % 10}" for i in range(len(curves))]
    names = [_label(c, lang) for c in curves]
    limits = None if single else _focus(curves, names, text)
    size = (WIDTH, TOP + AXES_HEIGHT + BELOW_AXES)
    fig = new_figure(size, pyplot_module)  # its canvas measures the legends
    _place_axes(fig, size[1], BELOW_AXES)
    left, right = fig.subplots(1, 2)
    for curve, colour in zip(curves, colours, strict=True):
        left.plot(*envelope(curve.x, curve.value), color=colour, linewidth=2)
        right.plot(
            *envelope(curve.x, curve.grad), color=SINGLE_GRAD if single else colour, linewidth=2
        )
    if limits is not None:
        left.set_ylim(*limits)
    v = variable(result)
    if single:
        _band(right, curves[0].stuck, 0, 1, **STUCK_STYLE)
        _band(right, curves[0].converged, 0, 1, **CONVERGED_STYLE)
    else:
        _shade_strips(right, curves, colours)
    _titles(left, right, result, names, lang)
    for ax in (left, right):
        ax.set_xlabel(x_label(result, lang))
        ax.set_xlim(result.lo, result.hi)
        ax.grid(True, alpha=0.3)
        ax.axhline(0, color="0.6", linewidth=0.8, zorder=0)
    left.set_ylabel(text["loss_axis"])
    right.set_ylabel(text["grad_axis"].format(v=v))
    legends = _legend_entries(result, names, colours, lang)
    placed = [_fit_legend(fig, left, *legends[0]), _fit_legend(fig, right, *legends[1])]
    # The band below the x labels is as tall as the taller legend; the plot area keeps
    # its size, so the figure grows rather than the axes shrinking.
    bottom = BELOW_AXES + max(placed) + PAD
    height = TOP + AXES_HEIGHT + bottom
    fig.set_size_inches(WIDTH, height)
    _place_axes(fig, height, bottom)
    for ax in (left, right):
        _anchor_legend(fig, ax, height)
    return fig


def _label(curve: LossCurve, lang: str) -> str:
    return (curve.label_zh or curve.label) if lang == "zh" else curve.label


def _titles(left: Axes, right: Axes, result: LossCurves, names: list[str], lang: str) -> None:
    text = TEXT[lang]
    if len(result.curves) == 1:
        loss_title = text["loss"].format(label=names[0])
        grad_title = text["gradient"].format(label=names[0])
    else:
        loss_title, grad_title = text["losses"], text["gradients"]
    through = text["through"].format(act=result.through) if result.through else ""
    target = text["target"].format(y=num(result.target))
    left.set_title(f"{loss_title}{through}, {target}")
    right.set_title(f"{grad_title}{through}")


def _legend_entries(
    result: LossCurves, names: Sequence[str], colours: Sequence[str], lang: str
) -> list[tuple[list[Any], list[str]]]:
    """(handles, labels) for the left and the right panel: proxies, since the bands
    and strips are collections and a label may say that its curve runs off the axes."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    text = TEXT[lang]
    v = variable(result)
    t = num(result.threshold)
    lines = [Line2D([], [], color=c, linewidth=2) for c in colours]
    left = (list(lines), list(names))
    stuck = any(c.stuck for c in result.curves)
    converged = any(c.converged for c in result.curves)
    handles: list[Any]
    if len(result.curves) == 1:
        handles = [Line2D([], [], color=SINGLE_GRAD, linewidth=2)]
        labels = [text["gradient"].format(label=_label(result.curves[0], lang))]
        if stuck:
            handles.append(Patch(**STUCK_STYLE))
            labels.append(text["stuck"].format(v=v, t=t))
        if converged:
            handles.append(Patch(**CONVERGED_STYLE))
            labels.append(text["converged"].format(v=v, t=t))
        return [left, (handles, labels)]
    handles, labels = list(lines), [_label(c, lang) for c in result.curves]
    if stuck:
        handles.append(
            Patch(
                facecolor="0.45",
                alpha=STRIP_STUCK_ALPHA,
                hatch=STRIP_HATCH,
                edgecolor="black",
                linewidth=0,
            )
        )
        labels.append(text["strip_stuck"].format(v=v, t=t))
    if converged:
        handles.append(Patch(facecolor="0.45", alpha=STRIP_CONVERGED_ALPHA, linewidth=0))
        labels.append(text["strip_converged"].format(v=v, t=t))
    return [left, (handles, labels)]


def _shade_strips(ax: Axes, curves: Sequence[LossCurve], colours: Sequence[str]) -> None:
    """Several curves: one strip per curve along the bottom, in the curve's colour,
    hatched and strong where it is stuck, pale where it has converged.

    As the activation figure's strips (full-height shading of several curves would
    stack into an unreadable brown): each strip is named at its left in its curve's
    colour, and the y-limits are extended downwards so the strips sit below the
    curves rather than on top of them.
    """
    height, gap = 0.03, 0.008
    used = len(curves) * (height + gap) + gap
    low, high = ax.get_ylim()
    ticks = [tick for tick in ax.get_yticks() if low <= tick <= high]
    ax.set_ylim(low - used * (high - low) / (1 - used), high)
    ax.set_yticks(ticks)  # no y ticks beside the strips: they are not data
    for k, (curve, colour) in enumerate(zip(curves, colours, strict=True)):
        y0 = gap + (len(curves) - 1 - k) * (height + gap)  # first curve on top
        _band(
            ax,
            curve.stuck,
            y0,
            y0 + height,
            facecolor=colour,
            alpha=STRIP_STUCK_ALPHA,
            edgecolor="black",
            hatch=STRIP_HATCH,
            linewidth=0,
        )
        _band(
            ax,
            curve.converged,
            y0,
            y0 + height,
            facecolor=colour,
            alpha=STRIP_CONVERGED_ALPHA,
            linewidth=0,
        )
        strip_label(ax, y0 + height / 2, curve.name, colour)


def _focus(
    curves: Sequence[LossCurve], labels: list[str], text: dict[str, str]
) -> tuple[float, float] | None:
    """Focused y-limits for the loss panel (a loss 100× taller would flatten the
    others); the legend says which curves leave the axes, and how far they go."""
    spans = [_span(c.value) for c in curves]
    limits = focus_limits(spans)
    if limits is None:
        return None
    for i, (lo, hi) in enumerate(spans):
        if hi > limits[1] or lo < limits[0]:
            top = num(hi if hi > limits[1] else lo, 3)
            labels[i] = text["cut"].format(label=labels[i], top=top)
    return limits
