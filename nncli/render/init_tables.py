"""Rich tables and the JSON document of ``nncli init-stats``."""

from __future__ import annotations

import math
from typing import Any

from rich.console import Console
from rich.text import Text

from nncli.core.initstats import InitStatsResult, SchemeStats
from nncli.core.propagation import Propagation
from nncli.render.tables import new_table

LAYER_ROWS = 12  # above 2 × this many layers the table shows the first and last ones


def _g(x: float | None, digits: int = 4) -> str:
    if x is None:
        return "-"
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.{digits}g}"


def _params(res: SchemeStats) -> str:
    # choices (mode, nonlinearity) are self-explanatory without their key
    return " ".join(f"{k}={v:g}" if isinstance(v, float) else str(v) for k, v in res.values.items())


def render_init_stats(result: InitStatsResult, console: Console) -> None:
    first = result.results[0]
    console.print(
        Text.assemble(
            ("init-stats", "bold"),
            f" · weight (fan_out, fan_in) = ({first.fan_out:,}, {first.fan_in:,}), "
            f"{first.numel:,} values · device {result.device} · seed {result.seed}",
        )
    )
    table = new_table()
    table.add_column("Scheme", overflow="fold", min_width=14)
    table.add_column("", no_wrap=True, style="dim")
    for name in ("mean", "std", "variance", "min", "max"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("σ err", justify="right", no_wrap=True)
    table.add_column("check", overflow="fold", min_width=5)
    for res in result.results:
        t, e, c = res.theory, res.empirical, res.check
        err = "exact" if c.std_rel_error is None else f"{c.std_rel_error:+.2%}"
        tol = "" if c.std_rel_error is None else f"\n±{c.std_tolerance:.2%}"
        verdict = Text.assemble("\n", ("ok", "green") if c.ok else (c.verdict, "red"))
        params = _params(res)
        table.add_row(
            Text.assemble((res.scheme, "bold"), (f"\n{params}" if params else "", "dim")),
            "theory\nmeasured",
            f"{_g(t.mean)}\n{_g(e.mean, 3)}",
            f"{_g(t.std)}\n{_g(e.std)}",
            f"{_g(t.variance)}\n{_g(e.std * e.std)}",
            f"{_g(t.low)}\n{_g(e.min)}",
            f"{_g(t.high)}\n{_g(e.max)}",
            Text.assemble("\n", err, (tol, "dim")),
            verdict,
            end_section=True,
        )
    console.print(table)
    console.print(
        Text.assemble(("Theory", "bold"), " (from the formulas, independently of torch):")
    )
    for res in result.results:
        console.print(f"  {res.scheme}: {res.theory.formula}", soft_wrap=False)
    console.print(
        "min/max theory: the support's ends where it is bounded. σ err: the relative error of "
        "the measured std; ok within ± 5 standard errors of the sampling noise for this many "
        "values (mean and bounds are checked too).",
        style="dim",
    )
    for res in result.results:
        if res.propagation is not None:
            render_propagation(res.scheme, res.propagation, console)


def render_propagation(scheme: str, prop: Propagation, console: Console) -> None:
    console.print()
    console.print(
        Text.assemble(
            (scheme, "bold"),
            f" through {prop.depth} layers of {prop.width} × {prop.width} "
            f"(no bias) + {prop.activation}, batch {prop.batch}; backward from sum(output)",
        )
    )
    table = new_table()
    table.add_column("Layer", justify="right")
    table.add_column("act mean", justify="right")
    table.add_column("act std", justify="right")
    table.add_column("saturated", justify="right")
    table.add_column("dead", justify="right")
    table.add_column("grad std", justify="right")
    layers = prop.layers
    shown = layers
    if len(layers) > 2 * LAYER_ROWS:
        shown = layers[:LAYER_ROWS] + layers[-LAYER_ROWS:]
    for i, lay in enumerate(shown):
        if len(shown) < len(layers) and i == LAYER_ROWS:
            table.add_row("…", "", "", "", "", "")
        table.add_row(
            str(lay.layer),
            _g(lay.activation_mean, 3),
            _g(lay.activation_std, 3),
            f"{lay.saturated_fraction:.1%}",
            "-" if lay.dead_fraction is None else f"{lay.dead_fraction:.1%}",
            _g(lay.grad_std, 3),
        )
    console.print(table)
    if len(shown) < len(layers):
        console.print(
            f"… {len(layers) - len(shown)} layers not shown (--json has all)", style="dim"
        )
    console.print(
        f"activation std, layer {prop.depth}/layer 1: {_g(prop.activation_ratio, 3)} · "
        f"gradient std, layer 1/layer {prop.depth}: {_g(prop.gradient_ratio, 3)}"
    )
    colour = {"stable": "green", "saturated": "yellow"}.get(prop.verdict, "red")
    console.print(Text.assemble((prop.verdict, f"bold {colour}"), f": {prop.evidence}"))


def init_stats_document(result: InitStatsResult, saved: list[str]) -> dict[str, Any]:
    """The ``--json`` payload; non-finite numbers become null in :func:`emit`."""
    return {
        "device": result.device,
        "seed": result.seed,
        "activation": result.activation,
        "depth": result.depth,
        "batch": result.batch,
        "results": [_result(res) for res in result.results],
        "files": saved,
    }


def _result(res: SchemeStats) -> dict[str, Any]:
    t, e, c = res.theory, res.empirical, res.check
    doc: dict[str, Any] = {
        "scheme": res.scheme,
        "fan_in": res.fan_in,
        "fan_out": res.fan_out,
        "params": res.numel,  # the weight's parameter count, as in `summary --json`
        "options": dict(res.values),
        "theory": {
            "mean": t.mean,
            "std": t.std,
            "variance": t.variance,
            "bound": t.bound,
            "low": t.low,
            "high": t.high,
            "gain": t.gain,
            "formula": t.formula,
        },
        "empirical": {"mean": e.mean, "std": e.std, "min": e.min, "max": e.max},
        "check": {
            "std_rel_error": c.std_rel_error,
            "std_tolerance": c.std_tolerance,
            "mean_error": c.mean_error,
            "mean_tolerance": c.mean_tolerance,
            "in_bounds": c.in_bounds,
            "ok": c.ok,
            "verdict": c.verdict,
        },
        "warnings": list(res.warnings),
    }
    prop = res.propagation
    if prop is not None:
        doc["layers"] = [
            {
                "layer": lay.layer,
                "activation_mean": lay.activation_mean,
                "activation_std": lay.activation_std,
                "saturated_fraction": lay.saturated_fraction,
                "dead_fraction": lay.dead_fraction,
                "grad_std": lay.grad_std,
            }
            for lay in prop.layers
        ]
        doc["propagation"] = {
            "activation": prop.activation,
            "width": prop.width,
            "depth": prop.depth,
            "batch": prop.batch,
            "activation_ratio": prop.activation_ratio,
            "gradient_ratio": prop.gradient_ratio,
            "activation_factor": prop.activation_factor,
            "gradient_factor": prop.gradient_factor,
            "verdict": prop.verdict,
            "evidence": prop.evidence,
            "overflow_layer": prop.overflow_layer,
        }
    return doc
