"""What ``summary --model`` and ``run --model`` are asked, and its first checks.

:class:`ModelRequest` holds the options both commands take for the user's own model;
:func:`prepare` resolves SPEC, parses ``--model-kwargs`` and the inputs and checks the
keyword arguments against NAME's signature, all before anything of the user's runs
but the import (itself guarded: see :mod:`nncli.core.model.user.call`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nncli.core.model.user.call import call_user, user_output
from nncli.core.model.user.target import (
    Target,
    check_kwargs,
    parse_model_kwargs,
    resolve_target,
)

if TYPE_CHECKING:
    from nncli.core.model.user.inputs import InputSpec

DEFAULT_BATCH = 5


@dataclass(frozen=True)
class ModelRequest:
    """The options of ``--model SPEC`` as given on the command line.

    ``input_sizes`` (``--input-size``), ``dtypes`` (``--dtype``), ``input_files``
    (``--input``) are the repeated options in order; ``device`` is already selected
    (``cpu``, ``cuda:0`` ...); ``seed`` draws real weights and inputs.
    """

    spec: str
    kwargs_text: str | None = None
    input_sizes: tuple[str, ...] = ()
    dtypes: tuple[str, ...] = ()
    vocab: int | None = None
    input_files: tuple[str, ...] = ()
    batch: int = DEFAULT_BATCH
    device: str = "cpu"
    seed: int = 0


@dataclass
class Prepared:
    """A request with SPEC resolved and its options parsed. ``specs`` is empty when no
    input was given: it is inferred from the built model."""

    request: ModelRequest
    target: Target
    kwargs: dict[str, Any]
    specs: list[InputSpec]


def prepare(request: ModelRequest) -> Prepared:
    """Resolve SPEC (importing the user's code, guarded), then parse --model-kwargs and
    the inputs and check the keyword arguments against NAME's signature."""
    from nncli.core.model.user.inputs import parse_inputs

    with user_output():
        target = call_user(lambda: resolve_target(request.spec), f"importing {request.spec}")
    kwargs = parse_model_kwargs(request.kwargs_text)
    check_kwargs(target, kwargs)  # before anything runs: the signature is in the message
    specs = parse_inputs(list(request.input_sizes), list(request.dtypes), list(request.input_files))
    _check_unbatched(request, specs)
    return Prepared(request, target, kwargs, specs)


def _check_unbatched(request: ModelRequest, specs: list[InputSpec]) -> None:
    """``--batch 0`` (no batch dimension) with an empty DIMS would be a 0-d input: refused,
    as an empty DIMS means one scalar per sample and there are no samples."""
    from nncli.core.model.user.inputs import UNBATCHED
    from nncli.errors import UsageError

    if request.batch != UNBATCHED:
        return
    for text, spec in zip(request.input_sizes, specs, strict=False):
        if not spec.shape:
            raise UsageError(
                f"--input-size {text!r}: an empty DIMS is one value per sample, and "
                "--batch 0 has no batch dimension",
                hint="give the input's own shape (e.g. 1), or a --batch of 1 or more",
            )
