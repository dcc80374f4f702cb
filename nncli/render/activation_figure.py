"""The tutorial's two-panel activation figure: f(x) on the left, f'(x) on the right.

One curve reproduces the tutorial's picture (titles such as "Sigmoid函数" and
"Sigmoid导数" in Chinese); several curves overlay in the same two panels with a
legend. The derivative panel shades where the gradient vanishes (|f'| < T) and,
hatched, where it is exactly zero (dead units).

Without ``--show`` the figure is built on matplotlib's ``Figure`` directly, so
pyplot and its GUI machinery are never imported.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nncli.render.figures import apply_language, can_show, pyplot, save_figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from nncli.core.curves import Curve

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
        "vanishing": "gradient vanishing: |f′| < {t:g}",
        "dead": "dead: f′ = 0",
        "strips": "strips: |f′| < {t:g} (gradient vanishing)",
        "strips_dead": "hatched: f′ = 0 (dead)",
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
        "vanishing": "梯度消失区域 (|f'| < {t:g})",
        "dead": "神经元死亡区域 (f' = 0)",
        "strips": "色带: |f'| < {t:g} (梯度消失区域)",
        "strips_dead": "斜线: f' = 0 (神经元死亡)",
        "softmax_function": "Softmax函数(1D输入)",
        "softmax_derivative": "Softmax导数(1D情况)",
        "softmax_note": (
            "将{n}个采样点 x 视为一个向量做 softmax；导数为雅可比矩阵的对角线 ∂yᵢ/∂xᵢ = yᵢ(1 − yᵢ)"
        ),
    },
}


@dataclass
class FigureOutcome:
    path: Path
    language: str  # the language actually drawn (zh falls back to en without a font)
    shown: bool
    warnings: list[str] = field(default_factory=list)


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
    if pyplot_module is not None:
        fig = pyplot_module.figure(figsize=(12, 5))
    else:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(12, 5))
    left, right = fig.subplots(1, 2)
    single = len(curves) == 1
    threshold = curves[0].threshold
    colours = ["tab:blue"] if single else [f"C{i % 10}" for i in range(len(curves))]

    for curve, colour in zip(curves, colours, strict=True):
        label = curve.activation.display_label(lang)
        x, y = envelope(curve.x, curve.y)
        left.plot(x, y, color=colour, label=label, linewidth=2)
        x, dy = envelope(curve.x, curve.dy)
        d_label = text["derivative"].format(label=label) if single else label
        right.plot(x, dy, color="tab:red" if single else colour, label=d_label, linewidth=2)
        if threshold > 0 and single:
            _shade_single(right, curve, text)

    act = curves[0].activation
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
    for ax in (left, right):
        ax.set_xlabel("x")
        ax.set_xlim(curves[0].x[0], curves[0].x[-1])
        ax.grid(True, alpha=0.3)
        ax.axhline(0, color="0.6", linewidth=0.8, zorder=0)
        ax.legend(loc="best", fontsize="small", framealpha=0.9)
    strips = threshold > 0 and not single
    if strips:
        _shade_strips(right, curves, colours, text)

    notes = [c for c in curves if not c.activation.elementwise]
    bottom = 0.0
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
        bottom = 0.05
    # Fixed margins instead of tight_layout: the layout never changes (two panels,
    # short tick labels, matplotlib switches to offset notation for long ones), and
    # tight_layout's measuring draw costs about as much as the whole figure.
    # Room below the axes for the x label, the strips' legend and the softmax note.
    bottom += 0.11 + (0.08 if strips else 0.0)
    fig.subplots_adjust(left=0.075, right=0.97, top=0.92, bottom=bottom, wspace=0.27)
    return fig


def _band(
    ax: Axes, intervals: Sequence[tuple[float, float]], y0: float, y1: float, **style: Any
) -> Any:
    """x-intervals drawn from y0 to y1 in axes fractions, as one collection.

    A collection (not axvspan's patches) so it neither stretches the y-limits nor
    counts as an obstacle for the legend's "best" placement: a legend may sit on
    a shaded region, never on a curve.
    """
    from matplotlib.collections import PolyCollection

    verts = [[(lo, y0), (hi, y0), (hi, y1), (lo, y1)] for lo, hi in intervals]
    band = PolyCollection(verts, transform=ax.get_xaxis_transform(), **style)
    ax.add_collection(band, autolim=False)
    return band


def _shade_single(ax: Axes, curve: Curve, text: dict[str, str]) -> None:
    t = curve.threshold
    if curve.saturation:
        _band(
            ax,
            curve.saturation,
            0,
            1,
            facecolor=SATURATION_COLOUR,
            alpha=0.15,
            linewidth=0,
            label=text["vanishing"].format(t=t),
        )
    if curve.dead:
        _band(
            ax,
            curve.dead,
            0,
            1,
            facecolor="none",
            edgecolor=DEAD_COLOUR,
            hatch="//",
            linewidth=0,
            label=text["dead"],
        )


def _shade_strips(
    ax: Axes, curves: Sequence[Curve], colours: Sequence[str], text: dict[str, str]
) -> None:
    """Overlaid curves: one strip per curve along the bottom instead of full-height shading.

    Full-height shading of several curves would stack into an unreadable brown;
    strips keep each curve's region apart. The y-limits are extended downwards so
    the strips sit below the curves rather than on top of them.
    """
    from matplotlib.patches import Patch

    height, gap = 0.03, 0.008
    used = len(curves) * (height + gap) + gap
    low, high = ax.get_ylim()
    ticks = [t for t in ax.get_yticks() if low <= t <= high]
    ax.set_ylim((low - used * high) / (1 - used), high)
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
    t = curves[0].threshold
    # The left panel's legend names the curves; this one only explains the strips.
    handles: list[Any] = []
    handles.append(Patch(facecolor="0.6", alpha=0.6, label=text["strips"].format(t=t)))
    if any(c.dead for c in curves):
        handles.append(
            Patch(facecolor="none", edgecolor="black", hatch="////", label=text["strips_dead"])
        )
    # Below the axes: inside, "best" would ignore the strips and could cover them.
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.12),
        ncol=len(handles),
        fontsize="small",
        frameon=False,
    )


def render_figure(
    curves: Sequence[Curve],
    path: str | os.PathLike[str],
    *,
    lang: str = "en",
    dpi: int = 150,
    show: bool = False,
) -> FigureOutcome:
    """Build and save the figure atomically; with ``show`` and a display, also show it.

    The file is always written first, from a figure that needs no display. Only
    then is a window attempted, and any failure there (no GUI toolkit, a DISPLAY
    that cannot be opened) is a warning, never an error: the file is the result.
    """
    import matplotlib

    warnings: list[str] = []
    shown = False
    with matplotlib.rc_context():
        effective, warning = apply_language(lang)
        if warning:
            warnings.append(warning)
        saved = save_figure(build_figure(curves, effective), path, dpi=dpi)
        if show and not can_show(show):
            warnings.append("--show: no display found (DISPLAY/WAYLAND_DISPLAY unset); saved only")
        elif show:
            shown = _show_window(curves, effective, warnings)
    return FigureOutcome(saved, effective, shown, warnings)


def _show_window(curves: Sequence[Curve], lang: str, warnings: list[str]) -> bool:
    try:
        plt = pyplot(show=True)
        if str(plt.get_backend()).lower() == "agg":
            warnings.append("--show: no interactive matplotlib backend available; saved only")
            return False
        fig = build_figure(curves, lang, plt)
        try:
            plt.show()  # returns when the user closes the window
        finally:
            plt.close(fig)
    except Exception as exc:  # any GUI toolkit failure: the saved file is what counts
        warnings.append(
            f"--show: could not open a window ({type(exc).__name__}: {exc}); saved only"
        )
        return False
    return True
