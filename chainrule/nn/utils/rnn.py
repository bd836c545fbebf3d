"""Variable-length batches of sequences (as ``torch.nn.utils.rnn``).

A :class:`PackedSequence` stores a batch of sequences of different lengths without padding:
``data`` holds, step by step, the rows still running at that step (longest sequence first), and
``batch_sizes[t]`` says how many there are.  The recurrent modules accept one and return one,
with the numbers PyTorch gives.  Everything here is a composite of indexing ops, so gradients flow
through packing and padding.

Example::

    from chainrule.nn.utils.rnn import pad_sequence, pack_padded_sequence, pad_packed_sequence
    seqs = [cr.randn(5, 3), cr.randn(2, 3)]
    x = pad_sequence(seqs)                              # (5, 2, 3), zeros after each end
    packed = pack_padded_sequence(x, [5, 2])
    out, h = cr.nn.GRU(3, 4)(packed)
    padded, lengths = pad_packed_sequence(out)          # (5, 2, 4), lengths tensor([5, 2])
"""
from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np

from ...autograd.function import _new
from ...ops.movement import cat, getitem, stack, transpose
from ...tensor import Tensor

__all__ = ["PackedSequence", "pad_sequence", "pack_padded_sequence", "pad_packed_sequence",
           "pack_sequence", "unpack_sequence"]


class PackedSequence(NamedTuple):
    """``(data, batch_sizes, sorted_indices, unsorted_indices)`` as PyTorch's."""
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Optional[Tensor] = None
    unsorted_indices: Optional[Tensor] = None

    @property
    def is_cuda(self):
        return False

    def is_pinned(self):
        return False


def _const(a):
    return _new(np.asarray(a), False, None)


def _int_array(values, what):
    if isinstance(values, Tensor):
        values = values._data
    a = np.asarray(values)
    if a.ndim != 1 or (a.size and a.dtype.kind not in "iu"):
        if a.dtype.kind == "f" and a.ndim == 1 and np.all(a == np.round(a)):
            return a.astype(np.int64)
        raise TypeError(f"{what} must be a 1-D sequence of integers, got shape {a.shape} "
                        f"dtype {a.dtype}")
    return a.astype(np.int64)


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack tensors of shape ``(L_i, *)`` into ``(L_max, B, *)`` (``(B, L_max, *)`` with
    ``batch_first``), filling with ``padding_value`` on ``padding_side`` ("right" or "left")."""
    if isinstance(sequences, Tensor):
        sequences = list(sequences.unbind(0)) if hasattr(sequences, "unbind") else [sequences]
    sequences = list(sequences)
    if not sequences:
        raise ValueError("pad_sequence: received an empty list of sequences")
    if padding_side not in ("right", "left"):
        raise ValueError(f"pad_sequence: padding_side must be 'right' or 'left', got "
                         f"{padding_side!r}")
    rest = tuple(sequences[0].shape[1:])
    for i, s in enumerate(sequences):
        if s.ndim == 0 or tuple(s.shape[1:]) != rest:
            raise RuntimeError(f"pad_sequence: sequence {i} has shape {tuple(s.shape)}; every "
                               f"sequence must have shape (L, {', '.join(map(str, rest))})"
                               if rest else f"pad_sequence: sequence {i} is 0-d")
    n = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        k = n - s.shape[0]
        if k:
            fill = _const(np.full((k,) + rest, padding_value, dtype=s._data.dtype))
            s = cat([s, fill] if padding_side == "right" else [fill, s], 0)
        padded.append(s)
    return stack(padded, 0 if batch_first else 1)


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded batch ``(T, B, *)`` (``(B, T, *)`` with ``batch_first``) of sequences of the
    given ``lengths``.  With ``enforce_sorted=True`` the lengths must be decreasing; otherwise the
    batch is sorted and the permutation kept in the result (``sorted_indices``)."""
    if not isinstance(input, Tensor) or input.ndim < 2:
        raise ValueError("pack_padded_sequence: input must be a Tensor of at least 2 dims, got "
                         f"{getattr(input, 'shape', type(input).__name__)}")
    lengths = _int_array(lengths, "pack_padded_sequence: lengths")
    T, B = (input.shape[1], input.shape[0]) if batch_first else input.shape[:2]
    if lengths.shape[0] != B:
        raise ValueError(f"pack_padded_sequence: got {lengths.shape[0]} lengths for a batch of "
                         f"{B} sequences (input shape {tuple(input.shape)}, "
                         f"batch_first={batch_first})")
    if lengths.size and lengths.min() <= 0:
        raise RuntimeError(f"pack_padded_sequence: every length must be > 0, got "
                           f"{lengths.tolist()}")
    if lengths.size and lengths.max() > T:
        b = int(lengths.argmax())
        raise RuntimeError(f"pack_padded_sequence: length {int(lengths[b])} of sequence {b} is "
                           f"longer than the padded input's {T} steps (input shape "
                           f"{tuple(input.shape)}, batch_first={batch_first})")
    if enforce_sorted:
        if np.any(np.diff(lengths) > 0):
            raise RuntimeError(
                f"pack_padded_sequence: `lengths` array must be sorted in decreasing order when "
                f"`enforce_sorted` is True (got {lengths.tolist()}); pass enforce_sorted=False "
                "to sort the batch inside")
        order, sorted_indices, unsorted_indices = np.arange(B), None, None
    else:
        order = np.argsort(-lengths, kind="stable")
        sorted_indices = _const(order.astype(np.int64))
        unsorted_indices = _const(np.argsort(order).astype(np.int64))
    ls = lengths[order]
    batch_sizes = np.array([(ls > t).sum() for t in range(int(ls[0]) if B else 0)], np.int64)
    t_idx = np.concatenate([np.full(n, t) for t, n in enumerate(batch_sizes)]).astype(np.int64)
    b_idx = np.concatenate([order[:n] for n in batch_sizes]).astype(np.int64)
    data = getitem(input, (b_idx, t_idx) if batch_first else (t_idx, b_idx))
    return PackedSequence(data, _const(batch_sizes), sorted_indices, unsorted_indices)


