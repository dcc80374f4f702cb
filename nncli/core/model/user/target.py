"""The user's own ``nn.Module`` (``--model SPEC``): find it, and check its arguments.

**This imports and runs the user's code**, as torchinfo, torchsummary or any such
tool does: importing the file or module executes its top level, and building
the model runs its constructor (or factory) and its ``forward``. Give ``--model``
only code you trust.

``SPEC`` is ``package.module:NAME`` or ``path/to/file.py:NAME``. NAME is an
``nn.Module`` subclass (built with ``--model-kwargs``), a function returning a
module, or a module instance (used as it is, never rebuilt or moved).

Building and running it is :mod:`nncli.core.model.user.call`'s (every call of the
user's code is guarded there); ``summary`` and ``run`` are
:mod:`~nncli.core.model.user.summary` and :mod:`~nncli.core.model.user.run`.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import itertools
import json
import os
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nncli.errors import UsageError

SPEC_FORMS = "package.module:NAME or path/to/file.py:NAME"
KWARGS_EXAMPLE = "--model-kwargs '{\"num_classes\": 10}'"
_counter = itertools.count(1)


@dataclass
class Target:
    """What ``SPEC`` names. ``kind``: "class", "factory" or "instance"."""

    spec: str
    name: str
    kind: str
    obj: Any
    # First on sys.path while the user's code runs: a file's folder (its sibling modules),
    # or the current directory for a module, as when the SPEC was imported.
    folder: str | None = None


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
    if _is_path(where):
        module, label = _import_file(where)
        folder = str(Path(where).resolve().parent)
    else:
        (module, label), folder = _import_module(where), os.getcwd()
    obj = _lookup(module, label, name)
    return Target(spec=spec, name=name, kind=_kind(obj, name, label), obj=obj, folder=folder)


@contextmanager
def user_path(target: Target) -> Iterator[None]:
    """The target's folder first on sys.path while its code runs (a factory that imports
    a sibling module when it is called, not when its file is imported)."""
    if target.folder is None:
        yield
        return
    with _first_on_path(target.folder):
        yield


def lazy_imports(obj: Any) -> list[str]:
    """The modules ``obj``'s own source imports when it runs (a factory's body, or a
    class's ``__init__`` and the rest of the class), absolute names, in source order:
    ``import torchvision`` inside a factory, ``from .blocks import Stem`` in a method.
    Nothing when the source cannot be read."""
    import ast
    import textwrap

    try:
        source = textwrap.dedent(inspect.getsource(obj))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError, IndentationError):
        return []
    package = getattr(inspect.getmodule(obj), "__package__", None) or None
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            relative = "." * node.level + (node.module or "")
            try:
                base = importlib.util.resolve_name(relative, package) if node.level else relative
            except (ImportError, ValueError):
                continue
            names.append(base)
            names.extend(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    return list(dict.fromkeys(name for name in names if name))


def preimport(target: Target) -> None:
    """Import what the target imports when it is called, before a meta build calls it.

    Under ``torch.device("meta")`` every tensor a module creates *at import* would be a
    meta tensor, and stay one in that library for the rest of the process (a constant
    table, a registered buffer template). Imported first, on the default device, the
    library is the one a plain ``import`` gives. A ``from m import name`` tries
    ``m.name`` as a submodule too; a name that fails to import is left for the call
    itself, which raises (and reports) the same error in its place.
    """
    for name in lazy_imports(target.obj):
        if name in sys.modules:
            continue
        with user_path(target), suppress(Exception):
            importlib.import_module(name)


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
    if debugger_quit(exc):
        return UsageError(f"--model {where}: importing it {DEBUGGER_QUIT}", hint=DEBUGGER_HINT)
    message = first_line(exc)
    at = location(exc, user_file)
    return UsageError(
        f"--model {where}: importing it raised {type(exc).__name__}: {message}"
        + (f" ({at})" if at else ""),
        hint="the error is in your code or in a module it imports",
    )


DEBUGGER_QUIT = "started the debugger (breakpoint() or pdb.set_trace()), which was quit (BdbQuit)"
DEBUGGER_HINT = (
    "remove the breakpoint, or set PYTHONBREAKPOINT=0 to skip breakpoint() calls; without a "
    "terminal on stdin, the debugger quits at once"
)


def debugger_quit(exc: BaseException) -> bool:
    """``exc`` is pdb's ``bdb.BdbQuit`` (no debugger imported: it cannot be)."""
    bdb = sys.modules.get("bdb")
    return bdb is not None and isinstance(exc, bdb.BdbQuit)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "(no message)"


def location(exc: BaseException, user_file: str | None) -> str | None:
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
    return f"{target.name}{plain_signature(target.obj)}"


def plain_signature(obj: Any) -> str:
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
