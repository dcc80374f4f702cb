"""--input-size, --dtype, --vocab and --input for --model (nncli/core/model/modelinputs.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from nncli.core.model.user.inputs import (
    InputSpec,
    default_vocab,
    infer_inputs,
    make_inputs,
    parse_inputs,
    read_npy_header,
)
from nncli.errors import UsageError
from nncli.limits import MAX_SIZE
from tests.models.user_nets import MLP, DictNet, KwargsNet, SmallCNN, TokenNet

# --- --input-size ------------------------------------------------------------


@pytest.mark.parametrize(
    ("sizes", "expected"),
    [
        (["3,224,224"], [InputSpec(None, (3, 224, 224), "float32")]),
        (["16"], [InputSpec(None, (16,), "float32")]),
        ([" 3, 8 ,8 "], [InputSpec(None, (3, 8, 8), "float32")]),
        (["3,8,8", "5"], [InputSpec(None, (3, 8, 8), "float32"), InputSpec(None, (5,), "float32")]),
        (
            ["image=3,4,4", "extra=5"],
            [InputSpec("image", (3, 4, 4), "float32"), InputSpec("extra", (5,), "float32")],
        ),
    ],
)
def test_sizes(sizes: list[str], expected: list[InputSpec]) -> None:
    assert parse_inputs(sizes, None, None) == expected


@pytest.mark.parametrize(
    ("size", "message"),
    [
        ("3,,4", "separated by commas"),
        ("3,0,4", "at least 1"),
        ("3,-4", "'-4' is not a whole number"),
        ("3.5", "'3.5' is not a whole number"),
        ("3x224", "not a whole number"),
        (f"{MAX_SIZE + 1}", f"at most {MAX_SIZE:,}"),
        ("9" * 5000, f"at most {MAX_SIZE:,}"),
        ("1 2=3", "is not an input name"),
    ],
)
def test_bad_sizes(size: str, message: str) -> None:
    with pytest.raises(UsageError, match="--input-size") as info:
        parse_inputs([size], None, None)
    assert message in str(info.value)


def test_named_inputs_come_after_positional_ones_and_are_unique() -> None:
    with pytest.raises(UsageError, match="an input without a name comes after the named"):
        parse_inputs(["x=3", "4"], None, None)
    with pytest.raises(UsageError, match="'x' is given twice"):
        parse_inputs(["x=3", "x=4"], None, None)


def test_nothing_given_is_no_inputs() -> None:
    assert parse_inputs(None, None, None) == []


# --- --dtype ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sizes", "dtypes", "expected"),
    [
        (["3", "4"], [], ["float32", "float32"]),
        (["3", "4"], ["long"], ["int64", "int64"]),
        (["3", "4"], ["half", "bool"], ["float16", "bool"]),
        (["3"], ["torch.bfloat16"], ["bfloat16"]),
        (["3"], ["DOUBLE"], ["float64"]),
        (["3"], ["int"], ["int32"]),
        (["a=3", "b=4"], ["b=long"], ["float32", "int64"]),
        (["a=3", "b=4"], ["b=long", "a=float16"], ["float16", "int64"]),
    ],
)
def test_dtypes(sizes: list[str], dtypes: list[str], expected: list[str]) -> None:
    assert [s.dtype for s in parse_inputs(sizes, dtypes, None)] == expected


def test_every_dtype_name_is_a_torch_dtype() -> None:
    from nncli.core.model.user.inputs import DTYPE_ALIASES, ITEMSIZE

    for alias, name in DTYPE_ALIASES.items():
        dtype = getattr(torch, name)
        assert getattr(torch, alias) == dtype  # torch's own aliases agree (torch.long ...)
        assert torch.empty((), dtype=dtype).element_size() == ITEMSIZE[name]


@pytest.mark.parametrize(
    ("sizes", "dtypes", "message"),
    [
        (["3"], ["flaot32"], "did you mean float32"),
        (["3", "4", "5"], ["long", "long"], "given 2 times for 3 inputs"),
        (["a=3"], ["c=long"], "unknown input in --dtype 'c'"),
        (["3"], ["a=long"], "the inputs have no names"),
        (["a=3", "b=4"], ["a=long", "bool"], "name every value"),
        (["a=3"], ["a=long", "a=bool"], "'a' is given twice"),
    ],
)
def test_bad_dtypes(sizes: list[str], dtypes: list[str], message: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_inputs(sizes, dtypes, None)
    assert message in str(info.value)


# --- inference ---------------------------------------------------------------------


def test_a_first_linear_layer_gives_the_input_size() -> None:
    [spec] = infer_inputs(MLP(), ["double"])
    assert spec.shape == (MLP().fc1.in_features,)
    assert spec.dtype == "float64"
    assert spec.inferred_from is not None and "fc1" in spec.inferred_from
    assert infer_inputs(nn.Linear(5, 2))[0].shape == (5,)


@pytest.mark.parametrize("model", [SmallCNN(), TokenNet(), KwargsNet()])
def test_anything_else_needs_input_size(model: nn.Module) -> None:
    with pytest.raises(UsageError, match=r"--model needs --input-size .* 3,224,224"):
        infer_inputs(model)


# --- making tensors -----------------------------------------------------------------


def test_random_inputs_are_seeded_on_the_cpu() -> None:
    specs = parse_inputs(["3,4", "5"], ["float32", "float64"], None)
    (a, b), kwargs = make_inputs(specs, 2, device="cpu", vocab=None, seed=7, model=None)
    assert kwargs == {}
    torch.manual_seed(7)  # the reference: what a user's script draws from seed 7
    assert torch.equal(a, torch.randn(2, 3, 4))
    assert torch.equal(b, torch.randn(2, 5, dtype=torch.float64))


def test_meta_inputs_allocate_nothing() -> None:
    specs = parse_inputs(["3,224,224"], ["half"], None)
    (x,), _ = make_inputs(specs, 1000, device="meta", vocab=None, seed=0, model=None)
    assert x.is_meta and x.shape == (1000, 3, 224, 224) and x.dtype == torch.float16


def test_ids_stay_below_the_smallest_embedding() -> None:
    model = TokenNet()
    smallest = min(m.num_embeddings for m in model.modules() if isinstance(m, nn.Embedding))
    assert default_vocab(model) == smallest == 30
    assert default_vocab(SmallCNN()) == 2
    specs = parse_inputs(["4000"], ["long"], None)
    (ids,), _ = make_inputs(specs, 2, device="cpu", vocab=None, seed=0, model=model)
    assert ids.dtype == torch.int64 and ids.min() >= 0 and ids.max() == smallest - 1
    (ids,), _ = make_inputs(specs, 2, device="cpu", vocab=7, seed=0, model=model)
    assert set(ids.unique().tolist()) == set(range(7))
    (flags,), _ = make_inputs(
        parse_inputs(["500"], ["bool"], None), 2, device="cpu", vocab=None, seed=0, model=None
    )
    assert flags.dtype == torch.bool and flags.any() and not flags.all()


def test_named_inputs_go_by_keyword_or_in_one_dict() -> None:
    specs = parse_inputs(["image=3,4,4", "extra=5"], None, None)
    args, kwargs = make_inputs(specs, 2, device="cpu", vocab=None, seed=0, model=KwargsNet())
    assert args == () and sorted(kwargs) == ["extra", "image"]
    KwargsNet()(**kwargs)  # the reference: forward accepts them
    args, kwargs = make_inputs(specs, 2, device="cpu", vocab=None, seed=0, model=DictNet())
    assert kwargs == {} and len(args) == 1 and sorted(args[0]) == ["extra", "image"]
    DictNet()(*args)


def test_an_input_torch_cannot_address_is_refused_before_torch() -> None:
    specs = parse_inputs([f"{MAX_SIZE},{MAX_SIZE}"], None, None)
    with pytest.raises(UsageError, match="more than torch can address"):
        make_inputs(specs, 4, device="meta", vocab=None, seed=0, model=None)


def test_bad_vocab_and_batch() -> None:
    specs = parse_inputs(["3"], ["long"], None)
    with pytest.raises(UsageError, match="--vocab must be at least 1"):
        make_inputs(specs, 1, device="cpu", vocab=0, seed=0, model=None)
    with pytest.raises(UsageError, match="--batch must be at least 0"):
        make_inputs(specs, -1, device="cpu", vocab=None, seed=0, model=None)


# --- --input FILE.npy -----------------------------------------------------------------


def test_npy_inputs_take_shape_dtype_and_data_from_the_file(tmp_path: Path) -> None:
    images = np.random.default_rng(0).normal(size=(3, 2, 4, 4)).astype(np.float32)
    ids = np.arange(12, dtype=np.int64).reshape(3, 4)
    np.save(tmp_path / "images.npy", images)
    np.save(tmp_path / "ids.npy", ids)
    files = [str(tmp_path / "images.npy"), str(tmp_path / "ids.npy")]
    specs = parse_inputs(None, None, files)
    assert [(s.shape, s.dtype, s.batch) for s in specs] == [
        ((2, 4, 4), "float32", 3),
        ((4,), "int64", 3),
    ]
    assert specs[0].describe(99) == {"name": None, "shape": [3, 2, 4, 4], "dtype": "float32"}
    (a, b), _ = make_inputs(specs, 99, device="cpu", vocab=None, seed=0, model=None)
    assert np.array_equal(a.numpy(), images) and np.array_equal(b.numpy(), ids)
    (m, _), _ = make_inputs(specs, 99, device="meta", vocab=None, seed=0, model=None)
    assert m.is_meta and list(m.shape) == list(images.shape)


def test_named_npy_and_byte_order(tmp_path: Path) -> None:
    data = np.arange(6, dtype=">f8").reshape(2, 3)  # big-endian, as another machine saves it
    np.save(tmp_path / "x.npy", data)
    [spec] = parse_inputs(None, None, [f"extra={tmp_path / 'x.npy'}"])
    assert spec.name == "extra" and spec.dtype == "float64"
    (named,), _ = make_inputs([spec], 1, device="cpu", vocab=None, seed=0, model=None)
    assert np.array_equal(named["extra"].numpy(), data)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: None, "no such file"),
        (lambda p: p.write_bytes(b""), "not a .npy file"),
        (lambda p: p.write_bytes(b"PK\x03\x04rest"), ".npz archive"),
        (lambda p: np.save(p, np.float32(3.0)), "single value"),
        (lambda p: np.save(p, np.zeros((0, 3))), "is empty"),
        (lambda p: np.save(p, np.zeros(3, dtype=np.complex64)), "complex64 is not supported"),
        (lambda p: np.save(p, np.array(["a"])), "is not supported"),
        (lambda p: p.write_bytes(_truncated()), "is truncated"),
    ],
)
def test_bad_npy_files_are_named(tmp_path: Path, make: object, message: str) -> None:
    path = tmp_path / "bad.npy"
    make(path)  # type: ignore[operator]
    with pytest.raises(UsageError) as info:
        read_npy_header(str(path))
    assert f"--input {path}:" in str(info.value)
    assert message in str(info.value)


def _truncated() -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, np.zeros((4, 4), dtype=np.float32))
    return buffer.getvalue()[:-8]


def test_input_file_rules(tmp_path: Path) -> None:
    np.save(tmp_path / "a.npy", np.zeros((2, 3), dtype=np.float32))
    np.save(tmp_path / "b.npy", np.zeros((5, 3), dtype=np.float32))
    (tmp_path / "c.csv").write_text("1,2\n")
    with pytest.raises(UsageError, match="cannot be combined"):
        parse_inputs(["3"], None, [str(tmp_path / "a.npy")])
    with pytest.raises(UsageError, match="--dtype does not apply with --input"):
        parse_inputs(None, ["long"], [str(tmp_path / "a.npy")])
    with pytest.raises(UsageError, match=r"first dimensions .* differ.* has 2, .* has 5"):
        parse_inputs(None, None, [str(tmp_path / "a.npy"), str(tmp_path / "b.npy")])
    with pytest.raises(UsageError, match=r"c.csv: unsupported format '.csv'"):
        parse_inputs(None, None, [str(tmp_path / "c.csv")])
