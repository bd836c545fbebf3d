"""PyTorch spellings below the Tensor class: ``cr.Size``, ``Tensor.type()`` names and
``format(t, spec)`` (the legacy types ``cr.FloatTensor``, ... and ``Variable`` are in
``legacy.py``).

Type names are spelled with chainrule's own prefix: ``cr.zeros(2).type()`` is
``'chainrule.FloatTensor'`` where PyTorch says ``'torch.FloatTensor'``, as dtype reprs are
``chainrule.float32``.  ``Tensor.type()`` accepts either prefix as a target, so a PyTorch script's
``x.type('torch.DoubleTensor')`` converts.

Example::

    >>> cr.zeros(2, 3).shape
    chainrule.Size([2, 3])
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["Size", "type_name", "dtype_of_type", "format_tensor"]


class Size(tuple):
    """A tensor's shape: a tuple of ints (as ``torch.Size``); slices and sums stay ``Size``."""
    __slots__ = ()

    def __new__(cls, sizes=()):
        return tuple.__new__(cls, (int(s) for s in sizes))

    def numel(self):
        """The number of elements a tensor of this shape holds."""
        return math.prod(self)

    def __getitem__(self, key):
        out = tuple.__getitem__(self, key)
        return Size(out) if isinstance(key, slice) else out

    def __add__(self, other):
        return Size(tuple.__add__(self, tuple(other)))

    def __radd__(self, other):
        return Size(tuple(other) + tuple(self))

    def __repr__(self):
        return f"chainrule.Size({list(self)})"

    __str__ = __repr__

    def __reduce__(self):
        return (Size, (tuple(self),))


# name -> dtype of the legacy tensor types, in PyTorch's naming
_TYPES = {"FloatTensor": np.float32, "DoubleTensor": np.float64, "HalfTensor": np.float16,
          "LongTensor": np.int64, "IntTensor": np.int32, "ShortTensor": np.int16,
          "CharTensor": np.int8, "ByteTensor": np.uint8, "BoolTensor": np.bool_}
_NAMES = {np.dtype(v): k for k, v in _TYPES.items()}


def type_name(dtype):
    """``Tensor.type()``'s answer for ``dtype``: ``'chainrule.FloatTensor'`` and so on."""
    return "chainrule." + _NAMES[np.dtype(dtype)]


def dtype_of_type(t):
    """The dtype a ``Tensor.type(t)`` target names: a dtype, a legacy type such as
    ``cr.DoubleTensor``, or its string ``'chainrule.DoubleTensor'`` / ``'torch.DoubleTensor'``."""
    if isinstance(t, type) and isinstance(getattr(t, "dtype", None), np.dtype):
        return t.dtype     # a legacy type: cr.DoubleTensor
    if isinstance(t, str) and t.rpartition(".")[2] in _TYPES:
        prefix = t.rpartition(".")[0]
        if prefix not in ("chainrule", "torch", ""):
            raise ValueError(f"invalid type: {t!r} (expected e.g. 'chainrule.DoubleTensor')")
        return np.dtype(_TYPES[t.rpartition(".")[2]])
    from .dtypes import as_dtype
    return as_dtype(t)


def format_tensor(t, spec):
    """``format(t, spec)``: a 0-d tensor formats as its Python number (``f'{loss:.4f}'``), as
    ``torch.Tensor.__format__``; other tensors accept only the empty spec (their ``str``)."""
    if t.ndim == 0:
        return format(t.item(), spec)
    if spec:
        raise TypeError(f"unsupported format string {spec!r} for a tensor of shape "
                        f"{tuple(t.shape)}: only a 0-d tensor formats as a number (use "
                        "t.item() or index one element first)")
    return str(t)
