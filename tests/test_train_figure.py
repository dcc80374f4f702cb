"""The train dashboard as a teacher would check a slide: drawn, then measured.

Legends and labels never cover the data or each other (both languages), every text is
at least 8 pt, Chinese has no English label left, one run leaves no empty panel,
regression has a colorbar and classes a key, class colours are not the runs' colours,
the signal panel draws the ratio the verdict reads, and the file is byte-reproducible.
The runs are real (tiny) trainings.
"""

from __future__ import annotations

import dataclasses
import math
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pytest
from matplotlib.colors import to_hex, to_rgb
from matplotlib.figure import Figure
from matplotlib.text import Text

from nncli.core.train.datasets import Dataset, generate, load_table
from nncli.core.train.trainer import (
    VANISHING_RATIO,
    VERDICTS,
    RunConfig,
    TrainRun,
    model_spec,
    resolve_loss,
    train,
)
from nncli.render import figures
from nncli.render.figures import render_and_save
from nncli.render.train_figure import (
    CLASS_COLOURS,
    TEXT,
    VERDICT_TEXT,
    boundary_columns,
    build_dashboard,
    class_colours,
    ratios,
    smooth_log,
    title,
)

HAS_CJK = figures.find_cjk_font() is not None
LANGS = ["en", pytest.param("zh", marks=pytest.mark.skipif(not HAS_CJK, reason="no CJK"))]
TAB10 = {to_hex(f"C{i}") for i in range(10)}


def _run(
    ds: Dataset, activation: str, hidden: tuple[int, ...] = (4,), lr: float = 0.05
) -> TrainRun:
    spec = model_spec(ds, config=None, hidden=hidden, activation=activation, init=None)
    loss, _ = resolve_loss(ds.task, spec)
    config = RunConfig(activation, None, "adam", lr, hidden, loss)
    return train(ds, config, spec, epochs=4, batch=16, seed=0, device="cpu")


def _table(path: Path, rows: int, columns: list[str], seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, len(columns) - 1))
    label = np.where(x[:, 0] * (x[:, 1] if x.shape[1] > 1 else 1) > 0, 1, -1)
    lines = [",".join(columns)] + [
        ",".join(f"{v:.4f}" for v in row) + f",{y}" for row, y in zip(x, label, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Dataset, list[TrainRun]]]:
    folder = tmp_path_factory.mktemp("tables")
    xor = generate("xor", samples=80, seed=0)
    blobs = generate("blobs", samples=90, seed=0, classes=3)
    sine = generate("sine", samples=80, seed=0)
    table = load_table(str(_table(folder / "t.csv", 80, ["age", "income", "label"])))
    wide = load_table(str(_table(folder / "w.csv", 80, ["a", "b", "c", "label"])))
    return {
        "binary": (xor, [_run(xor, "tanh")]),
        "binary-runs": (xor, [_run(xor, "tanh"), _run(xor, "relu")]),
        "multi-class": (blobs, [_run(blobs, "relu"), _run(blobs, "tanh"), _run(blobs, "sigmoid")]),
        "regression": (sine, [_run(sine, "tanh", (4, 4))]),
        "table": (table, [_run(table, "relu")]),
        "no-plane": (wide, [_run(wide, "relu")]),
        "no-plane-runs": (wide, [_run(wide, "relu"), _run(wide, "tanh")]),
    }


def _figure(ds: Dataset, runs: list[TrainRun], lang: str = "en") -> Iterator[Figure]:
    with matplotlib.rc_context(), warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph would be a warning
        effective, _ = figures.apply_language(lang)
        assert effective == lang
        fig = build_dashboard(ds, runs)(lang, None)
        fig.canvas.draw()
        yield fig


def _texts(fig: Figure) -> list[Text]:
    return [
        t
        for t in fig.findobj(Text)
        if isinstance(t, Text) and t.get_visible() and t.get_text().strip()
    ]


def _data_axes(fig: Figure) -> list[Any]:
    """The panels (colorbars are axes too, but hold no data)."""
    return [ax for ax in fig.axes if not hasattr(ax, "_colorbar")]


def _drawn_ticks(ax: Any) -> list[Text]:
    """The tick labels drawn: matplotlib also keeps labels for ticks outside the view."""
    out = []
    for axis, limits in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
        low, high = min(limits), max(limits)
        for tick in axis.get_major_ticks():
            label = tick.label1
            inside = low - 1e-9 * abs(high - low) <= tick.get_loc() <= high + 1e-9 * abs(high - low)
            if inside and label.get_visible() and label.get_text():
                out.append(label)
    return out


