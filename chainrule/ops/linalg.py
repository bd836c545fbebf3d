"""Matrix products."""
from __future__ import annotations

import numpy as np

from ..autograd import homes
from ..autograd.function import Op
from ..dtypes import dtype_repr
from ..tensor import Tensor
from .movement import reshape, squeeze, unsqueeze


class MatMul(Op):
    """``a @ b`` for ``a.ndim, b.ndim >= 2`` with broadcast batch dims."""

    @staticmethod
    def forward(ctx, a, b):
        return a @ b

    def backward(ctx, g):
        n = ctx.needs_input_grad
        return (g @ ctx.input(1).mT if n[0] else None), (ctx.input(0).mT @ g if n[1] else None)


class Linear(Op):
    """``x @ w.T + b`` in one node: the fully-connected layer's forward and backward."""
    fresh_output = True     # a new product (the bias is added into it)
    fresh_grads = True      # g @ w and the products for w and b (a parameter's flat home is
    #                         a leaf's gradient, never another op's input gradient)

    @staticmethod
    def forward(ctx, x, w, b=None):
        y = x @ w.T
        if b is not None:
            y += b
        return y

    def backward(ctx, g):
        n = ctx.needs_input_grad
        if type(g) is np.ndarray and g.dtype.kind == "f":
            return _linear_backward(ctx.inputs, n, g)
        # create_graph (g is a Tensor, the products are differentiable ops) or integer arrays
        x, w = ctx.input(0), ctx.input(1)
        gx = g @ w if n[0] else None
        gw = gb = None
        if n[1] or (len(n) > 2 and n[2]):
            g2 = g.reshape(-1, g.shape[-1]) if g.ndim != 2 else g
            if n[1]:
                x2 = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
                gw = g2.mT @ x2
            if len(n) > 2 and n[2]:
                gb = np.add.reduce(g2, axis=0) if isinstance(g2, np.ndarray) else g2.sum(dim=0)
        return (gx, gw, gb) if len(n) > 2 else (gx, gw)


def _linear_backward(inputs, n, g):
    """Linear's backward on floating arrays.  The weight gradient takes the weight's memory
    layout (mixed layouts make the optimizer's elementwise update several times slower) and goes
    straight into the optimizer's flat gradient buffer when it has one (autograd/homes.py); the
    bias gradient is ``ones @ g``, one BLAS gemv, 2-3x faster than a reduction over the batch."""
    w = inputs[1]
    wd = w._data
    gx = g @ wd if n[0] else None
    gw = gb = None
    if g.ndim != 2:
        g = g.reshape(-1, g.shape[-1])
    if n[1]:
        x = inputs[0]._data
        if x.ndim != 2:
            x = x.reshape(-1, x.shape[-1])
        gw = homes.grad_destination(w, g.dtype) if homes._HOMES else None
        if gw is None and wd.strides[0] < wd.strides[-1]:     # column-major weight: keep it
            gw = np.empty(wd.shape, wd.dtype, order="F")
        if gw is None:
            gw = g.T @ x
        else:
            np.matmul(x.T, g, out=gw.T)
    if len(n) > 2 and n[2]:
        ones = _ones(g.shape[0], g.dtype)
        gb = homes.grad_destination(inputs[2], g.dtype) if homes._HOMES else None
        if gb is None:
            gb = ones @ g
        else:
            np.matmul(ones, g, out=gb)
        return gx, gw, gb
    return (gx, gw, None) if len(n) > 2 else (gx, gw)


_ONES = {}


def _ones(n, dtype):
    """A cached read-only vector of n ones (the bias gradient's gemv operand)."""
    key = (n, dtype.char)
    v = _ONES.get(key)
    if v is None:
        if len(_ONES) > 64:
            _ONES.clear()
        v = _ONES[key] = np.ones(n, dtype)
        v.flags.writeable = False
    return v


def _same_dtype(a, b, opname):
    if a.dtype != b.dtype:
        raise RuntimeError(f"{opname}: expected both operands to have the same dtype, got "
                           f"{dtype_repr(a.dtype)} for the first and {dtype_repr(b.dtype)} for "
                           "the second (convert one with .to(dtype))")


def matmul(a, b):
    """Matrix product with PyTorch's rules for 1-D, 2-D and broadcast batched operands."""
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        from ..tensor import Tensor as T
        a = a if isinstance(a, Tensor) else T(a, dtype=b.dtype)
        b = b if isinstance(b, Tensor) else T(b, dtype=a.dtype)
    _same_dtype(a, b, "matmul")
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(f"matmul: both arguments need at least 1 dimension, got shapes "
                           f"{tuple(a.shape)} and {tuple(b.shape)}")
    ka = a.shape[-1]
    kb = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if ka != kb:
        raise RuntimeError(f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be "
                           f"multiplied ({ka} != {kb}: the last dim of the first must equal the "
                           f"{'first' if b.ndim == 1 else 'second-to-last'} dim of the second)")
    if a.ndim >= 3 or b.ndim >= 3:
        try:
            np.broadcast_shapes(a.shape[:-2] if a.ndim > 1 else (), b.shape[:-2]
                                if b.ndim > 1 else ())
        except ValueError:
            raise RuntimeError(f"matmul: batch dimensions of {tuple(a.shape)} and "
                               f"{tuple(b.shape)} can't be broadcast together") from None
    va = unsqueeze(a, 0) if a.ndim == 1 else a
    vb = unsqueeze(b, -1) if b.ndim == 1 else b
    out = MatMul.apply(va, vb)
    if b.ndim == 1:
        out = squeeze(out, -1)
    if a.ndim == 1:
        out = squeeze(out, -2 if b.ndim > 1 else -1) if out.ndim else out
    return out


def linear(x, weight, bias=None):
    """``x @ weight.T + bias`` (as ``torch.nn.functional.linear``)."""
    _same_dtype(x, weight, "linear")
    if x.shape[-1] != weight.shape[-1]:
        raise RuntimeError(f"linear: input of shape {tuple(x.shape)} can't be multiplied by a "
                           f"weight of shape {tuple(weight.shape)} (in_features "
                           f"{weight.shape[-1]} != {x.shape[-1]})")
    if bias is None:
        return Linear.apply(x, weight)
    return Linear.apply(x, weight, bias)


def dot(a, b):
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"dot: 1-D tensors expected, got shapes {tuple(a.shape)} and "
                           f"{tuple(b.shape)}")
    return matmul(a, b)


def outer(a, b):
    return reshape(a, -1, 1) * reshape(b, 1, -1)
