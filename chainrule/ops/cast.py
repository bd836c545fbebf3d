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
def to(self, *args, **kwargs):
    """This tensor as ``dtype`` and/or on ``device`` (as ``torch.Tensor.to``): ``to(dtype)``,
    ``to(device)``, ``to(device, dtype)``, ``to(other)``; ``self`` when nothing changes."""
    from ..devices import parse_to
    dtype, copy = parse_to(args, kwargs)
    out = self if dtype is None else cast(self, dtype)
    return clone(out) if copy and out is self else out


@export(method=True, function=False)
def type(self, dtype=None, non_blocking=False):   # noqa: A001  (Tensor.type)
    """With no argument, the type's name (``'chainrule.FloatTensor'``); else ``to(dtype)``,
    where ``dtype`` may also be a legacy type or its name (``'torch.DoubleTensor'``)."""
    from ..compat import dtype_of_type, type_name
    if dtype is None:
        return type_name(self._data.dtype)
    return to(self, dtype_of_type(dtype))


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
