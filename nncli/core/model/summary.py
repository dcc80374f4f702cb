"""Collect a model's structure: one row per leaf layer, totals, mult-adds and memory.

The pipeline follows torchinfo: forward hooks collect per-layer data (here),
and :mod:`nncli.render.tables` decides how it looks. Hooks are removed in a
``finally`` and the model's device and train/eval mode are left as found.
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
    input_shape: list[int]
    output_shape: list[int]
    params: int
    param_formula: str
    init: str
    trainable: bool | None  # None: the layer has no parameters of its own
    mult_adds: int
    # The init scheme's parameters as applied (defaults included); {} for PyTorch's
    # default init and for layers without weights.
    init_args: dict[str, Any] = field(default_factory=dict)


@dataclass
class Memory:
    input: int
    activations: int  # every layer's forward output
    params: int

    @property
    def total(self) -> int:
        return self.input + self.activations + self.params


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


class _Rows:
    """Accumulates rows in forward order; tied parameters are counted once, where first met."""

    def __init__(
        self, inits: dict[str, str] | None, init_args: dict[str, dict[str, Any]] | None = None
    ) -> None:
        self.inits = inits or {}
        self.init_args = init_args or {}
        self.seen: set[int] = set()
        self.rows: list[LayerRow] = []
        self.out_bytes = 0

    def add(
        self,
        name: str,
        module: nn.Module,
        in_shape: list[int],
        out_shape: list[int],
        out_bytes: int,
    ) -> None:
        own = list(module.named_parameters(recurse=False))
        counted = [(n, p) for n, p in own if id(p) not in self.seen]
        self.seen.update(id(p) for _, p in own)
        params = sum(p.numel() for _, p in counted)
        shared = len(own) > len(counted)
        self.rows.append(
            LayerRow(
                index=len(self.rows) + 1,
                name=name,
                type=type(module).__name__,
                input_shape=in_shape,
                output_shape=out_shape,
                params=params,
                param_formula=_formula(module, counted) + (" (rest shared)" if shared else ""),
                init=self.inits.get(name, "default" if own else "-"),
                trainable=any(p.requires_grad for _, p in own) if own else None,
                mult_adds=(out_shape[0] if out_shape else 1) * params,
                init_args=dict(self.init_args.get(name, {})),
            )
        )
        self.out_bytes += out_bytes


def _memory(model: nn.Module, x: torch.Tensor, activations: int) -> Memory:
    unique = {id(p): p for p in model.parameters()}.values()
    return Memory(
        input=x.numel() * x.element_size(),
        activations=activations,
        params=sum(p.numel() * p.element_size() for p in unique),
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
    None for any other architecture, which then takes the forward-hook path.
    """
    from torch import nn

    if not isinstance(model, nn.Sequential):
        return None
    preserving = _shape_preserving()
    rows = _Rows(inits, init_args)
    shape = list(x.shape)
    size = x.element_size()
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
        numel = 1
        for d in out:
            numel *= d
        rows.add(name, module, shape, out, numel * size)
        shape = out
    return rows.rows, _memory(model, x, rows.out_bytes)


def collect(
    model: nn.Module,
    x: torch.Tensor,
    inits: dict[str, str] | None = None,
    init_args: dict[str, dict[str, Any]] | None = None,
) -> tuple[list[LayerRow], Memory]:
    """Run one forward pass with hooks on every leaf module; return its rows and memory."""
    import torch

    rows = _Rows(inits, init_args)
    handles = []
    leaves = [(n, m) for n, m in model.named_modules() if n and not list(m.children())]

    def hook_for(name: str) -> Any:
        def hook(module: nn.Module, inputs: tuple[Any, ...], output: Any) -> None:
            is_tensor = isinstance(output, torch.Tensor)
            rows.add(
                name,
                module,
                list(inputs[0].shape) if inputs and hasattr(inputs[0], "shape") else [],
                list(output.shape) if is_tensor else [],
                output.numel() * output.element_size() if is_tensor else 0,
            )

        return hook

    was_training = model.training
    try:
        for name, module in leaves:
            handles.append(module.register_forward_hook(hook_for(name)))
        with torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return rows.rows, _memory(model, x, rows.out_bytes)


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
    from nncli.core.model.model import build_model

    check_tensor_sizes(spec, batch)  # torch's own size arithmetic overflows past 2**63
    built = build_model(spec, device, meta=True)
    return summarize_model(
        built.model,
        (batch, spec.input_features),
        device=device,
        inits=built.inits,
        init_args=built.init_args,
        name=spec.name,
        source=spec.source,
    )


def classic_summary(spec: ModelSpec, batch: int, device: str, needed: int) -> str:
    """torchsummary's own text for the real model on ``device``; refused if it won't fit."""
    import torch
    from torchsummary import summary as torchsummary

    if device.startswith("mps"):
        from nncli.errors import UsageError

        raise UsageError("--classic: torchsummary supports only cpu and cuda, not mps")
    ensure_fits(needed, device, "--classic (torchsummary needs real weights)")
    from nncli.core.model.model import build_model

    built = build_model(spec, device, seed=0)
    kind = "cuda" if device.startswith("cuda") else "cpu"
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        if kind == "cuda":
            # torchsummary makes its input on the *current* CUDA device.
            with torch.cuda.device(torch.device(device)):
                torchsummary(built.model, (spec.input_features,), batch_size=batch, device=kind)
        else:
            torchsummary(built.model, (spec.input_features,), batch_size=batch, device=kind)
    return buffer.getvalue()
