"""Reductions and the normalizations over a dimension (softmax family)."""
from __future__ import annotations

import builtins as _b
import math
from collections import namedtuple

import numpy as np

from ..autograd.op import Op, export
from ..tensor import Tensor, _new
from ._args import float_input, not_tensor, tensor_input
from .arithmetic import mul, sub
from .cast import cast

MaxResult = namedtuple("MaxResult", ["values", "indices"])


def norm_dims(dim, ndim, opname):
    """``dim`` (int, tuple or None) as a sorted tuple of non-negative axes, or None for all."""
    if dim is None:
        return None
    if not isinstance(dim, (int, np.integer, tuple, list)):
        raise TypeError(f"{opname}: dim must be an int or a tuple of ints, got {dim!r}")
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    out = []
    hi = _b.max(ndim, 1)
    for d in dims:
        if not isinstance(d, (int, np.integer)):
            raise TypeError(f"{opname}: dim must be an int or a tuple of ints, got {dim!r}")
        if not -hi <= d < hi:
            raise IndexError(f"{opname}: dim {d} is out of range for a tensor with {ndim} "
                             f"dimension(s) (expected in [{-hi}, {hi - 1}])")
        out.append(int(d) % hi)
    if len(set(out)) != len(out):
        raise RuntimeError(f"{opname}: dim {dim} appears more than once")
    # an empty tuple reduces over every dim, as in PyTorch (NumPy would reduce over none)
    return tuple(sorted(out)) if ndim and out else None


def _kept_shape(shape, axes):
    return tuple(1 if (axes is None or i in axes) else s for i, s in enumerate(shape))


class Sum(Op):
    def forward(ctx, xp, x, *, axis=None, keepdims=False):
        ctx.shape, ctx.axis, ctx.keepdims = x.shape, axis, keepdims
        return xp.asarray(x.sum(axis=axis, keepdims=keepdims))

    def backward(ctx, xp, g):
        if not ctx.keepdims:
            g = xp.reshape(g, _kept_shape(ctx.shape, ctx.axis))
        return xp.broadcast_to(g, ctx.shape)


class Mean(Op):
    def forward(ctx, xp, x, *, axis=None, keepdims=False):
        ctx.shape, ctx.axis, ctx.keepdims = x.shape, axis, keepdims
        ctx.n = x.size if axis is None else math.prod(x.shape[a] for a in axis)
        return xp.asarray(x.sum(axis=axis, keepdims=keepdims) / ctx.n, dtype=x.dtype)

    def backward(ctx, xp, g):
        if not ctx.keepdims:
            g = xp.reshape(g, _kept_shape(ctx.shape, ctx.axis))
        return xp.broadcast_to(g / ctx.n, ctx.shape)


class MaxMin(Op):
    """max/min over all elements (ties share the gradient) or along one dim (argmax gets it);
    the mask that routes the gradient is a constant (piecewise in the input)."""

    def forward(ctx, xp, x, *, axis, keepdims, is_max):
        ctx.shape, ctx.axis, ctx.keepdims = x.shape, axis, keepdims
        if axis is None:
            y = x.max() if is_max else x.min()
            m = x == y
            ctx.mask = m / m.sum(dtype=x.dtype)
            return xp.asarray(y)
        idx = xp.expand_dims((x.argmax if is_max else x.argmin)(axis=axis), axis)
        y = xp.take_along_axis(x, idx, axis)
        m = xp.zeros(x.shape, dtype=x.dtype)
        xp.put_along_axis(m, idx, 1, axis)
        ctx.mask = m
        return y if keepdims else y.squeeze(axis)

    def backward(ctx, xp, g):
        if ctx.axis is not None and not ctx.keepdims:
            g = xp.reshape(g, _kept_shape(ctx.shape, (ctx.axis,)))
        return g * ctx.mask


