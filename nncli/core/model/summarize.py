"""Collect a model's structure: rows, totals, mult-adds and memory.

The pipeline follows torchinfo: forward hooks collect per-layer data (the
collector is :mod:`nncli.core.model.hooks`; the configs' Sequential MLPs take a
shape-only fast path here), and :mod:`nncli.render.tables` decides how it looks.
Hooks are removed in a ``finally`` and the model's device and train/eval mode are
left as found.
"""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nncli.core.memory import ensure_fits
from nncli.core.model.config import ModelSpec, check_tensor_sizes

if TYPE_CHECKING:
    import torch
    from torch import nn

MULT_ADDS_RULE = (
    "per layer with weights: batch × its parameter count (weights + bias), "
    "as torchinfo counts them; activations are not counted"
)


@dataclass
class LayerRow:
    index: int
    name: str
    type: str
    # list[int] for a tensor; nested lists for tuples/lists, {key: shape} for dicts, None
    # for anything else (and for rows of modules that were never called).
    input_shape: Any
    output_shape: Any
    params: int
    param_formula: str
    init: str
    trainable: bool | None  # None: the layer has no parameters of its own
    mult_adds: int
    # The init scheme's parameters as applied (defaults included); {} for PyTorch's
    # default init and for layers without weights.
    init_args: dict[str, Any] = field(default_factory=dict)
    # The tree (issue 10). depth 1 is a child of the model itself; parent is the
    # ``index`` of the enclosing row (None at depth 1). ``shared``: some of this row's
    # parameters were already counted at an earlier row (a module called again, or
    # weights tied to another module); ``params`` then holds only the new ones.
    depth: int = 1
    parent: int | None = None
    shared: bool = False
    kind: str = "module"  # "module", or "function" for a call such as F.relu inside forward
    buffers: int = 0  # buffer elements (BatchNorm's running statistics), counted once
    # Rows deeper than --depth are folded into this one: its params, buffers and
    # mult-adds include theirs; ``folded`` says how many rows that was.
    folded: int = 0


@dataclass
class Memory:
    input: int
    activations: int  # every layer's forward output
    params: int
    buffers: int = 0  # BatchNorm's running statistics and other registered buffers

    @property
    def total(self) -> int:
        return self.input + self.activations + self.params + self.buffers


@dataclass
class SummaryResult:
    model_name: str
    source: str
    device: str
    built_on: str  # "meta": shapes from torch's meta device, no weights allocated
    input_shape: list[int]
    layers: list[LayerRow]
    total_params: int
    trainable_params: int
    non_trainable_params: int
    mult_adds: int
    memory: Memory
    mult_adds_rule: str = MULT_ADDS_RULE
    classic: str | None = None  # torchsummary's own text, with --classic
    extras: dict[str, Any] = field(default_factory=dict)
    # Issue 10: the user's own nn.Module (--model) and the tree.
    depth: int = 3  # --depth: rows deeper than this are folded into their parent
    buffers: int = 0  # buffer elements, counted once
    # every input's shape and dtype, batch included ("input_shape" is the first one's);
    # named inputs (a dict, or keyword arguments) carry their name
    inputs: list[dict[str, Any]] = field(default_factory=list)
    model_spec: str | None = None  # --model SPEC as given; None for a config
    # Why the model was built for real instead of on the meta device, when it was.
    fallback: str | None = None


def _formula(module: nn.Module, counted: list[tuple[str, torch.nn.Parameter]]) -> str:
    from torch import nn

    total = sum(p.numel() for _, p in counted)
    if isinstance(module, nn.Linear) and counted:
        names = {n for n, _ in counted}
        parts = []
        if "weight" in names:
            parts.append(f"{module.in_features}×{module.out_features}")
        if "bias" in names:
            parts.append(f"{module.out_features}")
        return f"{' + '.join(parts)} = {total:,}"
    if len(counted) > 1:
        return f"{' + '.join(f'{p.numel():,}' for _, p in counted)} = {total:,}"
    return f"{total:,}" if counted else "0"


def _memory(model: nn.Module, x: torch.Tensor, activations: int) -> Memory:
    unique = {id(p): p for p in model.parameters()}.values()
    buffers = {id(b): b for b in model.buffers()}.values()
    return Memory(
        input=x.numel() * x.element_size(),
        activations=activations,
        params=sum(p.numel() * p.element_size() for p in unique),
        buffers=sum(b.numel() * b.element_size() for b in buffers),
    )


def _shape_preserving() -> tuple[type, ...]:
    """Every registry activation maps a tensor to one of the same shape."""
    from torch import nn

    from nncli.core.activation.activations import ACTIVATIONS

    return tuple({getattr(nn, a.module) for a in ACTIVATIONS.values()})


