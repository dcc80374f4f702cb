"""`nncli.core.draw.neurons`: the neuron graph, every number against an independent
reference (the CLI's own `run --params`, a hand-written torch forward, a checkpoint's
state_dict)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from nncli.cli import app
from nncli.core.draw.graph import BIAS, INPUT, NEURON, NEURONS, OUTPUT, Graph, bias_id, neuron_id
from nncli.core.draw.neurons import connection_count, neuron_graph, neuron_refusal
from nncli.core.model.config import bundled_configs, load_config, parse_config
from nncli.core.model.spec import LayerSpec, ModelSpec
from nncli.core.train.checkpoint import read_checkpoint
from nncli.errors import UsageError
from nncli.limits import MAX_NEURON_COLUMNS

from .conftest import FIXED_ENV, Invoke


def weight_matrix(graph: Graph, layer: int) -> np.ndarray:
    """W[j, i] of the edges into ``layer``, rebuilt from the edge list by node ids."""
    sizes = {node.layer: 0 for node in graph.nodes}
    for node in graph.nodes:
        if node.kind != BIAS:
            sizes[node.layer] = max(sizes[node.layer] or 0, (node.index or 0) + 1)
    w = np.full((sizes[layer], sizes[layer - 1]), np.nan)
    for edge in graph.edges:
        if edge.target.startswith(f"L{layer}_") and edge.source.startswith(f"L{layer - 1}_"):
            if edge.source == bias_id(layer):
                continue
            i = int(edge.source.split("_")[1])
            j = int(edge.target.split("_")[1])
            w[j, i] = edge.weight
    return w


def bias_vector(graph: Graph, layer: int) -> np.ndarray:
    edges = [e for e in graph.edges if e.source == bias_id(layer)]
    b = np.full(len(edges), np.nan)
    for edge in edges:
        b[int(edge.target.split("_")[1])] = edge.weight
    return b


def values(graph: Graph, layer: int) -> list[float | None]:
    return [n.value for n in graph.nodes if n.layer == layer and n.kind != BIAS]


# ------------------------------------------------------------------------ the demo


def test_demo_structure() -> None:
    graph = neuron_graph(load_config("demo"))
    assert graph.kind == NEURONS and graph.name == "demo" and graph.source == "bundled:demo"
    kinds = [n.kind for n in graph.nodes]
    assert kinds.count(INPUT) == 3 and kinds.count(NEURON) == 5 and kinds.count(OUTPUT) == 2
    assert kinds.count(BIAS) == 3
    assert [n.label for n in graph.nodes if n.kind != BIAS] == [
        "x1", "x2", "x3", "h1", "h2", "h3", "h1", "h2", "y1", "y2",
    ]  # fmt: skip
    assert len({n.id for n in graph.nodes}) == len(graph.nodes)
    assert graph.node(neuron_id(1, 2)).activation == "sigmoid"
    assert graph.node(neuron_id(2, 0)).activation == "relu"
    assert graph.node(neuron_id(3, 1)).activation == "softmax"
    assert graph.node(neuron_id(0, 0)).activation is None
    for layer in (1, 2, 3):  # the bias into layer k is drawn in column k - 1
        bias = graph.node(bias_id(layer))
        assert (bias.layer, bias.index, bias.label, bias.value) == (layer - 1, None, "+1", None)
    weighted = [e for e in graph.edges if not e.source.endswith("_bias")]
    biases = [e for e in graph.edges if e.source.endswith("_bias")]
    assert len(weighted) == 19 == 9 + 6 + 4 and len(biases) == 7 == 3 + 2 + 2
    assert all(isinstance(e.weight, float) for e in graph.edges)
    assert len({(e.source, e.target) for e in graph.edges}) == 26
    assert graph.total_params == 26 and graph.weights == "init" and graph.seed == 0
    assert graph.input_row is None and graph.prediction is None and not graph.standardized
    assert all(n.value is None for n in graph.nodes)


def test_demo_layers_and_formulas() -> None:
    layers = neuron_graph(load_config("demo")).layers
    assert [(la.index, la.role, la.size, la.activation) for la in layers] == [
        (0, "input", 3, None),
        (1, "hidden", 3, "sigmoid"),
        (2, "hidden", 2, "relu"),
        (3, "output", 2, "softmax"),
    ]
    assert [la.formula for la in layers] == [None, "3×3 + 3 = 12", "3×2 + 2 = 8", "2×2 + 2 = 6"]
    assert [la.params for la in layers] == [0, 12, 8, 6]
    assert [la.name for la in layers] == [None, "linear1", "linear2", "out"]
    assert [la.bias for la in layers] == [False, True, True, True]


def test_edge_order_is_layer_by_layer_target_major_then_biases() -> None:
    edges = neuron_graph(load_config("demo")).edges
    pairs = [(e.source, e.target) for e in edges[:12]]
    assert pairs == [
        ("L0_0", "L1_0"), ("L0_1", "L1_0"), ("L0_2", "L1_0"),
        ("L0_0", "L1_1"), ("L0_1", "L1_1"), ("L0_2", "L1_1"),
        ("L0_0", "L1_2"), ("L0_1", "L1_2"), ("L0_2", "L1_2"),
        ("L1_bias", "L1_0"), ("L1_bias", "L1_1"), ("L1_bias", "L1_2"),
    ]  # fmt: skip
    assert [e.target for e in edges[12:20]][:6] == ["L2_0"] * 3 + ["L2_1"] * 3
    assert neuron_graph(load_config("demo")).edges == edges  # stable


@pytest.mark.parametrize("seed", [0, 7, 2**40])
def test_weights_equal_run_params(cli: Invoke, seed: int) -> None:
    out = cli("run", "--config", "demo", "--seed", str(seed), "--params", "--json")
    assert out.exit_code == 0, out.stderr
    params = {p["name"]: np.array(p["values"]) for p in out.json()["params"]}
    graph = neuron_graph(load_config("demo"), seed=seed)
    assert graph.seed == seed
    for layer, name in enumerate(("linear1", "linear2", "out"), start=1):
        np.testing.assert_array_equal(weight_matrix(graph, layer), params[f"{name}.weight"])
        np.testing.assert_array_equal(bias_vector(graph, layer), params[f"{name}.bias"])
    assert sum(p.size for p in params.values()) == 26 == len(graph.edges)


def test_seeded_init_leaves_the_callers_rng_alone() -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    neuron_graph(load_config("demo"), seed=5)
    assert torch.equal(torch.rand(3), expected)


class TutorialModel(torch.nn.Module):
    """The tutorial's model, written out by hand (as tests/test_run.py does)."""

    def __init__(self) -> None:
        super().__init__()
        self.linear1 = torch.nn.Linear(3, 3)
        torch.nn.init.xavier_normal_(self.linear1.weight)
        self.linear2 = torch.nn.Linear(3, 2)
        torch.nn.init.kaiming_normal_(self.linear2.weight)
        self.out = torch.nn.Linear(2, 2)


