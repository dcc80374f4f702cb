"""Figures of ``nncli init-stats``: weight histograms against the theoretical density,
and per-layer activation and gradient std through a deep stack on log axes.

Built on matplotlib's ``Figure`` directly: pyplot and its GUI machinery are never
imported, and nothing here can block or need a display.
"""

from __future__ import annotations

import itertools
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nncli.render.figures import save_figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from nncli.core.initstats import InitStatsResult, SchemeStats

DENSITY_POINTS = 400


def _new_figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def hist_figure(result: InitStatsResult, path: str | os.PathLike[str]) -> Path:
    """One panel per scheme: the weight histogram (as a density) and the theory over it."""
    items = result.results
    cols = 1 if len(items) == 1 else 2
    rows = math.ceil(len(items) / cols)
    fig = _new_figure(6.4 * cols, 4.4 * rows)
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax, res in zip(axes.flat, items, strict=False):
        _hist_panel(ax, res)
    for ax in list(axes.flat)[len(items) :]:
        ax.set_visible(False)
    first = items[0]
    fig.suptitle(
        f"Weight distributions: shape (fan_out, fan_in) = ({first.fan_out:,}, {first.fan_in:,}), "
        f"seed {result.seed}",
        fontsize="medium",
    )
    return save_figure(fig, path)


def _hist_panel(ax: Axes, res: SchemeStats) -> None:
    hist, theory = res.histogram, res.theory
    n = res.numel
    ax.set_title(f"{_name(res)}\n{theory.formula}", fontsize="small", wrap=True)
    ax.set_xlabel("weight value")
    ax.set_ylabel("density")
    ax.grid(True, alpha=0.3)
    if hist is None or not hist.edges:
        ax.text(0.5, 0.5, "no finite values", ha="center", va="center", transform=ax.transAxes)
        return
    edges, counts = hist.edges, hist.counts
    widths = [hi - lo for lo, hi in itertools.pairwise(edges)]
    heights = [c / (n * w) if w > 0 else 0.0 for c, w in zip(counts, widths, strict=True)]
    ax.bar(
        edges[:-1],
        heights,
        width=widths,
        align="edge",
        color="tab:blue",
        alpha=0.55,
        edgecolor="none",
        label=f"empirical (n = {n:,}): σ = {res.empirical.std:.4g}",
    )
    top = max(heights) if heights else 1.0
    lo, hi = edges[0], edges[-1]
    if theory.low is not None and theory.high is not None and theory.high > theory.low:
        pad = 0.05 * (theory.high - theory.low)
        lo, hi = min(lo, theory.low - pad), max(hi, theory.high + pad)
    if theory.atom is not None and theory.density is None:  # a constant: show it as a bar
        half = (hi - lo) / 2
        lo, hi = lo - 2 * half, hi + 2 * half
    ceiling = top
    if theory.density is not None:
        xs = [lo + (hi - lo) * i / (DENSITY_POINTS - 1) for i in range(DENSITY_POINTS)]
        # include the support's edges so a uniform density is drawn as a sharp box
        for edge in (theory.low, theory.high):
            if edge is not None:
                xs.extend((math.nextafter(edge, -math.inf), edge, math.nextafter(edge, math.inf)))
        xs.sort()
        ys = [theory.density(x) for x in xs]
        ax.plot(xs, ys, color="tab:red", linewidth=2,
                label=f"theory {theory.label}: σ = {theory.std:.4g}")  # fmt: skip
        ceiling = max(ys)
        if theory.atom is None:
            ceiling = max(ceiling, top)
        else:
            # the point mass would dwarf the continuous part: keep that in view instead
            off = [h for h, a, b in zip(heights, edges[:-1], edges[1:], strict=True)
                   if not a <= theory.atom[0] <= b]  # fmt: skip
            ceiling = max(ceiling, max(off, default=0.0))
    if theory.atom is not None:
        where, mass = theory.atom
        text = (
            f"theory: every weight = {where:g}"
            if theory.density is None
            else f"theory: point mass {mass:.3g} at {where:g} (bar off scale)"
        )
        ax.axvline(where, color="tab:red", linestyle="--", linewidth=2, label=text)
    ax.set_xlim(lo, hi)
    ax.set_ylim(0, ceiling * 1.3)
    ax.legend(loc="upper right", fontsize="x-small", framealpha=0.9)


def _name(res: SchemeStats) -> str:
    """The scheme with the parameters that differ from torch's defaults, for legends."""
    from nncli.core.inits import INIT_SCHEMES

    defaults = {p.name: p.default for p in INIT_SCHEMES[res.scheme].params}
    changed = [
        f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
        for k, v in res.values.items()
        if v != defaults.get(k)
    ]
    return f"{res.scheme} ({', '.join(changed)})" if changed else res.scheme


def depth_figure(result: InitStatsResult, path: str | os.PathLike[str]) -> Path:
    """Per-layer activation std (left) and gradient std (right), one line per scheme."""
    props = [(_name(r), r.propagation) for r in result.results if r.propagation is not None]
    fig = _new_figure(12, 5)
    left, right = fig.subplots(1, 2)
    for i, (scheme, prop) in enumerate(props):
        colour = f"C{i % 10}"
        layers = [lay.layer for lay in prop.layers]
        label = f"{scheme}: {prop.verdict}"
        _log_line(left, layers, [lay.activation_std for lay in prop.layers], colour, label)
        _log_line(right, layers, [lay.grad_std for lay in prop.layers], colour, label)
    first = props[0][1]
    fig.suptitle(
        f"Through {first.depth} layers of {first.width} × {first.width} + {first.activation} "
        f"(batch {first.batch}, seed {result.seed})",
        fontsize="medium",
    )
    left.set_title("Activation std per layer (forward)")
    right.set_title("Gradient std per layer (∂ sum(output) / ∂ layer output)")
    for ax in (left, right):
        ax.set_yscale("log")
        ax.set_xlabel("layer")
        ax.grid(True, which="both", alpha=0.3)
        ax.axhline(1.0, color="0.5", linewidth=0.8, zorder=0)
        ax.set_xlim(0.5, first.depth + 0.5)
        ax.legend(loc="best", fontsize="small", framealpha=0.9)
    left.set_ylabel("std of the layer's output")
    right.set_ylabel("gradient std (about 0)")
    return save_figure(fig, path)


def _log_line(ax: Axes, xs: list[int], ys: list[float], colour: str, label: str) -> None:
    """Plot the finite, positive points; mark where the values overflow or reach 0."""
    good = [(x, y) for x, y in zip(xs, ys, strict=True) if math.isfinite(y) and y > 0]
    marker: dict[str, Any] = {"marker": "o", "markersize": 3} if len(xs) <= 60 else {}
    if good:
        ax.plot(*zip(*good, strict=True), color=colour, linewidth=1.8, label=label, **marker)
    else:
        ax.plot([], [], color=colour, label=label)
    bad = next((x for x, y in zip(xs, ys, strict=True) if not (math.isfinite(y) and y > 0)), None)
    if bad is not None:
        at = good[-1][1] if good else 1.0
        y = next(v for x, v in zip(xs, ys, strict=True) if x == bad)
        what = "0" if y == 0 else "inf/NaN"
        ax.plot([bad], [at], marker="x", color=colour, markersize=10, mew=2)
        ax.annotate(f"{what} from layer {bad}", (bad, at), textcoords="offset points",
                    xytext=(4, 6), fontsize="x-small", color=colour)  # fmt: skip
