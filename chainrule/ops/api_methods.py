"""Attach the composite functions of ``api_math``, ``api_index`` and ``api_misc`` as Tensor
methods (``x.mm(y)``, ``x.t()``, ``x.norm()``, ...), under PyTorch's method names."""
from __future__ import annotations

from ..compat import equal
from ..tensor import Tensor
from . import api_index as I
from . import api_math as M
from . import api_misc as X

_METHODS = {
    "t": M.t, "mm": M.mm, "bmm": M.bmm, "mv": M.mv, "rsqrt": M.rsqrt, "log2": M.log2,
    "log10": M.log10, "exp2": M.exp2, "lerp": M.lerp, "logaddexp": M.logaddexp,
    "nan_to_num": M.nan_to_num, "tril": M.tril, "triu": M.triu, "diag": M.diag,
    "amax": M.amax, "amin": M.amin, "norm": M.norm,
    "flip": I.flip, "roll": I.roll, "repeat": I.repeat, "tile": I.tile,
    "tensor_split": I.tensor_split, "unbind": I.unbind, "index_select": I.index_select,
    "gather": I.gather, "scatter": I.scatter, "scatter_add": I.scatter_add, "sort": I.sort,
    "argsort": I.argsort, "topk": I.topk,
    "isclose": X.isclose, "allclose": X.allclose, "isinf": X.isinf, "isposinf": X.isposinf,
    "isneginf": X.isneginf, "unique": X.unique, "bincount": X.bincount,
    "bernoulli": X.bernoulli, "multinomial": X.multinomial, "equal": equal,
}
for _name, _fn in _METHODS.items():
    setattr(Tensor, _name, _fn)
