"""``nncli train``: options, validation, output (table, JSON, figure), gates, Ctrl-C,
and ``run``/``summary --weights`` on the checkpoint it saves."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from nncli.fmt import num
from nncli.render.train_tables import selected_epochs
from tests.conftest import check_golden

SMALL = ("--samples", "40", "--epochs", "4", "--batch", "8", "--hidden", "4")


def _train(cli, *args: str, env: dict[str, str | None] | None = None):
    return cli("train", *args, env=env)


# --- validation: every bad input is exit 2 before any training ------------------------


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ((), "DATASET or --data"),
        (("moons", "--data", "x.csv"), "DATASET or --data"),
        (("moons", "--target", "y"), "--data only"),
        (("moons", "--lr", "0"), "--lr"),
        (("moons", "--lr", "nan"), "--lr"),
        (("moons", "--lr", "0.1,abc"), "'abc'"),
        (("moons", "--lr", "0.1,,0.2"), "empty item"),
        (("moons", "--hidden", "8,,8"), "empty item"),
        (("moons", "--hidden", "8,x"), "'x'"),
        (("moons", "--hidden", "0"), "--hidden"),
        (("moons", "--activation", "relu,nosuch"), "nosuch"),
        (("moons", "--init", "nosuch"), "nosuch"),
        (("moons", "--optimizer", "adam,nosuch"), "nosuch"),
        (("moons", "--epochs", "0"), "--epochs"),
        (("moons", "--batch", "0"), "--batch"),
        (("moons", "--batch", "251"), "--batch"),  # 500 samples, half for training
        (("moons", "--samples", "3"), "--samples"),
        (("moons", "--noise", "-1"), "--noise"),
        (("moons", "--test-fraction", "1"), "--test-fraction"),
        (("moons", "--test-fraction", "0"), "--test-fraction"),
        (("moons", "--arms", "1"), "--arms"),
        (("moons", "--features", "x,q"), "--features"),
        (("moons", "--weight-decay", "-1"), "--weight-decay"),
        (("moons", "--l1", "inf"), "--l1"),
        (("moons", "--expect-accuracy", "1.5"), "--expect-accuracy"),
        (("sine", "--expect-accuracy", "0.9"), "classification"),
        (("moons", "--expect-loss", "-1"), "--expect-loss"),
        (("moons", "--plot", "out.gif"), "'.gif'"),
        (("moons", "--dpi", "5"), "--dpi"),
        (("moons", "--seed", "-1"), "seed"),
        (("moons", "--config", "demo", "--hidden", "8"), "--config"),
        (("moons", "--config", "demo"), "input_features"),  # demo takes 3 inputs, moons 2
        (("moons", "--loss", "cross_entropy"), "--loss"),
        (("nosuch",), "nosuch"),
        (
            (
                "moons",
                "--lr",
                ",".join(["0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8"]),
                "--activation",
                "relu,tanh,sigmoid",
                "--optimizer",
                "sgd,adam,rmsprop",
            ),
            "at most",
        ),
    ],
)
def test_bad_input_exits_2_naming_it(cli, args: tuple[str, ...], needle: str) -> None:
    out = _train(cli, *args)
    assert out.exit_code == 2, out.stderr
    assert needle in out.stderr
    assert "Error:" in out.stderr and "Traceback" not in out.stderr
    assert out.stdout == ""


def test_bad_data_file_exits_2(cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,label\n1,2,0\n3,oops,1\n", encoding="utf-8")
    out = _train(cli, "--data", str(bad))
    assert out.exit_code == 2
    assert "bad.csv" in out.stderr


def test_unwritable_plot_is_refused_before_training(cli, tmp_path: Path) -> None:
    out = _train(cli, "moons", *SMALL, "--plot", str(tmp_path / "missing" / "a.png"))
    assert out.exit_code == 1
    assert "does not exist" in out.stderr
    assert out.stdout == ""  # nothing was trained or printed


# --- JSON --------------------------------------------------------------------------


def _doc(cli, *args: str) -> dict:
    out = _train(cli, *args, "--json")
    assert out.exit_code == 0, out.stderr
    return out.json()


def test_json_document_has_the_issue_keys(cli) -> None:
    doc = _doc(cli, "moons", *SMALL, "--seed", "3")
    assert doc["schema_version"] == 1 and doc["command"] == "train"
    dataset = doc["dataset"]
    assert {"name", "samples", "features", "task", "classes", "seed"} <= set(dataset)
    assert dataset == {**dataset, "name": "moons", "samples": 40, "task": "binary", "seed": 3}
    assert dataset["features"] == ["x", "y"] and dataset["classes"] == 2
    assert doc["files"] == {}
    (run,) = doc["runs"]
    for key in ("activation", "init", "optimizer", "lr", "loss", "model", "history", "final"):
        assert key in run
    from nncli.core.train.records import VERDICTS

    assert run["verdict"] in VERDICTS
    assert run["evidence"]
    for key in ("next_step", "caveat", "r2", "learned_bar", "signal_ratio"):
        assert key in run
    assert run["r2"] is None and run["learned_bar"]["metric"] == "accuracy"
    assert set(run["signal_ratio"]) == {"start", "median"}
    assert doc["gates"] == []
    assert doc["dataset"]["standardization"] is None  # generated sets keep their scale
    assert doc["dataset"]["chance_accuracy"] == 0.5
    baseline = doc["baseline"]
    assert baseline["method"] == "k-nearest neighbours" and 0 <= baseline["test_accuracy"] <= 1
    assert run["loss"] == "bce_with_logits" and run["activation"] == "tanh"
    assert [h["epoch"] for h in run["history"]] == [1, 2, 3, 4]
    for record in run["history"]:
        assert len(record["grad_norms"]) == 2  # 2 -> 4 -> 1: two Linear layers
        assert 0 <= record["test_accuracy"] <= 1
    assert [layer["out_features"] for layer in run["model"]["layers"]] == [4, 1]
    assert run["model"]["input_features"] == 2
    last = run["history"][-1]
    assert run["final"]["test_loss"] == last["test_loss"]
    assert run["final"]["test_accuracy"] == last["test_accuracy"]
    assert len(run["final"]["layers"]) == 2


def test_regression_accuracy_is_null(cli) -> None:
    doc = _doc(cli, "plane", *SMALL)
    run = doc["runs"][0]
    assert doc["dataset"]["task"] == "regression" and doc["dataset"]["classes"] is None
    assert run["loss"] == "mse"
    assert all(h["test_accuracy"] is None and h["train_accuracy"] is None for h in run["history"])
    # R² is its own key (not only in the evidence), per epoch and at the end
    assert run["r2"] == run["history"][-1]["test_r2"] and isinstance(run["r2"], float)
    assert run["learned_bar"]["metric"] == "r2"
    assert doc["baseline"]["test_r2"] is not None and doc["baseline"]["test_accuracy"] is None


def test_default_batch_is_capped_at_the_training_rows(cli) -> None:
    """Bug (issue 16): the default --batch 32 refused `train xor --samples 40`."""
    doc = _doc(cli, "xor", "--samples", "40", "--epochs", "2")
    assert doc["dataset"]["train"] == 20
    assert [h["steps"] for h in doc["runs"][0]["history"]] == [1, 1]  # one batch of 20
    out = _train(cli, "xor", "--samples", "40", "--epochs", "1", "--batch", "32")
    assert out.exit_code == 2 and "--batch" in out.stderr  # an explicit one is still checked


def _unscaled_table(tmp_path: Path) -> str:
    """xor with one feature in the thousands and one in the ten-thousandths."""
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.uniform(-5, 5, size=(200, 2))
    y = (x[:, 0] * x[:, 1] > 0).astype(int)
    rows = "".join(f"{a * 1000:.6f},{b * 1e-4:.10f},{t}\n" for (a, b), t in zip(x, y, strict=True))
    path = tmp_path / "unscaled.csv"
    path.write_text("big,tiny,label\n" + rows, encoding="utf-8")
    return str(path)


def test_data_is_standardised_by_default_and_the_statistics_are_reported(
    cli, tmp_path: Path
) -> None:
    table = _unscaled_table(tmp_path)
    doc = _doc(cli, "--data", table, "--epochs", "60")
    stats = doc["dataset"]["standardization"]
    assert stats is not None and len(stats["mean"]) == len(stats["std"]) == 2
    assert stats["std"][0] > 1000 and stats["std"][1] < 1e-3  # the raw scales, from train
    run = doc["runs"][0]
    assert run["verdict"] == "learned", run["evidence"]
    out = _train(cli, "--data", table, "--epochs", "60", "--no-standardize", "--json")
    assert out.exit_code == 0, out.stderr
    assert "far from unit scale" in out.stderr and "--standardize" in out.stderr
    raw = out.json()
    assert raw["dataset"]["standardization"] is None
    # unscaled inputs are never blamed on vanishing gradients
    assert raw["runs"][0]["verdict"] != "vanishing gradients"


def test_generated_sets_standardise_only_when_asked(cli) -> None:
    doc = _doc(cli, "xor", *SMALL, "--standardize")
    assert doc["dataset"]["standardization"] is not None


def test_same_seed_same_history_number_for_number(cli) -> None:
    first = _doc(cli, "circles", *SMALL, "--seed", "7")["runs"][0]["history"]
    again = _doc(cli, "circles", *SMALL, "--seed", "7")["runs"][0]["history"]
    other = _doc(cli, "circles", *SMALL, "--seed", "8")["runs"][0]["history"]
    assert first == again
    assert first != other


def test_comma_lists_train_the_cartesian_product_on_the_same_data(cli) -> None:
    doc = _doc(cli, "xor", *SMALL, "--activation", "relu,tanh", "--lr", "0.01,0.1")
    combos = [(r["activation"], r["lr"]) for r in doc["runs"]]
    assert combos == [("relu", 0.01), ("relu", 0.1), ("tanh", 0.01), ("tanh", 0.1)]
    # Each combination equals the same combination trained alone: same data, same seed.
    alone = _doc(cli, "xor", *SMALL, "--activation", "tanh", "--lr", "0.1")["runs"][0]
    assert doc["runs"][3]["history"] == alone["history"]


def test_aliases_and_duplicates_are_one_run(cli) -> None:
    doc = _doc(cli, "xor", *SMALL, "--activation", "relu,ReLU", "--optimizer", "adam,adam")
    assert len(doc["runs"]) == 1


# --- the table ---------------------------------------------------------------------


def test_selected_epochs_first_last_and_evenly_spaced() -> None:
    assert selected_epochs(3) == [0, 1, 2]
    assert selected_epochs(100) == [0, 20, 40, 59, 79, 99]
    assert selected_epochs(1) == [0]


def test_many_features_are_abbreviated_not_listed() -> None:
    from nncli.render.train_tables import features_text

    assert features_text(["x", "y", "xy"]) == "features x,y,xy"
    assert features_text([f"c{i}" for i in range(784)]) == "784 features c0, c1, ..., c783"


def test_data_file_table_names_the_file(cli, tmp_path: Path) -> None:
    table = tmp_path / "pts.csv"
    rows = [f"{i % 7},{(i * 3) % 5},{i % 2}" for i in range(40)]
    table.write_text("a,b,label\n" + "\n".join(rows) + "\n", encoding="utf-8")
    out = _train(cli, "--data", str(table), "--epochs", "2", "--batch", "8", "--hidden", "4")
    assert out.exit_code == 0, out.stderr
    assert "features a,b" in out.stdout and f"\nfrom {table}\n" in out.stdout


def test_table_numbers_are_the_json_numbers(cli) -> None:
    doc = _doc(cli, "moons", *SMALL)
    out = _train(cli, "moons", *SMALL)
    assert out.exit_code == 0
    last = doc["runs"][0]["history"][-1]
    row = next(line for line in out.stdout.splitlines() if line.strip().startswith("4 "))
    assert row.split() == [
        "4",
        num(last["train_loss"]),
        num(last["test_loss"]),
        f"{100 * last['train_accuracy']:.1f}%",
        f"{100 * last['test_accuracy']:.1f}%",
    ]
    assert f"Verdict: {doc['runs'][0]['verdict']}" in out.stdout


@pytest.mark.parametrize("columns", [80, 120])
def test_table_golden(cli, columns: int, no_accelerators: None) -> None:
    out = _train(
        cli,
        "xor",
        *SMALL,
        "--activation",
        "relu,tanh",
        "--device",
        "cpu",
        env={"COLUMNS": str(columns)},
    )
    assert out.exit_code == 0, out.stderr
    assert max(len(line) for line in out.stdout.splitlines()) <= columns
    assert "…" not in out.stdout
    check_golden(f"train_compare_{columns}.txt", out.stdout)


# --- gates -------------------------------------------------------------------------


def test_expect_accuracy_miss_exits_1_after_printing(cli) -> None:
    out = _train(cli, "xor", *SMALL, "--expect-accuracy", "1", "--expect-loss", "0", "--json")
    doc = json.loads(out.stdout)  # the document is still printed, whole
    final = doc["runs"][0]["final"]
    assert out.exit_code == 1
    assert doc["gates"] == [
        {"run": "the run", "option": "--expect-accuracy", "threshold": 1.0,
         "value": final["test_accuracy"], "ok": final["test_accuracy"] >= 1},
        {"run": "the run", "option": "--expect-loss", "threshold": 0.0,
         "value": final["test_loss"], "ok": False},
    ]  # fmt: skip
    assert "Error: expectation missed" in out.stderr
    assert num(final["test_loss"]) in out.stderr


def test_expect_met_exits_0(cli) -> None:
    out = _train(cli, "xor", *SMALL, "--expect-accuracy", "0", "--expect-loss", "1e9")
    assert out.exit_code == 0, out.stderr
    doc = _doc(cli, "xor", *SMALL, "--expect-accuracy", "0", "--activation", "relu,tanh")
    assert [(g["run"], g["ok"]) for g in doc["gates"]] == [("relu", True), ("tanh", True)]


# --- Ctrl-C ------------------------------------------------------------------------


def test_interrupt_prints_history_exits_130_and_writes_no_file(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nncli.core.train import trainer

    real = trainer.train

    def interrupted(*args, **kwargs):
        from nncli.core.train.verdict import judge

        run = real(*args, **kwargs)
        run.interrupted = True
        run.history = run.history[:2]
        judged = judge(run, args[0])  # judged again, as the trainer judges a stopped run
        run.verdict, run.evidence, run.next_step = judged.verdict, judged.evidence, judged.next_step
        return run

    monkeypatch.setattr(trainer, "train", interrupted)
    plot, save = tmp_path / "a.png", tmp_path / "m.pt"
    out = _train(cli, "xor", *SMALL, "--plot", str(plot), "--save", str(save))
    assert out.exit_code == 130
    assert "interrupted after epoch 2" in out.stdout
    assert "Verdict: interrupted" in out.stdout and "at epoch 2 of 4" in out.stdout
    assert not plot.exists() and not save.exists()
    assert list(tmp_path.iterdir()) == []  # no partial or temporary file either


# --- figure ------------------------------------------------------------------------


def test_plot_writes_the_dashboard_and_lists_it(cli, tmp_path: Path) -> None:
    path = tmp_path / "dash.svg"
    doc = _doc(cli, "xor", *SMALL, "--activation", "relu,tanh", "--plot", str(path))
    assert doc["files"] == {"plot": str(path)}
    text = path.read_text(encoding="utf-8")
    for run in doc["runs"]:  # one boundary panel per run, titled with its verdict
        assert f"{run['activation']}: {run['verdict']}" in text


def test_dashboard_legends_sit_outside_the_axes(tmp_path: Path) -> None:
    from nncli.core.train.datasets import generate
    from nncli.core.train.trainer import RunConfig, model_spec, train
    from nncli.render.train_figure import build_dashboard

    ds = generate("blobs", samples=40, seed=0)
    spec = model_spec(ds, config=None, hidden=(4,), activation="relu", init=None)
    config = RunConfig("relu", None, "adam", 0.05, (4,), "cross_entropy")
    run = train(ds, config, spec, epochs=3, batch=8, seed=0, device="cpu")
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = build_dashboard(ds, [run])("en", None)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is None:
            continue
        box, area = legend.get_window_extent(renderer), ax.get_window_extent(renderer)
        assert box.y1 <= area.y0 + 1, f"legend of {ax.get_title()!r} overlaps its axes"


def test_surface_is_the_models_own_output(tmp_path: Path) -> None:
    """The heat map at a grid point equals sigmoid(model(point)) computed by hand."""
    import numpy as np
    import torch

    from nncli.core.train.datasets import generate
    from nncli.core.train.surface import GRID, surface
    from nncli.core.train.trainer import RunConfig, model_spec, train

    ds = generate("moons", samples=40, seed=0, features=["x", "y", "xy"])
    spec = model_spec(ds, config=None, hidden=(4,), activation="tanh", init=None)
    config = RunConfig("tanh", None, "adam", 0.05, (4,), "bce_with_logits")
    run = train(ds, config, spec, epochs=2, batch=8, seed=0, device="cpu")
    grid = surface(ds, run)
    xs, ys, z = grid.xs, grid.ys, grid.values
    i, j = 7, GRID - 3
    x, y = float(xs[j]), float(ys[i])
    with torch.no_grad():
        expected = torch.sigmoid(run.model(torch.tensor([[x, y, x * y]]))).item()
    assert z.shape == (GRID, GRID)
    assert math.isclose(float(z[i, j]), expected, rel_tol=1e-5, abs_tol=1e-6)
    assert np.all((z >= 0) & (z <= 1))


# --- checkpoints: --save, run --weights, summary --weights --------------------------


def test_run_weights_reproduces_the_trained_model_exactly(cli, tmp_path: Path) -> None:
    import numpy as np
    import torch

    from nncli.core.model.build import build_model
    from nncli.core.train.checkpoint import load_checkpoint

    save = tmp_path / "m.pt"
    out = _train(cli, "xor", *SMALL, "--save", str(save))
    assert out.exit_code == 0, out.stderr
    rows = tmp_path / "rows.csv"
    rows.write_text("0.5,-0.25\n-1,1\n0,0\n", encoding="utf-8")
    doc = cli("run", "--weights", str(save), "--input", str(rows), "--json").json()
    spec, state = load_checkpoint(save)
    model = build_model(spec, "cpu", seed=123).model  # other weights until loaded
    model.load_state_dict(state)
    x = torch.tensor(np.loadtxt(rows, delimiter=",", dtype=np.float32))
    with torch.no_grad():
        expected = model(x).tolist()
    assert doc["output"] == expected


def test_summary_weights_uses_the_checkpoints_config(cli, tmp_path: Path) -> None:
    save = tmp_path / "m.pt"
    assert _train(cli, "xor", *SMALL, "--save", str(save)).exit_code == 0
    doc = cli("summary", "--weights", str(save), "--json").json()
    assert doc["input_shape"][-1] == 2
    assert doc["total_params"] == 2 * 4 + 4 + 4 * 1 + 1
    assert doc["weights"] == str(save)


@pytest.mark.parametrize("command", ["run", "summary"])
def test_weights_that_are_not_a_checkpoint_exit_2(cli, tmp_path: Path, command: str) -> None:
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    out = cli(command, "--weights", str(junk))
    assert out.exit_code == 2, out.stderr
    assert "junk.pt" in out.stderr


@pytest.mark.parametrize("command", ["run", "summary"])
def test_weights_with_a_mismatched_config_exit_2(cli, tmp_path: Path, command: str) -> None:
    save = tmp_path / "m.pt"
    assert _train(cli, "xor", *SMALL, "--save", str(save)).exit_code == 0
    out = cli(command, "--weights", str(save), "--config", "demo")
    assert out.exit_code == 2, out.stderr


def test_run_too_big_for_memory_is_refused_before_training(cli, tmp_path: Path) -> None:
    plot = tmp_path / "a.png"
    out = _train(cli, "moons", "--plot", str(plot), env={"NNCLI_MEMORY_LIMIT": "60KB"})
    assert out.exit_code == 1
    assert "training moons" in out.stderr and "nothing was allocated" in out.stderr
    assert out.stdout == "" and not plot.exists()


def test_the_progress_bar_shows_epoch_loss_and_accuracy() -> None:
    from nncli.commands.train import _progress_callback

    seen: list[tuple[int, int, str]] = []
    callback = _progress_callback(lambda done, total, note: seen.append((done, total, note)))
    callback(3, 10, {"train_loss": 0.51234, "test_loss": 0.6, "test_accuracy": 0.875})
    callback(4, 10, {"train_loss": 0.25, "test_loss": 0.3})  # regression: no accuracy
    assert seen == [
        (3, 10, "epoch 3/10 · loss 0.512 · test acc 88%"),
        (4, 10, "epoch 4/10 · loss 0.25"),
    ]
