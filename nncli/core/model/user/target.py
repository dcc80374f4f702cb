"""The user's own ``nn.Module`` (``--model SPEC``): find it, build it, summarise it.

**This imports and runs the user's code**, as torchinfo, torchsummary or any such
tool does: importing the file or module executes its top level, and building
the model runs its constructor (or factory) and its ``forward``. Give ``--model``
only code you trust.

``SPEC`` is ``package.module:NAME`` or ``path/to/file.py:NAME``. NAME is an
``nn.Module`` subclass (built with ``--model-kwargs``), a function returning a
module, or a module instance (used as it is, never rebuilt or moved).

By default the model is built under ``torch.device("meta")`` and run on meta
tensors, so nothing is allocated whatever its size. Where its constructor or
forward does not run on meta tensors, it is built for real on the selected
device, after a memory check, and the result says why (``fallback``).
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import inspect
import itertools
import json
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from nncli.core.memory import ensure_fits, format_bytes
from nncli.errors import NncliError, RuntimeFailure, UsageError

T = TypeVar("T")

if TYPE_CHECKING:
    import torch
    from torch import nn

    from nncli.core.model.summarize import SummaryResult
    from nncli.core.model.user.inputs import InputSpec

SPEC_FORMS = "package.module:NAME or path/to/file.py:NAME"
KWARGS_EXAMPLE = "--model-kwargs '{\"num_classes\": 10}'"
INPUT_HINT = "check --input-size (one sample's shape, without the batch) and --dtype"
# A real build (the fallback) holds the weights, buffers and inputs, plus the
# activations of the forward pass: estimated as a quarter of that, plus 64 MiB.
FALLBACK_MARGIN_FRACTION = 4
FALLBACK_MARGIN_BYTES = 64 * 1024**2
_counter = itertools.count(1)


@dataclass
class Target:
    """What ``SPEC`` names. ``kind``: "class", "factory" or "instance"."""

    spec: str
    name: str
    kind: str
    obj: Any


# --- resolving SPEC ------------------------------------------------------------------


def resolve_target(spec: str) -> Target:
    """Import SPEC's module or file and return what NAME is. Runs the user's code.

    Every problem is a usage error (exit 2) with a hint: a malformed SPEC, a missing
    file, a module that is not importable (the import error's message), an exception
    raised while importing (its type, message and file:line), a NAME that does not
    exist (the closest name), a NAME that is not a module, class or factory.
    """
    where, _, name = spec.strip().rpartition(":")
    if not where.strip() or not name.strip() or ":" not in spec:
        raise UsageError(
            f"--model {spec!r} is not {SPEC_FORMS}",
            hint="e.g. --model torchvision.models:resnet18 or --model models/net.py:Net",
        )
    where, name = where.strip(), name.strip()
    module, label = _import_file(where) if _is_path(where) else _import_module(where)
    obj = _lookup(module, label, name)
    return Target(spec=spec, name=name, kind=_kind(obj, name, label), obj=obj)


def _is_path(where: str) -> bool:
    return where.endswith(".py") or "/" in where or os.sep in where


@contextmanager
def _first_on_path(folder: str) -> Iterator[None]:
    """``folder`` first on sys.path for the block, so the user's sibling imports work."""
    sys.path.insert(0, folder)
    try:
        yield
    finally:
        # the first occurrence: ours, unless the user's code moved it
        with suppress(ValueError):
            sys.path.remove(folder)


def _import_file(where: str) -> tuple[Any, str]:
    path = Path(where)
    if path.suffix != ".py":
        raise UsageError(
            f"--model {where}: not a .py file",
            hint=f"SPEC is {SPEC_FORMS}",
        )
    try:
        is_file = path.is_file()
    except (OSError, ValueError) as exc:  # a name too long, a NUL byte
        raise UsageError(f"--model {where}: cannot be opened ({exc})") from exc
    if not is_file:
        what = "is not a file" if path.exists() else "no such file"
        raise UsageError(
            f"--model {where}: {what}",
            hint=f"the path is relative to the current directory ({os.getcwd()})",
        )
    # A unique name: two files called model.py must not replace each other's module.
    stem = "".join(c if c.isalnum() else "_" for c in path.stem)
    module_name = f"_nncli_user_{stem}_{next(_counter)}"
    loader_spec = importlib.util.spec_from_file_location(module_name, path)
    if loader_spec is None or loader_spec.loader is None:  # pragma: no cover - a .py file
        raise UsageError(f"--model {where}: cannot be imported as a Python file")
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[module_name] = module  # dataclasses, pickle and typing look modules up here
    try:
        with _first_on_path(str(path.resolve().parent)):
            loader_spec.loader.exec_module(module)
    except BaseException as exc:
        sys.modules.pop(module_name, None)
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise _import_error(where, exc, str(path.resolve())) from exc
    return module, where


def _import_module(where: str) -> tuple[Any, str]:
    # The current directory first, as `python -m` has it: `--model net:Net` finds ./net.py.
    with _first_on_path(os.getcwd()):
        try:
            module = importlib.import_module(where)
        except ModuleNotFoundError as exc:
            if exc.name is not None and (where == exc.name or where.startswith(exc.name + ".")):
                raise UsageError(
                    f"--model {where}: cannot import module {where!r} ({exc})",
                    hint=f"is it installed or on PYTHONPATH? SPEC is {SPEC_FORMS}",
                ) from exc
            raise _import_error(where, exc, _origin(where)) from exc
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            raise _import_error(where, exc, _origin(where)) from exc
    return module, where


def _origin(where: str) -> str | None:
    try:
        found = importlib.util.find_spec(where)
    except (ImportError, ValueError):
        return None
    return found.origin if found is not None else None


def _import_error(where: str, exc: BaseException, user_file: str | None) -> UsageError:
    """What went wrong importing the user's code: type, message and file:line."""
    if isinstance(exc, SystemExit):
        return UsageError(
            f"--model {where}: importing it called sys.exit({exc.code!r})",
            hint='move script code under `if __name__ == "__main__":`',
        )
    message = _first_line(exc)
    at = _location(exc, user_file)
    return UsageError(
        f"--model {where}: importing it raised {type(exc).__name__}: {message}"
        + (f" ({at})" if at else ""),
        hint="the error is in your code or in a module it imports",
    )


def _location(exc: BaseException, user_file: str | None) -> str | None:
    """``file:line`` of the innermost frame in the user's file (else in any file)."""
    if isinstance(exc, SyntaxError) and exc.filename and exc.lineno:
        return f"{exc.filename}:{exc.lineno}"
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith("<")]
    own = [f for f in frames if user_file is not None and _same_file(f.filename, user_file)]
    chosen = own or frames
    return f"{chosen[-1].filename}:{chosen[-1].lineno}" if chosen else None


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return a == b


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "(no message)"


