"""The optimizer's own flat buffers: ``foreach=True`` (PyTorch's name for its multi-tensor kernels).

Why: an update rule is a handful of elementwise passes.  Per parameter, that is a handful of NumPy
calls times the number of tensors (six for a three-layer MLP); over one flat array it is a handful
of calls in all.  Each parameter's state buffers (``exp_avg`` ...) are views of one flat array per
buffer, so the rule runs once over the whole group.

What it costs, and what it never does: at each step the optimizer copies every gradient into its
flat gradient array (one pass per parameter), and subtracts each parameter's slice of the flat
update from the parameter (one pass per parameter).  The parameters and their gradients stay where
they are: nothing outside the optimizer writes into its memory, and nothing of it is handed out.
``state[p][name]`` is a view of the flat buffer; ``state_dict()`` copies it, and after
``load_state_dict`` (or any other replacement of a buffer) the next step copies the state into
fresh flat buffers.  Both paths do the same arithmetic on every element, so the numbers are
bit-identical to ``foreach=False``.
"""
from __future__ import annotations

import numpy as np

__all__ = ["flat_for", "layout_view"]

_CACHE = 8           # flat records kept per optimizer (one per set of parameters with gradients)


def layout_view(flat, like):
    """``flat`` reshaped to ``like``'s shape with ``like``'s memory order (C or Fortran)."""
    if like.ndim > 1 and like.flags.f_contiguous and not like.flags.c_contiguous:
        return flat.reshape(like.shape[::-1]).T
    return flat.reshape(like.shape)


def _split(like):
    """One flat array for the arrays ``like`` and its views, one per array in that array's layout."""
    sizes = [a.size for a in like]
    flat = np.empty(sum(sizes), like[0].dtype)
    views, off = [], 0
    for a, n in zip(like, sizes):
        views.append(layout_view(flat[off:off + n], a))
        off += n
    return flat, views


class _Flat:
    """One group's gradients, update and state buffers as flat arrays, with per-parameter views."""

    def __init__(self, params, keys, states, make_buffer):
        like = [p._data for p in params]
        self.params = list(params)
        self.shapes = [a.shape for a in like]
        self.keys = keys
        self.grad, self.grads = _split(like)      # the gathered (prepared) gradients
        self.out, self.outs = _split(like)        # the update, subtracted from each parameter
        self.bufs, self.views = {}, {}
        for k in keys:
            self.bufs[k], self.views[k] = _split(like)
            for st, v in zip(states, self.views[k]):
                v[...] = st[k]._data              # carry over what the state held
                st[k] = make_buffer(v)

    def holds(self, states, keys):
        """True while every parameter keeps its shape and its state buffers are still this
        record's views."""
        if keys != self.keys or [p._data.shape for p in self.params] != self.shapes:
            return False
        for k in keys:
            for st, v in zip(states, self.views[k]):
                if st[k]._data is not v:
                    return False
        return True


def flat_for(opt, params, states, keys, make_buffer):
    """The flat record of ``params`` (the parameters of a group that have gradients), made or
    remade so that it holds their current state; None when they cannot share flat arrays."""
    cache = opt.__dict__.setdefault("_flat_records", {})
    key = tuple(map(id, params))
    rec = cache.get(key, False)
    if rec is None:
        return None
    if rec is not False and rec.holds(states, keys):
        return rec
    dt = params[0]._data.dtype
    if len(params) < 2 or dt.kind != "f" or any(p._data.dtype != dt for p in params) or \
            len(set(key)) != len(key):
        rec = None
    else:
        rec = _Flat(params, keys, states, make_buffer)
    if len(cache) >= _CACHE:
        cache.clear()
    cache[key] = rec
    return rec
