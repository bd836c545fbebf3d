"""``cr.accelerator``: as ``torch.accelerator`` on a machine with no accelerator (CPU only)."""
from __future__ import annotations

__all__ = ["is_available", "device_count", "current_accelerator"]


def is_available():
    """``False``: chainrule computes with NumPy on the CPU."""
    return False


def device_count():
    return 0


def current_accelerator(check_available=False):
    """``None``, as ``torch.accelerator.current_accelerator()`` when there is no accelerator."""
    return None
