"""``cr.backends.cudnn``: the flags PyTorch scripts set; there is no cuDNN, so they change nothing."""

enabled = True
deterministic = False
benchmark = False


def is_available():
    """``False``: chainrule has no cuDNN."""
    return False


def version():
    return None
