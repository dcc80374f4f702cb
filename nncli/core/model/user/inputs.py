"""The inputs of a user's own model (``--model``): sizes, dtypes, vocabulary, .npy files.

``--input-size`` gives one sample's shape without the batch (``3,224,224``, or
``NAME=3,224,224`` for a named input; positional ones first, then named ones, as
``forward(*positional, **named)``; an empty DIMS is one scalar per sample, shape
``[batch]``, as pack_padded_sequence's lengths), ``--dtype`` each input's dtype,
``--vocab`` the range random integer ids are drawn from, and ``--input FILE.npy``
real data whose first dimension is the batch. ``--batch 0`` (:data:`UNBATCHED`)
adds no batch dimension: every input is exactly its DIMS. Every problem is a usage
error naming the option and the value (or the file).
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nncli.core.inputs import load_npy, npy_header
from nncli.core.memory import MAX_SIZE_BYTES, ensure_fits
from nncli.errors import UsageError, unknown_name
from nncli.limits import MAX_SIZE, check_int

if TYPE_CHECKING:
    import numpy as np
    import torch
    from torch import nn

# Accepted spellings -> the canonical name (torch's own: torch.float32 ...).
DTYPE_ALIASES = {
    "float32": "float32",
    "float": "float32",
    "float16": "float16",
    "half": "float16",
    "bfloat16": "bfloat16",
    "float64": "float64",
    "double": "float64",
    "int64": "int64",
    "long": "int64",
    "int32": "int32",
    "int": "int32",
    "bool": "bool",
}
# Bytes per element of each canonical dtype, .npy files' integer types included.
ITEMSIZE = {
    "float32": 4,
    "float16": 2,
    "bfloat16": 2,
    "float64": 8,
    "int64": 8,
    "int32": 4,
    "int16": 2,
    "int8": 1,
    "uint8": 1,
    "bool": 1,
}
FLOAT_DTYPES = frozenset({"float32", "float16", "bfloat16", "float64"})
DEFAULT_DTYPE = "float32"
DEFAULT_VOCAB = 2  # integer inputs of a model without an nn.Embedding: 0 or 1
SIZE_EXAMPLE = "--input-size 3,224,224"
UNBATCHED = 0  # --batch 0: the inputs have no batch dimension
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DIM = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class InputSpec:
    """One input of the model. ``shape`` is one sample's, without the batch.

    From ``--input FILE``: ``path`` is the file and ``batch`` its first dimension.
    ``inferred_from`` says which layer the shape was inferred from when no
    --input-size was given (see :func:`infer_inputs`).
    """

    name: str | None
    shape: tuple[int, ...]
    dtype: str
    path: str | None = None
    batch: int | None = None
    inferred_from: str | None = None

    def full_shape(self, batch: int) -> tuple[int, ...]:
        """The shape with the batch: the file's own batch for an --input file; no
        batch dimension at all when ``batch`` is :data:`UNBATCHED`."""
        if self.batch is None and batch == UNBATCHED:
            return self.shape
        return (self.batch if self.batch is not None else batch, *self.shape)

    def describe(self, batch: int) -> dict[str, Any]:
        """``{"name", "shape", "dtype"}`` as SummaryResult.inputs holds them."""
        return {"name": self.name, "shape": list(self.full_shape(batch)), "dtype": self.dtype}


# --- parsing ----------------------------------------------------------------


def parse_inputs(
    input_sizes: list[str] | None, dtypes: list[str] | None, input_files: list[str] | None
) -> list[InputSpec]:
    """The inputs from ``--input-size`` (with ``--dtype``) or from ``--input`` files.

    Returns ``[]`` when neither is given (after checking any --dtype): the caller
    then needs :func:`infer_inputs` with the built model.
    """
    sizes, dtype_texts, files = input_sizes or [], dtypes or [], input_files or []
    if sizes and files:
        raise UsageError(
            "--input and --input-size cannot be combined",
            hint="an --input file gives the shapes and dtypes itself",
        )
    if files:
        if dtype_texts:
            raise UsageError(
                "--dtype does not apply with --input: the .npy file has its own dtype",
                hint="save the array with the dtype you want (numpy.save)",
            )
        return _file_inputs(files)
    parsed = [_parse_size(text) for text in sizes]
    _check_names([name for name, _ in parsed], "--input-size", sizes)
    dtype_list = assign_dtypes([name for name, _ in parsed], dtype_texts)
    return [
        InputSpec(name, shape, dtype)
        for (name, shape), dtype in zip(parsed, dtype_list, strict=True)
    ]


def _parse_size(text: str) -> tuple[str | None, tuple[int, ...]]:
    """``"3,224,224"`` -> (None, (3, 224, 224)); ``"x=16"`` -> ("x", (16,));
    ``"lengths="`` -> ("lengths", ()): one scalar per sample."""
    name, dims = _split_name(text, "--input-size")
    if not dims.strip():
        return name, ()
    parts = [p.strip() for p in dims.split(",")]
    if any(not p for p in parts):
        raise UsageError(
            f"--input-size {text!r}: give the sample's dimensions separated by commas",
            hint=f"e.g. {SIZE_EXAMPLE} (the batch comes from --batch)",
        )
    shape = []
    for part in parts:
        if _DIM.fullmatch(part) is None:
            raise UsageError(
                f"--input-size {text!r}: {part!r} is not a whole number",
                hint=f"dimensions are positive integers, e.g. {SIZE_EXAMPLE}",
            )
        # Bounded before int(): Python refuses to convert strings of over 4300 digits.
        value = int(part) if len(part.lstrip("0")) <= 20 else MAX_SIZE + 1
        shape.append(check_int(f"--input-size {text!r}: each dimension", value))
    return name, tuple(shape)


def _split_name(text: str, option: str) -> tuple[str | None, str]:
    """``NAME=VALUE`` -> (NAME, VALUE); a value without ``=`` has no name."""
    if "=" not in text:
        return None, text
    name, _, value = text.partition("=")
    name = name.strip()
    if _NAME.fullmatch(name) is None:
        raise UsageError(
            f"{option} {text!r}: {name!r} is not an input name",
            hint="a name is letters, digits and underscores, e.g. input_ids=128",
        )
    return name, value


def _check_names(names: list[str | None], option: str, texts: list[str] | None = None) -> None:
    """Positional inputs (no name) first, then named ones; no name twice.

    ``texts`` are the values as given, to name a positional one that follows a named one.
    """
    first_named = next((i for i, n in enumerate(names) if n is not None), len(names))
    for index in range(first_named, len(names)):
        if names[index] is None:
            given = repr(texts[index]) if texts else f"number {index + 1}"
            raise UsageError(
                f"{option} {given}: an input without a name comes after the named input "
                f"{names[first_named]!r}",
                hint="give the positional inputs first, in order, then NAME=... ones "
                "(forward(*positional, **named))",
            )
    named = [n for n in names if n is not None]
    seen: set[str] = set()
    for name in named:
        if name in seen:
            raise UsageError(f"{option}: input {name!r} is given twice")
        seen.add(name)


def parse_dtype(text: str, option: str = "--dtype") -> str:
    """A canonical dtype name from any accepted spelling (case-insensitive)."""
    key = text.strip().lower().removeprefix("torch.")
    if key not in DTYPE_ALIASES:
        raise unknown_name(f"{option} value", text, DTYPE_ALIASES)
    return DTYPE_ALIASES[key]


def assign_dtypes(names: list[str | None], texts: list[str]) -> list[str]:
    """Each input's dtype: none given -> float32; one -> all; one per input; or NAME=D."""
    count = len(names)
    split = [_split_name(t, "--dtype") for t in texts]
    if any(n is not None for n, _ in split):
        return _named_dtypes(names, texts, split)
    values = [parse_dtype(v) for _, v in split]
    if not values:
        return [DEFAULT_DTYPE] * count
    if len(values) == 1:
        return values * count
    if len(values) != count:
        raise UsageError(
            f"--dtype is given {len(values)} times for {count} input{'' if count == 1 else 's'}",
            hint="give one --dtype for every input, one per --input-size in order, or NAME=DTYPE",
        )
    return values


