"""Weight initialization schemes (as ``torch.nn.init``).

Every function fills its tensor in place (outside the graph, as under ``no_grad``), bumps its
version counter, returns it, and takes an optional ``generator=`` (a :class:`chainrule.Generator`)
so that runs can be reproduced without touching the global seed.  Values are drawn in float64 by
NumPy and stored in the tensor's own dtype.

The lecture notes initialize weights as ``2 * rand - 1``, i.e. uniformly in [-1, 1): that is
``uniform_(w, -1, 1)`` (or :func:`notes_uniform_`).  PyTorch's default for ``uniform_`` is [0, 1),
kept here.  For ReLU units the notes advise a small positive bias, ``constant_(b, 0.01)``.

Example::

    w = cr.empty(256, 784)
    cr.nn.init.kaiming_uniform_(w, nonlinearity="relu", generator=cr.Generator().manual_seed(0))
"""
from __future__ import annotations

import math

import numpy as np

from ..random import get_rng
from ..tensor import Tensor

__all__ = ["calculate_gain", "uniform_", "normal_", "constant_", "ones_", "zeros_", "eye_",
           "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
           "trunc_normal_", "notes_uniform_", "_calculate_fan_in_and_fan_out"]


def _fill(tensor, values, name):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"init.{name}: expected a Tensor, got {type(tensor).__name__}")
    tensor._data[...] = values
    tensor._version += 1
    return tensor


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for a nonlinearity (PyTorch's table).

    Arguments:
        nonlinearity: 'linear', 'conv*', 'sigmoid', 'tanh', 'relu', 'leaky_relu', 'selu'.
        param: the negative slope for 'leaky_relu' (default 0.01).

    Returns:
        float: e.g. ``sqrt(2)`` for 'relu', ``5/3`` for 'tanh'.
    """
    linear = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
              "conv_transpose3d")
    if nonlinearity in linear or nonlinearity == "sigmoid":
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor):
    """``(fan_in, fan_out)``: ``(in, out)`` of a (out, in, *kernel) weight times the kernel size."""
    if tensor.ndim < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 "
                         f"dimensions (got shape {tuple(tensor.shape)})")
    receptive = int(np.prod(tensor.shape[2:])) if tensor.ndim > 2 else 1
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _fan(tensor, mode):
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Fill with U(a, b) (PyTorch's defaults a=0, b=1; the notes' ``2*rand-1`` is a=-1, b=1)."""
    return _fill(tensor, get_rng(generator).uniform(a, b, tensor.shape), "uniform_")


def notes_uniform_(tensor, generator=None):
    """The lecture notes' initialization ``w = 2 * rand - 1``: U(-1, 1)."""
    return uniform_(tensor, -1.0, 1.0, generator)


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Fill with N(mean, std^2)."""
    return _fill(tensor, get_rng(generator).normal(mean, std, tensor.shape), "normal_")


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """N(mean, std^2) resampled until inside [a, b] (vectorized rejection)."""
    rng = get_rng(generator)
    out = rng.normal(mean, std, tensor.shape)
    bad = (out < a) | (out > b)
    while bad.any():
        out[bad] = rng.normal(mean, std, int(bad.sum()))
        bad = (out < a) | (out > b)
    return _fill(tensor, out, "trunc_normal_")


def constant_(tensor, val):
    """Fill with ``val`` (the notes: a ReLU unit's bias 0.01 keeps it active at the start)."""
    return _fill(tensor, val, "constant_")


def ones_(tensor):
    return _fill(tensor, 1, "ones_")


def zeros_(tensor):
    return _fill(tensor, 0, "zeros_")


def eye_(tensor):
    if tensor.ndim != 2:
        raise ValueError(f"Only tensors with 2 dimensions are supported, got shape "
                         f"{tuple(tensor.shape)}")
    return _fill(tensor, np.eye(*tensor.shape), "eye_")


def xavier_uniform_(tensor, gain=1.0, generator=None):
    """U(-a, a) with ``a = gain * sqrt(6 / (fan_in + fan_out))`` (Glorot & Bengio, 2010)."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    a = gain * math.sqrt(6.0 / float(fan_in + fan_out))
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    """N(0, std^2) with ``std = gain * sqrt(2 / (fan_in + fan_out))``."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """U(-b, b) with ``b = gain * sqrt(3 / fan)`` (He et al., 2015).

    ``a`` is the negative slope used for the 'leaky_relu' gain.  ``nn.Linear`` uses
    ``a=sqrt(5)``, which gives ``b = 1/sqrt(fan_in)``.
    """
    if 0 in tensor.shape:
        return tensor
    fan = _fan(tensor, mode)
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """N(0, std^2) with ``std = gain / sqrt(fan)``."""
    if 0 in tensor.shape:
        return tensor
    fan = _fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return normal_(tensor, 0.0, std, generator)
