"""Recurrent layers over whole sequences: RNN, LSTM, GRU (as ``torch.nn``).

Each layer and direction runs as one fused graph node (:mod:`chainrule.ops.recurrent`), so a
50-step sequence is one node, not 50 cells' worth of small ones.  Weight names, shapes, gate order
(LSTM i, f, g, o; GRU r, z, n), initialisation U(-1/sqrt(hidden), 1/sqrt(hidden)) and the outputs
are PyTorch's, so ``load_state_dict`` of a PyTorch model's arrays gives the same numbers.

Example::

    lstm = cr.nn.LSTM(input_size=32, hidden_size=128, num_layers=2, batch_first=True)
    out, (h_n, c_n) = lstm(cr.randn(64, 50, 32))     # out (64, 50, 128), h_n (2, 64, 128)
"""
from __future__ import annotations

import math

import numpy as np

from .. import dtypes
from ..autograd.function import _new
from ..ops.movement import cat, getitem, stack, transpose
from ..ops.recurrent import gru_sequence, lstm_sequence, rnn_sequence
from ..tensor import Tensor
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter
from .utils.rnn import PackedSequence, packed_to_time_major, time_major_to_packed_data

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


class RNNBase(Module):
    """Shared machinery of :class:`RNN`, :class:`LSTM` and :class:`GRU`."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None,
                 generator=None):
        super().__init__()
        name = type(self).__name__
        if not isinstance(hidden_size, int) or hidden_size <= 0:
            raise ValueError(f"{name}: hidden_size must be a positive int, got {hidden_size!r}")
        if not isinstance(num_layers, int) or num_layers <= 0:
            raise ValueError(f"{name}: num_layers must be a positive int, got {num_layers!r}")
        if not 0 <= float(dropout) <= 1:
            raise ValueError(f"{name}: dropout must be a number in [0, 1], got {dropout!r}")
        if proj_size:
            raise NotImplementedError(f"{name}: proj_size is not supported yet")
        self.mode, self.input_size, self.hidden_size = mode, int(input_size), hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bool(bias), bool(batch_first)
        self.dropout, self.bidirectional, self.proj_size = float(dropout), bool(bidirectional), 0
        if self.dropout > 0 and num_layers == 1:
            import warnings
            warnings.warn(f"{name}: dropout={dropout} and num_layers=1: dropout acts between "
                          "layers, so it does nothing here", UserWarning, stacklevel=3)
        dt = dtypes.as_dtype(dtypes.get_default_dtype() if dtype is None else dtype)
        g = _GATES[mode] * hidden_size
        self._flat_weights_names = []
        for layer in range(num_layers):
            n_in = self.input_size if layer == 0 else hidden_size * self.num_directions
            for suffix in ("", "_reverse")[:self.num_directions]:
                shapes = [("weight_ih", (g, n_in)), ("weight_hh", (g, hidden_size))]
                if self.bias:
                    shapes += [("bias_ih", (g,)), ("bias_hh", (g,))]
                for base, shape in shapes:
                    key = f"{base}_l{layer}{suffix}"
                    setattr(self, key, Parameter(np.empty(shape, dtype=dt)))
                    self._flat_weights_names.append(key)
        self.reset_parameters(generator)

    @property
    def num_directions(self):
        return 2 if self.bidirectional else 1

    def reset_parameters(self, generator=None):
        bound = 1.0 / math.sqrt(self.hidden_size)
        for key in self._flat_weights_names:
            init.uniform_(getattr(self, key), -bound, bound, generator=generator)

    def flatten_parameters(self):
        """No-op, for PyTorch code that calls it (the weights are always used as they are)."""

    @property
    def all_weights(self):
        per = 4 if self.bias else 2
        ws = [getattr(self, k) for k in self._flat_weights_names]
        return [ws[i:i + per] for i in range(0, len(ws), per)]

    # -- input checks ----------------------------------------------------------------------------
    def _describe(self):
        return f"{type(self).__name__}({self.input_size}, {self.hidden_size})"

    def _check_input(self, x, packed):
        if not isinstance(x, Tensor):
            raise TypeError(f"{self._describe()} expects a Tensor or PackedSequence input, got "
                            f"{type(x).__name__}")
        want = 2 if packed else (2, 3)
        if (x.ndim != want) if packed else (x.ndim not in want):
            layout = "(L, N, H_in)" if not self.batch_first else "(N, L, H_in)"
            raise ValueError(f"{self._describe()}: expected input of shape {layout} or (L, H_in), "
                             f"got {tuple(x.shape)}")
        if x.shape[-1] != self.input_size:
            raise RuntimeError(f"{self._describe()}: input.size(-1) must be equal to input_size. "
                               f"Expected {self.input_size}, got {x.shape[-1]} (input shape "
                               f"{tuple(x.shape)})")
        w = self.weight_ih_l0
        if x.dtype != w.dtype:
            raise RuntimeError(f"{self._describe()}: input has dtype {x.dtype} but the weights are "
                               f"{w.dtype} (call .double() / .float() on the model or the input)")

    def _check_state(self, h, batch, what, batched):
        expected = (self.num_layers * self.num_directions, batch, self.hidden_size)
        if not batched:
            expected = (expected[0], expected[2])
        if not isinstance(h, Tensor) or tuple(h.shape) != expected:
            raise RuntimeError(f"{self._describe()}: expected {what} of shape {expected}, got "
                               f"{tuple(getattr(h, 'shape', ()))} (num_layers * num_directions, "
                               "batch, hidden_size)")
        if h.dtype != self.weight_ih_l0.dtype:
            raise RuntimeError(f"{self._describe()}: {what} has dtype {h.dtype}, the weights "
                               f"{self.weight_ih_l0.dtype}")

    # -- forward -------------------------------------------------------------------------------
    def forward(self, input, hx=None):
        packed = isinstance(input, PackedSequence)
        is_lstm = self.mode == "LSTM"
        if packed:
            self._check_input(input.data, True)
            x, lengths = packed_to_time_major(input)
            batched, sorted_idx = True, input.sorted_indices
        else:
            self._check_input(input, False)
            batched, lengths, sorted_idx = input.ndim == 3, None, None
            x = input if batched else input.unsqueeze(1)
            if batched and self.batch_first:
                x = transpose(x, 0, 1)
        T, B = x.shape[:2]
        states = None
        if hx is not None:
            if is_lstm:
                if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                    raise TypeError(f"{self._describe()}: hx must be a tuple (h_0, c_0)")
                states = list(hx)
            else:
                states = [hx]
            for i, s in enumerate(states):
                self._check_state(s, B, ("h_0", "c_0")[i], batched)
                if not batched:
                    states[i] = s.unsqueeze(1)
                elif sorted_idx is not None:
                    states[i] = getitem(s, (slice(None), sorted_idx._data))
        zeros = _new(np.zeros((B, self.hidden_size), dtype=x._data.dtype), False, None)
        h_n, c_n = [], []
        layer_in = x
        for layer in range(self.num_layers):
            outs = []
            for d, suffix in enumerate(("", "_reverse")[:self.num_directions]):
                k = layer * self.num_directions + d
                h0 = zeros if states is None else getitem(states[0], k)
                ws = [getattr(self, f"{b}_l{layer}{suffix}") for b in
                      (("weight_ih", "weight_hh", "bias_ih", "bias_hh") if self.bias else
                       ("weight_ih", "weight_hh"))]
                rev = d == 1
                if is_lstm:
                    c0 = zeros if states is None else getitem(states[1], k)
                    out, h, c = lstm_sequence(layer_in, h0, c0, *ws, reverse=rev, lengths=lengths)
                    c_n.append(c)
                elif self.mode == "GRU":
                    out, h = gru_sequence(layer_in, h0, *ws, reverse=rev, lengths=lengths)
                else:
                    out, h = rnn_sequence(layer_in, h0, *ws, reverse=rev, lengths=lengths,
                                          nonlinearity="tanh" if self.mode == "RNN_TANH"
                                          else "relu")
                outs.append(out)
                h_n.append(h)
            layer_in = outs[0] if len(outs) == 1 else cat(outs, -1)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                layer_in = F.dropout(layer_in, self.dropout, training=True)
        finals = [stack(h_n, 0)] + ([stack(c_n, 0)] if is_lstm else [])
        if packed:
            if input.unsorted_indices is not None:
                finals = [getitem(f, (slice(None), input.unsorted_indices._data)) for f in finals]
            output = PackedSequence(time_major_to_packed_data(layer_in, input.batch_sizes),
                                    input.batch_sizes, input.sorted_indices,
                                    input.unsorted_indices)
        elif not batched:
            output = layer_in.squeeze(1)
            finals = [f.squeeze(1) for f in finals]
        else:
            output = transpose(layer_in, 0, 1) if self.batch_first else layer_in
        return output, (tuple(finals) if is_lstm else finals[0])

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class RNN(RNNBase):
    """Elman RNN: ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`` (or ReLU), as
    ``torch.nn.RNN``; returns ``(output, h_n)``."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None,
                 generator=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: unknown nonlinearity {nonlinearity!r}; expected 'tanh' or "
                             "'relu'")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         dtype=dtype, generator=generator)
        self.nonlinearity = nonlinearity

    def extra_repr(self):
        s = super().extra_repr()
        return s + (", nonlinearity='relu'" if self.nonlinearity == "relu" else "")


class LSTM(RNNBase):
    """Long short-term memory, as ``torch.nn.LSTM``; returns ``(output, (h_n, c_n))``.

    Gates (PyTorch's order i, f, g, o in the stacked weights): ``i, f, o = sigmoid(.)``,
    ``g = tanh(.)``, ``c_t = f * c_{t-1} + i * g``, ``h_t = o * tanh(c_t)``."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None,
                 generator=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, dtype=dtype, generator=generator)


class GRU(RNNBase):
    """Gated recurrent unit, as ``torch.nn.GRU``; returns ``(output, h_n)``.

    ``r, z = sigmoid(.)``, ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``,
    ``h_t = (1 - z) * n + z * h_{t-1}`` (PyTorch's gate order r, z, n)."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None, generator=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, dtype=dtype, generator=generator)
