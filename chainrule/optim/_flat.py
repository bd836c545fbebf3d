"""Interim: the flat parameter/gradient buffers (and the gradient homes they used) are gone; the
optimizers take their per-parameter path.  The optimizer rework (issue 12, item 5) replaces this
module with a ``foreach`` path owned wholly by the optimizer."""
from __future__ import annotations


def _layout_view(flat, like):
    """``flat`` reshaped to ``like``'s shape with ``like``'s memory order (C or Fortran)."""
    if like.ndim > 1 and like.flags.f_contiguous and not like.flags.c_contiguous:
        return flat.reshape(like.shape[::-1]).T
    return flat.reshape(like.shape)


def flat_for(opt, group):
    return None
