"""Lookup tables: Embedding and EmbeddingBag (as ``torch.nn``).

An embedding is row selection ``weight[indices]``: its gradient adds each output row's gradient
into the row it came from (the indexing op's backward), so it is a composite with no backward of
its own.

Example::

    emb = cr.nn.Embedding(100, 16, padding_idx=0)
    emb(cr.tensor([[1, 2, 0]])).shape        # (1, 3, 16); row 0 stays zero and gets no gradient
"""
from __future__ import annotations

import numpy as np

from .. import dtypes
from ..autograd.function import _new
from ..ops.linalg import matmul
from ..ops.movement import getitem
from ..tensor import Tensor
from . import init
from .functional import _indices, embedding
from .module import Module
from .parameter import Parameter


class Embedding(Module):
    """A table of ``num_embeddings`` vectors of size ``embedding_dim``, initialised N(0, 1)
    (as ``torch.nn.Embedding``); the ``padding_idx`` row starts at zero and is never updated."""

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None,
                 norm_type=2.0, scale_grad_by_freq=False, sparse=False, _weight=None,
                 _freeze=False, device=None, dtype=None, generator=None):
        super().__init__()
        if max_norm is not None or scale_grad_by_freq or sparse:
            raise NotImplementedError("Embedding: max_norm, scale_grad_by_freq and sparse are "
                                      "not supported yet")
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        if padding_idx is not None:
            if not -self.num_embeddings <= padding_idx < self.num_embeddings:
                raise ValueError(f"Embedding: padding_idx {padding_idx} must be within "
                                 f"num_embeddings ({self.num_embeddings})")
            padding_idx = padding_idx % self.num_embeddings
        self.padding_idx = padding_idx
        self.max_norm, self.norm_type = None, norm_type
        self.scale_grad_by_freq, self.sparse = False, False
        if _weight is None:
            dt = dtypes.as_dtype(dtypes.get_default_dtype() if dtype is None else dtype)
            self.weight = Parameter(np.empty((self.num_embeddings, self.embedding_dim), dt),
                                    requires_grad=not _freeze)
            self.reset_parameters(generator)
        else:
            w = _weight._data if isinstance(_weight, Tensor) else np.asarray(_weight)
            if w.shape != (self.num_embeddings, self.embedding_dim):
                raise ValueError(f"Embedding: _weight has shape {w.shape}, expected "
                                 f"({self.num_embeddings}, {self.embedding_dim})")
            self.weight = Parameter(w.copy(), requires_grad=not _freeze)

    def reset_parameters(self, generator=None):
        init.normal_(self.weight, generator=generator)
        if self.padding_idx is not None:
            self.weight._data[self.padding_idx] = 0

    def forward(self, input):
        return embedding(input, self.weight, self.padding_idx)

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, max_norm=None,
                        norm_type=2.0, scale_grad_by_freq=False, sparse=False):
        """An Embedding holding ``embeddings`` (2-D); frozen unless ``freeze=False``."""
        if embeddings.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be 2-D, got shape "
                             f"{tuple(embeddings.shape)}")
        n, d = embeddings.shape
        return cls(n, d, padding_idx=padding_idx, max_norm=max_norm, norm_type=norm_type,
                   scale_grad_by_freq=scale_grad_by_freq, sparse=sparse, _weight=embeddings,
                   _freeze=freeze)

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        return s + (f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")


class EmbeddingBag(Module):
    """Sums or means of bags of embeddings without materialising each bag separately (as
    ``torch.nn.EmbeddingBag``, modes "sum" and "mean").  Input: 2-D ``(B, L)`` (each row a bag)
    or 1-D with ``offsets`` (bag b is ``input[offsets[b]:offsets[b+1]]``)."""

    def __init__(self, num_embeddings, embedding_dim, mode="mean", padding_idx=None,
                 include_last_offset=False, _weight=None, device=None, dtype=None,
                 generator=None):
        super().__init__()
        if mode not in ("sum", "mean"):
            raise NotImplementedError(f"EmbeddingBag: mode {mode!r} (supported: 'sum', 'mean')")
        self.num_embeddings, self.embedding_dim, self.mode = num_embeddings, embedding_dim, mode
        self.padding_idx, self.include_last_offset = padding_idx, include_last_offset
        dt = dtypes.as_dtype(dtypes.get_default_dtype() if dtype is None else dtype)
        if _weight is None:
            self.weight = Parameter(np.empty((num_embeddings, embedding_dim), dt))
            init.normal_(self.weight, generator=generator)
            if padding_idx is not None:
                self.weight._data[padding_idx] = 0
        else:
            w = _weight._data if isinstance(_weight, Tensor) else np.asarray(_weight)
            self.weight = Parameter(w.copy())

    def forward(self, input, offsets=None, per_sample_weights=None):
        if per_sample_weights is not None:
            raise NotImplementedError("EmbeddingBag: per_sample_weights is not supported yet")
        idx = _indices(input, self.num_embeddings, "EmbeddingBag")
        if idx.ndim == 2:
            if offsets is not None:
                raise ValueError("EmbeddingBag: offsets must be None for 2-D input")
            B, L = idx.shape
            offs = np.arange(B) * L
            idx = idx.reshape(-1)
        elif idx.ndim == 1:
            if offsets is None:
                raise ValueError("EmbeddingBag: 1-D input needs offsets")
            offs = _indices(offsets, idx.size + 1, "EmbeddingBag offsets").astype(np.int64)
            if self.include_last_offset:
                offs = offs[:-1]
        else:
            raise ValueError(f"EmbeddingBag: input must be 1-D or 2-D, got shape {idx.shape}")
        ends = np.append(offs[1:], idx.size)
        keep = np.ones(idx.size, bool) if self.padding_idx is None else idx != self.padding_idx
        seg = np.zeros((len(offs), idx.size), dtype=self.weight._data.dtype)
        for b, (s, e) in enumerate(zip(offs, ends)):
            seg[b, s:e] = keep[s:e]
            if self.mode == "mean" and seg[b].sum() > 0:
                seg[b] /= seg[b].sum()
        return matmul(_new(seg, False, None), getitem(self.weight, idx))
