"""Selection (maximum, minimum, where, clamp) and the comparisons and logical ops.

Comparisons give bool tensors, which never carry a gradient.
"""
from __future__ import annotations

import numpy as np

from ..autograd.op import Op, export
from ..dtypes import get_default_dtype
from ..tensor import Tensor, _new
from ._args import apply_binary, as_tensor_like, broadcast_error, pair, tensor_input
from .cast import cast


class Maximum(Op):
    """Elementwise max; ties send half the gradient to each side (as PyTorch)."""
    save = ("a", "b")

    def forward(ctx, xp, a, b):
        return xp.maximum(a, b)

    def backward(ctx, xp, g, a, b):
        w = (a > b) + (a == b) * 0.5     # a piecewise constant weight
        return g * w, g * (1 - w)


class Minimum(Op):
    save = ("a", "b")

    def forward(ctx, xp, a, b):
        return xp.minimum(a, b)

    def backward(ctx, xp, g, a, b):
        w = (a < b) + (a == b) * 0.5
        return g * w, g * (1 - w)


class Where(Op):
    """``a`` where ``cond`` else ``b``; ``cond`` is a bool input without gradient."""
    save = ("cond",)

    def forward(ctx, xp, cond, a, b):
        return xp.where(cond, a, b)

    def backward(ctx, xp, g, cond):
        n = ctx.needs_input_grad
        return None, (xp.where(cond, g, 0) if n[1] else None), \
            (xp.where(cond, 0, g) if n[2] else None)


class Clamp(Op):
    name = "clip"
    save = ("x",)

    def forward(ctx, xp, x, *, lo=None, hi=None):
        ctx.lo, ctx.hi = lo, hi
        return xp.clip(x, lo, hi)

    def backward(ctx, xp, g, x):
        lo, hi = ctx.lo, ctx.hi
        if lo is not None:
            g = g * (x >= lo)
        if hi is not None:
            g = g * (x <= hi)
        return g


@export(method=True)
def maximum(input, other):
    """Elementwise maximum (as ``torch.maximum``)."""
    return apply_binary(Maximum, input, other, "maximum")


@export(method=True)
def minimum(input, other):
    """Elementwise minimum (as ``torch.minimum``)."""
    return apply_binary(Minimum, input, other, "minimum")


@export(method=True)
def where(condition, input, other):  # noqa: A002
    """``input`` where ``condition`` holds, else ``other`` (as ``torch.where``); either of
    ``input`` and ``other`` may be a Python number."""
    cond = condition if isinstance(condition, Tensor) else _new(np.asarray(condition))
    if cond._data.dtype != np.bool_:
        raise TypeError(f"where: condition must be a bool tensor, got {cond.dtype}")
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        input = as_tensor_like(input, _new(np.zeros((), get_default_dtype())))
    a, b = pair(input, other, "where")
    try:
        np.broadcast_shapes(cond.shape, a.shape, b.shape)
    except ValueError:
        raise RuntimeError(f"where: shapes condition {tuple(cond.shape)}, input "
                           f"{tuple(a.shape)} and other {tuple(b.shape)} can't be broadcast "
                           "together") from None
    return Where.apply(cond, a, b)


def _tensor_method_where(self, condition, other):
    return where(condition, self, other)


export(_tensor_method_where, method="where", function=False)


@export(method=("clamp", "clip"))
def clamp(input, min=None, max=None):  # noqa: A002
    """Limit values to ``[min, max]``; the gradient passes where ``min <= x <= max``."""
    x = tensor_input(input, "clamp")
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = x
        if min is not None:
            out = maximum(out, min)
        if max is not None:
            out = minimum(out, max)
        return out
    if x._data.dtype.kind in "biu":   # promote as torch: int clamped by a float is float
        if isinstance(min, float) or isinstance(max, float):
            x = cast(x, get_default_dtype())
        elif x._data.dtype == np.bool_:
            x = cast(x, np.int64)
    t = x._data.dtype.type
    return Clamp.apply(x, lo=None if min is None else t(min), hi=None if max is None else t(max))


export(clamp, name="clip")


@export(method="masked_fill", function=True)
def masked_fill(input, mask, value):
    """``value`` where ``mask`` is True, else ``input`` (as ``torch.masked_fill``)."""
    return where(mask, as_tensor_like(value, input), input)


# -------------------------------------------------------------------------------------------
# comparisons and logical ops (bool results, never in the graph)
# -------------------------------------------------------------------------------------------
def _compare(ufunc, name, dunder):
    def fn(input, other):
        a, b = pair(input, other, name)
        try:
            return _new(np.asarray(ufunc(a._data, b._data)))
        except ValueError:
            raise broadcast_error(name, a, b) from None
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise ``{name}`` with broadcasting; a bool tensor (as ``torch.{name}``)."
    return export(fn, method=(name,) + dunder)


eq = _compare(np.equal, "eq", ("__eq__",))
ne = _compare(np.not_equal, "ne", ("__ne__",))
lt = _compare(np.less, "lt", ("__lt__",))
le = _compare(np.less_equal, "le", ("__le__",))
gt = _compare(np.greater, "gt", ("__gt__",))
ge = _compare(np.greater_equal, "ge", ("__ge__",))
logical_and = _compare(np.logical_and, "logical_and", ("__and__", "__rand__"))
logical_or = _compare(np.logical_or, "logical_or", ("__or__", "__ror__"))
logical_xor = _compare(np.logical_xor, "logical_xor", ("__xor__", "__rxor__"))


def _predicate(ufunc, name, dunder=()):
    def fn(input):
        return _new(np.asarray(ufunc(tensor_input(input, name)._data)))
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise ``{name}``; a bool tensor (as ``torch.{name}``)."
    return export(fn, method=(name,) + dunder)


logical_not = _predicate(np.logical_not, "logical_not", ("__invert__",))
isnan = _predicate(np.isnan, "isnan")
isinf = _predicate(np.isinf, "isinf")
isfinite = _predicate(np.isfinite, "isfinite")
