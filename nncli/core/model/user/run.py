"""``nncli run --model``'s core: one seeded forward pass of the user's own module.

The order is ``run``'s for configs: ``torch.manual_seed(seed)``, build the model,
then draw the inputs, so the same seed gives the same weights and inputs as the
three-line torch script a user would write. The model is built once, under an
allocation budget (parameters, buffers and inputs must fit), and the user's output
goes to stderr (see :mod:`nncli.core.model.user.call`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nncli.core.memory import ensure_fits
from nncli.core.model.user.call import (
    COMPILED_NOTE,
    build_module,
    call_user,
    compiled_original,
    forward,
    forward_hint,
    module_device,
    tensors,
    uncompiled,
    user_output,
    weight_bytes,
)
from nncli.core.model.user.request import ModelRequest, Prepared, prepare
from nncli.core.model.user.target import Target, first_line
from nncli.errors import NncliError, UsageError

if TYPE_CHECKING:
    import torch
    from torch import nn

    from nncli.core.model.user.inputs import InputSpec

# Outputs nested deeper than this are listed as one non-tensor leaf: a model that
# returns a self-referencing structure must not recurse forever.
MAX_NESTING = 32


@dataclass
class OutputTensor:
    """One leaf of the model's output: a tensor, or a non-tensor value (``values`` None)."""

    path: str  # "output", "output[0]", "output['logits']", "output.hidden"
    shape: list[int]  # [] for a non-tensor leaf
    dtype: str  # "float32", "int64", ...; the type's name for a non-tensor leaf
    values: Any  # numpy array of ``shape`` (on the host), or None


@dataclass
class ModelRunResult:
    model_name: str
    source: str  # the --model SPEC
    device: str
    seed: int
    inputs: list[dict[str, Any]]  # {"name", "shape" (with the batch), "dtype"}
    outputs: list[OutputTensor]
    input_source: str  # "random", or the --input files
    # How each input was made, in the order of ``inputs``: "random N(0, 1)",
    # "random integers in [0, 7)", "random 0 or 1", or "from FILE".
    drawn: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def run_target(request: ModelRequest) -> ModelRunResult:
    """Build SPEC's model once under the seed (an instance is used as it is), draw or load
    its inputs, and run one forward pass in eval mode without gradients, every call of
    the user's code guarded (:mod:`nncli.core.model.user.call`)."""
    prepared = prepare(request)
    target, specs, batch, device = prepared.target, prepared.specs, request.batch, request.device
    built_notes: list[str] = []
    if target.kind == "instance":
        if compiled_original(target.obj) is not None:
            built_notes.append(COMPILED_NOTE)
        model = uncompiled(target.obj)
        where = _instance_device(model)
        specs = specs or _infer(model, request)
        # Its weights exist already: only the inputs are new, where it lives.
        _ensure_fits(0, specs, batch, where, on_host=False)
        args, kw = _draw_inputs(specs, request, where, model)
    else:
        where = device
        model, specs, args, kw = _build_and_draw(prepared, built_notes)
    output: Any = forward(
        model,
        args,
        kw,
        name=target.name,
        hint=lambda module_type: forward_hint(target, specs, module_type),
    )
    return ModelRunResult(
        model_name=target.name,
        source=request.spec,
        device=where,
        seed=request.seed,
        inputs=[s.describe(batch) for s in specs],
        outputs=_read_outputs(output, target.name),
        input_source=", ".join(request.input_files) if request.input_files else "random",
        drawn=[_drawn(s, request.vocab, model) for s in specs],
        notes=_notes(target, specs, device, where) + built_notes,
    )


def _read_outputs(output: Any, name: str) -> list[OutputTensor]:
    """The output's leaves, read as the user's code (a property of an output dataclass, a
    mapping's ``items()``, a tensor subclass's ``__torch_function__`` run then), guarded."""
    with user_output():
        try:
            return call_user(lambda: flatten_outputs(output), f"reading the output of {name}")
        except NncliError:
            raise
        except Exception as exc:
            raise UsageError(
                f"--model: reading the output of {name} raised {type(exc).__name__}: "
                f"{first_line(exc)}",
                hint="return a tensor, or tuples, lists, dicts or dataclasses of tensors",
            ) from exc


def _notes(target: Target, specs: list[InputSpec], device: str, where: str) -> list[str]:
    notes = [f"input shape inferred from {s.inferred_from}" for s in specs if s.inferred_from]
    if target.kind == "instance":
        notes.append(
            f"{target.name} is a module instance: run as it is, on its own device ({where})"
            + (f", not {device}" if where != device else "")
            + ", and its train/eval mode restored"
        )
    return notes


def _drawn(spec: InputSpec, vocab: int | None, model: nn.Module) -> str:
    """How ``make_inputs`` made this input (its rules, stated once here for the output)."""
    from nncli.core.model.user.inputs import FLOAT_DTYPES, default_vocab, integer_range

    if spec.path is not None:
        return f"from {spec.path}"
    if spec.dtype in FLOAT_DTYPES:
        return "random N(0, 1)"
    if spec.dtype == "bool":
        return "random 0 or 1"
    ids = vocab if vocab is not None else default_vocab(model)
    low, high = integer_range(spec, ids)
    return f"random integers in [{low:,}, {high:,})"


def _infer(model: nn.Module, request: ModelRequest) -> list[InputSpec]:
    """The input of a model whose first layer is an nn.Linear (else a usage error)."""
    from nncli.core.model.user.inputs import infer_inputs

    return infer_inputs(model, list(request.dtypes))


# -- memory ------------------------------------------------------------------------------


