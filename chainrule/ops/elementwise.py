"""Elementwise primitives.  Each class holds its forward and its backward side by side."""
from __future__ import annotations

import numpy as np

from ..autograd.function import Op, _new
from ..dtypes import as_dtype, get_default_dtype, result_type, scalar_array
from ..tensor import Tensor
from . import dual as D

_SCALAR = (int, float, bool, np.number, np.bool_)


# ---------------------------------------------------------------------------------------------
# argument handling shared by the wrappers
# ---------------------------------------------------------------------------------------------
def const(value, dtype):
    return _new(np.asarray(value, dtype=dtype), False, None)


def as_tensor_like(x, like):
    """``x`` as a Tensor, with the dtype PyTorch would give it when combined with ``like``."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, _SCALAR):
        return _new(scalar_array(x, like.dtype), False, None)
    if isinstance(x, np.ndarray):
        return _new(x, False, None)
    return Tensor(x)


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


def _same_category(da, db):
    return (da.kind == "b") == (db.kind == "b") and (da.kind == "f") == (db.kind == "f")


def broadcast_error(opname, a, b):
    return RuntimeError(f"{opname}: shapes {tuple(a.shape)} and {tuple(b.shape)} can't be "
                        "broadcast together (trailing dimensions must match or be 1)")


def binary(op, opname):
    def fn(a, b):
        a, b = pair(a, b, opname)
        try:
            return op.apply(a, b)
        except ValueError:
            try:     # name both shapes when broadcasting is what failed
                np.broadcast_shapes(a.shape, b.shape)
            except ValueError:
                raise broadcast_error(opname, a, b) from None
            raise
    fn.__name__ = opname
    fn.__doc__ = f"Elementwise ``{opname}`` with broadcasting (as ``torch.{opname}``)."
    return fn


def _float_only(x, opname):
    if x._data.dtype.kind != "f":
        return cast(x, get_default_dtype()) if x._data.dtype.kind in "biu" else x
    return x


# ---------------------------------------------------------------------------------------------
# arithmetic
# ---------------------------------------------------------------------------------------------
class Add(Op):
    uses_inputs = False

    @staticmethod
    def forward(ctx, a, b):
        return a + b

    def backward(ctx, g):
        return g, g


class Sub(Op):
    uses_inputs = False

    @staticmethod
    def forward(ctx, a, b):
        return a - b

    def backward(ctx, g):
        return g, (-g if ctx.needs_input_grad[1] else None)


class Mul(Op):
    @staticmethod
    def forward(ctx, a, b):
        return a * b

    def backward(ctx, g):
        n = ctx.needs_input_grad
        return (g * ctx.input(1) if n[0] else None), (g * ctx.input(0) if n[1] else None)


class Div(Op):
    @staticmethod
    def forward(ctx, a, b):
        with np.errstate(divide="ignore", invalid="ignore"):
            return a / b

    def backward(ctx, g):
        n = ctx.needs_input_grad
        b = ctx.input(1)
        ga = g / b if n[0] else None
        gb = -g * ctx.input(0) / (b * b) if n[1] else None
        return ga, gb


class Neg(Op):
    uses_inputs = False

    @staticmethod
    def forward(ctx, a):
        return -a

    def backward(ctx, g):
        return -g


class Pow(Op):
    """``a ** b`` for tensors; d/da = b a^(b-1), d/db = a^b log a (0 where a = 0 and b >= 0)."""

    @staticmethod
    def forward(ctx, a, b):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.power(a, b)

    def backward(ctx, g):
        n = ctx.needs_input_grad
        a, b = ctx.input(0), ctx.input(1)
        ga = gb = None
        if n[0]:
            ga = g * b * a ** (b - 1)
        if n[1]:
            ad, bd = ctx.inputs[0]._data, ctx.inputs[1]._data
            # log a with a -> 1 where a = 0 and b >= 0 (the limit a^b log a = 0); stays
            # differentiable in a, so second derivatives keep the d(log a)/da term
            ok = (ad != 0) | (bd < 0)
            with np.errstate(divide="ignore", invalid="ignore"):
                gb = g * (a ** b) * D.log(D.where(ok, a, 1))
        return ga, gb


class PowScalar(Op):
    """``x ** c`` for a constant exponent: d/dx = c x^(c-1)."""

    @staticmethod
    def forward(ctx, x, c):
        ctx.c = c
        with np.errstate(divide="ignore", invalid="ignore"):
            if c == 2:
                return x * x
            return np.power(x, x.dtype.type(c))

    def backward(ctx, g):
        c = ctx.c
        x = ctx.input(0)
        if c == 2:
            return g * (x * 2)
        if c == 1:
            return g
        if c == 0:    # x^0 is constant; c x^(c-1) would be 0 * inf = nan at x = 0
            return g * 0
        return g * (c * x ** (c - 1))


def pow(a, b):  # noqa: A001
    """``a ** b`` (as ``torch.pow``)."""
    if isinstance(a, Tensor) and isinstance(b, _SCALAR) and not isinstance(b, (bool, np.bool_)):
        if a._data.dtype.kind in "biu" and (isinstance(b, float) or b < 0):
            a = cast(a, get_default_dtype()) if isinstance(b, float) else a
        elif a._data.dtype == np.bool_:
            a = cast(a, np.int64)     # bool ** int is int64 in torch
        return PowScalar.apply(a, c=b)
    return _pow(a, b)


class AddScalar(Op):
    """``x + c`` for a Python number ``c`` (kept as a parameter, not a graph input)."""
    uses_inputs = False

    @staticmethod
    def forward(ctx, x, c):
        return x + c

    def backward(ctx, g):
        return g


class MulScalar(Op):
    uses_inputs = False

    @staticmethod
    def forward(ctx, x, c):
        ctx.c = c
        return x * c

    def backward(ctx, g):
        return g * ctx.c


class DivScalar(Op):
    """``x / c``; true division as PyTorch does it (not multiplication by 1/c)."""
    uses_inputs = False

    @staticmethod
    def forward(ctx, x, c):
        ctx.c = c
        with np.errstate(divide="ignore", invalid="ignore"):
            return x / c

    def backward(ctx, g):
        return g / ctx.c


def _scalar_operand(x, c):
    """``(x, c)`` ready for a scalar op, or None when PyTorch would promote x's dtype."""
    k = x._data.dtype.kind
    if type(c) is float or isinstance(c, np.floating):
        if k != "f":
            return None
        return float(c)
    if isinstance(c, (bool, np.bool_)):
        return None
    if isinstance(c, (int, np.integer)):
        return int(c) if k == "f" or k in "iu" else None
    return None


