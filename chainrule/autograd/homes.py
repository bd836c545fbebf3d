"""Gradient homes: where the engine puts a parameter's gradient when an optimizer keeps all of
its group's gradients in one flat array (see ``chainrule/optim/_flat.py`` for why).

A home is a view of that flat array and one Tensor around it, made once and handed out as the
parameter's ``.grad`` after every backward.  ``nn.Linear``'s backward writes its weight and bias
gradients straight into their homes (:func:`grad_destination`); the engine copies other small
gradients there and hands out the home's tensor (:func:`keep`), and adds into it in place while it
is the ``.grad`` (:func:`owns`).  A home is reused only when nothing outside holds its tensor or
its array (reference counts tell), so a gradient a user kept is never overwritten.  Nothing here
runs unless an optimizer made homes.
"""
from __future__ import annotations

import sys
import weakref

import numpy as np

from .function import _new

_HOMES = {}       # id(param) -> _Home; entries die with their optimizer's _Flat record
_SMALL = 4096     # gradients below this size produced by other ops are copied into their home
_refs = sys.getrefcount


class _Home:
    __slots__ = ("param", "array", "grad", "__weakref__")

    def __init__(self, param, array):
        self.param = weakref.ref(param)
        self.array = array                    # a view of the group's flat gradient, in the
        self.grad = _new(array, False, None)  # parameter's layout, and the .grad handed out


def _home(t):
    h = _HOMES.get(id(t))
    if h is None or h.param() is not t:
        return None
    return h


def _free(h):
    """True when nothing but the home holds its tensor and its array, so they may take a new
    gradient.  The counted references: to the tensor, the home's slot, ``g`` and getrefcount's
    argument; to the array, the home's slot, the tensor's slot and the argument."""
    g = h.grad
    return _refs(g) == 3 and g._data is h.array and _refs(h.array) == 3


def grad_destination(t, dtype):
    """An array to write ``t``'s first gradient of this backward into, or None.

    Used by ``Linear``'s backward for its weight and bias.  Returns the home's array when ``t``
    has no gradient yet, the home holds ``dtype`` and is free; the engine then hands out the
    home's tensor without a copy (see :func:`keep`)."""
    if t.grad is not None:
        return None
    h = _HOMES.get(id(t))
    if h is None or h.param() is not t or h.array.dtype != dtype or not _free(h):
        return None
    return h.array


def owns(t, g):
    """True if ``t``'s ``.grad`` is its home's tensor and ``g`` that tensor's array."""
    h = _home(t) if _HOMES else None
    return h is not None and t.grad is h.grad and g is h.array


def keep(t, g):
    """The tensor to make ``t``'s new ``.grad`` when ``t`` has a home: the home's tensor if an
    op wrote ``g`` into the home, or after copying a small ``g`` into the free home; None to fall
    back to a tensor of its own."""
    h = _HOMES.get(id(t))
    if h is None or h.param() is not t:
        return None
    a = h.array
    if g is not a:
        if g.size >= _SMALL or a.shape != g.shape or a.dtype != g.dtype or not _free(h):
            return None
        np.copyto(a, g)
    return hand_out(h)


def hand_out(h):
    """The home's tensor, ready to be a ``.grad`` again once its array holds a new gradient.
    It is free (no graph or user has held it since it was last a ``.grad``); only flags a user
    may have set on that ``.grad`` are cleared."""
    grad = h.grad
    if grad.requires_grad or grad._hooks is not None or grad.grad is not None or grad._retain:
        grad.requires_grad, grad._node, grad.grad, grad._hooks, grad._retain = \
            False, None, None, None, False
    return grad
