"""Normalisation primitive: standardise over some axes, as one node.

``standardize(x, axes, eps) = (x - mean) / sqrt(var + eps)`` with the biased variance over
``axes``.  Batch norm (axes N, H, W), layer norm (the last dims) and group norm (each group of
channels) are this op plus an elementwise affine (nn/functional).  The backward,
``invstd * (g - mean(g) - y * mean(g * y))``, is written with differentiable ops and recomputes
``invstd`` from the saved input, so second derivatives are exact.

In training mode batch norm's running statistics are updated inside the forward, in place, as
PyTorch's kernel does, so a replayed step (``cr.compile``) updates them too.
"""
from __future__ import annotations

from ..autograd.op import Op
from ..tensor import _count_write


class Standardize(Op):
    name = "standardize"
    save = ("x", "out")

    def forward(ctx, xp, x, *, axes, eps, stats=None):
        ctx.axes, ctx.eps = axes, eps
        mean = x.mean(axis=axes, keepdims=True)
        xc = x - mean
        var = xp.mean(xc * xc, axis=axes, keepdims=True)
        if stats is not None:
            _update_running(xp, stats, mean, var, x.size // mean.size)
        return xc * (1 / xp.sqrt(var + eps))

    def backward(ctx, xp, g, x, y):
        axes = ctx.axes
        xc = x - xp.mean(x, axis=axes, keepdims=True)
        inv = 1 / xp.sqrt(xp.mean(xc * xc, axis=axes, keepdims=True) + ctx.eps)
        gm = xp.mean(g, axis=axes, keepdims=True)
        gym = xp.mean(g * y, axis=axes, keepdims=True)
        return inv * (g - gm - y * gym)


def _update_running(xp, stats, mean, var, n):
    """running = (1 - f) running + f batch, f = momentum or 1 / num_batches_tracked; the
    running variance is the unbiased one (as PyTorch)."""
    rmean, rvar, tracked, momentum = stats
    if tracked is not None:
        tracked._data += 1
    f = momentum if momentum is not None else 1.0 / float(tracked._data)
    if rmean is not None:
        rm = rmean._data
        rm *= 1 - f
        rm += f * mean.reshape(rm.shape).astype(rm.dtype, copy=False)
        _count_write(rmean)
    if rvar is not None:
        rv = rvar._data
        unbiased = var.reshape(rv.shape) * (n / max(n - 1, 1))
        rv *= 1 - f
        rv += f * unbiased.astype(rv.dtype, copy=False)
        _count_write(rvar)


def standardize(x, axes, eps, stats=None):
    return Standardize.apply(x, axes=tuple(axes), eps=float(eps), stats=stats)
