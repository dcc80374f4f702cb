"""``nncli train``'s planning and registries (issue 14): runs and their names in
core/train/plan.py, the optimiser registry, one definition of the tasks, help text read
from the registries, the decision surface computed in core in eval mode, and --dpi."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from nncli.core.train import datasets, optimizers, plan, trainer
from nncli.core.train.datasets import generate
from nncli.core.train.trainer import RunConfig
from nncli.errors import UsageError


def _config(**kw: object) -> RunConfig:
    base: dict[str, object] = {
        "activation": "tanh",
        "init": None,
        "optimizer": "adam",
        "lr": 0.03,
        "hidden": (4,),
        "loss": "bce_with_logits",
    }
    return RunConfig(**{**base, **kw})


# --- plan -------------------------------------------------------------------------


def test_run_names_say_only_what_was_varied() -> None:
    runs = [_config(activation="relu", lr=0.1), _config(activation="tanh", lr=0.1)]
    assert plan.varied_keys(runs) == ["activation"]
    assert plan.run_names(runs, "moons") == ["relu", "tanh"]
    assert plan.run_names(runs[:1], "moons") == ["moons"]
    both = [_config(optimizer="sgd", lr=0.1), _config(optimizer="adam", lr=0.01)]
    assert plan.run_names(both, "x") == ["sgd/lr=0.1", "adam/lr=0.01"]
    # nothing varied: every setting, in the label order
    assert plan.run_label(_config()) == "tanh/default/adam/lr=0.03"


def test_plan_is_the_product_activation_slowest() -> None:
    ds = generate("moons", samples=40, seed=0)
    plans = plan.plan_runs(
        ds,
        config=None,
        hidden=(4,),
        activations=["relu", None],
        inits=[None],
        optimizers=["sgd", "adam"],
        lrs=[0.1],
        loss=None,
        weight_decay=0.0,
        l1=0.0,
    )
    got = [(p.config.activation, p.config.optimizer) for p in plans]
    assert got == [("relu", "sgd"), ("relu", "adam"), ("tanh", "sgd"), ("tanh", "adam")]
    assert all(p.config.loss == "bce_with_logits" and not p.warnings for p in plans)


def test_too_many_runs_is_a_usage_error_naming_the_count() -> None:
    assert plan.check_run_count([1, 2], [1, 2, 3]) == 6
    with pytest.raises(UsageError, match="65 runs; at most 64"):
        plan.check_run_count(range(5), range(13))


# --- optimisers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "cls", "momentum"),
    [
        ("sgd", torch.optim.SGD, 0),
        ("momentum", torch.optim.SGD, optimizers.MOMENTUM),
        ("adam", torch.optim.Adam, None),
        ("adamw", torch.optim.AdamW, None),
        ("rmsprop", torch.optim.RMSprop, 0),
    ],
)
def test_each_factory_builds_its_torch_optimiser(name: str, cls: type, momentum: object) -> None:
    params = [torch.nn.Parameter(torch.zeros(2))]
    opt = optimizers.make_optimizer(name, params, lr=0.5, weight_decay=0.25)
    assert type(opt) is cls
    group = opt.param_groups[0]
    assert (group["lr"], group["weight_decay"]) == (0.5, 0.25)
    if momentum is not None:
        assert group["momentum"] == momentum


def test_registry_entries_are_complete() -> None:
    assert list(optimizers.OPTIMIZERS) == ["sgd", "momentum", "adam", "adamw", "rmsprop"]
    for name, entry in optimizers.OPTIMIZERS.items():
        assert entry.name == name and entry.description and callable(entry.make)
    assert optimizers.DEFAULT_OPTIMIZER in optimizers.OPTIMIZERS


def test_unknown_optimizer_names_the_value_and_suggests() -> None:
    with pytest.raises(UsageError, match="unknown optimizer 'rmsporp'") as err:
        optimizers.get_optimizer("rmsporp")
    assert err.value.hint == "did you mean rmsprop?"
    assert optimizers.check_optimizer(" AdamW ") == "adamw"


# --- one definition of the tasks ----------------------------------------------------


def test_train_tasks_are_defined_once_and_known_to_the_loss_registry() -> None:
    from nncli.core.loss.losses import TASKS as LOSS_TASKS

    assert trainer.TASKS is datasets.TASKS
    assert set(datasets.TASKS) <= set(LOSS_TASKS)


# --- help text from the registries ---------------------------------------------------


def test_help_text_is_read_from_the_registries() -> None:
    from nncli.commands import train

    # the same words as the hand-written text it replaced (docs/ is generated from it)
    assert train._DATASET_HELP == (
        "xor, circles, moons, spiral, blobs (classification), plane, sine (regression)."
    )
    assert train._FEATURES_HELP == (
        "Input features, any of x,y,x2,y2,xy,sinx,siny (TF Playground's)."
    )
    assert train._OPTIMIZER_HELP == (
        "sgd, momentum, adam, adamw or rmsprop; a comma list trains one run each."
    )
    assert train._LOSS_HELP == "Loss; default from the task: bce_with_logits, cross_entropy or mse."
    assert train._one_of(["a"]) == "a"
    assert train._one_of(iter(["a", "b", "c"])) == "a, b or c"


def test_a_new_optimiser_needs_one_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def make(params, lr, weight_decay):
        calls.append((lr, weight_decay))
        return torch.optim.SGD(params, lr=lr)

    monkeypatch.setitem(optimizers.OPTIMIZERS, "lion", optimizers.Optimizer("lion", "test", make))
    assert optimizers.check_optimizer("Lion") == "lion"
    optimizers.make_optimizer("lion", [torch.nn.Parameter(torch.zeros(1))], lr=0.5)
    assert calls == [(0.5, 0.0)]


# --- the decision surface: computed in core, in eval mode ----------------------------

DROPOUT_CONFIG = """\
name = "dropout_mlp"
input_features = 2

