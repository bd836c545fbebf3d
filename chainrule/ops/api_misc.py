"""PyTorch functions that are predicates, counts or random draws: ``isclose``, ``allclose``,
``isposinf``/``isneginf``, ``unique``, ``bincount``, ``normal``, ``bernoulli``,
``multinomial``.

Only ``normal`` carries a gradient (to its ``mean`` and ``std`` tensors, as PyTorch's does: the
draw is ``mean + std * eps`` with ``eps`` a constant); the rest give bool or integer results, or
samples, outside the graph.
"""
from __future__ import annotations

import numpy as np

from ..autograd.op import export
from ..dtypes import as_dtype, get_default_dtype
from ..graph.modes import observe_read as _observe_read
from ..random import get_rng
from ..tensor import Tensor, _new

__all__ = ["equal", "isclose", "allclose", "isposinf", "isneginf", "unique", "bincount",
           "normal", "bernoulli", "multinomial"]


def _tensor(x, fn, arg="input"):
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument '{arg}' must be a Tensor, got {type(x).__name__}")
    return x


def _arr(x):
    return x._data if isinstance(x, Tensor) else np.asarray(x)


@export(method=True)
def equal(input, other):   # noqa: A002
    """``True`` when both tensors have the same shape and the same elements (a Python bool, as
    ``torch.equal``)."""
    _tensor(input, "equal")
    _tensor(other, "equal", "other")
    _observe_read("equal() (a value read into Python)")
    return input.shape == other.shape and bool(np.array_equal(input._data, other._data))


@export(method=True)
def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):   # noqa: A002
    """``|input - other| <= atol + rtol * |other|`` elementwise (as ``torch.isclose``)."""
    _tensor(input, "isclose")
    return _new(np.isclose(input._data, _arr(other), rtol=rtol, atol=atol,
                           equal_nan=equal_nan), False, None)


@export(method=True)
def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):   # noqa: A002
    """Whether every element is close (a Python bool, as ``torch.allclose``)."""
    _tensor(input, "allclose")
    _observe_read("allclose() (a value read into Python)")
    return bool(np.allclose(input._data, _arr(other), rtol=rtol, atol=atol,
                            equal_nan=equal_nan))


@export(method=True)
def isposinf(input):   # noqa: A002
    return _new(np.isposinf(_tensor(input, "isposinf")._data), False, None)


@export(method=True)
def isneginf(input):   # noqa: A002
    return _new(np.isneginf(_tensor(input, "isneginf")._data), False, None)


@export(method=True)
def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):  # noqa: A002
    """The distinct values, sorted (as ``torch.unique``); with ``return_inverse`` / ``
    return_counts`` also each element's position in them and how often each occurs."""
    x = _tensor(input, "unique")
    _observe_read("unique() (a data-dependent shape)")
    if dim is None:
        vals, inv, counts = np.unique(x._data, return_inverse=True, return_counts=True)
        inv = inv.reshape(x.shape)
    else:
        vals, inv, counts = np.unique(x._data, return_inverse=True, return_counts=True,
                                      axis=dim)
    out = [_new(vals, False, None)]
    if return_inverse:
        out.append(_new(inv.astype(np.int64), False, None))
    if return_counts:
        out.append(_new(counts.astype(np.int64), False, None))
    return out[0] if len(out) == 1 else tuple(out)


@export(method=True)
def bincount(input, weights=None, minlength=0):   # noqa: A002
    """How often each value 0..max occurs in a 1-d non-negative integer tensor, or the sum of
    ``weights`` per value (as ``torch.bincount``)."""
    x = _tensor(input, "bincount")
    if x.ndim != 1 or x.dtype.kind not in "iu":
        raise RuntimeError(f"bincount: expected a 1-d integer tensor, got shape "
                           f"{tuple(x.shape)} and dtype {x.dtype}")
    if x.numel() and x._data.min() < 0:
        raise RuntimeError("bincount: input must be non-negative")
    w = None if weights is None else _arr(weights)
    out = np.bincount(x._data, weights=w, minlength=minlength)
    if w is None:
        return _new(out.astype(np.int64), False, None)
    kind = w.dtype if w.dtype.kind == "f" else np.dtype(np.float64)
    return _new(out.astype(kind), False, None)


