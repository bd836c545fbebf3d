"""``DistributedDataParallel``: one model per rank, gradients averaged over ranks after backward.

How it works (the same plan as PyTorch's DDP and Horovod):

* At wrap time every rank sends the names, shapes and dtypes of its parameters and buffers to
  all others; if they differ, every rank raises the same error naming the first difference.
  Then rank 0's parameters and buffers are broadcast, so all replicas start equal.
* The parameters that require grad are grouped, in reverse registration order (roughly the order
  in which backward produces their gradients), into *buckets* of at most ``bucket_cap_mb``
  megabytes of one dtype. Each bucket is one flat array.
* A post-accumulate hook on every parameter (``register_post_accumulate_grad_hook``, as
  PyTorch's reducer hooks its gradient accumulators) runs as soon as the parameter's ``.grad``
  holds its total for this backward (the earlier, accumulated gradient plus this one's): the
  engine calls it right after the last node that uses the parameter, in the middle of backward.
  It copies ``.grad`` into the parameter's slot of its bucket; when a bucket is full, and every
  bucket before it has started, its non-blocking ``Iallreduce`` starts: buckets start in the
  same order on every rank, as MPI requires, and travel while backward computes the gradients
  of the earlier layers. Each later hook also tests the requests in flight, which is what moves
  a non-blocking MPI collective forward (MPI makes progress only inside its calls).
* The hook of the last parameter to become ready waits for all buckets (with the process
  group's timeout), divides by the world size and writes the averages into every ``.grad``
  with ``np.copyto``, which writes through any memory layout (a ``.grad`` that is not
  C-contiguous cannot be written through a ``ravel()``: that is a copy). So when
  ``backward()`` returns, every ``.grad`` holds the average and ``optimizer.step()`` needs no
  change. (PyTorch waits in a callback the engine runs at the end of backward; chainrule's
  engine has none, and the last parameter's hook is the same moment, but for leaves that are
  not parameters, such as an input that requires grad.)

``overlap=False`` keeps the plain path for measuring: nothing starts during backward; the last
hook starts every bucket and waits, which is an allreduce after backward.
"""
from __future__ import annotations

import contextlib
import time
import weakref

import numpy as np

from ..nn.module import Module
from ._mpi import DistributedError, mpi, wait
from .process_group import _g, broadcast

__all__ = ["DistributedDataParallel"]

_WRAPPED = weakref.WeakValueDictionary()    # id(parameter) -> parameter, for every DDP made


class _Bucket:
    def __init__(self, dtype, indices, shapes):
        self.indices = indices
        sizes = [int(np.prod(s, dtype=np.int64)) for s in shapes]
        offsets = np.cumsum([0] + sizes)
        self.flat = np.empty(int(offsets[-1]), dtype)
        self.views = {i: self.flat[o:o + n].reshape(s)
                      for i, o, n, s in zip(indices, offsets, sizes, shapes)}
        self.ready = 0
        self.request = None