@export(method=True)
def sum(input, dim=None, keepdim=False, *, dtype=None):  # noqa: A001
    """Sum over ``dim`` (int, tuple or all); bool/int inputs sum to int64 (as PyTorch)."""
    x = tensor_input(input, "sum")
    axes = norm_dims(dim, x.ndim, "sum")
    if dtype is not None:
        x = cast(x, dtype)
    elif x._data.dtype.kind in "biu" and x._data.dtype != np.int64:
        x = cast(x, np.int64)
    return Sum.apply(x, axis=axes, keepdims=keepdim)


@export(method=True)
def mean(input, dim=None, keepdim=False, *, dtype=None):
    x = tensor_input(input, "mean")
    axes = norm_dims(dim, x.ndim, "mean")
    if dtype is not None:
        x = cast(x, dtype)
    if x._data.dtype.kind != "f":
        raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be floating "
                           f"point, got {x.dtype}")
    return Mean.apply(x, axis=axes, keepdims=keepdim)


def _arg(x, dim, keepdim, is_max):
    """Indices of the max/min as an int64 tensor outside the graph."""
    d = x._data
    if dim is None:
        return _new(np.asarray((d.argmax if is_max else d.argmin)(), dtype=np.int64))
    if x.ndim == 0:
        return _new(np.zeros((), dtype=np.int64))
    ax = norm_dims(dim, x.ndim, "argmax" if is_max else "argmin")[0]
    if d.shape[ax] == 0:
        raise IndexError(f"{'argmax' if is_max else 'argmin'}: expected reduction dim {ax} to "
                         f"have non-zero size (tensor shape {tuple(x.shape)})")
    r = (d.argmax if is_max else d.argmin)(axis=ax)
    return _new((np.expand_dims(r, ax) if keepdim else r).astype(np.int64))


def _maxmin(x, dim, keepdim, is_max):
    name = "max" if is_max else "min"
    x = tensor_input(x, name)
    if isinstance(dim, Tensor):   # torch.max(a, b) is the elementwise maximum
        from .compare import maximum, minimum
        return (maximum if is_max else minimum)(x, dim)
    if dim is None:
        if x._data.size == 0:
            raise RuntimeError(f"{name}(): expected a non-empty tensor (shape {tuple(x.shape)}); "
                               f"pass dim= to reduce over one dimension")
        return MaxMin.apply(x, axis=None, keepdims=False, is_max=is_max)
    if not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{name}: dim must be an int, got {dim!r}")
    if x.ndim == 0:
        return MaxResult(x, _new(np.asarray(0)))
    axis = norm_dims(dim, x.ndim, name)[0]
    if x.shape[axis] == 0:
        raise IndexError(f"{name}(): expected reduction dim {axis} to have non-zero size "
                         f"(tensor shape {tuple(x.shape)})")
    values = MaxMin.apply(x, axis=axis, keepdims=keepdim, is_max=is_max)
    return MaxResult(values, _arg(x, dim, keepdim, is_max))


@export(method=True)
def max(input, dim=None, keepdim=False):  # noqa: A001
    """Largest value; with ``dim`` returns ``(values, indices)`` as ``torch.max``."""
    return _maxmin(input, dim, keepdim, True)


@export(method=True)
def min(input, dim=None, keepdim=False):  # noqa: A001
    return _maxmin(input, dim, keepdim, False)


@export(method=True)
def amax(input, dim=None, keepdim=False):
    if dim is None or isinstance(dim, (int, np.integer)):
        r = _maxmin(input, dim, keepdim, True)
        return r if dim is None else r.values
    from .api_math import amax_dims   # several dims: composed (moved last, merged, reduced)
    return amax_dims(input, dim, keepdim)


@export(method=True)
def argmax(input, dim=None, keepdim=False):
    return _arg(tensor_input(input, "argmax"), dim, keepdim, True)


@export(method=True)
def argmin(input, dim=None, keepdim=False):
    return _arg(tensor_input(input, "argmin"), dim, keepdim, False)


