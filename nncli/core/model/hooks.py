"""The nested summary of any ``nn.Module``: one hooked forward pass, every module a row.

Rows come in call order: a row is opened by the module's forward *pre*-hook (so a
container precedes its children) and its output shape is filled in by the forward
hook. Depth and parent come from the stack of modules running at the time. With
``functional=True`` a ``TorchFunctionMode`` also records the tensor-producing calls
made directly in a container's ``forward`` (``F.relu``, ``torch.flatten``,
``x + residual``) as rows of kind ``"function"``.

Mult-adds follow torchinfo 1.8.0 exactly (``LayerInfo.calculate_macs`` and
``ModelStatistics``), so totals can be compared with it:

* only leaf modules (no child modules) count, at every call; containers, even with
  parameters of their own (``nn.MultiheadAttention.in_proj_weight``), and functional
  calls count 0;
* ``size`` is torchinfo's output size: a tensor's shape; for a tuple or list whose
  first element has ``.data`` (a tensor, a PackedSequence) that element's shape; for a
  dict its last value's (first-element-wise); otherwise the first nested tensor's;
* each parameter named exactly ``weight`` or ``bias`` adds its count × ``size[0]``, or
  × ``size[0] × size[2] × size[3] ...`` when the class name contains ``Conv``;
  any other parameter whose name contains ``weight`` or ``bias`` (an RNN's
  ``weight_ih_l0``) adds its count × ``size[0] × size[1]``; other parameters add 0;
* pruned weights (``weight_orig`` with a ``weight_mask`` buffer) are treated as
  ``weight`` and count all their values, zeroed or not (torchinfo counts the mask's
  ones): torch stores and multiplies the dense weight, and a model built on meta has no
  mask values to count, so both build paths give the same figure. :func:`pruning_note`
  says how many values the masks zero, where they are known.

nncli differs from torchinfo in one count on purpose: a parameter shared by two
modules (tied embeddings) is counted once in ``total_params``, where torchinfo 1.8
counts it in each module that holds it. Its mult-adds are counted at every module
that uses it, as torchinfo does: the work is done each time.
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from nncli.core.model.counting import MULT_ADDS_RULE, mult_adds, param_formula
from nncli.core.model.results import LayerRow, Memory, SummaryResult

if TYPE_CHECKING:
    import torch
    from torch import nn

# Calls that only read metadata: never rows, even where they return a tensor (.T, .data).
_METADATA = frozenset(
    {
        "__get__",
        "__set__",
        "__len__",
        "__bool__",
        "__format__",
        "__repr__",
        "__iter__",
        "__hash__",
        "__contains__",
        "size",
        "dim",
        "ndimension",
        "numel",
        "nelement",
        "element_size",
        "stride",
        "storage_offset",
        "is_floating_point",
        "is_complex",
        "is_contiguous",
        "data_ptr",
        "get_device",
        "has_names",
        "item",
        "tolist",
    }
)

# Tensor methods that Python operators call: the row's type shows the operator.
_OPERATORS = {
    "add": "+",
    "radd": "+",
    "iadd": "+=",
    "add_": "+=",
    "sub": "-",
    "rsub": "-",
    "isub": "-=",
    "sub_": "-=",
    "mul": "*",
    "rmul": "*",
    "imul": "*=",
    "mul_": "*=",
    "div": "/",
    "truediv": "/",
    "rtruediv": "/",
    "rdiv": "/",
    "itruediv": "/=",
    "div_": "/=",
    "floordiv": "//",
    "matmul": "@",
    "rmatmul": "@",
    "pow": "**",
    "rpow": "**",
    "neg": "-x",
    "getitem": "[]",
}


class ForwardFailed(RuntimeError):
    """The model's forward raised; names the innermost module running at the time.

    ``path`` is the module's path ("" for the model itself, None for a module made
    inside forward()), ``input_shapes`` the shapes it was called with; ``function``
    the functional call (e.g. ``add (+)``) that raised in that module's own forward,
    with ``function_shapes``, when known.
    """

    def __init__(
        self,
        path: str | None,
        module_type: str,
        input_shapes: Any,
        cause: BaseException,
        function: str | None = None,
        function_shapes: Any = None,
    ) -> None:
        if path is None:
            where = f"a {module_type} made inside forward()"
        else:
            where = f"{path} ({module_type})" if path else f"the model itself ({module_type})"
        call = f" in {function} with inputs {function_shapes}" if function else ""
        super().__init__(f"forward failed at {where}{call} with inputs {input_shapes}: {cause}")
        self.path = path
        self.module_type = module_type
        self.input_shapes = input_shapes
        self.cause = cause
        self.function = function
        self.function_shapes = function_shapes


class Locator:
    """Which module was running when a forward pass failed, and the shapes it got.

    Global forward hooks (public: ``torch.nn.modules.module.register_module_forward_*``),
    removed on exit, so the model's own hook dicts are never touched and modules made
    inside forward() are seen too. A module's post-hook does not run when its forward
    raises, so after a failure the stack ends with the innermost module that was
    running. ``args`` and ``kwargs`` are the model's own call's (global pre-hooks get
    no keyword arguments).
    """

    def __init__(
        self, model: nn.Module, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None
    ) -> None:
        self.model = model
        self.root_shapes = inputs_shape(args, kwargs or {})
        self.names = {id(m): path for path, m in model.named_modules()}
        self.stack: list[tuple[Any, Any]] = []  # (module, its positional inputs' shapes)
        self.handles: list[Any] = []

    def __enter__(self) -> Locator:
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
        self.stack.append((module, inputs_shape(args, {})))

    def _post(self, module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
        # Pop down to this module: entries above it are modules whose failure was
        # caught inside forward().
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] is module:
                del self.stack[i:]
                return

    def failure(
        self, exc: BaseException, function: str | None = None, function_shapes: Any = None
    ) -> ForwardFailed:
        """The failure, at the innermost module running (the model, if none was)."""
        if isinstance(exc, ForwardFailed):
            return exc
        module, shapes = self.stack[-1] if self.stack else (self.model, None)
        path = self.names.get(id(module))
        if path == "":  # the model's own call: its keyword inputs too
            shapes = self.root_shapes
        return ForwardFailed(path, type(module).__name__, shapes, exc, function, function_shapes)


@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[None]:
    """Eval mode for the block, then every submodule's train/eval flag as it was."""
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for module, training in modes:
            module.training = training