_add = binary(Add, "add")
_sub = binary(Sub, "sub")
_mul = binary(Mul, "mul")
_div = binary(Div, "div")
_pow = binary(Pow, "pow")


# The wrappers below are on the hot path of every ``x * 0.5``: the common case (a float tensor
# and a Python float) is decided in the first line, the rest goes through the general rules.
def add(a, b):
    """Elementwise ``a + b`` with broadcasting and PyTorch's type promotion."""
    if type(b) is float and type(a) is Tensor and a._data.dtype.kind == "f":
        return AddScalar.apply(a, c=b)
    if isinstance(a, Tensor) and not isinstance(b, Tensor):
        c = _scalar_operand(a, b)
        if c is not None:
            return AddScalar.apply(a, c=c)
    return _add(a, b)


def mul(a, b):
    """Elementwise ``a * b`` with broadcasting and PyTorch's type promotion."""
    if type(b) is float and type(a) is Tensor and a._data.dtype.kind == "f":
        return MulScalar.apply(a, c=b)
    if isinstance(a, Tensor) and not isinstance(b, Tensor):
        c = _scalar_operand(a, b)
        if c is not None:
            return MulScalar.apply(a, c=c)
    return _mul(a, b)


def sub(a, b):
    """Elementwise ``a - b`` with broadcasting and PyTorch's type promotion."""
    if type(b) is float and type(a) is Tensor and a._data.dtype.kind == "f":
        return AddScalar.apply(a, c=-b)
    if isinstance(a, Tensor) and not isinstance(b, Tensor):
        c = _scalar_operand(a, b)
        if c is not None:
            return AddScalar.apply(a, c=-c)
    return _sub(a, b)




def div(a, b, rounding_mode=None):
    """True division; integer inputs give a float result (as ``torch.div``)."""
    a, b = pair(a, b, "div")
    if rounding_mode is not None:
        from .. import no_grad  # integer/rounded division has no useful gradient
        with no_grad():
            r = np.floor_divide(a._data, b._data) if rounding_mode == "floor" else \
                np.trunc(a._data / b._data).astype(result_type(a.dtype, b.dtype))
        return _new(r, False, None)
    if a._data.dtype.kind in "biu":
        a, b = cast(a, get_default_dtype()), cast(b, get_default_dtype())
    if b._node is None and b._data.ndim == 0 and not b.requires_grad:
        return DivScalar.apply(a, c=b._data.item())
    return _div(a, b)


