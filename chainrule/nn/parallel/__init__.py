"""Parallel wrappers (as ``torch.nn.parallel``).

``DistributedDataParallel`` lives in :mod:`chainrule.distributed` (it needs MPI) and is loaded
from there on first use, so that ``chainrule.nn`` never imports the optional integration.
"""

__all__ = ["DistributedDataParallel"]


def __getattr__(name):
    if name == "DistributedDataParallel":
        from ...distributed.ddp import DistributedDataParallel
        return DistributedDataParallel
    raise AttributeError(f"module 'chainrule.nn.parallel' has no attribute {name!r}")
