"""dtype conversion and copies: the ops every wrapper may need first."""
from __future__ import annotations

from ..autograd.op import Op, export
from ..dtypes import as_dtype
from ..tensor import _new


class Cast(Op):
    """``x.astype(dtype)``; the gradient is cast back to the input's dtype."""
    name = "astype"

    def forward(ctx, xp, x, *, dtype):
        ctx.src = x.dtype
        return x.astype(dtype)

    def backward(ctx, xp, g):
        return xp.astype(g, ctx.src)


class Clone(Op):
    name = "copy"

    def forward(ctx, xp, x):
        return x.copy()

    def backward(ctx, xp, g):
        return g


def cast(x, dtype):
    """``x`` in ``dtype``; casting to a non-float type leaves the graph (as PyTorch)."""
    dtype = as_dtype(dtype)
    if x._data.dtype == dtype:
        return x
    if dtype.kind not in "fc" and x.requires_grad:
        return _new(x._data.astype(dtype))
    return Cast.apply(x, dtype=dtype)


@export(method=True)
def clone(input):
    """A copy that stays in the graph (as ``torch.clone``)."""
    return Clone.apply(input)


@export(method=True, function=False)
def to(self, *args, dtype=None, device=None, copy=False, non_blocking=False):
    """``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other)`` (as PyTorch)."""
    for a in args:
        if hasattr(a, "_data") and hasattr(a, "_node"):   # another tensor: its dtype
            dtype = a.dtype
        elif _is_device(a):
            device = a
        else:
            dtype = a
    if device is not None and str(device).split(":")[0] != "cpu":
        raise RuntimeError(f"device {str(device)!r} is not available: chainrule runs on the "
                           "CPU ('cpu') only")
    out = self if dtype is None else cast(self, dtype)
    return clone(out) if copy and out is self else out


def _is_device(a):
    if isinstance(a, str):
        return a.split(":")[0] in ("cpu", "cuda", "mps", "xpu", "meta")
    return type(a).__name__ == "device"


def _as(dtype):
    def method(self):
        return cast(self, dtype)
    return method


for _name, _dt in (("float", "float32"), ("double", "float64"), ("half", "float16"),
                   ("long", "int64"), ("int", "int32"), ("short", "int16"), ("bool", "bool")):
    export(_as(_dt), method=_name, function=False)


@export(method=True, function=False)
def type_as(self, other):
    return cast(self, other.dtype)
