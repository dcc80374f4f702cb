"""Options shared by every command, defined once so every command spells them the same."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from nncli.core.device import DEVICE_CHOICES, ENV_VAR
from nncli.limits import SEED_MAX, check_int, check_seed

__all__ = ["SEED_MAX", "check_at_least", "check_int", "check_seed"]


def _complete_device(incomplete: str) -> list[str]:
    return [d for d in DEVICE_CHOICES if d.startswith(incomplete)]


def _complete_config(incomplete: str) -> list[str]:
    from nncli.core.model.config import bundled_configs

    return [c for c in bundled_configs() if c.startswith(incomplete)]


JsonOpt = Annotated[
    bool,
    typer.Option(
        "--json",
        help="Print exactly one JSON document on stdout (keys documented in the README).",
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
        help="Model config: a TOML file, or a bundled name (demo, mnist_mlp, deep_tanh, wide_10b).",
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


def check_at_least(option: str, value: int, minimum: int = 1) -> int:
    """An integer option within [minimum, MAX_SIZE] (see :mod:`nncli.limits`)."""
    return check_int(option, value, minimum)