def _lookup(module: Any, label: str, name: str) -> Any:
    """``module.name`` (a dotted NAME walks attributes); a missing name suggests the closest."""
    obj = module
    for part in name.split("."):
        if not hasattr(obj, part):
            raise _missing_name(module, label, name)
        obj = getattr(obj, part)
    return obj


def _missing_name(module: Any, label: str, name: str) -> UsageError:
    candidates = _candidates(module)
    by_lower = {c.lower(): c for c in candidates}
    import difflib

    match = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.5)
    if match:
        hint = f"did you mean {by_lower[match[0]]}?"
    elif candidates:
        shown = sorted(candidates, key=str.lower)
        more = f" and {len(shown) - 15} more" if len(shown) > 15 else ""
        hint = f"it defines: {', '.join(shown[:15])}{more}"
    else:
        hint = "it defines no nn.Module class, instance or function"
    return UsageError(f"--model: {label} has no {name!r}", hint=hint)


def _candidates(module: Any) -> list[str]:
    """Public names that could be a model: nn.Module subclasses and instances, functions."""
    from torch import nn

    names = []
    for key, value in vars(module).items():
        if key.startswith("_"):
            continue
        is_class = isinstance(value, type) and issubclass(value, nn.Module)
        is_function = inspect.isfunction(value) and value.__module__ == module.__name__
        if is_class or is_function or isinstance(value, nn.Module):
            names.append(key)
    return names


def _kind(obj: Any, name: str, label: str) -> str:
    from torch import nn

    if isinstance(obj, type):
        if issubclass(obj, nn.Module):
            return "class"
        raise UsageError(
            f"--model: {name} in {label} is a class but not an nn.Module subclass",
            hint="NAME must be an nn.Module subclass, a function returning one, or an instance",
        )
    if isinstance(obj, nn.Module):
        return "instance"
    if callable(obj):
        return "factory"
    raise UsageError(
        f"--model: {name} in {label} is {_a(type(obj).__name__)}, not an nn.Module",
        hint="NAME must be an nn.Module subclass, a function returning one, or an instance",
    )


