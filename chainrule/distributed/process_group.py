"""The default process group and its collectives, as ``torch.distributed`` (MPI backend only).

Every collective works in place on chainrule tensors through mpi4py's buffer interface (the
uppercase ``Iallreduce``, ``Ibcast``...): NumPy arrays go to MPI as raw memory, nothing is
pickled. Each call is started non-blocking and waited on with a deadline (``timeout`` of
:func:`init_process_group`), so a rank whose peer died stops with a message instead of hanging.
"""
from __future__ import annotations

import datetime
import sys

import numpy as np

from ._mpi import mpi, wait

__all__ = ["ReduceOp", "Work", "init_process_group", "destroy_process_group", "is_available",
           "is_initialized", "get_rank", "get_world_size", "get_backend", "barrier",
           "all_reduce", "broadcast", "all_gather", "all_gather_into_tensor", "reduce_scatter",
           "reduce_scatter_tensor"]

DEFAULT_TIMEOUT = datetime.timedelta(minutes=30)      # torch.distributed's default
_DTYPES = ("float32", "float64", "int32", "int64")


class ReduceOp:
    """Reduction operations (as ``torch.distributed.ReduceOp``)."""
    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MAX = "max"
    MIN = "min"


class _Group:
    """What :func:`init_process_group` sets up: the communicator, rank, size, deadline."""

    def __init__(self, comm, timeout):
        self.comm, self.timeout = comm, timeout
        self.rank, self.size = comm.Get_rank(), comm.Get_size()
        self.hook = None


_group = None     # the default process group: one per process, as in torch.distributed


def _g(what="this call"):
    if _group is None:
        raise ValueError("Default process group has not been initialized, please make sure to "
                         f"call init_process_group (needed by {what}).")
    return _group


def is_available():
    """True when mpi4py (and so an MPI library) can be imported."""
    try:
        mpi()
    except ImportError:
        return False
    return True


def is_initialized():
    return _group is not None


def get_rank(group=None):
    """This process's rank, from the MPI launcher (``mpirun -n N``)."""
    return _g("get_rank").rank


def get_world_size(group=None):
    return _g("get_world_size").size


def get_backend(group=None):
    _g("get_backend")
    return "mpi"


def init_process_group(backend="mpi", init_method=None, timeout=None, world_size=-1, rank=-1,
                       abort_on_error=True):
    """Join the processes started by the MPI launcher into the default group.

    Arguments:
        backend: ``"mpi"`` (the only one; rank and world size come from ``mpirun``/``mpiexec``).
        init_method: accepted for PyTorch compatibility; must be ``None`` or ``"env://"``.
        timeout: how long a collective may wait for the other ranks (seconds or a
            ``datetime.timedelta``; default 30 minutes, as PyTorch).
        world_size, rank: if given, checked against what MPI says.
        abort_on_error: an uncaught exception on one rank aborts all ranks (``MPI_Abort``)
            after printing its traceback, so that the others do not wait for it.

    Example (run with ``mpirun -n 2 python script.py``)::

        import chainrule.distributed as dist
        dist.init_process_group("mpi")
        t = cr.tensor([float(dist.get_rank())])
        dist.all_reduce(t)            # t is now [1.] on both ranks
    """
    global _group
    if _group is not None:
        raise RuntimeError("trying to initialize the default process group twice!")
    if backend is None or str(backend).lower() != "mpi":
        raise ValueError(f"init_process_group: backend {backend!r} is not available in "
                         "chainrule; the only backend is 'mpi' (through mpi4py)")
    if init_method not in (None, "env://"):
        raise ValueError(f"init_process_group: init_method {init_method!r} is not supported: the "
                         "MPI launcher (mpirun -n N) sets up the processes")
    if timeout is None:
        timeout = DEFAULT_TIMEOUT
    seconds = timeout.total_seconds() if isinstance(timeout, datetime.timedelta) else timeout
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or not seconds > 0:
        raise ValueError(f"init_process_group: timeout must be a positive number of seconds or a "
                         f"timedelta, got {timeout!r}")
    MPI = mpi()
    g = _Group(MPI.COMM_WORLD, float(seconds))
    for name, given, actual in (("world_size", world_size, g.size), ("rank", rank, g.rank)):
        if given is not None and given != -1 and given != actual:
            raise ValueError(f"init_process_group: {name}={given} but the MPI launcher started "
                             f"this process with {name} {actual}")
    if abort_on_error and g.size > 1:
        g.hook = sys.excepthook
        sys.excepthook = _abort_hook
    _group = g


