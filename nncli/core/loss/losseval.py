"""``nncli loss NAME --pred ... --target ...``: a loss evaluated on the user's numbers.

Everything is validated before torch sees it, per the loss's conventions (what
the prediction and the target must be), so a bad input is a usage error that
names the value and the rule, never a torch traceback or a silent NaN. Inputs
that are valid but evidently of the wrong kind (probabilities given to a loss
that takes logits) are computed and warned about: those are the pitfalls the
registry lists. Values come from the torch module itself, gradients from autograd.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nncli.core.inputs import FLOAT_TYPES
from nncli.core.loss.losses import LOSSES, TARGET_KINDS, Loss
from nncli.errors import UsageError
from nncli.fmt import num

if TYPE_CHECKING:
    import numpy as np

REDUCTIONS = ("mean", "sum", "none")
DTYPES = tuple(FLOAT_TYPES)
# A row "sums to 1" within this: probabilities typed by hand (0.33, 0.33, 0.33) are
# rounded, and logits that happen to sum to 1 this closely are rare.
SUM_TOLERANCE = 0.01
BCE_LOG_CLAMP = -100.0  # torch's BCELoss clamps each log here, so a loss never exceeds 100
GAUSSIAN_EPS = 1e-6  # GaussianNLLLoss clamps the variance to at least this


@dataclass
class LossEvaluation:
    loss: str
    params: dict[str, Any]
    reduction: str
    value: float | list  # the reduced loss (the per-element list with reduction "none")
    elements: list  # per-element losses (reduction "none"), nested like torch's output
    grad: list  # ∂(reduced loss)/∂prediction by autograd, the prediction's shape
    pred_shape: list[int]
    target_shape: list[int]
    warnings: list[str] = field(default_factory=list)  # pitfalls detected
    notes: list[str] = field(default_factory=list)  # how the inputs were read
    dtype: str = "float64"
    # What torch was given, for the table: the prediction, and the target (one value
    # broadcast to every element, class indices as integers).
    pred_values: list = field(default_factory=list)
    target_values: list = field(default_factory=list)


@dataclass
class _Inputs:
    """The validated arrays torch receives, and what was found on the way."""

    pred: np.ndarray
    target: np.ndarray
    extra: np.ndarray | None
    index_target: bool = False  # class indices (int64) rather than values
    # The shape one given target value stands for (broadcast once it is checked, so
    # a message names the value as given, not the 100 copies of it).
    broadcast: tuple[int, ...] | None = None
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# --- the conventions of each loss ------------------------------------------------
# How each loss reads its target is the registry's ``target_kind`` (TARGET_KINDS).
REAL, UNIT, CLASS, SIGN, DISTRIBUTION, COUNT = TARGET_KINDS
EXTRA_OPTION = {"pred_var": "--var", "pair": "--pred2"}


def evaluate(
    loss: Loss,
    params: dict[str, Any],
    pred: np.ndarray,
    target: np.ndarray,
    *,
    reduction: str = "mean",
    extra: np.ndarray | None = None,
    dtype: str = "float64",
) -> LossEvaluation:
    """``loss`` on ``pred`` and ``target``: the reduced value, the per-element losses
    and ∂(reduced loss)/∂pred, after every check the loss's conventions call for."""
    if reduction not in REDUCTIONS:
        raise UsageError(f"--reduction {reduction!r}: choose from {', '.join(REDUCTIONS)}")
    if dtype not in DTYPES:
        raise UsageError(f"--dtype {dtype!r}: choose from {', '.join(DTYPES)}")
    kwargs = loss.module_kwargs(**params)
    inputs = prepare(loss, kwargs, pred, target, extra)
    _check_fits(inputs, dtype, EXTRA_OPTION.get(loss.inputs, "--pred2"))
    value, elements, grad = _compute(loss, params, inputs, reduction, dtype)
    notes = inputs.notes + _reduction_notes(loss, reduction, elements)
    return LossEvaluation(
        loss=loss.name,
        params=kwargs,
        reduction=reduction,
        value=value,
        elements=elements,
        grad=grad,
        pred_shape=list(pred.shape),
        target_shape=list(target.shape),
        warnings=inputs.warnings,
        notes=notes,
        dtype=dtype,
        pred_values=_as_list(inputs.pred),
        target_values=_as_list(inputs.target.astype(int) if inputs.index_target else inputs.target),
    )