def _a(noun: str) -> str:
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


# --- --model-kwargs ----------------------------------------------------------------


def parse_model_kwargs(text: str | None) -> dict[str, Any]:
    """``--model-kwargs``: a JSON object of keyword arguments; none given is ``{}``."""
    if text is None:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"--model-kwargs is not valid JSON: {exc.msg} at line {exc.lineno}, "
            f"column {exc.colno} (character {exc.pos + 1})",
            hint=f"e.g. {KWARGS_EXAMPLE}; quote keys and strings with double quotes",
        ) from exc
    except RecursionError as exc:
        raise UsageError("--model-kwargs is nested too deeply") from exc
    if not isinstance(value, dict):
        kind = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
        what = kind.get(type(value), "a number")
        raise UsageError(
            f"--model-kwargs must be a JSON object of keyword arguments, got {what}",
            hint=f"e.g. {KWARGS_EXAMPLE}",
        )
    return value


def signature_text(target: Target) -> str:
    """``Net(num_classes=10, width=64)``: what NAME accepts, for messages."""
    return f"{target.name}{_plain_signature(target.obj)}"


def _plain_signature(obj: Any) -> str:
    """``(num_classes=10, width=64)``: names and defaults, without annotations (which
    ``from __future__ import annotations`` would show as quoted strings)."""
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return "(...)"
    params = [p.replace(annotation=p.empty) for p in signature.parameters.values()]
    if params and params[0].name == "self":  # a class's forward, not bound to an instance
        params = params[1:]
    return str(signature.replace(parameters=params, return_annotation=signature.empty))


def check_kwargs(target: Target, kwargs: dict[str, Any]) -> None:
    """Refuse --model-kwargs that NAME's signature cannot take, before running it."""
    if target.kind == "instance":
        if kwargs:
            raise UsageError(
                f"--model-kwargs does not apply: {target.name} is a module instance, already built",
                hint="name its class or a factory function to build it with arguments",
            )
        return
    try:
        signature = inspect.signature(target.obj)
    except (TypeError, ValueError):  # a builtin without a signature: let it decide
        return
    try:
        signature.bind(**kwargs)
    except TypeError as exc:
        given = ", ".join(kwargs) if kwargs else "none"
        raise UsageError(
            f"--model-kwargs do not fit {signature_text(target)}: {exc} (given: {given})",
            hint=f"give the constructor's arguments as JSON, e.g. {KWARGS_EXAMPLE}",
        ) from exc


# --- building --------------------------------------------------------------------


def build_module(
    target: Target, kwargs: dict[str, Any], *, meta: bool, device: str, seed: int | None
) -> nn.Module:
    """The module NAME describes. An instance is returned as it is (never rebuilt or moved).

    ``meta``: built under ``torch.device("meta")``, allocating nothing; init ops
    are skipped and torch._dynamo is not imported (see metapass). Exceptions from
    the user's constructor propagate as they are, for the caller to judge.
    Otherwise: seeded on the CPU, then moved to ``device``, so a seed gives the
    same weights on every device; a constructor error is a usage error.
    """
    import torch

    from nncli.core.model.user.meta import run_meta, skip_init_on_meta
    from nncli.core.seed import seeded

    if target.kind == "instance":
        return _check_module(target, target.obj)
    check_kwargs(target, kwargs)
    if meta:

        def construct() -> Any:
            with torch.device("meta"), skip_init_on_meta():
                return target.obj(**kwargs)

        module = _check_module(target, run_meta(construct))
        if any(not t.is_meta for t in _tensors(module)):
            # A tensor created with an explicit device="cpu": already allocated, but the
            # meta forward needs every tensor on meta.
            module = module.to("meta")
        return module
    with seeded(seed):
        try:
            built = target.obj(**kwargs)
        except NncliError:
            raise
        except Exception as exc:
            raise _constructor_error(target, exc) from exc
    return _check_module(target, built).to(device)


def _tensors(module: nn.Module) -> Iterator[torch.Tensor]:
    yield from module.parameters()
    yield from module.buffers()


def _check_module(target: Target, built: Any) -> nn.Module:
    from torch import nn

    if not isinstance(built, nn.Module):
        raise UsageError(
            f"--model: {target.name}() returned {_a(type(built).__name__)}, not an nn.Module",
            hint="a factory must return the model",
        )
    return built


