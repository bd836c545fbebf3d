"""Datasets: an indexable collection of samples (as ``torch.utils.data``).

A :class:`TensorDataset` wraps arrays that share their first dimension; the
:class:`~chainrule.utils.data.DataLoader` recognises it (and a :class:`Subset` of it) and builds a
whole batch with one fancy-index per tensor, so no Python code runs per sample.

Example::

    >>> ds = TensorDataset(cr.randn(10, 3), cr.arange(10))
    >>> train, val = random_split(ds, [0.8, 0.2], generator=cr.Generator().manual_seed(0))
    >>> len(train), len(val)
    (8, 2)
"""
from __future__ import annotations

import bisect
import math

import numpy as np

__all__ = ["Dataset", "TensorDataset", "Subset", "ConcatDataset", "random_split"]


class Dataset:
    """Base class of map-style datasets: implement ``__getitem__`` (and ``__len__``)."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __add__(self, other):
        return ConcatDataset([self, other])


def _as_tensor(t, i):
    from ...tensor import Tensor
    if isinstance(t, Tensor):
        return t
    if isinstance(t, np.ndarray):
        from ...tensor import _new
        return _new(t, False, None)
    raise TypeError(f"TensorDataset: argument {i} must be a Tensor or an np.ndarray, "
                    f"got {type(t).__name__}")


class TensorDataset(Dataset):
    """Samples are the rows of tensors that share their first dimension.

    Arguments:
        *tensors: tensors (or NumPy arrays, wrapped without a copy) with equal ``size(0)``.

    Example::

        >>> ds = TensorDataset(cr.zeros(4, 2), cr.tensor([0, 1, 0, 1]))
        >>> x, y = ds[1]; x.shape, int(y)
        ((2,), 1)
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        tensors = tuple(_as_tensor(t, i) for i, t in enumerate(tensors))
        for i, t in enumerate(tensors):
            if t.ndim == 0:
                raise ValueError(f"TensorDataset: tensor {i} is 0-d; every tensor needs a first "
                                 "(sample) dimension")
        n = tensors[0].shape[0]
        bad = [(i, tuple(t.shape)) for i, t in enumerate(tensors) if t.shape[0] != n]
        if bad:
            shapes = ", ".join(str(tuple(t.shape)) for t in tensors)
            raise ValueError(f"TensorDataset: size mismatch between tensors: all must have the "
                             f"same first dimension ({n}, from tensor 0), got shapes {shapes}")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return self.tensors[0].shape[0]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __len__(self):
        return len(self.indices)


class ConcatDataset(Dataset):
    """The concatenation of several datasets."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        if idx < 0:
            if -idx > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            idx = len(self) + idx
        d = bisect.bisect_right(self.cumulative_sizes, idx)
        start = self.cumulative_sizes[d - 1] if d > 0 else 0
        return self.datasets[d][idx - start]


def _lengths(lengths, n):
    lengths = list(lengths)
    if lengths and math.isclose(sum(lengths), 1) and sum(lengths) <= 1 and \
            all(isinstance(f, float) for f in lengths):
        for i, f in enumerate(lengths):
            if not 0 <= f <= 1:
                raise ValueError(f"random_split: fraction at index {i} is not between 0 and 1")
        counts = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):      # the remainder goes round-robin, as in PyTorch
            counts[i % len(counts)] += 1
        return counts
    if any(not isinstance(k, (int, np.integer)) or k < 0 for k in lengths):
        raise ValueError(f"random_split: lengths must be non-negative ints or fractions summing "
                         f"to 1, got {lengths}")
    if sum(lengths) != n:
        raise ValueError(f"random_split: sum of input lengths ({sum(lengths)}) does not equal the "
                         f"length of the input dataset ({n})")
    return [int(k) for k in lengths]


def random_split(dataset, lengths, generator=None):
    """Split ``dataset`` into non-overlapping random :class:`Subset` s.

    Arguments:
        dataset: the dataset to split.
        lengths: the sizes of the parts (ints summing to ``len(dataset)``) or fractions summing
            to 1 (the floor of each, the remainder spread round-robin as in PyTorch).
        generator: a :class:`chainrule.Generator`; the global one when ``None``.

    Returns:
        A list of :class:`Subset`, one per length.

    Example::

        >>> a, b = random_split(range(10), [3, 7], generator=cr.Generator().manual_seed(1))
        >>> sorted(list(a.indices) + list(b.indices)) == list(range(10))
        True
    """
    from ...random import get_rng
    counts = _lengths(lengths, len(dataset))
    perm = get_rng(generator).permutation(sum(counts))
    out, start = [], 0
    for k in counts:
        out.append(Subset(dataset, perm[start:start + k]))
        start += k
    return out
