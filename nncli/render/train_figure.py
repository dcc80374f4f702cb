"""``nncli train --plot``: the dashboard, ready for a slide in English or Chinese.

The panels:

* the learning curves (train solid, test dashed; one colour per run);
* the signal ratio the vanishing-gradients verdict reads: per run, the norm of the
  backpropagated signal dL/d(pre-activation) at layer 1 over the last layer's
  (:func:`nncli.core.train.trainer.signal_ratio` of each epoch's ``signal_norms``),
  smoothed by a centred moving average in log space over about
  :data:`SMOOTH_SHARE` of the epochs, on a log axis, with the verdict's threshold
  :data:`~nncli.core.train.trainer.VANISHING_RATIO` as a dotted line and the value
  before training as a marker at epoch 0;
* for 2-D raw inputs, one panel per run with the decision boundary (classification)
  or the regression surface as a heat map, train points filled and test points as
  crosses, with a key for the class colours or a colorbar for the regression values.

One run draws one row (curves, signal, boundary): no empty quarter. Several runs draw
the curves and the signal on top and one boundary panel per run below, a short last
row centred. The title names the dataset and the verdict (several runs: how many
runs had each verdict; each boundary panel names its run and verdict).

Colours: runs are matplotlib's C0..C9 (tab10); classes come from another palette
(ColorBrewer's Dark2 for the points, the same hues lightened for the background), so
a class is never mistaken for a run. Points are dark on a light background and
edged in black, so each stays visible over its own class's region. Every text is at
least 8 pt at the saved size. Legends sit below their axes, outside the data area.

The figure is built on matplotlib's ``Figure`` directly (no pyplot) unless a
pyplot module is handed in. It only draws: the surfaces are computed in
:mod:`nncli.core.train.surface` (in eval mode) and the run names in
:mod:`nncli.core.train.plan`.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from nncli.core.train.datasets import Dataset
    from nncli.core.train.surface import Surface
    from nncli.core.train.trainer import TrainRun

PANEL = 4.2  # inches per panel
MAX_COLUMNS = 4  # boundary panels per row
LEGEND_ROOM = 1.1  # inches under a row of panels for its legends
TITLE_ROOM = 0.5  # inches for the figure's title
SMOOTH_SHARE = 0.05  # the moving average spans this share of the epochs
FONT_SIZE = 9.0  # legends and panel titles; ticks and axis labels are matplotlib's 10
# Class colours (not tab10, which the runs use): Dark2 for the points; the
# background is the same hue mixed with white (BACKGROUND_WHITE of white).
CLASS_COLOURS = ("#7570b3", "#d95f02", "#1b9e77", "#e7298a", "#66a61e", "#e6ab02", "#a6761d")
BACKGROUND_WHITE = 0.7
MAX_KEYED_CLASSES = 12  # beyond this many classes the key is a colorbar, not a legend
LOG_LOSS_SPREAD = 1e3  # a loss spanning more than this factor is drawn on a log axis

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "curves": "Learning curves",
        "epoch": "epoch",
        "loss": "loss",
        "signal": "Backpropagated signal, layer 1 / last (smoothed)",
        "signal_axis": "|δ layer 1| / |δ last layer| (log)",
        "grads": "Weight-gradient norm, layer 1 / last (smoothed)",
        "grads_axis": "|∇W layer 1| / |∇W last layer| (log)",
        "threshold": "vanishing below {value}",
        "start": "before training",
        "no_ratio": "one layer with weights: no ratio",
        "train": "train",
        "test": "test",
        "class": "class {label}",
        "classes": "class",
        "prediction": "prediction / target",
        "prediction_of": "prediction / target ({name})",
        "one_title": "{dataset}: {verdict}",
        "many_title": "{dataset}: {runs} runs ({summary})",
        "summary_item": "{count} {verdict}",
        "summary_join": ", ",
        "boundary": "Decision boundary",
        "surface": "Regression surface",
        "panel": "{run}: {verdict}",
        "x": "x",
        "y": "y",
    },
    "zh": {
        "curves": "学习曲线",
        "epoch": "轮次",
        "loss": "损失",
        "signal": "反向传播信号：第 1 层 / 末层（平滑）",
        "signal_axis": "|δ 第 1 层| / |δ 末层|（对数）",
        "grads": "权重梯度范数：第 1 层 / 末层（平滑）",
        "grads_axis": "|∇W 第 1 层| / |∇W 末层|（对数）",
        "threshold": "低于 {value} 为梯度消失",
        "start": "训练前",
        "no_ratio": "只有一个带权重的层：无比值",
        "train": "训练",
        "test": "测试",
        "class": "类别 {label}",
        "classes": "类别",
        "prediction": "预测值 / 目标值",
        "prediction_of": "预测值 / 目标值（{name}）",
        "one_title": "{dataset}：{verdict}",
        "many_title": "{dataset}：{runs} 次运行（{summary}）",
        "summary_item": "{verdict} {count} 次",
        "summary_join": "，",
        "boundary": "决策边界",
        "surface": "回归曲面",
        "panel": "{run}：{verdict}",
        "x": "x",
        "y": "y",
    },
}

# The verdict names (trainer.VERDICTS) as the figure prints them.
VERDICT_TEXT: dict[str, dict[str, str]] = {
    "en": {},  # the verdict's own name
    "zh": {
        "learned": "已学会",
        "did not learn": "未学会",
        "overfitting": "过拟合",
        "diverged": "发散",
        "vanishing gradients": "梯度消失",
        "dead relus": "ReLU 死亡",
        "interrupted": "已中断",
        "inconclusive": "无法判断",
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
        key = lang if lang in TEXT else "en"
        return _draw(ds, runs, surfaces, key, plt)

    return build


def verdict_text(verdict: str, lang: str) -> str:
    """A verdict's name in ``lang`` (its own name where no translation is known)."""
    return VERDICT_TEXT.get(lang, {}).get(verdict, verdict)