def _constructor_error(target: Target, exc: BaseException) -> UsageError:
    at = _location(exc, _defining_file(target.obj))
    return UsageError(
        f"--model: building {target.name} raised {type(exc).__name__}: {_first_line(exc)}"
        + (f" ({at})" if at else ""),
        hint=f"its signature is {signature_text(target)}; arguments come from --model-kwargs",
    )


def _defining_file(obj: Any) -> str | None:
    try:
        return inspect.getsourcefile(obj)
    except (TypeError, OSError):
        return None


# --- the summary -------------------------------------------------------------------


def _user_prints_to_stderr(fn: Callable[..., T]) -> Callable[..., T]:
    """The user's prints (at import, in __init__ or forward) go to stderr: stdout is the
    summary's, and must stay valid JSON with --json."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        with redirect_stdout(sys.stderr):
            return fn(*args, **kwargs)

    return wrapper


@_user_prints_to_stderr
def summarize_target(
    spec: str,
    *,
    kwargs_text: str | None,
    input_sizes: list[str] | None,
    dtypes: list[str] | None,
    vocab: int | None,
    input_files: list[str] | None,
    batch: int,
    device: str,
    depth: int,
    functional: bool | None,
    seed: int = 0,
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

    An instance is summarised with meta copies of its parameters and buffers swapped
    in for the pass (see :func:`meta_state`), so it is left exactly as found.
    """
    from nncli.core.model.user.inputs import parse_inputs

    target = resolve_target(spec)
    kwargs = parse_model_kwargs(kwargs_text)
    check_kwargs(target, kwargs)
    specs = parse_inputs(input_sizes, dtypes, input_files)
    run = _Run(target, kwargs, specs, dtypes or [], vocab, batch, device, depth, functional, seed)
    result = run.summarize()
    result.model_name = target.name
    result.source = spec
    result.model_spec = spec
    result.depth = depth
    result.fallback = run.fallback
    result.inputs = [s.describe(batch) for s in run.specs]
    result.input_shape = list(run.specs[0].full_shape(batch)) if run.specs else []
    if run.built_on is not None:
        result.built_on = run.built_on
    notes = [f"input shape inferred from {s.inferred_from}" for s in run.specs if s.inferred_from]
    if notes:
        result.extras.setdefault("notes", []).extend(notes)
    return result