ALL = ["binary", "binary-runs", "multi-class", "regression", "table", "no-plane", "no-plane-runs"]


# --- legends and labels --------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("case", ALL)
def test_legends_and_labels_cover_no_data_and_no_other_label(
    cases: dict[str, tuple[Dataset, list[TrainRun]]], case: str, lang: str
) -> None:
    for fig in _figure(*cases[case], lang):
        renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
        legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
        legends += list(fig.legends)
        assert legends, "every dashboard has a key"
        legend_boxes = [legend.get_window_extent(renderer) for legend in legends]
        areas = [ax.get_window_extent(renderer) for ax in fig.axes]
        labels = []  # titles, axis labels and tick labels: each must stay off the data
        for ax in fig.axes:
            for text in [ax.title, ax.xaxis.label, ax.yaxis.label]:
                if text.get_text():
                    labels.append((ax, text.get_window_extent(renderer)))
            for tick in _drawn_ticks(ax):
                labels.append((ax, tick.get_window_extent(renderer)))
        width, height = fig.bbox.width, fig.bbox.height
        for box in legend_boxes:
            for other in areas + [b for _ax, b in labels]:
                assert not box.overlaps(other), (box, other)
            assert box.x0 >= 0 and box.y0 >= 0 and box.x1 <= width and box.y1 <= height
        for i, one in enumerate(legend_boxes):
            for two in legend_boxes[i + 1 :]:
                assert not one.overlaps(two)
        for owner, box in labels:
            for ax, area in zip(fig.axes, areas, strict=True):
                if ax is not owner:
                    assert not box.overlaps(area), (owner.get_title(), ax.get_title())
        suptitle = fig.get_suptitle()
        assert suptitle
        top = fig._suptitle.get_window_extent(renderer)  # type: ignore[union-attr]
        for _ax, box in labels:
            assert not top.overlaps(box)


def test_the_overlap_check_catches_a_legend_on_the_data(
    cases: dict[str, tuple[Dataset, list[TrainRun]]],
) -> None:
    """The check above, fooled on purpose: a legend moved into a panel overlaps it."""
    for fig in _figure(*cases["binary"]):
        ax = fig.axes[0]
        legend = ax.legend(handles=ax.get_legend().legend_handles, loc="center")
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
        assert legend.get_window_extent(renderer).overlaps(ax.get_window_extent(renderer))


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("case", ALL)
def test_every_text_is_at_least_8_pt(
    cases: dict[str, tuple[Dataset, list[TrainRun]]], case: str, lang: str
) -> None:
    for fig in _figure(*cases[case], lang):
        texts = _texts(fig)
        assert len(texts) > 20
        small = [(t.get_text(), t.get_fontsize()) for t in texts if t.get_fontsize() < 8]
        assert not small


# --- Chinese ---------------------------------------------------------------------------


def _english(fig: Figure, ds: Dataset, runs: list[TrainRun]) -> list[str]:
    """Texts with an English word left, once the names that are not words are taken out:
    the dataset, run and column names (what the user typed), x and y, ReLU, and the
    mathtext of the log axes' ticks."""
    from nncli.core.train.plan import run_names

    allowed = {ds.name, *ds.features, *run_names([r.config for r in runs], ds.name)}
    allowed |= {"ReLU", "x", "y"}
    found = []
    for text in _texts(fig):
        value = text.get_text()
        if value.startswith("$"):
            continue
        for name in sorted(allowed, key=len, reverse=True):
            value = value.replace(name, "")
        if re.search(r"[A-Za-z]{2,}", value):
            found.append(text.get_text())
    return found


@pytest.mark.skipif(not HAS_CJK, reason="no font with Chinese glyphs installed")
@pytest.mark.parametrize("case", ALL)
def test_chinese_has_no_english_label(
    cases: dict[str, tuple[Dataset, list[TrainRun]]], case: str
) -> None:
    ds, runs = cases[case]
    for fig in _figure(ds, runs, "zh"):
        assert _english(fig, ds, runs) == []
    for fig in _figure(ds, runs, "en"):  # the check is not blind: English is found
        assert len(_english(fig, ds, runs)) > 5


