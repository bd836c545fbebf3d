"""Unary elementwise primitives: exp, log, the trigonometric and hyperbolic functions, the
activation units' tanh, sigmoid and relu, abs and sign.

Each op is one class (forward and backward side by side) and one exported wrapper, which makes its
``cr.`` function and ``Tensor`` method.  Integer inputs of the float functions become the default
float dtype first, as in PyTorch.
"""
from __future__ import annotations

from ..autograd.op import Op, export
from ._args import float_input, tensor_input
from .kernels import accelerated


class Exp(Op):
    save = ("out",)          # d/dx e^x = e^x: keep the output (Chainer's retain-output habit)

    def forward(ctx, xp, x):
        with xp.errstate(over="ignore"):
            return xp.exp(x)

    def backward(ctx, xp, g, y):
        return g * y


class Expm1(Op):
    save = ("out",)          # d/dx (e^x - 1) = y + 1

    def forward(ctx, xp, x):
        with xp.errstate(over="ignore"):
            return xp.expm1(x)

    def backward(ctx, xp, g, y):
        return g * (y + 1)


class Log(Op):
    save = ("x",)

    def forward(ctx, xp, x):
        with xp.errstate(divide="ignore", invalid="ignore"):
            return xp.log(x)

    def backward(ctx, xp, g, x):
        return g / x


class Log1p(Op):
    save = ("x",)

    def forward(ctx, xp, x):
        with xp.errstate(divide="ignore", invalid="ignore"):
            return xp.log1p(x)

    def backward(ctx, xp, g, x):
        return g / (x + 1)


class Sqrt(Op):
    save = ("out",)

    def forward(ctx, xp, x):
        with xp.errstate(invalid="ignore"):
            return xp.sqrt(x)

    def backward(ctx, xp, g, y):
        with xp.errstate(divide="ignore"):
            return g / (y * 2)


class Sin(Op):
    save = ("x",)

    def forward(ctx, xp, x):
        return xp.sin(x)

    def backward(ctx, xp, g, x):
        return g * xp.cos(x)


class Cos(Op):
    save = ("x",)

    def forward(ctx, xp, x):
        return xp.cos(x)

    def backward(ctx, xp, g, x):
        return -g * xp.sin(x)


class Sinh(Op):
    save = ("x",)

    def forward(ctx, xp, x):
        with xp.errstate(over="ignore"):
            return xp.sinh(x)

    def backward(ctx, xp, g, x):
        return g * xp.cosh(x)


class Cosh(Op):
    save = ("x",)

    def forward(ctx, xp, x):
        with xp.errstate(over="ignore"):
            return xp.cosh(x)

    def backward(ctx, xp, g, x):
        return g * xp.sinh(x)


class Tanh(Op):
    save = ("out",)

    def forward(ctx, xp, x):
        return xp.tanh(x)

    def backward(ctx, xp, g, y):
        return g * (1 - y * y)


class Sigmoid(Op):
    save = ("out",)

    def forward(ctx, xp, x):
        # 1 / (1 + e^-x) in four passes; e^-x overflows to inf for very negative x, which gives
        # the correctly rounded 0 (as PyTorch), so the overflow is expected and silenced.
        y = xp.negative(x)
        if type(y) is not xp.ndarray:   # 0-d input
            y = xp.array(y)
        with xp.errstate(over="ignore"):
            xp.exp(y, out=y)
        y += 1
        xp.reciprocal(y, out=y)
        return y

    def backward(ctx, xp, g, y):
        return g * (y * (1 - y))


@accelerated(min_size=16384, load_from=65536)   # ops/kernels.py: when numba pays
def positive_part(xp, x):
    """max(x, 0) (NaN stays NaN, -0.0 becomes 0.0)."""
    return xp.maximum(x, 0)


@accelerated(min_size=16384, load_from=65536)
def grad_where_positive(xp, g, y):
    """``g`` where ``y > 0``, else ``g * 0`` (arrays, or tensors under create_graph)."""
    return g * (y > 0)


class Relu(Op):
    """max(0, x); the gradient mask is read from the output (a constant almost everywhere)."""
    save = ("out",)

    def forward(ctx, xp, x):
        return positive_part(xp, x)

    def backward(ctx, xp, g, y):
        return grad_where_positive(xp, g, y)


class Abs(Op):
    save = ("x",)

    def forward(ctx, xp, x):
        return xp.abs(x)

    def backward(ctx, xp, g, x):
        return g * xp.sign(x)


class Sign(Op):
    """Sign of each element; its derivative is zero (the result stays in the graph, as torch)."""

    def forward(ctx, xp, x):
        return xp.sign(x)

    def backward(ctx, xp, g):
        return g * 0


def _float_unary(op, name, doc):
    def fn(input):
        return op.apply(float_input(input, name))
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"{doc} (as ``torch.{name}``); integer inputs become the default float dtype."
    fn.__module__ = __name__
    return export(fn, method=True)


exp = _float_unary(Exp, "exp", "Elementwise e^x")
expm1 = _float_unary(Expm1, "expm1", "Elementwise e^x - 1, exact for small x")
log = _float_unary(Log, "log", "Elementwise natural logarithm")
log1p = _float_unary(Log1p, "log1p", "Elementwise log(1 + x), exact for small x")
sqrt = _float_unary(Sqrt, "sqrt", "Elementwise square root")
sin = _float_unary(Sin, "sin", "Elementwise sine")
cos = _float_unary(Cos, "cos", "Elementwise cosine")
sinh = _float_unary(Sinh, "sinh", "Elementwise hyperbolic sine")
cosh = _float_unary(Cosh, "cosh", "Elementwise hyperbolic cosine")
tanh = _float_unary(Tanh, "tanh", "Elementwise hyperbolic tangent")
sigmoid = _float_unary(Sigmoid, "sigmoid", "Elementwise logistic function 1 / (1 + e^-x)")


@export(method=True)
def relu(input):
    """max(0, x) elementwise (as ``torch.relu``); keeps the input's dtype."""
    return Relu.apply(tensor_input(input, "relu"))


@export(method=("abs", "__abs__"))
def abs(input):  # noqa: A001
    """Elementwise absolute value (as ``torch.abs``); keeps the input's dtype."""
    return Abs.apply(tensor_input(input, "abs"))


@export(method=True)
def sign(input):
    """Sign of each element (as ``torch.sign``); the gradient through it is zero."""
    return Sign.apply(tensor_input(input, "sign"))