class DistributedDataParallel(Module):
    """Data parallelism over the default process group (as ``torch.nn.parallel``'s).

    Each rank runs the wrapped module on its own shard of the batch; after ``loss.backward()``
    every parameter's ``.grad`` holds the average of the ranks' gradients, so the same optimizer
    step on every rank keeps the replicas equal.

    Arguments:
        module: the model (its parameters are shared, not copied; ``state_dict`` keys get the
            ``module.`` prefix, as PyTorch's).
        broadcast_buffers: copy rank 0's buffers (batch-norm statistics) to all ranks at the
            start of every forward in training mode.
        bucket_cap_mb: the largest bucket of gradients sent as one allreduce (default 25).
        init_sync: broadcast rank 0's parameters and buffers at wrap time.
        overlap: start each bucket's allreduce during backward, as soon as its gradients are
            complete (default); ``False`` starts them all after backward (chainrule's own
            option, for measuring what the overlap gains).
        device_ids, output_device, dim, process_group: accepted for PyTorch compatibility
            (CPU only, default group only).

    Example (``mpirun -n 2 python train.py``)::

        dist.init_process_group("mpi")
        model = DistributedDataParallel(cr.nn.Linear(4, 2))
        model(x_shard).sum().backward()      # .grad averaged over both ranks
        with model.no_sync():                # accumulate locally, no communication
            model(x2).sum().backward()
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0,
                 broadcast_buffers=True, init_sync=True, process_group=None, bucket_cap_mb=None,
                 find_unused_parameters=False, overlap=True, **kwargs):
        super().__init__()
        g = _g("DistributedDataParallel")
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: module must be a chainrule.nn.Module, got "
                            f"{type(module).__name__}")
        if find_unused_parameters:
            raise NotImplementedError(
                "DistributedDataParallel: find_unused_parameters=True is not supported: every "
                "parameter that requires grad must get a gradient in every backward")
        if process_group is not None:
            raise ValueError("DistributedDataParallel: only the default process group is "
                             "supported (process_group=None)")
        cap = 25 if bucket_cap_mb is None else bucket_cap_mb
        if not isinstance(cap, (int, float)) or isinstance(cap, bool) or not cap > 0:
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb must be a positive number, "
                             f"got {bucket_cap_mb!r}")
        self.module = module
        self.broadcast_buffers = bool(broadcast_buffers)
        self.bucket_cap_mb = cap
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        for n, p in named:
            if _WRAPPED.get(id(p)) is p:
                raise ValueError(f"DistributedDataParallel: parameter {n!r} is already wrapped "
                                 "by another DistributedDataParallel (its gradient hooks would "
                                 "average twice); wrap each model once")
        d = self.__dict__          # plain attributes, not registered as parameters or buffers
        d["_group"] = g
        d["_names"] = [n for n, _ in named]
        d["_params"] = [p for _, p in named]
        d["_sync"] = True
        d["_ready"] = 0
        d["_seen"] = set()
        d["_next"] = 0               # next bucket to start
        d["overlap"] = bool(overlap)
        d["stats"] = {"syncs": 0, "wait_s": 0.0, "bytes": 0, "early_starts": 0}
        _check_same_model(g, module)
        if init_sync:
            for t in list(module.parameters()) + list(module.buffers()):
                broadcast(t, src=0)
        d["_buckets"], d["_bucket_of"] = _make_buckets(self._params, int(cap * 2 ** 20))
        d["_handles"] = [p.register_post_accumulate_grad_hook(self._hook(i))
                         for i, p in enumerate(self._params)]
        for p in self._params:
            _WRAPPED[id(p)] = p

    # -- forward --------------------------------------------------------------------------------
    def forward(self, *inputs, **kwargs):
        if self._ready:
            missing = [n for i, n in enumerate(self._names) if i not in self._seen]
            raise DistributedError(
                f"DistributedDataParallel: the last backward gave gradients to only "
                f"{self._ready} of the {len(self._params)} parameters that require grad (none "
                f"to {', '.join(missing[:5])}{'...' if len(missing) > 5 else ''}), so their "
                "average was never taken; every such parameter must be used in the loss, or "
                "set requires_grad=False on those that are not")
        if self.broadcast_buffers and self.training and self._group.size > 1:
            for b in self.module.buffers():
                broadcast(b, src=0)
        return self.module(*inputs, **kwargs)

    @contextlib.contextmanager
    def no_sync(self):
        """Backward inside this block accumulates ``.grad`` locally without communicating; the
        first backward after it averages the accumulated gradients."""
        old = self._sync
        self.__dict__["_sync"] = False
        try:
            yield
        finally:
            self.__dict__["_sync"] = old

    # -- gradient averaging ---------------------------------------------------------------------
    def _hook(self, i):
        b = self._bucket_of[i]
        slot = b.views[i]

        def hook(p):
            if not self._sync:
                return
            grad = p.grad
            if grad.requires_grad:
                raise DistributedError("DistributedDataParallel: backward with create_graph=True "
                                       "is not supported")
            np.copyto(slot, grad._data)
            if not self._ready:
                self._seen.clear()
            self._seen.add(i)
            b.ready += 1
            self.__dict__["_ready"] = self._ready + 1
            if self.overlap:
                if b.ready == len(b.indices):
                    self._start_ready()
                elif self._next:                  # drive the allreduces already in flight
                    mpi().Request.Testall([x.request for x in self._buckets[:self._next]])
            if self._ready == len(self._params):
                self._finish()
        return hook

    def _start_ready(self):
        """Start the allreduce of every full bucket whose predecessors have all started."""
        MPI, comm = mpi(), self._group.comm
        bs = self._buckets
        while self._next < len(bs) and bs[self._next].ready == len(bs[self._next].indices):
            b = bs[self._next]
            b.request = comm.Iallreduce(MPI.IN_PLACE, b.flat, op=MPI.SUM)
            self.__dict__["_next"] = self._next + 1
            if self._ready < len(self._params):   # while other gradients are still to come
                self.stats["early_starts"] += 1

    def _finish(self):
        g = self._group
        t0 = time.perf_counter()
        try:
            self._start_ready()                   # all of them, when overlap is off
            wait([b.request for b in self._buckets], g.timeout,
                 "DistributedDataParallel gradient allreduce", g.rank, g.size)
        finally:
            for b in self._buckets:
                b.ready, b.request = 0, None
            self.__dict__["_ready"] = 0
            self.__dict__["_next"] = 0
        st = self.stats
        st["wait_s"] += time.perf_counter() - t0
        st["syncs"] += 1
        for b in self._buckets:
            st["bytes"] += b.flat.nbytes
            np.divide(b.flat, g.size, out=b.flat)
            for i in b.indices:
                np.copyto(self._params[i].grad._data, b.views[i])   # any layout (no ravel())


def _check_same_model(g, module):
    """Every rank raises the same error when the ranks' models differ."""
    sig = [("parameter", n, tuple(p.shape), p.dtype.name, bool(p.requires_grad))
           for n, p in module.named_parameters()]
    sig += [("buffer", n, tuple(b.shape), b.dtype.name, False) for n, b in module.named_buffers()]
    every = g.comm.allgather(sig)          # pickled, once, at wrap time (not on the grad path)
    ref = every[0]
    for r, other in enumerate(every[1:], 1):
        if other == ref:
            continue
        for k in range(max(len(ref), len(other))):
            a = ref[k] if k < len(ref) else None
            b = other[k] if k < len(other) else None
            if a != b:
                def show(e):
                    return "nothing" if e is None else f"{e[0]} {e[1]!r} {e[2]} {e[3]}" + (
                        "" if e[4] or e[0] == "buffer" else " (requires_grad=False)")
                raise DistributedError(
                    f"DistributedDataParallel: the ranks' models differ: entry {k} is {show(a)} "
                    f"on rank 0 but {show(b)} on rank {r} ({len(ref)} vs {len(other)} "
                    "parameters and buffers); build the same model on every rank")


def _make_buckets(params, cap_bytes):
    """Reverse registration order, one dtype per bucket, at most ``cap_bytes`` each (a single
    larger parameter gets a bucket of its own)."""
    buckets, of, cur, cur_bytes, cur_dtype = [], {}, [], 0, None

    def close():
        if cur:
            b = _Bucket(cur_dtype, list(cur), [tuple(params[i].shape) for i in cur])
            buckets.append(b)
            for i in cur:
                of[i] = b
    for i in reversed(range(len(params))):
        p = params[i]
        nbytes = p._data.nbytes
        if cur and (p.dtype != cur_dtype or cur_bytes + nbytes > cap_bytes):
            close()
            cur, cur_bytes = [], 0
        cur.append(i)
        cur_bytes += nbytes
        cur_dtype = p.dtype
    close()
    return buckets, of
