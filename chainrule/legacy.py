"""The legacy tensor types (``cr.FloatTensor``, ``cr.LongTensor``, ...) and
``cr.autograd.Variable``, as PyTorch keeps them for old tutorials.

Example::

    >>> cr.FloatTensor([1, 2]).dtype, isinstance(cr.zeros(2), cr.FloatTensor)
    (dtype('float32'), True)
"""
from __future__ import annotations

import numpy as np

from .compat import _TYPES, Size
from .creation import as_tensor, tensor, zeros
from .devices import placement
from .tensor import Tensor

__all__ = ["FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor",
           "ShortTensor", "CharTensor", "ByteTensor", "BoolTensor", "Variable"]


class _TensorType(type):
    """The metaclass of the legacy types: calling one builds a tensor of its dtype, and
    ``isinstance(x, cr.FloatTensor)`` asks whether ``x`` is a float32 tensor."""

    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj.dtype == cls.dtype

    def __call__(cls, *args, device=None):
        """``FloatTensor([1, 2])`` copies data; ``FloatTensor(2, 3)`` or ``FloatTensor(size)``
        is an (uninitialised in PyTorch, here zero) tensor of that shape."""
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
    out = as_tensor(data).detach()
    if requires_grad:
        out.requires_grad_(True)
    return out
