"""Tensor factories, as in PyTorch."""
from __future__ import annotations

import numpy as np

from .tensor import _new
from .graph.modes import taint as _taint
from .dtypes import as_dtype, get_default_dtype, infer_array
from .random import get_rng
from .tensor import Tensor


def _size(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, (int, np.integer)) or s < 0:
            raise ValueError(f"sizes must be non-negative integers, got {size}")
    return tuple(int(s) for s in size)


def _finish(arr, requires_grad):
    t = _new(arr, False, None)
    if requires_grad:
        t.requires_grad_(True)
    return t


def tensor(data, dtype=None, requires_grad=False):
    """A new tensor holding a copy of ``data``; Python floats become float32.

    Example::

        >>> cr.tensor([[1., 2.], [3., 4.]], requires_grad=True).shape
        (2, 2)
    """
    return _finish(infer_array(data, dtype), requires_grad)


def as_tensor(data, dtype=None):
    if isinstance(data, Tensor) and (dtype is None or as_dtype(dtype) == data.dtype):
        return data
    if isinstance(data, np.ndarray) and (dtype is None or as_dtype(dtype) == data.dtype):
        return _new(data, False, None)
    return tensor(data, dtype)


def from_numpy(arr):
    """A tensor sharing memory with ``arr`` (as ``torch.from_numpy``)."""
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"from_numpy expects an np.ndarray, got {type(arr).__name__}")
    as_dtype(arr.dtype)
    return _new(arr, False, None)


def _float(dtype):
    return as_dtype(dtype) if dtype is not None else get_default_dtype()


def zeros(*size, dtype=None, requires_grad=False):
    return _finish(np.zeros(_size(size), dtype=_float(dtype)), requires_grad)


def ones(*size, dtype=None, requires_grad=False):
    return _finish(np.ones(_size(size), dtype=_float(dtype)), requires_grad)


def empty(*size, dtype=None, requires_grad=False):
    return zeros(*size, dtype=dtype, requires_grad=requires_grad)


def full(size, fill_value, dtype=None, requires_grad=False):
    if dtype is None:
        dtype = infer_array(fill_value, None).dtype
    return _finish(np.full(_size((size,)), fill_value, dtype=as_dtype(dtype)), requires_grad)


def eye(n, m=None, dtype=None, requires_grad=False):
    return _finish(np.eye(n, m, dtype=_float(dtype)), requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad=False):
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    if dtype is None:
        is_float = any(isinstance(v, float) for v in (start, end, step))
        dtype = get_default_dtype() if is_float else np.int64
    return _finish(np.arange(start, end, step).astype(as_dtype(dtype)), requires_grad)


def linspace(start, end, steps, dtype=None, requires_grad=False):
    return _finish(np.linspace(start, end, steps).astype(_float(dtype)), requires_grad)


def randn(*size, dtype=None, generator=None, requires_grad=False):
    _taint("randn() (random numbers drawn outside an op)")
    arr = get_rng(generator).standard_normal(_size(size), dtype=np.float64)
    return _finish(arr.astype(_float(dtype)), requires_grad)


def rand(*size, dtype=None, generator=None, requires_grad=False):
    _taint("rand() (random numbers drawn outside an op)")
    arr = get_rng(generator).random(_size(size))
    return _finish(arr.astype(_float(dtype)), requires_grad)


def randint(low, high=None, size=None, dtype=None, generator=None):
    _taint("randint() (random numbers drawn outside an op)")
    if high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint() missing the size argument")
    arr = get_rng(generator).integers(low, high, size=_size((size,)))
    return _finish(arr.astype(as_dtype(dtype) if dtype else np.int64), False)


def randperm(n, generator=None, dtype=None):
    _taint("randperm() (random numbers drawn outside an op)")
    return _finish(get_rng(generator).permutation(n).astype(as_dtype(dtype) or np.int64), False)


def _like(fn):
    def like(x, dtype=None, requires_grad=False, **kw):
        return fn(*x.shape, dtype=dtype or x.dtype, requires_grad=requires_grad, **kw)
    like.__name__ = fn.__name__ + "_like"
    return like


zeros_like = _like(zeros)
ones_like = _like(ones)
empty_like = _like(empty)
randn_like = _like(randn)
rand_like = _like(rand)


def full_like(x, fill_value, dtype=None, requires_grad=False):
    return full(x.shape, fill_value, dtype=dtype or x.dtype, requires_grad=requires_grad)
