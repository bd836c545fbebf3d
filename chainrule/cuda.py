"""``cr.cuda``: what ``torch.cuda`` answers on a machine without a GPU.

chainrule computes with NumPy on the CPU, so :func:`is_available` is ``False`` and
:func:`device_count` is 0.  The seeding functions do nothing, as ``torch.cuda.manual_seed`` does
without CUDA, so ``cr.cuda.manual_seed_all(0)`` in a script's preamble is harmless.  Asking for a
CUDA device (``current_device``, ``synchronize``, ``cr.zeros(2, device='cuda')``) raises an error
that lists the devices that exist.
"""
from __future__ import annotations

__all__ = ["is_available", "device_count", "manual_seed", "manual_seed_all", "current_device",
           "synchronize", "is_bf16_supported", "empty_cache"]


def is_available():
    """``False``: chainrule has no CUDA device."""
    return False


def device_count():
    """0: chainrule has no CUDA device."""
    return 0


def manual_seed(seed):
    """Does nothing (no CUDA generator exists), as ``torch.cuda.manual_seed`` without CUDA."""


def manual_seed_all(seed):
    """Does nothing (no CUDA generator exists), as ``torch.cuda.manual_seed_all`` without CUDA."""


def empty_cache():
    """Does nothing (there is no CUDA memory to release)."""


def is_bf16_supported(including_emulation=True):
    return False


def _none(what):
    from .devices import placement
    placement("cuda", what)


def current_device():
    _none("cr.cuda.current_device()")


def synchronize(device=None):
    _none("cr.cuda.synchronize()")
