"""``nncli run --model``: one seeded forward pass of the user's own module.

Every number is checked against the torch script a user would write by hand:
``torch.manual_seed(seed); model = Cls(**kw); x = torch.randn(batch, *size);
model.eval(); model(x)``.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from nncli.core.model.user.request import ModelRequest
from nncli.core.model.user.run import ModelRunResult, OutputTensor, run_target
from nncli.errors import RuntimeFailure, UsageError
from nncli.fmt import num
from nncli.render.console import _RstripLines
from nncli.render.jsonout import emit
from nncli.render.model_run import model_run_document, render_model_run

from .conftest import Invoke
from .models import run_nets
from .models.run_nets import ConvNet, Net, Structured, Tokens, TwoInputs

FILE = "tests/models/run_nets.py"


def run(
    name: str,
    *sizes: str,
    seed: int = 0,
    batch: int = 2,
    kwargs: str | None = None,
    dtypes: tuple[str, ...] = (),
    vocab: int | None = None,
    files: tuple[str, ...] = (),
) -> ModelRunResult:
    return run_target(
        ModelRequest(
            f"{FILE}:{name}",
            kwargs_text=kwargs,
            input_sizes=sizes,
            dtypes=dtypes,
            vocab=vocab,
            input_files=files,
            batch=batch,
            seed=seed,
        )
    )


def script(cls: type, seed: int, batch: int, *sizes: tuple[int, ...], **kw: Any) -> Any:
    """The hand-written reference: seed, build, draw, eval, forward."""
    torch.manual_seed(seed)
    model = cls(**kw)
    xs = [torch.randn(batch, *size) for size in sizes]
    model.eval()
    with torch.no_grad():
        return model(*xs)


def values(result: ModelRunResult) -> dict[str, Any]:
    return {o.path: o.values for o in result.outputs}


# -- the forward pass ---------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 7, 2**40 + 3])
def test_values_equal_the_hand_written_script(seed: int) -> None:
    result = run("Net", "4", seed=seed, batch=3)
    expected = script(Net, seed, 3, (4,))
    assert [o.path for o in result.outputs] == ["output"]
    (out,) = result.outputs
    assert out.shape == [3, 3] and out.dtype == "float32"
    np.testing.assert_array_equal(out.values, expected.numpy())
    assert result.inputs == [{"name": None, "shape": [3, 4], "dtype": "float32"}]
    assert result.seed == seed and result.device == "cpu" and result.input_source == "random"


def test_same_seed_identical_other_seed_different() -> None:
    a, b, c = (values(run("Net", "4", seed=s))["output"] for s in (5, 5, 6))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_the_callers_random_state_is_left_alone() -> None:
    torch.manual_seed(99)
    expected = torch.rand(3)
    torch.manual_seed(99)
    run("Net", "4")
    assert torch.equal(torch.rand(3), expected)


def test_model_kwargs_and_a_factory() -> None:
    result = run("Net", "4", kwargs='{"hidden": 9, "classes": 5}', seed=3)
    expected = script(Net, 3, 2, (4,), hidden=9, classes=5)
    np.testing.assert_array_equal(values(result)["output"], expected.numpy())
    factory = run("make_net", "4", kwargs='{"hidden": 3}', seed=4)
    torch.manual_seed(4)
    model = run_nets.make_net(hidden=3).eval()
    with torch.no_grad():
        reference = model(torch.randn(2, 4))
    np.testing.assert_array_equal(values(factory)["output"], reference.numpy())


def test_two_inputs_in_order() -> None:
    result = run("TwoInputs", "3", "5", seed=2, batch=4)
    expected = script(TwoInputs, 2, 4, (3,), (5,))
    np.testing.assert_array_equal(values(result)["output"], expected.numpy())
    assert [i["shape"] for i in result.inputs] == [[4, 3], [4, 5]]


def test_named_inputs_go_by_keyword() -> None:
    # Drawn in the order given (right first), passed by name.
    result = run("TwoInputs", "right=5", "left=3", seed=2, batch=4)
    torch.manual_seed(2)
    model = TwoInputs().eval()
    right, left = torch.randn(4, 5), torch.randn(4, 3)
    with torch.no_grad():
        expected = model(left=left, right=right)
    np.testing.assert_array_equal(values(result)["output"], expected.numpy())
    assert [i["name"] for i in result.inputs] == ["right", "left"]


def test_a_tuple_output_conv_net_with_batchnorm() -> None:
    result = run("ConvNet", "1,8,8", seed=1, batch=3)
    features, head = script(ConvNet, 1, 3, (1, 8, 8))
    assert [(o.path, o.shape) for o in result.outputs] == [
        ("output[0]", [3, 2, 4, 4]),
        ("output[1]", [3, 5]),
    ]
    np.testing.assert_array_equal(values(result)["output[0]"], features.numpy())
    np.testing.assert_array_equal(values(result)["output[1]"], head.numpy())


def test_every_structure_is_flattened_with_its_path() -> None:
    result = run("Structured", "3", seed=8)
    expected = script(Structured, 8, 2, (3,))
    y = expected["logits"]
    want: dict[str, Any] = {
        "output['logits']": y,
        "output['pair'][0]": y.sum(-1),
        "output['pair'][1][0]": y * 2,
        "output['pair'][1][1]": None,
        "output['named'].low": y.min(),
        "output['named'].high": y.max(),
        "output['data'].logits": y.argmax(-1),
        "output['data'].extra": "label",
        "output['count']": 3,
    }
    assert [o.path for o in result.outputs] == list(want)
    for out in result.outputs:
        reference = want[out.path]
        if isinstance(reference, torch.Tensor):
            assert out.shape == list(reference.shape)
            assert out.dtype == str(reference.dtype).removeprefix("torch.")
            np.testing.assert_array_equal(out.values, reference.numpy())
        else:  # a non-tensor leaf: listed by its type, without values
            assert (out.shape, out.dtype, out.values) == ([], type(reference).__name__, None)


@pytest.mark.parametrize(("vocab", "bound"), [(None, 7), (3, 3)])
def test_token_ids_are_drawn_within_the_vocabulary(vocab: int | None, bound: int) -> None:
    # Default: the model's smallest nn.Embedding (7 rows); --vocab bounds them otherwise.
    result = run("Tokens", "10", dtypes=("long",), vocab=vocab, seed=6, batch=3)
    torch.manual_seed(6)
    model = Tokens().eval()
    ids = torch.randint(0, bound, (3, 10))
    with torch.no_grad():
        expected = model(ids)
    np.testing.assert_array_equal(values(result)["output"], expected.numpy())
    assert result.inputs == [{"name": None, "shape": [3, 10], "dtype": "int64"}]
    assert result.drawn == [f"random integers in [0, {bound})"]
    assert f"input [3, 10] int64, random integers in [0, {bound})" in rendered(result)


def test_echoed_ids_lie_in_zero_to_vocab() -> None:
    (out,) = run("Echo", "500", dtypes=("long",), vocab=4, batch=2).outputs
    assert out.dtype == "int64" and out.shape == [2, 500]
    assert set(np.unique(out.values).tolist()) == {0, 1, 2, 3}


def test_input_from_a_npy_file(tmp_path: Path) -> None:
    data = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
    path = tmp_path / "rows.npy"
    np.save(path, data)
    result = run("Net", files=(str(path),), seed=2, batch=5)  # the file's 3 rows are the batch
    torch.manual_seed(2)
    model = Net().eval()
    with torch.no_grad():
        expected = model(torch.from_numpy(data))
    np.testing.assert_array_equal(values(result)["output"], expected.numpy())
    assert result.input_source == str(path) and result.drawn == [f"from {path}"]
    assert result.inputs[0]["shape"] == [3, 4]


def test_an_instance_runs_in_eval_mode_and_is_left_as_found() -> None:
    # By module name: the import is the one this test made, so this is the same object
    # (a path SPEC imports the file afresh).
    model = run_nets.instance
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    result = run_target(
        ModelRequest(
            "tests.models.run_nets:instance",
            kwargs_text=None,
            input_sizes=("4",),
            dtypes=(),
            vocab=None,
            input_files=(),
            batch=3,
            seed=11,
        )
    )
    # Eval mode: dropout off, so the output is exactly fc(x).
    torch.manual_seed(11)
    x = torch.randn(3, 4)
    with torch.no_grad():
        expected = model.fc(x)
    np.testing.assert_array_equal(values(result)["output"], expected.numpy())
    assert model.training and model.drop.training and model.fc.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert not model._forward_hooks and not model._forward_pre_hooks
    assert not torch.nn.modules.module._global_forward_hooks
    assert not torch.nn.modules.module._global_forward_pre_hooks
    assert any("instance" in note for note in result.notes)


def test_a_model_that_cannot_be_built_on_meta_still_runs() -> None:
    result = run("NotOnMeta", "4", seed=12)
    expected = script(run_nets.NotOnMeta, 12, 2, (4,))
    np.testing.assert_array_equal(values(result)["output"], expected.numpy())


def test_a_failing_instance_is_left_in_training_mode() -> None:
    model = run_nets.instance
    model.train()
    with pytest.raises(UsageError, match=r"fails in fc \(Linear\) given input \[2, 5\]"):
        run_target(
            ModelRequest(
                "tests.models.run_nets:instance",
                kwargs_text=None,
                input_sizes=("5",),
                dtypes=(),
                vocab=None,
                input_files=(),
                batch=2,
                seed=0,
            )
        )
    assert model.training and model.fc.training and model.drop.training
    with pytest.raises(UsageError, match="--model-kwargs does not apply"):
        run_target(
            ModelRequest(
                "tests.models.run_nets:instance",
                kwargs_text='{"p": 1}',
                input_sizes=("4",),
                dtypes=(),
                vocab=None,
                input_files=(),
                batch=2,
                seed=0,
            )
        )


# -- errors -------------------------------------------------------------------------


def test_a_failing_forward_names_the_layer_and_its_input() -> None:
    with pytest.raises(UsageError) as caught:
        run("Broken", "4", batch=2)
    message = str(caught.value.message)
    assert message.startswith("the forward pass fails in body.fc2 (Linear) given input [2, 6]: ")
    assert "RuntimeError: mat1 and mat2 shapes cannot be multiplied (2x6 and 5x2)" in message
    assert caught.value.hint is not None and "--input-size" in caught.value.hint
    assert not torch.nn.modules.module._global_forward_hooks  # the tracker's hooks are gone


def test_a_failure_in_the_models_own_forward() -> None:
    with pytest.raises(UsageError) as caught:
        run("FailsInOwnForward", "4", batch=2)
    assert caught.value.message.startswith(
        "the forward pass fails in FailsInOwnForward.forward (FailsInOwnForward) given input "
        "[2, 4]: RuntimeError: The size of tensor a (3) must match the size of tensor b (7)"
    )


def test_an_inferred_input_size_is_named_in_the_hint() -> None:
    # No --input-size: inferred from the first Linear (4 features); fc2 then fails.
    with pytest.raises(UsageError) as caught:
        run("Broken")
    assert "fails in body.fc2 (Linear) given input [2, 6]" in caught.value.message
    assert caught.value.hint is not None
    assert caught.value.hint.startswith("the input size was inferred from body.fc1")


def test_wrong_input_size_fails_at_the_first_layer() -> None:
    with pytest.raises(UsageError) as caught:
        run("Net", "5")
    assert "fails in fc1 (Linear) given input [2, 5]: RuntimeError" in caught.value.message


def test_too_large_is_refused_within_the_one_build(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "refused_net.py").write_text(
        "from torch import nn\nBUILT = []\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        BUILT.append(1)\n        super().__init__()\n"
        "        self.fc1, self.fc2 = nn.Linear(4, 6), nn.Linear(6, 3)\n"
        "    def forward(self, x):\n        return self.fc2(self.fc1(x))\n"
    )
    import sys

    spec = f"{tmp_path / 'refused_net.py'}:Net"
    # Net: 51 float32 parameters = 204 bytes, and 2 × 4 inputs = 32 bytes. The bias of
    # fc2 would go past 235 bytes: it is made on meta, and the full size is reported.
    monkeypatch.setenv("NNCLI_MEMORY_LIMIT", "235")
    with pytest.raises(RuntimeFailure) as caught:
        run_target(ModelRequest(spec, input_sizes=("4",), batch=2))
    assert "the model and a batch of 2 needs about 236 B on cpu" in caught.value.message
    built = [m for name, m in sys.modules.items() if name.startswith("_nncli_user_refused_net")]
    assert [len(m.BUILT) for m in built] == [1]  # built once, never again
    monkeypatch.setenv("NNCLI_MEMORY_LIMIT", "236")
    result = run_target(ModelRequest(spec, input_sizes=("4",), batch=2))
    assert result.outputs[0].shape == [2, 3]
    built = [m for name, m in sys.modules.items() if name.startswith("_nncli_user_refused_net")]
    assert sorted(len(m.BUILT) for m in built) == [1, 1]  # one construction per command


def test_a_7b_model_is_refused_without_allocating(monkeypatch: pytest.MonkeyPatch) -> None:
    from nncli.core.memory import format_bytes

    # Below the first tensor (the 500 MiB embedding): nothing is allocated, the rest of
    # the constructor runs on meta, and the refusal names the model's full size.
    monkeypatch.setenv("NNCLI_MEMORY_LIMIT", "256MiB")
    with pytest.raises(RuntimeFailure) as caught:
        run_target(
            ModelRequest(
                "tests/models/decoder7b.py:Decoder",
                kwargs_text=None,
                input_sizes=("16",),
                dtypes=("long",),
                vocab=None,
                input_files=(),
                batch=2,
                seed=0,
            )
        )
    # Llama-2-7B's 6,738,415,616 float32 parameters, and 2 × 16 int64 token ids.
    need = format_bytes(6_738_415_616 * 4 + 2 * 16 * 8)
    assert f"the model and a batch of 2 needs about {need} on cpu" in caught.value.message


# -- rendering ----------------------------------------------------------------------


def rendered(result: ModelRunResult, width: int = 80) -> str:
    from rich.console import Console

    buffer = io.StringIO()
    # The stream stdout_console() uses off a terminal: trailing spaces dropped.
    stream: Any = _RstripLines(buffer)
    render_model_run(result, Console(width=width, no_color=True, file=stream, markup=False))
    return buffer.getvalue()


def check_layout(text: str, width: int) -> None:
    lines = text.splitlines()
    assert max(map(len, lines)) <= width
    assert all(line == line.rstrip() for line in lines)


def test_a_2d_output_as_runs_table_at_80_columns() -> None:
    result = run("Net", "4", seed=3, batch=25, kwargs='{"classes": 12}')
    expected = script(Net, 3, 25, (4,), classes=12).numpy()
    text = rendered(result)
    check_layout(text, 80)
    lines = text.splitlines()
    assert lines[0] == f"Net · model {FILE}:Net · device cpu · seed 3"
    assert lines[1] == "input [25, 4] float32, random N(0, 1)"
    stats = f"min {num(expected.min())} · mean {num(expected.astype(np.float64).mean())}"
    assert f"output [25, 12] float32 · {stats} · max {num(expected.max())}" in text
    for row in expected[:20]:  # the shown rows, every value with six decimals
        for value in row:
            assert f"{value:.6f}" in text
    assert "argmax" in text
    assert "… 5 more rows (use --json for all of them)" in text
    assert f"{expected[20, 0]:.6f}" not in text


def test_a_softmax_output_says_its_rows_sum_to_one() -> None:
    text = rendered(run("SoftmaxNet", "4"))
    assert "rows sum to 1 (within 1e-05)" in text
    assert "rows sum to 1" not in rendered(run("Net", "4"))


def test_other_outputs_print_as_numpy_does_within_the_width() -> None:
    result = run("Structured", "3", seed=8, batch=3)
    text = rendered(result)
    check_layout(text, 80)
    y = script(Structured, 8, 3, (3,))["logits"].numpy()
    assert np.array2string(y.sum(-1), precision=4) in text
    assert "output['pair'][1][1] NoneType (not a tensor)" in text
    assert "output['data'].extra str (not a tensor)" in text


@pytest.mark.parametrize("width", [40, 80, 120])
def test_a_conv_feature_map_fits_any_width(width: int) -> None:
    result = run("ConvNet", "1,8,8", batch=6)
    text = rendered(result, width)
    check_layout(text, width)
    assert "output[0] [6, 2, 4, 4] float32" in text.replace("\n", " ")
    assert "..." in text  # 192 values > numpy's threshold: summarised


def test_beyond_eight_outputs_only_their_lines_are_shown() -> None:
    from nncli.core.model.user.run import flatten_outputs

    leaves = flatten_outputs([torch.full((3,), float(i)) for i in range(10)])
    text = rendered(ModelRunResult("m", "s", "cpu", 0, [], leaves, "random"))
    check_layout(text, 80)
    assert "output[9] [3] float32" in text
    assert "[7. 7. 7.]" in text and "[8. 8. 8.]" not in text
    assert "… the values of 2 more outputs are not shown (use --json for all of them)" in text


# -- JSON ---------------------------------------------------------------------------


def document(result: ModelRunResult, capsys: pytest.CaptureFixture[str]) -> Any:
    emit("run", model_run_document(result))
    return json.loads(capsys.readouterr().out)


RUN_KEYS = ["model", "config", "device", "seed", "weights", "input", "input_shape"]


def test_json_document_round_trips_with_runs_keys(capsys: pytest.CaptureFixture[str]) -> None:
    doc = document(run("Net", "4", seed=5, batch=3), capsys)
    expected = script(Net, 5, 3, (4,))
    for key in [*RUN_KEYS, "output_shape", "output", "predictions", "row_sums", "sums_to_one"]:
        assert key in doc
    assert doc["command"] == "run" and doc["config"] is None and doc["weights"] is None
    assert doc["model"] == "Net" and doc["model_spec"] == f"{FILE}:Net"
    assert doc["input"] == "random" and doc["input_shape"] == [3, 4]
    assert doc["inputs"] == [{"name": None, "shape": [3, 4], "dtype": "float32"}]
    assert doc["output_shape"] == [3, 3]
    assert torch.allclose(torch.tensor(doc["output"]), expected)
    assert doc["outputs"][0]["path"] == "output"
    assert doc["outputs"][0]["values"] == doc["output"]
    assert doc["predictions"] == expected.argmax(-1).tolist()
    assert doc["row_sums"] == pytest.approx(expected.sum(-1).tolist(), abs=1e-6)
    assert doc["sums_to_one"] is None  # logits, not probabilities


def test_json_of_nested_outputs(capsys: pytest.CaptureFixture[str]) -> None:
    doc = document(run("ConvNet", "1,8,8", seed=1, batch=3), capsys)
    features, head = script(ConvNet, 1, 3, (1, 8, 8))
    assert [(o["path"], o["shape"]) for o in doc["outputs"]] == [
        ("output[0]", [3, 2, 4, 4]),
        ("output[1]", [3, 5]),
    ]
    assert torch.allclose(torch.tensor(doc["outputs"][0]["values"]), features)
    assert torch.allclose(torch.tensor(doc["outputs"][1]["values"]), head)
    # The first output is 4-D: no per-row argmax.
    assert doc["output_shape"] == [3, 2, 4, 4]
    assert doc["predictions"] is None and doc["row_sums"] is None


def test_json_of_softmax_and_non_tensor_leaves(capsys: pytest.CaptureFixture[str]) -> None:
    assert document(run("SoftmaxNet", "4"), capsys)["sums_to_one"] is True
    doc = document(run("Structured", "3"), capsys)
    leaf = next(o for o in doc["outputs"] if o["path"] == "output['count']")
    assert leaf == {"path": "output['count']", "shape": [], "dtype": "int", "values": None}
    scalar = next(o for o in doc["outputs"] if o["path"] == "output['named'].low")
    assert scalar["shape"] == [] and isinstance(scalar["values"], float)


def test_complex_and_bfloat16_values_are_json() -> None:
    from nncli.core.model.user.run import flatten_outputs

    tensors = (torch.tensor([1 + 2j, 3 - 1j]), torch.tensor([0.5, 2.0], dtype=torch.bfloat16))
    leaves = flatten_outputs(tensors)
    assert [o.dtype for o in leaves] == ["complex64", "bfloat16"]
    result = ModelRunResult("m", "s", "cpu", 0, [], leaves, "random")
    buffer = io.StringIO()
    from nncli.render.jsonout import write_json

    write_json(buffer.write, model_run_document(result))
    doc = json.loads(buffer.getvalue())
    assert doc["outputs"][0]["values"] == [[1.0, 2.0], [3.0, -1.0]]
    assert doc["outputs"][1]["values"] == [0.5, 2.0]
    assert isinstance(OutputTensor, type)


# -- the command line (once `run --model` is wired) ---------------------------------


def _run_has_model_option() -> bool:
    from typer.testing import CliRunner

    from nncli.cli import app

    out = CliRunner().invoke(app, ["run", "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"})
    return "--model" in out.stdout


needs_cli = pytest.mark.skipif(not _run_has_model_option(), reason="run --model not wired yet")


@needs_cli
def test_cli_json_equals_the_script(cli: Invoke) -> None:
    out = cli("run", "--model", f"{FILE}:Net", "--input-size", "4", "--seed", "3", "--json")
    assert out.exit_code == 0, out.stderr
    doc = out.json()
    expected = script(Net, 3, 5, (4,))  # run's default batch is 5
    assert torch.allclose(torch.tensor(doc["output"]), expected)
    assert doc["model_spec"] == f"{FILE}:Net" and doc["input_shape"] == [5, 4]


@needs_cli
def test_cli_table_at_80_columns(cli: Invoke) -> None:
    out = cli("run", "--model", f"{FILE}:ConvNet", "--input-size", "1,8,8", env={"COLUMNS": "80"})
    assert out.exit_code == 0, out.stderr
    check_layout(out.stdout, 80)
    assert "output[1] [5, 5] float32" in out.stdout


@needs_cli
def test_cli_json_of_a_structured_output(cli: Invoke) -> None:
    out = cli("run", "--model", f"{FILE}:Structured", "--input-size", "3", "--json")
    assert out.exit_code == 0, out.stderr
    doc = out.json()
    y = script(Structured, 0, 5, (3,))["logits"]
    assert doc["outputs"][0]["path"] == "output['logits']"
    assert torch.allclose(torch.tensor(doc["output"]), y)
    assert doc["predictions"] == y.argmax(-1).tolist()


@needs_cli
def test_cli_forward_failure_exits_2(cli: Invoke) -> None:
    out = cli("run", "--model", f"{FILE}:Broken", "--input-size", "4")
    assert out.exit_code == 2
    assert out.stderr.startswith("Error: the forward pass fails in body.fc2 (Linear) given input")


# --- options that only apply to --model (issue 15, item 13) -------------------------------


@pytest.mark.parametrize("command", ["summary", "run"])
@pytest.mark.parametrize(
    ("option", "named"),
    [
        (["--model-kwargs", ""], "--model-kwargs only applies"),
        (["--model-kwargs", "{}"], "--model-kwargs only applies"),
        (["--vocab", "0"], "--vocab only applies"),
        (["--vocab", "5"], "--vocab only applies"),
        (["--input-size", ""], "--input-size only applies"),
        (["--dtype", ""], "--dtype only applies"),
        (["--dtype", "long", "--vocab", "0"], "--dtype, --vocab only apply"),
    ],
)
def test_a_model_option_without_model_is_refused_even_empty(
    command: str, option: list[str], named: str, cli: Invoke
) -> None:
    """An empty value is still a value: `run --vocab 0` and `summary --model-kwargs ''`
    were accepted with exit 0 (issue 15, item 13), `--vocab 5` was already refused."""
    for source in ([], ["--config", "demo"]):
        out = cli(command, *source, *option, "--json")
        assert out.exit_code == 2, (source, option, out.stdout)
        assert f"Error: {named} to --model (your own nn.Module)" in out.stderr
        assert out.stdout == ""


@pytest.mark.parametrize("flag", ["--functional", "--no-functional"])
def test_functional_rows_apply_to_model_only(flag: str, cli: Invoke) -> None:
    """A config's summary has no functional rows: the flag was ignored with exit 0."""
    out = cli("summary", "--config", "lenet5", flag)
    assert out.exit_code == 2
    assert "--functional/--no-functional only applies to --model" in out.stderr
    assert "no functional rows" in out.stderr
    model = ("--model", "tests/models/zoo.py:LeNet", "--input-size", "1,32,32", "--json")
    assert cli("summary", *model, flag).exit_code == 0


def test_summary_input_files_apply_to_model_only(cli: Invoke) -> None:
    out = cli("summary", "--input", "")
    assert out.exit_code == 2
    assert "--input only applies to --model" in out.stderr
