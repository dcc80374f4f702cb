"""The counting rules every summary shares: parameter formulas and mult-adds.

Pure Python: a config's summary applies them to counts computed from its spec
(:mod:`nncli.core.model.summarize`), a user model's to the parameters its hooked
forward pass finds (:mod:`nncli.core.model.hooks`). One rule, one text.

Mult-adds follow torchinfo 1.8.0 exactly (``LayerInfo.calculate_macs``), so totals
can be compared with it; see :func:`mult_adds`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

MULT_ADDS_RULE = (
    "torchinfo's rule, per call of every leaf layer: a parameter named weight or bias "
    "× the output's first dimension (× its spatial size for Conv layers), other weights "
    "such as an RNN's weight_ih_l0 × the output's first two dimensions; containers and "
    "functional calls add nothing"
)

MACS_RULE = (
    "the multiply-accumulates of the matrix products, convolutions and attention the "
    "forward pass ran, as torch.utils.flop_counter counts their aten ops (mm, bmm, addmm, "
    "baddbmm, convolution, attention's QKᵀ and AV, einsum's products); FLOPs = 2 × MACs; "
    "each row counts what it ran itself, so the rows add up to the total"
)


def mult_adds(params: Iterable[tuple[str, int]], size: Sequence[int], conv: bool) -> int:
    """torchinfo 1.8.0's ``calculate_macs`` for one call of a leaf layer.

    ``params`` are the layer's ``(name, count)`` pairs (a pruned weight already under
    its plain name, counted dense: nncli's rule, see hooks.py); ``size`` is torchinfo's output size;
    ``conv``: torchinfo's test, "Conv" in the class name. A parameter named exactly
    ``weight`` or ``bias`` adds its count × ``size[0]``, or × ``size[0] × size[2] ×
    size[3] ...`` for a conv; any other whose name contains ``weight`` or ``bias`` (an
    RNN's ``weight_ih_l0``) adds its count × ``size[0] × size[1]``; others add 0.
    """
    if not size:
        return 0  # torchinfo itself fails here (output_size[0] of an empty list)
    per_weight = math.prod([size[0], *size[2:]]) if conv else size[0]
    total = 0
    for name, count in params:
        if name in ("weight", "bias"):
            total += count * per_weight
        elif "weight" in name or "bias" in name:
            total += math.prod(size[:2]) * count
    return total


def param_formula(
    counted: Sequence[tuple[str, int]], factors: tuple[int, int] | None = None
) -> str:
    """How a row's parameter count is made up: ``3×3 + 3 = 12``, ``150 + 6 = 156``, ``64``.

    ``counted`` are the ``(name, count)`` pairs counted at this row; ``factors`` the
    ``(in_features, out_features)`` of a layer whose weight is written as a product
    (Linear), else None.
    """
    total = sum(count for _, count in counted)
    if factors is not None and counted:
        names = {name for name, _ in counted}
        parts = []
        if "weight" in names:
            parts.append(f"{factors[0]}×{factors[1]}")
        if "bias" in names:
            parts.append(f"{factors[1]}")
        return f"{' + '.join(parts)} = {total:,}"
    if len(counted) > 1:
        return f"{' + '.join(f'{count:,}' for _, count in counted)} = {total:,}"
    return f"{total:,}" if counted else "0"
