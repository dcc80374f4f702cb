"""Figures of ``nncli init-stats``: weight histograms against the theoretical density,
and per-layer activation and gradient size through a deep stack on log axes.

Saved, like every figure, through :func:`nncli.render.figures.render_and_save`: the
file is built on matplotlib's ``Figure`` directly, so it cannot block or need a
display; only ``--show`` builds it again through pyplot, for the window. The language
is applied there; these functions only pick the strings.
"""

from __future__ import annotations

import itertools
import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nncli.fmt import num
from nncli.render.figures import FigureOutcome, new_figure, render_and_save

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from nncli.core.init.initstats import InitStatsResult, SchemeStats
    from nncli.core.init.propagation import Propagation

DENSITY_POINTS = 400
STEM_TOP = 0.88  # a point mass is drawn as an arrow up to this fraction of the axes
# The log axis of the depth figure spans the stacks that stay finite and in range, with
# this much room above; an exploding stack leaves it with a marker instead of squeezing
# the others into its bottom decades.
HEADROOM = 100.0

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "weight": "weight value",
        "density": "density",
        "no_density": "point mass (no density)",
        "hist_title": "Weight distributions: shape (fan_out, fan_in) = ({fan_out}, {fan_in}), "
        "seed {seed}",
        "hist_shared": "; shared x axis",
        "empirical": "empirical (n = {n}): σ = {std}",
        "measured_mass": "measured: every weight = {value} (n = {n})",
        "theory": "theory {label}: σ = {std}",
        "mass": "theory: point mass at {value}, P = {p}",
        "no_finite": "no finite values",
        "depth_title": "Through {depth} layers of {width} × {width} + {activation} "
        "(batch {batch}, seed {seed})",
        "act_title": "Activation std per layer (forward)",
        "grad_title": "Gradient size per layer (backward from sum(output))",
        "layer": "layer",
        "act_label": "std of the layer's output",
        "grad_label": "gradient rms √mean(g²), g = ∂ sum(output)/∂ output",
        "zero": "0 from layer {layer}",
        "overflow": "inf/NaN from layer {layer}",
        "off_axis": "↑ off the axis from layer {layer}, up to {value}",
        "then_overflow": "; inf/NaN from layer {layer}",
    },
    "zh": {
        "weight": "权重值",
        "density": "密度",
        "no_density": "点质量 (无密度)",
        "hist_title": "权重分布: 形状 (fan_out, fan_in) = ({fan_out}, {fan_in}), 随机种子 {seed}",
        "hist_shared": "; 共用横轴",
        "empirical": "实测 (n = {n}): σ = {std}",
        "measured_mass": "实测: 所有权重 = {value} (n = {n})",
        "theory": "理论 {label}: σ = {std}",
        "mass": "理论: 点质量 {value}, P = {p}",
        "no_finite": "没有有限值",
        "depth_title": "{depth} 层 {width} × {width} + {activation} "
        "(batch {batch}, 随机种子 {seed})",
        "act_title": "各层激活值标准差 (前向)",
        "grad_title": "各层梯度大小 (从 sum(output) 反向)",
        "layer": "层",
        "act_label": "激活值标准差",
        "grad_label": "梯度标准差 (均方根 √mean(g²))",
        "zero": "第 {layer} 层起为 0",
        "overflow": "第 {layer} 层起 inf/NaN",
        "off_axis": "↑ 第 {layer} 层起超出坐标轴, 最大 {value}",
        "then_overflow": "; 第 {layer} 层起 inf/NaN",
    },
}


# --- weight histograms ------------------------------------------------------------------


def hist_figure(
    result: InitStatsResult,
    path: str | os.PathLike[str],
    *,
    lang: str = "en",
    dpi: int = 150,
    show: bool = False,
) -> FigureOutcome:
    """Build and save the histograms (``--hist``); with ``show`` and a display, show them."""
    return render_and_save(
        lambda language, plt: build_hist_figure(result, language, plt),
        path,
        lang=lang,
        dpi=dpi,
        show=show,
    )


