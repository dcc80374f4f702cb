"""The one guarded call of the user's code (``--model``): import, construction, forward.

Every call of the user's code, for ``summary`` and ``run`` alike, goes through here:

- :func:`call_user`: the call itself (import, construction, forward, reading the output);
  ``sys.exit()``, a ``KeyboardInterrupt`` the code raises itself (a real Ctrl-C is told
  apart by a SIGINT handler and stays exit 130), a debugger that quits and any other
  ``BaseException`` become usage errors naming the call;
- :func:`user_output`: the user's ``print`` *and* raw writes to file descriptor 1 go to
  stderr for the duration, so stdout holds only nncli's own output (one JSON document
  with ``--json``); the import of SPEC is made under it too (:func:`request.prepare`);
- :func:`build_module`: the one construction, on meta (nothing allocated, init skipped)
  or for real (seeded on the CPU, under an allocation budget: see :class:`_Budget`);
- :func:`forward`: one forward pass in eval mode without gradients, every submodule's
  train/eval mode restored, a failure located (:class:`~nncli.core.model.hooks.Locator`)
  and reported alike by both commands (:func:`forward_error`).

And one of each helper the two commands share: where an instance lives
(:func:`module_device`), the bytes of its weights (:func:`weight_bytes`), the text of
shapes (:func:`shapes_text`), the parameters of an instance swapped for a pass with
``torch.func.functional_call`` (:func:`call_with`).
"""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout, suppress
from typing import TYPE_CHECKING, Any, TypeVar

from nncli.core.memory import available_bytes, ensure_fits
from nncli.core.model.user.target import (
    DEBUGGER_HINT,
    DEBUGGER_QUIT,
    Target,
    check_kwargs,
    debugger_quit,
    first_line,
    location,
    plain_signature,
    preimport,
    signature_text,
    user_path,
)
from nncli.errors import NncliError, RuntimeFailure, UsageError

if TYPE_CHECKING:
    import torch
    from torch import nn

    from nncli.core.model.hooks import ForwardFailed
    from nncli.core.model.user.inputs import InputSpec

T = TypeVar("T")

INPUT_HINT = "check --input-size (one sample's shape, without the batch) and --dtype"

# --- the user's output -----------------------------------------------------------------


def _flush(*streams: Any) -> None:
    for stream in streams:
        with suppress(Exception):  # a closed or detached stream: nothing to flush
            stream.flush()


@contextmanager
def user_output() -> Iterator[None]:
    """The user's prints and raw writes to fd 1 go to stderr for the block.

    ``print`` goes through ``sys.stdout`` (redirected to ``sys.stderr``); a C extension
    or ``os.write(1, ...)`` writes to file descriptor 1 itself, which is pointed at fd 2
    with ``dup2`` and restored afterwards, also when the block raises. Both streams are
    flushed first, so nothing already written changes place. Process-wide while active
    (file descriptors are): one thread at a time.
    """
    _flush(sys.stdout, sys.__stdout__, sys.stderr)
    saved: int | None = None
    with suppress(OSError):  # no fd 1 or 2 (a daemon): prints are still redirected
        saved = os.dup(1)
        try:
            os.dup2(2, 1)
        except OSError:
            os.close(saved)
            saved = None
    try:
        with redirect_stdout(sys.stderr):
            yield
    finally:
        _flush(sys.stdout, sys.__stdout__, sys.stderr)
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)


# --- the user's exits, interrupts and debugger ---------------------------------------------


class _Sigint:
    """Whether a real Ctrl-C (SIGINT) arrived while the user's code ran.

    ``mode``: "watched" (our handler records it), "ignored" (SIGINT is ignored, or this
    is not the main thread: no signal can raise there) or "unknown" (another handler
    is installed: a KeyboardInterrupt is then taken for a real Ctrl-C).
    """

    received = False
    mode = "unknown"
    depth = 0


def _on_sigint(signum: int, frame: Any) -> None:
    _Sigint.received = True
    raise KeyboardInterrupt


