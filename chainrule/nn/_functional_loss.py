"""Cost functions (as the losses of ``torch.nn.functional``); re-exported by ``nn.functional``.

All are composites of primitives except the common classifier case of :func:`cross_entropy`
(logits (N, C) with class indices), which is the fused primitive
:class:`chainrule.ops.loss.CrossEntropyIndex`.  ``reduction`` is 'mean', 'sum' or 'none'.

Deviation from PyTorch, on purpose: a target whose shape differs from the input's raises (PyTorch
only warns for ``mse_loss``/``l1_loss`` and silently broadcasts (N, 1) against (N,), a classic
bug).  Floating targets are converted to the input's dtype so float32 stays float32.
"""
from __future__ import annotations

import math

import numpy as np

from ..tensor import _new
from ..dtypes import dtype_repr
from ..ops.elementwise import abs as _abs, exp, log
from ..ops.cast import cast
from ..ops.compare import where
from ..ops.loss import BinaryCrossEntropy, CrossEntropyIndex
from ..ops.movement import permute, reshape
from ..ops.reduce import log_softmax
from ..ops.special import softplus
from ..tensor import Tensor

_REDUCTIONS = ("mean", "sum", "none")


def _legacy(size_average, reduce, reduction):
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    return "mean" if (size_average and reduce) else "sum" if reduce else "none"


