"""Rounding and remainders as primitives: floor, ceil, trunc, round (half to even, with
``decimals``), frac, fmod (C's, the dividend's sign) and remainder (Python's ``%``, the divisor's
sign).

The rounding functions' derivative is zero almost everywhere; as in PyTorch their results stay
in the graph with a zero gradient.  fmod and remainder pass the gradient to the dividend and give
the divisor ``-trunc(a / b)`` and ``-floor(a / b)``, written with the registered ``trunc`` and
``floor`` so that second derivatives work too.
"""
from __future__ import annotations

import numpy as np

from ..autograd.op import Op, export
from ._args import broadcast_error, float_input, pair, tensor_input


class Fmod(Op):
    """C's fmod (the sign of the dividend); d/da = 1, d/db = -trunc(a / b)."""
    save = ("a", "b")

    def forward(ctx, xp, a, b):
        with xp.errstate(divide="ignore", invalid="ignore"):
            return xp.fmod(a, b)

    def backward(ctx, xp, g, a, b):
        n = ctx.needs_input_grad
        with xp.errstate(divide="ignore", invalid="ignore"):
            gb = -(g * xp.trunc(a / b)) if n[1] else None
        return (g if n[0] else None), gb


class Remainder(Op):
    """Python's modulo (the sign of the divisor); d/da = 1, d/db = -floor(a / b)."""
    save = ("a", "b")

    def forward(ctx, xp, a, b):
        with xp.errstate(divide="ignore", invalid="ignore"):
            return xp.remainder(a, b)

    def backward(ctx, xp, g, a, b):
        n = ctx.needs_input_grad
        with xp.errstate(divide="ignore", invalid="ignore"):
            gb = -(g * xp.floor(a / b)) if n[1] else None
        return (g if n[0] else None), gb


# ---------------------------------------------------------------------------------------------
# rounding: zero derivative, the result stays in the graph (as PyTorch)
# ---------------------------------------------------------------------------------------------
class Floor(Op):
    def forward(ctx, xp, x):
        return xp.floor(x)

    def backward(ctx, xp, g):
        return g * 0


class Ceil(Op):
    def forward(ctx, xp, x):
        return xp.ceil(x)

    def backward(ctx, xp, g):
        return g * 0


class Trunc(Op):
    def forward(ctx, xp, x):
        return xp.trunc(x)

    def backward(ctx, xp, g):
        return g * 0


class Round(Op):
    """Round half to even, to ``decimals`` places (as ``torch.round``)."""

    def forward(ctx, xp, x, *, decimals=0):
        return xp.round(x, decimals)

    def backward(ctx, xp, g):
        return g * 0


# ---------------------------------------------------------------------------------------------
# the user-facing functions
# ---------------------------------------------------------------------------------------------
def _binary_keep(a, b, name):
    a, b = pair(a, b, name)
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise broadcast_error(name, a, b) from None
    if a._data.dtype.kind in "iu" and np.any(b._data == 0):
        raise RuntimeError(f"{name}: ZeroDivisionError (an integer divisor is zero)")
    return a, b


@export(method=True)
def fmod(input, other):   # noqa: A002
    """The remainder of input / other with the dividend's sign, as C's fmod (``torch.fmod``)."""
    return Fmod.apply(*_binary_keep(input, other, "fmod"))


@export(method=("remainder", "__mod__"))
def remainder(input, other):   # noqa: A002
    """The remainder of input / other with the divisor's sign, as Python's ``%``
    (``torch.remainder``)."""
    return Remainder.apply(*_binary_keep(input, other, "remainder"))


def _rounding(op, name, doc):
    def fn(input, **kw):   # noqa: A002
        x = tensor_input(input, name)
        if x._data.dtype.kind in "biu":   # integers are already whole: a copy, same dtype
            return x.clone()
        return op.apply(x, **kw)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"{doc} (as ``torch.{name}``); the gradient is zero."
    fn.__module__ = __name__
    return export(fn, method=True)


floor = _rounding(Floor, "floor", "Largest integer <= x, elementwise")
ceil = _rounding(Ceil, "ceil", "Smallest integer >= x, elementwise")
trunc = _rounding(Trunc, "trunc", "x rounded toward zero, elementwise")


@export(method=True)
def round(input, *, decimals=0):   # noqa: A001,A002
    """Round half to even, to ``decimals`` decimal places (as ``torch.round``); zero gradient."""
    x = tensor_input(input, "round")
    if x._data.dtype.kind in "biu" and decimals >= 0:
        return x.clone()
    return Round.apply(float_input(x, "round"), decimals=int(decimals))


@export(method=True)
def frac(input):   # noqa: A002
    """x - trunc(x): the fractional part with x's sign (as ``torch.frac``); gradient one."""
    x = tensor_input(input, "frac")
    if x._data.dtype.kind != "f":
        raise RuntimeError(f"frac: expected a floating point tensor, got {x._data.dtype}")
    return x - Trunc.apply(x)
