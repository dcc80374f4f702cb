"""The --input-size forms beyond "all positional or all named" (issue 17, section 2):
mixed positional and named inputs, --batch 0 (no batch dimension), and an empty DIMS
(one scalar per sample, shape [batch], as pack_padded_sequence's lengths)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from nncli.core.model.user.inputs import (
    InputSpec,
    input_bytes,
    integer_range,
    make_inputs,
    parse_inputs,
)
from nncli.core.model.user.request import ModelRequest
from nncli.core.model.user.run import ModelRunResult, run_target
from nncli.core.model.user.summary import summarize_target
from nncli.errors import UsageError
from tests.models.input_forms import Labelled, Mixed, Packed, Unbatched

FILE = "tests/models/input_forms.py"


def run(name: str, *sizes: str, batch: int = 5, seed: int = 0, **kw: Any) -> ModelRunResult:
    return run_target(
        ModelRequest(f"{FILE}:{name}", input_sizes=sizes, batch=batch, seed=seed, **kw)
    )


def only(result: ModelRunResult) -> np.ndarray:
    (out,) = result.outputs
    return np.asarray(out.values)


# --- parsing --------------------------------------------------------------------


def test_positional_then_named() -> None:
    assert parse_inputs(["4", "mask=3"], None, None) == [
        InputSpec(None, (4,), "float32"),
        InputSpec("mask", (3,), "float32"),
    ]


@pytest.mark.parametrize(
    ("sizes", "bad"), [(["mask=3", "4"], "'4'"), (["4", "m=3", "5", "n=2"], "'5'")]
)
def test_a_positional_input_after_a_named_one_is_named(sizes: list[str], bad: str) -> None:
    with pytest.raises(UsageError, match=f"--input-size {bad}: an input without a name"):
        parse_inputs(sizes, None, None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("lengths=", InputSpec("lengths", (), "float32")), ("", InputSpec(None, (), "float32"))],
)
def test_an_empty_dims_is_one_scalar_per_sample(text: str, expected: InputSpec) -> None:
    (spec,) = parse_inputs([text], None, None)
    assert spec == expected
    assert spec.full_shape(7) == (7,)


@pytest.mark.parametrize("text", ["x=3,", ",", "lengths=,"])
def test_a_dims_with_an_empty_part_is_still_refused(text: str) -> None:
    with pytest.raises(UsageError, match="separated by commas"):
        parse_inputs([text], None, None)


def test_named_dtypes_with_mixed_inputs() -> None:
    specs = parse_inputs(["7,4", "lengths="], ["lengths=long"], None)
    assert [s.dtype for s in specs] == ["float32", "int64"]


# --- arranging the arguments ------------------------------------------------------


def test_mixed_inputs_are_positional_then_keyword() -> None:
    specs = parse_inputs(["4", "mask=3"], None, None)
    args, kwargs = make_inputs(specs, 2, device="cpu", vocab=None, seed=0, model=Mixed())
    assert [tuple(a.shape) for a in args] == [(2, 4)]
    assert list(kwargs) == ["mask"] and tuple(kwargs["mask"].shape) == (2, 3)


def test_a_mixed_name_forward_does_not_take_is_refused_by_name() -> None:
    specs = parse_inputs(["4", "mask2=3"], None, None)
    with pytest.raises(UsageError, match="unknown input in --input-size 'mask2'"):
        make_inputs(specs, 2, device="cpu", vocab=None, seed=0, model=Mixed())


def test_mixed_run_equals_the_hand_written_call() -> None:
    result = run("Mixed", "4", "mask=3", batch=3, seed=4)
    torch.manual_seed(4)
    model = Mixed().eval()
    x, mask = torch.randn(3, 4), torch.randn(3, 3)
    with torch.no_grad():
        expected = model(x, mask=mask)
    np.testing.assert_allclose(only(result), expected.numpy(), rtol=1e-6)
    assert [i["shape"] for i in result.inputs] == [[3, 4], [3, 3]]


def test_mixed_summary_shows_both_inputs() -> None:
    result = summarize_target(
        ModelRequest(f"{FILE}:Mixed", input_sizes=("4", "mask=3"), batch=5),
        depth=3,
        functional=True,
    )
    assert [(i["name"], i["shape"]) for i in result.inputs] == [(None, [5, 4]), ("mask", [5, 3])]


# --- --batch 0: no batch dimension ---------------------------------------------------


def test_unbatched_shapes_and_bytes() -> None:
    specs = parse_inputs(["4", "m=2,3"], None, None)
    args, kwargs = make_inputs(specs, 0, device="cpu", vocab=None, seed=0, model=None)
    assert tuple(args[0].shape) == (4,) and tuple(kwargs["m"].shape) == (2, 3)
    assert input_bytes(specs, 0) == (4 + 6) * 4  # float32, no batch factor
    assert input_bytes(specs, 1) == (4 + 6) * 4  # the same bytes as a batch of one ...
    assert specs[0].full_shape(1) == (1, 4)  # ... but with the batch dimension


def test_unbatched_run_equals_the_hand_written_call() -> None:
    result = run("Unbatched", "4", batch=0, seed=2)
    torch.manual_seed(2)
    model = Unbatched().eval()
    x = torch.randn(4)
    with torch.no_grad():
        expected = model(x)
    assert result.inputs[0]["shape"] == [4]
    assert only(result).shape == (3,)
    np.testing.assert_allclose(only(result), expected.numpy(), rtol=1e-6)


def test_a_batch_of_one_is_not_unbatched() -> None:  # the case built to fool --batch 0
    with pytest.raises(Exception, match=r"expected an unbatched \[4\] input, got \[1, 4\]"):
        run("Unbatched", "4", batch=1)


def test_unbatched_summary_shapes_and_memory() -> None:
    result = summarize_target(
        ModelRequest(f"{FILE}:Unbatched", input_sizes=("4",), batch=0), depth=3, functional=True
    )
    assert result.input_shape == [4]
    doc = json.dumps(result.inputs)
    assert '"shape": [4]' in doc
    layer = next(r for r in result.layers if r.name == "a")
    assert (layer.input_shape, layer.output_shape) == ([4], [3])
    # By hand: 4 float32 inputs; 3 float32 outputs; 4 × 3 weights' products, one sample.
    assert result.memory.input == 4 * 4
    assert result.memory.activations == 3 * 4
    assert result.macs == 4 * 3


def test_unbatched_with_an_empty_dims_is_refused() -> None:
    with pytest.raises(UsageError, match="--input-size '': an empty DIMS"):
        run("Unbatched", "", batch=0)


# --- an empty DIMS: lengths --------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "vocab", "expected"), [((), 8, (1, 8)), ((), 1, (0, 1)), ((3,), 8, (0, 8))]
)
def test_integer_range(shape: tuple[int, ...], vocab: int, expected: tuple[int, int]) -> None:
    assert integer_range(InputSpec(None, shape, "int64"), vocab) == expected


def test_random_lengths_suit_pack_padded_sequence() -> None:
    """--vocab 8 draws lengths from 1..7: every seed runs (a 0 or an 8 would raise)."""
    seen: set[int] = set()
    for seed in range(30):
        specs = parse_inputs(["x=7,4", "lengths="], ["x=float32", "lengths=long"], None)
        _, kwargs = make_inputs(specs, 6, device="cpu", vocab=8, seed=seed, model=Packed())
        seen |= set(kwargs["lengths"].tolist())
    assert seen == set(range(1, 8))


def test_packed_run_equals_the_hand_written_call() -> None:
    result = run(
        "Packed", "x=7,4", "lengths=", dtypes=("x=float32", "lengths=long"), vocab=8, seed=3
    )
    torch.manual_seed(3)
    model = Packed().eval()
    x = torch.randn(5, 7, 4)
    lengths = torch.randint(1, 8, (5,))
    with torch.no_grad():
        expected = model(x, lengths)
    assert [i["shape"] for i in result.inputs] == [[5, 7, 4], [5]]
    np.testing.assert_allclose(only(result), expected.numpy(), rtol=1e-5)


def test_packed_from_npy_files(tmp_path: Path) -> None:
    x = np.random.default_rng(0).standard_normal((4, 7, 4)).astype(np.float32)
    lengths = np.array([7, 1, 3, 5], dtype=np.int64)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "lengths.npy", lengths)
    files = (f"x={tmp_path / 'x.npy'}", f"lengths={tmp_path / 'lengths.npy'}")
    result = run("Packed", batch=5, input_files=files, seed=1)
    torch.manual_seed(1)
    model = Packed().eval()
    with torch.no_grad():
        expected = model(torch.from_numpy(x), torch.from_numpy(lengths))
    np.testing.assert_allclose(only(result), expected.numpy(), rtol=1e-5)


def test_a_per_sample_label_stays_below_the_embedding() -> None:
    """The case built to fool [1, vocab]: a label into nn.Embedding(3) must stay below 3."""
    for seed in range(20):
        result = run("Labelled", "4", "label=", dtypes=("label=long",), seed=seed, batch=8)
        assert only(result).shape == (8, 2)
    specs = parse_inputs(["4", "label="], ["label=long"], None)
    _, kwargs = make_inputs(specs, 64, device="cpu", vocab=None, seed=0, model=Labelled())
    assert set(kwargs["label"].tolist()) == {1, 2}


def test_packed_summary_shows_the_lengths_shape() -> None:
    result = summarize_target(
        ModelRequest(
            f"{FILE}:Packed",
            input_sizes=("x=7,4", "lengths="),
            dtypes=("x=float32", "lengths=long"),
            vocab=8,
            batch=5,
        ),
        depth=3,
        functional=True,
    )
    assert [(i["name"], i["shape"], i["dtype"]) for i in result.inputs] == [
        ("x", [5, 7, 4], "float32"),
        ("lengths", [5], "int64"),
    ]


# --- the command line ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["summary", "--batch", "0"], "--batch 0 (inputs without a batch dimension)"),
        (["run", "--batch", "0"], "--batch 0 (inputs without a batch dimension)"),
        (["summary", "--batch", "-1", "--model", f"{FILE}:Mixed"], "--batch must be at least 0"),
        (["run", "--batch", "-1", "--model", f"{FILE}:Mixed"], "--batch must be at least 0"),
        (
            ["summary", "--model", f"{FILE}:Mixed", "--input-size", "mask=3", "--input-size", "4"],
            "--input-size '4': an input without a name",
        ),
        (
            ["run", "--model", f"{FILE}:Mixed", "--input-size", "mask=3", "--input-size", "4"],
            "--input-size '4': an input without a name",
        ),
        (
            ["run", "--model", f"{FILE}:Unbatched", "--input-size", "", "--batch", "0"],
            "--input-size '': an empty DIMS",
        ),
    ],
)
def test_bad_forms_exit_2_naming_the_value(cli: Any, args: list[str], message: str) -> None:
    outcome = cli(*args)
    assert outcome.exit_code == 2
    assert message in outcome.stderr


def test_cli_summary_and_run_unbatched(cli: Any) -> None:
    outcome = cli("summary", "--model", f"{FILE}:Unbatched", "--input-size", "4", "--batch", "0")
    assert outcome.exit_code == 0, outcome.stderr
    assert "input [4]" in outcome.stdout
    outcome = cli("run", "--model", f"{FILE}:Unbatched", "--input-size", "4", "--batch", "0")
    assert outcome.exit_code == 0, outcome.stderr
    assert "output [3] float32" in outcome.stdout


def test_cli_mixed_and_lengths(cli: Any) -> None:
    outcome = cli(
        "run", "--model", f"{FILE}:Packed", "--input-size", "7,4", "--input-size",
        "lengths=", "--dtype", "lengths=long", "--vocab", "8", "--batch", "3", "--json",
    )  # fmt: skip
    assert outcome.exit_code == 0, outcome.stderr
    assert '"shape": [3, 7, 4]' in outcome.stdout.replace("\n", "").replace("  ", " ")


def test_duplicates_and_a_negative_batch_are_still_refused() -> None:
    with pytest.raises(UsageError, match="'x' is given twice"):
        parse_inputs(["4", "x=3", "x=4"], None, None)
    specs = parse_inputs(["3"], None, None)
    with pytest.raises(UsageError, match="--batch must be at least 0, got -1"):
        make_inputs(specs, -1, device="cpu", vocab=None, seed=0, model=None)