@pytest.mark.parametrize("row", [(1.0, 2.0, 3.0), (-0.5, 0.0, 4.25), (0.0, 0.0, 0.0)])
def test_input_values_equal_a_hand_written_forward(row: tuple[float, ...]) -> None:
    torch.manual_seed(0)
    m = TutorialModel()
    x = torch.tensor([row], dtype=torch.float32)
    with torch.no_grad():
        h1 = torch.sigmoid(x @ m.linear1.weight.T + m.linear1.bias)
        h2 = torch.relu(h1 @ m.linear2.weight.T + m.linear2.bias)
        y = torch.softmax(h2 @ m.out.weight.T + m.out.bias, dim=-1)
    graph = neuron_graph(load_config("demo"), input_row=row)
    assert values(graph, 0) == list(row)
    for layer, expected in ((1, h1), (2, h2), (3, y)):
        np.testing.assert_allclose(values(graph, layer), expected[0].numpy(), rtol=1e-6, atol=1e-7)
    assert graph.prediction == int(y.argmax())
    assert sum(v for v in values(graph, 3) if v is not None) == pytest.approx(1.0, abs=1e-6)
    assert graph.input_row == row and not graph.standardized
    assert all(graph.node(bias_id(k)).value == 1.0 for k in (1, 2, 3))


def test_input_values_equal_run_with_the_same_row(cli: Invoke, tmp_path: Path) -> None:
    rows = tmp_path / "rows.csv"
    rows.write_text("0.3,-1.7,2.2\n", encoding="utf-8")
    out = cli("run", "--config", "demo", "--seed", "3", "--input", str(rows), "--json")
    assert out.exit_code == 0, out.stderr
    graph = neuron_graph(load_config("demo"), seed=3, input_row=[0.3, -1.7, 2.2])
    np.testing.assert_allclose(values(graph, 3), out.json()["output"][0], rtol=1e-6)
    assert graph.prediction == out.json()["predictions"][0]