def _abort_hook(kind, value, tb):
    g = _group
    (g.hook if g is not None and g.hook else sys.__excepthook__)(kind, value, tb)
    if g is not None:
        sys.stderr.write(f"chainrule.distributed: rank {g.rank} failed; aborting all "
                         f"{g.size} ranks\n")
        sys.stderr.flush()
        g.comm.Abort(1)


def abort(code=1):
    """Stop every rank now (``MPI_Abort``): for a rank that cannot go on."""
    g = _g("abort")
    sys.stdout.flush()
    sys.stderr.flush()
    g.comm.Abort(code)


def destroy_process_group(group=None):
    """Leave the default group (MPI itself is finalized by mpi4py at exit)."""
    global _group
    g = _g("destroy_process_group")
    if g.hook is not None and sys.excepthook is _abort_hook:
        sys.excepthook = g.hook
    _group = None


class Work:
    """The handle of a collective started with ``async_op=True``: ``wait()``, ``is_completed()``."""

    def __init__(self, reqs, finish, what):
        self._reqs, self._finish, self._what, self._done = reqs, finish, what, False

    def is_completed(self):
        if not self._done and mpi().Request.Testall(self._reqs):
            self._complete()
        return self._done

    def wait(self, timeout=None):
        if not self._done:
            g = _g(self._what)
            wait(self._reqs, g.timeout if timeout is None else _secs(timeout), self._what,
                 g.rank, g.size)
            self._complete()
        return True

    def _complete(self):
        self._done = True
        if self._finish is not None:
            self._finish()


def _secs(t):
    return t.total_seconds() if isinstance(t, datetime.timedelta) else float(t)


def _array(t, what, arg="tensor"):
    from ..tensor import Tensor
    if not isinstance(t, Tensor):
        raise TypeError(f"{what}: {arg} must be a chainrule Tensor, got {type(t).__name__}")
    a = t._data
    if a.dtype.name not in _DTYPES:
        raise TypeError(f"{what}: {arg} has dtype {a.dtype}; supported: {', '.join(_DTYPES)}")
    return a


def _buffer(a):
    """``(contiguous buffer, write_back)``: MPI needs contiguous memory; a strided array (a
    transposed weight's gradient, say) is sent through a copy that is copied back explicitly."""
    if a.flags.c_contiguous and a.flags.writeable:
        return a, None
    if not a.flags.writeable:
        raise ValueError("chainrule.distributed: the tensor's memory is read-only (a broadcast "
                         "view?); pass a tensor that owns its data (.clone())")
    tmp = np.ascontiguousarray(a)
    return tmp, (lambda: np.copyto(a, tmp))


def _bump(t):
    t._version += 1         # in place: autograd must know the values changed


def _mpi_op(op, dtype, what):
    MPI = mpi()
    table = {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD,
             ReduceOp.MAX: MPI.MAX, ReduceOp.MIN: MPI.MIN}
    if op not in table:
        raise ValueError(f"{what}: op {op!r} is not one of ReduceOp.SUM, AVG, PRODUCT, MAX, MIN")
    if op == ReduceOp.AVG and dtype.kind != "f":
        raise TypeError(f"{what}: ReduceOp.AVG needs a floating tensor, got {dtype}")
    return table[op]


def _run(reqs, finish, what, async_op):
    work = Work(reqs, finish, what)
    if async_op:
        return work
    work.wait()
    return None


def _chain(*fns):
    fns = [f for f in fns if f is not None]
    return (lambda: [f() for f in fns]) if fns else None