def _named_dtypes(
    names: list[str | None], texts: list[str], split: list[tuple[str | None, str]]
) -> list[str]:
    if any(n is None for n, _ in split):
        raise UsageError(
            "--dtype: name every value (NAME=DTYPE) or none",
            hint="unnamed values apply to all inputs or go in order",
        )
    known = [n for n in names if n is not None]
    by_name: dict[str, str] = {}
    for text, (name, value) in zip(texts, split, strict=True):
        assert name is not None
        if not known:
            raise UsageError(
                f"--dtype {text!r}: the inputs have no names",
                hint="name them with --input-size NAME=DIMS, or give --dtype without a name",
            )
        if name not in known:
            raise unknown_name("input in --dtype", name, known)
        if name in by_name:
            raise UsageError(f"--dtype: input {name!r} is given twice")
        by_name[name] = parse_dtype(value)
    return [by_name.get(n or "", DEFAULT_DTYPE) for n in names]


def check_input_sizes(specs: list[InputSpec], batch: int) -> None:
    """Refuse an input torch cannot address (its bytes past 2**63 - 1), before torch sees it.

    Every dimension is within MAX_SIZE but their product is not: torch's own size
    arithmetic overflows, even on the meta device.
    """
    for number, spec in enumerate(specs, start=1):
        numel = _numel(spec.full_shape(batch))
        size = numel * ITEMSIZE[spec.dtype]
        if size > MAX_SIZE_BYTES:
            dims = " × ".join(f"{d:,}" for d in spec.full_shape(batch))
            raise UsageError(
                f"input {_label(spec, number, len(specs))} would be {dims} = {numel:.3g} "
                f"{spec.dtype} values, {size:.3g} bytes: more than torch can address "
                "(2**63 - 1 bytes)",
                hint="check --input-size and --batch",
            )


