"""Fused loss primitives: the hot path of classifier training in one graph node.

``CrossEntropyIndex`` is softmax + negative log-likelihood for integer class targets.  Its forward
computes a stable log-softmax once and keeps the probabilities; its backward is the famous
``(softmax - onehot) / N`` without recomputing anything.  Under ``create_graph`` the same gradient
is rebuilt from differentiable ops so second derivatives are right.
"""
from __future__ import annotations

import numpy as np

from ..autograd.function import STATE, Op, _new


class CrossEntropyIndex(Op):
    """Cross-entropy of logits ``x`` (N, C) against class indices ``target`` (N,).

    Parameters (constants, not graph inputs):
      ``target``     int array (N,);
      ``weight``     optional per-class weights (C,) in x's dtype;
      ``ignore``     optional bool mask (N,) of samples to ignore (``ignore_index`` hits);
      ``reduction``  'mean', 'sum' or 'none'.

    With weights w and kept samples K, 'mean' is ``sum_i w[t_i] l_i / sum_i w[t_i]`` (PyTorch's
    weighted mean); 'none' returns ``w[t_i] l_i`` (0 for ignored samples).
    """
    uses_inputs = True

    @staticmethod
    def forward(ctx, x, target, weight, ignore, reduction):
        n = x.shape[0]
        rows = np.arange(n)
        s = x - np.maximum.reduce(x, axis=1, keepdims=True)
        e = np.exp(s)
        z = np.add.reduce(e, axis=1, keepdims=True)
        e /= z                                    # e is now softmax(x)
        nll = np.log(z[:, 0]) - s[rows, target]   # -log_softmax(x)[i, t_i]
        # per-sample weights: class weight times "not ignored"; None when all are 1
        w = None
        if weight is not None:
            w = weight[target]
        if ignore is not None:
            keep = (~ignore).astype(x.dtype)
            w = keep if w is None else w * keep
        if w is not None:
            nll = nll * w
        ctx.p, ctx.target, ctx.w, ctx.reduction = e, target, w, reduction
        ctx.rows = rows
        if reduction == "none":
            return nll
        total = np.add.reduce(nll)
        if reduction == "sum":
            return np.asarray(total, dtype=x.dtype)
        if w is None:
            ctx.denom = n
            return np.asarray(total / n, dtype=x.dtype)
        denom = ctx.denom = w.sum()
        with np.errstate(invalid="ignore", divide="ignore"):   # every sample ignored: NaN
            return np.asarray(total / denom, dtype=x.dtype)

    def backward(ctx, g):
        red, w = ctx.reduction, ctx.w
        if STATE.dual:
            return _dual_backward(ctx, g)
        # scale per sample: g (scalar or (N,)) times the weights, over the denominator for 'mean'
        if red == "none":
            scale = g if w is None else g * w
        else:
            scale = g / ctx.denom if red == "mean" else g
            if w is not None:
                scale = scale * w
        grad = ctx.p
        if grad is None:   # a second backward (retain_graph=True): rebuild the probabilities
            x = ctx.inputs[0]._data
            grad = np.exp(x - x.max(axis=1, keepdims=True))
            grad /= grad.sum(axis=1, keepdims=True)
        ctx.p = None       # the saved buffer becomes the gradient (no copy)
        grad[ctx.rows, ctx.target] -= 1
        if getattr(scale, "ndim", 0) == 0:
            grad *= scale
        else:
            grad *= np.asarray(scale, dtype=grad.dtype)[:, None]
        return grad

    def release(self):
        Op.release(self)
        self.p = None


def _dual_backward(ctx, g):
    """The same gradient built from differentiable ops (second derivatives for create_graph)."""
    from .reduce import softmax
    x = ctx.input(0)
    p = softmax(x, dim=1)
    onehot = np.zeros(x.shape, dtype=x.dtype)
    onehot[ctx.rows, ctx.target] = 1
    diff = p - _new(onehot, False, None)
    red, w = ctx.reduction, ctx.w
    if red == "none":
        scale = g if w is None else g * _new(w, False, None)
        return diff * scale.reshape(-1, 1)
    if red == "mean":
        g = g / _new(np.asarray(ctx.denom, dtype=x.dtype), False, None)
    if w is not None:
        return diff * (g * _new(w, False, None)).reshape(-1, 1)
    return diff * g


class BinaryCrossEntropy(Op):
    """Elementwise ``-(y log x + (1 - y) log(1 - x))`` with each log clamped to >= -100.

    The backward is PyTorch's: ``(x - y) / max(x (1 - x), 1e-12)``, finite even where the
    probability ``x`` is exactly 0 or 1 (a saturated sigmoid), and the target's gradient
    ``log(1 - x) - log(x)`` with the same clamping.
    """
    EPS = 1e-12

    @staticmethod
    def forward(ctx, x, y):
        with np.errstate(divide="ignore"):
            lx = np.maximum(np.log(x), -100)
            l1x = np.maximum(np.log1p(-x), -100)
        ctx.lx, ctx.l1x = lx, l1x
        return -(y * lx + (1 - y) * l1x)

    def backward(ctx, g):
        n = ctx.needs_input_grad
        x, y = ctx.input(0), ctx.input(1)
        gx = gy = None
        if n[0]:
            v = x * (1 - x)
            v = v.clamp(min=ctx.EPS) if STATE.dual else np.maximum(v, ctx.EPS)
            gx = g * (x - y) / v
        if n[1]:
            gy = g * (ctx.l1x - ctx.lx)
        return gx, gy
