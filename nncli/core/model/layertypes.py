"""The layer types a config may use, in pure Python: one registry entry per type.

Configs are read before torch is imported, so every argument is checked here and
every shape is computed here with torch's own formulas: a kernel larger than its
input is a usage error naming the layer, never a RuntimeError from a forward pass.
Shapes are per sample (no batch dimension); ``flatten``'s dims are torch's, which
count the batch (``start_dim = 1`` is the first dimension of a sample).

Every per-type fact (its output shape, its weight, parameters and buffers, torch's
constructor arguments, whether it is a convolution) is a field of its
:class:`LayerType` in :data:`LAYER_TYPES`: adding a layer type is one entry there.
"""

from __future__ import annotations

import math
import reprlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nncli.core.memory import FLOAT32
from nncli.errors import UsageError
from nncli.limits import MAX_SIZE

Shape = tuple[int, ...]
# fail(key or None, message, hint) -> the error to raise, naming the file and layer
Fail = Callable[[str | None, str, str | None], UsageError]
Args = dict[str, Any]
# (name, element count) of a parameter, in torch's registration order
Named = list[tuple[str, int]]
# (name, element count, bytes per element) of a buffer
Buffers = list[tuple[str, int, int]]

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
INT64 = 8  # bytes of a batch counter (BatchNorm's num_batches_tracked)

# Values quoted in messages are shortened: a config may hold a megabyte-long string
# or an array nested hundreds of levels deep, and the message must stay one line.
_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxstring, _SHORT.maxother = 3, 60, 60
_SHORT.maxlist = _SHORT.maxdict = 4


def short(value: Any) -> str:
    """``repr(value)``, shortened for messages (see :data:`_SHORT`)."""
    return _SHORT.repr(value)


def dims(shape: Shape) -> str:
    """``1×28×28``: a sample's shape in messages."""
    return "×".join(str(d) for d in shape)


# --------------------------------------------------------------------------- values


