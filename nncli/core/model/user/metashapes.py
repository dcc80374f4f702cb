"""The output of the commonest layers on meta tensors, by arithmetic: no meta kernel runs.

Why (measured on torch 2.13, CPU): torch's meta kernels for nearly every op (conv2d,
batch_norm, linear, relu, add ...) are Python functions whose first call imports
``torch._dynamo`` and sympy, about 1 s once per process, which took ``summary --model``
of a ResNet-18 from 1.2x torchinfo's time to 1.9x. nncli no longer puts stand-ins for
those modules in ``sys.modules`` (they broke libraries the user's code imported).

Instead :class:`MetaShapes`, a ``torch.overrides.TorchFunctionMode`` (public API) active
only during a meta forward pass, answers a few functions itself when their arguments
are plain: the layers of CNNs (``F.conv1d/2d/3d``, ``F.linear``, ``F.batch_norm`` in
eval mode, ``F.relu``, ``F.max_pool2d``, ``F.adaptive_avg_pool2d``, ``Tensor.add_``)
and of transformers (``F.embedding``, ``F.scaled_dot_product_attention``, ``F.silu``,
elementwise functions and operators, ``mean``, ``cat``, ``outer``, ``arange``). Each
returns an empty meta tensor of the shape, dtype and strides torch's own kernel gives
(the tests compare them), or ``None``, and then the call goes to torch as usual:
anything unusual (mixed or integer dtypes where torch would promote, non-meta tensors,
subclasses, string padding, ceil_mode, train-mode batch norm, an attention mask,
shapes that do not fit) is left to torch, which raises its own error or computes it.
So a ResNet or a Llama-shaped decoder summarises without the import, and any other
model is summarised exactly as before, paying it. The summary's own function mode
(``--functional`` rows) sits above this one and sees every call as before.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch


def _plain(*tensors: Any) -> bool:
    """Meta tensors (not subclasses but Parameter), contiguous, of one floating dtype."""
    import torch
    from torch import nn

    first = tensors[0]
    for t in tensors:
        if type(t) not in (torch.Tensor, nn.Parameter):
            return False
        if not t.is_meta or t.layout != torch.strided or not t.is_contiguous():
            return False
        if t.dtype != first.dtype or not t.is_floating_point():
            return False
    return True


def _optional(tensor: Any, shape: tuple[int, ...], like: Any) -> bool:
    """``None``, or a plain tensor of ``shape`` and the dtype of ``like``."""
    return tensor is None or (_plain(like, tensor) and tuple(tensor.shape) == shape)


def _ints(value: Any, n: int) -> tuple[int, ...] | None:
    """An int repeated ``n`` times, or a sequence of ``n`` ints; else None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return (value,) * n
    if isinstance(value, Sequence) and len(value) == n and all(type(v) is int for v in value):
        return tuple(value)
    return None


def _window(
    sizes: Sequence[int],
    kernel: Sequence[int],
    stride: Sequence[int],
    padding: Sequence[int],
    dilation: Sequence[int],
) -> list[int] | None:
    """Output sizes of a sliding window (floor mode), or None if any is not positive."""
    out = []
    for size, k, s, p, d in zip(sizes, kernel, stride, padding, dilation, strict=True):
        if k < 1 or s < 1 or p < 0 or d < 1:
            return None
        o = (size + 2 * p - d * (k - 1) - 1) // s + 1
        if o < 1:
            return None
        out.append(o)
    return out


def _empty(shape: Sequence[int], like: Any) -> torch.Tensor:
    import torch

    return torch.empty(tuple(shape), dtype=like.dtype, device="meta")


def _conv(dims: int) -> Callable[..., Any]:
    def rule(
        input: Any,
        weight: Any,
        bias: Any = None,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: Any = 1,
    ) -> Any:
        if not _plain(input, weight) or input.dim() != dims + 2 or weight.dim() != dims + 2:
            return None
        steps, pads, dils = _ints(stride, dims), _ints(padding, dims), _ints(dilation, dims)
        if steps is None or pads is None or dils is None or type(groups) is not int:
            return None
        batch, channels = input.shape[:2]
        out_channels, per_group = weight.shape[:2]
        if groups < 1 or channels != per_group * groups or out_channels % groups:
            return None
        if not _optional(bias, (out_channels,), input):
            return None
        sizes = _window(input.shape[2:], weight.shape[2:], steps, pads, dils)
        return None if sizes is None else _empty((batch, out_channels, *sizes), input)

    return rule


