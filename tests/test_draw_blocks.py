"""``nncli draw``'s block graph (nncli/core/draw/blocks.py): a config as a chain of the
summary's rows, and a ``--model`` with its edges traced by tensor identity."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest

from nncli.core.draw.blocks import config_block_graph, model_block_graph
from nncli.core.draw.graph import BLOCKS, FUNCTION, INPUT, MODULE, OUTPUT, Graph
from nncli.core.model.config import load_config
from nncli.core.model.user.request import ModelRequest
from nncli.core.model.user.summary import summarize_target
from tests.conftest import Invoke

DRAW = "tests/models/draw_nets.py"
ZOO = "tests/models/zoo.py"
ARCH = "tests/models/arch_nets.py"


def graph(spec: str, *sizes: str, depth: int = 3, batch: int = 1, **kw: object) -> Graph:
    request = ModelRequest(spec, input_sizes=sizes, batch=batch)
    return model_block_graph(request, depth=depth, **kw)  # type: ignore[arg-type]


def named_edges(g: Graph) -> set[tuple[str, str]]:
    """Edges by node name (inputs and outputs by id), so expectations read as the model."""
    names = {n.id: n.name if n.kind in (MODULE, FUNCTION) else n.id for n in g.nodes}
    return {(names[e.source], names[e.target]) for e in g.edges}


def predecessors(g: Graph, node_id: str) -> set[str]:
    return {e.source for e in g.edges if e.target == node_id}


def by_label(g: Graph, label: str) -> list[str]:
    return [n.id for n in g.nodes if n.label == label]


def check_connected(g: Graph) -> None:
    """Every node reachable from the inputs, and every node reaching an output."""
    ids = {n.id for n in g.nodes}
    assert all(e.source in ids and e.target in ids for e in g.edges)
    forward: dict[str, set[str]] = {i: set() for i in ids}
    backward: dict[str, set[str]] = {i: set() for i in ids}
    for e in g.edges:
        forward[e.source].add(e.target)
        backward[e.target].add(e.source)

    def reach(starts: list[str], nexts: dict[str, set[str]]) -> set[str]:
        seen, todo = set(starts), list(starts)
        while todo:
            for nxt in nexts[todo.pop()] - seen:
                seen.add(nxt)
                todo.append(nxt)
        return seen

    assert reach([n.id for n in g.nodes if n.kind == INPUT], forward) == ids
    assert reach([n.id for n in g.nodes if n.kind == OUTPUT], backward) == ids


# ------------------------------------------------------------------ a residual block


def test_residual_block_adds_bn2_and_the_input() -> None:
    g = graph(f"{DRAW}:ResidualBlock", "8,6,6", batch=2)
    assert g.kind == BLOCKS and g.depth == 3 and g.source == f"{DRAW}:ResidualBlock"
    assert named_edges(g) == {
        ("input_0", "conv1"),
        ("conv1", "bn1"),
        ("bn1", "relu"),
        ("relu", "conv2"),
        ("conv2", "bn2"),
        ("bn2", "add_"),
        ("input_0", "add_"),  # the shortcut
        ("add_", "relu"),
        ("relu", "output_0"),
    }
    (add,) = by_label(g, "add_ (+=)")
    assert g.node(add).kind == FUNCTION
    assert {g.node(p).name or p for p in predecessors(g, add)} == {"bn2", "input_0"}
    assert g.node("input_0").shape == (2, 8, 6, 6)
    assert g.node("output_0").shape == (2, 8, 6, 6)
    assert all(e.weight is None for e in g.edges)


def test_residual_block_with_a_downsample_adds_bn2_and_the_downsample() -> None:
    g = graph(f"{DRAW}:residual_down", "8,6,6")
    (add,) = by_label(g, "add_ (+=)")
    assert {g.node(p).name for p in predecessors(g, add)} == {"bn2", "downsample.1"}
    assert ("input_0", "downsample.0") in named_edges(g)
    assert ("downsample.0", "downsample.1") in named_edges(g)
    # the Sequential holding the downsample is a container with shown children
    assert "downsample" not in {n.name for n in g.nodes}
    check_connected(g)


def test_inplace_add_without_function_rows_merges_into_the_next_row() -> None:
    """functional=False: ``out += identity`` has no row; the ReLU after it gets both."""
    g = graph(f"{DRAW}:ResidualBlock", "8,6,6", functional=False)
    relu_after = [n for n in g.nodes if n.name == "relu"][-1]
    assert {g.node(p).name or p for p in predecessors(g, relu_after.id)} == {"bn2", "input_0"}
    check_connected(g)


# ------------------------------------------------------------------ ResNets, concats


@pytest.fixture(scope="module")
def resnet18_depth3() -> Graph:
    return graph(f"{ZOO}:resnet18", "3,224,224")


def test_resnet18_is_connected_with_eight_adds(resnet18_depth3: Graph) -> None:
    g = resnet18_depth3
    check_connected(g)
    adds = by_label(g, "add_ (+=)")
    assert len(adds) == 8
    for add in adds:
        names = {g.node(p).name for p in predecessors(g, add)}
        block = g.node(add).name.rsplit(".", 1)[0]  # "layer2.0"
        assert f"{block}.bn2" in names and len(names) == 2
    # the blocks' containers are no nodes; their children carry the name
    assert not {"layer1", "layer1.0"} & {n.name for n in g.nodes}
    assert "layer1.0.conv1" in {n.name for n in g.nodes}


def test_resnet18_nodes_are_the_summarys_rows(resnet18_depth3: Graph) -> None:
    request = ModelRequest(f"{ZOO}:resnet18", input_sizes=("3,224,224",), batch=1)
    rows = {r.index: r for r in summarize_target(request, depth=3, functional=True).layers}
    for node in resnet18_depth3.nodes:
        if node.kind in (MODULE, FUNCTION):
            row = rows[node.index or 0]
            assert node.id == f"n{row.index}"
            assert (node.label, node.name, node.params) == (row.type, row.name, row.params)
            assert list(node.shape or ()) == row.output_shape
    assert resnet18_depth3.total_params == 11_689_512


def test_resnet18_depth1_is_a_chain() -> None:
    g = graph(f"{ZOO}:resnet18", "3,224,224", depth=1)
    chain = ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4"]
    chain += ["avgpool", "flatten", "fc"]
    path = ["input_0", *chain, "output_0"]
    assert named_edges(g) == set(itertools.pairwise(path))
    assert g.node(by_label(g, "torch.flatten")[0]).kind == FUNCTION
    assert [n.label for n in g.nodes if n.name == "layer1"] == ["Sequential"]
    assert g.depth == 1


def test_resnet50_has_sixteen_adds() -> None:
    g = graph(f"{ARCH}:resnet50", "3,224,224")
    check_connected(g)
    assert len([n for n in g.nodes if n.label.startswith("add")]) == 16


def test_inception_concat_has_one_edge_per_branch() -> None:
    g = graph(f"{ARCH}:inception_v3_no_aux", "3,299,299")
    check_connected(g)
    cats = {g.node(i).name: i for i in by_label(g, "torch.cat")}
    # InceptionA: four branches, each ending in BasicConv2d's F.relu
    sources = {g.node(p).name for p in predecessors(g, cats["Mixed_5b.cat"])}
    assert sources == {
        "Mixed_5b.branch1x1.relu",
        "Mixed_5b.branch5x5_2.relu",
        "Mixed_5b.branch3x3dbl_3.relu",
        "Mixed_5b.branch_pool.relu",
    }
    # InceptionB: two branches and a max pool in its own forward
    assert len(predecessors(g, cats["Mixed_6a.cat"])) == 3


def test_densenet_concat_has_one_edge_per_feature_map() -> None:
    """At depth 4 (each DenseLayer a node): the first block's k-th concat takes the
    block's input and the k - 1 layers before it; the last is the block's output."""
    g = graph(f"{ARCH}:densenet121", "3,224,224", depth=4)
    check_connected(g)
    cats = [i for i in by_label(g, "torch.cat") if g.node(i).name == "features.4.cat"]
    layers = [f"features.4.layers.{k}" for k in range(6)]
    for k, cat in enumerate(cats):
        assert {g.node(p).name for p in predecessors(g, cat)} == {"features.3", *layers[:k]}
    assert len(cats) == 7


# ------------------------------------------------------------------ inputs and outputs


def test_two_inputs_and_a_tuple_output() -> None:
    g = graph(f"{DRAW}:TwoInTwoOut", "4", "3", batch=2)
    assert named_edges(g) == {
        ("input_0", "enc_x"),
        ("input_1", "enc_y"),
        ("enc_x", "add"),
        ("enc_y", "add"),
        ("add", "head_a"),
        ("add", "head_b"),
        ("head_a", "output_0"),
        ("head_b", "output_1"),
    }
    assert [n.shape for n in g.nodes if n.kind == INPUT] == [(2, 4), (2, 3)]
    assert [n.shape for n in g.nodes if n.kind == OUTPUT] == [(2, 2), (2, 1)]


def test_named_inputs_keep_their_names() -> None:
    g = graph("tests/models/input_forms.py:Mixed", "4", "mask=3")
    assert [(n.id, n.name) for n in g.nodes if n.kind == INPUT] == [
        ("input_0", None),
        ("input_1", "mask"),
    ]
    check_connected(g)


def test_a_dict_output_is_one_output_node_per_value() -> None:
    g = graph(f"{DRAW}:DictHeads", "4")
    assert named_edges(g) == {
        ("input_0", "body.0"),
        ("body.0", "body.1"),
        ("body.1", "cls"),
        ("body.1", "reg"),
        ("cls", "output_0"),
        ("reg", "output_1"),
    }


def test_views_in_forward_pass_the_producer_through() -> None:
    """Without function rows, a reshape and a slice are no nodes: conv feeds fc."""
    g = graph(f"{DRAW}:Viewed", "1,4,4", functional=False)
    assert named_edges(g) == {("input_0", "conv"), ("conv", "fc"), ("fc", "output_0")}
    # the module never called is on no data path: no node, its parameters still counted
    assert "unused" not in {n.name for n in g.nodes}
    assert g.total_params == 2 * 9 + 2 + 32 * 5 + 5 + 3 * 3 + 3
    with_rows = graph(f"{DRAW}:Viewed", "1,4,4")
    assert named_edges(with_rows) == {
        ("input_0", "conv"),
        ("conv", "reshape"),
        ("reshape", "getitem"),
        ("getitem", "fc"),
        ("fc", "output_0"),
    }


def test_a_fallback_pass_is_traced_and_noted() -> None:
    """A forward that calls .item() runs for real: the tracer restarts with that pass."""
    g = graph("tests/models/user_nets.py:ItemNet", "6")
    assert g.notes and g.notes[0].startswith("built on cpu: forward does not run on meta")
    # x / scale: the division takes x (scale is a Python float read by .item())
    assert ("input_0", "div") in named_edges(g)
    assert ("div", "fc") in named_edges(g) and ("fc", "output_0") in named_edges(g)


# ------------------------------------------------------------------ configs


@pytest.mark.parametrize("config", ["lenet5", "cifar_cnn"])
def test_config_is_a_chain_of_the_summarys_rows(cli: Invoke, config: str) -> None:
    document = cli("summary", "--config", config, "--batch", "1", "--json").json()
    g = config_block_graph(load_config(config), batch=1, note="drawn as blocks")
    rows = document["layers"]
    blocks = [n for n in g.nodes if n.kind == MODULE]
    assert [(n.label, list(n.shape or ()), n.params, n.name) for n in blocks] == [
        (r["type"], r["output_shape"], r["params"], r["name"]) for r in rows
    ]
    assert [n.id for n in blocks] == [f"n{r['index']}" for r in rows]
    ids = [n.id for n in g.nodes]
    assert ids[0] == "input_0" and ids[-1] == "output_0"
    assert [(e.source, e.target) for e in g.edges] == list(itertools.pairwise(ids))
    assert g.node("input_0").shape == tuple(document["input_shape"])
    assert g.node("output_0").shape == tuple(rows[-1]["output_shape"])
    assert g.total_params == document["total_params"]
    assert g.notes == ("drawn as blocks",)
    assert g.kind == BLOCKS and g.name == config


def test_config_batch_is_in_the_shapes() -> None:
    g = config_block_graph(load_config("demo"), batch=4)
    assert g.node("input_0").shape == (4, 3)
    assert [n.label for n in g.nodes] == [
        "Input", "Linear", "Sigmoid", "Linear", "ReLU", "Linear", "Softmax", "Output"
    ]  # fmt: skip
    assert g.total_params == 26 and g.notes == ()


def test_node_kinds_are_counted(resnet18_depth3: Graph) -> None:
    """The ResNet-18's nodes, as a whole: nothing dropped, nothing doubled. At depth 3 the
    three downsamples (depth 3) hold their conv and BN; at depth 4 they are shown."""
    g = resnet18_depth3
    kinds = Counter(n.label for n in g.nodes)
    assert (kinds["Conv2d"], kinds["BatchNorm2d"], kinds["Sequential"]) == (17, 17, 3)
    assert (kinds["ReLU"], kinds["Linear"], kinds["MaxPool2d"]) == (17, 1, 1)
    deeper = Counter(n.label for n in graph(f"{ZOO}:resnet18", "3,224,224", depth=4).nodes)
    assert (deeper["Conv2d"], deeper["BatchNorm2d"], deeper["Sequential"]) == (20, 20, 0)
    assert len({n.id for n in g.nodes}) == len(g.nodes)
    assert len(set(g.edges)) == len(g.edges)