def _check_reduction(reduction, name, extra=()):
    if reduction not in _REDUCTIONS + tuple(extra):
        raise ValueError(f"{name}: reduction must be one of {_REDUCTIONS + tuple(extra)}, got "
                         f"{reduction!r}")


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _pair(input, target, name):
    """Input and target as same-shaped tensors of the input's float dtype."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
    if input._data.dtype.kind != "f":
        raise TypeError(f"{name}: input must be floating point, got "
                        f"{dtype_repr(input.dtype)}")
    if not isinstance(target, Tensor):
        target = _new(np.asarray(target, dtype=input.dtype), False, None)
    if target.shape != input.shape:
        raise ValueError(f"{name}: target shape {tuple(target.shape)} differs from input shape "
                         f"{tuple(input.shape)}; they must match (reshape one of them, e.g. "
                         "target.view(-1, 1) or input.squeeze(-1))")
    if target.dtype != input.dtype:
        target = cast(target, input.dtype)
    return input, target


def _const(v, like):
    return _new(np.asarray(v, dtype=like.dtype), False, None)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean squared error: mean((x - y)^2)."""
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction, "mse_loss")
    x, y = _pair(input, target, "mse_loss")
    d = x - y
    loss = d * d
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Mean absolute error: mean(|x - y|)."""
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction, "l1_loss")
    x, y = _pair(input, target, "l1_loss")
    return _reduce(_abs(x - y), reduction)


def huber_loss(input, target, reduction="mean", delta=1.0):
    """0.5 d^2 where |d| < delta, else delta (|d| - delta/2), with d = x - y."""
    _check_reduction(reduction, "huber_loss")
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    x, y = _pair(input, target, "huber_loss")
    d = x - y
    ad = _abs(d)
    loss = where(ad._data < delta, d * d * 0.5, (ad - 0.5 * delta) * delta)
    return _reduce(loss, reduction)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """0.5 d^2 / beta where |d| < beta, else |d| - beta/2 (Huber divided by beta)."""
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction, "smooth_l1_loss")
    x, y = _pair(input, target, "smooth_l1_loss")
    d = x - y
    ad = _abs(d)
    if beta == 0:
        return _reduce(ad, reduction)
    loss = where(ad._data < beta, d * d * (0.5 / beta), ad - 0.5 * beta)
    return _reduce(loss, reduction)


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    """-w [y log x + (1 - y) log(1 - x)] for probabilities x; each log is clamped to >= -100."""
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction, "binary_cross_entropy")
    x, y = _pair(input, target, "binary_cross_entropy")
    xd = x._data
    if xd.size and (xd.min() < 0 or xd.max() > 1):
        raise RuntimeError(f"binary_cross_entropy: all elements of input should be between 0 "
                           f"and 1 (got values in [{xd.min():.4g}, {xd.max():.4g}]); for logits "
                           "use binary_cross_entropy_with_logits")
    yd = y._data
    if yd.size and not ((yd >= 0) & (yd <= 1)).all():
        bad = yd[~((yd >= 0) & (yd <= 1))].reshape(-1)[0]
        raise RuntimeError(f"binary_cross_entropy: all elements of target should be between 0 "
                           f"and 1 (found {bad:.4g}); targets are probabilities")
    loss = BinaryCrossEntropy.apply(x, y)
    if weight is not None:
        loss = loss * _weight(weight, x)
    return _reduce(loss, reduction)


def _weight(w, like):
    if not isinstance(w, Tensor):
        w = _new(np.asarray(w, dtype=like.dtype), False, None)
    return cast(w, like.dtype) if w.dtype != like.dtype else w


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """Sigmoid + binary cross-entropy in one stable expression, for logits of any size.

    ``(1 - y) s + (1 + (pos_weight - 1) y) softplus(-s)``: no exp overflow and no log(0).
    """
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction, "binary_cross_entropy_with_logits")
    x, y = _pair(input, target, "binary_cross_entropy_with_logits")
    sp = softplus(-x)
    if pos_weight is not None:
        pw = _weight(pos_weight, x)
        sp = sp * ((pw - 1) * y + 1)
    loss = (1 - y) * x + sp
    if weight is not None:
        loss = loss * _weight(weight, x)
    return _reduce(loss, reduction)


def _class_targets(x, target, name, ignore_index):
    """Validate integer targets for (N, C, d...) / (C,) input; return the (M,) flat targets."""
    if not isinstance(target, Tensor):
        target = Tensor(np.asarray(target))
    t = target._data
    shape = _target_shape(x)
    if t.dtype.kind not in "iu":
        raise TypeError(f"{name}: expected target of integer dtype (class indices) with shape "
                        f"{shape}, got {dtype_repr(t.dtype)} with shape {tuple(t.shape)} "
                        "(convert with target.long(); for class probabilities use "
                        "cross_entropy with a float target of the input's shape)")
    if t.shape != shape:
        raise ValueError(f"{name}: input of shape {tuple(x.shape)} expects a target of shape "
                         f"{shape}, got {tuple(t.shape)}")
    c = x.shape[1] if x.ndim >= 2 else x.shape[0]
    t = t.reshape(-1)
    if t.dtype != np.int64:
        t = t.astype(np.int64)
    ignore = None
    # one comparison finds both negative and too-large indices (negatives wrap to huge)
    if (t.view(np.uint64) >= c).any():
        ignore = t == ignore_index
        bad = ~ignore & ((t < 0) | (t >= c))
        if bad.any():
            raise IndexError(f"{name}: target contains class index {t[bad][0]}, out of "
                             f"range for {c} classes (input shape {tuple(x.shape)}, target "
                             f"shape {tuple(target.shape)}); expected indices in "
                             f"[0, {c - 1}] or ignore_index={ignore_index}")
    elif 0 <= ignore_index < c:
        ignore = t == ignore_index
    if ignore is not None:
        if ignore.any():
            t = np.where(ignore, 0, t)
        else:
            ignore = None
    return t, ignore, c


def _target_shape(x):
    if x.ndim == 0:
        raise ValueError("expected an input with a class dimension, got a 0-d tensor")
    return () if x.ndim == 1 else (x.shape[0],) + tuple(x.shape[2:])


def _rows(x, c):
    """(N, C, d...) or (C,) as (M, C) with the class dimension last."""
    if x.ndim == 1:
        return reshape(x, 1, c)
    if x.ndim == 2:
        return x
    return reshape(permute(x, 0, *range(2, x.ndim), 1), -1, c)


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """Negative log-likelihood of log-probabilities ``input`` at the ``target`` classes.

    'mean' divides by the sum of the targets' class weights (the count of kept samples without
    ``weight``), as PyTorch does.
    """
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction, "nll_loss")
    x = input
    t, ignore, c = _class_targets(x, target, "nll_loss", ignore_index)
    x2 = _rows(x, c)
    picked = -x2[np.arange(t.shape[0]), t]
    w = None if weight is None else _weight(weight, x)._data[t]
    if ignore is not None:
        keep = (~ignore).astype(x.dtype)
        w = keep if w is None else w * keep
    if w is not None:
        picked = picked * _new(w, False, None)
    if reduction == "none":
        return reshape(picked, _target_shape(x))
    if reduction == "sum":
        return picked.sum()
    if w is None:
        return picked.mean()
    return picked.sum() / _const(w.sum(), x)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """Softmax cross-entropy of logits ``input`` (N, C), (N, C, d1, ...) or (C,).

    ``target`` is either class indices (int, shape (N,), (N, d1, ...) or ()) or class
    probabilities (float, the input's shape).  Supports ``weight`` (per class),
    ``ignore_index`` and ``label_smoothing`` with PyTorch's formulas.  Integer targets without
    label smoothing run as one fused graph node.

    Example::

        loss = F.cross_entropy(model(x), y)     # y: int64 of shape (N,)
    """
    if (weight is None and not label_smoothing and size_average is None and reduce is None
            and type(input) is Tensor and type(target) is Tensor):
        # the common case of classifier training, decided in a few comparisons: (N, C) logits,
        # (N,) int64 class indices all in range, no weights, no smoothing, no ignored class
        xd, td = input._data, target._data
        if (xd.ndim == 2 and td.ndim == 1 and td.dtype == np.int64 and xd.dtype.kind == "f"
                and td.shape[0] == xd.shape[0] and td.shape[0] and reduction in _REDUCTIONS
                and not 0 <= ignore_index < xd.shape[1]
                and np.minimum.reduce(td) >= 0 and np.maximum.reduce(td) < xd.shape[1]):
            return CrossEntropyIndex.apply(input, target=td, weight=None, ignore=None,
                                           reduction=reduction)
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction, "cross_entropy")
    if not isinstance(input, Tensor) or input._data.dtype.kind != "f":
        raise TypeError(f"cross_entropy: input must be a floating point Tensor of logits, got "
                        f"{getattr(input, 'dtype', type(input).__name__)}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got "
                         f"{label_smoothing}")
    x = input
    if isinstance(target, Tensor) and target._data.dtype.kind == "f":
        return _cross_entropy_prob(x, target, weight, reduction, label_smoothing)
    t, ignore, c = _class_targets(x, target, "cross_entropy", ignore_index)
    x2 = _rows(x, c)
    w = None if weight is None else _weight(weight, x)._data
    if w is not None and w.shape != (c,):
        raise ValueError(f"cross_entropy: weight must have shape ({c},) (one per class), got "
                         f"{tuple(w.shape)}")
    out = CrossEntropyIndex.apply(x2, target=t, weight=w, ignore=ignore, reduction=reduction)
    if label_smoothing > 0:
        logp = log_softmax(x2, dim=1)
        smooth = -(logp * _new(w, False, None)).sum(1) if w is not None else -logp.sum(1)
        keep = None if ignore is None else ~ignore
        if keep is not None:
            smooth = smooth * _const(keep, x)
        if reduction == "mean":
            if w is not None:
                denom = w[t][keep].sum() if keep is not None else w[t].sum()
            else:
                denom = t.shape[0] if keep is None else keep.sum()
            smooth = smooth.sum() / _const(denom, x)
        elif reduction == "sum":
            smooth = smooth.sum()
        out = out * (1 - label_smoothing) + smooth * (label_smoothing / c)
    if reduction == "none":
        out = reshape(out, _target_shape(x))
    return out


def _cross_entropy_prob(x, target, weight, reduction, label_smoothing):
    if target.shape != x.shape:
        raise ValueError(f"cross_entropy: probability targets must have the input's shape "
                         f"{tuple(x.shape)}, got {tuple(target.shape)} (class-index targets "
                         "must be integer)")
    y = cast(target, x.dtype) if target.dtype != x.dtype else target
    dim = 1 if x.ndim >= 2 else 0
    c = x.shape[dim]
    logp = log_softmax(x, dim=dim)
    if label_smoothing > 0:
        y = y * (1 - label_smoothing) + label_smoothing / c
    prod = logp * y
    if weight is not None:
        w = _weight(weight, x)
        prod = prod * reshape(w, (c,) + (1,) * (x.ndim - dim - 1))
    loss = -prod.sum(dim)
    if reduction == "mean":
        return loss.sum() / (x.numel() // c if x.numel() else 1)
    return _reduce(loss, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """0.5 (log(max(var, eps)) + (x - y)^2 / max(var, eps)) [+ 0.5 log(2 pi) if ``full``].

    ``var`` has the input's shape, or one dimension less / a last dimension of 1
    (homoscedastic).  As in PyTorch the clamp to ``eps`` does not stop the gradient.
    """
    _check_reduction(reduction, "gaussian_nll_loss")
    x, y = _pair(input, target, "gaussian_nll_loss")
    if not isinstance(var, Tensor):
        var = _new(np.asarray(var, dtype=x.dtype), False, None)
    if var.shape != x.shape:
        if x.shape[:-1] == var.shape:
            var = reshape(var, tuple(var.shape) + (1,))
        elif not (x.shape[:-1] == var.shape[:-1] and var.ndim and var.shape[-1] == 1):
            raise ValueError(f"gaussian_nll_loss: var of shape {tuple(var.shape)} does not fit "
                             f"input of shape {tuple(x.shape)} (expected the input's shape, "
                             "that shape without its last dim, or with last dim 1)")
    if (var._data < 0).any():
        raise ValueError("gaussian_nll_loss: var has negative entry/entries")
    vd = var._data
    v = var + _new(np.maximum(vd, eps).astype(x.dtype) - vd, False, None)
    d = x - y
    loss = (log(v) + d * d / v) * 0.5
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """KL divergence with ``input`` as log-probabilities: y (log y - x) pointwise.

    ``reduction='batchmean'`` divides the sum by the batch size (the true KL for distributions
    over the last dims); 'mean' divides by the number of elements, as in PyTorch.
    """
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction, "kl_div", ("batchmean",))
    x, y = _pair(input, target, "kl_div")
    if log_target:
        loss = exp(y) * (y - x)
    else:
        yd = y._data
        safe = where(yd > 0, y, _const(1, x))     # y log y = 0 at y = 0, with a finite gradient
        loss = y * log(safe) - y * x
    if reduction == "batchmean":
        s = loss.sum()
        return s / x.shape[0] if x.ndim else s
    return _reduce(loss, reduction)
