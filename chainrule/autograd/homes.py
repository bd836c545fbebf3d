"""Gradient homes: where the engine puts a parameter's gradient when an optimizer keeps all of
its group's gradients in one flat array (see ``chainrule/optim/_flat.py`` for why).

A home is a view of that flat array.  ``nn.Linear``'s backward writes its weight and bias
gradients straight into their homes (:func:`grad_destination`); the engine copies other small
gradients there (:func:`keep`) and keeps a home view without copying it (:func:`owns`).  A home
is reused only when the ``.grad`` view handed out last time is gone (a weak reference tells), so a
gradient a user kept is never overwritten.  Nothing here runs unless an optimizer made homes.
"""
from __future__ import annotations

import weakref

import numpy as np

_HOMES = {}       # id(param) -> _Home; entries die with their optimizer's _Flat record
_SMALL = 4096     # gradients below this size produced by other ops are copied into their home


class _Home:
    __slots__ = ("param", "array", "last", "__weakref__")

    def __init__(self, param, array):
        self.param = weakref.ref(param)
        self.array = array      # a view of the group's flat gradient, in the parameter's layout
        self.last = None        # weak reference to the view last handed out as .grad


def _home(t):
    h = _HOMES.get(id(t))
    if h is None or h.param() is not t:
        return None
    return h


def _claim(h):
    """A fresh view of home ``h`` to hand out as a ``.grad``, or None while the previous one is
    still alive somewhere."""
    if h.last is not None and h.last() is not None:
        return None
    v = h.array.view()
    h.last = weakref.ref(v)
    return v


def grad_destination(t, dtype):
    """An array to write ``t``'s first gradient of this backward into, or None.

    Used by ``Linear``'s backward for its weight and bias.  Returns a fresh view of the home when
    ``t`` has no gradient yet, the home holds ``dtype`` and the previous view is gone; the engine
    then keeps it without a copy (see :func:`owns`)."""
    if t.grad is not None:
        return None
    h = _HOMES.get(id(t))
    if h is None or h.param() is not t or h.array.dtype != dtype:
        return None
    return _claim(h)


def owns(t, g):
    """True if ``g`` is the home view handed out for ``t``."""
    h = _home(t) if _HOMES else None
    return h is not None and h.last is not None and h.last() is g


def _adopt(h, g):
    """Copy a small gradient ``g`` into its free home ``h``; returns the array to keep."""
    if g.size >= _SMALL or h.array.shape != g.shape or h.array.dtype != g.dtype:
        return None
    v = _claim(h)
    if v is not None:
        np.copyto(v, g)
    return v


def keep(t, g):
    """The array to store as ``t``'s new ``.grad`` when ``t`` has a home: ``g`` itself if an op
    wrote it there, else a copy of a small ``g`` in the free home; None to fall back."""
    h = _HOMES.get(id(t))
    if h is None or h.param() is not t:
        return None
    last = h.last
    if last is not None and last() is g:
        return g
    return _adopt(h, g)
