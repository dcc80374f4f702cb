"""Keep a meta-device build and forward pass fast: no ``torch._dynamo`` import.

Why this exists (measured on torch 2.13, CPU): building a module under
``torch.device("meta")`` and running its forward pass on meta tensors costs
almost nothing in itself, but the first time one of torch's *Python* meta
kernels runs, it ``import torch._dynamo`` (about 0.8 s and tens of MB, once per
process). Those kernels (the random in-place inits such as ``normal_`` and
``uniform_``, and decompositions such as ``add``, ``relu``, ``batch_norm``,
``cat`` and ``mean``) are wrapped by ``torch._compile._disable_dynamo``, whose
wrapper imports dynamo only to call ``torch._dynamo.disable(fn)``, a no-op
outside ``torch.compile``, and caches the result on ``fn.__dynamo_disable``. For
``summary --model`` that import was most of the run time.

Two remedies, both undone on exit:

- :func:`skip_init_on_meta`: while a module is *built* on meta, its in-place
  init and random fills have nothing to fill, so they return the tensor as is.
- :func:`fast_meta`: a stand-in ``torch._dynamo`` whose ``disable`` returns the
  function unchanged, so the wrapped kernels run without the import.

:func:`run_meta` runs a function under :func:`fast_meta` and, if it raises after
something asked the stand-in for more than ``disable``, once more without it, so a
result never depends on the stand-in.
- :func:`fast_meta` also stands in for ``torch.fx.experimental.symbolic_shapes``,
  which ``torch._check`` and the shape checks of meta kernels import for
  ``expect_true``, ``guard_or_false``, ``sym_and`` and a few more (about 0.33 s,
  most of it sympy). Those helpers reason about *symbolic* sizes under
  ``torch.compile``; a meta pass has only plain ints and bools, for which each is a
  one-line identity or boolean operation. Given anything else (a SymInt), the
  stand-in's helpers hand over to the real module, importing it once the stand-in
  has gone, or count as a miss (so :func:`run_meta` retries) while it is active.
  Likewise for ``sympy`` itself (about 0.3 s to import), which the Python refs'
  type promotion imports only for ``isinstance(x, sympy.Basic)``: the stand-in's
  classes have no instances, and any other name it is asked for is a miss.

The stand-in is process-global while active: use it from one thread at a time.
"""

from __future__ import annotations

import functools
import operator
import sys
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")

DYNAMO = "torch._dynamo"
SYMBOLIC_SHAPES = "torch.fx.experimental.symbolic_shapes"
SYMPY = "sympy"
# What torch 2.13's elementwise type promotion (torch._prims_common.elementwise_dtypes,
# run by every Python ref such as add, mean or batch_norm's decomposition) asks of sympy:
# ``isinstance(x, sympy.Basic)``. No meta tensor or Python number is a sympy object.
_SYMPY_CLASSES = ("Basic", "Expr", "Symbol", "Integer", "Float", "Rational", "Number")
# The attribute torch._compile._disable_dynamo caches its wrapped function under.
CACHE_ATTR = "__dynamo_disable"

# In-place methods that change a tensor's shape, strides or flags, not only its
# values: they must still run on meta, so that shapes and requires_grad stay true.
_NOT_SKIPPED = frozenset(
    {
        "requires_grad_",
        "resize_",
        "resize_as_",
        "set_",
        "as_strided_",
        "squeeze_",
        "unsqueeze_",
        "t_",
        "transpose_",
        "swapdims_",
        "swapaxes_",
        "detach_",
        "share_memory_",
        "rename_",
        "refine_names_",
        "align_to_",
        "retain_grad_",
        "sparse_resize_",
        "sparse_resize_and_clear_",
    }
)


def _is_fill(func: Callable[..., Any]) -> bool:
    """An op that only writes values in place: ``Tensor.normal_``, ``nn.init.kaiming_uniform_``,
    ``Tensor.copy_``, ``Tensor.__setitem__``, ``Tensor.mul_`` ...; not private ops, nor
    dunders such as ``__iadd__`` (rare in a constructor; their kernels still run, under
    :func:`fast_meta`). Skipping also skips the op's own checks (a ``copy_`` from a
    tensor of the wrong shape): on meta a value-only op cannot change what is summarised."""
    name = getattr(func, "__name__", "")
    if name == "__setitem__":
        return True
    return name.endswith("_") and not name.startswith("_") and name not in _NOT_SKIPPED


