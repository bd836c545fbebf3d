"""Fused loss primitives: the hot path of classifier training in one graph node.

``CrossEntropyIndex`` is softmax + negative log-likelihood for integer class targets: a stable
log-softmax in the forward, and the famous ``(softmax - onehot) / N`` in the backward.
"""
from __future__ import annotations

from ..autograd.op import Op


class CrossEntropyIndex(Op):
    """Cross-entropy of logits ``x`` (N, C) against class indices ``target`` (N,).

    Constants: ``target`` int array (N,); ``weight`` optional per-class weights (C,) in x's
    dtype; ``ignore`` optional bool mask (N,) of samples to ignore (``ignore_index`` hits);
    ``reduction`` 'mean', 'sum' or 'none'.  With weights w and kept samples K, 'mean' is
    ``sum_i w[t_i] l_i / sum_i w[t_i]`` (PyTorch's weighted mean); 'none' returns ``w[t_i] l_i``
    (0 for ignored samples).
    """
    name = "cross_entropy_index"
    save = ("dlogits",)

    def forward(ctx, xp, x, *, target, weight, ignore, reduction):
        n = x.shape[0]
        rows = xp.arange(n)
        s = x - xp.maximum.reduce(x, axis=1, keepdims=True)
        e = xp.exp(s)
        z = xp.add.reduce(e, axis=1, keepdims=True)
        nll = xp.log(z[:, 0]) - s[rows, target]   # -log_softmax(x)[i, t_i]
        e /= z                                     # softmax(x), then minus the one-hot targets:
        e[rows, target] -= 1                       # d loss_i / d x_i, kept for the backward
        ctx.dlogits, ctx.target = e, target
        # per-sample weights: class weight times "not ignored"; None when all are 1
        w = None
        if weight is not None:
            w = weight[target]
        if ignore is not None:
            keep = (~ignore).astype(x.dtype)
            w = keep if w is None else w * keep
        if w is not None:
            nll = nll * w
        # the backward's per-sample factor: w, over the mean's denominator (None: all 1)
        ctx.reduction, ctx.scale, ctx.n = reduction, w, n
        if reduction == "none":
            return nll
        total = xp.add.reduce(nll)
        if reduction == "sum":
            return xp.asarray(total, dtype=x.dtype)
        if w is None and n:
            return xp.asarray(total / n, dtype=x.dtype)
        denom = n if w is None else w.sum()
        with xp.errstate(invalid="ignore", divide="ignore"):   # nothing to average: NaN
            if w is not None:
                # as PyTorch: w / denom (0/0 = NaN for a kept sample of weight 0 when the
                # weights sum to 0), but exactly 0 for an ignored sample, even then
                ctx.scale = w / denom if ignore is None else xp.where(ignore, 0, w / denom)
            return xp.asarray(total / denom, dtype=x.dtype)

    def dlogits(ctx, xp, x):
        """softmax(x) - onehot(target): what the forward keeps, computed again on tensors."""
        return xp.softmax(x, axis=1) - xp.eye(x.shape[1], dtype=x.dtype)[ctx.target]

    def backward(ctx, xp, g, dlogits):
        # d loss_i / d x_i = softmax(x_i) - onehot_i, times the sample's factor
        scale = ctx.scale
        if scale is None:
            if ctx.reduction == "mean" and ctx.n:
                g = g / ctx.n
        else:
            g = g * scale
        if g.ndim:
            g = xp.reshape(g, (-1, 1))
        return dlogits * g


class BinaryCrossEntropy(Op):
    """Elementwise ``-(y log x + (1 - y) log(1 - x))`` with each log clamped to >= -100.

    The backward is PyTorch's: ``(x - y) / max(x (1 - x), 1e-12)``, finite even where the
    probability ``x`` is exactly 0 or 1 (a saturated sigmoid), and the target's gradient
    ``log(1 - x) - log(x)`` with the same clamping.
    """
    name = "binary_cross_entropy"
    save = ("x", "y")
    EPS = 1e-12

    def forward(ctx, xp, x, y):
        lx, l1x = _logs(xp, x)
        return -(y * lx + (1 - y) * l1x)

    def backward(ctx, xp, g, x, y):
        n = ctx.needs_input_grad
        gx = gy = None
        if n[0]:
            gx = g * (x - y) / xp.maximum(x * (1 - x), BinaryCrossEntropy.EPS)
        if n[1]:
            lx, l1x = _logs(xp, x)
            gy = g * (l1x - lx)
        return gx, gy


def _logs(xp, x):
    with xp.errstate(divide="ignore"):
        return xp.maximum(xp.log(x), -100), xp.maximum(xp.log1p(-x), -100)
