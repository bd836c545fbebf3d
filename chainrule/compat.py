"""PyTorch spellings that are not ops: ``cr.Size``, ``Tensor.type()`` names, the legacy tensor
types (``cr.FloatTensor``, ``cr.LongTensor``, ...) and ``cr.autograd.Variable``.

Type names are spelled with chainrule's own prefix: ``cr.zeros(2).type()`` is
``'chainrule.FloatTensor'`` where PyTorch says ``'torch.FloatTensor'``, as dtype reprs are
``chainrule.float32``.  ``Tensor.type()`` accepts either prefix as a target, so a PyTorch script's
``x.type('torch.DoubleTensor')`` converts.

Example::

    >>> cr.FloatTensor([1, 2]).dtype, isinstance(cr.zeros(2), cr.FloatTensor)
    (dtype('float32'), True)
    >>> cr.zeros(2, 3).shape
    chainrule.Size([2, 3])
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["Size", "FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor",
           "ShortTensor", "CharTensor", "ByteTensor", "BoolTensor", "Variable", "type_name",
           "dtype_of_type", "format_tensor"]


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
    if isinstance(t, _TensorType):
        return t.dtype
    if isinstance(t, str) and t.rpartition(".")[2] in _TYPES:
        prefix = t.rpartition(".")[0]
        if prefix not in ("chainrule", "torch", ""):
            raise ValueError(f"invalid type: {t!r} (expected e.g. 'chainrule.DoubleTensor')")
        return np.dtype(_TYPES[t.rpartition(".")[2]])
    from .dtypes import as_dtype
    return as_dtype(t)


class _TensorType(type):
    """The metaclass of the legacy types: calling one builds a tensor of its dtype, and
    ``isinstance(x, cr.FloatTensor)`` asks whether ``x`` is a float32 tensor."""

    def __instancecheck__(cls, obj):
        from .tensor import Tensor
        return isinstance(obj, Tensor) and obj.dtype == cls.dtype

    def __call__(cls, *args, device=None):
        """``FloatTensor([1, 2])`` copies data; ``FloatTensor(2, 3)`` or ``FloatTensor(size)``
        is an (uninitialised in PyTorch, here zero) tensor of that shape."""
        from .creation import tensor, zeros
        from .tensor import Tensor
        from .devices import placement
        placement(device, cls.__name__)
        if len(args) == 1 and (isinstance(args[0], (list, np.ndarray, Tensor))
                               or (isinstance(args[0], tuple) and not isinstance(args[0], Size))):
            return tensor(args[0], dtype=cls.dtype)
        if len(args) == 1 and isinstance(args[0], Size):
            return zeros(*args[0], dtype=cls.dtype)
        if all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in args):
            return zeros(*args, dtype=cls.dtype)
        raise TypeError(f"{cls.__name__}() expects data (a list or array) or sizes (ints), got "
                        f"{', '.join(type(a).__name__ for a in args)}")

    def __repr__(cls):
        return f"<class 'chainrule.{cls.__name__}'>"


def _legacy(name):
    return _TensorType(name, (), {"dtype": np.dtype(_TYPES[name]), "__module__": "chainrule",
                                  "__doc__": f"Legacy spelling of a {_TYPES[name].__name__} "
                                             "tensor (as ``torch." + name + "``)."})


FloatTensor = _legacy("FloatTensor")
DoubleTensor = _legacy("DoubleTensor")
HalfTensor = _legacy("HalfTensor")
LongTensor = _legacy("LongTensor")
IntTensor = _legacy("IntTensor")
ShortTensor = _legacy("ShortTensor")
CharTensor = _legacy("CharTensor")
ByteTensor = _legacy("ByteTensor")
BoolTensor = _legacy("BoolTensor")


def Variable(data, requires_grad=False, volatile=False):   # noqa: N802  (torch.autograd.Variable)
    """The pre-0.4 wrapper, kept as PyTorch keeps it: a tensor sharing ``data``'s memory, a leaf
    that requires grad when asked.  (Tensors and Variables have been one thing since then.)"""
    from .creation import as_tensor
    out = as_tensor(data).detach()
    if requires_grad:
        out.requires_grad_(True)
    return out


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
