"""``cr.backends``: PyTorch's backend switches, answered for a NumPy-on-CPU framework.

``cr.backends.mps.is_available()`` is ``False``; ``cr.backends.cudnn`` holds the flags scripts set
(``deterministic``, ``benchmark``, ``enabled``), which change nothing here because NumPy's CPU
kernels are already deterministic and there is no cuDNN.
"""
from . import cudnn, mps

__all__ = ["cudnn", "mps"]