@dataclass
class _Run:
    """One summary of a target: the options, and what happened (fallback, built_on)."""

    target: Target
    kwargs: dict[str, Any]
    specs: list[InputSpec]
    dtypes: list[str]
    vocab: int | None
    batch: int
    device: str
    depth: int
    functional: bool | None
    seed: int
    fallback: str | None = None
    built_on: str | None = None

    def summarize(self) -> SummaryResult:
        if self.target.kind == "instance":
            return self._instance(self.target.obj)
        try:
            model = build_module(self.target, self.kwargs, meta=True, device="meta", seed=None)
        except NncliError:
            raise
        except Exception as exc:  # the user's constructor: judged by the real build
            self.fallback = f"the constructor does not run on the meta device: {_brief(exc)}"
            return self._real(None)
        self._infer(model)
        args, kw = self._inputs("meta", model)
        try:
            self.built_on = "meta"
            return self._summarize(model, args, kw, meta=True)
        except _MetaUnsupported as exc:
            self.fallback = f"forward does not run on meta tensors: {_brief(exc.cause)}"
            return self._real(model)

    def _infer(self, model: nn.Module) -> None:
        from nncli.core.model.user.inputs import infer_inputs

        if not self.specs:
            self.specs = infer_inputs(model, self.dtypes)

    def _inputs(self, device: str, model: nn.Module) -> tuple[tuple[Any, ...], dict[str, Any]]:
        from nncli.core.model.user.inputs import make_inputs

        return make_inputs(
            self.specs, self.batch, device=device, vocab=self.vocab, seed=self.seed, model=model
        )

    def _summarize(
        self, model: nn.Module, args: tuple[Any, ...], kw: dict[str, Any], *, meta: bool
    ) -> SummaryResult:
        """tree.summarize_module, with its failures sorted: meta-unsupported or the user's."""
        from nncli.core.model import hooks as tree
        from nncli.core.model.user.meta import run_meta

        functional = self.functional if self.functional is not None else self.depth >= 3

        def call() -> SummaryResult:
            return tree.summarize_module(
                model,
                args,
                kw,
                device=self.device,
                depth=self.depth,
                functional=functional,
                name=self.target.name,
                source=self.target.spec,
                model_spec=self.target.spec,
            )

        try:
            return run_meta(call) if meta else call()
        except NncliError:
            raise
        except tree.ForwardFailed as exc:
            cause = exc.cause if isinstance(exc.cause, BaseException) else exc
            if meta and is_meta_unsupported(cause):
                raise _MetaUnsupported(cause) from exc
            raise self._forward_error(exc, cause) from exc
        except Exception as exc:  # not the forward's own failure (tree wraps those)
            if meta and is_meta_unsupported(exc):
                raise _MetaUnsupported(exc) from exc
            raise self._forward_error(None, exc) from exc

    def _forward_error(self, failed: Any, cause: BaseException) -> NncliError:
        """ "the forward pass fails in layer1.0.conv2 (Conv2d) given input [5, 64, 56, 56]:
        <torch's message>", with the functional call (``add (+)``) where one raised."""
        path = getattr(failed, "path", "")
        module_type = getattr(failed, "module_type", None)
        where = f"{path} ({module_type})" if path else f"{self.target.name}.forward"
        shapes = getattr(failed, "input_shapes", None)
        given = f" given input {_shapes_text(shapes)}" if shapes is not None else ""
        function = getattr(failed, "function", None)
        if function:
            call_shapes = getattr(failed, "function_shapes", None)
            given += f", at {function}" + (
                f" with {_shapes_text(call_shapes)}" if call_shapes is not None else ""
            )
        kind = "" if type(cause) is RuntimeError else f"{type(cause).__name__}: "
        if is_out_of_memory(cause):  # the input was fine; the machine was too small
            return RuntimeFailure(
                f"the forward pass ran out of memory in {where}{given}: {_first_line(cause)}",
                hint="try a smaller --batch",
            )
        return UsageError(
            f"the forward pass fails in {where}{given}: {kind}{_first_line(cause)}",
            hint=self._forward_hint(module_type),
        )

    def _forward_hint(self, module_type: str | None) -> str:
        """What to check: the inferred size, token ids' dtype, or the inputs' names."""
        from nncli.core.model.user.inputs import FLOAT_DTYPES

        inferred = [s.inferred_from for s in self.specs if s.inferred_from]
        if inferred:
            return f"the input size was inferred from {inferred[0]}; give --input-size"
        if module_type in ("Embedding", "EmbeddingBag") and any(
            s.dtype in FLOAT_DTYPES for s in self.specs
        ):
            return "an nn.Embedding takes integer ids: add --dtype long (and --vocab N)"
        if any(s.name is not None for s in self.specs) and self.target.kind != "instance":
            forward = getattr(self.target.obj, "forward", None)
            signature = _plain_signature(forward) if forward is not None else "(...)"
            return (
                f"{INPUT_HINT}; named inputs go by keyword when forward{signature} has "
                "parameters of those names, else as one dict"
            )
        if any(s.path is not None for s in self.specs):
            return "check the --input files: one sample's shape after the batch, and the dtype"
        return INPUT_HINT

    def _real(self, meta_model: nn.Module | None) -> SummaryResult:
        """The fallback: a seeded real build on the device, after a memory check."""
        from nncli.core.model.user.inputs import input_bytes

        if meta_model is not None:
            self._infer(meta_model)
            weights = _unique_bytes(meta_model)
        else:
            weights = 0  # unknown: the constructor did not run on meta
        needed = weights + (input_bytes(self.specs, self.batch) if self.specs else 0)
        needed += needed // FALLBACK_MARGIN_FRACTION + FALLBACK_MARGIN_BYTES
        what = (
            f"a real build ({format_bytes(weights)} of weights and buffers, the inputs and "
            "activations)"
            if meta_model is not None
            else "a real build (the inputs and activations; the weights' size is unknown)"
        )
        ensure_fits(needed, "cpu", what)  # built on the CPU, then moved
        if self.device != "cpu":
            ensure_fits(needed, self.device, what)
        model = build_module(
            self.target, self.kwargs, meta=False, device=self.device, seed=self.seed
        )
        self._infer(model)
        self.built_on = self.device
        args, kw = self._inputs(self.device, model)
        return self._summarize(model, args, kw, meta=False)

    def _instance(self, model: nn.Module) -> SummaryResult:
        """An instance: meta copies swapped in for the pass; for real on its own device
        (buffers copied, so running statistics are not updated) if meta fails."""
        from nncli.core.model.user.inputs import input_bytes

        self._infer(model)
        args, kw = self._inputs("meta", model)
        try:
            with swapped(model, meta_state(model)):
                self.built_on = "meta"
                return self._summarize(model, args, kw, meta=True)
        except _MetaUnsupported as exc:
            self.fallback = f"forward does not run on meta tensors: {_brief(exc.cause)}"
        where = module_device(model)
        needed = input_bytes(self.specs, self.batch) + _buffer_bytes(model)
        needed += needed // FALLBACK_MARGIN_FRACTION + FALLBACK_MARGIN_BYTES
        ensure_fits(needed, where, "running the instance for real (its inputs and activations)")
        self.built_on = where
        self.fallback = f"{self.fallback}; run on its own device ({where})"
        args, kw = self._inputs(where, model)
        with swapped(model, buffer_copies(model)):
            return self._summarize(model, args, kw, meta=False)


