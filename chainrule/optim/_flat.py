"""Flat buffers: one parameter group's parameters and gradients as views of two contiguous arrays.

Why: an update rule is a handful of elementwise passes.  Per parameter, that is a handful of NumPy
calls times the number of tensors (six for a three-layer MLP), and the Python between them is paid
after the backward pass has pushed everything out of the CPU caches.  Over one flat array it is a
handful of calls in all, as in a hand-written NumPy training loop.

How it stays invisible:

* On a group's first step the optimizer moves each parameter's values into a slice of one array
  (``p._data`` becomes a view with the parameter's shape and memory layout).  It does so only when
  nothing outside the parameter holds its array (checked with reference counts), so no array a
  user kept goes stale; otherwise the group keeps the per-parameter path.
* Each parameter gets a *gradient home*, a view of the group's flat gradient array.  When a
  backward produces the parameter's first gradient, ``nn.Linear``'s backward writes it straight
  into the home (other ops' small gradients are copied there by the engine), and ``.grad`` is
  the home's tensor around it, made once.  A home is reused only while nothing outside holds
  that tensor or its array (reference counts tell), so a gradient a user kept is never
  overwritten: the backward then makes a new array, and the step takes the per-parameter path.
* Every step checks, per parameter, that the parameter and its gradient still live in the flat
  arrays (a few identity tests); if anything moved (``load_state_dict``, ``p.data = ...``, a
  gradient kept from an earlier step, two backward passes without ``zero_grad``), that step takes
  the per-parameter path.  Both paths do the same arithmetic on each element, so results are
  identical.
"""
from __future__ import annotations

import sys
import weakref

import numpy as np

from ..autograd.homes import _HOMES, _Home, _home


def _layout_view(flat, like):
    """``flat`` reshaped to ``like``'s shape with ``like``'s memory order (C or Fortran)."""
    if like.ndim > 1 and like.flags.f_contiguous and not like.flags.c_contiguous:
        return flat.reshape(like.shape[::-1]).T
    return flat.reshape(like.shape)


def _unshared(p):
    """True when nothing but ``p`` holds its array (nor another view of the same memory)."""
    # references to p._data: p's slot and getrefcount's argument; to its base (if it is a view):
    # the view's base pointer, the local name and getrefcount's argument
    if sys.getrefcount(p._data) > 2:
        return False
    b = p._data.base
    return b is None or (isinstance(b, np.ndarray) and sys.getrefcount(b) <= 3)


class _Flat:
    """A group's parameters and gradient homes as views of two flat arrays."""

    def __init__(self, params):
        self.params = list(params)
        dt = self.params[0]._data.dtype
        sizes = [p._data.size for p in self.params]
        total = sum(sizes)
        self.data = np.empty(total, dt)
        self.grad = np.zeros(total, dt)
        self.views, self.homes, self.offsets = [], [], []
        off = 0
        for p, n in zip(self.params, sizes):
            self.offsets.append(off)
            view = _layout_view(self.data[off:off + n], p._data)
            view[...] = p._data
            p._data = view
            self.views.append(view)
            home = _Home(p, _layout_view(self.grad[off:off + n], view))
            _HOMES[id(p)] = home
            self.homes.append(home)
            off += n
        self._finalizer = weakref.finalize(self, _forget, [id(p) for p in self.params],
                                           list(self.homes))
        self.ready, self.bump_versions = _straight_line(self.params, self.views, self.homes)

    @staticmethod
    def build(params):
        """A ``_Flat`` for ``params``, or None when they can't share flat buffers."""
        if len(params) < 2 or len(set(map(id, params))) != len(params):
            return None
        dt = params[0]._data.dtype
        for p in params:
            if not _unshared(p) or _home(p) is not None:
                return None
            f = p._data.flags
            if p._data.dtype != dt or dt.kind != "f" or not (f.c_contiguous or f.f_contiguous):
                return None
        return _Flat(params)

    def like(self, buf):
        """Per-parameter views of another flat array ``buf`` (an optimizer's state), each with
        its parameter's slice, shape and memory layout."""
        return [_layout_view(buf[off:off + v.size], v) for off, v in zip(self.offsets, self.views)]

    def scratch(self):
        """A work array the size of the flat data (made on first use, then reused)."""
        tmp = self.__dict__.get("_tmp")
        if tmp is None:
            tmp = self._tmp = np.empty_like(self.data)
        return tmp


def _straight_line(params, views, homes):
    """``ready() -> bool`` (every parameter and its ``.grad`` still live in the flat arrays: the
    parameter's array is its view, and its ``.grad`` is its home's tensor around the home's
    array) and ``bump_versions()`` (the in-place update's version bump), generated as one
    expression and one line per parameter: they run on every step, and a loop over six
    parameters costs more Python than the tests themselves."""
    ns, checks, bumps = {}, [], []
    for i, (p, view, h) in enumerate(zip(params, views, homes)):
        # a home's array is read through the home: one reference more would keep it busy
        ns[f"P{i}"], ns[f"V{i}"], ns[f"H{i}"] = p, view, h
        checks.append(f"P{i}._data is V{i} and P{i}.grad is H{i}.grad "
                      f"and H{i}.grad._data is H{i}.array")
        bumps.append(f"    P{i}._version += 1")
    src = ("def ready():\n    return (" + "\n            and ".join(checks) + ")\n"
           "def bump_versions():\n" + "\n".join(bumps) + "\n")
    exec(compile(src, "<flat buffers>", "exec"), ns)   # noqa: S102
    return ns["ready"], ns["bump_versions"]


def _forget(ids, homes):
    for k, h in zip(ids, homes):
        if _HOMES.get(k) is h:
            del _HOMES[k]


def flat_for(opt, group):
    """The group's ``_Flat`` record, built on its first step; None if it can't have one.

    Records are kept on the optimizer, keyed by the group's parameters (so they survive
    ``load_state_dict``, which replaces the group dicts)."""
    d = opt.__dict__
    params = group["params"]
    hit = d.get("_flat_last")
    if hit is not None and hit[0] is params and hit[1] == len(params):   # one group, every step
        return hit[2]
    records = d.setdefault("_flat_records", {})
    key = tuple(map(id, params))
    if key in records:
        rec = records[key]
    else:
        rec = records[key] = _Flat.build(params)
    d["_flat_last"] = (params, len(params), rec)
    return rec