@contextmanager
def _watch_sigint() -> Iterator[None]:
    """Our SIGINT handler for the block (the outermost one installs it, and restores
    Python's default afterwards): Python's own, but it records that a signal came."""
    import signal
    import threading

    installed = False
    if _Sigint.depth == 0:
        _Sigint.received = False
        _Sigint.mode = "unknown"
        if threading.current_thread() is not threading.main_thread():
            _Sigint.mode = "ignored"
        else:
            with suppress(ValueError, OSError):  # an interpreter without signals
                current = signal.getsignal(signal.SIGINT)
                if current is signal.default_int_handler:
                    signal.signal(signal.SIGINT, _on_sigint)
                    installed = True
                    _Sigint.mode = "watched"
                elif current is signal.SIG_IGN:
                    _Sigint.mode = "ignored"
    _Sigint.depth += 1
    try:
        yield
    finally:
        _Sigint.depth -= 1
        if installed:
            signal.signal(signal.SIGINT, signal.default_int_handler)


def _untrace(saved: Any) -> None:
    """A debugger the user's code started and left tracing is stopped: the trace function
    as it was before (None, or a coverage tool's) is put back."""
    if sys.gettrace() is not saved:
        sys.settrace(saved)


def call_user(fn: Callable[[], T], what: str, *, home: str | None = None) -> T:
    """``fn()``, which runs the user's code; ``what`` names the call in messages ("building
    Net", "the forward pass of Net"), ``home`` is the user's file (for file:line).

    What no ordinary exception handler should see becomes a usage error naming the call:
    ``sys.exit(n)`` (or ``exit()``, ``quit()``), a ``KeyboardInterrupt`` the code raised
    itself (a real Ctrl-C, recorded by our SIGINT handler, stays an interrupt: exit 130,
    whatever the code turned it into), a debugger that quit (``bdb.BdbQuit``), any other
    ``BaseException``. A debugger left tracing is stopped. Other exceptions propagate
    as they are, for the caller to judge.
    """
    saved = sys.gettrace()
    with _watch_sigint():
        try:
            result = fn()
            _untrace(saved)  # a line inside the try: a debugger that stops here is caught
            return result
        except BaseException as exc:
            _untrace(saved)
            judged = _judged(exc, what, home)
            if judged is None:
                raise
            raise judged from exc


def _judged(exc: BaseException, what: str, home: str | None) -> BaseException | None:
    """The error to raise instead of ``exc``, or None to let it propagate."""
    if _Sigint.received:  # a real Ctrl-C, whatever the user's code made of it
        return None if isinstance(exc, KeyboardInterrupt) else KeyboardInterrupt()
    if isinstance(exc, NncliError):
        return None
    at = location(exc, home)
    where = f" ({at})" if at else ""
    if isinstance(exc, SystemExit):
        return UsageError(
            f"--model: {what} called sys.exit({exc.code!r})",
            hint="nncli runs your code in its own process: raise an exception instead of exiting",
        )
    if isinstance(exc, KeyboardInterrupt):
        if _Sigint.mode == "unknown":
            return None  # no way to tell: taken for a real Ctrl-C
        return UsageError(
            f"--model: {what} raised KeyboardInterrupt, though no Ctrl-C was pressed{where}",
            hint="raise an ordinary exception (e.g. RuntimeError) to report a failure",
        )
    from nncli.core.model.hooks import ForwardFailed

    if debugger_quit(exc.cause if isinstance(exc, ForwardFailed) else exc):
        return UsageError(f"--model: {what} {DEBUGGER_QUIT}", hint=DEBUGGER_HINT)
    if isinstance(exc, Exception):
        return None
    return UsageError(
        f"--model: {what} raised {type(exc).__name__}: {first_line(exc)}{where}",
        hint="raise an ordinary exception (a subclass of Exception) to report a failure",
    )


# --- helpers ---------------------------------------------------------------------------


def brief(exc: BaseException) -> str:
    return first_line(exc) if str(exc).strip() else type(exc).__name__