# ------------------------------------------------------------------ shapes and bytes


def shape_of(value: Any) -> Any:
    """A tensor's shape as list[int]; tuples/lists nested, dicts by key; None otherwise."""
    import torch

    if isinstance(value, torch.Tensor):
        return list(value.shape)
    if isinstance(value, (list, tuple)):
        shapes = [shape_of(v) for v in value]
        return shapes if any(s is not None for s in shapes) else None
    if isinstance(value, dict):
        named = {str(k): shape_of(v) for k, v in value.items()}
        return named if any(s is not None for s in named.values()) else None
    return None


def inputs_shape(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The shapes a call got: one tensor's shape, else a list (keyword tensors as a dict)."""
    positional = [s for s in (shape_of(a) for a in args) if s is not None]
    named = {k: s for k, s in ((k, shape_of(v)) for k, v in kwargs.items()) if s is not None}
    if not named:
        if not positional:
            return None
        return positional[0] if len(positional) == 1 else positional
    if not positional:
        return named
    return [*positional, named]


def tensor_bytes(value: Any) -> int:
    """Bytes of every tensor in a (nested) value."""
    import torch

    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, (list, tuple)):
        return sum(tensor_bytes(v) for v in value)
    if isinstance(value, dict):
        return sum(tensor_bytes(v) for v in value.values())
    return 0


def unique_bytes(tensors: Iterable[torch.Tensor]) -> int:
    """Bytes of the tensors, each counted once (a tied weight listed twice too); an
    uninitialised parameter (materialised by the forward) has none yet."""
    from torch.nn.parameter import is_lazy

    unique = {id(t): t for t in tensors}.values()
    return sum(t.numel() * t.element_size() for t in unique if not is_lazy(t))


def _nested_size(value: Any) -> list[int]:
    """torchinfo's ``nested_list_size``: the first tensor found, depth first."""
    import torch

    if hasattr(value, "tensors"):
        return _nested_size(value.tensors)
    if isinstance(value, torch.Tensor):
        return list(value.shape)
    if isinstance(value, dict):
        return _nested_size(list(value.values())) if value else []
    if isinstance(value, (list, tuple)):
        return _nested_size(value[0]) if value else []
    return []


def torchinfo_size(output: Any) -> list[int]:
    """torchinfo's ``LayerInfo.calculate_size`` of an output (batch_dim None)."""
    import torch

    if isinstance(output, (list, tuple)) and output:
        first = output[0]
        data = first if isinstance(first, torch.Tensor) else getattr(first, "data", None)
        if isinstance(data, torch.Tensor):
            return list(data.shape)
    if isinstance(output, dict):
        return _nested_size(list(output.values())[-1]) if output else []
    if isinstance(output, torch.Tensor):
        return list(output.shape)
    if isinstance(output, (list, tuple)):
        return _nested_size(output)
    return []  # torchinfo raises a TypeError on other outputs


def _numel(param: torch.Tensor) -> int:
    """A parameter's size; 0 while it is uninitialised (``nn.UninitializedParameter``,
    materialised by the forward: :meth:`Ledger.materialised` counts it then)."""
    from torch.nn.parameter import is_lazy

    return 0 if is_lazy(param) else param.numel()


def _param_count(module: nn.Module, name: str, param: torch.Tensor) -> tuple[int, str]:
    """torchinfo's ``get_param_count``, except that a pruned weight (``weight_orig`` with
    a ``weight_mask``) counts all its values, as ``weight``: pruning zeroes values, it
    does not remove them, and the count is then the same on meta and on a real build."""
    import torch

    if name.endswith("_orig"):
        mask = getattr(module, f"{name[:-5]}_mask", None)
        if isinstance(mask, torch.Tensor):
            return _numel(param), name[:-5]
    return _numel(param), name


def pruning_note(model: nn.Module) -> str | None:
    """What the ``torch.nn.utils.prune`` masks of ``model`` zero, or None if it has none:
    "pruned (torch.nn.utils.prune): 2 weights, masks zero 16 of their 32 values; ...",
    or, where a mask is on meta, that the zeros are unknown."""
    import torch

    pruned = zeros = values = 0
    unknown = False
    for module in model.modules():
        for name, param in module.named_parameters(recurse=False):
            mask = getattr(module, f"{name[:-5]}_mask", None) if name.endswith("_orig") else None
            if not isinstance(mask, torch.Tensor):
                continue
            pruned += 1
            values += _numel(param)
            if mask.is_meta:
                unknown = True
            else:
                zeros += mask.numel() - int(torch.count_nonzero(mask))
    if not pruned:
        return None
    weights = f"{pruned} weight{'s' if pruned != 1 else ''}"
    zeroed = (
        "how many values the masks zero is unknown (they were made on the meta device)"
        if unknown
        else f"the masks zero {zeros:,} of their {values:,} values"
    )
    return (
        f"pruned (torch.nn.utils.prune): {weights}; parameters, mult-adds and MACs count the dense "
        f"weights (zeroed values too: torch stores and multiplies them); {zeroed}"
    )


