"""Tensor factories, as in PyTorch."""
from __future__ import annotations

import numpy as np

from .tensor import _new
from .graph.modes import observe_read as _observe_read
from .dtypes import as_dtype, get_default_dtype, infer_array
from .random import get_rng
from .devices import placement as _place
from .tensor import Tensor


def _size(size, keyword=None, where="this factory"):
    if keyword is not None:   # zeros(size=(2, 3)), as in PyTorch
        if size:
            raise TypeError(f"{where}() got sizes both positionally and as size=")
        size = (keyword,)
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


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new tensor holding a copy of ``data``; Python floats become float32.

    Example::

        >>> cr.tensor([[1., 2.], [3., 4.]], requires_grad=True).shape
        (2, 2)
    """
    _place(device, "tensor")
    return _finish(infer_array(data, dtype), requires_grad)


def as_tensor(data, dtype=None, device=None):
    _place(device, "as_tensor")
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


def from_dlpack(ext_tensor):
    """A tensor sharing memory with any object that speaks DLPack (a PyTorch or JAX CPU tensor,
    a NumPy array), as ``torch.from_dlpack``; zero-copy.

    Example::

        >>> t = cr.from_dlpack(torch.arange(3.0))   # t and the torch tensor share memory
    """
    if not hasattr(ext_tensor, "__dlpack__"):
        raise TypeError(f"from_dlpack expects an object with __dlpack__ (a tensor or array), "
                        f"got {type(ext_tensor).__name__}")
    try:
        arr = np.from_dlpack(ext_tensor)
    except (BufferError, RuntimeError, TypeError) as exc:
        raise RuntimeError(f"from_dlpack: cannot share {type(ext_tensor).__name__}'s memory "
                           f"({exc}); chainrule only imports CPU tensors of its dtypes") from None
    as_dtype(arr.dtype)
    return _new(arr, False, None)


def _float(dtype):
    return as_dtype(dtype) if dtype is not None else get_default_dtype()


def zeros(*sizes, size=None, dtype=None, device=None, requires_grad=False):
    _place(device, "zeros")
    return _finish(np.zeros(_size(sizes, size, "zeros"), dtype=_float(dtype)), requires_grad)


def ones(*sizes, size=None, dtype=None, device=None, requires_grad=False):
    _place(device, "ones")
    return _finish(np.ones(_size(sizes, size, "ones"), dtype=_float(dtype)), requires_grad)


def empty(*sizes, size=None, dtype=None, device=None, requires_grad=False):
    _place(device, "empty")
    return zeros(*sizes, size=size, dtype=dtype, requires_grad=requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    _place(device, "full")
    if dtype is None:
        dtype = infer_array(fill_value, None).dtype
    return _finish(np.full(_size((size,)), fill_value, dtype=as_dtype(dtype)), requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    _place(device, "eye")
    return _finish(np.eye(n, m, dtype=_float(dtype)), requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    _place(device, "arange")
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    if dtype is None:
        is_float = any(isinstance(v, float) for v in (start, end, step))
        dtype = get_default_dtype() if is_float else np.int64
    return _finish(np.arange(start, end, step).astype(as_dtype(dtype)), requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    _place(device, "linspace")
    return _finish(np.linspace(start, end, steps).astype(_float(dtype)), requires_grad)


def randn(*sizes, size=None, dtype=None, generator=None, device=None, requires_grad=False):
    _place(device, "randn")
    _observe_read("randn() (random numbers drawn outside an op)")
    arr = get_rng(generator).standard_normal(_size(sizes, size, "randn"), dtype=np.float64)
    return _finish(arr.astype(_float(dtype)), requires_grad)


def rand(*sizes, size=None, dtype=None, generator=None, device=None, requires_grad=False):
    _place(device, "rand")
    _observe_read("rand() (random numbers drawn outside an op)")
    arr = get_rng(generator).random(_size(sizes, size, "rand"))
    return _finish(arr.astype(_float(dtype)), requires_grad)


def randint(low, high=None, size=None, dtype=None, generator=None, device=None,
            requires_grad=False):
    _place(device, "randint")
    _observe_read("randint() (random numbers drawn outside an op)")
    if size is None and isinstance(high, (tuple, list)):   # randint(high, size)
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint() missing the size argument")
    arr = get_rng(generator).integers(low, high, size=_size((size,)))
    return _finish(arr.astype(as_dtype(dtype) if dtype else np.int64), False)


def randperm(n, generator=None, dtype=None, device=None, requires_grad=False):
    _place(device, "randperm")
    _observe_read("randperm() (random numbers drawn outside an op)")
    return _finish(get_rng(generator).permutation(n).astype(as_dtype(dtype) or np.int64), False)


def _like(fn):
    def like(x, dtype=None, device=None, requires_grad=False, **kw):
        _place(device, fn.__name__ + "_like")
        return fn(*x.shape, dtype=dtype or x.dtype, requires_grad=requires_grad, **kw)
    like.__name__ = fn.__name__ + "_like"
    return like


zeros_like = _like(zeros)
ones_like = _like(ones)
empty_like = _like(empty)
randn_like = _like(randn)
rand_like = _like(rand)


def full_like(x, fill_value, dtype=None, device=None, requires_grad=False):
    _place(device, "full_like")
    return full(x.shape, fill_value, dtype=dtype or x.dtype, requires_grad=requires_grad)
