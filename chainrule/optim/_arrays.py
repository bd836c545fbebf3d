"""In-place array steps that several update rules share (NumPy, float32 stays float32)."""
from __future__ import annotations

import numpy as np


def _lerp_(a, b, w, tmp):
    """``a <- a + w (b - a)`` in place, in the same two forms as ``torch.lerp_`` (``tmp``: a work
    array shaped like ``a``)."""
    np.subtract(b, a, out=tmp)
    if w < 0.5:
        tmp *= w
        a += tmp
    else:
        tmp *= 1.0 - w
        np.subtract(b, tmp, out=a)


def _add_squared_(acc, g, w, tmp):
    """``acc <- acc + w g²`` in place (``torch.addcmul_``), through the work array ``tmp``."""
    np.multiply(g, w, out=tmp)
    tmp *= g
    acc += tmp


def _prepare(g, d, wd, maximize, out):
    """The gradient the rule sees: ``g``, ``-g``, ``g + wd d`` or ``wd d - g`` (PyTorch's
    ``-g + wd d``), written into ``out``; with ``out=None``, ``g`` itself when nothing changes."""
    if wd != 0.0:
        np.multiply(d, wd, out=out)
        if maximize:
            out -= g
        else:
            out += g
    elif maximize:
        np.negative(g, out=out)
    elif out is not None:
        np.copyto(out, g)
    else:
        return g
    return out
