"""init-stats as people read it: tables at 80 and 120 columns (golden), and the figures."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nncli.core.activation.activations import get_activation
from nncli.core.init.inits import resolve_all
from nncli.core.init.initstats import InitStatsResult, run
from tests.conftest import Invoke, check_golden

MULTI = ["xavier", "normal", "--std", "0.02", "sparse", "--sparsity", "0.5"]
CASES = {
    "plain": ["kaiming_normal", "--nonlinearity", "relu", "--fan-in", "512"],
    "multi": [*MULTI, "--fan-in", "128", "--fan-out", "64"],
    "depth": ["kaiming_normal", "normal", "--fan-in", "64", "--depth", "60", "--batch", "64"],
}
CUT_NUMBER = re.compile(r"\d…|…\d|\d\.…")


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("case", sorted(CASES))
def test_tables_golden_and_readable(cli: Invoke, case: str, width: int) -> None:
    out = cli("init-stats", *CASES[case], env={"COLUMNS": str(width)})
    assert out.exit_code == 0, out.stderr
    check_golden(f"init_stats_{case}_{width}.txt", out.stdout)
    lines = out.stdout.splitlines()
    assert all(len(line) <= width for line in lines), max(lines, key=len)
    assert not CUT_NUMBER.search(out.stdout)
    # every scheme keeps its verdict, whatever the width
    schemes = [r["scheme"] for r in cli("init-stats", *CASES[case], "--json").json()["results"]]
    verdict_rows = [line for line in lines if re.search(r"\b(ok|OFF)\b", line)]
    assert len(verdict_rows) >= len(schemes)


def test_80_columns_keeps_every_column(cli: Invoke) -> None:
    out = cli("init-stats", *CASES["multi"], env={"COLUMNS": "80"}).stdout
    for header in ("mean", "std", "min", "max", "σ err", "tolerance", "check"):
        assert header in out
    assert "variance" in out  # as a column, or the line that says where it went


def _result(names: list[str], hist: bool = False, depth: int | None = None) -> InitStatsResult:
    resolved = resolve_all(names, {"sparsity": 0.5 if "sparse" in names else None})
    return run(resolved, 64, 32, hist=hist, depth=depth, batch=64,
               activation=get_activation("relu") if depth else None)  # fmt: skip


def test_hist_panels_share_the_x_axis() -> None:
    from nncli.render.init_figures import build_hist_figure

    fig = build_hist_figure(_result(["xavier_uniform", "kaiming_normal", "normal"], hist=True))
    limits = {ax.get_xlim() for ax in fig.axes if ax.get_visible()}
    assert len(limits) == 1
    lo, hi = limits.pop()
    assert lo <= -3 and hi >= 3  # normal's N(0, 1) sets the common scale


def test_point_mass_is_an_arrow_not_a_500_density_bar() -> None:
    from nncli.render.init_figures import build_hist_figure

    fig = build_hist_figure(_result(["zeros"], hist=True))
    ax = fig.axes[0]
    assert not ax.patches  # no histogram bar
    labels = [line.get_label() for line in ax.get_lines()]
    assert any("point mass at 0, P = 1" in label for label in labels), labels
    assert ax.get_ylim() == (0, 1) and not ax.get_yticks().size
    texts = [t.get_text() for t in ax.texts]
    assert "P = 1" in texts


def test_sparse_point_mass_is_labelled_with_its_probability() -> None:
    from nncli.render.init_figures import build_hist_figure

    fig = build_hist_figure(_result(["sparse"], hist=True))
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert any("point mass at 0, P = 0.5" in label for label in labels), labels


def test_depth_figure_keeps_the_contrast_in_view() -> None:
    from nncli.render.init_figures import build_depth_figure

    result = _result(["xavier_normal", "kaiming_normal", "normal"], depth=30)
    fig = build_depth_figure(result)
    left, right = fig.axes
    calm = [lay.activation_std for r in result.results[:2] for lay in r.propagation.layers]
    top = left.get_ylim()[1]
    assert top <= max(calm) * 100 * 1.01  # not stretched to the exploding stack's 1e30
    assert left.get_ylim()[0] <= min(calm)
    for ax in (left, right):
        markers = [line for line in ax.get_lines() if line.get_marker() == "^"]
        assert markers, "the exploding stack leaves the axis with a marker"
        assert all(y <= ax.get_ylim()[1] * 1.0001 for line in ax.get_lines()
                   for y in line.get_ydata())  # fmt: skip
    assert "about 0" not in right.get_ylabel()


def test_figures_in_chinese() -> None:
    from nncli.render.figures import apply_language
    from nncli.render.init_figures import build_depth_figure, build_hist_figure

    lang, warning = apply_language("zh")
    if lang != "zh":
        pytest.skip(warning or "no CJK font")
    depth = build_depth_figure(_result(["kaiming_normal"], depth=3), "zh")
    assert "激活值标准差" in depth.axes[0].get_title()
    assert "梯度标准差" in depth.axes[1].get_ylabel()
    assert depth.axes[0].get_xlabel() == "层"
    hist = build_hist_figure(_result(["xavier_normal"], hist=True), "zh")
    assert hist.axes[0].get_ylabel() == "密度" and hist.axes[0].get_xlabel() == "权重值"


def test_lang_option(cli: Invoke, tmp_path: Path) -> None:
    plot = tmp_path / "p.png"
    out = cli("init-stats", "kaiming_normal", "--depth", "3", "--fan-in", "16", "--batch", "8",
              "--plot", str(plot), "--lang", "zh", "--json")  # fmt: skip
    assert out.exit_code == 0, out.stderr
    assert out.json()["language"] in ("zh", "en") and plot.stat().st_size > 1000
    bad = cli("init-stats", "xavier", "--lang", "zh")
    assert bad.exit_code == 2 and "--lang only applies to the figures" in bad.stderr
    bad = cli("init-stats", "xavier", "--hist", str(tmp_path / "h.png"), "--lang", "fr")
    assert bad.exit_code == 2 and "unknown language 'fr'" in bad.stderr
