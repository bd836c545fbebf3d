"""Arithmetic primitives (+ - * / ** and negation) and their operators.

A Python number on one side is kept as a constant of ``AddScalar``/``MulScalar``/``DivScalar``/
``PowScalar``, so ``x * 0.5`` stays float32 and costs one node.
"""
from __future__ import annotations

import numpy as np

from ..autograd.op import Op, export
from ..dtypes import get_default_dtype, result_type
from ..tensor import Tensor, _new
from ._args import SCALAR, apply_binary, as_tensor_like, pair
from .cast import cast


class Add(Op):
    def forward(ctx, xp, a, b):
        return a + b

    def backward(ctx, xp, g):
        return g, g


class Sub(Op):
    name = "subtract"

    def forward(ctx, xp, a, b):
        return a - b

    def backward(ctx, xp, g):
        return g, (-g if ctx.needs_input_grad[1] else None)


class Mul(Op):
    name = "multiply"
    save = ("a", "b")

    def forward(ctx, xp, a, b):
        return a * b

    def backward(ctx, xp, g, a, b):
        n = ctx.needs_input_grad
        return (g * b if n[0] else None), (g * a if n[1] else None)


class Div(Op):
    name = "divide"
    save = ("a", "b")

    def forward(ctx, xp, a, b):
        with xp.errstate(divide="ignore", invalid="ignore"):
            return a / b

    def backward(ctx, xp, g, a, b):
        n = ctx.needs_input_grad
        return (g / b if n[0] else None), (-g * a / (b * b) if n[1] else None)


class Neg(Op):
    name = "negative"

    def forward(ctx, xp, a):
        return -a

    def backward(ctx, xp, g):
        return -g


class Pow(Op):
    """``a ** b`` for tensors; d/da = b a^(b-1), d/db = a^b log a (0 where a = 0 and b >= 0)."""
    name = "power"
    save = ("a", "b")

    def forward(ctx, xp, a, b):
        with xp.errstate(divide="ignore", invalid="ignore"):
            return xp.power(a, b)

    def backward(ctx, xp, g, a, b):
        n = ctx.needs_input_grad
        ga = g * b * a ** (b - 1) if n[0] else None
        gb = None
        if n[1]:
            # log a with a -> 1 where a = 0 and b >= 0 (the limit a^b log a = 0); stays
            # differentiable in a, so second derivatives keep the d(log a)/da term
            ok = (a != 0) | (b < 0)
            with xp.errstate(divide="ignore", invalid="ignore"):
                gb = g * (a ** b) * xp.log(xp.where(ok, a, 1))
        return ga, gb


class PowScalar(Op):
    """``x ** c`` for a constant exponent: d/dx = c x^(c-1)."""
    save = ("x",)

    def forward(ctx, xp, x, *, c):
        ctx.c = c
        with xp.errstate(divide="ignore", invalid="ignore"):
            if c == 2:
                return x * x
            return xp.power(x, x.dtype.type(c))

    def backward(ctx, xp, g, x):
        c = ctx.c
        if c == 2:
            return g * (x * 2)
        if c == 1:
            return g
        if c == 0:    # x^0 is constant; c x^(c-1) would be 0 * inf = nan at x = 0
            return g * 0
        return g * (c * x ** (c - 1))


class AddScalar(Op):
    """``x + c`` for a Python number ``c`` (kept as a constant, not a graph input)."""

    def forward(ctx, xp, x, *, c):
        return x + c

    def backward(ctx, xp, g):
        return g


class MulScalar(Op):
    def forward(ctx, xp, x, *, c):
        ctx.c = c
        return x * c

    def backward(ctx, xp, g):
        return g * ctx.c


class DivScalar(Op):
    """``x / c``; true division as PyTorch does it (not multiplication by 1/c)."""

    def forward(ctx, xp, x, *, c):
        ctx.c = c
        with xp.errstate(divide="ignore", invalid="ignore"):
            return x / c

    def backward(ctx, xp, g):
        return g / ctx.c


def _scalar_operand(x, c):
    """``c`` ready for a scalar op on ``x``, or None when PyTorch would promote x's dtype."""
    k = x._data.dtype.kind
    if type(c) is float or isinstance(c, np.floating):
        return float(c) if k == "f" else None
    if isinstance(c, (bool, np.bool_)):
        return None
    if isinstance(c, (int, np.integer)):
        return int(c) if k in "fiu" else None
    return None


