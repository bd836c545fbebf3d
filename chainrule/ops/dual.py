"""The few functions a backward needs whose NumPy and Tensor spellings differ.

A backward receives NumPy arrays for a plain ``backward()`` and Tensors under
``create_graph=True``; these helpers let it be written once for both (Chainer's get_array_module
idea).  Everything else (``+ - * / @ **``, ``.mT``, ``.reshape``, indexing) is spelled alike.
"""
import numpy as np


def _t(x):
    return not isinstance(x, (np.ndarray, np.generic))


def exp(x):
    return x.exp() if _t(x) else np.exp(x)


def log(x):
    return x.log() if _t(x) else np.log(x)


def where(cond, a, b):
    if hasattr(a, "_data") or hasattr(b, "_data"):   # a Tensor on either side (b may be 0)
        from .elementwise import where as w
        return w(cond, a, b)
    return np.where(cond, a, b)


def sum(x, axis=None, keepdims=False):   # noqa: A001
    if _t(x):
        return x.sum(dim=axis, keepdim=keepdims)
    return x.sum(axis=axis, keepdims=keepdims)


def expand(x, shape):
    return x.expand(*shape) if _t(x) else np.broadcast_to(x, shape)


def permute(x, axes):
    return x.permute(*axes) if _t(x) else x.transpose(axes)


def cast(x, dtype):
    return x.to(dtype) if _t(x) else x.astype(dtype, copy=False)


def index_add(g, shape, key):
    """A zero array of ``shape`` with ``g`` added at ``key`` (repeated indices accumulate)."""
    if _t(g):
        from .movement import IndexAdd
        return IndexAdd.apply(g, shape=shape, key=key)
    return IndexAdd_forward(g, shape, key)


def IndexAdd_forward(g, shape, key):
    out = np.zeros(shape, dtype=g.dtype)
    if _basic(key):
        out[key] = g
    else:
        np.add.at(out, key, g)
    return out


def _basic(key):
    """True when ``key`` has no integer or boolean arrays, so no position can repeat."""
    if not isinstance(key, tuple):
        key = (key,)
    return all(k is None or k is Ellipsis or isinstance(k, (int, slice, np.integer))
               for k in key)