def barrier(group=None, async_op=False):
    """Wait until every rank has reached this call."""
    g = _g("barrier")
    return _run([g.comm.Ibarrier()], None, "barrier", async_op)


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``tensor`` over all ranks, in place: every rank gets the result.

    ``ReduceOp.AVG`` is the sum divided by the world size (MPI has no average).
    """
    what = "all_reduce"
    g = _g(what)
    a = _array(tensor, what)
    mop = _mpi_op(op, a.dtype, what)
    buf, back = _buffer(a)
    req = g.comm.Iallreduce(mpi().IN_PLACE, buf, op=mop)
    avg = (lambda: np.divide(buf, g.size, out=buf)) if op == ReduceOp.AVG else None
    _bump(tensor)
    return _run([req], _chain(avg, back), what, async_op)


def broadcast(tensor, src=0, group=None, async_op=False):
    """Copy rank ``src``'s ``tensor`` into every rank's ``tensor``, in place."""
    what = "broadcast"
    g = _g(what)
    if not isinstance(src, int) or not 0 <= src < g.size:
        raise ValueError(f"{what}: src must be a rank in [0, {g.size - 1}], got {src!r}")
    buf, back = _buffer(_array(tensor, what))
    req = g.comm.Ibcast(buf, root=src)
    _bump(tensor)
    return _run([req], back, what, async_op)


def _check_like(what, out, ins, arg):
    a = _array(out, what, "output")
    for i, t in enumerate(ins):
        b = _array(t, what, f"{arg}[{i}]")
        if b.shape != a.shape or b.dtype != a.dtype:
            raise ValueError(f"{what}: {arg}[{i}] has shape {b.shape} and dtype {b.dtype}; "
                             f"expected {a.shape} {a.dtype}, like the other tensor")
    return a


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """Fill ``tensor_list[r]`` with rank r's ``tensor`` on every rank."""
    what = "all_gather"
    g = _g(what)
    if len(tensor_list) != g.size:
        raise ValueError(f"{what}: tensor_list has {len(tensor_list)} tensors; expected one per "
                         f"rank ({g.size})")
    a = _check_like(what, tensor, tensor_list, "tensor_list")
    out = np.empty((g.size,) + a.shape, a.dtype)
    req = g.comm.Iallgather(np.ascontiguousarray(a), out)

    def finish():
        for r, t in enumerate(tensor_list):
            np.copyto(t._data, out[r])
            _bump(t)
    return _run([req], finish, what, async_op)


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
    """Rank r's ``input_tensor`` into rows ``r*n:(r+1)*n`` of ``output_tensor`` (first dim)."""
    what = "all_gather_into_tensor"
    g = _g(what)
    a, o = _array(input_tensor, what, "input_tensor"), _array(output_tensor, what, "output_tensor")
    if o.dtype != a.dtype or o.size != a.size * g.size:
        raise ValueError(f"{what}: output_tensor has shape {o.shape} {o.dtype}; expected "
                         f"{g.size} times the input's {a.size} elements of {a.dtype}")
    buf, back = _buffer(o)
    req = g.comm.Iallgather(np.ascontiguousarray(a), buf)
    _bump(output_tensor)
    return _run([req], back, what, async_op)


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op=False):
    """``output`` on rank r = the reduction over ranks of their ``input_list[r]``."""
    what = "reduce_scatter"
    g = _g(what)
    if len(input_list) != g.size:
        raise ValueError(f"{what}: input_list has {len(input_list)} tensors; expected one per "
                         f"rank ({g.size})")
    a = _check_like(what, output, input_list, "input_list")
    send = np.stack([t._data for t in input_list])
    return _reduce_scatter(what, g, send, output, a, op, async_op)


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op=False):
    """As :func:`reduce_scatter` with the inputs concatenated along the first dimension."""
    what = "reduce_scatter_tensor"
    g = _g(what)
    a, i = _array(output, what, "output"), _array(input, what, "input")
    if i.dtype != a.dtype or i.size != a.size * g.size:
        raise ValueError(f"{what}: input has shape {i.shape} {i.dtype}; expected {g.size} times "
                         f"the output's {a.size} elements of {a.dtype}")
    return _reduce_scatter(what, g, np.ascontiguousarray(i), output, a, op, async_op)


def _reduce_scatter(what, g, send, output, a, op, async_op):
    mop = _mpi_op(op, a.dtype, what)
    buf, back = _buffer(a)
    req = g.comm.Ireduce_scatter_block(send, buf, op=mop)
    avg = (lambda: np.divide(buf, g.size, out=buf)) if op == ReduceOp.AVG else None
    _bump(output)
    return _run([req], _chain(avg, back), what, async_op)
