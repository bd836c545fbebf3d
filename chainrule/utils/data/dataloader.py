"""DataLoader: batches of a dataset, reshuffled each epoch (as PyTorch's DataLoader).

Fast path: for a :class:`TensorDataset` (or a :class:`Subset` of one, nested or not) with the default
collate, each batch is one gather per tensor from the underlying arrays (``arr.take(idx, axis=0)``,
the same rows as ``arr[idx]``); no Python code runs per sample.  ``take`` copies the rows of a
shuffled batch out of a large array 10-30% faster than fancy indexing does (docs/performance.md).
Any other dataset is read sample by sample with ``__getitem__`` and the samples are merged by
:func:`default_collate` (or your ``collate_fn``).
Loading runs in the calling process: ``num_workers`` and the other worker options are accepted
for PyTorch compatibility and ignored.
"""
from __future__ import annotations

import collections.abc

import numpy as np

from .dataset import Subset, TensorDataset
from .sampler import BatchSampler, RandomSampler, SequentialSampler

__all__ = ["DataLoader", "default_collate"]


def _tensor(arr):
    from ...tensor import _new
    return _new(arr, False, None)


def default_collate(batch):
    """Merge a list of samples into a batch, as PyTorch's ``default_collate``.

    Tensors, arrays and NumPy scalars are stacked into a tensor with a new first dimension; Python
    ints become an int64 tensor, floats a float64 tensor (as in PyTorch); strings stay a list;
    dicts, tuples and lists are collated field by field (a tuple or list gives a list).

    Example::

        >>> xb, yb = default_collate([(cr.zeros(3), 1), (cr.ones(3), 0)])
        >>> xb.shape, yb.tolist()
        ((2, 3), [1, 0])
    """
    from ...tensor import Tensor
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _tensor(np.stack([b._data for b in batch]))
    if isinstance(elem, (np.ndarray, np.generic)):
        arr = np.stack([np.asarray(b) for b in batch])
        if arr.dtype.kind in "OUSV":
            raise TypeError(f"default_collate: batch must contain tensors, numpy arrays, numbers, "
                            f"dicts or lists; found an array of dtype {arr.dtype}")
        return _tensor(arr)
    if isinstance(elem, bool):
        return _tensor(np.array(batch, dtype=np.bool_))
    if isinstance(elem, int):
        return _tensor(np.array(batch, dtype=np.int64))
    if isinstance(elem, float):
        return _tensor(np.array(batch, dtype=np.float64))
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        return {k: default_collate([d[k] for d in batch]) for k in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):      # namedtuple
        return type(elem)(*(default_collate(list(s)) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(b) != size for b in batch):
            raise RuntimeError("default_collate: each element in list of batch should be of "
                               "equal size")
        return [default_collate(list(s)) for s in zip(*batch)]
    raise TypeError(f"default_collate: batch must contain tensors, numpy arrays, numbers, dicts "
                    f"or lists; found {type(elem).__name__}")


def _tensor_source(dataset):
    """``(arrays, index_map)`` when ``dataset`` is a TensorDataset or a Subset chain of one."""
    index_map = None
    while isinstance(dataset, Subset):
        idx = np.asarray(dataset.indices, dtype=np.int64).reshape(-1)
        index_map = idx if index_map is None else idx[index_map]
        dataset = dataset.dataset
    if type(dataset) is not TensorDataset:   # a subclass may override __getitem__
        return None
    return [t._data for t in dataset.tensors], index_map


class DataLoader:
    """Iterate over a dataset in batches.

    Arguments:
        dataset: a map-style dataset (``__getitem__`` and ``__len__``).
        batch_size: samples per batch (``None``: yield single samples, no collation).
        shuffle: a new random order every epoch.
        sampler: an explicit order (a :class:`Sampler` or any iterable of indices with a length);
            mutually exclusive with ``shuffle``.
        batch_sampler: yields lists of indices; mutually exclusive with ``batch_size``,
            ``shuffle``, ``sampler`` and ``drop_last``.
        collate_fn: merges a list of samples into a batch (default :func:`default_collate`).
        drop_last: drop the last batch when it is smaller than ``batch_size``.
        generator: a :class:`chainrule.Generator` for the shuffling; the global one when ``None``.

    Example::

        >>> loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True)
        >>> for xb, yb in loader:
        ...     loss = loss_fn(model(xb), yb)
    """

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
                 worker_init_fn=None, generator=None, *, prefetch_factor=None,
                 persistent_workers=False):
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("DataLoader: batch_sampler option is mutually exclusive with "
                                 "batch_size, shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is not None and (isinstance(batch_size, bool) or
                                         not isinstance(batch_size, (int, np.integer))
                                         or batch_size <= 0):
            raise ValueError(f"DataLoader: batch_size should be a positive integer value, got "
                             f"{batch_size!r}")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if sampler is None:
            sampler = RandomSampler(dataset, generator=generator) if shuffle \
                else SequentialSampler(dataset)
        self.dataset = dataset
        self.batch_size = None if batch_size is None else int(batch_size)
        self.drop_last = bool(drop_last)
        self.sampler = sampler
        self._auto_batch = batch_sampler is None and batch_size is not None
        if self._auto_batch:
            batch_sampler = BatchSampler(sampler, self.batch_size, self.drop_last)
        self.batch_sampler = batch_sampler
        self.collate_fn = collate_fn
        self.generator = generator
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.timeout = timeout

    def __len__(self):
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.sampler)

    def _order(self):
        getter = getattr(self.sampler, "_index_array", None)
        if getter is not None:
            return getter()
        return np.fromiter(iter(self.sampler), dtype=np.int64)

    def __iter__(self):
        source = _tensor_source(self.dataset) if self.collate_fn is None else None
        if source is not None and self.batch_size is not None:
            return self._iter_fast(*source)
        return self._iter_generic()

    def _iter_fast(self, arrays, index_map):
        from ...tensor import _new
        if self._auto_batch:
            order = self._order()
            if index_map is not None:
                order = index_map[order]
            bs, n = self.batch_size, len(order)
            stop = n - n % bs if self.drop_last else n
            for s in range(0, stop, bs):
                idx = order[s:s + bs]
                yield [_new(a.take(idx, 0), False, None) for a in arrays]
        else:
            for b in self.batch_sampler:
                idx = np.asarray(b, dtype=np.int64)
                if index_map is not None:
                    idx = index_map[idx]
                yield [_new(a.take(idx, 0), False, None) for a in arrays]

    def _iter_generic(self):
        ds = self.dataset
        if self.batch_sampler is None:          # batch_size=None: single samples
            for i in self.sampler:
                yield ds[i]
            return
        collate = self.collate_fn or default_collate
        if self._auto_batch:
            order = self._order().tolist()
            bs, n = self.batch_size, len(order)
            stop = n - n % bs if self.drop_last else n
            for s in range(0, stop, bs):
                yield collate([ds[i] for i in order[s:s + bs]])
        else:
            for b in self.batch_sampler:
                yield collate([ds[i] for i in b])
