"""One converter per layer: ``CONVERTERS[LayerClass] = fn(g, module, x, x_value, y_value)``.

``g`` is the :class:`~chainrule.onnx._graph.Graph`, ``x`` the name of the layer's input in the
ONNX graph, ``x_value``/``y_value`` the layer's input and output on the example input (NumPy
arrays, for shapes). A converter adds nodes and returns the name of the layer's output. A layer
class is looked up along its MRO, so a subclass of ``Linear`` exports as ``Linear``. Layers with
several inputs or outputs (the recurrent ones) register with ``several=True`` (see
:func:`converter`).

Adding a layer is one entry::

    @converter(nn.Conv2d)
    def _conv(g, m, x, xv, yv):
        w = g.const(m.weight.detach().numpy(), "weight")
        ...
        return g.node("Conv", [x, w, b], kernel_shape=list(m.kernel_size), ...)
"""
from __future__ import annotations

import math

import numpy as np

from .. import nn
from ..nn import functional as F

CONVERTERS = {}


def converter(*classes, several=False):
    """Register the decorated function as the ONNX converter of ``classes``.

    With ``several=True`` the layer may take several inputs and return several outputs (an LSTM
    takes ``(input, (h_0, c_0))`` and returns ``(output, (h_n, c_n))``): the converter is called
    as ``fn(g, module, args, arg_values, out_value)`` where ``args`` mirrors the call's positional
    arguments with each tensor replaced by its ONNX name (``None`` stays ``None``) and
    ``arg_values`` holds the NumPy arrays; it returns names in the structure of the output."""
    def deco(fn):
        fn.several = bool(several)
        for cls in classes:
            CONVERTERS[cls] = fn
        return fn
    return deco


def find(module):
    """The converter for ``module``'s class (or a base class), or None."""
    for cls in type(module).__mro__:
        fn = CONVERTERS.get(cls)
        if fn is not None:
            return fn
    return None


def _w(g, p, name):
    return g.const(p.detach().numpy(), name)


def _unary(op, **attrs):
    return lambda g, m, x, xv, yv: g.node(op, [x], **attrs)


# -- layers with parameters ----------------------------------------------------------------------
@converter(nn.Linear)
def _linear(g, m, x, xv, yv):
    if xv.ndim == 2:
        ins = [x, _w(g, m.weight, "weight")] + ([_w(g, m.bias, "bias")] if m.bias is not None
                                                else [])
        return g.node("Gemm", ins, transB=1)
    y = g.node("MatMul", [x, g.const(m.weight.detach().numpy().T, "weight_t")])
    return y if m.bias is None else g.node("Add", [y, _w(g, m.bias, "bias")])


@converter(nn.Maxout)
def _maxout(g, m, x, xv, yv):
    z = _linear(g, m.linear, x, xv, None)
    shape = [0] * (xv.ndim - 1) + [m.out_features, m.pieces]
    z = g.node("Reshape", [z, g.const(shape, "shape", np.int64)])
    return g.reduce("ReduceMax", z, [xv.ndim], keepdims=False)


@converter(nn.PReLU)
def _prelu(g, m, x, xv, yv):
    w = m.weight.detach().numpy()
    if w.size != 1:
        ch = 1 if xv.ndim >= 2 else 0
        w = w.reshape((-1,) + (1,) * (xv.ndim - ch - 1))
    return g.node("PRelu", [x, g.const(w.reshape(w.shape or (1,)), "slope")])


# -- pass-through in eval mode -------------------------------------------------------------------
@converter(nn.Identity, nn.Dropout)
def _identity(g, m, x, xv, yv):
    return x


# -- units ---------------------------------------------------------------------------------------
converter(nn.ReLU)(_unary("Relu"))
converter(nn.Sigmoid)(_unary("Sigmoid"))
converter(nn.Tanh)(_unary("Tanh"))
converter(nn.AbsReLU)(_unary("Abs"))


@converter(nn.LeakyReLU)
def _leaky(g, m, x, xv, yv):
    return g.node("LeakyRelu", [x], alpha=float(m.negative_slope))


@converter(nn.ELU)
def _elu(g, m, x, xv, yv):
    return g.node("Elu", [x], alpha=float(m.alpha))


@converter(nn.SELU)
def _selu(g, m, x, xv, yv):
    return g.node("Selu", [x], alpha=F._SELU_ALPHA, gamma=F._SELU_SCALE)


@converter(nn.SiLU)
def _silu(g, m, x, xv, yv):
    return g.node("Mul", [x, g.node("Sigmoid", [x])])