def input_bytes(specs: list[InputSpec], batch: int) -> int:
    """The inputs' total size in bytes, batch included."""
    return sum(_numel(s.full_shape(batch)) * ITEMSIZE[s.dtype] for s in specs)


def _numel(shape: tuple[int, ...]) -> int:
    numel = 1
    for dim in shape:
        numel *= dim
    return numel


def _label(spec: InputSpec, number: int, count: int) -> str:
    if spec.name is not None:
        return repr(spec.name)
    if spec.path is not None:
        return spec.path
    return f"{number} of {count}" if count > 1 else "(--input-size)"


# --- inference when no --input-size is given ----------------------------------


def infer_inputs(model: nn.Module, dtypes: list[str] | None = None) -> list[InputSpec]:
    """The one input of a model whose first layer is an ``nn.Linear``: ``(in_features,)``.

    Only that case is evident: a convolution's spatial size and a sequence's length
    are not in the model. The first layer is the first leaf module in registration
    order, and forward() must take exactly one required argument; anything else
    needs --input-size, said in the error.
    """
    from torch import nn

    name, layer = _first_leaf(model)
    if isinstance(layer, nn.Linear) and _one_argument(model):
        features = layer.in_features
        dtype_list = assign_dtypes([None], dtypes or [])
        where = f"{name or 'the model'} (Linear, in_features={features})"
        return [InputSpec(None, (features,), dtype_list[0], inferred_from=where)]
    raise UsageError(
        "--model needs --input-size (the shape of one sample, without the batch), "
        f"e.g. {SIZE_EXAMPLE}",
        hint="repeat it for a model with several inputs; --input FILE.npy gives real data",
    )