def torchinfo_macs(module: nn.Module, size: list[int]) -> int:
    """torchinfo 1.8.0's ``calculate_macs`` for one call of a leaf module (the rule is
    :func:`nncli.core.model.counting.mult_adds`, which config summaries use too)."""
    counted = [_param_count(module, raw, param) for raw, param in module.named_parameters()]
    conv = "Conv" in type(module).__name__
    return mult_adds([(name, count) for count, name in counted], size, conv)


def _formula(module: nn.Module, counted: list[tuple[str, torch.nn.Parameter]]) -> str:
    """:func:`nncli.core.model.counting.param_formula` of a module's counted parameters."""
    from torch import nn

    factors = (module.in_features, module.out_features) if isinstance(module, nn.Linear) else None
    return param_formula([(name, _numel(p)) for name, p in counted], factors)


# ------------------------------------------------------------------ rows


class Ledger:
    """Makes rows; parameters and buffers are counted once, at the first row holding them."""

    def __init__(
        self, inits: dict[str, str] | None, init_args: dict[str, dict[str, Any]] | None
    ) -> None:
        self.inits = inits or {}
        self.init_args = init_args or {}
        self.seen_params: set[int] = set()
        self.seen_buffers: set[int] = set()
        self.rows: list[LayerRow] = []
        self.lazy: dict[int, list[str]] = {}  # module id -> its uninitialised parameters
        self.measured = False  # rows start at 0 measured MACs (else None: not measured)

    def module_row(
        self, name: str, module: nn.Module, depth: int, parent: int | None, input_shape: Any
    ) -> LayerRow:
        from torch.nn.parameter import is_lazy

        own = list(module.named_parameters(recurse=False))
        counted = [(n, p) for n, p in own if id(p) not in self.seen_params]
        self.seen_params.update(id(p) for _, p in own)
        shared = len(own) > len(counted)
        lazy = [n for n, p in counted if is_lazy(p)]
        if lazy:
            self.lazy[id(module)] = lazy
        row = LayerRow(
            index=len(self.rows) + 1,
            name=name,
            type=type(module).__name__,
            input_shape=input_shape,
            output_shape=None,
            params=sum(_numel(p) for _, p in counted),
            param_formula=_formula(module, counted) + (" (rest shared)" if shared else ""),
            init=self.inits.get(name, "default" if own else "-"),
            # Mixed (partly frozen) counts as trainable: LayerRow has no "partial".
            trainable=any(p.requires_grad for _, p in own) if own else None,
            mult_adds=0,
            init_args=dict(self.init_args.get(name, {})),
            macs=0 if self.measured else None,
            flops=0 if self.measured else None,
            depth=depth,
            parent=parent,
            shared=shared,
            buffers=self._new_buffers(module),
        )
        self.rows.append(row)
        return row

    def materialised(self, row: LayerRow, module: nn.Module) -> None:
        """Counts the module's own parameters its forward materialised (they were
        uninitialised when its row was made, so they counted 0 then)."""
        from torch.nn.parameter import is_lazy

        lazy = self.lazy.pop(id(module), None)
        if not lazy:
            return
        own = dict(module.named_parameters(recurse=False))
        added = [(n, own[n]) for n in lazy if n in own and not is_lazy(own[n])]
        if added:
            row.params += sum(p.numel() for _, p in added)
            row.param_formula = f"{row.params:,}"

    def _new_buffers(self, module: nn.Module) -> int:
        fresh = [b for b in module.buffers(recurse=False) if id(b) not in self.seen_buffers]
        self.seen_buffers.update(id(b) for b in fresh)
        return sum(b.numel() for b in fresh)

    def absorb(self, row: LayerRow, module: nn.Module) -> None:
        """Adds a never-called module's own parameters and buffers to ``row``."""
        own = list(module.named_parameters(recurse=False))
        counted = [p for _, p in own if id(p) not in self.seen_params]
        self.seen_params.update(id(p) for _, p in own)
        added = sum(_numel(p) for p in counted)
        row.params += added
        row.buffers += self._new_buffers(module)
        row.folded += 1
        if added:
            row.param_formula = f"{row.params:,}"
        if own:
            trainable = any(p.requires_grad for _, p in own)
            row.trainable = trainable if row.trainable is None else row.trainable or trainable
        row.shared = row.shared or len(counted) < len(own)


