"""The shipped CNN configs (lenet5, cifar_cnn) and CNN configs through summary, run and
train (issue 10). References: hand-written torch models, torchinfo and hand loops."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torchinfo
from torch import nn

from nncli.core.model import forward
from nncli.core.model.build import build_model
from nncli.core.model.config import load_config, parse_config
from nncli.core.train.checkpoint import load_checkpoint, spec_to_toml
from nncli.core.train.datasets import load_table
from nncli.core.train.trainer import RunConfig, train


def lenet5_by_hand() -> nn.Sequential:
    """LeNet-5 as a tutorial writes it, in the config's module order."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.Tanh(), nn.AvgPool2d(2),
        nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120), nn.Tanh(), nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, 10),
    )  # fmt: skip


def test_lenet5_has_61706_parameters_as_torch_and_torchinfo_count():
    spec = load_config("lenet5")
    assert spec.param_count() == 61_706
    assert sum(p.numel() for p in lenet5_by_hand().parameters()) == 61_706
    model = build_model(spec, seed=0).model
    assert sum(p.numel() for p in model.parameters()) == 61_706
    stats = torchinfo.summary(model, input_size=(1, 1, 32, 32), verbose=0)
    assert stats.total_params == 61_706
    shapes = [tuple(s[1:]) for s in _output_shapes(model, (1, 32, 32))]
    assert shapes[::1] == _with_activations(spec)


def _output_shapes(model: nn.Module, sample: tuple[int, ...]) -> list[torch.Size]:
    out = []
    x = torch.zeros(1, *sample)
    with torch.no_grad():
        for module in model:
            x = module(x)
            out.append(x.shape)
    return out


def _with_activations(spec) -> list[tuple[int, ...]]:
    shapes = []
    for layer, shape in zip(spec.layers, spec.layer_shapes, strict=True):
        shapes += [shape] * (2 if layer.activation else 1)
    return shapes


def test_cifar_cnn_count_is_its_comment_and_torchs():
    spec = load_config("cifar_cnn")
    # conv weights (no bias: the batch norm after each has one) + batch norm γ, β + linear
    expected = (32 * 3 * 9 + 64 * 32 * 9 + 128 * 64 * 9) + 2 * (32 + 64 + 128) + 128 * 10 + 10
    assert spec.param_count() == expected == 94_762
    text = (Path(__file__).parents[1] / "configs" / "cifar_cnn.toml").read_text()
    assert "94,762 parameters" in text and "451 buffer values" in text
    model = build_model(spec, seed=0).model
    assert sum(p.numel() for p in model.parameters()) == expected
    assert spec.buffer_count() == sum(b.numel() for b in model.buffers()) == 451
    assert torchinfo.summary(model, input_size=(2, 3, 32, 32), verbose=0).total_params == expected
    assert [tuple(s[1:]) for s in _output_shapes(model.eval(), (3, 32, 32))] == (
        _with_activations(spec)
    )


@pytest.mark.parametrize("name", ["lenet5", "cifar_cnn"])
def test_checkpoint_toml_round_trips_the_new_keys(name):
    spec = load_config(name)
    again = parse_config(spec_to_toml(spec), spec.source)
    assert again == spec
    assert again.input_shape == spec.input_shape
    assert [(la.type, la.args) for la in again.layers] == [(la.type, la.args) for la in spec.layers]


def test_summary_total_is_torchs(cli):
    out = cli("summary", "--config", "lenet5", "--json")
    assert out.exit_code == 0, out.stderr
    doc = out.json()
    assert doc["total_params"] == sum(p.numel() for p in lenet5_by_hand().parameters())
    assert doc["input_shape"] == [5, 1, 32, 32]
    out = cli("summary", "--config", "cifar_cnn")
    assert out.exit_code == 0, out.stderr
    assert "94,762" in out.stdout


def test_a_config_summary_counts_its_buffers_as_torch_does(cli):
    # The rows held cifar_cnn's 451 BatchNorm buffer values, but the total said 0.
    from nncli.core.model.build import build_model
    from nncli.core.model.config import load_config

    model = build_model(load_config("cifar_cnn"), "cpu", seed=0).model
    expected = sum(b.numel() for b in model.buffers())
    doc = cli("summary", "--config", "cifar_cnn", "--json").json()
    assert doc["buffers"] == sum(row["buffers"] for row in doc["layers"]) == expected == 451
    assert "Buffers (not parameters)" in cli("summary", "--config", "cifar_cnn").stdout
    assert cli("summary", "--config", "lenet5", "--json").json()["buffers"] == 0