def _with_scalar(a, b, scalar_op, op, opname, sign=1):
    """``a (op) b``; a Python number ``b`` becomes the constant of ``scalar_op``.  The common
    case (a float tensor and a Python float) is decided in the first line: it is on the hot path
    of every ``x * 0.5``."""
    if type(b) is float and type(a) is Tensor and a._data.dtype.kind == "f":
        return scalar_op.apply(a, c=b * sign)
    if isinstance(a, Tensor) and not isinstance(b, Tensor):
        c = _scalar_operand(a, b)
        if c is not None:
            return scalar_op.apply(a, c=c * sign)
    return apply_binary(op, a, b, opname)


@export(method=("add", "__add__", "__radd__"))
def add(input, other, *, alpha=1):
    """Elementwise ``input + alpha * other`` with broadcasting and PyTorch's type promotion."""
    if alpha != 1:
        other = mul(other, alpha)
    return _with_scalar(input, other, AddScalar, Add, "add")


@export(method=("sub", "__sub__"))
def sub(input, other, *, alpha=1):
    """Elementwise ``input - alpha * other`` (as ``torch.sub``)."""
    if alpha != 1:
        other = mul(other, alpha)
    return _with_scalar(input, other, AddScalar, Sub, "sub", sign=-1)


@export(method=("mul", "__mul__", "__rmul__"))
def mul(input, other):
    """Elementwise ``input * other`` with broadcasting and PyTorch's type promotion."""
    return _with_scalar(input, other, MulScalar, Mul, "mul")


@export(method=("div", "__truediv__"))
def div(input, other, *, rounding_mode=None):
    """True division; integer inputs give a float result (as ``torch.div``)."""
    a, b = pair(input, other, "div")
    if rounding_mode is not None:
        if rounding_mode not in ("floor", "trunc"):
            raise ValueError(f"div: rounding_mode must be None, 'floor' or 'trunc', got "
                             f"{rounding_mode!r}")
        # integer/rounded division has no useful gradient: the result leaves the graph
        if rounding_mode == "floor":
            r = np.floor_divide(a._data, b._data)
        else:
            r = np.trunc(a._data / b._data).astype(result_type(a.dtype, b.dtype))
        return _new(np.asarray(r))
    if a._data.dtype.kind in "biu":
        a, b = cast(a, get_default_dtype()), cast(b, get_default_dtype())
    if b._node is None and b._data.ndim == 0 and not b.requires_grad:
        return DivScalar.apply(a, c=b._data.item())
    return apply_binary(Div, a, b, "div")


@export(method=("neg", "__neg__"))
def neg(input):
    return Neg.apply(input)


@export(method="pow")
def pow(input, exponent):  # noqa: A001
    """``input ** exponent`` (as ``torch.pow``)."""
    a, b = input, exponent
    if isinstance(a, Tensor) and isinstance(b, SCALAR) and not isinstance(b, (bool, np.bool_)):
        if a._data.dtype.kind in "biu" and (isinstance(b, float) or b < 0):
            a = cast(a, get_default_dtype()) if isinstance(b, float) else a
        elif a._data.dtype == np.bool_:
            a = cast(a, "int64")     # bool ** int is int64 in torch
        return PowScalar.apply(a, c=b)
    return apply_binary(Pow, a, b, "pow")


# reflected operators and the operators with no function of their own
@export(method="__rsub__", function=False)
def _rsub(self, other):
    return sub(other, self)


@export(method="__rtruediv__", function=False)
def _rtruediv(self, other):
    return div(other, self)


@export(method="__pow__", function=False)
def _pow_op(self, other):
    return pow(self, other)


@export(method="__rpow__", function=False)
def _rpow(self, other):
    return pow(as_tensor_like(other, self), self)


@export(method="__floordiv__", function=False)
def _floordiv(self, other):
    return div(self, other, rounding_mode="floor")


@export(method="__rfloordiv__", function=False)
def _rfloordiv(self, other):
    return div(other, self, rounding_mode="floor")


@export(method="__pos__", function=False)
def _pos(self):
    return self

