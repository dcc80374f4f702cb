"""``nncli train --plot``: the dashboard, as TF Playground shows it.

Top row: the learning curves (train solid, test dashed) and the per-layer weight
gradient norm over the epochs on a log axis (vanishing gradients are orders of
magnitude, so only a log axis shows them). Below, for 2-D raw inputs, one panel
per run with the decision boundary (classification) or the regression surface as
a heat map, train points filled and test points hollow. Legends sit below their
axes, outside the data area, so they never cover a curve or a point.

The figure is built on matplotlib's ``Figure`` directly (no pyplot) unless a
pyplot module is handed in. It only draws: the surfaces are computed in
:mod:`nncli.core.train.surface` (in eval mode) and the run names in
:mod:`nncli.core.train.plan`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from nncli.core.train.datasets import Dataset
    from nncli.core.train.surface import Surface
    from nncli.core.train.trainer import TrainRun

PANEL = 4.2  # inches per panel
MAX_COLUMNS = 4

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "curves": "Learning curves",
        "epoch": "epoch",
        "loss": "loss",
        "grads": "Weight-gradient norm per layer",
        "grad": "gradient norm (log)",
        "train": "train",
        "test": "test",
        "layer": "layer {i}",
        "boundary": "Decision boundary: {run}",
        "surface": "Regression surface: {run}",
        "title": "nncli train {name}",
    },
    "zh": {
        "curves": "学习曲线",
        "epoch": "轮次",
        "loss": "损失",
        "grads": "各层权重梯度范数",
        "grad": "梯度范数（对数）",
        "train": "训练",
        "test": "测试",
        "layer": "第 {i} 层",
        "boundary": "决策边界：{run}",
        "surface": "回归曲面：{run}",
        "title": "nncli train {name}",
    },
}


def build_dashboard(ds: Dataset, runs: list[TrainRun]) -> Callable[[str, Any], Figure]:
    """The ``build(lang, pyplot)`` callback for :func:`render_and_save`.

    The surfaces are computed once, here, not per build: saving and showing draw the
    same arrays.
    """
    from nncli.core.train.surface import has_plane, surface

    surfaces = [surface(ds, run) for run in runs] if has_plane(ds) else []

    def build(lang: str, plt: Any) -> Figure:
        return _draw(ds, runs, surfaces, TEXT.get(lang, TEXT["en"]), plt)

    return build


def _draw(
    ds: Dataset, runs: list[TrainRun], surfaces: list[Surface], text: dict[str, str], plt: Any
) -> Figure:
    from nncli.core.train.plan import run_names
    from nncli.render.figures import new_figure

    names = run_names([r.config for r in runs], ds.name)
    columns = min(MAX_COLUMNS, max(2, len(surfaces)))
    rows_below = math.ceil(len(surfaces) / columns) if surfaces else 0
    size = (PANEL * columns, PANEL * (1 + rows_below) + 1.2)
    fig = new_figure(size, plt, layout="constrained")
    grid = fig.add_gridspec(1 + rows_below, columns)
    half = max(1, columns // 2)
    curves = fig.add_subplot(grid[0, :half])
    grads = fig.add_subplot(grid[0, half:])
    colours = [f"C{i % 10}" for i in range(len(runs))]
    _curves(curves, runs, names, colours, text)
    _gradients(grads, runs, names, colours, text)
    # No plane (a table without exactly two input columns): no surfaces to draw.
    for index, (name, values) in enumerate(zip(names[: len(surfaces)], surfaces, strict=True)):
        ax = fig.add_subplot(grid[1 + index // columns, index % columns])
        _surface(ax, ds, values, name, text)
    fig.suptitle(text["title"].format(name=ds.name))
    return fig


def _curves(
    ax: Axes, runs: list[TrainRun], names: list[str], colours: list[str], text: dict[str, str]
) -> None:
    for run, name, colour in zip(runs, names, colours, strict=True):
        epochs = [r.epoch for r in run.history]
        ax.plot(
            epochs,
            [_finite(r.train_loss) for r in run.history],
            color=colour,
            label=f"{name} {text['train']}",
        )
        ax.plot(
            epochs,
            [_finite(r.test_loss) for r in run.history],
            color=colour,
            linestyle="--",
            label=f"{name} {text['test']}",
        )
    ax.set_title(text["curves"])
    ax.set_xlabel(text["epoch"])
    _integer_epochs(ax)
    ax.set_ylabel(text["loss"])
    _legend_below(ax)


def _gradients(
    ax: Axes, runs: list[TrainRun], names: list[str], colours: list[str], text: dict[str, str]
) -> None:
    """One run: every layer. Several runs: the first and the last layer of each, the
    pair that shows vanishing gradients, so the panel stays readable at any depth."""
    for run, name, colour in zip(runs, names, colours, strict=True):
        epochs = [r.epoch for r in run.history]
        for i, style in _layers_drawn(run, several=len(runs) > 1):
            values = [_positive(r.grad_norms[i]) for r in run.history]
            prefix = f"{name} " if len(runs) > 1 else ""
            ax.plot(
                epochs,
                values,
                color=colour if len(runs) > 1 else f"C{i % 10}",
                linestyle=style,
                label=prefix + text["layer"].format(i=i + 1),
            )
    ax.set_yscale("log")
    ax.set_title(text["grads"])
    ax.set_xlabel(text["epoch"])
    _integer_epochs(ax)
    ax.set_ylabel(text["grad"])
    _legend_below(ax)


def _layers_drawn(run: TrainRun, *, several: bool) -> list[tuple[int, str]]:
    layers = len(run.history[0].grad_norms) if run.history else 0
    if not several:
        return [(i, "-") for i in range(layers)]
    return [(0, "-"), (layers - 1, ":")] if layers > 1 else [(0, "-")] * layers


def _integer_epochs(ax: Axes) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _legend_below(ax: Axes, offset: float = -0.15) -> None:
    """The legend under the panel (``offset`` in axes units, below its tick labels)."""
    handles, _labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(
            loc="upper center",
            bbox_to_anchor=(0.5, offset),
            ncols=2,
            fontsize="small",
            frameon=False,
        )


def _finite(x: float) -> float:
    return x if math.isfinite(x) else math.nan


def _positive(x: float) -> float:
    """A log axis cannot show 0 or NaN: such a point is left out (a gap), not faked."""
    return x if math.isfinite(x) and x > 0 else math.nan


def _colours(ds: Dataset, z: Any) -> dict[str, Any]:
    """One colour scale for the heat map and the points, so a point whose colour matches
    the background is one the model predicts right."""
    if ds.task == "binary":
        return {"cmap": "RdBu", "vmin": 0, "vmax": 1}
    if ds.task == "multi-class":
        return {"cmap": "tab10", "vmin": 0, "vmax": 9}
    import numpy as np

    finite = z[np.isfinite(z)]
    values = [finite, ds.y_train, ds.y_test]
    return {
        "cmap": "viridis",
        "vmin": float(min(v.min() for v in values if v.size)),
        "vmax": float(max(v.max() for v in values if v.size)),
    }


def _surface(ax: Axes, ds: Dataset, values: Surface, name: str, text: dict[str, str]) -> None:
    xs, ys, z = values.xs, values.ys, values.values
    colour = _colours(ds, z)
    alpha = {"binary": 0.45, "multi-class": 0.35}.get(ds.task, 0.7)
    ax.imshow(
        z,
        origin="lower",
        extent=(xs[0], xs[-1], ys[0], ys[-1]),
        aspect="auto",
        alpha=alpha,
        interpolation="nearest" if ds.task == "multi-class" else "antialiased",
        **colour,
    )
    _points(ax, ds, text, colour)
    key = "surface" if ds.task == "regression" else "boundary"
    ax.set_title(text[key].format(run=name), fontsize="medium")
    _legend_below(ax, -0.08)


def _points(ax: Axes, ds: Dataset, text: dict[str, str], colour: dict[str, Any]) -> None:
    assert ds.raw_train is not None and ds.raw_test is not None
    ax.scatter(
        ds.raw_train[:, 0],
        ds.raw_train[:, 1],
        c=ds.y_train,
        s=10,
        edgecolors="black",
        linewidths=0.3,
        label=text["train"],
        **colour,
    )
    # Test points as crosses: told apart from the training points without a second colour.
    ax.scatter(
        ds.raw_test[:, 0],
        ds.raw_test[:, 1],
        c=ds.y_test,
        s=14,
        marker="x",
        linewidths=0.9,
        label=text["test"],
        **colour,
    )