class _MetaUnsupported(Exception):
    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


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


def _brief(exc: BaseException) -> str:
    return _first_line(exc) if str(exc).strip() else type(exc).__name__


def _shapes_text(shapes: Any) -> str:
    """``[5, 64, 56, 56]``, or the shapes of several inputs separated by commas."""
    if isinstance(shapes, list | tuple) and shapes and all(isinstance(s, int) for s in shapes):
        return str(list(shapes))
    if isinstance(shapes, list | tuple) and len(shapes) == 1:
        return _shapes_text(shapes[0])
    if isinstance(shapes, list | tuple):
        return ", ".join(_shapes_text(s) for s in shapes) if shapes else "()"
    if isinstance(shapes, dict):
        return "{" + ", ".join(f"{k}: {_shapes_text(v)}" for k, v in shapes.items()) + "}"
    return str(shapes)


def _unique_bytes(model: nn.Module) -> int:
    """Parameters and buffers, each tensor counted once (tied weights too)."""
    unique = {id(t): t for t in _tensors(model)}.values()
    return sum(t.numel() * t.element_size() for t in unique)


def _buffer_bytes(model: nn.Module) -> int:
    unique = {id(t): t for t in model.buffers()}.values()
    return sum(t.numel() * t.element_size() for t in unique)


def module_device(model: nn.Module) -> str:
    """Where an instance lives: its first parameter's (or buffer's) device, else the CPU."""
    for tensor in _tensors(model):
        return str(tensor.device)
    return "cpu"


# --- leaving an instance as found ------------------------------------------------------

State = dict[tuple[int, str, str], Any]  # (id(module), "_parameters"|"_buffers", name) -> tensor


def meta_state(model: nn.Module) -> State:
    """A meta copy of every parameter and buffer: same shape, dtype and requires_grad, no
    storage. Tied tensors get one shared copy, so sharing is still detected."""
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

    return _map_state(model, copy, buffers_only=False)


def buffer_copies(model: nn.Module) -> State:
    """A copy of every buffer, so a real forward in training mode (BatchNorm's running
    statistics) cannot change the instance's own."""
    copies: dict[int, Any] = {}

    def copy(tensor: Any) -> Any:
        if id(tensor) not in copies:
            copies[id(tensor)] = tensor.clone()
        return copies[id(tensor)]

    return _map_state(model, copy, buffers_only=True)


def _map_state(model: nn.Module, copy: Callable[[Any], Any], *, buffers_only: bool) -> State:
    state: State = {}
    for module in model.modules():
        kinds = ("_buffers",) if buffers_only else ("_parameters", "_buffers")
        for kind in kinds:
            for name, tensor in getattr(module, kind).items():
                if tensor is not None:
                    state[(id(module), kind, name)] = copy(tensor)
    return state


@contextmanager
def swapped(model: nn.Module, state: State) -> Iterator[None]:
    """``state``'s tensors in place of the model's own for the block; the originals are
    put back in a ``finally`` (the same objects, so nothing about them changes)."""
    modules = {id(m): m for m in model.modules()}
    originals: State = {}
    try:
        for key, tensor in state.items():
            module_id, kind, name = key
            table = getattr(modules[module_id], kind)
            originals[key] = table[name]
            table[name] = tensor
        yield
    finally:
        for (module_id, kind, name), tensor in originals.items():
            getattr(modules[module_id], kind)[name] = tensor