def _linear(input: Any, weight: Any, bias: Any = None) -> Any:
    if not _plain(input, weight) or weight.dim() != 2 or input.dim() < 1:
        return None
    out_features, in_features = weight.shape
    if input.shape[-1] != in_features or not _optional(bias, (out_features,), input):
        return None
    return _empty((*input.shape[:-1], out_features), input)


def _batch_norm(
    input: Any,
    running_mean: Any,
    running_var: Any,
    weight: Any = None,
    bias: Any = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Any:
    if training is not False or not _plain(input) or input.dim() < 2:
        return None
    channels = (input.shape[1],)
    stats = (running_mean, running_var)
    if any(s is None for s in stats) or not all(
        _optional(t, channels, input) for t in (*stats, weight, bias)
    ):
        return None
    return _empty(input.shape, input)


def _relu(input: Any, inplace: bool = False) -> Any:
    if not _plain(input):
        return None
    return input if inplace is True else _empty(input.shape, input)


def _max_pool2d(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    if ceil_mode is not False or return_indices is not False:
        return None
    if not _plain(input) or input.dim() != 4:
        return None
    kernel = _ints(kernel_size, 2)
    steps = kernel if stride is None or stride == [] else _ints(stride, 2)
    pads, dils = _ints(padding, 2), _ints(dilation, 2)
    if kernel is None or steps is None or pads is None or dils is None:
        return None
    if any(2 * p > k for p, k in zip(pads, kernel, strict=True)):
        return None  # torch refuses padding over half the kernel: its message
    sizes = _window(input.shape[2:], kernel, steps, pads, dils)
    return None if sizes is None else _empty((*input.shape[:2], *sizes), input)


def _adaptive_avg_pool2d(input: Any, output_size: Any) -> Any:
    if not _plain(input) or input.dim() != 4:
        return None
    if isinstance(output_size, int) and not isinstance(output_size, bool):
        output_size = (output_size, output_size)
    if not isinstance(output_size, Sequence) or len(output_size) != 2:
        return None
    sizes = [input.shape[2 + i] if s is None else s for i, s in enumerate(output_size)]
    if not all(type(s) is int and s >= 1 for s in sizes):
        return None
    return _empty((*input.shape[:2], *sizes), input)


def _add_(self: Any, other: Any, *, alpha: Any = 1) -> Any:
    """In place: ``other`` must broadcast to ``self``'s own shape."""
    if not _plain(self, other) or other.dim() > self.dim():
        return None
    for mine, theirs in zip(reversed(self.shape), reversed(other.shape), strict=False):
        if theirs not in (1, mine):
            return None
    return self


def _in_order_of(t: Any, dtype: Any) -> Any:
    """A new dense tensor of ``t``'s shape whose dimensions are laid out in the order of
    ``t``'s strides, as torch's elementwise kernels lay out their result (a transposed
    input gives a transposed result, a slice with gaps a dense one)."""
    import torch

    order = sorted(range(t.dim()), key=lambda i: (-t.stride(i), i))  # outermost first
    strides = [0] * t.dim()
    step = 1
    for i in reversed(order):
        strides[i] = step
        step *= max(t.shape[i], 1)
    return torch.empty_strided(tuple(t.shape), strides, dtype=dtype, device="meta")


def _output(shape: Sequence[int], dtype: Any, operands: Sequence[Any]) -> Any:
    """An elementwise result laid out as torch lays it out, or None where unsure: in the
    order of the first operand of the full shape (torch follows it), else contiguous if
    every operand is."""
    import torch

    tensors = [t for t in operands if isinstance(t, torch.Tensor)]
    first = next((t for t in tensors if tuple(t.shape) == tuple(shape)), None)
    if first is not None and all(
        st > 0 or n == 1 for st, n in zip(first.stride(), first.shape, strict=True)
    ):
        return _in_order_of(first, dtype)
    if all(t.is_contiguous() for t in tensors):
        return torch.empty(tuple(shape), dtype=dtype, device="meta")
    return None


def _usable(t: Any) -> bool:
    """A meta tensor of a floating dtype, strided, not a subclass (any layout)."""
    import torch
    from torch import nn

    return (
        type(t) in (torch.Tensor, nn.Parameter)
        and t.is_meta
        and t.layout == torch.strided
        and t.is_floating_point()
    )


def _scalar(value: Any) -> bool:
    return type(value) in (int, float)


def _broadcast(*shapes: Sequence[int]) -> tuple[int, ...] | None:
    out: list[int] = []
    for dims in itertools.zip_longest(*(reversed(s) for s in shapes), fillvalue=1):
        sizes = {d for d in dims if d != 1}
        if len(sizes) > 1:
            return None
        out.append(sizes.pop() if sizes else 1)
    return tuple(reversed(out))


def _unary(input: Any, *args: Any, **kwargs: Any) -> Any:
    """cos, sin, rsqrt, neg ... (no further arguments): the input's shape and dtype."""
    if args or kwargs or not _usable(input):
        return None
    return _output(input.shape, input.dtype, [input])


def _silu(input: Any, inplace: bool = False) -> Any:
    if not _usable(input):
        return None
    return input if inplace is True else _output(input.shape, input.dtype, [input])


def _binary(true_division: bool = False) -> Callable[..., Any]:
    """add, mul, sub, pow, div and their reflected forms: two floating tensors of one
    dtype, or a floating tensor and a Python number; ``true_division``: an integer
    tensor divided by a number gives the default dtype, as torch's ``/`` does."""

    def rule(a: Any, b: Any, *, alpha: Any = 1) -> Any:
        import torch

        if not _scalar(alpha):
            return None
        tensors = [t for t in (a, b) if isinstance(t, torch.Tensor)]
        if len(tensors) == 2:
            if not (_usable(a) and _usable(b)) or a.dtype != b.dtype:
                return None
            shape = _broadcast(a.shape, b.shape)
            return None if shape is None else _output(shape, a.dtype, [a, b])
        if len(tensors) != 1 or not _scalar(b if tensors[0] is a else a):
            return None
        t = tensors[0]
        if _usable(t):
            return _output(t.shape, t.dtype, [t])
        integer = t.dtype in (torch.int64, torch.int32) and t.is_meta and type(t) is torch.Tensor
        if true_division and integer and t.layout == torch.strided:
            return _output(t.shape, torch.get_default_dtype(), [t])
        return None

    return rule


def _mean(input: Any, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Any:
    if dtype is not None or not _usable(input) or not input.is_contiguous():
        return None
    if type(dim) is int:
        dim = (dim,)
    if not isinstance(dim, Sequence) or not dim or not all(type(d) is int for d in dim):
        return None
    rank = input.dim()
    if not all(-rank <= d < rank for d in dim):
        return None
    chosen = {d % rank for d in dim}
    if len(chosen) != len(dim):
        return None
    shape = [
        1 if i in chosen else n for i, n in enumerate(input.shape) if keepdim or i not in chosen
    ]
    return _empty(shape, input)


def _cat(tensors: Any, dim: int = 0) -> Any:
    if not isinstance(tensors, list | tuple) or not tensors or type(dim) is not int:
        return None
    import torch

    first = tensors[0]
    usable = all(
        _usable(t) and t.dtype == first.dtype and t.dim() == first.dim() and t.numel()
        for t in tensors
    )
    if not usable:
        return None
    formats = {4: torch.channels_last, 5: torch.channels_last_3d}
    channels_last = formats.get(first.dim())
    if channels_last is not None and any(
        t.is_contiguous(memory_format=channels_last) and not t.is_contiguous() for t in tensors
    ):
        return None  # torch may keep a channels-last layout: its call
    rank = first.dim()
    if not -rank <= dim < rank:
        return None
    dim %= rank
    for t in tensors:
        if any(t.shape[i] != first.shape[i] for i in range(rank) if i != dim):
            return None
    shape = list(first.shape)
    shape[dim] = sum(t.shape[dim] for t in tensors)
    return _empty(shape, first)


def _outer(input: Any, vec2: Any) -> Any:
    if not _plain(input, vec2) or input.dim() != 1 or vec2.dim() != 1:
        return None
    return _empty((input.shape[0], vec2.shape[0]), input)


def _embedding(
    input: Any,
    weight: Any,
    padding_idx: Any = None,
    max_norm: Any = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Any:
    import torch

    if max_norm is not None or not _plain(weight) or weight.dim() != 2:
        return None
    ids = type(input) is torch.Tensor and input.is_meta and input.layout == torch.strided
    if not ids or input.dtype not in (torch.int64, torch.int32) or not input.is_contiguous():
        return None
    rows = weight.shape[0]
    if padding_idx is not None and not (type(padding_idx) is int and -rows <= padding_idx < rows):
        return None
    return _empty((*input.shape, weight.shape[1]), weight)


def _attention(
    query: Any,
    key: Any,
    value: Any,
    attn_mask: Any = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: Any = None,
    enable_gqa: bool = False,
) -> Any:
    if attn_mask is not None or enable_gqa is not False or not _usable(query):
        return None
    if not all(_usable(t) and t.dtype == query.dtype for t in (key, value)):
        return None
    if not query.dim() == key.dim() == value.dim() >= 3:
        return None
    if not query.shape[:-2] == key.shape[:-2] == value.shape[:-2]:
        return None
    if key.shape[-1] != query.shape[-1] or key.shape[-2] != value.shape[-2]:
        return None
    return _empty((*query.shape[:-1], value.shape[-1]), query)


def _arange(*args: Any, device: Any = None, dtype: Any = None) -> Any:
    """``torch.arange(end)``, ``(start, end)`` or ``(start, end, step)`` on meta."""
    import math

    import torch

    if device is None or torch.device(device).type != "meta" or not 1 <= len(args) <= 3:
        return None
    if not all(_scalar(a) for a in args):
        return None
    start, end, step = (0, args[0], 1) if len(args) == 1 else (*args, 1)[:3]
    if step == 0 or (end - start) * step < 0:
        return None
    if dtype is None:
        integral = all(type(a) is int for a in (start, end, step))
        dtype = torch.int64 if integral else torch.get_default_dtype()
    length = math.ceil((end - start) / step)
    return torch.empty((length,), dtype=dtype, device="meta")


@cache
def _rules() -> dict[Any, Callable[..., Any]]:
    import torch
    import torch.nn.functional as F

    return {
        F.conv1d: _conv(1),
        F.conv2d: _conv(2),
        F.conv3d: _conv(3),
        F.linear: _linear,
        F.batch_norm: _batch_norm,
        F.relu: _relu,
        F.max_pool2d: _max_pool2d,
        F.adaptive_avg_pool2d: _adaptive_avg_pool2d,
        torch.Tensor.add_: _add_,
        # the elementwise functions and operators of a transformer block
        **dict.fromkeys(
            [torch.cos, torch.sin, torch.rsqrt, torch.neg, torch.exp, torch.tanh],
            _unary,
        ),
        **dict.fromkeys(
            [torch.Tensor.cos, torch.Tensor.sin, torch.Tensor.rsqrt, torch.Tensor.neg],
            _unary,
        ),
        **dict.fromkeys([torch.Tensor.exp, torch.Tensor.tanh, torch.Tensor.__neg__], _unary),
        F.silu: _silu,
        **dict.fromkeys(
            [torch.add, torch.mul, torch.sub, torch.Tensor.add, torch.Tensor.mul],
            _binary(),
        ),
        **dict.fromkeys(
            [torch.Tensor.sub, torch.Tensor.pow, torch.Tensor.__rpow__, torch.Tensor.__radd__],
            _binary(),
        ),
        **dict.fromkeys([torch.Tensor.__rmul__, torch.Tensor.__rsub__], _binary()),
        **dict.fromkeys(
            [torch.div, torch.Tensor.div, torch.Tensor.__truediv__, torch.Tensor.__rdiv__],
            _binary(true_division=True),
        ),
        torch.Tensor.mean: _mean,
        torch.mean: _mean,
        torch.cat: _cat,
        torch.outer: _outer,
        F.embedding: _embedding,
        F.scaled_dot_product_attention: _attention,
        torch.arange: _arange,
    }


@cache
def _mode_class() -> Any:
    from torch.overrides import TorchFunctionMode

    rules = _rules()

    class MetaShapes(TorchFunctionMode):
        """See the module's docstring. Use it for a meta forward pass only."""

        def __torch_function__(
            self,
            func: Callable[..., Any],
            types: Any,
            args: tuple[Any, ...] = (),
            kwargs: dict[str, Any] | None = None,
        ) -> Any:
            kwargs = kwargs or {}
            rule = rules.get(func)
            if rule is not None:
                try:
                    result = rule(*args, **kwargs)
                except TypeError:  # a call form the rule does not know: torch's
                    result = None
                if result is not None:
                    return result
            return func(*args, **kwargs)

    return MetaShapes


def meta_shapes() -> Any:
    """A new :class:`MetaShapes` mode, to enter around a meta forward pass."""
    return _mode_class()()
