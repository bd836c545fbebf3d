"""``Parameter``: a tensor a module owns and an optimizer trains (as ``torch.nn.Parameter``)."""
from __future__ import annotations

import numpy as np

from ..tensor import _fill
from ..dtypes import default_float, infer_array
from ..tensor import Tensor


class Parameter(Tensor):
    """A tensor that is a module's learnable parameter (as ``torch.nn.Parameter``).

    Arguments:
        data: a Tensor (its array is shared, not copied), an array or nested lists.
        requires_grad: whether it is trained (default True).

    Example::

        w = cr.nn.Parameter(cr.zeros(3, 2))
        w.requires_grad     # True
    """
    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            arr = np.empty(0, dtype=default_float())
        elif isinstance(data, Tensor):
            arr = data._data
        else:
            arr = infer_array(data, None)
        _fill(self, arr, False, None)
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self):
        return "Parameter containing:\n" + Tensor.__repr__(self)

    def __reduce_ex__(self, protocol):
        return (_rebuild_parameter, (self._data, self.requires_grad))

    def __deepcopy__(self, memo):
        out = Parameter(self._data.copy(), self.requires_grad)
        if self.grad is not None:
            out.grad = Tensor(self.grad._data.copy())
        memo[id(self)] = out
        return out


def _rebuild_parameter(data, requires_grad):
    return Parameter(data, requires_grad)
