"""Run planning for ``nncli train``: the comma lists' product, as runs with names.

A comma list in ``--activation``, ``--init``, ``--optimizer`` or ``--lr`` trains one
run per combination on the same data with the same seed, so the runs differ only in
what the user varied. This module turns the parsed lists into the runs (each with its
model, its loss and that pairing's warnings), and names a run by what was varied: the
progress bar, the tables, the figure and the CI gates all call a run the same.

Option parsing (the comma lists' text) stays in ``commands/train.py``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from nncli.errors import UsageError

if TYPE_CHECKING:
    from nncli.core.model.spec import ModelSpec
    from nncli.core.train.datasets import Dataset
    from nncli.core.train.trainer import RunConfig

MAX_RUNS = 64  # a cartesian product grows fast; more runs than this is a typo, not a study
VARIED = ("activation", "init", "optimizer", "lr")  # what a comma list may vary, in label order


@dataclass
class RunPlan:
    """One run to train: its settings, its model, and the pitfalls of its loss pairing."""

    config: RunConfig
    spec: ModelSpec
    warnings: list[str] = field(default_factory=list)


def check_run_count(*choices: Sequence[object]) -> int:
    """The number of runs the lists make; more than :data:`MAX_RUNS` is a usage error,
    raised before any data is generated or model built."""
    count = math.prod(len(values) for values in choices)
    if count > MAX_RUNS:
        raise UsageError(f"the comma lists make {count} runs; at most {MAX_RUNS} are allowed")
    return count


def plan_runs(
    ds: Dataset,
    *,
    config: ModelSpec | None,
    hidden: tuple[int, ...] | None,
    activations: Sequence[str | None],
    inits: Sequence[str | None],
    optimizers: Sequence[str],
    lrs: Sequence[float],
    loss: str | None,
    weight_decay: float,
    l1: float,
) -> list[RunPlan]:
    """One :class:`RunPlan` per combination, in the product's order (activation slowest).

    Every model is specified, and every loss resolved and checked against the data,
    here: a bad fifth combination fails before the first run trains.
    """
    from nncli.core.train.trainer import (
        DEFAULT_ACTIVATION,
        RunConfig,
        check_targets,
        model_spec,
        resolve_loss,
    )

    plans = []
    for act, ini, opt, rate in itertools.product(activations, inits, optimizers, lrs):
        activation = None if config is not None else (act or DEFAULT_ACTIVATION)
        spec = model_spec(
            ds,
            config=config,
            hidden=hidden,
            activation=act if config is not None else activation,
            init=ini,
        )
        chosen, warnings = resolve_loss(ds.task, spec, loss)
        check_targets(ds, chosen)
        run = RunConfig(
            activation=activation,
            init=ini,
            optimizer=opt,
            lr=rate,
            hidden=hidden,
            loss=chosen,
            weight_decay=weight_decay,
            l1=l1,
        )
        plans.append(RunPlan(run, spec, warnings))
    return plans


def run_label(run: RunConfig, varied: list[str] | None = None) -> str:
    """``relu/kaiming_normal``: the values the comma lists varied (all of them by default)."""
    parts = {
        "activation": run.activation or "config",
        "init": run.init or "default",
        "optimizer": run.optimizer,
        "lr": f"lr={run.lr:g}",
    }
    keys = varied if varied else list(parts)
    return "/".join(parts[k] for k in keys)


def varied_keys(runs: Sequence[RunConfig]) -> list[str]:
    """The settings that differ between the runs, in :data:`VARIED` order."""
    return [key for key in VARIED if len({getattr(r, key) for r in runs}) > 1]


def run_names(runs: Sequence[RunConfig], single: str) -> list[str]:
    """Each run's name: ``single`` for a lone run, else the values that were varied."""
    if len(runs) <= 1:
        return [single] * len(runs)
    varied = varied_keys(runs)
    return [run_label(run, varied) for run in runs]