def _first_leaf(model: nn.Module) -> tuple[str, nn.Module | None]:
    for name, module in model.named_modules():
        if not any(True for _ in module.children()):
            return name, module
    return "", None


def _one_argument(model: nn.Module) -> bool:
    try:
        params = inspect.signature(model.forward).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    required = [p for p in params if p.default is p.empty and p.kind in positional]
    return len(required) == 1


# --- making the tensors ---------------------------------------------------------


def default_vocab(model: nn.Module | None) -> int:
    """The smallest ``num_embeddings`` of any embedding in the model, else 2.

    Random ids below every embedding's size are valid indices for all of them.
    """
    from torch import nn

    sizes = [
        m.num_embeddings
        for m in (model.modules() if model is not None else [])
        if isinstance(m, nn.Embedding | nn.EmbeddingBag)
    ]
    return min(sizes) if sizes else DEFAULT_VOCAB


def make_inputs(
    specs: list[InputSpec],
    batch: int,
    *,
    device: str,
    vocab: int | None,
    seed: int | None,
    model: nn.Module | None,
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The model's positional and keyword arguments.

    On ``meta``: empty meta tensors. Otherwise seeded random values drawn on the CPU
    and then moved, so a seed gives the same numbers on every device: floats from
    N(0, 1), integers from [0, vocab) (a per-sample integer scalar, an empty DIMS,
    from [1, vocab): see :func:`_make_one`), bools 0/1; an --input file's own data.
    Positional inputs come first; named ones become keyword arguments. When every
    input is named and forward() has no parameters of those names (nor **kwargs),
    they are passed as one dict argument. ``batch`` :data:`UNBATCHED` (0) adds no
    batch dimension.
    """
    import torch

    from nncli.core.seed import seeded

    check_int("--batch", batch, minimum=UNBATCHED)
    check_input_sizes(specs, batch)
    meta = torch.device(device).type == "meta"
    if vocab is not None:
        check_int("--vocab", vocab)
    ids = vocab if vocab is not None else default_vocab(model)
    if not meta:  # drawn (or read) on the CPU, then moved: both must hold them
        needed = input_bytes(specs, batch)
        for where in dict.fromkeys(["cpu", device]):
            ensure_fits(needed, where, "the model's inputs")
    tensors = []
    with seeded(seed):
        for spec in specs:
            tensors.append(_make_one(spec, batch, meta=meta, vocab=ids).to(device))
    return _arrange(specs, tensors, model)


def _make_one(spec: InputSpec, batch: int, *, meta: bool, vocab: int) -> torch.Tensor:
    import torch

    dtype = getattr(torch, spec.dtype)
    shape = spec.full_shape(batch)
    if meta:
        return torch.empty(shape, dtype=dtype, device="meta")
    if spec.path is not None:
        return torch.from_numpy(_read_npy(spec))
    if spec.dtype in FLOAT_DTYPES:
        return torch.randn(shape, dtype=dtype, device="cpu")
    if spec.dtype == "bool":
        return torch.randint(0, 2, shape, device="cpu").bool()
    low, high = integer_range(spec, vocab)
    return torch.randint(low, high, shape, dtype=dtype, device="cpu")


def integer_range(spec: InputSpec, vocab: int) -> tuple[int, int]:
    """The half-open range ``[low, high)`` random integers of ``spec`` are drawn from.

    Ids come from [0, vocab). One integer per sample (an empty DIMS) is most often a
    length, as pack_padded_sequence's, which must be at least 1: those come from
    [1, vocab) (still a valid index below every embedding's size), so --vocab L+1
    gives lengths 1..L. With vocab 1 only 0 is possible.
    """
    if not spec.shape and vocab >= 2:
        return 1, vocab
    return 0, vocab


def _arrange(
    specs: list[InputSpec], tensors: list[Any], model: nn.Module | None
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    names = [s.name for s in specs]
    positional = tuple(t for n, t in zip(names, tensors, strict=True) if n is None)
    named = {n: t for n, t in zip(names, tensors, strict=True) if n is not None}
    if not named:
        return positional, {}
    if model is not None and _takes_keywords(model, list(named)):
        return positional, named
    if positional:  # mixed: forward(*positional, **named) is the only reading
        known = _keyword_names(model) if model is not None else []
        if known:
            missing = next(n for n in named if n not in known)
            raise unknown_name("input in --input-size", missing, known)
        return positional, named
    return (named,), {}


def _keyword_names(model: nn.Module) -> list[str]:
    """forward()'s parameters that can be passed by keyword."""
    by_keyword = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    try:
        params = inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return []
    return [n for n, p in params.items() if p.kind in by_keyword]


def _takes_keywords(model: nn.Module, names: list[str]) -> bool:
    try:
        params = inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return False
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return True
    by_keyword = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return all(n in params and params[n].kind in by_keyword for n in names)


# --- .npy files -------------------------------------------------------------------

# numpy dtypes an input may have, by numpy's name; torch has no uint16/32/64 tensors
# that every op supports, nor complex inputs for a summary.
NPY_DTYPES = frozenset(
    {"float16", "float32", "float64", "int8", "int16", "int32", "int64"} | {"uint8", "bool"}
)


def _file_inputs(files: list[str]) -> list[InputSpec]:
    specs = []
    for text in files:
        name, path = _file_name(text)
        shape, dtype = read_npy_header(path)
        specs.append(InputSpec(name, shape[1:], dtype, path=path, batch=shape[0]))
    _check_names([s.name for s in specs], "--input")
    batches = {s.batch for s in specs}
    if len(batches) > 1:
        listed = ", ".join(f"{s.path} has {s.batch:,}" for s in specs)
        raise UsageError(
            f"--input: the files' first dimensions (the batch) differ: {listed}",
            hint="every input needs the same number of samples",
        )
    return specs


def _file_name(text: str) -> tuple[str | None, str]:
    """``NAME=path.npy`` names the input, unless the whole text is an existing file."""
    if "=" in text and not Path(text).exists():
        prefix = text.partition("=")[0]
        if _NAME.fullmatch(prefix.strip()):
            return _split_name(text, "--input")
    return None, text


def _file_error(path: str, message: str) -> UsageError:
    return UsageError(f"--input {path}: {message}")


def read_npy_header(path: str) -> tuple[tuple[int, ...], str]:
    """The shape and dtype of a .npy file, read from its header without loading data
    (by the one .npy reader, :func:`nncli.core.inputs.npy_header`), checked against
    what a model's input may be."""
    file = Path(path)
    if file.suffix.lower() != ".npy":
        raise _file_error(
            path, f"unsupported format {file.suffix or '(none)'!r}; --model takes .npy arrays"
        )
    header = npy_header(path, "--input")
    shape, dtype = header.shape, header.dtype
    if dtype.names is not None or dtype.hasobject or dtype.name not in NPY_DTYPES:
        raise _file_error(
            path, f"dtype {dtype} is not supported; use one of {', '.join(sorted(NPY_DTYPES))}"
        )
    if not shape:
        raise _file_error(path, "is a single value; the first dimension must be the batch")
    if any(n < 1 for n in shape):
        raise _file_error(path, f"is empty (shape {list(shape)})")
    if any(n > MAX_SIZE for n in shape):
        raise _file_error(path, f"has a dimension over {MAX_SIZE:,} (shape {list(shape)})")
    return shape, str(dtype.name)


def _read_npy(spec: InputSpec) -> np.ndarray:
    """The file's data in native byte order, C-contiguous, as torch.from_numpy needs it."""
    import numpy as np

    assert spec.path is not None
    data = load_npy(spec.path, "--input")
    return np.ascontiguousarray(data.astype(data.dtype.newbyteorder("="), copy=False))
