"""Which one-pass update kernel an optimizer group uses (``fused=``; the kernels are in
``_fused_numba.py``)."""
from __future__ import annotations

import functools
import importlib

from ..ops import kernels

_CLASS_KERNEL = {}
FUSED_FROM = 1 << 16    # fused=None: the kernel for groups of at least this many elements


def _class_kernel(cls):
    """The name of ``cls``'s one-pass kernel: the one the class that declared it names, as long
    as ``cls`` keeps that class's rule (a subclass that changes ``_update``, ``_hyper``,
    ``_scalars`` or ``_buffers`` has none)."""
    if cls not in _CLASS_KERNEL:
        owner = next((c for c in cls.__mro__ if c.__dict__.get("_fused_kernel")), None)
        if owner is not None and any(getattr(cls, m) is not getattr(owner, m)
                                     for m in ("_update", "_hyper", "_scalars", "_buffers")):
            owner = None
        _CLASS_KERNEL[cls] = None if owner is None else owner._fused_kernel
    return _CLASS_KERNEL[cls]


def kernel_for(opt, group):
    """The one-pass update kernel this group uses, or None for the NumPy update.

    ``fused=None`` (default): the kernel when the algorithm has one, the group has at least
    ``FUSED_FROM`` elements (below, the flat NumPy update is as fast and numba is not even
    imported) and chainrule's kernels are numba's (``cr.ops.kernels``: numba installed, not
    switched off); ``fused=False``: never; ``fused=True``: always, and an error when it cannot
    be had."""
    fused = group.get("fused")
    if fused is False:
        return None
    kernel = _class_kernel(type(opt))
    if kernel is None:
        if fused:
            name = type(opt).__name__
            raise RuntimeError(f"{name}: fused=True, but {name} has no fused kernel (SGD, "
                               "Adam and AdamW have one)")
        return None
    if fused is None and sum(p._data.size for p in group["params"]) < FUSED_FROM:
        return None        # small: NumPy's few calls (flat) cost less than loading the JIT
    if kernels.active() != "numba":
        if fused:
            name = type(opt).__name__
            raise RuntimeError(f"{name}: fused=True needs the numba kernels (pip install "
                               "'chainrule[fast]', and CHAINRULE_KERNELS not 'numpy')")
        return None
    return getattr(_numba_kernels(), kernel)


@functools.cache
def _numba_kernels():
    """``_fused_numba``, imported on first use only (it imports numba)."""
    return importlib.import_module("._fused_numba", __package__)
