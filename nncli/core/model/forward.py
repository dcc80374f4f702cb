"""``nncli run``'s core: a seeded forward pass through a config's model."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from nncli.core.memory import FLOAT32, ensure_fits
from nncli.core.model.results import SUM_TOLERANCE, NamedParam, RunResult
from nncli.core.model.spec import ModelSpec, check_batch_statistics
from nncli.limits import STREAM_CHUNK_VALUES

# Per output row, after the forward pass, on the host: the row sum (float32),
# the argmax (int64) and the softmax check's temporaries (sum - 1, its abs, a bool).
ROW_EXTRA_BYTES = 4 + 8 + 4 + 4 + 1
# --json streams values in chunks of STREAM_CHUNK_VALUES; a chunk is held as Python
# floats (24 bytes each plus an 8-byte list slot) and as JSON text (at most ~25 bytes
# a value), so the output never costs more than a chunk's worth at a time.
STREAM_BYTES_PER_VALUE = 24 + 8 + 32


@dataclass(frozen=True)
class RunMemory:
    """Bytes a run holds at its peak: on the device, and besides that on the host (CPU)."""

    device: int
    host: int


def layer_widths(spec: ModelSpec) -> list[int]:
    """Values per sample: the input's, then every layer's output (the layer's, then its
    activation's); a conv layer's output counts all its channels and positions."""
    widths = [spec.input_features]
    for layer, shape in zip(spec.layers, spec.layer_shapes, strict=True):
        widths.append(math.prod(shape))
        if layer.activation:
            widths.append(math.prod(shape))
    return widths


def estimate(
    spec: ModelSpec, batch: int, device: str = "cpu", *, with_params: bool = False
) -> RunMemory:
    """An upper bound of what ``run`` holds beyond the loaded Python + torch runtime.

    The cost model (tests/test_run_memory.py measures it against peak RSS):

    - device: float32 weights and buffers (BatchNorm's statistics), plus ``batch``
      rows of every layer's input and output. Under no_grad a layer's input is freed
      once its output exists, so counting all of them at once over-counts; the slack
      covers softmax's temporaries.
    - host, per row: the sum, the argmax and the softmax check
      (:data:`ROW_EXTRA_BYTES`). --json streams the values in chunks
      (:data:`STREAM_CHUNK_VALUES`), a fixed cost whatever the batch; the table
      formats only the rows it shows.
    - host, off the CPU only: the input drawn on the CPU, the output copied back
      and, with ``--params``, the weights copied back (on the CPU these are the
      device's own tensors, already counted).
    """
    params = spec.param_count()
    on_device = FLOAT32 * (params + spec.buffer_count() + batch * sum(layer_widths(spec)))
    host = batch * ROW_EXTRA_BYTES + STREAM_CHUNK_VALUES * STREAM_BYTES_PER_VALUE
    if device != "cpu":
        host += FLOAT32 * batch * (spec.input_features + spec.output_features)
        host += FLOAT32 * params if with_params else 0
    return RunMemory(device=on_device, host=host)


def ensure_run_fits(spec: ModelSpec, batch: int, device: str, *, with_params: bool) -> None:
    """Refuse (exit 1), before allocating, a run that would not fit where it runs."""
    need = estimate(spec, batch, device, with_params=with_params)
    what = f"a forward pass of batch {batch:,}"
    if device == "cpu":
        ensure_fits(need.device + need.host, "cpu", what)
    else:
        ensure_fits(need.device, device, what)
        ensure_fits(need.host, "cpu", f"{what} (its host side)")


def run_forward(
    spec: ModelSpec,
    device: str,
    *,
    batch: int = 5,
    seed: int = 0,
    rows: Any = None,
    input_label: str | None = None,
    with_params: bool = False,
    state_dict: Any = None,
    standardization: Any = None,
) -> RunResult:
    """Build the model under ``seed``, draw (or take) the input, and run it once.

    ``standardization`` (a checkpoint's :class:`~nncli.core.train.datasets.Standardization`)
    is applied to ``rows``, the user's raw features, before the pass, as training applied
    it to the training split. Random inputs are not transformed: N(0, 1) draws are already
    in the standardised space (mean 0, std 1 per feature), which is where the model works.

    The order is the tutorial's: ``torch.manual_seed(seed)``, build the model, then
    ``torch.randn(batch, *input_shape)``. The model runs in eval mode: dropout is off
    and batch norm uses its running statistics, as in inference. Weights and input are
    drawn on the CPU and moved, so the numbers do not depend on the device. Results
    stay numpy arrays: converting millions of rows to Python floats costs ~8x their float32 size.
    """
    applied = False
    if rows is not None:
        batch = int(rows.shape[0])
        if standardization is not None:
            rows = _standardized(rows, standardization)
            applied = True
    check_batch_statistics(
        spec, batch, training=False, hint="run 2 rows or more, or set track_running_stats = true"
    )
    ensure_run_fits(spec, batch, device, with_params=with_params)

    import torch

    from nncli.core.model.build import build_model, random_input
    from nncli.core.seed import seeded

    with seeded(seed):
        built = build_model(spec, device)
        if state_dict is not None:  # trained weights (run --weights) replace the seeded ones
            built.model.load_state_dict(state_dict)
        x = random_input(spec, batch) if rows is None else torch.from_numpy(rows)
    # Rows of prod(input_shape) values (a CSV) are reshaped to the model's input shape.
    x = x.reshape(x.shape[0], *spec.sample_shape)
    built.model.eval()
    input_shape = list(x.shape)
    x = x.to(torch.device(device))
    with torch.no_grad():
        y = built.model(x).float().cpu()
    del x  # the input is not needed any more: free it before the row statistics
    softmax = spec.layers[-1].activation == "softmax"
    sums = y.sum(dim=-1)
    return RunResult(
        model_name=spec.name,
        source=spec.source,
        device=device,
        seed=seed,
        input_source=input_label or "random N(0, 1)",
        input_shape=input_shape,
        output_shape=list(y.shape),
        output=y.numpy(),
        # With one output the argmax is 0 for every row: it says nothing.
        predictions=y.argmax(dim=-1).numpy() if y.shape[-1] > 1 else None,
        row_sums=sums.numpy(),
        softmax_output=softmax,
        sums_to_one=bool(torch.all((sums - 1).abs() < SUM_TOLERANCE)) if softmax else None,
        params=[
            NamedParam(name, list(p.shape), p.detach().float().cpu().numpy())
            for name, p in built.model.named_parameters()
        ]
        if with_params
        else None,
        standardization=standardization,
        standardized_input=applied,
    )


def _standardized(rows: Any, standardization: Any) -> Any:
    """The rows standardised: in place when they are a writable float32 array that owns
    its data (a CSV's rows from load_rows, which run hands over), so a large --input
    costs no second copy; a copy otherwise."""
    import numpy as np

    own = (
        rows.dtype == np.float32
        and rows.flags.owndata
        and rows.flags.writeable
        and rows.flags.c_contiguous
    )
    flat = rows.reshape(rows.shape[0], -1)
    result = standardization.apply(flat, out=flat if own else None)
    return result.reshape(rows.shape)
