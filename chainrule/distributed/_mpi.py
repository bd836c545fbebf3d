"""The MPI seam: the lazy mpi4py import and waiting on a request with a deadline.

mpi4py is imported here and nowhere else, on first use, so that ``import chainrule.distributed``
works (and says what to install) on a machine without MPI.
"""
from __future__ import annotations

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
    lets the survivors stop with a message instead. Polling spins for a few microseconds first
    (a local collective completes in tens of microseconds), then yields the core with sleeps
    that grow to 1 ms, so oversubscribed ranks do not starve each other.
    """
    MPI = mpi()
    reqs = request if isinstance(request, list) else [request]
    if not reqs:
        return
    if MPI.Request.Testall(reqs):
        return
    start = time.perf_counter()
    deadline = start + timeout
    nap, spins = 0.0, 0
    while not MPI.Request.Testall(reqs):
        spins += 1
        if spins > 50:
            time.sleep(nap)
            nap = min(1e-3, nap * 2 if nap else 2e-5)
        if time.perf_counter() > deadline:
            raise DistributedError(
                f"chainrule.distributed: {what} on rank {rank} of {size} did not complete within "
                f"{timeout:g} s: another rank has probably died or is stuck (raise the limit "
                f"with init_process_group(timeout=...))")