@export(method=True)
def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Variance (composite: no backward of its own).  ``correction=1`` (default) is Bessel's."""
    x = tensor_input(input, "var")
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    axes = norm_dims(dim, x.ndim, "var")
    n = x.numel() if axes is None else math.prod(x.shape[a] for a in axes)
    d = sub(x, mean(x, dim=axes, keepdim=True))
    return sum(mul(d, d), dim=axes, keepdim=keepdim) / _b.max(n - correction, 0)


@export(method=True)
def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return var(input, dim, unbiased, keepdim, correction=correction).sqrt()


@export(method=True)
def all(input, dim=None, keepdim=False):  # noqa: A001
    return _new(np.asarray(np.all(tensor_input(input, "all")._data, axis=dim, keepdims=keepdim)))


@export(method=True)
def any(input, dim=None, keepdim=False):  # noqa: A001
    return _new(np.asarray(np.any(tensor_input(input, "any")._data, axis=dim, keepdims=keepdim)))


# ---------------------------------------------------------------------------------------------
# normalizations over one dimension: stable for logits of any size
# ---------------------------------------------------------------------------------------------
class LogSumExp(Op):
    save = ("x", "out")

    def forward(ctx, xp, x, *, axis, keepdims):
        ctx.shape, ctx.axis, ctx.keepdims = x.shape, axis, keepdims
        m = x.max(axis=axis, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)
        y = xp.log(xp.exp(x - m).sum(axis=axis, keepdims=True)) + m
        return y if keepdims else y.reshape([s for i, s in enumerate(x.shape) if i not in axis])

    def backward(ctx, xp, g, x, y):
        if not ctx.keepdims:
            kept = _kept_shape(ctx.shape, ctx.axis)
            g, y = xp.reshape(g, kept), xp.reshape(y, kept)
        return g * xp.exp(x - y)


class Softmax(Op):
    save = ("out",)

    def forward(ctx, xp, x, *, axis):
        ctx.axis = axis
        e = xp.exp(x - xp.maximum.reduce(x, axis=axis, keepdims=True))
        e /= xp.add.reduce(e, axis=axis, keepdims=True)
        return e

    def backward(ctx, xp, g, y):
        return y * (g - xp.sum(g * y, axis=ctx.axis, keepdims=True))


class LogSoftmax(Op):
    name = "log_softmax"
    save = ("out",)

    def forward(ctx, xp, x, *, axis):
        ctx.axis = axis
        s = x - x.max(axis=axis, keepdims=True)
        return s - xp.log(xp.exp(s).sum(axis=axis, keepdims=True))

    def backward(ctx, xp, g, y):
        return g - xp.exp(y) * xp.sum(g, axis=ctx.axis, keepdims=True)


def _one_dim(x, dim, opname):
    if not isinstance(x, Tensor):
        raise not_tensor(opname, x)
    if dim is None:
        raise TypeError(f"{opname}() missing the dim argument (implicit dim is deprecated in "
                        "PyTorch too); pass dim=-1 for the last dimension")
    x = float_input(x, opname)
    if x.ndim == 0:
        return x, 0
    return x, norm_dims(dim, x.ndim, opname)[0]


@export(method=True)
def softmax(input, dim=None, dtype=None):
    x = cast(input, dtype) if dtype is not None else input
    x, axis = _one_dim(x, dim, "softmax")
    return Softmax.apply(x, axis=axis)


@export(method=True)
def log_softmax(input, dim=None, dtype=None):
    x = cast(input, dtype) if dtype is not None else input
    x, axis = _one_dim(x, dim, "log_softmax")
    return LogSoftmax.apply(x, axis=axis)


@export(method=True)
def logsumexp(input, dim, keepdim=False):
    x = float_input(input, "logsumexp")
    axes = norm_dims(dim, x.ndim, "logsumexp")
    if axes is None:
        axes = tuple(range(x.ndim))
    return LogSumExp.apply(x, axis=axes, keepdims=keepdim)


