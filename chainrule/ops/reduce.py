"""Reductions and the normalizations over a dimension (softmax family)."""
from __future__ import annotations

import builtins as _b
from collections import namedtuple

import numpy as np

from ..autograd.function import Op, _new
from ..dtypes import get_default_dtype
from ..tensor import Tensor
from . import dual as D
from .elementwise import cast, mul, not_tensor, sub

MaxResult = namedtuple("MaxResult", ["values", "indices"])


def norm_dims(dim, ndim, opname):
    """``dim`` (int, tuple or None) as a sorted tuple of non-negative axes, or None for all."""
    if dim is None:
        return None
    if not isinstance(dim, (int, np.integer, tuple, list)):
        raise TypeError(f"{opname}: dim must be an int or a tuple of ints, got {dim!r}")
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    out = []
    for d in dims:
        if not isinstance(d, (int, np.integer)):
            raise TypeError(f"{opname}: dim must be an int or a tuple of ints, got {dim!r}")
        lo = -_b.max(ndim, 1)
        if not lo <= d < _b.max(ndim, 1):
            raise IndexError(f"{opname}: dim {d} is out of range for a tensor with {ndim} "
                             f"dimension(s) (expected in [{lo}, {_b.max(ndim, 1) - 1}])")
        out.append(int(d) % _b.max(ndim, 1))
    if len(set(out)) != len(out):
        raise RuntimeError(f"{opname}: dim {dim} appears more than once")
    # an empty tuple reduces over every dim, as in PyTorch (NumPy would reduce over none)
    return tuple(sorted(out)) if ndim and out else None


def _kept_shape(shape, axes):
    return tuple(1 if (axes is None or i in axes) else s for i, s in enumerate(shape))


class Sum(Op):
    uses_inputs = False

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        ctx.shape, ctx.axes, ctx.keepdim = x.shape, axes, keepdim
        return np.asarray(x.sum(axis=axes, keepdims=keepdim))

    def backward(ctx, g):
        if not ctx.keepdim:
            g = g.reshape(_kept_shape(ctx.shape, ctx.axes))
        return D.expand(g, ctx.shape)


class Mean(Op):
    uses_inputs = False

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        ctx.shape, ctx.axes, ctx.keepdim = x.shape, axes, keepdim
        ctx.n = x.size if axes is None else int(np.prod([x.shape[a] for a in axes]))
        return np.asarray(x.sum(axis=axes, keepdims=keepdim) / ctx.n, dtype=x.dtype)

    def backward(ctx, g):
        if not ctx.keepdim:
            g = g.reshape(_kept_shape(ctx.shape, ctx.axes))
        return D.expand(g / ctx.n, ctx.shape)


class MaxMin(Op):
    """max/min over all elements (ties share the gradient) or along one dim (argmax gets it)."""

    @staticmethod
    def forward(ctx, x, axis, keepdim, is_max):
        ctx.shape, ctx.axis, ctx.keepdim = x.shape, axis, keepdim
        if x.size == 0 and (axis is None or x.shape[axis] == 0):   # (0, 3) along dim 1: empty
            raise RuntimeError(f"{'max' if is_max else 'min'}: tensor of shape {x.shape} is empty"
                               + ("" if axis is None else f" along dim {axis}"))
        if axis is None:
            y = x.max() if is_max else x.min()
            m = x == y
            ctx.mask = m / m.sum(dtype=x.dtype)
            return np.asarray(y)
        idx = np.expand_dims((x.argmax if is_max else x.argmin)(axis=axis), axis)
        y = np.take_along_axis(x, idx, axis)
        m = np.zeros(x.shape, dtype=x.dtype)
        np.put_along_axis(m, idx, 1, axis)
        ctx.mask, ctx.idx = m, idx
        return y if keepdim else y.squeeze(axis)

    def backward(ctx, g):
        if ctx.axis is not None and not ctx.keepdim:
            g = g.reshape(_kept_shape(ctx.shape, (ctx.axis,)))
        return g * ctx.mask


def _reduce_arg(x, dim, opname):
    if not isinstance(x, Tensor):
        raise TypeError(f"{opname}: expected a Tensor, got {type(x).__name__}")
    return norm_dims(dim, x.ndim, opname)


def sum(x, dim=None, keepdim=False, dtype=None):  # noqa: A001
    """Sum over ``dim`` (int, tuple or all); bool/int inputs sum to int64 (as PyTorch)."""
    axes = _reduce_arg(x, dim, "sum")
    if dtype is not None:
        x = cast(x, dtype)
    elif x._data.dtype.kind in "biu" and x._data.dtype != np.int64:
        x = cast(x, np.int64)
    return Sum.apply(x, axes=axes, keepdim=keepdim)


def mean(x, dim=None, keepdim=False, dtype=None):
    axes = _reduce_arg(x, dim, "mean")
    if dtype is not None:
        x = cast(x, dtype)
    if x._data.dtype.kind != "f":
        raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be floating "
                           f"point, got {x.dtype}")
    return Mean.apply(x, axes=axes, keepdim=keepdim)


def _maxmin(x, dim, keepdim, is_max):
    name = "max" if is_max else "min"
    if isinstance(dim, Tensor):   # torch.max(a, b) is the elementwise maximum
        from .elementwise import maximum, minimum
        return (maximum if is_max else minimum)(x, dim)
    if dim is None:
        return MaxMin.apply(x, axis=None, keepdim=False, is_max=is_max)
    if not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{name}: dim must be an int, got {dim!r}")
    axis = norm_dims(dim, x.ndim, name)
    axis = axis[0] if axis else 0
    if x.ndim == 0:
        return MaxResult(x, _new(np.asarray(0), False, None))
    values = MaxMin.apply(x, axis=axis, keepdim=keepdim, is_max=is_max)
    idx = (x._data.argmax if is_max else x._data.argmin)(axis=axis)
    if keepdim:
        idx = np.expand_dims(idx, axis)
    return MaxResult(values, _new(idx.astype(np.int64), False, None))