def _int(value: Any, key: str, fail: Fail, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise fail(key, f"must be an integer ≥ {low}, got {short(value)}", None)
    if value < low:
        raise fail(key, f"must be an integer ≥ {low}, got {value}", None)
    if value > MAX_SIZE:
        raise fail(key, f"must be at most {MAX_SIZE:,}, got a larger number", None)
    return value


def _tuple(value: Any, key: str, fail: Fail, n: int, low: int) -> tuple[int, ...]:
    """An int, or a list of ``n`` ints (torch's ``_pair``), each ≥ ``low``."""
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            what = "an integer" if n == 1 else f"an integer or a list of {n} integers"
            raise fail(key, f"must be {what}, got a list of {len(value)}", None)
        return tuple(_int(v, key, fail, low) for v in value)
    return (_int(value, key, fail, low),) * n


def _bool(value: Any, key: str, fail: Fail) -> bool:
    if not isinstance(value, bool):
        raise fail(key, f"must be true or false, got {short(value)}", None)
    return value


def _number(value: Any, key: str, fail: Fail, low: float, high: float, *, high_open: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise fail(key, f"must be a finite number, got {short(value)}", None)
    right = ")" if high_open else "]"
    if value < low or value > high or (high_open and value == high):
        raise fail(key, f"must be in [{low:g}, {high:g}{right}, got {value}", None)
    return float(value)


# --------------------------------------------------------------------------- shape rules
# Each takes (kind, args, out_features, in_shape, fail): out_features is linear's own
# argument (None while a config is read for the other types).


def _linear_shape(
    kind: LayerType, args: Args, out: int | None, in_shape: Shape, fail: Fail
) -> Shape:
    assert out is not None
    return (*in_shape[:-1], out)


def _conv_shape(kind: LayerType, args: Args, out: int | None, in_shape: Shape, fail: Fail) -> Shape:
    groups = args.get("groups", 1)
    out_channels = args["out_channels"]
    for what, count in (("in_channels", in_shape[0]), ("out_channels", out_channels)):
        if count % groups:
            raise fail("groups", f"{what} {count} is not divisible by groups {groups}", None)
    return (out_channels, *_spatial(kind, args, in_shape, fail))


def _pool_shape(kind: LayerType, args: Args, out: int | None, in_shape: Shape, fail: Fail) -> Shape:
    return (in_shape[0], *_spatial(kind, args, in_shape, fail))


def _adaptive_shape(
    kind: LayerType, args: Args, out: int | None, in_shape: Shape, fail: Fail
) -> Shape:
    return (in_shape[0], *_tuple(args["output_size"], "output_size", fail, kind.dims, 1))


def _layernorm_shape(
    kind: LayerType, args: Args, out: int | None, in_shape: Shape, fail: Fail
) -> Shape:
    normalized = normalized_shape(args, in_shape)
    if tuple(in_shape[len(in_shape) - len(normalized) :]) != normalized:
        raise fail("normalized_shape", f"{dims(normalized)} does not match the last "
                   f"dimensions of its input {dims(in_shape)}",
                   "leave it out: it defaults to the input's last dimension")  # fmt: skip
    return in_shape


def _flatten_shape(
    kind: LayerType, args: Args, out: int | None, in_shape: Shape, fail: Fail
) -> Shape:
    start, end = flatten_dims(args, in_shape, fail)
    return (*in_shape[: start - 1], math.prod(in_shape[start - 1 : end]), *in_shape[end:])


def _same_shape(kind: LayerType, args: Args, out: int | None, in_shape: Shape, fail: Fail) -> Shape:
    return in_shape  # batchnorm, dropout


# --------------------------------------------------------------------------- size rules


def _linear_weight(args: Args, out: int, in_shape: Shape, n: int) -> Shape | None:
    return (out, in_shape[-1])


def _conv_weight(args: Args, out: int, in_shape: Shape, n: int) -> Shape | None:
    kernel = args["kernel_size"]
    kernel = tuple(kernel) if isinstance(kernel, list) else (kernel,) * n
    return (args["out_channels"], in_shape[0] // args.get("groups", 1), *kernel)


def _no_weight(args: Args, out: int, in_shape: Shape, n: int) -> Shape | None:
    return None


def _batchnorm_params(args: Args, in_shape: Shape, bias: bool) -> Named:
    channels = in_shape[0]
    return [("weight", channels), ("bias", channels)] if args.get("affine", True) else []


def _layernorm_params(args: Args, in_shape: Shape, bias: bool) -> Named:
    if not args.get("elementwise_affine", True):
        return []
    count = math.prod(normalized_shape(args, in_shape))
    return [("weight", count), ("bias", count)] if bias else [("weight", count)]


def _no_params(args: Args, in_shape: Shape, bias: bool) -> Named:
    return []


def _batchnorm_buffers(args: Args, in_shape: Shape) -> Buffers:
    """Running mean and variance (float32), and the batch counter (one int64)."""
    if not args.get("track_running_stats", True):
        return []
    channels = in_shape[0]
    return [
        ("running_mean", channels, FLOAT32),
        ("running_var", channels, FLOAT32),
        ("num_batches_tracked", 1, INT64),
    ]


def _no_buffers(args: Args, in_shape: Shape) -> Buffers:
    return []


# --------------------------------------------------------------------------- constructors
# torch's keyword arguments: the config's (lists as tuples), inferred sizes included.


def _linear_kwargs(kw: Args, args: Args, out: int, bias: bool, in_shape: Shape) -> Args:
    return {"in_features": in_shape[-1], "out_features": out, "bias": bias}


def _conv_kwargs(kw: Args, args: Args, out: int, bias: bool, in_shape: Shape) -> Args:
    return {"in_channels": in_shape[0], **kw, "bias": bias}


def _batchnorm_kwargs(kw: Args, args: Args, out: int, bias: bool, in_shape: Shape) -> Args:
    return {"num_features": in_shape[0], **kw}


def _layernorm_kwargs(kw: Args, args: Args, out: int, bias: bool, in_shape: Shape) -> Args:
    return {**kw, "normalized_shape": normalized_shape(args, in_shape), "bias": bias}


def _plain_kwargs(kw: Args, args: Args, out: int, bias: bool, in_shape: Shape) -> Args:
    return kw


# --------------------------------------------------------------------------- the registry

ShapeRule = Callable[["LayerType", Args, "int | None", Shape, Fail], Shape]
WeightRule = Callable[[Args, int, Shape, int], "Shape | None"]
ParamRule = Callable[[Args, Shape, bool], Named]
BufferRule = Callable[[Args, Shape], Buffers]
KwargsRule = Callable[[Args, Args, int, bool, Shape], Args]

OUT_FEATURES_HINT = "only linear layers take out_features; leave out type for a linear layer"


@dataclass(frozen=True)
class LayerType:
    name: str  # the config's ``type``
    module: str  # the torch.nn class
    keys: tuple[str, ...]  # torch's constructor arguments a config may give
    required: tuple[str, ...] = ()
    weighted: bool = False  # a weight matrix or kernel: init and init_args apply
    bias: bool = False  # takes ``bias``
    inferred: tuple[str, ...] = ()  # input-side arguments nncli fills in
    ranks: tuple[int, ...] = ()  # sample ranks the layer takes; () any rank ≥ 1
    dims: int = 0  # spatial dimensions of kernels, strides, paddings
    shape: ShapeRule = _same_shape  # one sample's output shape
    weight: WeightRule = _no_weight  # the weight tensor's shape (weighted types)
    norm_params: ParamRule = _no_params  # parameters of a type without a weight matrix
    buffers: BufferRule = _no_buffers
    kwargs: KwargsRule = _plain_kwargs
    # A convolution: its stride defaults to 1 (a pool's to its kernel), its padding may
    # be "same" or "valid", and torchinfo counts its mult-adds over the output's area.
    conv: bool = False
    # A pool's padding is at most half of its kernel: "dilated" (max pools, the kernel
    # with its dilation) or "kernel" (avg pools); "" for other types.
    pad_limit: str = ""
    # Its parameter formula writes the weight as in_features × out_features (Linear).
    factored: bool = False
    # Normalises over the batch (batch norm): in training mode, and in eval mode too
    # without running statistics (track_running_stats = false).
    batch_stats: bool = False
    # The hint when a config gives it out_features (only linear takes that key).
    out_hint: str = OUT_FEATURES_HINT

    @property
    def takes_out_features(self) -> bool:
        """Its width is the config's ``out_features`` (linear): else it is inferred."""
        return "out_features" in self.keys


_CONV = ("out_channels", "kernel_size", "stride", "padding", "dilation", "groups", "padding_mode")
_NORM = ("eps", "momentum", "affine", "track_running_stats")
_CONV_HINT = "a conv layer's width is out_channels"

LAYER_TYPES: dict[str, LayerType] = {
    t.name: t
    for t in (
        LayerType("linear", "Linear", ("out_features",), ("out_features",), True, True,
                  ("in_features",), shape=_linear_shape, weight=_linear_weight,
                  kwargs=_linear_kwargs, factored=True),
        LayerType("conv1d", "Conv1d", _CONV, ("out_channels", "kernel_size"), True, True,
                  ("in_channels",), (2,), 1, shape=_conv_shape, weight=_conv_weight,
                  kwargs=_conv_kwargs, conv=True, out_hint=_CONV_HINT),
        LayerType("conv2d", "Conv2d", _CONV, ("out_channels", "kernel_size"), True, True,
                  ("in_channels",), (3,), 2, shape=_conv_shape, weight=_conv_weight,
                  kwargs=_conv_kwargs, conv=True, out_hint=_CONV_HINT),
        LayerType("maxpool2d", "MaxPool2d",
                  ("kernel_size", "stride", "padding", "dilation", "ceil_mode"),
                  ("kernel_size",), ranks=(3,), dims=2, shape=_pool_shape, pad_limit="dilated"),
        LayerType("avgpool2d", "AvgPool2d",
                  ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad",
                   "divisor_override"),
                  ("kernel_size",), ranks=(3,), dims=2, shape=_pool_shape, pad_limit="kernel"),
        LayerType("adaptiveavgpool2d", "AdaptiveAvgPool2d", ("output_size",), ("output_size",),
                  ranks=(3,), dims=2, shape=_adaptive_shape),
        LayerType("batchnorm1d", "BatchNorm1d", _NORM, inferred=("num_features",), ranks=(1, 2),
                  norm_params=_batchnorm_params, buffers=_batchnorm_buffers,
                  kwargs=_batchnorm_kwargs, batch_stats=True),
        LayerType("batchnorm2d", "BatchNorm2d", _NORM, inferred=("num_features",), ranks=(3,),
                  norm_params=_batchnorm_params, buffers=_batchnorm_buffers,
                  kwargs=_batchnorm_kwargs, batch_stats=True),
        LayerType("layernorm", "LayerNorm", ("normalized_shape", "eps", "elementwise_affine"),
                  bias=True, shape=_layernorm_shape, norm_params=_layernorm_params,
                  kwargs=_layernorm_kwargs),
        LayerType("dropout", "Dropout", ("p",)),
        LayerType("flatten", "Flatten", ("start_dim", "end_dim"), shape=_flatten_shape),
    )
}  # fmt: skip

RANK_WORDS = {1: "features", 2: "channels × length", 3: "channels × height × width"}


# --------------------------------------------------------------------------- arguments


def check_args(kind: LayerType, args: Args, fail: Fail) -> None:
    """Every argument's type and range, as torch's constructor would need them."""
    n = max(kind.dims, 1)
    for key, value in args.items():
        if key in ("out_channels", "out_features", "groups", "divisor_override"):
            _int(value, key, fail, 1)
        elif key in ("kernel_size", "stride", "dilation", "output_size"):
            _tuple(value, key, fail, n, 1)
        elif key == "padding":
            if isinstance(value, str) and kind.conv:
                if value not in ("same", "valid"):
                    raise fail(key, f"must be an integer, a list, 'same' or 'valid', got "
                               f"{short(value)}", None)  # fmt: skip
            else:
                _tuple(value, key, fail, n, 0)
        elif key == "padding_mode":
            if value not in PADDING_MODES:
                raise fail(key, f"must be one of {', '.join(PADDING_MODES)}, got "
                           f"{short(value)}", None)  # fmt: skip
        elif key in ("ceil_mode", "count_include_pad", "affine", "track_running_stats",
                     "elementwise_affine"):  # fmt: skip
            _bool(value, key, fail)
        elif key == "eps":
            if _number(value, key, fail, 0.0, math.inf, high_open=True) <= 0:
                raise fail(key, f"must be greater than 0, got {value}", None)
        elif key == "momentum":
            _number(value, key, fail, 0.0, 1.0, high_open=False)
        elif key == "p":
            _number(value, key, fail, 0.0, 1.0, high_open=True)
        elif key in ("start_dim", "end_dim"):
            if isinstance(value, bool) or not isinstance(value, int) or abs(value) > 64:
                raise fail(key, f"must be a dimension (an integer), got {short(value)}", None)
        elif key == "normalized_shape":
            if isinstance(value, list) and not value:
                raise fail(key, "must be an integer or a non-empty list of integers", None)
            if isinstance(value, list):
                for v in value:
                    _int(v, key, fail, 1)
            else:
                _int(value, key, fail, 1)
    stride, padding = args.get("stride"), args.get("padding")
    if kind.conv and padding == "same" and stride not in (None, 1, [1] * n):
        raise fail("padding", "'same' needs stride 1 (torch refuses strided 'same' padding)",
                   "give the padding as a number")  # fmt: skip


# --------------------------------------------------------------------------- shapes


def _spatial(kind: LayerType, args: Args, in_shape: Shape, fail: Fail) -> Shape:
    """Conv and pool output sizes (torch's formula, with dilation and ceil_mode)."""
    n, size = kind.dims, in_shape[1:]
    kernel = _tuple(args["kernel_size"], "kernel_size", fail, n, 1)
    default_stride = 1 if kind.conv else kernel
    stride = _tuple(args.get("stride", default_stride), "stride", fail, n, 1)
    dilation = _tuple(args.get("dilation", 1), "dilation", fail, n, 1)
    padding_arg = args.get("padding", 0)
    effective = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True))
    mode = args.get("padding_mode", "zeros")
    if padding_arg == "same":
        # torch pads (effective - 1) in all, the larger half on the right (the end)
        right = tuple(k - 1 - (k - 1) // 2 for k in effective)
        _check_pad_mode(mode, right, in_shape, fail, same=kernel)
        return size
    padding = (0,) * n if padding_arg == "valid" else _tuple(padding_arg, "padding", fail, n, 0)
    if kind.pad_limit:
        # torch: "pad should be at most half of (effective) kernel size"
        half = effective if kind.pad_limit == "dilated" else kernel
        for p, k in zip(padding, half, strict=True):
            if p > k / 2:
                raise fail(None, f"padding {p} is more than half of kernel {dims(kernel)}",
                           "torch's pools take padding ≤ kernel_size / 2")  # fmt: skip
    _check_pad_mode(mode, padding, in_shape, fail)
    out = []
    for s, k, st, p in zip(size, effective, stride, padding, strict=True):
        if k > s + 2 * p:
            what = f"kernel {dims(kernel)}"
            if any(d > 1 for d in dilation):
                what += f" (dilation {_uniform(dilation)})"
            raise fail(None, f"{what} is larger than its input {dims(in_shape)} "
                       f"(padding {_uniform(padding)})", None)  # fmt: skip
        span = s + 2 * p - k
        ceil = bool(args.get("ceil_mode", False))
        o = (-(-span // st) if ceil else span // st) + 1
        if ceil and (o - 1) * st >= s + p:
            o -= 1  # torch: the last window must start inside the input or its left padding
        out.append(o)
    return tuple(out)


def _check_pad_mode(
    mode: str, pads: Shape, in_shape: Shape, fail: Fail, same: Shape | None = None
) -> None:
    """torch's limits on reflect and circular padding: ``pads`` is the widest side per
    spatial dimension. Reflect needs pad < size, circular pad ≤ size; zeros and
    replicate take any padding. ``same``: the kernel of a ``padding = "same"`` conv."""
    for p, s in zip(pads, in_shape[1:], strict=True):
        if (mode == "reflect" and p >= s) or (mode == "circular" and p > s):
            what = f"padding {p} ({mode})"
            if same is not None:
                what = f"padding 'same' ({mode}, {p} on a side for kernel {dims(same)})"
            rule = "less than" if mode == "reflect" else "at most"
            raise fail(None, f"{what} is too large for its input {dims(in_shape)}",
                       f"{mode} padding must be {rule} the input's size on each side; use a "
                       "smaller kernel or padding, or padding_mode 'zeros'")  # fmt: skip


def _uniform(values: Shape) -> str:
    return str(values[0]) if len(set(values)) == 1 else dims(values)


def out_shape(
    kind: LayerType, args: Args, out_features: int | None, in_shape: Shape, fail: Fail
) -> Shape:
    """The output shape of one sample, or a usage error naming both shapes."""
    if kind.ranks and len(in_shape) not in kind.ranks:
        wanted = " or ".join(f"{r}-D ({RANK_WORDS[r]})" for r in kind.ranks)
        raise fail(None, f"takes a {wanted} input per sample, but its input is "
                   f"{dims(in_shape)} ({len(in_shape)}-D)", _rank_hint(kind, in_shape))  # fmt: skip
    return kind.shape(kind, args, out_features, in_shape, fail)


def _rank_hint(kind: LayerType, in_shape: Shape) -> str | None:
    if len(in_shape) == 1 and kind.dims:
        return "give the input's shape with input_shape = [channels, ...] instead of input_features"
    if len(in_shape) > max(kind.ranks):
        return 'flatten first (type = "flatten")'
    return None


def normalized_shape(args: Args, in_shape: Shape) -> Shape:
    given = args.get("normalized_shape")
    if given is None:
        return (in_shape[-1],)
    return tuple(given) if isinstance(given, list) else (given,)


def flatten_dims(args: Args, in_shape: Shape, fail: Fail) -> tuple[int, int]:
    """``start_dim``, ``end_dim`` as non-negative dims of the batched tensor (batch = 0)."""
    rank = len(in_shape) + 1
    resolved = []
    for key, default in (("start_dim", 1), ("end_dim", -1)):
        value = args.get(key, default)
        dim = value + rank if value < 0 else value
        if not 0 <= dim < rank:
            raise fail(key, f"{value} is out of range for its input (batch)×{dims(in_shape)} "
                       f"({rank} dimensions)", None)  # fmt: skip
        if dim == 0:
            raise fail(key, "dimension 0 is the batch; flattening it would mix samples",
                       "start at 1 (the default)")  # fmt: skip
        resolved.append(dim)
    start, end = resolved
    if start > end:
        raise fail(None, f"start_dim {args.get('start_dim', 1)} comes after end_dim "
                   f"{args.get('end_dim', -1)}", None)  # fmt: skip
    return start, end


# --------------------------------------------------------------------------- sizes


def weight_shape(kind: LayerType, args: Args, out_features: int, in_shape: Shape) -> Shape | None:
    """The weight tensor's shape (linear and conv), None for other layers."""
    return kind.weight(args, out_features, in_shape, kind.dims)


def fans(weight: Shape) -> tuple[int, int]:
    """torch's ``_calculate_fan_in_and_fan_out``: the receptive field times the channels."""
    receptive = math.prod(weight[2:])
    return weight[1] * receptive, weight[0] * receptive


def parameters(
    kind: LayerType, args: Args, out_features: int, bias: bool, in_shape: Shape
) -> Named:
    """``(name, count)`` of every parameter the module holds, in torch's order."""
    weight = weight_shape(kind, args, out_features, in_shape)
    if weight is None:
        return kind.norm_params(args, in_shape, bias)
    return [("weight", math.prod(weight)), *([("bias", weight[0])] if bias else [])]


def param_count(kind: LayerType, args: Args, out_features: int, bias: bool, in_shape: Shape) -> int:
    return sum(count for _, count in parameters(kind, args, out_features, bias, in_shape))


def buffers(kind: LayerType, args: Args, in_shape: Shape) -> Buffers:
    """``(name, count, bytes per element)`` of every buffer (BatchNorm's statistics)."""
    return kind.buffers(args, in_shape)


def buffer_count(kind: LayerType, args: Args, in_shape: Shape) -> int:
    """BatchNorm's running mean and variance, and its batch counter."""
    return sum(count for _, count, _ in kind.buffers(args, in_shape))


def uses_batch_statistics(kind: LayerType, args: Args, *, training: bool) -> bool:
    """Whether the layer normalises with the batch's own statistics (torch's
    ``bn_training``): batch norm in training mode, or without running statistics."""
    return kind.batch_stats and (training or not args.get("track_running_stats", True))


def values_per_channel(in_shape: Shape) -> int:
    """The values one sample gives each channel: its spatial size (1 for features)."""
    return math.prod(in_shape[1:])


def constructor_kwargs(
    kind: LayerType, args: Args, out_features: int, bias: bool, in_shape: Shape
) -> Args:
    """The keyword arguments of ``torch.nn.<module>``, inferred sizes included."""
    kw = {k: tuple(v) if isinstance(v, list) else v for k, v in args.items()}
    return kind.kwargs(kw, args, out_features, bias, in_shape)
