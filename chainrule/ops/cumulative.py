"""Running sums and products along one dim: ``cumsum`` and ``cumprod`` as primitives.

cumsum's adjoint is the running sum from the other end (written with the registered ``cumsum``
itself, so second derivatives work); cumprod's is (sum_{j>=i} g_j y_j) / x_i, which needs the
input to have no zeros: where it has one, the backward says so instead of dividing by zero.
"""
from __future__ import annotations

import numpy as np

from ..autograd.op import Op, export
from ._args import tensor_input


def _reverse(axis):
    return (slice(None),) * axis + (slice(None, None, -1),)


class Cumsum(Op):
    """Running sum along ``axis``; its adjoint is the running sum from the other end."""

    def forward(ctx, xp, x, *, axis):
        ctx.axis = axis
        return xp.cumsum(x, axis=axis)

    def backward(ctx, xp, g):
        axis = ctx.axis
        rev = _reverse(axis)
        return xp.cumsum(g[rev], axis=axis)[rev]


class Cumprod(Op):
    """Running product along ``axis``; d/dx_i sum_j g_j y_j = (sum_{j>=i} g_j y_j) / x_i."""
    save = ("x", "out")

    def forward(ctx, xp, x, *, axis):
        ctx.axis = axis
        return xp.cumprod(x, axis=axis)

    def backward(ctx, xp, g, x, y):
        if bool((x == 0).any()):
            raise NotImplementedError("cumprod: the gradient for an input that contains zeros "
                                      "is not implemented (it is not (sum g*y)/x there)")
        rev = _reverse(ctx.axis)
        return xp.cumsum((g * y)[rev], axis=ctx.axis)[rev] / x


def _cum(op, name):
    def fn(input, dim, *, dtype=None):   # noqa: A002
        from ..dtypes import as_dtype
        x = tensor_input(input, name)
        if dtype is not None:
            x = x.to(as_dtype(dtype))
        elif x._data.dtype.kind in "biu":   # PyTorch: integer and bool sums become int64
            x = x.to(np.int64)
        n = max(x.ndim, 1)
        if not isinstance(dim, (int, np.integer)) or not -n <= dim < n:
            raise IndexError(f"{name}: dim {dim!r} is out of range for a tensor with {x.ndim} "
                             "dims")
        if x.ndim == 0:
            return x.clone()
        return op.apply(x, axis=int(dim) % x.ndim)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"Running {'sum' if op is Cumsum else 'product'} along ``dim`` (as "
                  f"``torch.{name}``); integer inputs accumulate in int64.")
    fn.__module__ = __name__
    return export(fn, method=True)


cumsum = _cum(Cumsum, "cumsum")
cumprod = _cum(Cumprod, "cumprod")