def tensors(model: nn.Module) -> Iterator[torch.Tensor]:
    """Parameters, then buffers (each listed once by torch)."""
    yield from model.parameters()
    yield from model.buffers()


def weight_bytes(model: nn.Module, *, buffers_only: bool = False) -> int:
    """Bytes of the parameters and buffers, each tensor once (tied weights too)."""
    from nncli.core.model.hooks import unique_bytes

    return unique_bytes(model.buffers() if buffers_only else tensors(model))


def module_device(model: nn.Module) -> str:
    """Where an instance lives: its first parameter's (or buffer's) device, else the CPU."""
    for tensor in tensors(model):
        return str(tensor.device)
    return "cpu"


def shapes_text(shapes: Any) -> str:
    """``[5, 64, 56, 56]``, or the shapes of several inputs separated by commas."""
    if isinstance(shapes, list | tuple) and shapes and all(isinstance(s, int) for s in shapes):
        return str(list(shapes))
    if isinstance(shapes, list | tuple) and len(shapes) == 1:
        return shapes_text(shapes[0])
    if isinstance(shapes, list | tuple):
        return ", ".join(shapes_text(s) for s in shapes) if shapes else "()"
    if isinstance(shapes, dict):
        return "{" + ", ".join(f"{k}: {shapes_text(v)}" for k, v in shapes.items()) + "}"
    return str(shapes)


def is_meta_unsupported(exc: BaseException) -> bool:
    """The forward failed because of the meta device, not because of the model or inputs.

    ``NotImplementedError`` (no meta kernel), or a message about meta tensors:
    "Tensor.item() cannot be called on meta tensors", "Cannot copy out of meta tensor",
    "... found at least two devices, meta and cpu". A genuine error misjudged here is
    raised again by the real build, so the test errs on the side of meta.
    """
    return isinstance(exc, NotImplementedError) or "meta" in str(exc).lower()


def is_out_of_memory(exc: BaseException) -> bool:
    """A host ``MemoryError`` or torch's ``OutOfMemoryError`` (CUDA, MPS)."""
    return isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError"


# --- construction ------------------------------------------------------------------------

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
    dunders such as ``__iadd__``. Skipping also skips the op's own checks (a ``copy_``
    from a tensor of the wrong shape): on meta a value-only op cannot change what is
    summarised."""
    name = getattr(func, "__name__", "")
    if name == "__setitem__":
        return True
    return name.endswith("_") and not name.startswith("_") and name not in _NOT_SKIPPED


def _fill_target(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The tensor an in-place op writes to: ``self`` for a method, ``tensor`` for nn.init."""
    if args:
        return args[0]
    for key in ("tensor", "self", "input"):
        if key in kwargs:
            return kwargs[key]
    return None


