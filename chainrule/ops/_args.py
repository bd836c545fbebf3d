"""Argument handling shared by the user-facing wrappers: operands as tensors, PyTorch's dtype
promotion, and the error messages that name the op and the shapes."""
from __future__ import annotations

import numpy as np

from ..dtypes import get_default_dtype, result_type, scalar_array
from ..tensor import Tensor, _new
from .cast import cast

SCALAR = (int, float, bool, np.number, np.bool_)


def const(value, dtype):
    return _new(np.asarray(value, dtype=dtype))


def as_tensor_like(x, like):
    """``x`` as a Tensor, with the dtype PyTorch would give it when combined with ``like``."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, SCALAR):
        return _new(scalar_array(x, like.dtype))
    if isinstance(x, np.ndarray):
        return _new(x)
    return Tensor(x)


def not_tensor(opname, x):
    return TypeError(f"{opname}(): argument 'input' must be a Tensor, not {type(x).__name__} "
                     "(wrap it with cr.tensor(...))")


def tensor_input(x, opname):
    if not isinstance(x, Tensor):
        raise not_tensor(opname, x)
    return x


def float_input(x, opname):
    """``x`` as a floating tensor: integers and bools become the default float (as PyTorch's
    ``exp``, ``sin``, ...)."""
    if not isinstance(x, Tensor):
        raise not_tensor(opname, x)
    if x._data.dtype.kind != "f":
        return cast(x, get_default_dtype())
    return x


def _same_category(da, db):
    return (da.kind == "b") == (db.kind == "b") and (da.kind == "f") == (db.kind == "f")


def pair(a, b, opname):
    """Both operands as Tensors of one dtype (PyTorch's promotion rules)."""
    if not isinstance(a, Tensor):
        if not isinstance(b, Tensor):
            raise TypeError(f"{opname}: expected at least one Tensor, got {type(a).__name__} "
                            f"and {type(b).__name__}")
        a = as_tensor_like(a, b)
    elif not isinstance(b, Tensor):
        b = as_tensor_like(b, a)
    da, db = a._data.dtype, b._data.dtype
    if da != db:
        dt = result_type(da, db)
        if (a._data.ndim == 0) != (b._data.ndim == 0) and _same_category(da, db):
            # PyTorch: a 0-d tensor does not widen a dimensioned tensor of its own category
            dt = db if a._data.ndim == 0 else da
        if da != dt:
            a = cast(a, dt)
        if db != dt:
            b = cast(b, dt)
    return a, b


def broadcast_error(opname, a, b):
    return RuntimeError(f"{opname}: shapes {tuple(a.shape)} and {tuple(b.shape)} can't be "
                        "broadcast together (trailing dimensions must match or be 1)")


def apply_binary(op, a, b, opname):
    """``op.apply`` on two operands after promotion, naming both shapes if broadcasting fails."""
    a, b = pair(a, b, opname)
    try:
        return op.apply(a, b)
    except ValueError:
        try:
            np.broadcast_shapes(a.shape, b.shape)
        except ValueError:
            raise broadcast_error(opname, a, b) from None
        raise
