"""Special-function primitives the activation zoo needs: erf, softplus and the hard step.

Each is one class with its forward and backward side by side, like the other primitives.
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd.op import Op, export
from ._args import float_input

# W. J. Cody, "Rational Chebyshev approximations for the error function", Math. Comp. 23 (1969),
# the coefficients of Netlib's CALERF: relative error below 1e-15 in float64.
_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
      3.20937758913846947e03, 1.85777706184603153e-1)
_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
      2.84423683343917062e03)
_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
      2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
      2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)
_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
      1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
      3.43936767414372164e03, 1.23033935480374942e03)
_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
      1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
_Q = (2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1,
      6.05183413124413191e-2, 2.33520497626869185e-3)
_SQRPI = 5.6418958354775628695e-1   # 1 / sqrt(pi)


def _erf_small(y, x):
    """erf(x) for |x| <= 0.46875 (y = |x|)."""
    ysq = y * y
    num, den = _A[4] * ysq, ysq
    for i in range(3):
        num = (num + _A[i]) * ysq
        den = (den + _B[i]) * ysq
    return x * (num + _A[3]) / (den + _B[3])


def _exp_split(y):
    # exp(-y^2) computed as exp(-ysq^2 - del) with ysq = y rounded to 1/16: avoids the
    # cancellation of forming y*y directly (Cody's trick)
    ysq = np.trunc(16.0 * y) / 16.0
    return np.exp(-ysq * ysq - (y - ysq) * (y + ysq))


def _erfc_mid(y):
    """erfc(y) for 0.46875 < y <= 4."""
    num, den = _C[8] * y, y
    for i in range(7):
        num = (num + _C[i]) * y
        den = (den + _D[i]) * y
    return _exp_split(y) * (num + _C[7]) / (den + _D[7])


def _erfc_big(y):
    """erfc(y) for y > 4 (zero once exp(-y^2) underflows)."""
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        ysq = 1.0 / (y * y)
        num, den = _P[5] * ysq, ysq
        for i in range(4):
            num = (num + _P[i]) * ysq
            den = (den + _Q[i]) * ysq
        r = ysq * (num + _P[4]) / (den + _Q[4])
        r = (_SQRPI - r) / y * _exp_split(y)
    return np.where(y < 26.543, r, 0.0).astype(y.dtype, copy=False)


def erf_array(x):
    """The error function of an ndarray, in its own float dtype, by Cody's three intervals."""
    x = np.asarray(x)
    y = np.abs(x)
    out = np.empty_like(x)
    small = y <= 0.46875
    mid = (~small) & (y <= 4.0)
    big = ~(small | mid)
    out[small] = _erf_small(y[small], x[small])
    out[mid] = np.copysign(1.0 - _erfc_mid(y[mid]), x[mid])
    if big.any():
        yb = y[big]
        out[big] = np.where(np.isnan(yb), yb, np.copysign(1.0 - _erfc_big(yb), x[big]))
    return out


class Erf(Op):
    """erf(x); d/dx = 2/sqrt(pi) exp(-x^2)."""
    save = ("x",)

    def forward(ctx, xp, x):
        return erf_array(x)

    def backward(ctx, xp, g, x):
        return g * (xp.exp(-(x * x)) * (2.0 / math.sqrt(math.pi)))


class Softplus(Op):
    """log(1 + e^x) without overflow or lost digits: max(x, 0) + log1p(e^-|x|).

    d/dx = sigmoid(x).
    """
    save = ("x",)

    def forward(ctx, xp, x):
        return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))

    def backward(ctx, xp, g, x):
        return g * xp.sigmoid(x)


class Step(Op):
    """The hard threshold unit: 1 where x > 0, else 0.  Its derivative is zero everywhere.

    (At x = 0 the derivative does not exist; we use 0 there too, as PyTorch does for
    ``heaviside``-like steps.)  A network of step units gets zero gradients: this is why the
    notes replace it by smooth units for gradient training.
    """

    def forward(ctx, xp, x):
        return (x > 0).astype(x.dtype)

    def backward(ctx, xp, g):
        return g * 0.0


class Dropout(Op):
    """Inverted dropout: ``x * mask / (1 - p)`` with a fresh Bernoulli mask per call.

    The mask is drawn inside the forward (in x's dtype), so a captured step (``cr.compile``)
    draws a new one on every replay, as eager mode does.  The backward multiplies by the same
    scaled mask (a constant).
    """

    def forward(ctx, xp, x, *, p, generator):
        from ..random import get_rng
        dt = x.dtype
        u = get_rng(generator).random(x.shape, dtype=dt if dt in (xp.float32, xp.float64)
                                      else xp.float64)
        mask = (u >= p).astype(dt)
        mask *= dt.type(1.0 / (1.0 - p))
        ctx.mask = mask
        return x * mask

    def backward(ctx, xp, g):
        return g * ctx.mask


@export(method=True)
def erf(input):
    """The Gauss error function (as ``torch.erf``)."""
    return Erf.apply(float_input(input, "erf"))


def softplus(x):
    """log(1 + exp(x)) computed stably (no overflow for large x, exact for very negative x)."""
    return Softplus.apply(float_input(x, "softplus"))


def step(x):
    """1 where x > 0 else 0, with a zero gradient everywhere (the notes' hard threshold)."""
    return Step.apply(float_input(x, "step"))