def _skipped_fill(func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``(True, result)`` for an in-place fill of a meta tensor, else ``(False, None)``."""
    import torch

    if _is_fill(func):
        target = _fill_target(args, kwargs)
        if isinstance(target, torch.Tensor) and target.is_meta:
            # __setitem__ returns None, everything else its target
            return True, (None if func.__name__ == "__setitem__" else target)
    return False, None


@contextmanager
def skip_init_on_meta() -> Iterator[None]:
    """While active, in-place fills of meta tensors (init, random, copy) return the tensor.

    A meta tensor has no values, so ``normal_`` and friends have nothing to do, but
    their meta kernels are Python functions whose first call imports torch._dynamo
    (about 0.8 s). Only ops whose target is a meta tensor are skipped; anything on a
    real tensor runs as usual. Use it while building a module, not during forward
    (where an in-place op's broadcasting errors should still be raised). Public API
    only: a ``torch.overrides.TorchFunctionMode``.
    """
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
            skipped, result = _skipped_fill(func, args, kwargs)
            return result if skipped else func(*args, **kwargs)

    with SkipInitOnMeta():
        yield


# Factory functions whose first argument (or ``size``) is the new tensor's size.
_SIZED = frozenset({"empty", "zeros", "ones", "rand", "randn", "full", "empty_strided"})
_LIKE = frozenset({"empty_like", "zeros_like", "ones_like", "rand_like", "randn_like", "full_like"})
_VARARGS = frozenset({"empty", "zeros", "ones", "rand", "randn"})  # also take sizes as *ints
# Factory functions whose size shows only in their result: counted after the call.
_COUNTED_AFTER = frozenset(
    {"tensor", "arange", "eye", "linspace", "logspace", "randint", "randperm"}
)


class _Budget:
    """Counts the bytes a real construction allocates and refuses before going over.

    The model is built once, for real. Before each tensor factory call of a known size
    (``torch.empty``, ``zeros``, ``ones``, ``rand``, ``randn``, ``full`` and their
    ``_like`` forms: what ``nn.Module`` constructors allocate with), its bytes are added
    to a running total; the first call that would take the total past ``limit`` and
    every one after it is made on the meta device instead (and in-place fills of meta
    tensors are skipped), so the constructor runs to the end without allocating more,
    and the model's full size is known for the refusal. Other calls are counted after
    they ran; views and other ops are not a constructor's allocations. Temporaries
    are counted too, so the total errs on the high side: the model is then built once
    more, unwatched, in the rare case that the finished model fits.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.total = 0
        self.over = False

    def requested(self, func: Callable[..., Any], args: tuple[Any, ...], kwargs: Any) -> int | None:
        """Bytes a factory call will allocate on the host, or None when not known ahead."""
        import torch

        name = getattr(func, "__name__", "")
        device = kwargs.get("device")
        if device is not None and torch.device(device).type != "cpu":
            return 0
        if name in _LIKE and args and isinstance(args[0], torch.Tensor):
            dtype = kwargs.get("dtype") or args[0].dtype
            return args[0].numel() * _itemsize(dtype)
        if name not in _SIZED or getattr(func, "__module__", "") not in ("torch", None):
            return None
        size: Any = kwargs.get("size", args[0] if args else ())
        if name in _VARARGS and args and isinstance(args[0], int):
            size = args  # torch.zeros(3, 4)
        if isinstance(size, torch.Size | list | tuple) and all(isinstance(d, int) for d in size):
            numel = 1
            for d in size:
                numel *= d
            return numel * _itemsize(kwargs.get("dtype") or torch.get_default_dtype())
        return None

    @contextmanager
    def watching(self) -> Iterator[None]:
        import torch
        from torch.overrides import TorchFunctionMode

        budget = self

        class CountAllocations(TorchFunctionMode):
            def __torch_function__(
                self,
                func: Callable[..., Any],
                types: Any,
                args: tuple[Any, ...] = (),
                kwargs: dict[str, Any] | None = None,
            ) -> Any:
                kwargs = kwargs or {}
                if budget.over:
                    skipped, result = _skipped_fill(func, args, kwargs)
                    if skipped:
                        return result
                size = budget.requested(func, args, kwargs)
                if size is not None:
                    if not budget.over and budget.total + size > budget.limit:
                        budget.over = True
                    budget.total += size
                    if budget.over:
                        kwargs = {**kwargs, "device": "meta"}
                    return func(*args, **kwargs)
                result = func(*args, **kwargs)
                counted = getattr(func, "__name__", "") in _COUNTED_AFTER
                if counted and isinstance(result, torch.Tensor) and result.device.type == "cpu":
                    budget.total += result.numel() * result.element_size()
                    budget.over = budget.over or budget.total > budget.limit
                return result

        with CountAllocations():
            yield


def _itemsize(dtype: Any) -> int:
    return int(dtype.itemsize)


def build_module(
    target: Target,
    kwargs: dict[str, Any],
    *,
    meta: bool,
    device: str,
    seed: int | None,
    reserve: int = 0,
    what: str = "the model",
    notes: list[str] | None = None,
) -> nn.Module:
    """The module NAME describes, built once. An instance is returned as it is.

    A torch.compile'd module is replaced by the original it wraps, and ``notes`` (when
    given) gets :data:`COMPILED_NOTE`.

    ``meta``: built under ``torch.device("meta")``, allocating nothing, init ops
    skipped. Exceptions from the user's constructor propagate as they are, for the
    caller to judge. Otherwise: seeded (``seed`` None: torch's generator as it
    stands) on the CPU, then moved to ``device``, so a seed gives the same weights on
    every device; a constructor error is a usage error. Either way, an exit, an
    interrupt or a debugger in the constructor is a usage error (:func:`call_user`),
    never judged again. The real build never
    allocates past what the host and ``device`` have free, less ``reserve`` bytes
    (the inputs): a model too large is refused, naming its full size (``what``).
    """
    import torch

    from nncli.core.seed import seeded

    if target.kind == "instance":
        return _check_module(target, target.obj, notes)
    check_kwargs(target, kwargs)

    def construct() -> Any:
        with user_path(target):
            return call_user(
                lambda: target.obj(**kwargs),
                f"building {target.name}",
                home=_defining_file(target.obj),
            )

    if meta:
        # Its lazy imports first, off meta: a library's import-time tensors stay real.
        with user_output():
            call_user(lambda: preimport(target), f"building {target.name}")
        with user_output(), torch.device("meta"), skip_init_on_meta():
            module = _check_module(target, construct(), notes)
        if any(not t.is_meta for t in tensors(module)):
            # A tensor created with an explicit device="cpu": already allocated, but the
            # meta forward needs every tensor on meta.
            module = module.to("meta")
        return module
    free = min(available_bytes(where) for where in dict.fromkeys(["cpu", device]))
    budget = _Budget(max(free - reserve, 0))
    rng = torch.random.get_rng_state()  # for a rebuild from the same state (seed None)
    with user_output(), seeded(seed):
        try:
            with budget.watching():
                built = construct()
        except NncliError:
            raise
        except Exception as exc:
            if budget.over:  # the meta tensors broke it: refuse with what was counted
                _refuse(budget.total + reserve, device, what)
            raise _constructor_error(target, exc) from exc
    module = _check_module(target, built, notes)
    if budget.over:
        _refuse(weight_bytes(module) + reserve, device, what)
        # It fits after all (temporaries were counted): build it again, unwatched, from
        # the same random state, so the weights are the ones a first build would draw.
        torch.random.set_rng_state(rng)
        with user_output(), seeded(seed):
            module = _check_module(target, construct())
    return module.to(device)


def _refuse(needed: int, device: str, what: str) -> None:
    """The memory check of a real build; a no-op when ``needed`` fits."""
    for where in dict.fromkeys(["cpu", device]):
        ensure_fits(needed, where, what if where == device else f"{what} (built on the host first)")


def _check_module(target: Target, built: Any, notes: list[str] | None = None) -> nn.Module:
    from torch import nn

    if not isinstance(built, nn.Module):
        noun = type(built).__name__
        article = "an" if noun[:1].lower() in "aeiou" else "a"
        raise UsageError(
            f"--model: {target.name}() returned {article} {noun}, not an nn.Module",
            hint="a factory must return the model",
        )
    original = compiled_original(built)
    if original is None:
        return built
    if notes is not None and COMPILED_NOTE not in notes:
        notes.append(COMPILED_NOTE)
    return original


COMPILED_NOTE = (
    "the model is torch.compile'd: the original module is summarised and run eagerly "
    "(compiling changes how the layers run, not what they are)"
)


def compiled_original(module: nn.Module) -> nn.Module | None:
    """The module ``torch.compile(module)`` wrapped, or None for any other module.

    torch.compile returns a wrapper whose only child is the original module (its
    ``named_children()`` lists it); running our hooks through it makes dynamo trace them
    and fail, so the original is what nncli summarises and runs.
    """
    if type(module).__name__ != "OptimizedModule":
        return None
    children = list(module.named_children())
    if len(children) != 1 or children[0][0] != "_orig_mod":
        return None
    return children[0][1]


def uncompiled(module: nn.Module) -> nn.Module:
    """``module``, or the original module torch.compile wrapped (:func:`compiled_original`)."""
    original = compiled_original(module)
    return module if original is None else original


def _constructor_error(target: Target, exc: BaseException) -> UsageError:
    at = location(exc, _defining_file(target.obj))
    return UsageError(
        f"--model: building {target.name} raised {type(exc).__name__}: {first_line(exc)}"
        + (f" ({at})" if at else ""),
        hint=f"its signature is {signature_text(target)}; arguments come from --model-kwargs",
    )


def _defining_file(obj: Any) -> str | None:
    try:
        return inspect.getsourcefile(obj)
    except (TypeError, OSError):
        return None


# --- the forward pass --------------------------------------------------------------------


class MetaUnsupported(Exception):
    """The forward pass does not run on meta tensors (``cause``): build for real."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


def forward(
    model: nn.Module,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    name: str,
    hint: Callable[[str | None], str],
    meta: bool = False,
    call: Callable[[], T] | None = None,
) -> T:
    """``call()`` (default ``model(*args, **kwargs)``), guarded: the user's output to
    stderr, eval mode without gradients, every submodule's mode restored afterwards.

    A failure is located by :class:`~nncli.core.model.hooks.Locator` (or arrives as a
    ``ForwardFailed`` from the summary's collector) and becomes :func:`forward_error`;
    on ``meta``, a failure that is the meta device's is :class:`MetaUnsupported`, and
    the commonest layers are answered by :mod:`~nncli.core.model.user.metashapes`.
    ``hint(module_type)`` says what to check.
    """
    import contextlib

    import torch

    from nncli.core.model.hooks import ForwardFailed, Locator, eval_mode
    from nncli.core.model.user.metashapes import meta_shapes

    locator = Locator(model, args, kwargs)
    # On meta, the commonest layers' outputs by arithmetic: see metashapes.
    shapes = meta_shapes() if meta else contextlib.nullcontext()

    def guarded() -> T:  # the modes' changes too: a train() of the user's own runs then
        with eval_mode(model), torch.no_grad(), shapes, locator:
            return model(*args, **kwargs) if call is None else call()

    try:
        with user_output():
            return call_user(
                guarded, f"the forward pass of {name}", home=_defining_file(type(model))
            )
    except NncliError:
        raise
    except Exception as exc:  # the user's code can raise anything
        failed = exc if isinstance(exc, ForwardFailed) else locator.failure(exc)
        if meta and is_meta_unsupported(failed.cause):
            raise MetaUnsupported(failed.cause) from exc
        raise forward_error(failed, name, hint(failed.module_type)) from exc


def forward_error(failed: ForwardFailed, name: str, hint: str) -> NncliError:
    """ "the forward pass fails in layer1.0.conv2 (Conv2d) given input [5, 64, 56, 56]:
    RuntimeError: <torch's message>", with the functional call (``add (+)``) where one
    raised; running out of memory is a runtime failure (exit 1)."""
    cause = failed.cause
    if failed.path is None:
        where = f"a {failed.module_type} made inside forward()"
    elif failed.path == "":
        where = f"{name}.forward ({failed.module_type})"
    else:
        where = f"{failed.path} ({failed.module_type})"
    given = (
        f" given input {shapes_text(failed.input_shapes)}"
        if failed.input_shapes is not None
        else ""
    )
    if failed.function:
        given += f", at {failed.function}" + (
            f" with {shapes_text(failed.function_shapes)}"
            if failed.function_shapes is not None
            else ""
        )
    if is_out_of_memory(cause):  # the input was fine; the machine was too small
        return RuntimeFailure(
            f"the forward pass ran out of memory in {where}{given}: {first_line(cause)}",
            hint="try a smaller --batch or --input-size",
        )
    return UsageError(
        f"the forward pass fails in {where}{given}: {type(cause).__name__}: {first_line(cause)}",
        hint=hint,
    )


# --- an instance, left as found -------------------------------------------------------------


def meta_copies(model: nn.Module) -> dict[str, Any]:
    """A meta copy of every parameter and buffer (see :func:`_state`): same shape, dtype
    and requires_grad, no storage. Tied tensors get one shared copy, so sharing is still
    seen."""
    import torch
    from torch import nn

    copies: dict[int, Any] = {}

    def copy(tensor: torch.Tensor) -> Any:
        if id(tensor) not in copies:
            empty = torch.empty_like(tensor, device="meta")
            if isinstance(tensor, nn.Parameter):
                copies[id(tensor)] = nn.Parameter(empty, requires_grad=tensor.requires_grad)
            else:
                copies[id(tensor)] = empty
        return copies[id(tensor)]

    return _state(model, copy, buffers_only=False)


def buffer_copies(model: nn.Module) -> dict[str, Any]:
    """A copy of every buffer, so a real forward (a module updating a buffer) cannot
    change the instance's own."""
    copies: dict[int, Any] = {}

    def copy(tensor: Any) -> Any:
        if id(tensor) not in copies:
            copies[id(tensor)] = tensor.clone()
        return copies[id(tensor)]

    return _state(model, copy, buffers_only=True)


def _state(model: nn.Module, copy: Callable[[Any], Any], *, buffers_only: bool) -> dict[str, Any]:
    """One entry per slot, a module's own attribute, each module once (at its first
    path): a module used twice is swapped once and put back once, and tied weights (one
    tensor in two modules) get the same copy in both slots, so they stay tied."""
    state: dict[str, Any] = {}
    for path, module in model.named_modules():
        own = list(module.named_buffers(recurse=False, remove_duplicate=False))
        if not buffers_only:
            own = list(module.named_parameters(recurse=False, remove_duplicate=False)) + own
        for name, tensor in own:
            state[f"{path}.{name}" if path else name] = copy(tensor)
    return state


def call_with(model: nn.Module, state: dict[str, Any], fn: Callable[[], T]) -> T:
    """``fn()`` with ``state``'s tensors in place of the model's own, through the public
    ``torch.func.functional_call``: the model's tensors are never written by us, and
    torch puts them back afterwards, also when ``fn`` raises.

    ``state`` names every slot once (:func:`_state`) and ties are kept by the copies
    themselves, so ``tie_weights=False``: with it, torch names a module used twice at
    both paths and puts the copy back last. ``functional_call`` calls a module; ``fn``
    (a whole summary: the hooked forward pass and the counts after it) is run as the
    forward of a module that holds the model, so everything it reads sees the swapped
    tensors.
    """
    from torch import nn
    from torch.func import functional_call

    class _Holder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self) -> Any:
            return fn()

    holder = _Holder()
    return functional_call(
        holder, {f"model.{k}": v for k, v in state.items()}, (), tie_weights=False, strict=False
    )


def forward_hint(target: Target, specs: list[InputSpec], module_type: str | None) -> str:
    """What to check after a failed forward pass, for ``summary`` and ``run`` alike: the
    inferred size, token ids' dtype, the inputs' names, the --input files."""
    from nncli.core.model.user.inputs import FLOAT_DTYPES

    inferred = [s.inferred_from for s in specs if s.inferred_from]
    if inferred:
        return f"the input size was inferred from {inferred[0]}; give --input-size"
    if module_type in ("Embedding", "EmbeddingBag") and any(s.dtype in FLOAT_DTYPES for s in specs):
        return "an nn.Embedding takes integer ids: add --dtype long (and --vocab N)"
    if any(s.name is not None for s in specs) and target.kind != "instance":
        forward_method = getattr(target.obj, "forward", None)
        signature = plain_signature(forward_method) if forward_method is not None else "(...)"
        return (
            f"{INPUT_HINT}; named inputs go by keyword when forward{signature} has "
            "parameters of those names, else as one dict"
        )
    if any(s.path is not None for s in specs):
        return "check the --input files: one sample's shape after the batch, and the dtype"
    return INPUT_HINT