def max(x, dim=None, keepdim=False):  # noqa: A001
    """Largest value; with ``dim`` returns ``(values, indices)`` as ``torch.max``."""
    return _maxmin(x, dim, keepdim, True)


def min(x, dim=None, keepdim=False):  # noqa: A001
    return _maxmin(x, dim, keepdim, False)


def amax(x, dim=None, keepdim=False):
    if dim is None or isinstance(dim, (int, np.integer)):
        r = _maxmin(x, dim, keepdim, True)
        return r if dim is None else r.values
    raise NotImplementedError("amax over several dims")


def argmax(x, dim=None, keepdim=False):
    if dim is None:
        return _new(np.asarray(x._data.argmax(), dtype=np.int64), False, None)
    if x.ndim == 0:
        return _new(np.zeros((), dtype=np.int64), False, None)
    r = x._data.argmax(axis=norm_dims(dim, x.ndim, "argmax")[0])
    return _new((np.expand_dims(r, dim) if keepdim else r).astype(np.int64), False, None)


def argmin(x, dim=None, keepdim=False):
    if dim is None:
        return _new(np.asarray(x._data.argmin(), dtype=np.int64), False, None)
    if x.ndim == 0:
        return _new(np.zeros((), dtype=np.int64), False, None)
    r = x._data.argmin(axis=norm_dims(dim, x.ndim, "argmin")[0])
    return _new((np.expand_dims(r, dim) if keepdim else r).astype(np.int64), False, None)


def var(x, dim=None, unbiased=None, keepdim=False, correction=None):
    """Variance (composite: no backward of its own).  ``correction=1`` (default) is Bessel's."""
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    axes = _reduce_arg(x, dim, "var")
    n = x.numel() if axes is None else int(np.prod([x.shape[a] for a in axes]))
    d = sub(x, mean(x, dim=axes, keepdim=True))
    return sum(mul(d, d), dim=axes, keepdim=keepdim) / builtins_max(n - correction, 0)


def std(x, dim=None, unbiased=None, keepdim=False, correction=None):
    return var(x, dim, unbiased, keepdim, correction).sqrt()


def builtins_max(a, b):
    return a if a > b else b


def all(x, dim=None):  # noqa: A001
    return _new(np.asarray(np.all(x._data, axis=dim)), False, None)


def any(x, dim=None):  # noqa: A001
    return _new(np.asarray(np.any(x._data, axis=dim)), False, None)


# ---------------------------------------------------------------------------------------------
# normalizations over one dimension: stable for logits of any size
# ---------------------------------------------------------------------------------------------
class LogSumExp(Op):
    uses_output = True

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        ctx.shape, ctx.axes, ctx.keepdim = x.shape, axes, keepdim
        m = x.max(axis=axes, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)
        y = np.log(np.exp(x - m).sum(axis=axes, keepdims=True)) + m
        ctx._y = y
        return y if keepdim else y.reshape([s for i, s in enumerate(x.shape) if i not in axes])

    def backward(ctx, g):
        y = ctx.output()
        if not ctx.keepdim:
            kept = _kept_shape(ctx.shape, ctx.axes)
            g, y = g.reshape(kept), y.reshape(kept)
        return g * D.exp(ctx.input(0) - y)


class Softmax(Op):
    uses_inputs = False
    uses_output = True

    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        y = e / e.sum(axis=axis, keepdims=True)
        ctx._y = y
        return y

    def backward(ctx, g):
        y = ctx.output()
        return y * (g - D.sum(g * y, ctx.axis, True))


class LogSoftmax(Op):
    uses_inputs = False
    uses_output = True

    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        s = x - x.max(axis=axis, keepdims=True)
        y = s - np.log(np.exp(s).sum(axis=axis, keepdims=True))
        ctx._y = y
        return y

    def backward(ctx, g):
        return g - D.exp(ctx.output()) * D.sum(g, ctx.axis, True)


def _one_dim(x, dim, opname):
    if not isinstance(x, Tensor):
        raise not_tensor(opname, x)
    if dim is None:
        raise TypeError(f"{opname}() missing the dim argument (implicit dim is deprecated in "
                        "PyTorch too); pass dim=-1 for the last dimension")
    if x._data.dtype.kind != "f":
        x = cast(x, get_default_dtype())
    if x.ndim == 0:
        return x, 0
    return x, norm_dims(dim, x.ndim, opname)[0]


def softmax(x, dim=None, dtype=None):
    if dtype is not None:
        x = cast(x, dtype)
    x, axis = _one_dim(x, dim, "softmax")
    return Softmax.apply(x, axis=axis)


def log_softmax(x, dim=None, dtype=None):
    if dtype is not None:
        x = cast(x, dtype)
    x, axis = _one_dim(x, dim, "log_softmax")
    return LogSoftmax.apply(x, axis=axis)


def logsumexp(x, dim, keepdim=False):
    if not isinstance(x, Tensor):
        raise not_tensor("logsumexp", x)
    if x._data.dtype.kind != "f":
        x = cast(x, get_default_dtype())
    axes = norm_dims(dim, x.ndim, "logsumexp")
    if axes is None:
        axes = tuple(range(x.ndim))
    return LogSumExp.apply(x, axes=axes, keepdim=keepdim)