def test_every_verdict_has_a_chinese_name() -> None:
    assert set(VERDICTS) <= set(VERDICT_TEXT["zh"])
    expected = {"interrupted", "inconclusive", "learned", "vanishing gradients", "diverged"}
    assert expected <= set(VERDICT_TEXT["zh"])
    assert all(
        not re.search("[A-Za-z]{3,}", v.replace("ReLU", "")) for v in VERDICT_TEXT["zh"].values()
    )
    assert set(TEXT["zh"]) == set(TEXT["en"])


# --- the title --------------------------------------------------------------------------


def test_title_names_the_dataset_and_the_verdict(
    cases: dict[str, tuple[Dataset, list[TrainRun]]],
) -> None:
    ds, runs = cases["binary"]
    assert title(ds, runs, "en") == f"xor: {runs[0].verdict}"
    assert title(ds, runs, "zh") == f"异或（xor）：{VERDICT_TEXT['zh'][runs[0].verdict]}"
    ds, runs = cases["multi-class"]
    verdicts = [r.verdict for r in runs]
    heading = title(ds, runs, "en")
    assert heading.startswith("blobs: 3 runs (")
    for verdict in set(verdicts):
        assert f"{verdicts.count(verdict)} {verdict}" in heading
    # a table keeps its own name in both languages
    ds, runs = cases["table"]
    assert title(ds, runs, "zh").startswith(f"{ds.name}：")


def test_title_counts_each_verdict(cases: dict[str, tuple[Dataset, list[TrainRun]]]) -> None:
    ds, (run,) = cases["binary"]
    runs = [dataclasses.replace(run, verdict=v) for v in ("learned", "diverged", "learned")]
    assert title(ds, runs, "en") == "xor: 3 runs (2 learned, 1 diverged)"
    assert title(ds, runs, "zh") == "异或（xor）：3 次运行（已学会 2 次，发散 1 次）"


def test_each_boundary_panel_names_its_run_and_verdict(
    cases: dict[str, tuple[Dataset, list[TrainRun]]],
) -> None:
    ds, runs = cases["binary-runs"]
    for fig in _figure(ds, runs):
        titles = [ax.get_title() for ax in _data_axes(fig)[2:]]
        assert titles == [f"tanh: {runs[0].verdict}", f"relu: {runs[1].verdict}"]
        assert fig.get_suptitle().startswith("xor: 2 runs")


# --- panels -------------------------------------------------------------------------------


def _empty(ax: Any) -> bool:
    return not (ax.get_lines() or ax.get_images() or ax.collections or ax.texts)


@pytest.mark.parametrize(
    ("case", "panels"),
    [("binary", 3), ("regression", 3), ("table", 3), ("no-plane", 2), ("binary-runs", 4)],
)
def test_no_panel_is_empty_and_one_run_is_one_row(
    cases: dict[str, tuple[Dataset, list[TrainRun]]], case: str, panels: int
) -> None:
    ds, runs = cases[case]
    for fig in _figure(ds, runs):
        axes = _data_axes(fig)
        assert len(axes) == panels
        assert not [ax.get_title() for ax in axes if _empty(ax)]
        for ax in axes:  # every panel has both axis labels
            assert ax.get_xlabel() and ax.get_ylabel(), ax.get_title()
        if len(runs) == 1:
            rows = {round(ax.get_position().y0, 3) for ax in axes}
            assert len(rows) == 1, "a single run draws one row"


def test_one_layer_with_weights_says_there_is_no_ratio() -> None:
    ds = generate("xor", samples=40, seed=0)
    run = _run(ds, "tanh", hidden=())
    for fig in _figure(ds, [run]):
        signal = _data_axes(fig)[1]
        assert [t.get_text() for t in signal.texts] == [TEXT["en"]["no_ratio"]]
        assert not _empty(signal)


def test_boundary_columns_leave_the_fewest_blank_cells() -> None:
    assert [boundary_columns(n) for n in range(1, 10)] == [2, 2, 3, 4, 3, 3, 4, 4, 3]


def test_a_short_last_row_is_centred(cases: dict[str, tuple[Dataset, list[TrainRun]]]) -> None:
    ds, (run,) = cases["binary"]
    runs = [
        dataclasses.replace(run, config=dataclasses.replace(run.config, lr=lr))
        for lr in (0.1, 0.2, 0.3, 0.4, 0.5)
    ]
    for fig in _figure(ds, runs):
        boundaries = _data_axes(fig)[2:]
        assert len(boundaries) == 5
        first = [ax.get_position() for ax in boundaries[:3]]
        last = [ax.get_position() for ax in boundaries[3:]]
        assert (
            len({round(p.y0, 3) for p in first}) == 1 and len({round(p.y0, 3) for p in last}) == 1
        )
        centre = (last[0].x0 + last[-1].x1) / 2
        assert centre == pytest.approx((first[0].x0 + first[-1].x1) / 2, abs=0.02)