def dataset_text(ds: Dataset, lang: str) -> str:
    """The dataset's name for the title: a generated set's Chinese name under zh."""
    if lang == "zh" and ds.source == "generated":
        from nncli.core.train.datasets import DATASETS

        info = DATASETS.get(ds.name)
        if info is not None:
            return f"{info.label_zh}（{ds.name}）"
    return ds.name


def title(ds: Dataset, runs: Sequence[TrainRun], lang: str) -> str:
    """One run: "xor: learned". Several: "spiral: 4 runs (2 learned, 2 ...)"."""
    text = TEXT[lang]
    dataset = dataset_text(ds, lang)
    if len(runs) == 1:
        return text["one_title"].format(
            dataset=dataset, verdict=verdict_text(runs[0].verdict, lang)
        )
    counts = Counter(run.verdict for run in runs)  # in order of first appearance
    summary = text["summary_join"].join(
        text["summary_item"].format(count=count, verdict=verdict_text(verdict, lang))
        for verdict, count in counts.items()
    )
    return text["many_title"].format(dataset=dataset, runs=len(runs), summary=summary)


# --------------------------------------------------------------------------- layout


def boundary_columns(runs: int) -> int:
    """Boundary panels per row: the fewest blank cells, then the fewest rows."""
    if runs <= 2:
        return 2
    options = range(2, min(MAX_COLUMNS, runs) + 1)
    return min(options, key=lambda c: (-(-runs // c) * c - runs, -(-runs // c), -c))


def _draw(
    ds: Dataset, runs: list[TrainRun], surfaces: list[Surface], lang: str, plt: Any
) -> Figure:
    from nncli.core.train.plan import run_names
    from nncli.render.figures import new_figure

    text = TEXT[lang]
    names = run_names([r.config for r in runs], ds.name)
    colours = [f"C{i % 10}" for i in range(len(runs))]
    several = len(runs) > 1
    plane = bool(surfaces)
    if not several:
        columns = 3 if plane else 2
        size = (PANEL * columns, PANEL + LEGEND_ROOM + TITLE_ROOM)
        fig = new_figure(size, plt, layout="constrained")
        grid = fig.add_gridspec(1, columns)
        top = [fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1])]
        below = [fig.add_subplot(grid[0, 2])] if plane else []
    else:
        columns = boundary_columns(len(surfaces)) if plane else 2
        rows_below = -(-len(surfaces) // columns)
        size = (
            PANEL * columns,
            (PANEL + LEGEND_ROOM) * (1 + rows_below) + TITLE_ROOM,
        )
        fig = new_figure(size, plt, layout="constrained")
        # Two grid columns per panel, so a short last row can be centred.
        grid = fig.add_gridspec(1 + rows_below, 2 * columns)
        top = [fig.add_subplot(grid[0, :columns]), fig.add_subplot(grid[0, columns:])]
        below = []
        for index in range(len(surfaces)):
            row, place = divmod(index, columns)
            in_row = min(columns, len(surfaces) - row * columns)
            start = (columns - in_row) + 2 * place
            below.append(fig.add_subplot(grid[1 + row, start : start + 2]))
    _curves(top[0], runs, names, colours, text)
    _signal(top[1], runs, names, colours, text)
    # One epoch axis for both: the signal panel starts at 0 (before training).
    last = max((r.epoch for run in runs for r in run.history), default=1)
    for ax in top:
        ax.set_xlim(-0.03 * last, 1.03 * last)
    if plane:
        _surfaces(fig, below, ds, runs, names, surfaces, lang)
    fig.suptitle(title(ds, runs, lang), fontsize="large")
    return fig


# --------------------------------------------------------------------------- curves


def _curves(
    ax: Axes, runs: list[TrainRun], names: list[str], colours: list[str], text: dict[str, str]
) -> None:
    from matplotlib.lines import Line2D

    for run, colour in zip(runs, colours, strict=True):
        epochs = [r.epoch for r in run.history]
        ax.plot(epochs, [_finite(r.train_loss) for r in run.history], color=colour)
        ax.plot(epochs, [_finite(r.test_loss) for r in run.history], color=colour, linestyle="--")
    style = colours[0] if len(runs) == 1 else "0.3"
    lines = [
        Line2D([], [], color=style, label=text["train"]),
        Line2D([], [], color=style, linestyle="--", label=text["test"]),
    ]
    if len(runs) == 1:
        _legend_below(ax, lines)
    else:
        # The runs' colours in columns of `rows`, then train and test in a column of
        # their own (the legend fills column by column; blanks pad the columns).
        rows = max(2, -(-len(runs) // 3))
        keys: list[Any] = [
            Line2D([], [], color=colour, linewidth=3, label=name)
            for name, colour in zip(names, colours, strict=True)
        ]
        keys += [_blank()] * (-len(keys) % rows)
        keys += lines + [_blank()] * (rows - 2)
        _legend_below(ax, keys, columns=len(keys) // rows)
    losses = [
        v
        for run in runs
        for r in run.history
        for v in (r.train_loss, r.test_loss)
        if math.isfinite(v) and v > 0
    ]
    if losses and max(losses) > LOG_LOSS_SPREAD * min(losses):
        ax.set_yscale("log")
    ax.set_title(text["curves"], fontsize=FONT_SIZE + 1)
    ax.set_xlabel(text["epoch"])
    _integer_epochs(ax)
    ax.set_ylabel(text["loss"])


# --------------------------------------------------------------------------- signal


def _uses_signal(run: TrainRun) -> bool:
    """Whether the run recorded the backpropagated signal (data saved before it was
    recorded have only the weight-gradient norms, drawn instead and titled so)."""
    return any(record.signal_norms for record in run.history)


def ratios(run: TrainRun) -> list[float]:
    """Each epoch's layer-1/last ratio, as the verdict computes it (NaN where none)."""
    from nncli.core.train.trainer import signal_ratio

    signal = _uses_signal(run)
    out = []
    for record in run.history:
        value = signal_ratio(record.signal_norms if signal else record.grad_norms)
        out.append(math.nan if value is None else value)
    return out


def start_ratio(run: TrainRun) -> float | None:
    """The ratio before training, from the start statistics (None without them)."""
    from nncli.core.train.trainer import signal_ratio

    if _uses_signal(run):
        return signal_ratio([stats.signal_norm for stats in run.start])
    return signal_ratio([stats.grad_norm for stats in run.start])


def smooth_log(values: Sequence[float], share: float = SMOOTH_SHARE) -> np.ndarray:
    """A centred moving average of ``log10(values)`` over ``share`` of the points (an odd
    window, at least 1; shorter at the ends), back in linear units. Values that are not
    positive and finite are left out of every window; a window with none is NaN."""
    import numpy as np

    x = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(x) & (x > 0)
    logs = np.where(ok, np.log10(np.where(ok, x, 1.0)), 0.0)
    half = max(0, round(share * len(x)) // 2)
    sums = np.concatenate([[0.0], np.cumsum(logs)])
    counts = np.concatenate([[0], np.cumsum(ok)])
    index = np.arange(len(x))
    lo, hi = np.maximum(index - half, 0), np.minimum(index + half + 1, len(x))
    total, count = sums[hi] - sums[lo], counts[hi] - counts[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    result: np.ndarray = 10.0**mean
    return result


def _signal(
    ax: Axes, runs: list[TrainRun], names: list[str], colours: list[str], text: dict[str, str]
) -> None:
    import numpy as np
    from matplotlib.lines import Line2D

    from nncli import fmt
    from nncli.core.train.trainer import VANISHING_RATIO

    signal = all(_uses_signal(run) for run in runs if run.history)
    ax.set_title(text["signal" if signal else "grads"], fontsize=FONT_SIZE + 1)
    ax.set_xlabel(text["epoch"])
    _integer_epochs(ax)
    ax.set_ylabel(text["signal_axis" if signal else "grads_axis"])
    curves = [
        (run, colour, smooth_log(ratios(run)), start_ratio(run))
        for run, colour in zip(runs, colours, strict=True)
    ]
    shown = [v for _r, _c, values, _s in curves for v in values[np.isfinite(values)].tolist()]
    shown += [s for *_rest, s in curves if s is not None and math.isfinite(s) and s > 0]
    if not shown:  # one layer with weights: there is no ratio, and the panel says so
        ax.text(
            0.5,
            0.5,
            text["no_ratio"],
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=FONT_SIZE,
        )
        ax.set_yticks([])
        return
    ax.set_yscale("log")
    # the threshold stays in view, with a decade of room on its side
    low = min(*shown, VANISHING_RATIO / 10)
    high = max(*shown, VANISHING_RATIO * 10)
    ax.set_ylim(low / 2, high * 2)  # fixed before drawing: a flat line would warn
    starts = False
    for run, colour, values, first in curves:
        if np.isfinite(values).any():
            ax.plot([r.epoch for r in run.history], values, color=colour, linewidth=2)
        if first is not None and math.isfinite(first) and first > 0:
            ax.plot([0], [first], marker="o", color=colour, markeredgecolor="black")
            starts = True
    ax.axhline(VANISHING_RATIO, color="black", linestyle=":", linewidth=1.5)
    label = text["threshold"].format(value=fmt.num(VANISHING_RATIO))
    handles: list[Any] = [Line2D([], [], color="black", linestyle=":", linewidth=1.5, label=label)]
    if starts:
        handles.append(
            Line2D(
                [],
                [],
                marker="o",
                linestyle="none",
                color="0.6",
                markeredgecolor="black",
                label=text["start"],
            )
        )
    _legend_below(ax, handles)


# --------------------------------------------------------------------------- surfaces


def _lighten(colour: str, white: float = BACKGROUND_WHITE) -> tuple[float, float, float]:
    from matplotlib.colors import to_rgb

    r, g, b = to_rgb(colour)
    return (r + (1 - r) * white, g + (1 - g) * white, b + (1 - b) * white)


def class_colours(classes: int) -> list[str]:
    """One point colour per class: Dark2's hues, then evenly spaced hues beyond them."""
    if classes <= len(CLASS_COLOURS):
        return list(CLASS_COLOURS[:classes])
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    hues = colormaps["turbo"]
    return [to_hex(hues(0.05 + 0.9 * i / (classes - 1))) for i in range(classes)]


def class_names(ds: Dataset, text: dict[str, str]) -> list[str]:
    """Each class's key entry, with the table's original label where there is one."""
    from nncli import fmt

    count = ds.classes or 0
    labels: list[Any] = list(ds.labels) if ds.labels and len(ds.labels) == count else []
    if not labels:
        labels = list(range(count))
    return [text["class"].format(label=fmt.num(float(v))) for v in labels]


def _plane_labels(ds: Dataset, text: dict[str, str]) -> tuple[str, str]:
    """The two raw columns: a generated set's x and y, or a table's column names."""
    if ds.source != "generated" and len(ds.features) == 2:
        return ds.features[0], ds.features[1]
    return text["x"], text["y"]


def _scales(ds: Dataset, surfaces: list[Surface]) -> dict[str, Any]:
    """The colour scale shared by the heat maps and the points of every panel."""
    import numpy as np
    from matplotlib.colors import LinearSegmentedColormap, ListedColormap

    if ds.task == "binary":
        dark = class_colours(2)
        light = LinearSegmentedColormap.from_list(
            "nncli_binary", [_lighten(dark[0]), (1.0, 1.0, 1.0), _lighten(dark[1])]
        )
        return {
            "background": {"cmap": light, "vmin": 0.0, "vmax": 1.0},
            "points": {"cmap": ListedColormap(dark), "vmin": -0.5, "vmax": 1.5},
        }
    if ds.task == "multi-class":
        dark = class_colours(ds.classes or 2)
        limits = {"vmin": -0.5, "vmax": len(dark) - 0.5}
        return {
            "background": {"cmap": ListedColormap([_lighten(c) for c in dark]), **limits},
            "points": {"cmap": ListedColormap(dark), **limits},
        }
    # Regression: the targets set the scale; a surface beyond them is clipped (the
    # colorbar's pointed ends say so).
    targets = [v for v in (ds.y_train, ds.y_test) if v.size]
    low = float(min(v.min() for v in targets))
    high = float(max(v.max() for v in targets))
    if not high > low:
        low, high = low - 0.5, high + 0.5
    finite = [s.values[np.isfinite(s.values)] for s in surfaces]
    below = any(f.size and f.min() < low for f in finite)
    above = any(f.size and f.max() > high for f in finite)
    extend = {(True, True): "both", (True, False): "min", (False, True): "max"}
    scale = {"cmap": "viridis", "vmin": low, "vmax": high}
    return {
        "background": scale,
        "points": scale,
        "extend": extend.get((bool(below), bool(above)), "neither"),
    }


def _surfaces(
    fig: Figure,
    axes: list[Axes],
    ds: Dataset,
    runs: list[TrainRun],
    names: list[str],
    surfaces: list[Surface],
    lang: str,
) -> None:
    text = TEXT[lang]
    scales = _scales(ds, surfaces)
    several = len(runs) > 1
    xlabel, ylabel = _plane_labels(ds, text)
    image = None
    for ax, run, name, values in zip(axes, runs, names, surfaces, strict=True):
        image = _surface(ax, ds, values, scales)
        if several:
            heading = text["panel"].format(run=name, verdict=verdict_text(run.verdict, lang))
        else:
            heading = text["surface" if ds.task == "regression" else "boundary"]
        ax.set_title(heading, fontsize=FONT_SIZE + 1)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
    handles = _point_key(ds, text)
    if ds.task == "regression" or (ds.classes or 0) > MAX_KEYED_CLASSES:
        assert image is not None
        _colorbar(fig, axes, ds, text, scales, image)
    else:
        handles = _class_key(ds, text) + handles
    # The key: below the one boundary panel, or below the figure for several runs.
    if several:
        fig.legend(
            handles=handles,
            loc="outside lower center",
            ncols=min(len(handles), 8),
            fontsize=FONT_SIZE,
            frameon=False,
        )
    else:
        _legend_below(axes[0], handles)


def _surface(ax: Axes, ds: Dataset, values: Surface, scales: dict[str, Any]) -> Any:
    xs, ys, z = values.xs, values.ys, values.values
    image = ax.imshow(
        z,
        origin="lower",
        extent=(xs[0], xs[-1], ys[0], ys[-1]),
        aspect="auto",
        interpolation="nearest" if ds.task == "multi-class" else "antialiased",
        **scales["background"],
    )
    assert ds.raw_train is not None and ds.raw_test is not None
    points = scales["points"]
    ax.scatter(
        ds.raw_train[:, 0],
        ds.raw_train[:, 1],
        c=ds.y_train,
        s=14,
        edgecolors="black",
        linewidths=0.5,
        **points,
    )
    # Test points as crosses: told apart from the training points without a second
    # colour; a thin black cross under each keeps it visible on any background.
    ax.scatter(ds.raw_test[:, 0], ds.raw_test[:, 1], c="black", s=30, marker="x", linewidths=2.2)
    ax.scatter(
        ds.raw_test[:, 0],
        ds.raw_test[:, 1],
        c=ds.y_test,
        s=30,
        marker="x",
        linewidths=1.2,
        **points,
    )
    ax.set_xlim(xs[0], xs[-1])
    ax.set_ylim(ys[0], ys[-1])
    return image


def _class_key(ds: Dataset, text: dict[str, str]) -> list[Any]:
    from matplotlib.lines import Line2D

    names = class_names(ds, text)
    return [
        Line2D(
            [],
            [],
            marker="s",
            markersize=10,
            linestyle="none",
            markerfacecolor=colour,
            markeredgecolor="black",
            label=name,
        )
        for name, colour in zip(names, class_colours(len(names)), strict=True)
    ]


def _point_key(ds: Dataset, text: dict[str, str]) -> list[Any]:
    from matplotlib.lines import Line2D

    return [
        Line2D(
            [],
            [],
            marker="o",
            linestyle="none",
            markerfacecolor="0.75",
            markeredgecolor="black",
            label=text["train"],
        ),
        Line2D(
            [],
            [],
            marker="x",
            linestyle="none",
            color="black",
            markeredgewidth=1.5,
            label=text["test"],
        ),
    ]


def _colorbar(
    fig: Figure,
    axes: list[Axes],
    ds: Dataset,
    text: dict[str, str],
    scales: dict[str, Any],
    image: Any,
) -> None:
    if ds.task == "regression":
        label = text["prediction_of"].format(name=ds.target) if ds.target else text["prediction"]
        bar = fig.colorbar(image, ax=axes, extend=scales.get("extend", "neither"), shrink=0.9)
    else:  # many classes: a discrete bar instead of a long legend
        from matplotlib.cm import ScalarMappable

        label = text["classes"]
        points = scales["points"]
        from matplotlib.colors import Normalize

        mappable = ScalarMappable(
            norm=Normalize(points["vmin"], points["vmax"]), cmap=points["cmap"]
        )
        bar = fig.colorbar(mappable, ax=axes, shrink=0.9)
    bar.set_label(label)


# --------------------------------------------------------------------------- helpers


def _integer_epochs(ax: Axes) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _blank() -> Any:
    """An invisible legend entry that holds a cell of the legend's grid."""
    from matplotlib.patches import Rectangle

    return Rectangle((0, 0), 0, 0, fill=False, edgecolor="none", visible=False, label=" ")


def _legend_below(
    ax: Axes, handles: list[Any], offset: float = -0.16, columns: int | None = None
) -> None:
    """The legend under the panel (``offset`` in axes units, below its tick labels)."""
    if handles:
        ax.legend(
            handles=handles,
            loc="upper center",
            bbox_to_anchor=(0.5, offset),
            ncols=columns or (2 if len(handles) <= 4 else 3),
            fontsize=FONT_SIZE,
            frameon=False,
        )


def _finite(x: float) -> float:
    return x if math.isfinite(x) else math.nan