def prepare(
    loss: Loss,
    kwargs: dict[str, Any],
    pred: np.ndarray,
    target: np.ndarray,
    extra: np.ndarray | None,
) -> _Inputs:
    """Check ``pred``, ``target`` and ``extra`` against the loss's conventions and
    shape them as its torch module wants them. Raises UsageError before any torch."""
    import numpy as np

    pred = np.asarray(pred, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    for option, array in (("--pred", pred), ("--target", target)):
        _check_finite(option, array)
    extra = _check_extra(loss, pred, extra)
    kind = loss.target_kind
    if kind == CLASS:
        inputs = _class_inputs(loss, kwargs, pred, target)
    elif loss.rows:
        inputs = _row_pair_inputs(loss, pred, target, extra)
    else:
        inputs = _elementwise_inputs(loss, pred, target, extra)
    CHECKS[kind](loss, kwargs, inputs)
    if inputs.broadcast is not None:
        inputs.target = np.full(inputs.broadcast, float(inputs.target.reshape(-1)[0]))
    return inputs


def _check_finite(option: str, array: np.ndarray) -> None:
    import numpy as np

    if array.size == 0:
        raise UsageError(f"{option} is empty; give at least one number")
    bad = np.argwhere(~np.isfinite(array))
    if len(bad):
        where = _index(tuple(int(i) for i in bad[0]), array.shape)
        raise UsageError(f"{option}: {where} is {array[tuple(bad[0])]}; values must be finite")


def _check_extra(loss: Loss, pred: np.ndarray, extra: np.ndarray | None) -> np.ndarray | None:
    """gaussian_nll's variance (default 1), the pair losses' second input (required)."""
    import numpy as np

    option = EXTRA_OPTION.get(loss.inputs)
    if option is None:
        if extra is not None:
            takers = (
                f"{flag} {'is ' if i == 0 else ''}for "
                + _names(entry for entry in LOSSES.values() if entry.inputs == kind)
                for i, (kind, flag) in enumerate(EXTRA_OPTION.items())
            )
            raise UsageError(
                f"{loss.name} takes a prediction and a target only; {', '.join(takers)}"
            )
        return None
    if extra is None:
        if loss.inputs == "pred_var":
            return np.ones_like(pred)
        raise UsageError(
            f"{loss.name} needs {option}: the second input x₂, the same shape as --pred "
            f"({_shape(pred.shape)})"
        )
    extra = np.asarray(extra, dtype=np.float64)
    _check_finite(option, extra)
    if loss.inputs == "pred_var" and extra.size == 1:
        return np.full_like(pred, float(extra.reshape(-1)[0]))
    if extra.shape != pred.shape:
        raise UsageError(
            f"{option} has shape {_shape(extra.shape)} but --pred has {_shape(pred.shape)}; "
            f"{loss.name} needs {option} of the same shape"
            + (" (or one value for every element)" if loss.inputs == "pred_var" else "")
        )
    return extra


def _elementwise_inputs(
    loss: Loss, pred: np.ndarray, target: np.ndarray, extra: np.ndarray | None
) -> _Inputs:
    """Losses of one prediction and one target per element: the shapes must match,
    or the target is one value that stands for every element."""

    inputs = _Inputs(pred, target, extra)
    if target.shape == pred.shape:
        return inputs
    if target.size == 1:
        inputs.broadcast = pred.shape
        if pred.size > 1:
            inputs.notes.append(
                f"target {num(float(target.reshape(-1)[0]))} is used for every one of the "
                f"{pred.size} predictions"
            )
        return inputs
    hint = None
    if target.size == pred.size:
        hint = (
            "torch would broadcast these shapes into a table of every pair: a classic bug; "
            "write both as one row or both as one column"
        )
    raise UsageError(
        f"--target has shape {_shape(target.shape)} but --pred has {_shape(pred.shape)}; "
        f"{loss.name} compares them element by element, so the shapes must match "
        "(or the target is one value)",
        hint=hint,
    )


def _class_inputs(
    loss: Loss, kwargs: dict[str, Any], pred: np.ndarray, target: np.ndarray
) -> _Inputs:
    """K scores per row (1-D for one row) and a class index per row; cross_entropy
    also takes rows of class probabilities of the prediction's shape."""
    classes = pred.shape[-1]
    rows = 1 if pred.ndim == 1 else pred.shape[0]
    if classes < 2:
        raise UsageError(
            f"--pred has {classes} value per row; {loss.name} needs a score for each of "
            "K ≥ 2 classes (one row per sample, the K values separated by ',')"
        )
    inputs = _Inputs(pred, target, None)
    if target.shape == pred.shape and loss.soft_targets:
        inputs.notes.append(
            "the target has the prediction's shape, so each row is read as class "
            "probabilities (soft labels); a one-hot row gives the same loss as its index"
        )
        return inputs
    if target.size != rows:
        soft = " or a probability row per sample" if loss.soft_targets else ""
        raise UsageError(
            f"--target has {target.size} value{'s' if target.size != 1 else ''} "
            f"(shape {_shape(target.shape)}) but --pred has {rows} row"
            f"{'s' if rows != 1 else ''} of {classes} classes; {loss.name} needs one class "
            f"index 0..{classes - 1} per row{soft}"
        )
    inputs.target = target.reshape(()) if pred.ndim == 1 else target.reshape(rows)
    inputs.index_target = True
    return inputs


def _row_pair_inputs(
    loss: Loss, pred: np.ndarray, target: np.ndarray, extra: np.ndarray | None
) -> _Inputs:
    """cosine_embedding: two embeddings per row (1-D for one row), one ±1 per row."""
    rows = 1 if pred.ndim == 1 else pred.shape[0]
    inputs = _Inputs(pred, target, extra)
    if target.size == rows:
        inputs.target = target.reshape(()) if pred.ndim == 1 else target.reshape(rows)
    elif target.size == 1:
        inputs.broadcast = (rows,)
        inputs.notes.append(f"target {num(float(target.reshape(-1)[0]))} is used for every row")
    else:
        raise UsageError(
            f"--target has {target.size} values but --pred has {rows} row"
            f"{'s' if rows != 1 else ''} (embeddings); {loss.name} needs one −1 or 1 "
            "per row"
        )
    return inputs


# --- the value rules of each kind of target ---------------------------------------


def _check_real(loss: Loss, kwargs: dict[str, Any], inputs: _Inputs) -> None:
    import numpy as np

    if loss.inputs == "pred_var" and inputs.extra is not None:
        _refuse_where(inputs.extra, inputs.extra <= 0, "--var", "a variance must be > 0")
        if bool(np.any(inputs.extra < GAUSSIAN_EPS)):
            inputs.notes.append(
                f"variances below {GAUSSIAN_EPS:g} are clamped to {GAUSSIAN_EPS:g} by torch"
            )


def _check_unit(loss: Loss, kwargs: dict[str, Any], inputs: _Inputs) -> None:
    import numpy as np

    pred, target = inputs.pred, inputs.target
    _refuse_where(
        target, (target < 0) | (target > 1), "--target", "a target must be in [0, 1] (0/1 or soft)"
    )
    if loss.output == "probability":
        _refuse_where(
            pred,
            (pred < 0) | (pred > 1),
            "--pred",
            f"{loss.name} takes probabilities in [0, 1] (after a {loss.needs_activation})",
            hint=f"for logits use {loss.counterpart}, which is also exact for large |z|",
        )
        wrong = ((pred == 0) & (target > 0)) | ((pred == 1) & (target < 1))
        if bool(np.any(wrong)):
            inputs.notes.append(
                "a prediction of exactly 0 or 1 against the other label: torch clamps "
                f"log 0 to {BCE_LOG_CLAMP:g}, so such an element's loss is capped at "
                f"{-BCE_LOG_CLAMP:g}·(its target's weight) and its gradient is ~1e12"
            )
    elif pred.size > 1 and bool(np.all((pred > 0) & (pred < 1))):
        inputs.warnings.append(
            "every prediction is strictly between 0 and 1: if these are probabilities "
            f"(after a {loss.built_in}), {loss.name} applies a second {loss.built_in}; give "
            f"it the logits, or use {loss.counterpart} for probabilities"
        )


def _check_class(loss: Loss, kwargs: dict[str, Any], inputs: _Inputs) -> None:
    import numpy as np

    classes = inputs.pred.shape[-1]
    target = inputs.target
    if not inputs.index_target:
        _refuse_where(
            target,
            (target < 0) | (target > 1),
            "--target",
            "class probabilities (soft labels) must be in [0, 1]",
        )
        sums = np.atleast_1d(target.sum(axis=-1))
        if bool(np.any(np.abs(sums - 1) > SUM_TOLERANCE)):
            inputs.warnings.append(
                f"target rows sum to {_listing(sums)}, not 1: soft labels are a "
                "probability distribution per row"
            )
    else:
        _refuse_where(
            target,
            target != np.floor(target),
            "--target",
            f"class indices are integers 0..{classes - 1}",
        )
        _refuse_where(
            target,
            (target < 0) | (target >= classes),
            "--target",
            f"a class index must be in 0..{classes - 1} (K = {classes} classes per --pred row)",
        )
    if loss.built_in == "softmax":
        _warn_double_softmax(loss, inputs)
    elif loss.output == "log_probability":
        _warn_not_log_probabilities(inputs, loss.name)


def _check_sign(loss: Loss, kwargs: dict[str, Any], inputs: _Inputs) -> None:
    import numpy as np

    target = inputs.target
    hint = "map the 0 labels to −1" if bool(np.any(target == 0)) else None
    _refuse_where(
        target,
        (target != 1) & (target != -1),
        "--target",
        f"{loss.name} takes labels −1 or 1",
        hint=hint,
    )
    if loss.output == "distance" and bool(np.any(inputs.pred < 0)):
        inputs.warnings.append(
            f"negative predictions: {loss.name} takes a distance (≥ 0) between the "
            "two inputs, where larger means less alike"
        )
    if loss.output == "embedding":
        for option, array in (("--pred", inputs.pred), ("--pred2", inputs.extra)):
            if array is not None and bool(np.any(np.all(array == 0, axis=-1))):
                inputs.notes.append(
                    f"{option} has a zero vector: it has no direction, torch adds ε = 1e-12 "
                    "to each squared norm (its gradient is about 1e6 times the other's "
                    "unit direction)"
                )


def _check_distribution(loss: Loss, kwargs: dict[str, Any], inputs: _Inputs) -> None:
    import numpy as np

    pred, target = inputs.pred, inputs.target
    if kwargs.get("log_target"):
        _refuse_where(
            target,
            target > 0,
            "--target",
            "with --log-target the target is log-probabilities (≤ 0)",
        )
    else:
        swapped = bool(np.all(pred >= 0)) and bool(np.any(target < 0))
        _refuse_where(
            target,
            (target < 0) | (target > 1),
            "--target",
            f"{loss.name}'s target is probabilities in [0, 1]",
            hint=(
                "the arguments look swapped: --pred takes the log-probabilities, "
                "--target the probabilities"
                if swapped
                else "for a target of log-probabilities pass --log-target"
                if bool(np.all(target <= 0))
                else None
            ),
        )
    _warn_not_log_probabilities(inputs, loss.name)


def _check_count(loss: Loss, kwargs: dict[str, Any], inputs: _Inputs) -> None:
    _refuse_where(
        inputs.target, inputs.target < 0, "--target", f"{loss.name}'s target is a count ≥ 0"
    )
    if loss.rate_param and not kwargs.get(loss.rate_param):
        _refuse_where(
            inputs.pred,
            inputs.pred < 0,
            "--pred",
            "with --log-input false the prediction is a rate ≥ 0",
            hint="for a log-rate leave --log-input true",
        )


CHECKS: dict[str, Callable[[Loss, dict[str, Any], _Inputs], None]] = {
    REAL: _check_real,
    UNIT: _check_unit,
    CLASS: _check_class,
    SIGN: _check_sign,
    DISTRIBUTION: _check_distribution,
    COUNT: _check_count,
}


def _warn_double_softmax(loss: Loss, inputs: _Inputs) -> None:
    import numpy as np

    pred = inputs.pred
    sums = np.atleast_1d(pred.sum(axis=-1))
    if bool(np.all(pred >= 0)) and bool(np.all(np.abs(sums - 1) <= SUM_TOLERANCE)):
        rows = "the row sums" if pred.ndim == 1 else "every row sums"
        inputs.warnings.append(
            f"double softmax: {rows} to 1 with no negative value, so these look like "
            f"probabilities; {loss.name} applies softmax itself and takes the raw "
            f"logits (or use {loss.counterpart} on log-probabilities)"
        )


def _warn_not_log_probabilities(inputs: _Inputs, name: str) -> None:
    """Losses such as nll and kl_div take log-probabilities (≤ 0, exp of a row sums to 1)."""
    import numpy as np

    pred = inputs.pred
    positive = int(np.count_nonzero(pred > 0))
    if positive:
        what = (
            "probabilities"
            if bool(np.all((pred >= 0) & (pred <= 1)))
            else "logits or probabilities"
        )
        inputs.warnings.append(
            f"{name} expects log-probabilities (≤ 0), but {positive} of the {pred.size} "
            f"predictions are positive: {what}? apply log_softmax (or log) first"
        )
        return
    if pred.ndim >= 1 and pred.shape[-1] > 1:
        sums = np.atleast_1d(np.exp(pred).sum(axis=-1))
        if bool(np.any(np.abs(sums - 1) > SUM_TOLERANCE)):
            inputs.warnings.append(
                f"the rows of exp(--pred) sum to {_listing(sums)}, not 1: these are not "
                "log-probabilities of a distribution; apply log_softmax to the logits"
            )


def _refuse_where(
    array: np.ndarray, bad: np.ndarray, option: str, rule: str, hint: str | None = None
) -> None:
    """A usage error naming the first value of ``array`` where ``bad``, and the rule."""
    import numpy as np

    found = np.argwhere(np.asarray(bad))
    if len(found) == 0:  # not .size: a 0-d array's hit is a row of no indices
        return
    first = tuple(int(i) for i in found[0])
    count = len(found)
    more = f" (and {count - 1} more)" if count > 1 else ""
    value = float(array[first])
    raise UsageError(
        f"{option}: {_index(first, array.shape)} is {num(value, 6)}{more}; {rule}", hint=hint
    )


def _check_fits(inputs: _Inputs, dtype: str, extra_option: str) -> None:
    """Values beyond float32's range would become inf before torch computes anything."""
    import numpy as np

    largest = FLOAT_TYPES[dtype][1]
    arrays = [("--pred", inputs.pred), ("--target", inputs.target)]
    if inputs.extra is not None:
        arrays.append((extra_option, inputs.extra))
    for option, array in arrays:
        _refuse_where(
            array,
            np.abs(array) > largest,
            option,
            f"it does not fit in {dtype} (largest magnitude {largest:.4g})",
            hint="use --dtype float64",
        )


# --- computing ---------------------------------------------------------------------


def _compute(
    loss: Loss, params: dict[str, Any], inputs: _Inputs, reduction: str, dtype: str
) -> tuple[float | list, list, list]:
    """The reduced value, the per-element losses and the gradient, all by torch."""
    import torch

    torch_dtype = getattr(torch, dtype)
    pred = torch.tensor(inputs.pred, dtype=torch_dtype, requires_grad=True)
    target = torch.tensor(inputs.target, dtype=torch.int64 if inputs.index_target else torch_dtype)
    args: list[torch.Tensor] = [pred, target]
    if inputs.extra is not None:
        extra = torch.tensor(inputs.extra, dtype=torch_dtype)
        args = [pred, target, extra] if loss.inputs == "pred_var" else [pred, extra, target]
    with warnings.catch_warnings():
        # KLDivLoss warns that 'mean' is not 'batchmean'; the notes say so in our words.
        warnings.filterwarnings("ignore", message="reduction: 'mean' divides")
        reduced = loss.make_module(reduction, dtype=torch_dtype, **params)(*args)
    (reduced if reduced.ndim == 0 else reduced.sum()).backward()
    with torch.no_grad():
        per_element = loss.make_module("none", dtype=torch_dtype, **params)(*args)
    assert pred.grad is not None  # backward() above always fills it
    _check_result(loss, dtype, reduced.detach(), per_element, pred.grad)
    elements = _as_list(per_element)
    value: float | list = elements if reduction == "none" else float(reduced.item())
    return value, elements, _as_list(pred.grad)


def _as_list(tensor: Any) -> list:
    """A tensor (or numpy array) as nested lists; a single 0-d value as a one-element list."""
    values = (tensor.detach().cpu() if hasattr(tensor, "detach") else tensor).tolist()
    return values if isinstance(values, list) else [values]


def _check_result(loss: Loss, dtype: str, *tensors: Any) -> None:
    """Never a silent NaN: valid inputs can still overflow (e^x in poisson_nll, a
    squared 1e200 in mse); say so instead of printing inf or nan."""
    import torch

    for what, tensor in zip(("loss", "per-element loss", "gradient"), tensors, strict=True):
        if not bool(torch.isfinite(tensor).all()):
            bad = "nan" if bool(torch.isnan(tensor).any()) else "inf"
            raise UsageError(
                f"{loss.name} on these numbers overflows {dtype}: the {what} is {bad}; "
                "the inputs are too large in magnitude for this loss",
                hint="rescale them" + (", or use --dtype float64" if dtype != "float64" else ""),
            )


def _reduction_notes(loss: Loss, reduction: str, elements: list) -> list[str]:
    count = _count(elements)
    if reduction == "mean" and count > 1:
        note = f"reduction mean: the sum of the {count} per-element losses divided by {count}"
        if loss.target_kind == DISTRIBUTION:
            note += "; the KL divergence proper is 'batchmean' (the sum divided by the rows)"
        return [note]
    if reduction == "none" and count > 1:
        return ["reduction none: the gradient is that of the sum of the per-element losses"]
    return []


# --- small helpers ------------------------------------------------------------------


def _names(losses: Iterable[Loss]) -> str:
    """Loss names in words: "a", "a and b", "a, b and c"."""
    names = [loss.name for loss in losses]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _count(nested: list) -> int:
    return sum(_count(v) if isinstance(v, list) else 1 for v in nested)


def _index(position: tuple[int, ...], shape: tuple[int, ...]) -> str:
    """Where a value is, in the words of the inline syntax: "row 2, value 3"."""
    if len(shape) == 2:
        return f"row {position[0] + 1}, value {position[1] + 1}"
    if len(shape) == 1 and shape[0] > 1:
        return f"value {position[0] + 1}"
    return "the value"


def _shape(shape: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def _listing(values: np.ndarray, shown: int = 4) -> str:
    items = [num(float(v)) for v in values[:shown]]
    return ", ".join(items) + (", …" if len(values) > shown else "")