def propagate_shapes(
    model: nn.Module,
    x: torch.Tensor,
    inits: dict[str, str] | None = None,
    init_args: dict[str, dict[str, Any]] | None = None,
) -> tuple[list[LayerRow], Memory] | None:
    """Shapes of a Sequential of Linear and activation layers, without running kernels.

    On the meta device a forward pass costs over a second of one-off imports
    (torch's Python meta kernels and dynamo), longer than the whole summary; for
    the models nncli builds, the shapes follow from the layers themselves. Returns
    None for any other architecture, which then takes the forward-hook path. Its
    rows are the ones :func:`nncli.core.model.hooks.collect_tree` makes.
    """
    from torch import nn

    from nncli.core.model.hooks import Ledger, torchinfo_macs

    if not isinstance(model, nn.Sequential):
        return None
    preserving = _shape_preserving()
    ledger = Ledger(inits, init_args)
    shape = list(x.shape)
    size = x.element_size()
    activations = 0
    for name, module in model.named_children():
        if isinstance(module, nn.Linear):
            if not shape or shape[-1] != module.in_features:
                raise RuntimeError(
                    f"layer {name}: expects {module.in_features} input features, gets shape {shape}"
                )
            out = [*shape[:-1], module.out_features]
        elif isinstance(module, preserving):
            out = list(shape)
        else:
            return None
        row = ledger.module_row(name, module, 1, None, shape)
        row.output_shape = out
        row.mult_adds = torchinfo_macs(module, out)
        numel = 1
        for d in out:
            numel *= d
        activations += numel * size
        shape = out
    return ledger.rows, _memory(model, x, activations)


def collect(
    model: nn.Module,
    x: torch.Tensor,
    inits: dict[str, str] | None = None,
    init_args: dict[str, dict[str, Any]] | None = None,
) -> tuple[list[LayerRow], Memory]:
    """One hooked forward pass on ``x``: every module's row (the tree, at full depth)."""
    from nncli.core.model.hooks import collect_tree

    return collect_tree(model, (x,), {}, functional=False, inits=inits, init_args=init_args)


def summarize_model(
    model: nn.Module,
    input_shape: tuple[int, ...],
    *,
    device: str,
    inits: dict[str, str] | None = None,
    init_args: dict[str, dict[str, Any]] | None = None,
    name: str = "model",
    source: str = "<memory>",
) -> SummaryResult:
    """Summarise any module. Input is zeros on the module's own device (meta included)."""
    import torch

    params = list({id(p): p for p in model.parameters()}.values())
    where = params[0].device if params else torch.device("cpu")
    dtype = params[0].dtype if params and params[0].is_floating_point() else torch.float32
    x = torch.zeros(input_shape, device=where, dtype=dtype)
    traced = propagate_shapes(model, x, inits, init_args) if where.type == "meta" else None
    rows, memory = traced if traced is not None else collect(model, x, inits, init_args)
    total = sum(p.numel() for p in params)
    trainable = sum(p.numel() for p in params if p.requires_grad)
    return SummaryResult(
        model_name=name,
        source=source,
        device=device,
        built_on=where.type,
        input_shape=list(input_shape),
        layers=rows,
        total_params=total,
        trainable_params=trainable,
        non_trainable_params=total - trainable,
        mult_adds=sum(r.mult_adds for r in rows),
        memory=memory,
    )


def summarize_spec(spec: ModelSpec, batch: int, device: str) -> SummaryResult:
    """Summarise a config on torch's meta device: the cost does not grow with its size."""
    from nncli.core.model.build import build_model
    from nncli.core.model.hooks import TREE_MULT_ADDS_RULE
    from nncli.core.model.user.meta import run_meta

    check_tensor_sizes(spec, batch)  # torch's own size arithmetic overflows past 2**63
    built = build_model(spec, device, meta=True)
    shape = (batch, *spec.sample_shape)

    def summarize() -> SummaryResult:
        return summarize_model(
            built.model,
            shape,
            device=device,
            inits=built.inits,
            init_args=built.init_args,
            name=spec.name,
            source=spec.source,
        )

    if all(layer.type == "linear" for layer in spec.layers):
        # An MLP's shapes follow from its layers (propagate_shapes): no kernel runs.
        result = summarize()
    else:
        # A CNN config takes the forward-hook path on meta tensors, whose Python
        # kernels would import torch._dynamo and sympy (~1 s) without run_meta.
        result = run_meta(summarize)
        result.mult_adds_rule = TREE_MULT_ADDS_RULE  # conv layers count their output's area
    result.inputs = [{"name": None, "shape": list(shape), "dtype": "float32"}]
    return result


def classic_summary(spec: ModelSpec, batch: int, device: str, needed: int) -> str:
    """torchsummary's own text for the real model on ``device``; refused if it won't fit."""
    import torch
    from torchsummary import summary as torchsummary

    if device.startswith("mps"):
        from nncli.errors import UsageError

        raise UsageError("--classic: torchsummary supports only cpu and cuda, not mps")
    ensure_fits(needed, device, "--classic (torchsummary needs real weights)")
    from nncli.core.model.build import build_model

    built = build_model(spec, device, seed=0)
    kind = "cuda" if device.startswith("cuda") else "cpu"
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        if kind == "cuda":
            # torchsummary makes its input on the *current* CUDA device.
            with torch.cuda.device(torch.device(device)):
                torchsummary(built.model, spec.sample_shape, batch_size=batch, device=kind)
        else:
            torchsummary(built.model, spec.sample_shape, batch_size=batch, device=kind)
    return buffer.getvalue()