@converter(nn.GELU)
def _gelu(g, m, x, xv, yv):
    half, one = g.const(0.5, "half"), g.const(1.0, "one")
    if m.approximate == "tanh":
        cube = g.node("Mul", [g.node("Mul", [x, x]), x])
        inner = g.node("Add", [x, g.node("Mul", [cube, g.const(0.044715, "c")])])
        t = g.node("Tanh", [g.node("Mul", [inner, g.const(math.sqrt(2 / math.pi), "k")])])
    else:
        t = g.node("Erf", [g.node("Mul", [x, g.const(1 / math.sqrt(2.0), "rsqrt2")])])
    return g.node("Mul", [g.node("Mul", [x, g.node("Add", [t, one])]), half])


@converter(nn.Softplus)
def _softplus(g, m, x, xv, yv):
    bx = x if m.beta == 1 else g.node("Mul", [x, g.const(m.beta, "beta")])
    sp = g.node("Softplus", [bx])
    if m.beta != 1:
        sp = g.node("Div", [sp, g.const(m.beta, "beta")])
    big = g.node("Greater", [bx, g.const(m.threshold, "threshold")])
    return g.node("Where", [big, x, sp])     # linear above the threshold, as chainrule/PyTorch


@converter(nn.LogSigmoid)
def _logsigmoid(g, m, x, xv, yv):
    return g.node("Neg", [g.node("Softplus", [g.node("Neg", [x])])])


@converter(nn.Hardtanh)
def _hardtanh(g, m, x, xv, yv):
    return g.node("Clip", [x, g.const(m.min_val, "min"), g.const(m.max_val, "max")])


@converter(nn.Step)
def _step(g, m, x, xv, yv):
    return g.node("Cast", [g.node("Greater", [x, g.const(0.0, "zero")])], to=g.elem_type())


@converter(nn.Threshold)
def _threshold(g, m, x, xv, yv):
    cond = g.node("Greater", [x, g.const(m.threshold, "threshold")])
    return g.node("Where", [cond, x, g.const(m.value, "value")])


def _axis(m, xv, what):
    if m.dim is None:
        raise ValueError(f"{what} has dim=None; give it a dim to export it")
    return int(m.dim) % max(xv.ndim, 1)


@converter(nn.Softmax)
def _softmax(g, m, x, xv, yv):
    return g.node("Softmax", [x], axis=_axis(m, xv, "Softmax"))


@converter(nn.LogSoftmax)
def _log_softmax(g, m, x, xv, yv):
    return g.node("LogSoftmax", [x], axis=_axis(m, xv, "LogSoftmax"))


# -- shapes --------------------------------------------------------------------------------------
@converter(nn.Flatten)
def _flatten(g, m, x, xv, yv):
    nd = xv.ndim
    start, end = m.start_dim % nd, m.end_dim % nd
    if start == 1 and end == nd - 1:
        return g.node("Flatten", [x], axis=1)
    # keep the dims before start_dim as they are (0 copies the input's, so batch stays dynamic)
    shape = [0] * start + [-1] + list(xv.shape[end + 1:])
    return g.node("Reshape", [x, g.const(shape, "shape", np.int64)])


# -- indexing between layers (``out[:, -1]``), read from the autograd graph of the trace -------
_INT64_MAX, _INT64_MIN = 2 ** 63 - 1, -2 ** 63


def index(g, x, ndim, key):
    """``x[key]`` for a basic key (ints, slices, ``None``, ``...``): Slice, Gather, Unsqueeze.

    Each int becomes a Gather of a scalar index (which drops the axis and takes negative
    indices), so ``out[:, -1]`` stays right for any sequence length."""
    key = key if isinstance(key, tuple) else (key,)
    for k in key:
        if not (k is None or k is Ellipsis or isinstance(k, (int, np.integer, slice))):
            raise ValueError("indexing with arrays or masks between layers cannot be exported "
                             "(only ints, slices, None and ...)")
    n_real = sum(1 for k in key if k is not None and k is not Ellipsis)
    if Ellipsis in key:
        i = key.index(Ellipsis)
        key = key[:i] + (slice(None),) * (ndim - n_real) + key[i + 1:]
    axis = 0
    for k in key:
        if k is None:
            x = g.node("Unsqueeze", [x, g.ints([axis])], "unsqueeze")
            axis += 1
        elif isinstance(k, slice):
            if k != slice(None):
                step = 1 if k.step is None else int(k.step)
                start = k.start if k.start is not None else (0 if step > 0 else _INT64_MAX)
                stop = k.stop if k.stop is not None else (_INT64_MAX if step > 0
                                                          else _INT64_MIN)
                x = g.node("Slice", [x, g.ints([start]), g.ints([stop]), g.ints([axis]),
                                     g.ints([step])], "slice")
            axis += 1
        else:
            x = g.node("Gather", [x, g.const(np.int64(k), "index", np.int64)], "select",
                       axis=axis)
    return x