def test_run_matches_a_hand_written_script(cli):
    """torch.manual_seed(0), the model, torch.randn(5, 1, 32, 32): the tutorial's order."""
    out = cli("run", "--config", "lenet5", "--json")
    assert out.exit_code == 0, out.stderr
    doc = out.json()
    torch.manual_seed(0)
    model = lenet5_by_hand()
    x = torch.randn(5, 1, 32, 32)
    with torch.no_grad():
        expected = model(x)
    assert doc["input_shape"] == [5, 1, 32, 32]
    assert doc["output_shape"] == [5, 10]
    np.testing.assert_allclose(np.array(doc["output"]), expected.numpy(), rtol=1e-5, atol=1e-6)


def test_run_input_rows_and_images(cli, tmp_path: Path):
    """A CSV row of 1,024 values and a .npy of (N, 1, 32, 32) images give the same output."""
    images = np.random.default_rng(0).normal(size=(3, 1, 32, 32)).astype(np.float32)
    npy = tmp_path / "images.npy"
    np.save(npy, images)
    csv = tmp_path / "rows.csv"
    csv.write_text("\n".join(",".join(repr(float(v)) for v in r) for r in images.reshape(3, -1)))
    torch.manual_seed(0)
    model = lenet5_by_hand()
    with torch.no_grad():
        expected = model(torch.from_numpy(images)).numpy()
    for path in (npy, csv):
        out = cli("run", "--config", "lenet5", "--input", str(path), "--json")
        assert out.exit_code == 0, out.stderr
        np.testing.assert_allclose(np.array(out.json()["output"]), expected, rtol=1e-5, atol=1e-6)
    np.save(npy, images.reshape(3, 32, 32, 1))
    out = cli("run", "--config", "lenet5", "--input", str(npy))
    assert out.exit_code == 2
    assert "[3, 32, 32, 1]" in out.stderr and "[rows, 1, 32, 32]" in out.stderr


def test_run_memory_estimate_counts_every_activation():
    """4 bytes × (parameters + batch × every layer's output), the outputs measured by torch."""
    spec = load_config("lenet5")
    model = build_model(spec, meta=True).model
    values = 32 * 32 + sum(s[1:].numel() for s in _output_shapes(lenet5_by_hand(), (1, 32, 32)))
    assert len(list(model)) == len(lenet5_by_hand())
    one, two = forward.estimate(spec, 1), forward.estimate(spec, 2)
    assert two.device - one.device == 4 * values
    assert one.device == 4 * (61_706 + values)


# ------------------------------------------------------------------ train

TINY = """
name = "tiny_cnn"
input_shape = [1, 6, 6]
[[layers]]
type = "conv2d"
out_channels = 3
kernel_size = 3
padding = 1
activation = "relu"
[[layers]]
type = "maxpool2d"
kernel_size = 2
[[layers]]
type = "batchnorm2d"
[[layers]]
type = "flatten"
[[layers]]
type = "dropout"
p = 0.2
[[layers]]
out_features = 2
"""


def tiny_by_hand() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.BatchNorm2d(3),
        nn.Flatten(), nn.Dropout(0.2), nn.Linear(27, 2),
    )  # fmt: skip