class _Frame:
    """A module whose forward is running."""

    __slots__ = (
        "args",
        "child_flops",
        "depth",
        "kwargs",
        "leaf",
        "module",
        "row",
        "start",
        "virtual",
    )

    def __init__(
        self,
        module: nn.Module,
        row: LayerRow | None,
        depth: int,
        leaf: bool,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        self.module = module
        self.row = row
        self.depth = depth
        self.leaf = leaf
        self.args = args
        self.kwargs = kwargs
        # Rows made for containers that were not called (ModuleList) during this call.
        self.virtual: dict[int, LayerRow] = {}
        # Measured compute: the counter's flops when this call began, and the flops
        # of the rows below it (its children's calls and its own functional rows).
        self.start = 0
        self.child_flops = 0


class _Collector:
    def __init__(self, model: nn.Module, ledger: Ledger) -> None:
        self.model = model
        self.ledger = ledger
        self.names: dict[int, str] = {}
        self.leaf: dict[int, bool] = {}
        self.tree_parent: dict[int, nn.Module] = {}
        for name, module in model.named_modules():  # first name of a module listed twice
            self.names[id(module)] = name
            children = [c for c in module._modules.values() if c is not None]
            self.leaf[id(module)] = not children
            for child in children:
                self.tree_parent.setdefault(id(child), module)
        self.stack: list[_Frame] = []
        self.first_row: dict[int, LayerRow] = {}
        self.activations = 0
        self.root_row: LayerRow | None = None
        self.busy = False  # inside our own hooks: the function mode records nothing
        self.failed_call: tuple[str, Any] | None = None
        # Measured compute (a torch.utils.flop_counter.FlopCounterMode, or None).
        self.measure = False
        self.flops = 0  # counted so far (see _compute_mode_class)
        self.unattributed = 0  # flops in the model's own forward with no row to hold them
        # ``nncli draw``'s data-flow tracer (:mod:`nncli.core.model.flow`), or None.
        self.tracer: Any = None

    def flops_now(self) -> int:
        return self.flops

    def _credit(self, row: LayerRow | None, flops: int) -> None:
        if row is None:
            self.unattributed += flops
            return
        row.flops = (row.flops or 0) + flops
        row.macs = row.flops // 2

    # -- hooks

    def pre_hook(self, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.busy = True
        try:
            leaf = self.leaf.get(id(module), True)
            if module is self.model or not self.stack:
                self._root_row(module, leaf, args, kwargs)
                frame = _Frame(module, None, 0, leaf, args, kwargs)
                frame.start = self.flops_now()
                self.stack.append(frame)
                if self.tracer is not None and leaf:
                    self.tracer.entered(self.root_row, args, kwargs)
                return
            top = self.stack[-1]
            parent, depth = self._missing_containers(module, top)
            row = self.ledger.module_row(
                self.names.get(id(module), type(module).__name__),
                module,
                depth,
                parent.index if parent else None,
                inputs_shape(args, kwargs),
            )
            self.first_row.setdefault(id(module), row)
            frame = _Frame(module, row, depth, leaf, args, kwargs)
            frame.start = self.flops_now()
            self.stack.append(frame)
            if self.tracer is not None:
                self.tracer.entered(row, args, kwargs)
        finally:
            self.busy = False

    def _root_row(
        self, module: nn.Module, leaf: bool, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        """The model's own row (name ""), only where rows of its children can't hold it all.

        That is a model without children (an ``nn.Linear`` given as the model) or one
        with parameters or buffers of its own (a ViT's ``cls_token``): without this row
        the rows' parameters would not add up to the model's.
        """
        own = next(module.parameters(recurse=False), None) is not None
        own = own or next(module.buffers(recurse=False), None) is not None
        if self.root_row is None and (leaf or own):
            self.root_row = self.ledger.module_row("", module, 1, None, inputs_shape(args, kwargs))
            self.first_row[id(module)] = self.root_row

    def hook(
        self, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], output: Any
    ) -> None:
        self.busy = True
        try:
            while self.stack and self.stack[-1].module is not module:
                self.stack.pop()  # a frame whose forward raised and the caller caught it
            if not self.stack:
                return
            frame = self.stack.pop()
            row = self.root_row if frame.depth == 0 else frame.row
            if self.measure:
                inclusive = self.flops_now() - frame.start
                self._credit(row, inclusive - frame.child_flops)
                if self.stack:
                    self.stack[-1].child_flops += inclusive
            if self.tracer is not None:
                self.tracer.left(row, frame.leaf, frame.depth == 0, output)
            if row is None:
                return
            row.output_shape = shape_of(output)
            self.ledger.materialised(row, module)
            if frame.leaf:
                row.mult_adds = torchinfo_macs(module, torchinfo_size(output))
                self.activations += tensor_bytes(output)
        finally:
            self.busy = False

    def _missing_containers(self, module: nn.Module, top: _Frame) -> tuple[LayerRow | None, int]:
        """Rows for modules between ``top`` and ``module`` in the module tree (a ModuleList).

        As torchinfo's ``add_missing_container_layers``: a ModuleList has no forward,
        yet its children are shown beneath it.
        """
        chain: list[nn.Module] = []
        up = self.tree_parent.get(id(module))
        while up is not None and up is not top.module:
            chain.append(up)
            up = self.tree_parent.get(id(up))
        parent, depth = top.row, top.depth + 1
        if up is None:  # not a descendant of the running module: no containers to show
            return parent, depth
        for container in reversed(chain):
            row = top.virtual.get(id(container))
            if row is None:
                row = self.ledger.module_row(
                    self.names.get(id(container), type(container).__name__),
                    container,
                    depth,
                    parent.index if parent else None,
                    None,
                )
                top.virtual[id(container)] = row
                self.first_row.setdefault(id(container), row)
            parent, depth = row, depth + 1
        return parent, depth

    # -- functional calls

    def record_call(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        frame = self.stack[-1]
        label, short = _call_label(func)
        start = self.flops_now()
        # Read before the call: an in-place op (x += y) re-produces its input.
        sources = self.tracer.sources(args, kwargs) if self.tracer is not None else None
        try:
            result = func(*args, **kwargs)
        except Exception:
            self.failed_call = (label, inputs_shape(args, kwargs))
            raise
        flops = self.flops_now() - start
        output = shape_of(result)
        if output is not None:
            frame.child_flops += flops
            parent = frame.row
            if self.tracer is not None:
                self.tracer.produced(len(self.ledger.rows) + 1, sources, result)
            self.ledger.rows.append(
                LayerRow(
                    index=len(self.ledger.rows) + 1,
                    name=f"{parent.name}.{short}" if parent else short,
                    type=label,
                    input_shape=inputs_shape(args, kwargs),
                    output_shape=output,
                    params=0,
                    param_formula="0",
                    init="-",
                    trainable=None,
                    mult_adds=0,
                    depth=frame.depth + 1,
                    parent=parent.index if parent else None,
                    kind="function",
                    macs=flops // 2 if self.measure else None,
                    flops=flops if self.measure else None,
                )
            )
        return result

    def wants(self, func: Any) -> bool:
        """Calls made in a container's own forward, not metadata, not inside our hooks."""
        if self.busy or not self.stack or self.stack[-1].leaf:
            return False
        return getattr(func, "__name__", "") not in _METADATA

    # -- after the pass

    def absorb_uncalled(self) -> None:
        """Parameters of modules never called go to the nearest ancestor with a row.

        A module that was never called and has no such ancestor (an unused head
        directly under the model) gets a row of its own, without shapes, at the end:
        so the rows' parameters always add up to the model's.
        """
        for module in self.model.modules():
            if id(module) in self.first_row or module is self.model:
                continue
            holder = self._holder(module)
            if holder is None:
                top = self._top_ancestor(module)
                if not self._holds_anything_new(top):
                    continue  # an unused ReLU or an empty ModuleList: nothing to count
                holder = self.ledger.module_row(self.names[id(top)], top, 1, None, None)
                self.first_row[id(top)] = holder
                if top is module:
                    continue
            self.ledger.absorb(holder, module)

    def _holds_anything_new(self, module: nn.Module) -> bool:
        seen_p, seen_b = self.ledger.seen_params, self.ledger.seen_buffers
        return any(id(p) not in seen_p for p in module.parameters()) or any(
            id(b) not in seen_b for b in module.buffers()
        )

    def _holder(self, module: nn.Module) -> LayerRow | None:
        up = self.tree_parent.get(id(module))
        while up is not None and up is not self.model:
            if id(up) in self.first_row:
                return self.first_row[id(up)]
            up = self.tree_parent.get(id(up))
        return None

    def _top_ancestor(self, module: nn.Module) -> nn.Module:
        while self.tree_parent.get(id(module)) not in (None, self.model):
            module = self.tree_parent[id(module)]
        return module


def _call_label(func: Any) -> tuple[str, str]:
    """(type, short name): ("F.relu", "relu"), ("add (+)", "add"), ("Tensor.view", "view")."""
    name = getattr(func, "__name__", None) or type(func).__name__
    short = name[2:-2] if name.startswith("__") and name.endswith("__") else name
    module = getattr(func, "__module__", None) or ""
    if module.startswith("torch.nn.functional"):
        return f"F.{name}", short
    if module.startswith("torch") and not module.startswith("torch._tensor"):
        return f"torch.{name}", short
    qualname = getattr(func, "__qualname__", "")
    if qualname.startswith(("TensorBase.", "Tensor.")):
        symbol = _OPERATORS.get(short)
        return (f"{short} ({symbol})" if symbol else f"Tensor.{short}"), short
    return (f"{module}.{name}" if module else name), short


@functools.cache
def _recorder_class() -> Any:
    """The TorchFunctionMode subclass, made on first use (torch is imported lazily)."""
    from torch.overrides import TorchFunctionMode

    class _Recorder(TorchFunctionMode):
        def __init__(self, owner: _Collector) -> None:
            super().__init__()
            self.owner = owner

        def __torch_function__(
            self,
            func: Any,
            types: Any,
            args: tuple[Any, ...] = (),
            kwargs: dict[str, Any] | None = None,
        ) -> Any:
            kwargs = kwargs or {}
            if self.owner.wants(func):
                return self.owner.record_call(func, args, kwargs)
            return func(*args, **kwargs)

    return _Recorder


# ------------------------------------------------------------------ public


def collect_tree(
    model: nn.Module,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    functional: bool,
    inits: dict[str, str] | None = None,
    init_args: dict[str, dict[str, Any]] | None = None,
) -> tuple[list[LayerRow], Memory]:
    """One forward pass (eval mode, no grad) with hooks on every module: rows at full depth.

    The model is left as found: hooks removed, every submodule's train/eval mode
    restored, nothing moved, ``requires_grad`` untouched. A forward that raises
    becomes :class:`ForwardFailed` naming the innermost module that was running.
    Each row's ``macs``/``flops`` are the compute it measured itself (see
    :class:`Compute`).
    """
    rows, memory, _compute = _collect(model, args, kwargs, functional, inits, init_args)
    return rows, memory


@dataclass
class Compute:
    """The measured compute of one pass: aten ops counted by ``torch.utils.flop_counter``.

    ``flops`` is the whole pass; the rows' flops add up to it, except ``unattributed``:
    flops of ops run directly in the model's own forward when it has no row (and the
    functional calls were not recorded). ``hand_counted`` names the fused attention
    kernels (CPU builds) whose products flop_counter has no formula for and that were
    counted by the hand formula instead.
    """

    flops: int
    unattributed: int
    hand_counted: list[str]
    scripted: list[str] = field(default_factory=list)  # TorchScript modules, outermost

    @property
    def macs(self) -> int:
        return self.flops // 2


def _attention_flops(q: Any, k: Any, v: Any) -> int:
    """Scaled-dot-product attention's two products, QKᵀ and AV, as flops.

    ``q`` (..., L, E), ``k`` (..., S, E), ``v`` (..., S, Ev): 2·N·L·S·E + 2·N·L·S·Ev with N
    the product of the leading sizes (batch × heads); the same formula as
    flop_counter's own ``sdpa_flop_count`` (which only takes 4-d shapes).
    """
    batch = math.prod(q[:-2]) if len(q) > 2 else 1
    length, source, embed, value = q[-2], k[-2], q[-1], v[-1]
    return 2 * batch * length * source * embed + 2 * batch * length * source * value


def _flop_counter(hand_counted: list[str]) -> Any:
    """A FlopCounterMode with formulas for the CPU's fused attention kernels.

    On the meta device scaled-dot-product attention decomposes into bmm, which
    flop_counter counts; on a CPU build it runs ``_scaled_dot_product_flash_attention_for_cpu``
    and, for ``nn.MultiheadAttention`` in eval mode, ``_native_multi_head_attention``, for
    which torch 2.13 has no formula (they would count 0). These formulas count what the
    meta path counts.
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    aten = torch.ops.aten

    def cpu_attention(q: Any, k: Any, v: Any, *_: Any, **__: Any) -> int:
        hand_counted.append("scaled_dot_product_attention")
        return _attention_flops(q, k, v)

    def native_mha(q: Any, k: Any, v: Any, embed: int, heads: int, *_: Any, **__: Any) -> int:
        # (B, L, E) inputs, or unbatched (L, E): in-projections of q, k and v, the
        # attention's two products per head, and the output projection.
        batch = math.prod(q[:-2]) if len(q) > 2 else 1
        length, source = q[-2], k[-2]
        projections = 2 * batch * embed * embed * (2 * length + 2 * source)
        head = embed // heads
        attention = _attention_flops(
            [batch, heads, length, head], [batch, heads, source, head], [source, head]
        )
        hand_counted.append("nn.MultiheadAttention (fused)")
        return projections + attention

    mapping = {
        aten._scaled_dot_product_flash_attention_for_cpu: cpu_attention,
        aten._native_multi_head_attention: native_mha,
    }
    return FlopCounterMode(display=False, custom_mapping=mapping)


def _formula_flops(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
    """The flops aten would count for a call that never reached aten.

    On meta, :mod:`nncli.core.model.user.metashapes` answers ``F.conv1d/2d/3d``,
    ``F.linear`` and ``F.scaled_dot_product_attention`` by arithmetic, so no aten op
    runs for flop_counter to see. This gives what their aten ops count: the
    convolution by flop_counter's own public ``conv_flop_count``; linear as its
    addmm/mm, 2 × rows × in × out; attention as the math path's two bmm.
    """
    import torch
    import torch.nn.functional as F
    from torch.utils.flop_counter import conv_flop_count

    if not isinstance(out, torch.Tensor):
        return 0
    x: Any = args[0] if args else kwargs.get("input")
    if func in (F.conv1d, F.conv2d, F.conv3d):
        w: Any = args[1] if len(args) > 1 else kwargs.get("weight")
        xs, os_ = list(x.shape), list(out.shape)
        if len(xs) == w.dim() - 1:  # unbatched: aten sees a batch of one
            xs, os_ = [1, *xs], [1, *os_]
        return int(conv_flop_count(xs, list(w.shape), os_))
    if func is F.linear:
        w = args[1] if len(args) > 1 else kwargs.get("weight")
        rows = math.prod(x.shape[:-1]) if x.dim() > 1 else 1
        out_features = w.shape[0] if w.dim() == 2 else 1
        return 2 * rows * x.shape[-1] * out_features
    if func is F.scaled_dot_product_attention:
        found: list[Any] = [*args[:3], *(kwargs.get(n) for n in ("query", "key", "value"))]
        q, k, v = [t for t in found if t is not None][:3]
        return _attention_flops(list(q.shape), list(k.shape), list(v.shape))
    return 0


# Torch functions whose aten ops flop_counter counts (mm, bmm, addmm, baddbmm,
# convolution, attention): a call of one of these runs inside a FlopCounterMode.
_MEASURED = frozenset(
    {
        "matmul",
        "__matmul__",
        "__rmatmul__",
        "__imatmul__",
        "mm",
        "bmm",
        "addmm",
        "addmm_",
        "baddbmm",
        "baddbmm_",
        "addbmm",
        "einsum",
        "tensordot",
        "inner",
        "chain_matmul",
        "multi_dot",
        "bilinear",
        "conv_transpose1d",
        "conv_transpose2d",
        "conv_transpose3d",
        "multi_head_attention_forward",
        "_native_multi_head_attention",
    }
)


@functools.cache
def _compute_mode_class() -> Any:
    """The TorchFunctionMode that counts the compute of a forward pass.

    ``F.conv1d/2d/3d``, ``F.linear`` and ``F.scaled_dot_product_attention`` are counted
    by the flops their aten ops count (:func:`_formula_flops`): on meta,
    :mod:`nncli.core.model.user.metashapes` answers them without any aten op. Every
    other call that can reach a matrix product (``_MEASURED``: ``@``, ``torch.einsum``,
    ``torch.addmm``, multi-head attention ...) runs inside ``torch.utils.flop_counter``'s
    FlopCounterMode, which counts the aten ops it dispatches. Only those calls: a
    dispatch mode's first op imports ``torch._dynamo`` (about 1 s), which a ResNet's
    summary never needs.
    """
    import torch.nn.functional as F
    from torch.overrides import TorchFunctionMode

    formulas = frozenset({F.conv1d, F.conv2d, F.conv3d, F.linear, F.scaled_dot_product_attention})

    class _Compute(TorchFunctionMode):
        def __init__(self, owner: _Collector, counter: Any) -> None:
            super().__init__()
            self.owner = owner
            self.counter = counter

        def __torch_function__(
            self,
            func: Any,
            types: Any,
            args: tuple[Any, ...] = (),
            kwargs: dict[str, Any] | None = None,
        ) -> Any:
            kwargs = kwargs or {}
            if func in formulas:
                result = func(*args, **kwargs)
                self.owner.flops += _formula_flops(func, args, kwargs, result)
            elif getattr(func, "__name__", "") in _MEASURED:
                with self.counter:  # entering clears its counts
                    result = func(*args, **kwargs)
                self.owner.flops += int(self.counter.get_total_flops())
            else:
                result = func(*args, **kwargs)
            # nncli draw: an op with no row passes its arguments' producers on. Here,
            # not in a mode of its own: one more mode would slow every op of the pass.
            if self.owner.tracer is not None:
                self.owner.tracer.passthrough(args, kwargs, result)
            return result

    return _Compute


def _collect(
    model: nn.Module,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    functional: bool,
    inits: dict[str, str] | None,
    init_args: dict[str, dict[str, Any]] | None,
    tracer: Any = None,
) -> tuple[list[LayerRow], Memory, Compute]:
    import torch

    ledger = Ledger(inits, init_args)
    ledger.measured = True
    collector = _Collector(model, ledger)
    if tracer is not None:  # nncli draw: the edges of the data flow (core/model/flow.py)
        tracer.start(collector, args, kwargs)
        collector.tracer = tracer
    hand_counted: list[str] = []
    collector.measure = True
    counter = _flop_counter(hand_counted)
    handles = []
    try:
        with Locator(model, args, kwargs) as locator, eval_mode(model):
            opaque = scripted_modules(model)
            for module in model.modules():
                if id(module) in opaque:
                    continue  # TorchScript takes no hooks: summarised from the outside
                handles.append(
                    module.register_forward_pre_hook(collector.pre_hook, with_kwargs=True)
                )
                handles.append(module.register_forward_hook(collector.hook, with_kwargs=True))
            # Inside TorchScript every op would look like a call in its caller's forward.
            record = functional and not opaque
            mode = _recorder_class()(collector) if record else contextlib.nullcontext()
            try:
                compute = _compute_mode_class()(collector, counter)
                with torch.no_grad(), compute, mode:
                    model(*args, **kwargs)
            except Exception as exc:
                raise locator.failure(exc, *(collector.failed_call or (None, None))) from exc
    finally:
        for handle in handles:
            handle.remove()
    collector.absorb_uncalled()
    compute = Compute(
        flops=collector.flops_now(),
        unattributed=collector.unattributed,
        hand_counted=sorted(set(hand_counted)),
        scripted=scripted_names(model),
    )
    memory = _memory(model, args, kwargs, collector.activations)
    return collector.ledger.rows, memory, compute


def _memory(
    model: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], activations: int
) -> Memory:
    return Memory(
        input=tensor_bytes(list(args)) + tensor_bytes(kwargs),
        activations=activations,
        params=unique_bytes(model.parameters()),
        buffers=unique_bytes(model.buffers()),
    )


def fold(rows: list[LayerRow], depth: int) -> list[LayerRow]:
    """Rows down to ``depth``; deeper rows are added into their ancestor at ``depth``.

    The ancestor's params, buffers and mult-adds include theirs and ``folded`` counts
    them, so the sums over rows are unchanged. Rows are renumbered 1..n and parents
    remapped. The input rows are not modified.
    """
    if depth < 1:
        raise ValueError(f"depth must be at least 1, got {depth}")
    kept: list[LayerRow] = []
    owner: dict[int, LayerRow] = {}  # old index -> the kept row that holds it
    renumber: dict[int, int] = {}
    group_names: dict[int, set[str]] = {}  # id(kept row) -> module names folded in
    for row in rows:
        if row.depth <= depth:
            new = replace(row, init_args=dict(row.init_args))
            kept.append(new)
            renumber[row.index] = len(kept)
            owner[row.index] = new
            group_names[id(new)] = {row.name}
            continue
        if row.parent is None:
            raise ValueError(f"row {row.index} at depth {row.depth} has no parent")
        holder = owner[row.parent]
        owner[row.index] = holder
        _fold_into(holder, row, group_names[id(holder)])
    for new in kept:
        new.index = renumber[new.index]
        new.parent = renumber[new.parent] if new.parent is not None else None
    return kept


def _fold_into(holder: LayerRow, row: LayerRow, names: set[str]) -> None:
    holder.params += row.params
    holder.buffers += row.buffers
    holder.mult_adds += row.mult_adds
    if row.macs is not None:
        holder.macs = (holder.macs or 0) + row.macs
        holder.flops = (holder.flops or 0) + (row.flops or 0)
    holder.folded += 1 + row.folded
    if row.params:
        holder.param_formula = f"{holder.params:,}"
    if row.trainable is not None:
        holder.trainable = (
            row.trainable if holder.trainable is None else holder.trainable or row.trainable
        )
    # A module called again inside the same folded row shares nothing with other rows.
    if row.shared and (row.kind != "module" or row.name not in names):
        holder.shared = True
    if row.kind == "module":
        names.add(row.name)


def describe_inputs(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[dict[str, Any]]:
    """Every input tensor's name (None when positional), shape and dtype."""
    found: list[dict[str, Any]] = []
    for value in args:
        _describe(None, value, found)
    for key, value in kwargs.items():
        _describe(key, value, found)
    return found


def _describe(name: str | None, value: Any, found: list[dict[str, Any]]) -> None:
    import torch

    if isinstance(value, torch.Tensor):
        dtype = str(value.dtype).removeprefix("torch.")
        found.append({"name": name, "shape": list(value.shape), "dtype": dtype})
    elif isinstance(value, dict):
        for key, item in value.items():
            _describe(str(key), item, found)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _describe(name, item, found)


def summarize_module(
    model: nn.Module,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    device: str,
    depth: int,
    functional: bool,
    name: str,
    source: str,
    model_spec: str | None = None,
    inits: dict[str, str] | None = None,
    init_args: dict[str, dict[str, Any]] | None = None,
    tracer: Any = None,
) -> SummaryResult:
    """Summarise any module on the given inputs: the tree folded to ``depth``, and totals.

    ``tracer`` (``nncli draw``): a :class:`nncli.core.model.flow.FlowTracer` that records
    during the same pass which row's output each row consumed."""
    rows, memory, compute = _collect(model, args, kwargs, functional, inits, init_args, tracer)
    params = list({id(p): p for p in model.parameters()}.values())
    total = sum(p.numel() for p in params)
    trainable = sum(p.numel() for p in params if p.requires_grad)
    inputs = describe_inputs(args, kwargs)
    return SummaryResult(
        model_name=name,
        source=source,
        device=device,
        built_on=_built_on(model, args, kwargs),
        input_shape=list(inputs[0]["shape"]) if inputs else [],
        layers=fold(rows, depth),
        total_params=total,
        trainable_params=trainable,
        non_trainable_params=total - trainable,
        mult_adds=sum(r.mult_adds for r in rows),
        memory=memory,
        mult_adds_rule=MULT_ADDS_RULE,
        depth=depth,
        buffers=sum(b.numel() for b in {id(b): b for b in model.buffers()}.values()),
        inputs=inputs,
        model_spec=model_spec,
        macs=compute.macs,
        flops=compute.flops,
        extras={"notes": compute_notes(compute)} if compute_notes(compute) else {},
    )


def scripted_modules(model: nn.Module) -> set[int]:
    """Ids of the TorchScript modules in ``model`` and of everything below them."""
    import torch

    found: set[int] = set()
    for module in model.modules():
        if isinstance(module, torch.jit.ScriptModule):
            found.update(id(m) for m in module.modules())
    return found


def scripted_names(model: nn.Module) -> list[str]:
    """The outermost TorchScript modules' names ("" for the model itself)."""
    import torch

    names: list[str] = []
    for name, module in model.named_modules():
        if isinstance(module, torch.jit.ScriptModule) and not any(
            name == n or name.startswith(f"{n}.") or n == "" for n in names
        ):
            names.append(name)
    return names


def compute_notes(compute: Compute) -> list[str]:
    """What the measured MACs column cannot show by itself."""
    notes = []
    if compute.scripted:
        which = ", ".join(n or "the model" for n in compute.scripted)
        notes.append(
            f"TorchScript ({which}) takes no hooks: it runs as one opaque call, so its "
            "layers are listed with their parameters but without shapes or torchinfo-rule "
            "mult-adds; its measured MACs are in the total, and no function rows are "
            "recorded"
        )
    if compute.hand_counted:
        kernels = ", ".join(compute.hand_counted)
        notes.append(
            f"MACs (measured): {kernels} ran as a fused CPU kernel that torch's flop "
            "counter does not count; its products (QKᵀ and AV, 2·B·H·L·S·(E + Ev) FLOPs, "
            "and a fused layer's projections) were counted by hand, as on the meta device"
        )
    if compute.unattributed:
        notes.append(
            f"MACs (measured): {compute.unattributed // 2:,} MACs ran directly in the "
            "model's own forward and are in the total, not in a row (--functional shows them)"
        )
    return notes


def _built_on(model: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """The device type of the weights, else of the first input tensor, else cpu."""
    import torch

    for param in model.parameters():
        return param.device.type
    for buffer in model.buffers():
        return buffer.device.type
    stack: list[Any] = [*args, *kwargs.values()]
    while stack:
        value = stack.pop(0)
        if isinstance(value, torch.Tensor):
            return value.device.type
        if isinstance(value, dict):
            stack[:0] = list(value.values())
        elif isinstance(value, (list, tuple)):
            stack[:0] = list(value)
    return "cpu"
