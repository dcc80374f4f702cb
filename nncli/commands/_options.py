"""Options shared by every command, defined once so every command spells them the same."""

from __future__ import annotations

from typing import Annotated

import typer

from nncli.core.device import DEVICE_CHOICES, ENV_VAR


def _complete_device(incomplete: str) -> list[str]:
    return [d for d in DEVICE_CHOICES if d.startswith(incomplete)]


def _complete_config(incomplete: str) -> list[str]:
    from nncli.core.config import bundled_configs

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


SEED_MAX = 2**64 - 1  # torch.manual_seed's range for non-negative seeds


def check_seed(seed: int) -> int:
    """Seeds are validated here, not by Typer, so the message names the value."""
    from nncli.errors import UsageError

    if not 0 <= seed <= SEED_MAX:
        raise UsageError(f"--seed must be between 0 and 2**64 - 1, got {seed}")
    return seed


def check_at_least(option: str, value: int, minimum: int = 1) -> int:
    from nncli.errors import UsageError

    if value < minimum:
        raise UsageError(f"{option} must be at least {minimum}, got {value}")
    return value