def build_hist_figure(
    result: InitStatsResult, lang: str = "en", pyplot_module: Any = None
) -> Figure:
    """One panel per scheme: the weight histogram (as a density) and the theory over it.

    Panels share the x axis when several schemes are compared, so their spreads can be
    compared at a glance (each panel on its own scale would make them all look alike).
    """
    text = TEXT[lang]
    items = result.results
    cols = 1 if len(items) == 1 else 2
    rows = math.ceil(len(items) / cols)
    fig = new_figure((6.4 * cols, 4.4 * rows), pyplot_module, layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    ranges = [_hist_range(res) for res in items]
    shared = None
    if len(items) > 1:
        shared = (min(lo for lo, _ in ranges), max(hi for _, hi in ranges))
    for ax, res, own in zip(axes.flat, items, ranges, strict=False):
        _hist_panel(ax, res, shared or own, text)
    for ax in list(axes.flat)[len(items) :]:
        ax.set_visible(False)
    first = items[0]
    title = text["hist_title"].format(
        fan_out=f"{first.fan_out:,}", fan_in=f"{first.fan_in:,}", seed=result.seed
    )
    fig.suptitle(title + (text["hist_shared"] if shared else ""), fontsize="medium")
    return fig


def _is_point(res: SchemeStats) -> bool:
    """Every weight has the same value: a point mass, which has no density to draw."""
    emp = res.empirical
    return res.theory.density is None or (math.isfinite(emp.min) and emp.min == emp.max)


def _hist_range(res: SchemeStats) -> tuple[float, float]:
    """The x range that shows this scheme: its values and its support, where bounded."""
    hist, theory = res.histogram, res.theory
    if hist is not None and hist.edges and not _is_point(res):
        lo, hi = hist.edges[0], hist.edges[-1]
    else:
        lo = hi = theory.mean if math.isfinite(theory.mean) else 0.0
    if theory.low is not None and theory.high is not None and theory.high > theory.low:
        pad = 0.05 * (theory.high - theory.low)
        lo, hi = min(lo, theory.low - pad), max(hi, theory.high + pad)
    if hi == lo:  # a point mass alone: a window around it
        half = max(abs(lo) * 0.5, 1e-3)
        lo, hi = lo - half, hi + half
    return lo, hi


def _hist_panel(
    ax: Axes, res: SchemeStats, xlim: tuple[float, float], text: dict[str, str]
) -> None:
    hist, theory = res.histogram, res.theory
    n = res.numel
    ax.set_title(f"{_name(res)}\n{theory.formula}", fontsize="small", wrap=True)
    ax.set_xlabel(text["weight"])
    ax.grid(True, alpha=0.3)
    if hist is None or not hist.edges:
        ax.set_ylabel(text["density"])
        ax.text(0.5, 0.5, text["no_finite"], ha="center", va="center", transform=ax.transAxes)
        return
    if _is_point(res):
        _point_panel(ax, res, xlim, text)
        return
    ax.set_ylabel(text["density"])
    edges, counts = hist.edges, hist.counts
    widths = [hi - lo for lo, hi in itertools.pairwise(edges)]
    heights = [c / (n * w) if w > 0 else 0.0 for c, w in zip(counts, widths, strict=True)]
    ax.bar(edges[:-1], heights, width=widths, align="edge", color="tab:blue", alpha=0.55,
           edgecolor="none",
           label=text["empirical"].format(n=f"{n:,}", std=num(res.empirical.std)))  # fmt: skip
    lo, hi = xlim
    ceiling = max(heights, default=1.0)
    if theory.density is not None:
        xs = [lo + (hi - lo) * i / (DENSITY_POINTS - 1) for i in range(DENSITY_POINTS)]
        # include the support's edges so a uniform density is drawn as a sharp box
        for edge in (theory.low, theory.high):
            if edge is not None:
                xs.extend((math.nextafter(edge, -math.inf), edge, math.nextafter(edge, math.inf)))
        xs.sort()
        ys = [theory.density(x) for x in xs]
        ax.plot(xs, ys, color="tab:red", linewidth=2,
                label=text["theory"].format(label=theory.label, std=num(theory.std)))  # fmt: skip
        ceiling = max(ys)
        if theory.atom is None:
            ceiling = max(ceiling, max(heights, default=0.0))
        else:
            # the point mass's bar would dwarf the continuous part: keep that in view
            off = [h for h, a, b in zip(heights, edges[:-1], edges[1:], strict=True)
                   if not a <= theory.atom[0] <= b]  # fmt: skip
            ceiling = max(ceiling, max(off, default=0.0))
    if theory.atom is not None:
        where, mass = theory.atom
        _stem(ax, where, mass, "tab:red", text["mass"].format(value=num(where), p=num(mass, 3)))
    ax.set_xlim(lo, hi)
    ax.set_ylim(0, ceiling * 1.3)
    ax.legend(loc="upper right", fontsize="x-small", framealpha=0.9)


def _point_panel(
    ax: Axes, res: SchemeStats, xlim: tuple[float, float], text: dict[str, str]
) -> None:
    """Every weight equal: arrows of probability 1 at the theory's and the measured value
    (a histogram bar would show a 'density' that is only 1/bar width)."""
    theory, emp = res.theory, res.empirical
    ax.set_ylabel(text["no_density"])
    ax.set_yticks([])
    _stem(ax, emp.min, 1.0, "tab:blue",
          text["measured_mass"].format(value=num(emp.min), n=f"{res.numel:,}"), width=5,
          alpha=0.55)  # fmt: skip
    where, mass = theory.atom if theory.atom is not None else (theory.mean, 1.0)
    _stem(ax, where, mass, "tab:red", text["mass"].format(value=num(where), p=num(mass, 3)))
    ax.set_xlim(*xlim)
    ax.set_ylim(0, 1)
    ax.legend(loc="upper right", fontsize="x-small", framealpha=0.9)


def _stem(
    ax: Axes, where: float, mass: float, colour: str, label: str, width: float = 2,
    alpha: float = 1.0,
) -> None:  # fmt: skip
    """An arrow at ``where`` from the axis up to STEM_TOP, labelled with its probability."""
    blend = ax.get_xaxis_transform()  # x in data, y in axes fraction
    ax.plot([where, where], [0, STEM_TOP], transform=blend, color=colour, linewidth=width,
            alpha=alpha, label=label)  # fmt: skip
    ax.plot([where], [STEM_TOP], transform=blend, color=colour, marker="^", markersize=9,
            alpha=alpha)  # fmt: skip
    ax.text(where, STEM_TOP + 0.03, f"P = {num(mass, 3)}", transform=blend, color=colour,
            ha="center", va="bottom", fontsize="x-small")  # fmt: skip


def _name(res: SchemeStats) -> str:
    """The scheme with the parameters that differ from torch's defaults, for legends."""
    from nncli.core.init.inits import INIT_SCHEMES

    defaults = {p.name: p.default for p in INIT_SCHEMES[res.scheme].params}
    changed = [
        f"{k}={num(v)}" if isinstance(v, float) else f"{k}={v}"
        for k, v in res.values.items()
        if v != defaults.get(k)
    ]
    return f"{res.scheme} ({', '.join(changed)})" if changed else res.scheme


# --- depth propagation ------------------------------------------------------------------


@dataclass
class _Series:
    label: str
    colour: str
    layers: list[int]
    values: list[float]
    exploding: bool
    backward: bool = False  # gradients travel from the last layer down


def depth_figure(
    result: InitStatsResult,
    path: str | os.PathLike[str],
    *,
    lang: str = "en",
    dpi: int = 150,
    show: bool = False,
) -> FigureOutcome:
    """Build and save the depth figure (``--plot``); with ``show`` and a display, show it."""
    return render_and_save(
        lambda language, plt: build_depth_figure(result, language, plt),
        path,
        lang=lang,
        dpi=dpi,
        show=show,
    )


def build_depth_figure(
    result: InitStatsResult, lang: str = "en", pyplot_module: Any = None
) -> Figure:
    """Per-layer activation std (left) and gradient rms (right), one line per scheme."""
    text = TEXT[lang]
    props = [(_name(r), r.propagation) for r in result.results if r.propagation is not None]
    fig = new_figure((12, 5), pyplot_module, layout="constrained")
    left, right = fig.subplots(1, 2)
    acts, grads = [], []
    for i, (scheme, prop) in enumerate(props):
        colour, label = f"C{i % 10}", f"{scheme}: {prop.verdict}"
        layers = [lay.layer for lay in prop.layers]
        explodes = prop.verdict == "exploding"
        acts.append(_Series(label, colour, layers,
                            [lay.activation_std for lay in prop.layers], explodes))  # fmt: skip
        grads.append(_Series(label, colour, layers,
                             [lay.grad_std for lay in prop.layers], explodes,
                             backward=True))  # fmt: skip
    first: Propagation = props[0][1]
    fig.suptitle(
        text["depth_title"].format(depth=first.depth, width=first.width,
                                   activation=first.activation, batch=first.batch,
                                   seed=result.seed),
        fontsize="medium",
    )  # fmt: skip
    left.set_title(text["act_title"])
    right.set_title(text["grad_title"])
    for ax, series in ((left, acts), (right, grads)):
        ax.set_yscale("log")
        ax.set_xlabel(text["layer"])
        ax.grid(True, which="both", alpha=0.3)
        ax.axhline(1.0, color="0.5", linewidth=0.8, zorder=0)
        ax.set_xlim(0.5, first.depth + 0.5)
        window = _window(series)
        for s in series:
            _log_line(ax, s, window, text)
        if window is not None:
            ax.set_ylim(*window)
        ax.legend(loc="best", fontsize="small", framealpha=0.9)
    left.set_ylabel(text["act_label"])
    right.set_ylabel(text["grad_label"])
    return fig


def _finite(values: list[float]) -> list[float]:
    return [v for v in values if math.isfinite(v) and v > 0]


def _window(series: list[_Series]) -> tuple[float, float] | None:
    """The y range of the stacks that do not explode, with HEADROOM above; None (let
    matplotlib choose) when every stack explodes or none has a positive value."""
    calm = [v for s in series if not s.exploding for v in _finite(s.values)]
    if not calm or not any(s.exploding for s in series):
        return None
    lo, hi = min(calm), max(calm)
    return lo / 2, max(hi * HEADROOM, 10.0)


def _log_line(
    ax: Axes, s: _Series, window: tuple[float, float] | None, text: dict[str, str]
) -> None:
    """The finite, positive points, in the direction the signal travels, up to where the
    series leaves the window (a ▲ at the top edge, labelled with the value it reached)
    or overflows or reaches 0 (an ×)."""
    top = window[1] if window is not None else math.inf
    points: list[tuple[int, float]] = []
    end: tuple[int, float] | None = None  # the first point not drawn
    order = list(zip(s.layers, s.values, strict=True))
    for x, y in reversed(order) if s.backward else order:
        if not (math.isfinite(y) and y > 0) or y > top:
            end = (x, y)
            break
        points.append((x, y))
    marker: dict[str, Any] = {"marker": "o", "markersize": 3} if len(s.layers) <= 60 else {}
    if points:
        ax.plot(*zip(*points, strict=True), color=s.colour, linewidth=1.8, label=s.label,
                **marker)  # fmt: skip
    else:
        ax.plot([], [], color=s.colour, label=s.label)
    if end is None:
        return
    x, y = end
    if math.isfinite(y) and y > top:  # leaves the window upwards: clip with a marker
        peak = max(_finite(s.values))
        note = text["off_axis"].format(value=num(peak, 2), layer=x)
        over = next((lx for lx, ly in (reversed(order) if s.backward else order)
                     if not math.isfinite(ly)), None)  # fmt: skip
        if over is not None:
            note += text["then_overflow"].format(layer=over)
        ax.plot([x], [top], marker="^", color=s.colour, markersize=10, clip_on=False)
        # the note runs towards the middle of the axes, never off the figure
        right = x > (s.layers[0] + s.layers[-1]) / 2
        ax.annotate(note, (x, top), textcoords="offset points", xytext=(-6 if right else 6, -12),
                    fontsize="x-small", color=s.colour, ha="right" if right else "left",
                    va="top")  # fmt: skip
        return
    at = points[-1][1] if points else 1.0
    what = text["zero"] if y == 0 else text["overflow"]
    ax.plot([x], [at], marker="x", color=s.colour, markersize=10, mew=2)
    ax.annotate(what.format(layer=x), (x, at), textcoords="offset points", xytext=(4, 6),
                fontsize="x-small", color=s.colour)  # fmt: skip
