"""Options shared by every command, defined once so every command spells them the same."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from nncli.core.device import DEVICE_CHOICES, ENV_VAR
from nncli.core.model.config import bundled_configs
from nncli.limits import SEED_MAX, check_int, check_seed

if TYPE_CHECKING:
    from nncli.core.model.spec import ModelSpec
    from nncli.core.train.datasets import Standardization

__all__ = ["SEED_MAX", "check_at_least", "check_int", "check_seed"]


def _complete_device(incomplete: str) -> list[str]:
    return [d for d in DEVICE_CHOICES if d.startswith(incomplete)]


def _complete_config(incomplete: str) -> list[str]:
    return [c for c in bundled_configs() if c.startswith(incomplete)]


JsonOpt = Annotated[
    bool,
    typer.Option(
        "--json",
        help="Print exactly one JSON document on stdout (keys in docs/json.md).",
        rich_help_panel="Output",
    ),
]
DeviceOpt = Annotated[
    str | None,
    typer.Option(
        "--device",
        "-d",
        metavar="DEVICE",
        help=(
            f"auto, cpu, cuda, cuda:N or mps. Default: ${ENV_VAR}, else auto "
            "(CUDA, then MPS, then CPU). An unavailable device is an error, never a fallback."
        ),
        autocompletion=_complete_device,
        show_default=False,
    ),
]
SeedOpt = Annotated[
    int,
    typer.Option("--seed", "-s", help="Random seed; the same seed gives identical numbers."),
]
ConfigOpt = Annotated[
    str | None,
    typer.Option(
        "--config",
        "-c",
        metavar="PATH|NAME",
        help=f"Model config: a TOML file, or a bundled name ({', '.join(bundled_configs())}).",
        autocompletion=_complete_config,
        show_default="demo",
    ),
]


def _complete_lang(incomplete: str) -> list[str]:
    from nncli.render.figures import LANGUAGES

    return [lang for lang in LANGUAGES if lang.startswith(incomplete)]


def lang_option(what: str, panel: str) -> Any:
    """``--lang en|zh`` for a command that draws figures; ``what`` says what it labels."""
    return typer.Option(
        "--lang",
        metavar="en|zh",
        help=(
            f"Language of {what}; zh as in the tutorial (needs a CJK font, else English with "
            "a warning). Default: $NNCLI_LANG, else en."
        ),
        autocompletion=_complete_lang,
        show_default=False,
        rich_help_panel=panel,
    )


# --- Figures: shared by every command that saves one ---------------------------------

MIN_DPI, MAX_DPI = 10, 1200


def dpi_option(panel: str) -> Any:
    """``--dpi DPI`` (default 150, from the parameter): the resolution of .png output."""
    return typer.Option(
        "--dpi", metavar="DPI", help="Resolution of .png output.", rich_help_panel=panel
    )


def show_option(panel: str) -> Any:
    """``--show``: also open a window; the file is written either way."""
    return typer.Option(
        "--show",
        help="Also open a window (until closed); without a display, a warning only.",
        rich_help_panel=panel,
    )


# --json carries at most this many samples of each series unless --full-data: enough for
# any plot, while a million-point curve stays a small document.
JSON_POINTS = 10_000
FullDataOpt = Annotated[
    bool,
    typer.Option(
        "--full-data",
        help=(
            f"With --json, every sample; without it the series carry at most "
            f"{JSON_POINTS:,} points (evenly strided, ends kept)."
        ),
        rich_help_panel="Output",
    ),
]


def check_dpi(dpi: int) -> int:
    """``--dpi`` within [MIN_DPI, MAX_DPI], else a usage error naming it."""
    from nncli.errors import UsageError

    if not MIN_DPI <= dpi <= MAX_DPI:
        raise UsageError(f"--dpi must be between {MIN_DPI} and {MAX_DPI}, got {dpi}")
    return dpi


def check_at_least(option: str, value: int, minimum: int = 1) -> int:
    """An integer option within [minimum, MAX_SIZE] (see :mod:`nncli.limits`)."""
    return check_int(option, value, minimum)


def check_batch(batch: int | None, model: str | None) -> None:
    """``--batch``: at least 1, or 0 (no batch dimension) for a --model."""
    if batch is None:
        return
    if batch == 0 and model is None:
        from nncli.errors import UsageError

        raise UsageError(
            "--batch 0 (inputs without a batch dimension) applies to --model only",
            hint="a config model's input always has the batch first; give --batch 1 or more",
        )
    check_int("--batch", batch, 0 if model is not None else 1)


# --- Config models and checkpoints: shared by summary and run ---------------------------

WeightsOpt = Annotated[
    str | None,
    typer.Option(
        "--weights",
        "-w",
        metavar="FILE",
        help=(
            "Use the trained weights of a checkpoint written by `nncli train --save`; its "
            "config is the model unless --config is given (then the two must match)."
        ),
        show_default=False,
    ),
]


def model_and_weights(
    config: str | None, weights: str | None
) -> tuple[ModelSpec, Any, Standardization | None]:
    """The model to use and, with ``--weights``, its trained state_dict and the
    standardisation its inputs were trained with (None without one).

    The checkpoint carries its own config, so ``--weights`` alone is enough; with
    ``--config`` too, read_checkpoint checks the two describe the same model (exit 2).
    """
    from nncli.core.model.config import load_config

    if weights is None:
        return load_config(config), None, None
    from nncli.core.train.checkpoint import read_checkpoint

    checkpoint = read_checkpoint(weights, load_config(config) if config is not None else None)
    return checkpoint.spec, checkpoint.state, checkpoint.standardization


# --- Your own nn.Module (--model) and the tree: shared by summary and run -------------

_MODEL_PANEL = "Your own model (--model)"

ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        metavar="SPEC",
        help=(
            "Your own nn.Module: package.module:NAME or path/to/file.py:NAME, where NAME is a "
            "module class, a function returning a module, or a module instance. This imports "
            "and runs that code. Not with --config."
        ),
        rich_help_panel=_MODEL_PANEL,
        show_default=False,
    ),
]
ModelKwargsOpt = Annotated[
    str | None,
    typer.Option(
        "--model-kwargs",
        metavar="JSON",
        help="Arguments for NAME, as a JSON object: '{\"num_classes\": 10}'.",
        rich_help_panel=_MODEL_PANEL,
        show_default=False,
    ),
]
InputSizeOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--input-size",
        metavar="DIMS",
        help=(
            "One sample's shape, without the batch: 3,224,224. Repeat it for a model with "
            "several inputs; NAME=DIMS passes them by name (keyword arguments, or one dict), "
            "after any positional ones. An empty DIMS (lengths=) is one scalar per sample."
        ),
        rich_help_panel=_MODEL_PANEL,
        show_default=False,
    ),
]
DtypeOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--dtype",
        metavar="DTYPE",
        help=(
            "Input dtype: float32 (default), float16, bfloat16, float64, long (token ids), "
            "int32, bool. One value for all inputs, one per --input-size, or NAME=DTYPE."
        ),
        rich_help_panel=_MODEL_PANEL,
        show_default=False,
    ),
]
VocabOpt = Annotated[
    int | None,
    typer.Option(
        "--vocab",
        metavar="N",
        help=(
            "Random integer inputs are drawn from [0, N). Default: the smallest "
            "nn.Embedding's num_embeddings in the model, else 2."
        ),
        rich_help_panel=_MODEL_PANEL,
        show_default=False,
    ),
]
DEFAULT_DEPTH = 3  # of the module tree: summary's rows, draw's blocks (torchinfo's too)
DepthOpt = Annotated[
    int,
    typer.Option(
        "--depth",
        metavar="N",
        help="Show the module tree to depth N; deeper modules are folded into their parent.",
        rich_help_panel=_MODEL_PANEL,
    ),
]
FunctionalOpt = Annotated[
    bool | None,
    typer.Option(
        "--functional/--no-functional",
        help=(
            "Show calls such as F.relu, torch.flatten and x + residual made inside forward() "
            "as rows under their module. Default: on when --depth is 3 or more."
        ),
        rich_help_panel=_MODEL_PANEL,
        show_default=False,
    ),
]


def check_model_options(
    model: str | None,
    config: str | None,
    *,
    weights: str | None = None,
    model_kwargs: str | None = None,
    input_sizes: list[str] | None = None,
    dtypes: list[str] | None = None,
    vocab: int | None = None,
    functional: bool | None = None,
) -> None:
    """--model against --config and the options that only mean something with one of them.

    An option given is a value, even an empty one (``--model-kwargs ''``, ``--vocab 0``).
    """
    from nncli.errors import UsageError

    if model is None:
        given = [
            name
            for name, value in (
                ("--model-kwargs", model_kwargs),
                ("--input-size", input_sizes),
                ("--dtype", dtypes),
                ("--vocab", vocab),
                ("--functional/--no-functional", functional),
            )
            if value is not None and value != []
        ]
        if given:
            verb = "applies" if len(given) == 1 else "apply"
            raise UsageError(
                f"{', '.join(given)} only {verb} to --model (your own nn.Module)",
                hint="a config's input comes from its input_features or input_shape"
                if given != ["--functional/--no-functional"]
                else "a config's summary has no functional rows",
            )
        return
    if config is not None:
        raise UsageError(
            "--model and --config cannot be combined: give one model",
            hint="--config is a TOML model; --model is your own nn.Module",
        )
    if weights is not None:
        raise UsageError(
            "--weights applies to a config model (a checkpoint of `nncli train --save`), "
            "not to --model"
        )
    if vocab is not None:
        check_at_least("--vocab", vocab)
