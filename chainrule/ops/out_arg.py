"""``out=``: the result written into a given tensor, for the ``cr.`` functions PyTorch gives an
``out`` argument (``torch.matmul(a, b, out=c)``, ``torch.add(a, b, out=c)``, ...).

Each listed function in the registry is wrapped once here, after every op module has exported
its own: without ``out`` the call is the op itself; with it, the result is copied into ``out``
(resized when its shape differs, as PyTorch does), and ``out`` is returned.  As in PyTorch, an
``out=`` call is not differentiable: if an argument requires grad while grad mode is on it is an
error, not a silently detached result.  A Tensor method that is the same function as its
``cr.`` twin gets the same wrapper, so that ``cr.sin is Tensor.sin`` still holds; operators
(``__add__``, ...) are not wrapped.
"""
from __future__ import annotations

import functools

import numpy as np

from ..autograd.op import FUNCTIONS
from ..dtypes import dtype_repr
from ..graph.modes import STATE
from ..tensor import Tensor

# the functions of this package that take out= in PyTorch
NAMES = ("add", "sub", "mul", "div", "pow", "neg", "abs", "exp", "expm1", "log", "log1p",
         "log2", "log10", "exp2", "sqrt", "rsqrt", "reciprocal", "sin", "cos", "tan", "sinh",
         "cosh", "tanh", "asin", "acos", "atan", "asinh", "acosh", "atanh", "sigmoid", "erf",
         "erfc", "erfinv", "atan2", "hypot", "fmod", "remainder", "floor", "ceil", "trunc",
         "round", "frac", "clamp", "clip", "maximum", "minimum", "where", "lerp", "logaddexp",
         "matmul", "mm", "bmm", "mv", "dot", "outer", "cat", "stack", "cumsum", "cumprod",
         "nan_to_num", "square", "sign", "tril", "triu", "gather", "index_select")


def write_out(result, out, name):
    """Copy ``result`` into ``out`` (PyTorch's out= rules) and return ``out``."""
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be a Tensor, got {type(out).__name__}")
    r = result._data
    if np.dtype(out.dtype) != r.dtype and not np.can_cast(r.dtype, out.dtype, "same_kind"):
        raise RuntimeError(f"{name}: result type {dtype_repr(r.dtype)} can't be cast to the "
                           f"desired output type {dtype_repr(out.dtype)}")
    if out._data.shape != r.shape:
        out._data = np.empty(r.shape, out.dtype)
    out._data[...] = r
    out._bump()
    return out


def _with_out(fn, name):
    @functools.wraps(fn)
    def call(*args, out=None, **kwargs):
        if out is None:
            return fn(*args, **kwargs)
        if STATE.enabled and any(isinstance(a, Tensor) and a.requires_grad
                                 for a in (*args, *kwargs.values(), out)):
            raise RuntimeError(f"{name}(): functions with out=... arguments don't support "
                               "automatic differentiation, but one of the arguments requires "
                               "grad (call it under cr.no_grad(), or drop out=)")
        return write_out(fn(*args, **kwargs), out, name)
    return call


for _name in NAMES:
    if _name in FUNCTIONS:
        _fn = FUNCTIONS[_name]
        FUNCTIONS[_name] = _wrapped = _with_out(_fn, _name)
        if getattr(Tensor, _name, None) is _fn:   # keep cr.f and Tensor.f one function
            setattr(Tensor, _name, _wrapped)