[[layers]]
out_features = 16
activation = "relu"

[[layers]]
type = "dropout"
p = 0.5

[[layers]]
out_features = 1
"""


def _dropout_run(tmp_path: Path) -> tuple[datasets.Dataset, trainer.TrainRun]:
    from nncli.core.model.config import load_config

    path = tmp_path / "dropout.toml"
    path.write_text(DROPOUT_CONFIG, encoding="utf-8")
    ds = generate("moons", samples=40, seed=0)
    spec = trainer.model_spec(
        ds, config=load_config(str(path)), hidden=None, activation=None, init=None
    )
    config = RunConfig(None, None, "adam", 0.05, None, "bce_with_logits")
    return ds, trainer.train(ds, config, spec, epochs=2, batch=8, seed=0, device="cpu")


def test_a_dropout_models_surface_is_the_same_every_time(tmp_path: Path) -> None:
    """Bug (issue 14): the figure ran the model in training mode, so with dropout two
    renders of one run differed by up to 0.58. Now: eval mode, the mode restored."""
    from nncli.core.train.surface import GRID, surface

    ds, run = _dropout_run(tmp_path)
    run.model.train()
    first, second = surface(ds, run), surface(ds, run)
    assert run.model.training  # the mode as found
    np.testing.assert_array_equal(first.values, second.values)
    # by hand: eval mode, sigmoid of the logit at every grid point
    gx, gy = np.meshgrid(first.xs, first.ys)
    plane = torch.from_numpy(np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32))
    run.model.eval()
    with torch.no_grad():
        expected = torch.sigmoid(run.model(plane))[:, 0].numpy().reshape(GRID, GRID)
    run.model.train()
    np.testing.assert_allclose(first.values, expected, rtol=1e-6, atol=1e-7)


def test_the_dashboard_draws_the_same_heat_map_twice(tmp_path: Path) -> None:
    from nncli.render.train_figure import build_dashboard

    ds, run = _dropout_run(tmp_path)
    run.model.train()
    maps = []
    for _ in range(2):
        fig = build_dashboard(ds, [run])("en", None)
        (image,) = [img for ax in fig.axes for img in ax.get_images()]
        maps.append(np.asarray(image.get_array()))
    np.testing.assert_array_equal(maps[0], maps[1])


# --- --dpi --------------------------------------------------------------------------


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


def test_dpi_sets_the_dashboards_pixel_size(cli, tmp_path: Path) -> None:
    """Bug (issue 14): --dpi was validated, then ignored (always 150 dpi).
    One run on a plane: one row of three panels (12.6 × 5.8 in, issue 16's layout)."""
    small = ("--samples", "40", "--epochs", "1", "--batch", "8", "--hidden", "2", "--quiet")
    for dpi, size in ((50, (630, 290)), (100, (1260, 580))):
        path = tmp_path / f"dash{dpi}.png"
        out = cli("train", "xor", *small, "--plot", str(path), "--dpi", str(dpi))
        assert out.exit_code == 0, out.stderr
        assert _png_size(path) == size