# ------------------------------------------------------------------------ a checkpoint


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`train xor --hidden 4 --epochs 5 --standardize --save m.pt`, once for the module."""
    path = tmp_path_factory.mktemp("ckpt") / "m.pt"
    args = ["train", "xor", "--hidden", "4", "--epochs", "5", "--standardize"]
    result = CliRunner().invoke(app, [*args, "--save", str(path)], env=FIXED_ENV)
    assert result.exit_code == 0, result.stderr
    return path


def test_checkpoint_weights_equal_its_state_dict(checkpoint: Path) -> None:
    ckpt = read_checkpoint(checkpoint)
    graph = neuron_graph(ckpt.spec, state=ckpt.state, seed=9)
    assert graph.weights == "checkpoint" and graph.seed is None
    for layer in (1, 2):
        w = ckpt.state[f"linear{layer}.weight"].float().numpy()
        np.testing.assert_array_equal(weight_matrix(graph, layer), w)
        b = ckpt.state[f"linear{layer}.bias"].float().numpy()
        np.testing.assert_array_equal(bias_vector(graph, layer), b)
    # and not the seeded init's
    init = neuron_graph(ckpt.spec, seed=0)
    assert not np.array_equal(weight_matrix(init, 1), weight_matrix(graph, 1))
    assert [la.role for la in graph.layers] == ["input", "hidden", "output"]
    assert [n.label for n in graph.nodes if n.kind != BIAS] == [
        "x1", "x2", "h1", "h2", "h3", "h4", "y1",
    ]  # fmt: skip


def test_checkpoint_input_is_standardised_as_run_does(
    cli: Invoke, checkpoint: Path, tmp_path: Path
) -> None:
    ckpt = read_checkpoint(checkpoint)
    assert ckpt.standardization is not None
    row = (0.5, -1.25)
    rows = tmp_path / "rows.csv"
    rows.write_text("0.5,-1.25\n", encoding="utf-8")
    out = cli("run", "--weights", str(checkpoint), "--input", str(rows), "--json")
    assert out.exit_code == 0, out.stderr
    doc = out.json()
    assert doc["standardization"]["applied"] is True
    graph = neuron_graph(
        ckpt.spec, state=ckpt.state, standardization=ckpt.standardization, input_row=row
    )
    assert graph.standardized and graph.input_row == row
    mean, std = np.array(doc["standardization"]["mean"]), np.array(doc["standardization"]["std"])
    np.testing.assert_allclose(values(graph, 0), (np.array(row) - mean) / std, rtol=1e-6)
    np.testing.assert_array_equal(values(graph, 2), doc["output"][0])
    assert graph.prediction is None  # one output: a regression-style score, no argmax
    # without the statistics, the raw row goes in
    raw = neuron_graph(ckpt.spec, state=ckpt.state, input_row=row)
    assert values(raw, 0) == list(row) and not raw.standardized


def test_a_state_dict_of_another_model_is_a_usage_error(checkpoint: Path) -> None:
    ckpt = read_checkpoint(checkpoint)
    with pytest.raises(UsageError, match="do not match"):
        neuron_graph(load_config("demo"), state=ckpt.state)


# ------------------------------------------------------------------------ refusals

REFUSED = {
    "lenet5": "lenet5 has conv2d, avgpool2d and flatten layers",
    "cifar_cnn": "cifar_cnn has conv2d, batchnorm2d, maxpool2d",
    "wide_10b": "wide_10b has 10,737,418,240 connections, more than 250,000",
}


def test_every_bundled_config_is_judged() -> None:
    assert set(bundled_configs()) == {*REFUSED, "demo", "mnist_mlp", "deep_tanh"}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused(name: str) -> None:
    reason = neuron_refusal(load_config(name))
    assert reason is not None and reason.startswith(REFUSED[name])
    assert "\n" not in reason and not reason.endswith(".")


@pytest.mark.parametrize("name", ["demo", "mnist_mlp", "deep_tanh"])
def test_accepted(name: str) -> None:
    assert neuron_refusal(load_config(name)) is None


def test_limits_are_keyword_options() -> None:
    deep = load_config("deep_tanh")
    assert neuron_refusal(deep, max_columns=11) is not None
    reason = neuron_refusal(load_config("demo"), max_connections=18, max_columns=3)
    assert reason == (
        "demo has 19 connections, more than 18, and "
        "4 columns (the input and 3 linear layers), more than 3"
    )


def test_columns_limit_is_inclusive() -> None:
    most = "input_features = 2\n" + "[[layers]]\nout_features = 2\n" * (MAX_NEURON_COLUMNS - 1)
    assert neuron_refusal(parse_config(most)) is None
    more = most + "[[layers]]\nout_features = 2\n"
    assert f"{MAX_NEURON_COLUMNS + 1} columns" in (neuron_refusal(parse_config(more)) or "")


def test_connection_counts() -> None:
    assert connection_count(load_config("demo")) == 19
    assert connection_count(load_config("mnist_mlp")) == 234_752 == 784 * 256 + 256 * 128 + 1280


def test_a_linear_layer_on_a_shaped_input_is_refused() -> None:
    # A config cannot say this (its output must be a vector), but a spec made in code can.
    spec = ModelSpec(6, (LayerSpec(4),), name="img", input_shape=(2, 3))
    assert neuron_refusal(spec) == "img takes a 2×3 input, not a vector of features"


@pytest.mark.parametrize("name", ["lenet5", "wide_10b"])
def test_neuron_graph_refuses_before_building(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from nncli.core.model import build

    def no_build(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("built a model it should have refused")

    monkeypatch.setattr(build, "build_model", no_build)
    with pytest.raises(UsageError, match=f"cannot draw {name} as neurons"):
        neuron_graph(load_config(name))


def test_deep_tanh_the_vanishing_gradient_lesson_is_drawn_as_neurons() -> None:
    graph = neuron_graph(load_config("deep_tanh"), input_row=[0.1] * 64)
    assert len(graph.weighted_edges()) == 41_665
    assert [la.role for la in graph.layers].count("hidden") == 10
    assert graph.prediction is None  # one output neuron
    assert 0 < (values(graph, 11)[0] or 0) < 1  # sigmoid


# ------------------------------------------------------------------------ bad rows


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ([1.0, 2.0], r"--input 1,2: 2 values, the model takes 3 features"),
        ([1.0, 2.0, 3.0, 4.0], r"--input 1,2,3,4: 4 values, the model takes 3 features"),
        ([], r"--input : 0 values"),
        ([1.0, float("nan"), 3.0], r"--input 1,nan,3: value 2 \(nan\) is not a finite number"),
        ([float("inf"), 0.0, 3.0], r"value 1 \(inf\) is not a finite number"),
        ([1.0, 2.0, 1e39], r"value 3 \(1e\+39\) is beyond float32's range"),
        ([0.5] * 20, r"--input 0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,…: 20 values, the model takes 3"),
    ],
)
def test_bad_rows_are_usage_errors_naming_the_value(
    row: list[float], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nncli.core.model import build

    monkeypatch.setattr(build, "build_model", None)  # validation comes first
    with pytest.raises(UsageError, match=message):
        neuron_graph(load_config("demo"), input_row=row)


def test_a_bad_seed_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="--seed"):
        neuron_graph(load_config("demo"), seed=-1)


# ------------------------------------------------------------------------ other shapes

NO_BIAS = """
name = "nobias"
input_features = 3
[[layers]]
out_features = 2
activation = "tanh"
bias = false
[[layers]]
out_features = 4
"""


def test_layers_without_bias_have_no_bias_node() -> None:
    graph = neuron_graph(parse_config(NO_BIAS), input_row=[1.0, -1.0, 0.5])
    assert bias_id(1) not in {n.id for n in graph.nodes}
    assert graph.node(bias_id(2)).layer == 1
    assert [la.formula for la in graph.layers] == [None, "3×2 = 6", "2×4 + 4 = 12"]
    assert len(graph.edges) == 6 + 8 + 4 and graph.total_params == 18
    assert graph.node(neuron_id(2, 0)).activation is None  # no activation given
    assert graph.prediction is not None  # four outputs: a classifier's argmax
    out = values(graph, 2)
    assert graph.prediction == int(np.argmax(np.array(out, dtype=float)))


def test_mnist_mlp_every_edge() -> None:  # its speed: benchmarks/bench_draw.py
    spec = load_config("mnist_mlp")
    graph = neuron_graph(spec)
    assert len(graph.weighted_edges()) == 234_752 + 256 + 128 + 10
    assert len([n for n in graph.nodes if n.kind != BIAS]) == 784 + 256 + 128 + 10
    from nncli.core.model.build import build_model

    model = build_model(spec, seed=0).model
    first = model.get_submodule("linear1").weight.detach().numpy()
    np.testing.assert_array_equal(weight_matrix(graph, 1), first)
    assert [la.formula for la in graph.layers][1] == "784×256 + 256 = 200,960"
