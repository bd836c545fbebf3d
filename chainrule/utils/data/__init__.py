"""Data loading utilities, as ``torch.utils.data``.

Example::

    >>> from chainrule.utils.data import DataLoader, TensorDataset
    >>> loader = DataLoader(TensorDataset(cr.randn(100, 4), cr.randint(0, 2, (100,))),
    ...                     batch_size=32, shuffle=True)
    >>> len(loader)
    4
"""
from .dataloader import DataLoader, default_collate
from . import distributed
from .dataset import ConcatDataset, Dataset, Subset, TensorDataset, random_split
from .distributed import DistributedSampler
from .sampler import (BatchSampler, RandomSampler, Sampler, SequentialSampler,
                      SubsetRandomSampler)

__all__ = ["DataLoader", "default_collate", "Dataset", "TensorDataset", "Subset",
           "ConcatDataset", "random_split", "Sampler", "SequentialSampler", "RandomSampler",
           "SubsetRandomSampler", "BatchSampler", "DistributedSampler", "distributed"]
