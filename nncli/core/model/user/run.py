"""``nncli run --model``'s core: one seeded forward pass of the user's own module.

The order is ``run``'s for configs: ``torch.manual_seed(seed)``, build the model,
then draw the inputs, so the same seed gives the same weights and inputs as the
three-line torch script a user would write. Nothing is allocated before a memory
check made from a meta build (parameters, buffers and inputs).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nncli.core.memory import ensure_fits
from nncli.errors import NncliError, RuntimeFailure, UsageError

if TYPE_CHECKING:
    import torch
    from torch import nn

    from nncli.core.model.user.inputs import InputSpec
    from nncli.core.model.user.target import Target

FORWARD_HINT = (
    "check --input-size (the sizes of one sample, without the batch) and --dtype "
    "against what the model's forward() expects"
)
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


def run_target(
    spec: str,
    *,
    kwargs_text: str | None,
    input_sizes: list[str],
    dtypes: list[str],
    vocab: int | None,
    input_files: list[str],
    batch: int,
    device: str,
    seed: int,
) -> ModelRunResult:
    """Build ``spec``'s model under ``seed`` (an instance is used as it is), draw or load
    its inputs, and run one forward pass in eval mode without gradients."""
    from nncli.core.model.user.inputs import parse_inputs
    from nncli.core.model.user.target import check_kwargs, parse_model_kwargs, resolve_target

    target = resolve_target(spec)
    kwargs = parse_model_kwargs(kwargs_text)
    check_kwargs(target, kwargs)  # before anything runs: the signature is in the message
    specs = parse_inputs(input_sizes, dtypes, input_files)
    if target.kind == "instance":
        model, where = target.obj, _module_device(target.obj)
        specs = specs or _infer(model, dtypes)
        # Its weights exist already: only the inputs are new, where it lives.
        _ensure_fits(0, specs, batch, where, on_host=False)
        with _as_found(model):
            args, kw = _draw_inputs(specs, batch, where, vocab, seed, model)
            output = _forward(model, args, kw, target.name, specs)
    else:
        where = device
        specs = _check_memory(target, kwargs, specs, dtypes, batch, device)
        model, specs, args, kw = _build_and_draw(
            target, kwargs, specs, dtypes, batch, device, vocab, seed
        )
        output = _forward(model, args, kw, target.name, specs)
    return ModelRunResult(
        model_name=target.name,
        source=spec,
        device=where,
        seed=seed,
        inputs=[s.describe(batch) for s in specs],
        outputs=flatten_outputs(output),
        input_source=", ".join(input_files) if input_files else "random",
        drawn=[_drawn(s, vocab, model) for s in specs],
        notes=_notes(target, specs, device, where),
    )


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
    from nncli.core.model.user.inputs import FLOAT_DTYPES, default_vocab

    if spec.path is not None:
        return f"from {spec.path}"
    if spec.dtype in FLOAT_DTYPES:
        return "random N(0, 1)"
    if spec.dtype == "bool":
        return "random 0 or 1"
    ids = vocab if vocab is not None else default_vocab(model)
    return f"random integers in [0, {ids:,})"


def _infer(model: nn.Module, dtypes: list[str]) -> list[InputSpec]:
    """The input of a model whose first layer is an nn.Linear (else a usage error)."""
    from nncli.core.model.user.inputs import infer_inputs

    return infer_inputs(model, dtypes)


# -- memory ------------------------------------------------------------------------------


def _meta_build(target: Target, kwargs: dict[str, Any]) -> nn.Module | None:
    """The model built on the meta device (no weights), to learn its size and inputs;
    None when it cannot be built there (then no memory check is made)."""
    from nncli.core.model.user.target import build_module

    try:
        return build_module(target, kwargs, meta=True, device="meta", seed=None)
    except Exception:  # the real build reports any error that is the user's
        return None


def _check_memory(
    target: Target,
    kwargs: dict[str, Any],
    specs: list[InputSpec],
    dtypes: list[str],
    batch: int,
    device: str,
) -> list[InputSpec]:
    """Refuse a model too large before building it for real, from a meta build's
    parameter and buffer bytes; returns the inputs (inferred from it if not given)."""
    meta_model = _meta_build(target, kwargs)
    if meta_model is None:  # not buildable on meta: no estimate, the real build decides
        return specs
    specs = specs or _infer(meta_model, dtypes)
    _ensure_fits(_tensor_bytes(meta_model), specs, batch, device, on_host=True)
    return specs


def _tensor_bytes(module: nn.Module) -> int:
    tensors = [*module.parameters(), *module.buffers()]  # shared ones are listed once
    return sum(t.numel() * t.element_size() for t in tensors)


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
    rows = specs[0].full_shape(batch)[0] if specs else batch  # an --input file's own batch
    what = f"the model and a batch of {rows:,}"
    ensure_fits(need, device, what)
    if on_host and device != "cpu":
        ensure_fits(need, "cpu", f"{what} (built on the host first)")


# -- build, inputs, forward -------------------------------------------------------------


def _build_and_draw(
    target: Target,
    kwargs: dict[str, Any],
    specs: list[InputSpec],
    dtypes: list[str],
    batch: int,
    device: str,
    vocab: int | None,
    seed: int,
) -> tuple[nn.Module, list[InputSpec], tuple[Any, ...], dict[str, Any]]:
    """The seeded build, then the inputs, in one seeded stream (the tutorial's order).

    Built and drawn on the CPU, then moved, so a seed gives the same numbers on
    every device. Inputs not known yet (no meta build) are inferred from the model.
    """
    from nncli.core.model.user.target import build_module
    from nncli.core.seed import seeded

    with seeded(seed):
        model = build_module(target, kwargs, meta=False, device="cpu", seed=None)
        specs = specs or _infer(model, dtypes)
        args, kw = _make_inputs(specs, batch, vocab, model)
    model = model.to(device).eval()
    return model, specs, _to(args, device), _to(kw, device)


def _draw_inputs(
    specs: list[InputSpec],
    batch: int,
    device: str,
    vocab: int | None,
    seed: int,
    model: nn.Module,
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    from nncli.core.seed import seeded

    with seeded(seed):
        args, kw = _make_inputs(specs, batch, vocab, model)
    return _to(args, device), _to(kw, device)


def _make_inputs(
    specs: list[InputSpec], batch: int, vocab: int | None, model: nn.Module
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The inputs, drawn from torch's generator as it stands (already seeded)."""
    from nncli.core.model.user.inputs import make_inputs

    args, kw = make_inputs(specs, batch, device="cpu", vocab=vocab, seed=None, model=model)
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


def _module_device(model: nn.Module) -> str:
    """Where an instance's weights are (the first parameter or buffer's device)."""
    for tensor in [*model.parameters(), *model.buffers()]:
        if tensor.device.type == "meta":
            raise UsageError(
                "the model instance has its weights on the meta device: there are no "
                "values to run with",
                hint="`nncli summary --model` gives its shapes without weights",
            )
        return str(tensor.device)
    return "cpu"


@contextmanager
def _as_found(model: nn.Module) -> Iterator[None]:
    """Eval mode for the pass, then every submodule's train/eval flag as it was."""
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for module, training in modes:
            module.training = training


def _forward(
    model: nn.Module,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    name: str,
    specs: list[InputSpec],
) -> Any:
    """``model(*args, **kwargs)`` without gradients; a failure is a usage error naming
    the innermost module that was running and the shapes it got."""
    import torch

    inferred = [s.inferred_from for s in specs if s.inferred_from]
    hint = (
        f"the input size was inferred from {inferred[0]}; give --input-size"
        if inferred
        else FORWARD_HINT
    )

    tracker = _LayerTracker(model, name)
    try:
        with torch.no_grad(), tracker:
            return model(*args, **kwargs)
    except NncliError:
        raise
    except (MemoryError, torch.OutOfMemoryError) as error:
        raise RuntimeFailure(
            f"the forward pass of {name} ran out of memory: {_first_line(error)}",
            hint="try a smaller --batch or --input-size",
        ) from error
    except Exception as error:  # the user's code can raise anything
        # Worded as summary's (usermodel), so a model fails alike in both commands.
        raise UsageError(
            f"the forward pass fails in {tracker.where()}: "
            f"{type(error).__name__}: {_first_line(error)}",
            hint=hint,
        ) from error


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else "(no message)"


class _LayerTracker:
    """Which module was running when the forward pass failed, and its inputs' shapes.

    Global forward hooks, removed on exit, so the model's own hook dicts are never
    touched. A module's post-hook does not run when its forward raises, so after a
    failure the stack ends with the innermost module that was running.
    """

    def __init__(self, model: nn.Module, name: str) -> None:
        self.model = model
        self.name = name
        self.names = {id(m): path for path, m in model.named_modules()}
        self.stack: list[tuple[Any, Any]] = []  # (module, its positional inputs' shapes)
        self.handles: list[Any] = []

    def __enter__(self) -> _LayerTracker:
        from torch.nn.modules import module as torch_module

        self.handles = [
            torch_module.register_module_forward_pre_hook(self._pre),
            torch_module.register_module_forward_hook(self._post),
        ]
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles = []

    def _pre(self, module: nn.Module, args: tuple[Any, ...]) -> None:
        self.stack.append((module, describe_shapes(args)))

    def _post(self, module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
        # Pop down to this module: entries above it are modules whose failure was
        # caught inside forward().
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] is module:
                del self.stack[i:]
                return

    def where(self) -> str:
        """``body.fc2 (Linear) given input [5, 6]``, or ``Net.forward (Net) ...`` for
        the model's own code."""
        if not self.stack:
            return f"{self.name}.forward"
        module, shapes = self.stack[-1]
        path = self.names.get(id(module))
        kind = type(module).__name__
        if path == "":
            where = f"{self.name}.forward ({kind})"
        elif path is None:
            where = f"a {kind} made inside forward()"
        else:
            where = f"{path} ({kind})"
        given = [_shape_text(s) for s in shapes if s is not None]
        return f"{where} given input {', '.join(given)}" if given else where


def describe_shapes(value: Any, depth: int = 0) -> Any:
    """Shapes of the tensors in ``value``, nested as it is; None for other leaves."""
    import torch

    if isinstance(value, torch.Tensor):
        return list(value.shape)
    if depth < MAX_NESTING and isinstance(value, (tuple, list)):
        return [describe_shapes(v, depth + 1) for v in value]
    if depth < MAX_NESTING and isinstance(value, Mapping):
        return {str(k): describe_shapes(v, depth + 1) for k, v in value.items()}
    return None


def _shape_text(shapes: Any) -> str:
    """One argument's shapes: ``[5, 6]``; ``([5, 6], [5, 3])`` for a tuple of tensors;
    ``{x: [5, 6]}`` for a dict."""
    if isinstance(shapes, dict):
        return "{" + ", ".join(f"{k}: {_shape_text(v)}" for k, v in shapes.items()) + "}"
    if isinstance(shapes, list) and all(isinstance(d, int) for d in shapes):
        return str(shapes)
    if isinstance(shapes, list):
        return "(" + ", ".join(_shape_text(s) for s in shapes) + ")"
    return "-"


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
