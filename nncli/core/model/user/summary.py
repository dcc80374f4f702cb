"""``summary --model``: the user's own module, built and run on meta, or for real.

By default the model is built under ``torch.device("meta")`` and run on meta
tensors, so nothing is allocated whatever its size. Where its constructor or
forward does not run on meta tensors, it is built for real on the selected
device, after a memory check, and the result says why (``fallback``). Every call
of the user's code goes through :mod:`nncli.core.model.user.call`.

The meta forward runs torch's Python meta kernels, whose first use imports
``torch._dynamo`` and sympy (about 1 s, once per process). Nothing here stands in
for them: a library the user's code imports must get the real modules.
"""

from __future__ import annotations

import contextlib
import re
from typing import TYPE_CHECKING, Any

from nncli.core.memory import ensure_fits, format_bytes
from nncli.core.model.user.call import (
    COMPILED_NOTE,
    MetaUnsupported,
    brief,
    buffer_copies,
    build_module,
    call_with,
    compiled_original,
    forward,
    forward_hint,
    meta_copies,
    module_device,
    uncompiled,
    weight_bytes,
)
from nncli.core.model.user.request import ModelRequest, Prepared, prepare
from nncli.errors import NncliError, RuntimeFailure

if TYPE_CHECKING:
    import traceback
    from collections.abc import Iterator

    from torch import nn

    from nncli.core.model.results import SummaryResult

# A real build (the fallback) holds the weights, buffers and inputs, plus the
# activations of the forward pass: estimated as a quarter of that, plus 64 MiB.
FALLBACK_MARGIN_FRACTION = 4
FALLBACK_MARGIN_BYTES = 64 * 1024**2


def summarize_target(
    request: ModelRequest, *, depth: int, functional: bool | None, tracer: Any = None
) -> SummaryResult:
    """The summary of SPEC's model: built and run on meta, or for real when it must be.

    1. resolve SPEC, parse --model-kwargs and the inputs (all before running anything
       but the import);
    2. build on meta (nothing allocated) and run the tree's forward pass on meta
       inputs; a constructor that fails on meta is built for real instead;
    3. a forward pass that does not run on meta tensors (``NotImplementedError`` or a
       message about meta, e.g. ``Tensor.item()``) falls back to a real, seeded build
       on ``device`` after a memory check; ``fallback`` says why;
    4. a forward pass that fails otherwise is a usage error naming the layer and the
       shapes it got.

    Every call of the user's code goes through :mod:`nncli.core.model.user.call`: its
    output goes to stderr, and the model is built once (twice only for the fallback,
    which needs real weights). An instance is summarised with meta copies of its
    parameters and buffers in place of its own (``torch.func.functional_call``), so it
    is left exactly as found.

    ``tracer`` (``nncli draw``): see :func:`nncli.core.model.hooks.summarize_module`; it
    records the pass that gave the result (a fallback's real pass restarts it).
    """
    prepared = prepare(request)
    run = _Run(prepared, depth, functional)
    run.tracer = tracer
    result = run.summarize()
    target, batch = prepared.target, request.batch
    result.model_name = target.name
    result.source = request.spec
    result.model_spec = request.spec
    result.depth = depth
    result.fallback = run.fallback
    result.inputs = [s.describe(batch) for s in run.specs]
    result.input_shape = list(run.specs[0].full_shape(batch)) if run.specs else []
    if run.built_on is not None:
        result.built_on = run.built_on
    notes = [f"input shape inferred from {s.inferred_from}" for s in run.specs if s.inferred_from]
    notes += run.notes + _model_notes(run.model, on_meta=run.built_on == "meta")
    if notes:
        result.extras.setdefault("notes", []).extend(notes)
    return result


