"""Attach the operators and methods of :class:`Tensor`; each one hands off to an op function."""
from __future__ import annotations

import numpy as np

from .ops import elementwise as E
from .ops import linalg as L
from .ops import movement as M
from .ops import reduce as R
from .tensor import Tensor


def _r(fn):
    return lambda self, other: fn(other, self)


def _pow(self, other):
    return E.pow(self, other)


def _rpow(self, other):
    return E.pow(E.as_tensor_like(other, self) if not isinstance(other, Tensor) else other, self)


_METHODS = {
    "__add__": E.add, "__radd__": E.add, "__sub__": E.sub, "__rsub__": _r(E.sub),
    "__mul__": E.mul, "__rmul__": E.mul, "__truediv__": E.div, "__rtruediv__": _r(E.div),
    "__pow__": _pow, "__rpow__": _rpow, "__matmul__": L.matmul, "__rmatmul__": _r(L.matmul),
    "__neg__": E.neg, "__pos__": lambda self: self, "__abs__": E.abs,
    "__eq__": E.eq, "__ne__": E.ne, "__lt__": E.lt, "__le__": E.le, "__gt__": E.gt,
    "__ge__": E.ge, "__and__": E.logical_and, "__or__": E.logical_or,
    "__xor__": E.logical_xor, "__invert__": E.logical_not, "__getitem__": M.getitem,
    "__floordiv__": lambda a, b: E.div(a, b, rounding_mode="floor"),
    "add": E.add, "sub": E.sub, "mul": E.mul, "div": E.div, "pow": _pow, "neg": E.neg,
    "matmul": L.matmul, "dot": L.dot, "exp": E.exp, "log": E.log, "sqrt": E.sqrt, "abs": E.abs,
    "sign": E.sign, "tanh": E.tanh, "sigmoid": E.sigmoid, "relu": E.relu,
    "maximum": E.maximum, "minimum": E.minimum, "clamp": E.clamp, "clip": E.clamp,
    "eq": E.eq, "ne": E.ne, "lt": E.lt, "le": E.le, "gt": E.gt, "ge": E.ge,
    "isnan": E.isnan, "isfinite": E.isfinite, "logical_not": E.logical_not,
    "sum": R.sum, "mean": R.mean, "max": R.max, "min": R.min, "amax": R.amax, "var": R.var,
    "std": R.std, "argmax": R.argmax, "argmin": R.argmin, "all": R.all, "any": R.any,
    "softmax": R.softmax, "log_softmax": R.log_softmax, "logsumexp": R.logsumexp,
    "reshape": M.reshape, "view": M.view, "flatten": M.flatten, "transpose": M.transpose,
    "permute": M.permute, "squeeze": M.squeeze, "unsqueeze": M.unsqueeze, "expand": M.expand,
    "split": M.split, "chunk": M.chunk,
}
for _name, _fn in _METHODS.items():
    setattr(Tensor, _name, _fn)


def _square(self):
    return E.pow(self, 2)


def _reciprocal(self):
    return E.div(1.0, self)


def _masked_fill(self, mask, value):
    return E.where(mask, E.as_tensor_like(value, self), self)


def _expand_as(self, other):
    return M.expand(self, *other.shape)


def _view_as(self, other):
    return M.reshape(self, *other.shape)


def _where(self, condition, other):
    return E.where(condition, self, other)


def _T(self):
    return M.permute(self, *reversed(range(self.ndim))) if self.ndim > 1 else self


def _mT(self):
    return M.transpose(self, -2, -1)


Tensor.square = _square
Tensor.reciprocal = _reciprocal
Tensor.masked_fill = _masked_fill
Tensor.expand_as = _expand_as
Tensor.view_as = _view_as
Tensor.where = _where
Tensor.T = property(_T)
Tensor.mT = property(_mT)
Tensor.__rfloordiv__ = lambda self, other: E.div(other, self, rounding_mode="floor")
Tensor.__array_priority__ = 1000
_ = np
