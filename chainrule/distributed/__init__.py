"""Data-parallel training over MPI (as ``torch.distributed`` with its MPI backend).

Optional: needs an MPI library and mpi4py (``pip install 'chainrule[mpi]'``); importing this
package works without them, and the first call that needs MPI says what to install.

Run a script on N processes with ``mpirun -n N python train.py``; inside it::

    import chainrule.distributed as dist
    dist.init_process_group("mpi")
    model = cr.nn.parallel.DistributedDataParallel(model)     # gradients averaged over ranks
    sampler = cr.utils.data.distributed.DistributedSampler(dataset)   # a shard per rank

See docs/distributed.md.
"""
from ._mpi import DistributedError
from .process_group import (ReduceOp, Work, abort, all_gather, all_gather_into_tensor,
                            all_reduce, barrier, broadcast, destroy_process_group, get_backend,
                            get_rank, get_world_size, init_process_group, is_available,
                            is_initialized, reduce_scatter, reduce_scatter_tensor)

__all__ = ["DistributedError", "ReduceOp", "Work", "abort", "all_gather",
           "all_gather_into_tensor", "all_reduce", "barrier", "broadcast",
           "destroy_process_group", "get_backend", "get_rank", "get_world_size",
           "init_process_group", "is_available", "is_initialized", "reduce_scatter",
           "reduce_scatter_tensor"]
