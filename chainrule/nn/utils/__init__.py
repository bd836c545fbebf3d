"""Gradient clipping, flat parameter vectors and the notes' explicit L2 penalty.

Example::

    loss = F.cross_entropy(model(x), y) + cr.nn.utils.l2_penalty(model, 1e-4)
    loss.backward()
    cr.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)

``cr.nn.utils.rnn`` holds the variable-length sequence helpers (pad_sequence, PackedSequence).
"""
from __future__ import annotations

import math

import numpy as np

from ...graph.modes import observe_read
from ...tensor import Tensor, _new


def _params(parameters):
    from ..module import Module
    if isinstance(parameters, Module):
        return list(parameters.parameters())
    if isinstance(parameters, Tensor):
        return [parameters]
    return list(parameters)


def _grads(parameters):
    return [p.grad for p in _params(parameters) if p.grad is not None]


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scale all gradients together so that their joint norm is at most ``max_norm``.

    Arguments:
        parameters: tensors (or a module) whose ``.grad`` is clipped in place.
        max_norm: the largest allowed norm.
        norm_type: p of the p-norm (``float('inf')`` for the max-norm).
        error_if_nonfinite: raise if the total norm is NaN or infinite.

    Returns:
        The total norm of the gradients before clipping, a 0-d tensor (in the gradients' dtype).
    """
    observe_read("clip_grad_norm_ (the gradients' norm read into Python)")
    grads = _grads(parameters)
    if not grads:
        return _new(np.asarray(0.0, dtype=np.float32), False, None)
    dt = grads[0]._data.dtype
    norm_type = float(norm_type)
    if math.isinf(norm_type):
        total = max(float(np.abs(g._data).max()) if g._data.size else 0.0 for g in grads)
    else:
        if norm_type == 2.0:
            # per-tensor sums of squares: one BLAS dot each, accumulated in Python floats
            s = sum(float(np.dot(a, a)) for a in (g._data.ravel() for g in grads))
            total = math.sqrt(s)
        else:
            s = sum(float((np.abs(g._data) ** norm_type).sum()) for g in grads)
            total = s ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from "
                           "`parameters` is non-finite, so it cannot be clipped. To disable this "
                           "error and scale the gradients by the non-finite norm anyway, set "
                           "`error_if_nonfinite=False`")
    coef = max_norm / (total + 1e-6)
    if coef < 1.0 or math.isnan(coef):
        for g in grads:
            a = g._data
            np.multiply(a, a.dtype.type(coef), out=a)
            g._version += 1
    return _new(np.asarray(total, dtype=dt), False, None)


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient element into ``[-clip_value, clip_value]`` in place."""
    c = float(clip_value)
    for g in _grads(parameters):
        a = g._data
        np.clip(a, a.dtype.type(-c), a.dtype.type(c), out=a)
        g._version += 1


def parameters_to_vector(parameters):
    """All parameters flattened into one 1-D tensor (differentiable)."""
    from ...ops.movement import cat, reshape
    ps = _params(parameters)
    return cat([reshape(p, -1) for p in ps])


def vector_to_parameters(vec, parameters):
    """Copy consecutive slices of ``vec`` into the parameters (in place, no graph)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected vec to be a Tensor, but got {type(vec).__name__}")
    ps = _params(parameters)
    n = sum(p.numel() for p in ps)
    if vec.numel() != n:
        raise RuntimeError(f"vector_to_parameters: vec has {vec.numel()} elements but the "
                           f"parameters have {n}")
    i = 0
    for p in ps:
        k = p.numel()
        p._data[...] = vec._data[i:i + k].reshape(p.shape)
        p._version += 1
        i += k


def l2_penalty(parameters, lam, include_bias=False):
    """The notes' L2 regularization term ``lam / 2 * sum w^2``, differentiable.

    Arguments:
        parameters: a module or an iterable of parameters.
        lam: the regularization strength lambda.
        include_bias: by default only weights (parameters with ndim >= 2) are penalized, as in
            the notes; True includes biases and other 1-D parameters.

    Returns:
        A 0-d tensor to add to the loss.  Its gradient is ``lam * w``, the same step as an
        optimizer's ``weight_decay=lam`` (for SGD) applied to those parameters.
    """
    ps = [p for p in _params(parameters) if include_bias or p.ndim >= 2]
    if not ps:
        return _new(np.asarray(0.0, dtype=np.float32), False, None)
    total = None
    for p in ps:
        s = (p * p).sum()
        total = s if total is None else total + s
    return total * (lam / 2.0)


from . import rnn  # noqa: E402,F401  (cr.nn.utils.rnn, as torch.nn.utils.rnn)
