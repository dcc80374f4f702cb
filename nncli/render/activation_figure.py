"""The tutorial's two-panel activation figure: f(x) on the left, f'(x) on the right.

One curve reproduces the tutorial's picture (titles such as "Sigmoid函数" and
"Sigmoid导数" in Chinese); several curves overlay in the same two panels. The
derivative panel shades where the gradient vanishes (|f'| below the curve's cutoff;
for softmax relative to its own maximum, the tutorial's 信息丢失区间) and, hatched,
where it is exactly zero (dead units); the two never overlap. With several curves
the shading becomes one named strip per curve along the bottom.

Legends go below the panels, in a band the figure grows to hold, so they can never
cover a curve or a band, whatever the language and the length of the labels.

Without ``--show`` the figure is built on matplotlib's ``Figure`` directly, so
pyplot and its GUI machinery are never imported.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from nncli.fmt import num
from nncli.render.figures import FigureOutcome, new_figure, render_and_save, strip_label

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from nncli.core.activation.curves import Curve

# Above this many samples a line is drawn from a min/max envelope per pixel-sized
# bucket: identical on screen, and Agg does not have to stroke a million vertices.
DRAW_LIMIT = 20_000

SATURATION_COLOUR = "tab:red"
DEAD_COLOUR = "0.35"

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "function": "{label} function",
        "derivative": "{label} derivative",
        "functions": "Activation functions",
        "derivatives": "Derivatives (autograd)",
        "vanishing": "gradient vanishing: |f′| < {t}",
        "information": "information loss: |f′| < {t} × max",
        "dead": "dead: f′ = 0, no gradient",
        "strips": "strip: |f′| < {t} (gradient vanishing)",
        "strips_relative": "strip: |f′| < {t} × max (information loss)",
        "strips_dead": "hatched: f′ = 0 (dead)",
        "cut": "{label} (runs off the axes, to {top})",
        "softmax_function": "Softmax function (1-D input)",
        "softmax_derivative": "Softmax derivative (1-D: ∂yᵢ/∂xᵢ)",
        "softmax_note": (
            "softmax takes the {n} sampled x values as one vector; "
            "the derivative is the Jacobian diagonal ∂yᵢ/∂xᵢ = yᵢ(1 − yᵢ)"
        ),
    },
    "zh": {
        "function": "{label}函数",
        "derivative": "{label}导数",
        "functions": "激活函数",
        "derivatives": "导数(自动求导)",
        "vanishing": "梯度消失区域 (|f'| < {t})",
        "information": "信息丢失区间 (|f'| < {t} × 最大值)",
        "dead": "神经元死亡区域 (f' = 0)",
        "strips": "色带: |f'| < {t} (梯度消失区域)",
        "strips_relative": "色带: |f'| < {t} × 最大值 (信息丢失区间)",
        "strips_dead": "斜线: f' = 0 (神经元死亡)",
        "cut": "{label} (超出坐标轴, 至 {top})",
        "softmax_function": "Softmax函数(1D输入)",
        "softmax_derivative": "Softmax导数(1D情况)",
        "softmax_note": (
            "将{n}个采样点 x 视为一个向量做 softmax；导数为雅可比矩阵的对角线 ∂yᵢ/∂xᵢ = yᵢ(1 − yᵢ)"
        ),
    },
}

# The figure's layout in inches: a fixed plot area, and below each panel its x label
# and then its legend, outside the axes so that it never covers a curve or a band.
WIDTH, AXES_HEIGHT, TOP, BELOW_AXES = 12.0, 3.6, 0.45, 0.5
LEFT, RIGHT, WSPACE = 0.075, 0.97, 0.27
LEGEND_FONT = 8.33  # points: matplotlib's "small" at the default 10 pt
NOTE_HEIGHT, PAD = 0.28, 0.12
# A curve taller than this many times the shortest one would flatten it: the
# y-axis then follows the shorter curves and the tall ones run off the top.
FOCUS_RATIO = 4.0


def _prime(lang: str) -> str:
    # CJK fonts often lack U+2032 (prime) and U+2212 (minus); ASCII is safe.
    return "'" if lang == "zh" else "′"


def envelope(x: Any, y: Any, limit: int = DRAW_LIMIT) -> tuple[Any, Any]:
    """At most ``limit`` points that draw the same line: each bucket's min and max, in order."""
    import numpy as np

    n = len(x)
    if n <= limit:
        return x, y
    buckets = limit // 2
    size = -(-n // buckets)  # ceil
    pad = buckets * size - n
    xs = np.concatenate([x, np.full(pad, x[-1])]).reshape(buckets, size)
    ys = np.concatenate([y, np.full(pad, y[-1])]).reshape(buckets, size)
    finite = np.where(np.isfinite(ys), ys, np.nan)
    with np.errstate(invalid="ignore"):
        i_min = np.nanargmin(np.where(np.isnan(finite), np.inf, finite), axis=1)
        i_max = np.nanargmax(np.where(np.isnan(finite), -np.inf, finite), axis=1)
    first = np.minimum(i_min, i_max)
    second = np.maximum(i_min, i_max)
    rows = np.arange(buckets)
    out_x = np.stack([xs[rows, first], xs[rows, second]], axis=1).ravel()
    out_y = np.stack([ys[rows, first], ys[rows, second]], axis=1).ravel()
    return out_x, out_y


def build_figure(curves: Sequence[Curve], lang: str, pyplot_module: Any = None) -> Figure:
    """The two panels for ``curves``; ``lang`` must already be applied (en or zh)."""
    text = TEXT[lang]
    prime = _prime(lang)
    single = len(curves) == 1
    colours = ["tab:blue"] if single else [f"C{i % 10}" for i in range(len(curves))]
    legends = _legend_entries(curves, colours, lang)
    # Only the function panel is focused: derivatives share one scale (max |f′| ≈ 1),
    # and their peaks are what the right panel is for.
    limits = None if single else _focus(curves, legends[0][1], text)
    size = (WIDTH, TOP + AXES_HEIGHT + BELOW_AXES)
    fig = new_figure(size, pyplot_module)  # its canvas measures the legends
    _place_axes(fig, size[1], BELOW_AXES)
    left, right = fig.subplots(1, 2)

    for curve, colour in zip(curves, colours, strict=True):
        x, y = envelope(curve.x, curve.y)
        left.plot(x, y, color=colour, linewidth=2)
        x, dy = envelope(curve.x, curve.dy)
        right.plot(x, dy, color="tab:red" if single else colour, linewidth=2)
    if limits is not None:
        left.set_ylim(*limits)
    if single:
        _shade_single(right, curves[0])
    else:
        _shade_strips(right, curves, colours)
    _titles(left, right, curves, lang, prime)
    for ax in (left, right):
        ax.set_xlabel("x")
        ax.set_xlim(curves[0].x[0], curves[0].x[-1])
        ax.grid(True, alpha=0.3)
        ax.axhline(0, color="0.6", linewidth=0.8, zorder=0)

    notes = [c for c in curves if not c.activation.elementwise]
    placed = [_fit_legend(fig, left, *legends[0]), _fit_legend(fig, right, *legends[1])]
    # The band below the x labels is as tall as the taller legend; the plot area keeps
    # its size, so the figure grows rather than the axes shrinking.
    bottom = BELOW_AXES + max(placed) + PAD + (NOTE_HEIGHT if notes else 0.0)
    height = TOP + AXES_HEIGHT + bottom
    fig.set_size_inches(WIDTH, height)
    _place_axes(fig, height, bottom)
    for ax in (left, right):
        _anchor_legend(fig, ax, height)
    if notes:
        fig.text(
            0.5,
            0.01,
            text["softmax_note"].format(n=notes[0].points),
            ha="center",
            va="bottom",
            fontsize="small",
            color="0.3",
        )
    return fig


def _place_axes(fig: Figure, height: float, bottom: float) -> None:
    # Fixed margins instead of tight_layout: the layout is known (two panels, short tick
    # labels), and tight_layout's measuring draw costs about as much as the whole figure.
    fig.subplots_adjust(
        left=LEFT, right=RIGHT, top=1 - TOP / height, bottom=bottom / height, wspace=WSPACE
    )


def _fit_legend(fig: Figure, ax: Axes, handles: list[Any], labels: list[str]) -> float:
    """Put the legend under ``ax`` in as many columns as fit the panel's width
    (measured with the real fonts, Chinese included); returns its height in inches."""
    renderer = _renderer(fig)
    panel = ax.get_position().width * fig.get_figwidth()
    for ncol in range(len(labels), 0, -1):
        legend = ax.legend(
            handles,
            labels,
            loc="upper center",
            ncol=ncol,
            fontsize=LEGEND_FONT,
            frameon=False,
            borderaxespad=0,
            borderpad=0,
        )
        box = legend.get_window_extent(renderer)
        if box.width / fig.dpi <= panel or ncol == 1:
            break
    return float(box.height / fig.dpi)


def _renderer(fig: Figure) -> Any:
    canvas = fig.canvas
    if hasattr(canvas, "get_renderer"):
        return canvas.get_renderer()
    return fig._get_renderer()  # type: ignore[attr-defined]


def _anchor_legend(fig: Figure, ax: Axes, height: float) -> None:
    """The legend's top centred under the panel's x label, in the band kept for it."""
    box = ax.get_position()
    legend = ax.get_legend()
    assert legend is not None  # placed by _fit_legend
    legend.set_bbox_to_anchor(
        (box.x0 + box.width / 2, box.y0 - BELOW_AXES / height), transform=fig.transFigure
    )


def _titles(left: Axes, right: Axes, curves: Sequence[Curve], lang: str, prime: str) -> None:
    text = TEXT[lang]
    act = curves[0].activation
    single = len(curves) == 1
    if single and not act.elementwise:
        left.set_title(text["softmax_function"])
        right.set_title(text["softmax_derivative"])
    elif single:
        label = act.display_label(lang)
        left.set_title(text["function"].format(label=label))
        right.set_title(text["derivative"].format(label=label))
    else:
        left.set_title(text["functions"])
        right.set_title(text["derivatives"])
    symbol = act.axis_symbol if single else "f"
    left.set_ylabel(f"{symbol}(x)")
    right.set_ylabel(f"{symbol}{prime}(x)")


def _legend_entries(
    curves: Sequence[Curve], colours: Sequence[str], lang: str
) -> list[tuple[list[Any], list[str]]]:
    """(handles, labels) for the left and the right panel's legends.

    Built from proxies rather than from the plotted artists: the bands and strips are
    collections, and the left panel's labels may say that a curve runs off the axes.
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    lang_text = TEXT[lang]
    single = len(curves) == 1
    lines, names = [], []
    for curve, colour in zip(curves, colours, strict=True):
        lines.append(Line2D([], [], color=colour, linewidth=2))
        names.append(curve.activation.display_label(lang))
    left = (list(lines), list(names))
    if single:
        curve = curves[0]
        handles: list[Any] = [Line2D([], [], color="tab:red", linewidth=2)]
        labels = [lang_text["derivative"].format(label=names[0])]
        if curve.saturation:
            handles.append(Patch(**VANISHING_STYLE))
            labels.append(_vanishing_label(curve, lang_text))
        if curve.dead:
            handles.append(Patch(**DEAD_STYLE))
            labels.append(lang_text["dead"])
        return [left, (handles, labels)]
    handles, labels = list(lines), list(names)
    t = num(curves[0].threshold)
    rules = [c.rule for c in curves if c.threshold > 0]
    for rule, key in (("absolute", "strips"), ("relative", "strips_relative")):
        if rule in rules:
            handles.append(Patch(facecolor="0.6", alpha=0.6))
            labels.append(lang_text[key].format(t=t))
    if any(c.dead for c in curves):
        handles.append(Patch(facecolor="none", edgecolor="black", hatch="////"))
        labels.append(lang_text["strips_dead"])
    return [left, (handles, labels)]


def _vanishing_label(curve: Curve, text: dict[str, str]) -> str:
    key = "information" if curve.rule == "relative" else "vanishing"
    return text[key].format(t=num(curve.threshold))


def focus_limits(
    spans: Sequence[tuple[float, float]], ratio: float = FOCUS_RATIO
) -> tuple[float, float] | None:
    """y-limits that keep every curve's shape readable, or None where autoscale does.

    The "short" curves are those spanning at most ``ratio`` times the shortest; the
    axis covers them with half their height to spare on each side (never beyond the
    data), so a tall curve such as ReLU on [−5, 5] runs off the top instead of
    flattening sigmoid and tanh into a sliver. A flat curve is readable at any scale.
    """
    spans = [(a, b) for a, b in spans if math.isfinite(a) and math.isfinite(b)]
    tall = [b - a for a, b in spans if b > a]
    if not tall:
        return None
    shortest = min(tall)
    core = [(a, b) for a, b in spans if b - a <= ratio * shortest]
    lo, hi = min(a for a, _ in core), max(b for _, b in core)
    margin = (hi - lo) / 2
    all_lo, all_hi = min(a for a, _ in spans), max(b for _, b in spans)
    lo, hi = max(all_lo, lo - margin), min(all_hi, hi + margin)
    if lo <= all_lo and hi >= all_hi:
        return None
    pad = 0.05 * (hi - lo)  # matplotlib's own default margin
    return lo - pad, hi + pad


def _span(values: Any) -> tuple[float, float]:
    import numpy as np

    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return math.nan, math.nan
    return float(finite.min()), float(finite.max())


def _focus(
    curves: Sequence[Curve], labels: list[str], text: dict[str, str]
) -> tuple[float, float] | None:
    """:func:`focus_limits` for the function panel (softmax's 1/N-sized values do not
    set the scale); the legend says which curves leave the axes, and how far they go."""
    spans = [_span(c.y) for c in curves]
    limits = focus_limits(
        [s for s, c in zip(spans, curves, strict=True) if c.activation.elementwise]
    )
    if limits is None:
        return None
    for i, (lo, hi) in enumerate(spans):
        if hi > limits[1] or lo < limits[0]:
            top = num(hi if hi > limits[1] else lo, 3)
            labels[i] = text["cut"].format(label=labels[i], top=top)
    return limits


VANISHING_STYLE: dict[str, Any] = {"facecolor": SATURATION_COLOUR, "alpha": 0.15, "linewidth": 0}
DEAD_STYLE: dict[str, Any] = {
    "facecolor": "none",
    "edgecolor": DEAD_COLOUR,
    "hatch": "//",
    "linewidth": 0,
}


def _band(
    ax: Axes, intervals: Sequence[tuple[float, float]], y0: float, y1: float, **style: Any
) -> Any:
    """x-intervals drawn from y0 to y1 in axes fractions, as one collection.

    A collection (not axvspan's patches) so it does not stretch the y-limits.
    """
    from matplotlib.collections import PolyCollection

    verts = [[(lo, y0), (hi, y0), (hi, y1), (lo, y1)] for lo, hi in intervals]
    band = PolyCollection(verts, transform=ax.get_xaxis_transform(), **style)
    ax.add_collection(band, autolim=False)
    return band


def _shade_single(ax: Axes, curve: Curve) -> None:
    # Vanishing and dead never overlap (a dead region is not also "vanishing"), so
    # ReLU's negative side is hatched as dead only, as the tutorial tells it.
    if curve.saturation:
        _band(ax, curve.saturation, 0, 1, **VANISHING_STYLE)
    if curve.dead:
        _band(ax, curve.dead, 0, 1, **DEAD_STYLE)


def _shade_strips(ax: Axes, curves: Sequence[Curve], colours: Sequence[str]) -> None:
    """Overlaid curves: one strip per curve along the bottom instead of full-height shading.

    Full-height shading of several curves would stack into an unreadable brown;
    strips keep each curve's region apart, and each strip is named at its left in
    the curve's colour. The y-limits are extended downwards so the strips sit below
    the curves rather than on top of them.
    """
    height, gap = 0.03, 0.008
    used = len(curves) * (height + gap) + gap
    low, high = ax.get_ylim()
    ticks = [t for t in ax.get_yticks() if low <= t <= high]
    ax.set_ylim(low - used * (high - low) / (1 - used), high)
    ax.set_yticks(ticks)  # no y ticks beside the strips: they are not data
    for k, (curve, colour) in enumerate(zip(curves, colours, strict=True)):
        y0 = gap + (len(curves) - 1 - k) * (height + gap)  # first curve on top
        _band(ax, curve.saturation, y0, y0 + height, facecolor=colour, alpha=0.45, linewidth=0)
        _band(
            ax,
            curve.dead,
            y0,
            y0 + height,
            facecolor="none",
            edgecolor="black",
            hatch="////",
            linewidth=0,
        )
        strip_label(ax, y0 + height / 2, curve.name, colour)


def render_figure(
    curves: Sequence[Curve],
    path: str | os.PathLike[str],
    *,
    lang: str = "en",
    dpi: int = 150,
    show: bool = False,
) -> FigureOutcome:
    """Build and save the figure atomically; with ``show`` and a display, also show it."""
    return render_and_save(
        lambda language, plt: build_figure(curves, language, plt),
        path,
        lang=lang,
        dpi=dpi,
        show=show,
    )
