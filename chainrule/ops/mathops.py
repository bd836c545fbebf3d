"""More of PyTorch's elementwise math family as primitives: tan and the inverse trigonometric /
hyperbolic functions, erfc, erfinv, atan2 and hypot (rounding and remainders are in
``rounding.py``, running sums and products in ``cumulative.py``).

Each op is one class (forward and backward side by side) and one exported wrapper.  Backward
rules use registered ops only (``xp.sqrt``, ``xp.exp``, ...), so they give second derivatives.
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd.op import Op, export
from ._args import broadcast_error, float_input, pair
from .special import _erf_small, _erfc_big, _erfc_mid, erf_array

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


# ---------------------------------------------------------------------------------------------
# trigonometric and hyperbolic, and their inverses
# ---------------------------------------------------------------------------------------------
class Tan(Op):
    save = ("out",)          # d/dx tan x = 1 + tan^2 x

    def forward(ctx, xp, x):
        return xp.tan(x)

    def backward(ctx, xp, g, y):
        return g * (1 + y * y)


class Arcsin(Op):
    save = ("x",)
    name = "arcsin"

    def forward(ctx, xp, x):
        with xp.errstate(invalid="ignore"):
            return xp.arcsin(x)

    def backward(ctx, xp, g, x):
        with xp.errstate(divide="ignore", invalid="ignore"):
            return g / xp.sqrt(1 - x * x)


class Arccos(Op):
    save = ("x",)
    name = "arccos"

    def forward(ctx, xp, x):
        with xp.errstate(invalid="ignore"):
            return xp.arccos(x)

    def backward(ctx, xp, g, x):
        with xp.errstate(divide="ignore", invalid="ignore"):
            return -g / xp.sqrt(1 - x * x)


class Arctan(Op):
    save = ("x",)
    name = "arctan"

    def forward(ctx, xp, x):
        return xp.arctan(x)

    def backward(ctx, xp, g, x):
        return g / (1 + x * x)


class Arcsinh(Op):
    save = ("x",)
    name = "arcsinh"

    def forward(ctx, xp, x):
        return xp.arcsinh(x)

    def backward(ctx, xp, g, x):
        return g / xp.sqrt(x * x + 1)


class Arccosh(Op):
    save = ("x",)
    name = "arccosh"

    def forward(ctx, xp, x):
        with xp.errstate(invalid="ignore"):
            return xp.arccosh(x)

    def backward(ctx, xp, g, x):
        with xp.errstate(divide="ignore", invalid="ignore"):
            return g / xp.sqrt((x - 1) * (x + 1))


class Arctanh(Op):
    save = ("x",)
    name = "arctanh"

    def forward(ctx, xp, x):
        with xp.errstate(divide="ignore", invalid="ignore"):
            return xp.arctanh(x)

    def backward(ctx, xp, g, x):
        with xp.errstate(divide="ignore"):
            return g / (1 - x * x)


# ---------------------------------------------------------------------------------------------
# erfc and erfinv
# ---------------------------------------------------------------------------------------------
def erfc_array(x):
    """1 - erf(x) without cancellation (Cody's intervals, as ``erf_array``)."""
    x = np.asarray(x)
    y = np.abs(x)
    pos = np.empty_like(x)          # erfc(|x|)
    small = y <= 0.46875
    mid = (~small) & (y <= 4.0)
    big = ~(small | mid)
    pos[small] = 1.0 - _erf_small(y[small], y[small])
    pos[mid] = _erfc_mid(y[mid])
    if big.any():
        yb = y[big]
        pos[big] = np.where(np.isnan(yb), yb, _erfc_big(yb))
    return np.where(x < 0, 2.0 - pos, pos).astype(x.dtype, copy=False)


def erfinv_array(y):
    """The inverse error function: Winitzki's closed form (relative error ~2e-3), then Newton
    steps on erf (or on erfc in the tails, where 1 - |y| is exact) to full precision."""
    y = np.asarray(y)
    yd = y.astype(np.float64)
    a = 0.147
    with np.errstate(divide="ignore", invalid="ignore"):
        ln = np.log1p(-yd * yd)
        t = 2 / (math.pi * a) + ln / 2
        x = np.sign(yd) * np.sqrt(np.sqrt(t * t - ln / a) - t)
        tail = np.abs(yd) > 0.5
        ax, q = np.abs(x), 1.0 - np.abs(yd)
        for _ in range(5):
            d = _TWO_OVER_SQRT_PI * np.exp(-ax * ax)
            f = np.where(tail, q - erfc_array(ax), erf_array(ax) - np.abs(yd))
            step = np.where(np.isfinite(ax) & (d > 0), f / d, 0.0)
            ax = ax - step
        x = np.sign(yd) * ax
    x = np.where(np.abs(yd) == 1, np.copysign(np.inf, yd), x)
    x = np.where((np.abs(yd) > 1) | np.isnan(yd), np.nan, x)
    return x.astype(y.dtype, copy=False)


class Erfc(Op):
    """erfc(x) = 1 - erf(x); d/dx = -2/sqrt(pi) exp(-x^2)."""
    save = ("x",)

    def forward(ctx, xp, x):
        return erfc_array(x)

    def backward(ctx, xp, g, x):
        return g * (xp.exp(-(x * x)) * -_TWO_OVER_SQRT_PI)


class Erfinv(Op):
    """erfinv(y); d/dy = sqrt(pi)/2 exp(erfinv(y)^2) (read from the output)."""
    save = ("out",)

    def forward(ctx, xp, y):
        return erfinv_array(y)

    def backward(ctx, xp, g, x):
        with xp.errstate(over="ignore"):
            return g * (xp.exp(x * x) * (math.sqrt(math.pi) / 2))


# ---------------------------------------------------------------------------------------------
# two-argument functions
# ---------------------------------------------------------------------------------------------
class Arctan2(Op):
    """atan2(y, x); d/dy = x / (x^2 + y^2), d/dx = -y / (x^2 + y^2)."""
    save = ("y", "x")
    name = "arctan2"

    def forward(ctx, xp, y, x):
        return xp.arctan2(y, x)

    def backward(ctx, xp, g, y, x):
        with xp.errstate(divide="ignore", invalid="ignore"):
            r = g / (x * x + y * y)
        n = ctx.needs_input_grad
        return (r * x if n[0] else None), (-(r * y) if n[1] else None)


class Hypot(Op):
    """sqrt(a^2 + b^2) without overflow; d/da = a / out, d/db = b / out."""
    save = ("a", "b", "out")

    def forward(ctx, xp, a, b):
        return xp.hypot(a, b)

    def backward(ctx, xp, g, a, b, h):
        with xp.errstate(divide="ignore", invalid="ignore"):
            r = g / h
        n = ctx.needs_input_grad
        return (r * a if n[0] else None), (r * b if n[1] else None)


# ---------------------------------------------------------------------------------------------
# the user-facing functions
# ---------------------------------------------------------------------------------------------
def _float_unary(op, name, doc, aliases=()):
    def fn(input):   # noqa: A002  (PyTorch's argument name)
        return op.apply(float_input(input, name))
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"{doc} (as ``torch.{name}``); integer inputs become the default float dtype."
    fn.__module__ = __name__
    export(fn, method=(name,) + aliases)
    for a in aliases:
        export(fn, name=a)
    return fn


tan = _float_unary(Tan, "tan", "Elementwise tangent")
asin = _float_unary(Arcsin, "asin", "Elementwise inverse sine", ("arcsin",))
acos = _float_unary(Arccos, "acos", "Elementwise inverse cosine", ("arccos",))
atan = _float_unary(Arctan, "atan", "Elementwise inverse tangent", ("arctan",))
asinh = _float_unary(Arcsinh, "asinh", "Elementwise inverse hyperbolic sine", ("arcsinh",))
acosh = _float_unary(Arccosh, "acosh", "Elementwise inverse hyperbolic cosine", ("arccosh",))
atanh = _float_unary(Arctanh, "atanh", "Elementwise inverse hyperbolic tangent", ("arctanh",))
erfc = _float_unary(Erfc, "erfc", "Elementwise complementary error function 1 - erf(x)")
erfinv = _float_unary(Erfinv, "erfinv", "Elementwise inverse error function")


def _binary_float(a, b, name):
    a, b = pair(a, b, name)
    if a._data.dtype.kind != "f":
        a, b = float_input(a, name), float_input(b, name)
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise broadcast_error(name, a, b) from None
    return a, b


@export(method=("atan2", "arctan2"))
def atan2(input, other):   # noqa: A002
    """The angle of the point (other, input), elementwise: atan2(y=input, x=other) (as
    ``torch.atan2``)."""
    return Arctan2.apply(*_binary_float(input, other, "atan2"))


export(atan2, name="arctan2")


@export(method=True)
def hypot(input, other):   # noqa: A002
    """sqrt(input^2 + other^2) without overflow (as ``torch.hypot``)."""
    return Hypot.apply(*_binary_float(input, other, "hypot"))