def neg(x):
    return Neg.apply(x)


# ---------------------------------------------------------------------------------------------
# unary functions
# ---------------------------------------------------------------------------------------------
class Exp(Op):
    uses_inputs = False
    uses_output = True

    @staticmethod
    def forward(ctx, x):
        with np.errstate(over="ignore"):
            y = np.exp(x)
        ctx._y = y
        return y

    def backward(ctx, g):
        return g * ctx.output()


class Log(Op):
    @staticmethod
    def forward(ctx, x):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(x)

    def backward(ctx, g):
        return g / ctx.input(0)


class Sqrt(Op):
    uses_inputs = False
    uses_output = True

    @staticmethod
    def forward(ctx, x):
        with np.errstate(invalid="ignore"):
            y = np.sqrt(x)
        ctx._y = y
        return y

    def backward(ctx, g):
        with np.errstate(divide="ignore"):
            return g / (ctx.output() * 2)


class Abs(Op):
    @staticmethod
    def forward(ctx, x):
        return np.abs(x)

    def backward(ctx, g):
        return g * np.sign(ctx.inputs[0]._data)


class Tanh(Op):
    uses_inputs = False
    uses_output = True

    @staticmethod
    def forward(ctx, x):
        y = np.tanh(x)
        ctx._y = y
        return y

    def backward(ctx, g):
        y = ctx.output()
        return g * (1 - y * y)


class Sigmoid(Op):
    uses_inputs = False
    uses_output = True

    @staticmethod
    def forward(ctx, x):
        # 1 / (1 + e^-x) in four passes; e^-x overflows to inf for very negative x, which gives
        # the correctly rounded 0 (as PyTorch), so the overflow is expected and silenced.
        y = np.negative(x)
        if type(y) is not np.ndarray:   # 0-d input
            y = np.array(y)
        with np.errstate(over="ignore"):
            np.exp(y, out=y)
        y += 1
        np.reciprocal(y, out=y)
        ctx._y = y
        return y

    def backward(ctx, g):
        y = ctx.output()
        return g * (y * (1 - y))


class Relu(Op):
    """max(0, x); the gradient mask is taken from the output, only when a backward needs it."""
    uses_inputs = False
    uses_output = True

    @staticmethod
    def forward(ctx, x):
        y = np.maximum(x, 0)
        ctx._y = y
        return y

    def backward(ctx, g):
        return g * (ctx._y > 0)

    @staticmethod
    def forward_inplace(ctx, x):
        y = np.maximum(x, 0, out=x)
        ctx._y = y
        return y

    def backward_inplace(ctx, g):
        return np.multiply(g, ctx._y > 0, out=g)


class Cast(Op):
    uses_inputs = False

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.src = x.dtype
        return x.astype(dtype)

    def backward(ctx, g):
        return D.cast(g, ctx.src)


class Clone(Op):
    uses_inputs = False

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    def backward(ctx, g):
        return g


def not_tensor(opname, x):
    return TypeError(f"{opname}(): argument 'input' must be a Tensor, not {type(x).__name__} "
                     "(wrap it with cr.tensor(...))")


def _unary(op, name, floating=True):
    def fn(x):
        try:
            kind = x._data.dtype.kind
        except AttributeError:
            raise not_tensor(name, x) from None
        if floating and kind != "f":
            x = cast(x, get_default_dtype())
        return op.apply(x)
    fn.__name__ = name
    fn.__doc__ = f"Elementwise ``{name}`` (as ``torch.{name}``)."
    return fn


exp = _unary(Exp, "exp")
log = _unary(Log, "log")
sqrt = _unary(Sqrt, "sqrt")
tanh = _unary(Tanh, "tanh")
sigmoid = _unary(Sigmoid, "sigmoid")
relu = _unary(Relu, "relu", floating=False)
abs = _unary(Abs, "abs", floating=False)  # noqa: A001


def clone(x):
    return Clone.apply(x)


def cast(x, dtype):
    dtype = as_dtype(dtype)
    if x._data.dtype == dtype:
        return x
    if dtype.kind not in "fc" and x.requires_grad:
        return _new(x._data.astype(dtype), False, None)
    return Cast.apply(x, dtype=dtype)


class Sign(Op):
    """Sign of each element; its derivative is zero (the result stays in the graph, as torch)."""
    uses_inputs = False

    @staticmethod
    def forward(ctx, x):
        return np.sign(x)

    def backward(ctx, g):
        return g * 0