class _Run:
    """One summary of a target: the options, and what happened (fallback, built_on)."""

    def __init__(self, prepared: Prepared, depth: int, functional: bool | None) -> None:
        self.request = prepared.request
        self.target = prepared.target
        self.kwargs = prepared.kwargs
        self.specs = prepared.specs
        self.depth = depth
        self.functional = functional if functional is not None else depth >= 3
        self.fallback: str | None = None
        self.built_on: str | None = None
        self.notes: list[str] = []  # what the build noticed (a torch.compile'd model)
        self.model: nn.Module | None = None  # the module summarised
        self.tracer: Any = None  # nncli draw's data-flow tracer, passed to the pass

    def summarize(self) -> SummaryResult:
        if self.target.kind == "instance":
            original = compiled_original(self.target.obj)
            if original is not None:
                self.notes.append(COMPILED_NOTE)
            return self._instance(uncompiled(self.target.obj))
        try:
            model = build_module(
                self.target, self.kwargs, meta=True, device="meta", seed=None, notes=self.notes
            )
        except NncliError:
            raise
        except Exception as exc:  # the user's constructor: judged by the real build
            self.fallback = f"the constructor does not run on the meta device: {brief(exc)}"
            return self._real(None)
        self._infer(model)
        args, kw = self._inputs("meta", model)
        try:
            self.built_on = "meta"
            return self._summarize(model, args, kw, meta=True)
        except MetaUnsupported as exc:
            self.fallback = _meta_stopped(exc.cause, self._masks())
            return self._real(model)

    def _infer(self, model: nn.Module) -> None:
        from nncli.core.model.user.inputs import infer_inputs

        if not self.specs:
            self.specs = infer_inputs(model, list(self.request.dtypes))

    def _inputs(self, device: str, model: nn.Module) -> tuple[tuple[Any, ...], dict[str, Any]]:
        from nncli.core.model.user.inputs import make_inputs

        request = self.request
        return make_inputs(
            self.specs,
            request.batch,
            device=device,
            vocab=request.vocab,
            seed=request.seed,
            model=model,
        )

    def _summarize(
        self,
        model: nn.Module,
        args: tuple[Any, ...],
        kw: dict[str, Any],
        *,
        meta: bool,
        state: dict[str, Any] | None = None,
    ) -> SummaryResult:
        """hooks.summarize_module through the guarded forward; ``state``: the tensors used
        in place of an instance's own (see :func:`call.call_with`)."""
        from nncli.core.model.hooks import summarize_module

        self.model = model

        def summary() -> SummaryResult:
            return summarize_module(
                model,
                args,
                kw,
                device=self.request.device,
                depth=self.depth,
                functional=self.functional,
                name=self.target.name,
                source=self.target.spec,
                model_spec=self.target.spec,
                tracer=self.tracer,
            )

        return forward(
            model,
            args,
            kw,
            name=self.target.name,
            hint=self._forward_hint,
            meta=meta,
            call=summary if state is None else lambda: call_with(model, state, summary),
        )

    def _forward_hint(self, module_type: str | None) -> str:
        """What to check: the inferred size, token ids' dtype, or the inputs' names."""
        return forward_hint(self.target, self.specs, module_type)

    def _real(self, meta_model: nn.Module | None) -> SummaryResult:
        """The fallback: a seeded real build on the device, after a memory check."""
        from nncli.core.model.user.inputs import input_bytes

        request = self.request
        if meta_model is not None:
            self._infer(meta_model)
            weights = weight_bytes(meta_model)
        else:
            weights = 0  # unknown: the constructor did not run on meta
        inputs = input_bytes(self.specs, request.batch) if self.specs else 0
        needed = weights + inputs
        margin = needed // FALLBACK_MARGIN_FRACTION + FALLBACK_MARGIN_BYTES
        what = (
            f"a real build ({format_bytes(weights)} of weights and buffers, the inputs and "
            "activations)"
            if meta_model is not None
            else "a real build (the inputs and activations; the weights' size is unknown)"
        )
        with self._refusal():
            ensure_fits(needed + margin, "cpu", what)  # built on the CPU, then moved
            if request.device != "cpu":
                ensure_fits(needed + margin, request.device, what)
        model = build_module(
            self.target,
            self.kwargs,
            meta=False,
            device=request.device,
            seed=request.seed,
            reserve=inputs + margin,
            what="a real build (its weights and buffers, the inputs and activations)",
            notes=self.notes,
        )
        self._infer(model)
        self.built_on = request.device
        args, kw = self._inputs(request.device, model)
        return self._summarize(model, args, kw, meta=False)

    def _masks(self) -> list[str]:
        """The inputs named like an attention mask."""
        return [s.name for s in self.specs if s.name and "mask" in s.name.lower()]

    @contextlib.contextmanager
    def _refusal(self) -> Iterator[None]:
        """A real build refused for memory says why it was needed (the fallback)."""
        try:
            yield
        except RuntimeFailure as exc:
            if self.fallback is None:
                raise
            raise RuntimeFailure(f"{exc}. It was needed because {self.fallback}") from exc

    def _instance(self, model: nn.Module) -> SummaryResult:
        """An instance: meta copies in place of its tensors for the pass; for real on its
        own device (buffers copied, so a forward cannot change them) if meta fails."""
        from nncli.core.model.user.inputs import input_bytes

        self._infer(model)
        args, kw = self._inputs("meta", model)
        try:
            self.built_on = "meta"
            return self._summarize(model, args, kw, meta=True, state=meta_copies(model))
        except MetaUnsupported as exc:
            self.fallback = _meta_stopped(exc.cause, self._masks())
        where = module_device(model)
        needed = input_bytes(self.specs, self.request.batch) + weight_bytes(
            model, buffers_only=True
        )
        needed += needed // FALLBACK_MARGIN_FRACTION + FALLBACK_MARGIN_BYTES
        with self._refusal():
            ensure_fits(needed, where, "running the instance for real (its inputs and activations)")
        self.built_on = where
        self.fallback = f"{self.fallback}; run on its own device ({where})"
        args, kw = self._inputs(where, model)
        return self._summarize(model, args, kw, meta=False, state=buffer_copies(model))


