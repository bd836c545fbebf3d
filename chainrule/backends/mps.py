"""``cr.backends.mps``: Apple's Metal backend is not part of chainrule."""


def is_available():
    """``False``: chainrule computes with NumPy on the CPU."""
    return False


def is_built():
    """``False``: chainrule has no MPS backend."""
    return False