def sign(x):
    """Sign of each element (as ``torch.sign``); the gradient through it is zero."""
    if not isinstance(x, Tensor):
        raise not_tensor("sign", x)
    return Sign.apply(x)


# ---------------------------------------------------------------------------------------------
# selection
# ---------------------------------------------------------------------------------------------
class Maximum(Op):
    """Elementwise max; ties send half the gradient to each side (as PyTorch)."""

    @staticmethod
    def forward(ctx, a, b):
        return np.maximum(a, b)

    def backward(ctx, g):
        a, b = ctx.inputs[0]._data, ctx.inputs[1]._data
        w = ((a > b) + 0.5 * (a == b)).astype(g.dtype)
        return g * w, g * (1 - w)


class Minimum(Op):
    @staticmethod
    def forward(ctx, a, b):
        return np.minimum(a, b)

    def backward(ctx, g):
        a, b = ctx.inputs[0]._data, ctx.inputs[1]._data
        w = ((a < b) + 0.5 * (a == b)).astype(g.dtype)
        return g * w, g * (1 - w)


class Where(Op):
    uses_inputs = False

    @staticmethod
    def forward(ctx, a, b, cond):
        ctx.cond = cond
        return np.where(cond, a, b)

    def backward(ctx, g):
        n = ctx.needs_input_grad
        c = ctx.cond
        zero = np.zeros((), dtype=g.dtype)
        if D._t(g):
            zero = const(zero, g.dtype)
        return (D.where(c, g, zero) if n[0] else None), (D.where(c, zero, g) if n[1] else None)


class Clamp(Op):
    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.lo, ctx.hi = lo, hi
        return np.clip(x, lo, hi)

    def backward(ctx, g):
        x = ctx.inputs[0]._data
        m = np.ones(x.shape, dtype=bool)
        if ctx.lo is not None:
            m &= x >= ctx.lo
        if ctx.hi is not None:
            m &= x <= ctx.hi
        return g * m


maximum = binary(Maximum, "maximum")
minimum = binary(Minimum, "minimum")


def where(condition, input, other):  # noqa: A002
    """``input`` where ``condition`` holds, else ``other`` (as ``torch.where``)."""
    cond = condition._data if isinstance(condition, Tensor) else np.asarray(condition)
    if cond.dtype != np.bool_:
        raise TypeError(f"where: condition must be a bool tensor, got {cond.dtype}")
    a, b = pair(input, other, "where")
    try:
        np.broadcast_shapes(cond.shape, a.shape, b.shape)
    except ValueError:
        raise RuntimeError(f"where: shapes condition {tuple(cond.shape)}, input "
                           f"{tuple(a.shape)} and other {tuple(b.shape)} can't be broadcast together") from None
    return Where.apply(a, b, cond=cond)


def clamp(x, min=None, max=None):  # noqa: A002
    """Limit values to ``[min, max]``; the gradient passes where ``min <= x <= max``."""
    if not isinstance(x, Tensor):
        raise not_tensor("clamp", x)
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = x
        if min is not None:
            out = maximum(out, min)
        if max is not None:
            out = minimum(out, max)
        return out
    if x._data.dtype.kind in "biu":   # promote as torch: int clamped by a float is float
        if isinstance(min, float) or isinstance(max, float):
            x = cast(x, get_default_dtype())
        elif x._data.dtype == np.bool_:
            x = cast(x, np.int64)
    t = x._data.dtype.type
    return Clamp.apply(x, lo=None if min is None else t(min), hi=None if max is None else t(max))


# ---------------------------------------------------------------------------------------------
# comparisons (bool results, never in the graph)
# ---------------------------------------------------------------------------------------------
def _compare(ufunc, name):
    def fn(a, b):
        a, b = pair(a, b, name)
        try:
            return _new(ufunc(a._data, b._data), False, None)
        except ValueError:
            raise broadcast_error(name, a, b) from None
    fn.__name__ = name
    return fn


eq = _compare(np.equal, "eq")
ne = _compare(np.not_equal, "ne")
lt = _compare(np.less, "lt")
le = _compare(np.less_equal, "le")
gt = _compare(np.greater, "gt")
ge = _compare(np.greater_equal, "ge")
logical_and = _compare(np.logical_and, "logical_and")
logical_or = _compare(np.logical_or, "logical_or")
logical_xor = _compare(np.logical_xor, "logical_xor")


def logical_not(x):
    return _new(np.logical_not(x._data), False, None)


def isnan(x):
    return _new(np.isnan(x._data), False, None)


def isfinite(x):
    return _new(np.isfinite(x._data), False, None)