def test_boundary_axes_are_the_tables_column_names(
    cases: dict[str, tuple[Dataset, list[TrainRun]]],
) -> None:
    for fig in _figure(*cases["table"]):
        boundary = _data_axes(fig)[2]
        assert (boundary.get_xlabel(), boundary.get_ylabel()) == ("age", "income")
    for fig in _figure(*cases["binary"]):
        boundary = _data_axes(fig)[2]
        assert (boundary.get_xlabel(), boundary.get_ylabel()) == ("x", "y")


# --- keys and colours -------------------------------------------------------------------


def _legend_texts(fig: Figure) -> list[str]:
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    return [t.get_text() for legend in [*legends, *fig.legends] for t in legend.get_texts()]


def test_regression_has_a_colorbar_and_no_class_key(
    cases: dict[str, tuple[Dataset, list[TrainRun]]],
) -> None:
    for fig in _figure(*cases["regression"]):
        bars = [ax for ax in fig.axes if hasattr(ax, "_colorbar")]
        assert len(bars) == 1
        assert bars[0].get_ylabel() == "prediction / target"
        (image,) = _data_axes(fig)[2].get_images()
        assert image.colorbar is not None
        assert not [t for t in _legend_texts(fig) if t.startswith("class")]


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("binary", ["class 0", "class 1"]),
        ("multi-class", ["class 0", "class 1", "class 2"]),
        ("table", ["class -1", "class 1"]),  # the table's own labels
    ],
)
def test_classification_has_a_class_key_and_no_colorbar(
    cases: dict[str, tuple[Dataset, list[TrainRun]]], case: str, expected: list[str]
) -> None:
    for fig in _figure(*cases[case]):
        texts = _legend_texts(fig)
        assert [t for t in texts if t.startswith("class")] == expected
        assert "train" in texts and "test" in texts
        assert not [ax for ax in fig.axes if hasattr(ax, "_colorbar")]


def test_class_colours_are_not_run_colours(
    cases: dict[str, tuple[Dataset, list[TrainRun]]],
) -> None:
    assert not TAB10 & {to_hex(c) for c in class_colours(100)}
    for case in ("binary", "multi-class"):
        for fig in _figure(*cases[case]):
            for ax in _data_axes(fig)[2:] if case == "multi-class" else _data_axes(fig)[2:3]:
                train_points = ax.collections[0]
                colours = {to_hex(c) for c in train_points.get_facecolors()}
                assert colours and not colours & TAB10
                assert colours <= {to_hex(c) for c in CLASS_COLOURS}
                # each point is edged in black, which stands out on the light background
                assert {to_hex(c) for c in train_points.get_edgecolors()} == {"#000000"}


def _luminance(rgb: tuple[float, ...]) -> float:
    def linear(v: float) -> float:
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(v) for v in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_the_background_is_light_under_dark_points(
    cases: dict[str, tuple[Dataset, list[TrainRun]]],
) -> None:
    """No dark point on a dark background: the heat map is light everywhere (black edges
    have a WCAG contrast of 4.5 or more on it) and each class's point colour is darker
    than its own region."""
    for case in ("binary", "multi-class"):
        for fig in _figure(*cases[case]):
            image = _data_axes(fig)[2].get_images()[0]
            rgba = image.to_rgba(np.asarray(image.get_array()))
            lightest_dark = min(_luminance(tuple(p)) for p in rgba.reshape(-1, 4))
            assert (lightest_dark + 0.05) / 0.05 >= 4.5
            cmap = image.get_cmap()
            for index, colour in enumerate(class_colours(2 if case == "binary" else 3)):
                region = cmap(float(index) if case == "binary" else index / 2)
                assert _luminance(to_rgb(colour)) < _luminance(region)


# --- the signal panel ---------------------------------------------------------------------


def _naive_smooth(values: list[float], half: int) -> list[float]:
    out = []
    for i in range(len(values)):
        window = [
            math.log10(v)
            for v in values[max(0, i - half) : i + half + 1]
            if v > 0 and math.isfinite(v)
        ]
        out.append(10 ** (sum(window) / len(window)) if window else math.nan)
    return out