def write_images(path: Path, rows: int = 64) -> Path:
    """Two classes of 6×6 images: class 1 is brighter in its top half."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(rows, 36)).astype(np.float32)
    y = np.arange(rows) % 2
    x[y == 1, :18] += 1.0
    header = ",".join([f"p{i}" for i in range(36)] + ["label"])
    lines = [
        ",".join(f"{v:.5f}" for v in row) + f",{label}" for row, label in zip(x, y, strict=True)
    ]
    path.write_text(header + "\n" + "\n".join(lines) + "\n")
    return path


def test_one_training_run_matches_a_hand_written_loop(tmp_path: Path):
    data = load_table(str(write_images(tmp_path / "img.csv")), task="multi-class", seed=0)
    spec = parse_config(TINY, "tiny.toml")
    run = RunConfig(None, None, "sgd", 0.1, None, "cross_entropy")
    result = train(data, run, spec, epochs=2, batch=8, seed=0, device="cpu", stats_every=1)

    loss_fn = nn.CrossEntropyLoss()
    x = torch.from_numpy(data.x_train).reshape(-1, 1, 6, 6)
    y = torch.from_numpy(data.y_train)
    xt = torch.from_numpy(data.x_test).reshape(-1, 1, 6, 6)
    yt = torch.from_numpy(data.y_test)
    torch.manual_seed(0)
    model = tiny_by_hand()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    gen = torch.Generator().manual_seed(0)  # the batches' order
    torch.manual_seed(0)  # dropout's masks: nncli seeds the loop with the run's seed
    for record in result.history:
        model.train()
        perm = torch.randperm(len(x), generator=gen)
        total = 0.0
        for i in range(0, len(x), 8):
            idx = perm[i : i + 8]
            loss = loss_fn(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        model.eval()
        with torch.no_grad():
            test_loss = loss_fn(model(xt), yt).item()
        assert record.train_loss == pytest.approx(total / len(x), rel=1e-5)
        assert record.test_loss == pytest.approx(test_loss, rel=1e-5)
    assert len(result.history) == 2


def test_a_cnn_config_learns_from_a_table(cli, tmp_path: Path):
    data = write_images(tmp_path / "img.csv", rows=128)
    config = tmp_path / "tiny.toml"
    config.write_text(TINY)
    save = tmp_path / "tiny.pt"
    out = cli(
        "train", "--data", str(data), "--config", str(config), "--task", "multi-class",
        "--epochs", "6", "--batch", "16", "--save", str(save), "--json",
    )  # fmt: skip
    assert out.exit_code == 0, out.stderr
    history = out.json()["runs"][0]["history"]
    assert history[-1]["train_loss"] < 0.5 * history[0]["train_loss"]
    spec, state = load_checkpoint(save)
    assert spec == parse_config(TINY, spec.source)
    assert state["batchnorm2d3.num_batches_tracked"].dtype == torch.int64
    out = cli("run", "--weights", str(save), "--batch", "3", "--json")
    assert out.exit_code == 0, out.stderr
    assert out.json()["output_shape"] == [3, 2]
    out = cli("run", "--weights", str(save), "--config", "lenet5")
    assert out.exit_code == 2
    assert "1×6×6 → conv2d 3×6×6 relu → maxpool2d 3×3×3" in out.stderr
    assert "config bundled:lenet5 is 1×32×32 → conv2d 6×28×28 tanh" in out.stderr


def test_the_readmes_error_example():
    with pytest.raises(Exception) as info:
        parse_config(
            "input_shape = [1, 12, 12]\n"
            "[[layers]]\ntype = 'conv2d'\nout_channels = 6\nkernel_size = 5\n"
            "[[layers]]\ntype = 'avgpool2d'\nkernel_size = 2\n"
            "[[layers]]\ntype = 'conv2d'\nout_channels = 16\nkernel_size = 5\n"
            "[[layers]]\ntype = 'flatten'\n[[layers]]\nout_features = 10\n",
            "lenet5.toml",
        )
    assert str(info.value.message) == (
        "config lenet5.toml: layers[3] (conv2d): kernel 5×5 is larger than its input 6×4×4 "
        "(padding 0)"
    )


def test_two_columns_as_a_1x2_sample_train_without_a_plane(cli, tmp_path: Path):
    """A 1×2 conv1d input is not a point of a plane: no decision boundary is computed."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 2))
    table = tmp_path / "two.csv"
    table.write_text("a,b,y\n" + "\n".join(f"{a},{b},{int(a > b)}" for a, b in x))
    config = tmp_path / "c.toml"
    config.write_text(
        "input_shape = [1, 2]\n[[layers]]\ntype = 'conv1d'\nout_channels = 2\n"
        "kernel_size = 1\nactivation = 'tanh'\n[[layers]]\ntype = 'flatten'\n"
        "[[layers]]\nout_features = 1\n"
    )
    plot = tmp_path / "dashboard.png"
    out = cli(
        "train", "--data", str(table), "--config", str(config), "--epochs", "2",
        "--batch", "10", "--plot", str(plot),
    )  # fmt: skip
    assert out.exit_code == 0, out.stderr
    assert plot.stat().st_size > 0


def test_a_toy_dataset_cannot_feed_a_cnn(cli):
    out = cli("train", "xor", "--config", "lenet5")
    assert out.exit_code == 2
    assert "input_shape is 1×32×32 (1,024 values per sample)" in out.stderr
    assert "dataset xor has 2 input features" in out.stderr
    assert "--data FILE with 1,024 feature columns" in out.stderr


def test_a_table_of_the_wrong_width_names_both(cli, tmp_path: Path):
    data = write_images(tmp_path / "img.csv")
    out = cli("train", "--data", str(data), "--config", "lenet5")
    assert out.exit_code == 2
    assert "1×32×32" in out.stderr and "36 input features" in out.stderr
