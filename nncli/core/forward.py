"""``nncli run``'s core: a seeded forward pass through a config's model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nncli.core.config import ModelSpec
from nncli.core.memory import FLOAT32, ensure_fits

SUM_TOLERANCE = 1e-5


@dataclass
class NamedParam:
    name: str
    shape: list[int]
    values: Any  # nested lists of floats


@dataclass
class RunResult:
    model_name: str
    source: str
    device: str
    seed: int
    input_source: str  # "random N(0, 1)" or the --input path
    input_shape: list[int]
    output_shape: list[int]
    output: list[list[float]]
    predictions: list[int]
    row_sums: list[float]
    softmax_output: bool  # the last layer is softmax: rows must sum to 1
    sums_to_one: bool | None  # None when the output is not a softmax
    params: list[NamedParam] | None = None


def estimate_bytes(spec: ModelSpec, batch: int) -> int:
    """float32 bytes for the weights plus every layer's input and output for ``batch`` rows."""
    widths = [spec.input_features]
    for layer in spec.layers:
        widths.append(layer.out_features)
        if layer.activation:
            widths.append(layer.out_features)
    return FLOAT32 * (spec.linear_params() + batch * sum(widths))


def run_forward(
    spec: ModelSpec,
    device: str,
    *,
    batch: int = 5,
    seed: int = 0,
    rows: Any = None,
    input_label: str | None = None,
    with_params: bool = False,
) -> RunResult:
    """Build the model under ``seed``, draw (or take) the input, and run it once.

    The order is the tutorial's: ``torch.manual_seed(seed)``, build the model, then
    ``torch.randn(batch, features)``. Weights and input are drawn on the CPU and
    moved, so the numbers do not depend on the device.
    """
    if rows is not None:
        batch = int(rows.shape[0])
    ensure_fits(estimate_bytes(spec, batch), device, f"a forward pass of batch {batch}")

    import torch

    from nncli.core.model import build_model, random_input, seeded

    with seeded(seed):
        built = build_model(spec, device)
        x = random_input(spec, batch) if rows is None else torch.from_numpy(rows)
    x = x.to(torch.device(device))
    with torch.no_grad():
        y = built.model(x).float().cpu()
    softmax = spec.layers[-1].activation == "softmax"
    sums = y.sum(dim=-1)
    return RunResult(
        model_name=spec.name,
        source=spec.source,
        device=device,
        seed=seed,
        input_source=input_label or "random N(0, 1)",
        input_shape=list(x.shape),
        output_shape=list(y.shape),
        output=y.tolist(),
        predictions=y.argmax(dim=-1).tolist(),
        row_sums=sums.tolist(),
        softmax_output=softmax,
        sums_to_one=bool(torch.all((sums - 1).abs() < SUM_TOLERANCE)) if softmax else None,
        params=[
            NamedParam(name, list(p.shape), p.detach().float().cpu().tolist())
            for name, p in built.model.named_parameters()
        ]
        if with_params
        else None,
    )