def _padded_index(batch_sizes, total, pad_row):
    """Row of packed data for each (step, sorted row) of the padded layout; ``pad_row`` past
    a sequence's end."""
    B = int(batch_sizes[0])
    idx = np.full((total, B), pad_row, dtype=np.int64)
    off = 0
    for t, n in enumerate(batch_sizes):
        idx[t, :n] = off + np.arange(n)
        off += n
    return idx


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """Inverse of :func:`pack_padded_sequence`: ``(padded, lengths)`` in the original batch
    order, padded to ``total_length`` steps if given."""
    data, bs, _, unsorted = sequence
    bs = _int_array(bs, "pad_packed_sequence: batch_sizes")
    T = len(bs)
    if total_length is not None:
        if total_length < T:
            raise ValueError(f"pad_packed_sequence: expected total_length to be at least the "
                             f"length of the longest sequence ({T}), but got "
                             f"total_length={total_length}")
        T = int(total_length)
    n_rows = data.shape[0]
    idx = _padded_index(bs, T, n_rows)
    lengths = (bs[None, :] > np.arange(bs[0])[:, None]).sum(1).astype(np.int64)
    if unsorted is not None:
        u = unsorted._data
        idx, lengths = idx[:, u], lengths[u]
    fill = _const(np.full((1,) + tuple(data.shape[1:]), padding_value, dtype=data._data.dtype))
    padded = getitem(cat([data, fill], 0), idx)
    if batch_first:
        padded = transpose(padded, 0, 1)
    return padded, _const(lengths)


def pack_sequence(sequences, enforce_sorted=True):
    """Pack a list of tensors ``(L_i, *)`` (as ``pack_padded_sequence(pad_sequence(...))``)."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences):
    """The list of tensors ``(L_i, *)`` a :class:`PackedSequence` holds (original order)."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return [getitem(padded, (b, slice(0, int(n)))) for b, n in enumerate(lengths._data)]


# -- for the recurrent modules ----------------------------------------------------------------
def packed_to_time_major(packed):
    """``(x (T, B, *) in sorted order, zeros past each end; lengths sorted, decreasing)``."""
    data, bs = packed.data, _int_array(packed.batch_sizes, "batch_sizes")
    idx = _padded_index(bs, len(bs), data.shape[0])
    fill = _const(np.zeros((1,) + tuple(data.shape[1:]), dtype=data._data.dtype))
    lengths = (bs[None, :] > np.arange(bs[0])[:, None]).sum(1)
    return getitem(cat([data, fill], 0), idx), [int(n) for n in lengths]


def time_major_to_packed_data(x, batch_sizes):
    """The packed ``data`` of a time-major tensor in sorted order (inverse of the above)."""
    bs = _int_array(batch_sizes, "batch_sizes")
    t_idx = np.concatenate([np.full(n, t) for t, n in enumerate(bs)]).astype(np.int64)
    b_idx = np.concatenate([np.arange(n) for n in bs]).astype(np.int64)
    return getitem(x, (t_idx, b_idx))
