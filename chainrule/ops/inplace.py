"""In-place methods (``add_``, ``mul_``, ``x[i] = v``, ...).

Outside the graph (no_grad, or no tensor that requires grad) they write the result into the
tensor's memory.  Inside it, the result is computed out of place, written into the same memory,
and the tensor is rebased onto the new node, as PyTorch does.  A value changed this way that some
backward saved is caught by the version counter: that backward raises instead of using it.
"""
from __future__ import annotations

import numpy as np

from ..autograd.op import export
from ..dtypes import dtype_repr
from ..graph.modes import STATE
from ..tensor import Tensor, _new
from . import arithmetic as A
from . import compare as C
from . import elementwise as E
from .movement import index_put, norm_key


def _before(t):
    """The tensor as it was before the write, for the new node's input: its node, and a copy of
    its values (as PyTorch keeps ``original_self``), so a backward that needs them has them.
    For a node with several outputs the copy takes the tensor's place among them."""
    old = _new(t._data.copy(), t.requires_grad, t._node)
    node = t._node
    if node is not None and node.n_outputs != 1:
        node.stand_in(t, old)
    return old


def _in_graph(self, others):
    if not STATE.enabled:
        return False
    if not (self.requires_grad or any(isinstance(o, Tensor) and o.requires_grad
                                      for o in others)):
        return False
    if self._node is None and self.requires_grad:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                           "operation (wrap the update in cr.no_grad())")
    base = self._base
    if base is not None and (base.requires_grad or self.requires_grad):
        raise RuntimeError("an in-place operation on a view of a tensor that requires grad is "
                           "not supported: autograd could not follow the change into the base "
                           "tensor; use an out-of-place operation (y = x.clone(); ...)")
    return True


def inplace(self, fn, *others):
    """``self`` overwritten with ``fn(self, *others)``; returns ``self``."""
    if _in_graph(self, others):
        old = _before(self)
        res = fn(old, *others)
        _check_cast(res, self)
        self._data[...] = res._data
        self._bump("an in-place operation")
        node = res._node
        if node is not None:
            self._node, self.requires_grad = node, True
            node.retarget(res, self)
        return self
    res = fn(self, *others)
    _check_cast(res, self)
    self._data[...] = res._data
    self._bump("an in-place operation")
    return self


def _check_cast(res, self):
    if res.dtype != self.dtype and not np.can_cast(res.dtype, self.dtype, "same_kind"):
        raise RuntimeError(f"result type {dtype_repr(res.dtype)} can't be cast to the desired "
                           f"output type {dtype_repr(self.dtype)}")


def _method(fn, name, *dunders):
    def method(self, *args, **kwargs):
        return inplace(self, lambda x, *o: fn(x, *o, **kwargs), *args)
    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"In-place ``{name[:-1]}`` (as ``torch.Tensor.{name}``)."
    return export(method, method=(name,) + dunders, function=False)


add_ = _method(A.add, "add_", "__iadd__")
sub_ = _method(A.sub, "sub_", "__isub__")
mul_ = _method(A.mul, "mul_", "__imul__")
div_ = _method(A.div, "div_", "__itruediv__")
pow_ = _method(A.pow, "pow_", "__ipow__")
neg_ = _method(A.neg, "neg_")
clamp_ = _method(C.clamp, "clamp_")
clip_ = _method(C.clamp, "clip_")
relu_ = _method(E.relu, "relu_")
sigmoid_ = _method(E.sigmoid, "sigmoid_")
tanh_ = _method(E.tanh, "tanh_")
exp_ = _method(E.exp, "exp_")
masked_fill_ = _method(C.masked_fill, "masked_fill_")


@export(method="__setitem__", function=False)
def setitem(self, key, value):
    if _in_graph(self, (value,)):
        inplace(self, lambda x, v: index_put(x, key, v), value)
        return
    v = value._data if isinstance(value, Tensor) else value
    self._data[norm_key(key)] = v
    self._bump("item assignment (t[...] = v)")


@export(method=True)
def square(input):   # noqa: A002
    """``input ** 2`` (as ``torch.square``)."""
    return A.pow(input, 2)


@export(method=True)
def reciprocal(input):
    return A.div(1.0, input)
