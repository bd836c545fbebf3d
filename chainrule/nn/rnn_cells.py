"""One time step of a recurrent network: RNNCell, LSTMCell, GRUCell (as ``torch.nn``).

Written as plain composites of ``linear``, ``sigmoid``, ``tanh`` and slicing, with no backward
of their own: the chain rule through time is visible (and second derivatives come free).  The
whole-sequence layers in :mod:`chainrule.nn.rnn` compute the same numbers in one fused node; the
tests use these cells as their reference.

Example (backpropagation through time by hand, truncated every 20 steps with ``detach``)::

    cell = cr.nn.LSTMCell(8, 16)
    h = c = cr.zeros(4, 16)
    for t in range(x.shape[0]):
        if t % 20 == 0:
            h, c = h.detach(), c.detach()
        h, c = cell(x[t], (h, c))
"""
from __future__ import annotations

import math

import numpy as np

from .. import dtypes
from ..autograd.function import _new
from ..ops.elementwise import relu, sigmoid, tanh
from ..ops.linalg import linear
from ..tensor import Tensor
from . import init
from .module import Module
from .parameter import Parameter


class _CellBase(Module):
    gates = 1

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None,
                 generator=None):
        super().__init__()
        self.input_size, self.hidden_size, self.bias = int(input_size), int(hidden_size), bias
        dt = dtypes.as_dtype(dtypes.get_default_dtype() if dtype is None else dtype)
        g = self.gates * self.hidden_size
        self.weight_ih = Parameter(np.empty((g, self.input_size), dtype=dt))
        self.weight_hh = Parameter(np.empty((g, self.hidden_size), dtype=dt))
        if bias:
            self.bias_ih = Parameter(np.empty((g,), dtype=dt))
            self.bias_hh = Parameter(np.empty((g,), dtype=dt))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters(generator)

    def reset_parameters(self, generator=None):
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound, generator=generator)

    def _prepare(self, x, states):
        """Checks shapes; returns ``(x (B, I), states (B, H) each, batched)``."""
        name = f"{type(self).__name__}({self.input_size}, {self.hidden_size})"
        if not isinstance(x, Tensor) or x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            raise RuntimeError(f"{name}: expected input of shape (N, {self.input_size}) or "
                               f"({self.input_size},), got {tuple(getattr(x, 'shape', ()))}")
        batched = x.ndim == 2
        if not batched:
            x = x.unsqueeze(0)
        out = []
        for i, s in enumerate(states):
            if s is None:
                s = _new(np.zeros((x.shape[0], self.hidden_size), dtype=x._data.dtype),
                         False, None)
            else:
                want = (x.shape[0], self.hidden_size) if batched else (self.hidden_size,)
                if tuple(s.shape) != want:
                    raise RuntimeError(f"{name}: expected state {i} of shape {want}, got "
                                       f"{tuple(s.shape)}")
                if not batched:
                    s = s.unsqueeze(0)
            out.append(s)
        return x, out, batched

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


class RNNCell(_CellBase):
    """``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)`` (or ReLU), as ``torch.nn.RNNCell``."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None,
                 dtype=None, generator=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: unknown nonlinearity {nonlinearity!r}")
        super().__init__(input_size, hidden_size, bias, dtype=dtype, generator=generator)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        x, (h,), batched = self._prepare(input, [hx])
        s = linear(x, self.weight_ih, self.bias_ih) + linear(h, self.weight_hh, self.bias_hh)
        h = tanh(s) if self.nonlinearity == "tanh" else relu(s)
        return h if batched else h.squeeze(0)


class LSTMCell(_CellBase):
    """One LSTM step, as ``torch.nn.LSTMCell``; returns ``(h', c')``.

    ``i, f, g, o`` = the four quarters of ``x W_ih^T + b_ih + h W_hh^T + b_hh``;
    ``c' = sigmoid(f) * c + sigmoid(i) * tanh(g)``, ``h' = sigmoid(o) * tanh(c')``."""
    gates = 4

    def forward(self, input, hx=None):
        x, (h, c), batched = self._prepare(input, [None, None] if hx is None else list(hx))
        H = self.hidden_size
        s = linear(x, self.weight_ih, self.bias_ih) + linear(h, self.weight_hh, self.bias_hh)
        i, f = sigmoid(s[:, :H]), sigmoid(s[:, H:2 * H])
        g, o = tanh(s[:, 2 * H:3 * H]), sigmoid(s[:, 3 * H:])
        c = f * c + i * g
        h = o * tanh(c)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(_CellBase):
    """One GRU step, as ``torch.nn.GRUCell``.

    ``r, z = sigmoid(.)`` of the first two thirds, ``n = tanh(x W_in^T + b_in + r * (h W_hn^T +
    b_hn))``, ``h' = (1 - z) * n + z * h``."""
    gates = 3

    def forward(self, input, hx=None):
        x, (h,), batched = self._prepare(input, [hx])
        H = self.hidden_size
        gi = linear(x, self.weight_ih, self.bias_ih)
        gh = linear(h, self.weight_hh, self.bias_hh)
        r = sigmoid(gi[:, :H] + gh[:, :H])
        z = sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
        n = tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
        h = (1 - z) * n + z * h
        return h if batched else h.squeeze(0)