def _target(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The tensor an in-place op writes to: ``self`` for a method, ``tensor`` for nn.init."""
    if args:
        return args[0]
    for key in ("tensor", "self", "input"):
        if key in kwargs:
            return kwargs[key]
    return None


@contextmanager
def skip_init_on_meta() -> Iterator[None]:
    """While active, in-place fills of meta tensors (init, random, copy) return the tensor.

    A meta tensor has no values, so ``normal_`` and friends have nothing to do, but
    their meta kernels are Python functions whose first call imports torch._dynamo
    (about 0.8 s). Only ops whose target is a meta tensor are skipped; anything on a
    real tensor runs as usual. Use it while building a module, not during forward
    (where an in-place op's broadcasting errors should still be raised).
    """
    import torch
    from torch.overrides import TorchFunctionMode

    class SkipInitOnMeta(TorchFunctionMode):
        def __torch_function__(
            self,
            func: Callable[..., Any],
            types: Any,
            args: tuple[Any, ...] = (),
            kwargs: dict[str, Any] | None = None,
        ) -> Any:
            kwargs = kwargs or {}
            if _is_fill(func):
                target = _target(args, kwargs)
                if isinstance(target, torch.Tensor) and target.is_meta:
                    # __setitem__ returns None, everything else its target
                    return None if func.__name__ == "__setitem__" else target
            return func(*args, **kwargs)

    with SkipInitOnMeta():
        yield


@dataclass
class StandIn:
    """What one :func:`fast_meta` block did: whether the stand-in was installed, the
    functions its ``disable`` returned unchanged, and every other name asked of it."""

    installed: bool = False
    wrapped: list[Callable[..., Any]] = field(default_factory=list)
    # Attributes the stand-in lacks (``config``, ``is_compiling``, a submodule's
    # ``__path__``): the code wanted the real torch._dynamo, so a failure may be ours.
    missed: list[str] = field(default_factory=list)


def _stand_in(record: StandIn) -> types.ModuleType:
    """A module with only ``disable``, recording what it wrapped and what it lacked."""
    module = types.ModuleType(DYNAMO, "nncli's stand-in for torch._dynamo (see metapass.py)")

    def disable(fn: Any = None, recursive: bool = True, **_: Any) -> Any:
        if fn is None:  # used as a decorator factory: @disable(recursive=False)
            return lambda f: disable(f, recursive)
        record.wrapped.append(fn)
        return fn

    module.disable = disable  # type: ignore[attr-defined]
    _miss_on_unknown(module, record, "")
    return module


def _miss_on_unknown(module: types.ModuleType, record: StandIn, prefix: str) -> None:
    """Any attribute a stand-in lacks is recorded as a miss (then run_meta retries
    without the stand-ins) and raises AttributeError, as the real module would not."""

    def missing(name: str) -> Any:  # PEP 562: called for any attribute not defined
        # Tools that scan sys.modules ask every module for __file__ and the like; only
        # __path__ (a submodule import) of the dunders means the real module was wanted.
        if not name.startswith("__") or name == "__path__":
            record.missed.append(prefix + name)
        raise AttributeError(f"nncli's stand-in for {module.__name__} has no {name!r}")

    module.__getattr__ = missing  # type: ignore[method-assign]


def _sym_eq(a: Any, b: Any) -> bool:
    """torch's sym_eq on plain values: a list equals a tuple of the same elements."""
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_sym_eq(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


# The helpers of symbolic_shapes that torch 2.13's meta kernels, refs and decompositions
# import, on plain values: (name, what it does with ints and bools).
_PLAIN: dict[str, Callable[..., Any]] = {
    "expect_true": lambda a, skip=0: a,
    "guard_or_false": lambda a: a,
    "guard_or_true": lambda a: a,
    "guard_bool": lambda a: a,
    "guard_int": lambda a: a,
    "guard_size_oblivious": lambda a: a,
    "statically_known_true": lambda a: a,
    "statically_known_false": lambda a: not a,
    "definitely_true": lambda a: a,
    "definitely_false": lambda a: not a,
    # torch's own: & and | without bool casting, == element by element
    "sym_and": lambda a, *more: functools.reduce(operator.and_, more, a),
    "sym_or": lambda a, *more: functools.reduce(operator.or_, more, a),
    "sym_eq": _sym_eq,
    "is_nested_int": lambda a: False,
    "is_concrete_int": lambda a: True,
    "is_concrete_bool": lambda a: True,
    "has_guarding_hint": lambda a: True,
    "guarding_hint_or_throw": lambda a: a,
    "has_free_symbols": lambda a: False,
    "free_unbacked_symbols": lambda a: set(),
    "_advise_is_size": lambda a: None,
    "_advise_is_bounded": lambda a, upper_bound: None,
    "_constrain_range_for_size": lambda a, min=None, max=None: None,
    "constrain_range": lambda a, *, min=None, max=None: None,
}


def _plain(value: Any) -> bool:
    """Ints, bools and (for sym_eq) lists and tuples of them: never a SymInt."""
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    return type(value) in (bool, int)


def _symbolic_stand_in(record: StandIn, active: list[bool]) -> types.ModuleType:
    """A module with :data:`_PLAIN`'s helpers. A helper given a symbolic value, or a name
    the stand-in lacks, is a miss while it is active; once it has gone (a torch module
    imported during the pass may keep a helper), the helper calls the real one."""
    module = types.ModuleType(
        SYMBOLIC_SHAPES, "nncli's stand-in for symbolic_shapes (see metapass.py)"
    )

    def helper(name: str, plain: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            if all(_plain(a) for a in args) and all(_plain(v) for v in kwargs.values()):
                return plain(*args, **kwargs)
            if active[0]:
                record.missed.append(f"symbolic_shapes.{name}")
                raise TypeError(f"nncli's stand-in for symbolic_shapes: symbolic {name}")
            import importlib

            real = importlib.import_module(SYMBOLIC_SHAPES)
            return getattr(real, name)(*args, **kwargs)

        call.__name__ = name
        return call

    for name, plain in _PLAIN.items():
        setattr(module, name, helper(name, plain))

    _miss_on_unknown(module, record, "symbolic_shapes.")
    return module


def _sympy_stand_in(record: StandIn) -> types.ModuleType:
    """``sympy`` with only classes that nothing is an instance of (see :data:`SYMPY`)."""
    module = types.ModuleType(SYMPY, "nncli's stand-in for sympy (see metapass.py)")
    for name in _SYMPY_CLASSES:
        setattr(module, name, type(name, (), {"__module__": SYMPY}))

    _miss_on_unknown(module, record, "sympy.")
    return module


@contextmanager
def _sympy(record: StandIn) -> Iterator[None]:
    """The sympy stand-in, unless sympy is already imported."""
    if SYMPY in sys.modules:
        yield
        return
    stand_in = _sympy_stand_in(record)
    sys.modules[SYMPY] = stand_in
    record.installed = True
    try:
        yield
    finally:
        if sys.modules.get(SYMPY) is stand_in:
            del sys.modules[SYMPY]


@contextmanager
def _symbolic_shapes(record: StandIn) -> Iterator[None]:
    """The symbolic_shapes stand-in, unless the real module is already imported."""
    if SYMBOLIC_SHAPES in sys.modules:
        yield
        return
    import torch.fx.experimental as parent

    active = [True]
    stand_in = _symbolic_stand_in(record, active)
    sys.modules[SYMBOLIC_SHAPES] = stand_in
    record.installed = True
    try:
        yield
    finally:
        active[0] = False
        if sys.modules.get(SYMBOLIC_SHAPES) is stand_in:
            del sys.modules[SYMBOLIC_SHAPES]
        if parent.__dict__.get("symbolic_shapes") is stand_in:
            del parent.symbolic_shapes


@contextmanager
def fast_meta() -> Iterator[StandIn]:
    """While active, torch's Python meta kernels run without importing dynamo or sympy.

    Installs a stand-in ``torch._dynamo`` (``disable(fn)`` returns ``fn``), a stand-in
    ``symbolic_shapes`` (its helpers on plain values) and a stand-in ``sympy`` (classes
    for isinstance checks), each unless the real one is
    already imported; on exit removes them from ``sys.modules`` and their packages and
    deletes every ``fn.__dynamo_disable`` cache it caused, so a later real import sees
    torch exactly as before.
    """
    record = StandIn()
    with _sympy(record), _symbolic_shapes(record), _dynamo_stand_in(record):
        yield record


@contextmanager
def _dynamo_stand_in(record: StandIn) -> Iterator[None]:
    """The torch._dynamo stand-in, unless the real module is already imported."""
    import torch

    if DYNAMO in sys.modules:  # already paid for: nothing to save
        yield
        return
    stand_in = _stand_in(record)
    sys.modules[DYNAMO] = stand_in
    # `import torch._dynamo` finds the module in sys.modules but then reads the
    # attribute from the torch package, whose lazy __getattr__ must not run.
    torch._dynamo = stand_in
    record.installed = True
    try:
        yield
    finally:
        if sys.modules.get(DYNAMO) is stand_in:
            del sys.modules[DYNAMO]
        if torch.__dict__.get("_dynamo") is stand_in:
            del torch._dynamo
        for fn in record.wrapped:
            if getattr(fn, CACHE_ATTR, None) is fn:
                with suppress(AttributeError, TypeError):  # a read-only object: nothing set
                    delattr(fn, CACHE_ATTR)


def run_meta(fn: Callable[[], T]) -> T:
    """``fn()`` under :func:`fast_meta`; if that raises, ``fn()`` once more without it.

    The retry makes the stand-in an optimisation only: code that needed more of
    torch._dynamo than ``disable`` gets the real module the second time, and an
    error the retry raises too is a real one and propagates. The retry is made only
    when the stand-in was asked for anything but ``disable``: otherwise the failure
    cannot be the stand-in's, and a retry would only add the 0.8 s import to every
    forward error and meta fallback.
    """
    with fast_meta() as record:
        try:
            return fn()
        except Exception:
            if not (record.installed and record.missed):
                raise
    return fn()