def _ensure_fits(
    model_bytes: int, specs: list[InputSpec], batch: int, device: str, *, on_host: bool
) -> None:
    """Refuse (exit 1) before allocating a run whose weights and inputs do not fit.

    Weights and inputs are drawn on the CPU and then moved (so the numbers do not
    depend on the device): off the CPU they need room on the host too.
    """
    from nncli.core.model.user.inputs import check_input_sizes, input_bytes

    check_input_sizes(specs, batch)
    need = model_bytes + input_bytes(specs, batch)
    ensure_fits(need, device, _what(specs, batch))
    if on_host and device != "cpu":
        ensure_fits(need, "cpu", f"{_what(specs, batch)} (built on the host first)")


def _what(specs: list[InputSpec], batch: int) -> str:
    rows = specs[0].full_shape(batch)[0] if specs else batch  # an --input file's own batch
    return f"the model and a batch of {rows:,}"


# -- build, inputs, forward -------------------------------------------------------------


def _build_and_draw(
    prepared: Prepared, notes: list[str]
) -> tuple[nn.Module, list[InputSpec], tuple[Any, ...], dict[str, Any]]:
    """The seeded build, then the inputs, in one seeded stream (the tutorial's order).

    Built once, and drawn, on the CPU, then moved, so a seed gives the same numbers on
    every device. The build never allocates past the memory left for it after the
    inputs (see :func:`call.build_module`); inputs not given are inferred from it.
    """
    from nncli.core.model.user.inputs import check_input_sizes, input_bytes
    from nncli.core.seed import seeded

    request, specs = prepared.request, prepared.specs
    check_input_sizes(specs, request.batch)
    with seeded(request.seed):
        model = build_module(
            prepared.target,
            prepared.kwargs,
            meta=False,
            device=request.device,
            seed=None,  # seeded above: the inputs are drawn from the same stream
            reserve=input_bytes(specs, request.batch),
            what=_what(specs, request.batch),
            notes=notes,
        )
        specs = specs or _infer(model, request)
        _ensure_fits(weight_bytes(model), specs, request.batch, request.device, on_host=True)
        args, kw = _make_inputs(specs, request, model)
    return model, specs, _to(args, request.device), _to(kw, request.device)


def _draw_inputs(
    specs: list[InputSpec], request: ModelRequest, device: str, model: nn.Module
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    from nncli.core.seed import seeded

    with seeded(request.seed):
        args, kw = _make_inputs(specs, request, model)
    return _to(args, device), _to(kw, device)


def _make_inputs(
    specs: list[InputSpec], request: ModelRequest, model: nn.Module
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The inputs, drawn from torch's generator as it stands (already seeded)."""
    from nncli.core.model.user.inputs import make_inputs

    args, kw = make_inputs(
        specs, request.batch, device="cpu", vocab=request.vocab, seed=None, model=model
    )
    return tuple(args), dict(kw)


def _to(value: Any, device: str) -> Any:
    import torch

    if isinstance(value, torch.Tensor):
        return value.to(torch.device(device))
    if isinstance(value, tuple):
        return tuple(_to(v, device) for v in value)
    if isinstance(value, list):
        return [_to(v, device) for v in value]
    if isinstance(value, dict):
        return {k: _to(v, device) for k, v in value.items()}
    return value


def _instance_device(model: nn.Module) -> str:
    """Where an instance's weights are; weights on meta have no values to run with."""
    if any(t.device.type == "meta" for t in tensors(model)):
        raise UsageError(
            "the model instance has its weights on the meta device: there are no "
            "values to run with",
            hint="`nncli summary --model` gives its shapes without weights",
        )
    return module_device(model)


# -- outputs -----------------------------------------------------------------------------


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def flatten_outputs(value: Any, path: str = "output", depth: int = 0) -> list[OutputTensor]:
    """Every leaf of a model's output with its path: tensors, and other values as they
    are (a tuple's ``[i]``, a dict's ``['key']``, a dataclass or namedtuple's ``.field``)."""
    import torch

    if isinstance(value, torch.Tensor):
        return [_tensor_leaf(path, value)]
    if depth >= MAX_NESTING:
        return [OutputTensor(path, [], type(value).__name__, None)]
    children = _children(value)
    if children is None:
        return [OutputTensor(path, [], type(value).__name__, None)]
    leaves: list[OutputTensor] = []
    for suffix, child in children:
        leaves.extend(flatten_outputs(child, path + suffix, depth + 1))
    return leaves


def _children(value: Any) -> list[tuple[str, Any]] | None:
    """``(path suffix, child)`` of a container, or None for a leaf."""
    # A mapping first: Hugging Face's ModelOutput is both a dict and a dataclass.
    if isinstance(value, Mapping):
        return [(f"[{key!r}]", item) for key, item in value.items()]
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a namedtuple
        return [(f".{name}", getattr(value, name)) for name in value._fields]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [(f".{f.name}", getattr(value, f.name)) for f in dataclasses.fields(value)]
    if isinstance(value, (tuple, list)):
        return [(f"[{i}]", item) for i, item in enumerate(value)]
    return None


def _tensor_leaf(path: str, tensor: torch.Tensor) -> OutputTensor:
    return OutputTensor(path, list(tensor.shape), dtype_name(tensor.dtype), to_numpy(tensor))


def to_numpy(tensor: torch.Tensor) -> Any:
    """The tensor's values on the host as numpy; types numpy lacks (bfloat16, float8)
    as float32. None for a tensor without values (on the meta device)."""
    import torch

    if tensor.device.type == "meta":
        return None
    t = tensor.detach()
    if t.layout != torch.strided:  # sparse: its values, densely
        t = t.to_dense()
    t = t.cpu()
    if t.is_floating_point() and t.dtype not in (torch.float16, torch.float32, torch.float64):
        t = t.float()
    if t.is_quantized:  # pragma: no cover - quantized outputs are rare
        t = t.dequantize()
    return t.resolve_conj().resolve_neg().numpy()
