"""dtypes and PyTorch's type-promotion rules on top of NumPy dtypes."""
from __future__ import annotations

import builtins as _b

import numpy as np

float16 = half = np.dtype(np.float16)
float32 = float = np.dtype(np.float32)
float64 = double = np.dtype(np.float64)
int8 = np.dtype(np.int8)
uint8 = np.dtype(np.uint8)
int16 = short = np.dtype(np.int16)
int32 = int = np.dtype(np.int32)
int64 = long = np.dtype(np.int64)
bool = np.dtype(np.bool_)   # noqa: A001  (torch.bool)

_default = [float32]
_ALLOWED = {np.dtype(x) for x in (np.float16, np.float32, np.float64, np.int8, np.uint8, np.int16,
                                  np.int32, np.int64, np.bool_)}


def get_default_dtype():
    return _default[0]


def set_default_dtype(dtype):
    d = as_dtype(dtype)
    if d.kind != "f":
        raise TypeError(f"default dtype must be a floating point type, got {dtype_repr(d)}")
    _default[0] = d


default_float = get_default_dtype


def dtype_repr(d) -> str:
    return "chainrule." + np.dtype(d).name


def as_dtype(d):
    """Accept ``cr.float32``, ``np.float32``, ``'float32'``, Python ``float``/``int``/``bool``."""
    if d is None:
        return None
    if d is _b.float:
        return _default[0]
    if d is _b.int:
        return int64
    try:
        dt = np.dtype(d)
    except TypeError:
        raise TypeError(f"not a dtype: {d!r}") from None
    if dt not in _ALLOWED:
        raise TypeError(f"unsupported dtype {dt}; use one of float32, float64, int64, bool, ...")
    return dt


def infer_array(data, dtype):
    """The array behind ``cr.tensor(data, dtype)``: copies, Python floats become float32."""
    dt = as_dtype(dtype)
    if _is_tensor(data):
        data = data._data
    if isinstance(data, np.generic):   # a NumPy scalar keeps its dtype, as in torch.tensor
        data = np.asarray(data)
    if isinstance(data, np.ndarray):
        if data.dtype not in _ALLOWED:
            raise TypeError(f"can't convert an array of dtype {data.dtype} to a tensor; supported:"
                            " floating, integer and bool arrays")
        return np.array(data, dtype=dt, copy=True)
    if isinstance(data, (list, tuple)) and any(_is_tensor(x) for x in data):
        data = [x._data if _is_tensor(x) else x for x in data]
    arr = np.array(data)
    if arr.dtype == object or arr.dtype.kind in "USV":
        raise TypeError(f"can't build a tensor from {type(data).__name__} of "
                        f"{arr.dtype} values; expected numbers, nested lists of numbers or arrays")
    if dt is not None:
        return arr.astype(dt, copy=False)
    if arr.dtype.kind == "f":
        return arr.astype(_default[0], copy=False)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64, copy=False)
    if arr.dtype.kind == "c":
        raise TypeError("complex tensors are not supported")
    return arr


def _is_tensor(x):
    # dtypes sits below tensor.py: a tensor is known by its fields here
    return hasattr(x, "_data") and hasattr(x, "_node")


def _kind_rank(d):
    return {"b": 0, "u": 1, "i": 1, "f": 2}.get(d.kind, 3)


def result_type(a, b):
    """PyTorch's promotion for two arrays: a float beats an int whatever its width."""
    if a == b:
        return a
    ra, rb = _kind_rank(a), _kind_rank(b)
    if ra != rb:
        return a if ra > rb else b
    return np.promote_types(a, b)


def scalar_array(value, like_dtype):
    """A Python scalar as a 0-d array of the dtype PyTorch would give ``tensor (op) scalar``."""
    if isinstance(value, (_b.bool, np.bool_)):
        kind = "b"
    elif isinstance(value, (_b.int, np.integer)):
        kind = "i"
    else:
        kind = "f"
    k = like_dtype.kind
    if kind == "f" and k not in "f":
        return np.array(value, dtype=_default[0])
    if kind == "i" and k == "b":
        return np.array(value, dtype=np.int64)
    return np.array(value, dtype=like_dtype)
