"""``DistributedSampler``: each rank's share of a dataset (as ``torch.utils.data``'s).

Every rank draws the same permutation (from ``seed + epoch``), pads it to a multiple of the
number of replicas by repeating its start (or, with ``drop_last``, cuts the tail), and takes every
``num_replicas``-th index from position ``rank``: together the ranks visit every sample once per
epoch. The permutation comes from chainrule's generator, so it is not PyTorch's.
"""
from __future__ import annotations

import math

import numpy as np

from .sampler import Sampler

__all__ = ["DistributedSampler"]


class DistributedSampler(Sampler):
    """A rank's share of ``dataset``; call :meth:`set_epoch` before each epoch to reshuffle.

    Arguments:
        dataset: the dataset (only its length is used).
        num_replicas: number of ranks (default: the process group's world size).
        rank: this rank (default: the process group's rank).
        shuffle: a new permutation each epoch (the same on every rank).
        seed: the permutation's seed (the same on every rank).
        drop_last: drop the tail so that it divides evenly instead of padding with repeats.

    Example::

        >>> s = DistributedSampler(range(5), num_replicas=2, rank=1, shuffle=False)
        >>> list(s)
        [1, 3, 0]
    """

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0,
                 drop_last=False):
        if num_replicas is None or rank is None:
            from ... import distributed as dist      # lazily: only when asked for the group
            if not dist.is_initialized():
                raise RuntimeError("DistributedSampler: pass num_replicas and rank, or call "
                                   "chainrule.distributed.init_process_group first")
            num_replicas = dist.get_world_size() if num_replicas is None else num_replicas
            rank = dist.get_rank() if rank is None else rank
        if isinstance(num_replicas, bool) or not isinstance(num_replicas, (int, np.integer)) \
                or num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be a positive integer, got "
                             f"{num_replicas!r}")
        if isinstance(rank, bool) or not isinstance(rank, (int, np.integer)) \
                or not 0 <= rank < num_replicas:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas, self.rank = int(num_replicas), int(rank)
        self.epoch, self.shuffle, self.seed = 0, bool(shuffle), int(seed)
        self.drop_last = bool(drop_last)
        n = len(dataset)
        if self.drop_last and n % self.num_replicas:
            self.num_samples = math.ceil((n - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def set_epoch(self, epoch):
        """Use permutation number ``epoch`` (call it at the start of every epoch)."""
        self.epoch = int(epoch)

    def _index_array(self):
        from ...random import Generator, get_rng
        n = len(self.dataset)
        if self.shuffle:
            idx = get_rng(Generator().manual_seed(self.seed + self.epoch)).permutation(n)
        else:
            idx = np.arange(n)
        idx = idx.astype(np.int64, copy=False)
        if not self.drop_last:
            pad = self.total_size - n
            if pad > 0:
                idx = np.concatenate([idx, np.resize(idx, pad)]) if n else idx
        else:
            idx = idx[:self.total_size]
        return idx[self.rank:self.total_size:self.num_replicas]

    def __iter__(self):
        return iter(self._index_array().tolist())

    def __len__(self):
        return self.num_samples