def test_smoothing_is_a_centred_mean_of_logs() -> None:
    rng = np.random.default_rng(0)
    values = list(10 ** rng.normal(size=200))
    values[10], values[11], values[50] = 0.0, math.nan, math.inf
    np.testing.assert_allclose(smooth_log(values), _naive_smooth(values, 5), rtol=1e-12)
    # a geometric sequence is its own centred geometric mean away from the ends
    geometric = [2.0**-i for i in range(100)]
    np.testing.assert_allclose(smooth_log(geometric)[2:-2], geometric[2:-2], rtol=1e-12)
    assert smooth_log([1.0, 2.0, 4.0], share=0.0).tolist() == pytest.approx([1.0, 2.0, 4.0])
    assert math.isnan(smooth_log([0.0, 0.0, 0.0])[1])


def _with_signal(run: TrainRun, signal: list[float]) -> TrainRun:
    """The run with every epoch's signal norms set to ``signal`` (the trainer's field)."""
    history = []
    for record in run.history:
        history.append(dataclasses.replace(record, signal_norms=list(signal)))
    return dataclasses.replace(run, history=history)


def _signal_line(fig: Figure) -> np.ndarray:
    signal = _data_axes(fig)[1]
    (line,) = [ln for ln in signal.get_lines() if ln.get_linewidth() == 2]
    return np.asarray(line.get_ydata(), dtype=float)


@pytest.mark.parametrize(("signal", "vanishing"), [([1e-5, 1.0], True), ([0.3, 1.0], False)])
def test_the_signal_panel_draws_the_signal_ratio_not_the_weight_gradients(
    cases: dict[str, tuple[Dataset, list[TrainRun]]], signal: list[float], vanishing: bool
) -> None:
    """The weight gradients would say the opposite (their ratio is set to 1 / 1e-6): the
    panel reads the backpropagated signal, as the verdict does."""
    ds, (run,) = cases["binary"]
    run = _with_signal(run, signal)
    for record in run.history:
        record.grad_norms = [1e-6, 1.0] if not vanishing else [1.0, 1.0]
    for fig in _figure(ds, [run]):
        drawn = _signal_line(fig)
        np.testing.assert_allclose(drawn, signal[0] / signal[1], rtol=1e-6)
        assert bool((drawn < VANISHING_RATIO).all()) is vanishing
        assert _data_axes(fig)[1].get_title() == TEXT["en"]["signal"]


def test_old_runs_without_signal_norms_fall_back_to_the_weight_gradients(
    cases: dict[str, tuple[Dataset, list[TrainRun]]],
) -> None:
    ds, (run,) = cases["binary"]
    run = _with_signal(run, [])
    expected = [r.grad_norms[0] / r.grad_norms[-1] for r in run.history]
    assert ratios(run) == pytest.approx(expected)
    for fig in _figure(ds, [run]):
        np.testing.assert_allclose(_signal_line(fig), _naive_smooth(expected, 0), rtol=1e-6)
        assert _data_axes(fig)[1].get_title() == TEXT["en"]["grads"]


def test_the_threshold_is_a_labelled_dotted_line(
    cases: dict[str, tuple[Dataset, list[TrainRun]]],
) -> None:
    for fig in _figure(*cases["binary"]):
        signal = _data_axes(fig)[1]
        assert signal.get_yscale() == "log"
        dotted = [ln for ln in signal.get_lines() if ln.get_linestyle() == ":"]
        assert [list(ln.get_ydata()) for ln in dotted] == [[VANISHING_RATIO] * 2]
        low, high = signal.get_ylim()
        assert low < VANISHING_RATIO < high
        assert "vanishing below 0.01" in _legend_texts(fig)


# --- files ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["png", "svg"])
@pytest.mark.parametrize("lang", LANGS)
def test_the_file_is_byte_reproducible(
    cases: dict[str, tuple[Dataset, list[TrainRun]]], tmp_path: Path, fmt: str, lang: str
) -> None:
    ds, runs = cases["binary-runs"]
    paths = []
    for name in ("a", "b"):
        outcome = render_and_save(
            build_dashboard(ds, runs), tmp_path / f"{name}.{fmt}", lang=lang, dpi=50, show=False
        )
        assert outcome.language == lang and not outcome.warnings
        paths.append(outcome.path)
    first = paths[0].read_bytes()
    assert len(first) > 5000 and first == paths[1].read_bytes()
