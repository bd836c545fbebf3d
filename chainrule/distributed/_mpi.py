"""The MPI seam: the lazy mpi4py import and waiting on a request with a deadline.

mpi4py is imported here and nowhere else, on first use, so that ``import chainrule.distributed``
works (and says what to install) on a machine without MPI.
"""
from __future__ import annotations

import os
import time

INSTALL_HINT = ("install an MPI library and mpi4py, e.g. `apt-get install openmpi-bin "
                "libopenmpi-dev` then `pip install 'chainrule[mpi]'` (or `pip install mpi4py`); "
                "a pip-only route is `pip install mpich mpi4py`")


class DistributedError(RuntimeError):
    """A collective failed or timed out (another rank died or is stuck), or ranks disagree."""


def mpi():
    """The ``mpi4py.MPI`` module, or an ImportError that says what to install."""
    try:
        from mpi4py import MPI
    except ImportError as exc:
        raise ImportError(f"chainrule.distributed needs MPI through mpi4py ({exc}): "
                          f"{INSTALL_HINT}") from None
    return MPI


def wait(request, timeout, what, rank, size):
    """Wait for ``request`` (one MPI request or a list), at most ``timeout`` seconds.

    A blocking MPI call would wait forever for a rank that died or hangs; polling with ``Test``
    lets the survivors stop with a message instead. ``Test`` also drives MPI's progress (a large
    allreduce is many exchanges, each needing both sides to poll), so the first milliseconds
    spin, as MPI's own blocking calls do; then each poll yields the core (oversubscribed ranks
    need it), and after a second, a rank that is still waiting naps 1 ms between polls.
    """
    MPI = mpi()
    reqs = request if isinstance(request, list) else [request]
    testall = MPI.Request.Testall
    if not reqs or testall(reqs):
        return
    clock = time.perf_counter
    start = clock()
    yield_ = getattr(os, "sched_yield", lambda: time.sleep(0))
    while not testall(reqs):
        waited = clock() - start
        if waited < 0.005:
            continue
        if waited > timeout:
            raise DistributedError(
                f"chainrule.distributed: {what} on rank {rank} of {size} did not complete within "
                f"{timeout:g} s: another rank has probably died or is stuck (raise the limit "
                f"with init_process_group(timeout=...))")
        if waited < 1.0:
            yield_()
        else:
            time.sleep(1e-3)