@export
def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, device=None,
           requires_grad=False):
    """Normal samples (as ``torch.normal``): ``normal(mean, std, size)`` with numbers, or
    elementwise from tensors ``mean`` and/or ``std`` (broadcast); the gradient flows to tensor
    arguments as PyTorch's does."""
    from ..devices import placement
    placement(device, "normal")
    _observe_read("normal() (random numbers drawn outside an op)")
    rng = get_rng(generator)
    tensors = [v for v in (mean, std) if isinstance(v, Tensor)]
    if not tensors:
        if size is None:
            raise TypeError("normal(): with number mean and std, give size=, e.g. "
                            "normal(0.0, 1.0, size=(3,))")
        size = (size,) if isinstance(size, (int, np.integer)) else tuple(size)
        dt = as_dtype(dtype) or get_default_dtype()
        out = _new(rng.normal(float(mean), float(std), size).astype(dt), False, None)
        return out.requires_grad_(True) if requires_grad else out
    if size is not None:
        raise TypeError("normal(): size= is only for number mean and std")
    dt = tensors[0].dtype
    if dt.kind != "f":
        raise RuntimeError(f"normal: expected floating point mean/std, got {dt}")
    if isinstance(std, Tensor) and std.numel() and (std._data < 0).any():
        raise RuntimeError("normal: std must be >= 0")
    shape = np.broadcast_shapes(np.shape(_arr(mean)), np.shape(_arr(std)))
    eps = _new(rng.standard_normal(shape).astype(dt), False, None)
    return mean + std * eps


@export(method=True)
def bernoulli(input, p=None, *, generator=None):   # noqa: A002
    """0/1 draws with probability ``input`` (or the number ``p``), in ``input``'s dtype
    (as ``torch.bernoulli``)."""
    x = _tensor(input, "bernoulli")
    _observe_read("bernoulli() (random numbers drawn outside an op)")
    prob = x._data if p is None else np.full(x.shape, p)
    if prob.size and (np.min(prob) < 0 or np.max(prob) > 1):
        raise RuntimeError("bernoulli: probabilities must lie in [0, 1]")
    draw = get_rng(generator).random(x.shape) < prob
    return _new(draw.astype(x.dtype), False, None)


@export(method=True)
def multinomial(input, num_samples, replacement=False, *, generator=None):   # noqa: A002
    """Draw ``num_samples`` category indices per row, with probabilities proportional to
    ``input``'s (non-negative) weights (as ``torch.multinomial``)."""
    x = _tensor(input, "multinomial")
    _observe_read("multinomial() (random numbers drawn outside an op)")
    if x.ndim not in (1, 2):
        raise RuntimeError(f"multinomial: input must be 1-d or 2-d, got shape {tuple(x.shape)}")
    w = np.atleast_2d(x._data).astype(np.float64)
    if (w < 0).any() or not np.isfinite(w).all():
        raise RuntimeError("multinomial: weights must be finite and non-negative")
    n = w.shape[1]
    if not replacement and num_samples > n:
        raise RuntimeError(f"multinomial: cannot draw {num_samples} samples from {n} categories "
                           "without replacement")
    rng = get_rng(generator)
    rows = []
    for row in w:
        total = row.sum()
        if total <= 0:
            raise RuntimeError("multinomial: a row of weights sums to zero")
        if not replacement and num_samples > np.count_nonzero(row):
            raise RuntimeError("multinomial: fewer categories with non-zero weight than "
                               "samples asked without replacement")
        rows.append(rng.choice(n, size=num_samples, replace=replacement, p=row / total))
    out = np.stack(rows).astype(np.int64)
    return _new(out if x.ndim == 2 else out[0], False, None)