# --- what the meta pass may hide ------------------------------------------------------

# A forward that branches on where its input is: x.device.type, x.is_cuda, x.device == ...
# (x.device used only to place a tensor is no branch).
_DEVICE_BRANCH = re.compile(
    r"\.is_(?:cuda|cpu|mps|xpu|meta)\b|\bdevice\.type\b|\.device\s*(?:[!=]=|\bin\b|\bis\b)"
    r"|(?:[!=]=|\bin\b|\bis\b)\s*[\w.]*\.device\b"
)

DEVICE_BRANCH_NOTE = (
    "the forward of {where} reads the input's device ({what}); on the meta device it may "
    "take another branch than on the CPU, so shapes and counts may differ from a real run "
    "(nncli has no option to force a real build: run the model on the CPU to compare)"
)


def _model_notes(model: nn.Module | None, *, on_meta: bool) -> list[str]:
    """Pruning masks, and a forward that branches on the device when the pass ran on meta."""
    from nncli.core.model.hooks import pruning_note

    if model is None:
        return []
    notes = [note] if (note := pruning_note(model)) else []
    if on_meta and (branch := _device_branch(model)):
        notes.append(DEVICE_BRANCH_NOTE.format(where=branch[0], what=branch[1]))
    return notes


def _device_branch(model: nn.Module) -> tuple[str, str] | None:
    """(the class, the code) of the first of the model's own forwards (torch's are skipped)
    whose source reads the input's device in a test; read with inspect, nothing run."""
    import inspect

    seen: set[type] = set()
    for module in model.modules():
        cls = type(module)
        if cls in seen or cls.__module__.split(".")[0] == "torch":
            continue
        seen.add(cls)
        try:
            source = inspect.getsource(cls.forward)
        except (OSError, TypeError):  # no source: built in, or made at run time
            continue
        if found := _DEVICE_BRANCH.search(source):
            return cls.__name__, found.group(0).strip()
    return None


def _meta_stopped(cause: BaseException, masks: list[str]) -> str:
    """The fallback's reason, naming the call that stopped the meta pass and where:
    "forward does not run on meta tensors: Tensor.item() in model.py:12 (<message>)";
    an ``.item()`` with a mask among the inputs (``masks``: Hugging Face's attention-mask
    handling reads its values) suggests leaving the mask out."""
    import traceback

    reason = f"forward does not run on meta tensors: {brief(cause)}"
    frame = _user_frame(traceback.extract_tb(cause.__traceback__))
    if frame is None:
        return reason
    named = re.search(r"\b(Tensor\.\w+\(\))", str(cause))
    call = named.group(1) if named else (frame.line or "a call").strip()
    where = f"{_short(frame.filename)}:{frame.lineno}"
    reason = f"forward does not run on meta tensors: {call} in {where} ({brief(cause)})"
    if call == "Tensor.item()" and masks:
        reason += (
            f"; the mask handling reads a value: leave {', '.join(masks)} out "
            "(give only the input ids) to keep the pass on the meta device"
        )
    return reason


def _user_frame(frames: traceback.StackSummary) -> traceback.FrameSummary | None:
    """The last frame of the traceback in neither torch nor nncli: the user's call."""
    import os

    import torch

    import nncli

    skipped = tuple(
        os.path.dirname(os.path.abspath(m.__file__ or "")) + os.sep for m in (torch, nncli)
    )
    own = [f for f in frames if not os.path.abspath(f.filename).startswith(skipped)]
    return own[-1] if own else None


def _short(path: str) -> str:
    """A path relative to the working directory where it is under it, else its name."""
    import os

    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive
        return os.path.basename(path)
    return os.path.basename(path) if relative.startswith("..") else relative
