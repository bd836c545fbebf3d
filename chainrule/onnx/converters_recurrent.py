"""Converters for the recurrent layers (RNN, LSTM, GRU -> ONNX RNN, LSTM, GRU) and Embedding.

One ONNX node per layer of the stack (both directions in one node), time-major (ONNX's layout
0, the one every runtime implements; ``batch_first`` becomes a Transpose on each side). What
differs between PyTorch's weights and ONNX's:

* gate order: PyTorch stacks an LSTM's gates as i, f, g, o and ONNX as i, o, f, c (c is
  PyTorch's g); a GRU's as r, z, n and ONNX as z, r, h;
* PyTorch's GRU applies the reset gate after the recurrent product,
  ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``: ONNX's ``linear_before_reset=1``;
* ONNX's weights have a leading direction axis, its bias is ``[W_b, R_b]`` in one row per
  direction, and its ``Y`` is ``(seq, directions, batch, hidden)`` where PyTorch concatenates
  the directions on the feature axis.
"""
from __future__ import annotations

import numpy as np

from .. import nn
from ..autograd.function import _new, no_grad
from .converters import converter

# ONNX op, PyTorch's gate blocks in ONNX's order, activation of a plain RNN
_MODES = {"RNN_TANH": ("RNN", [0], "Tanh"), "RNN_RELU": ("RNN", [0], "Relu"),
          "LSTM": ("LSTM", [0, 3, 1, 2], None), "GRU": ("GRU", [1, 0, 2], None)}


def _reorder(p, order, hidden):
    a = p.detach().numpy()
    return np.concatenate([a[k * hidden:(k + 1) * hidden] for k in order], axis=0)


def _weights(g, m, layer, order):
    """ONNX's W (D, G*H, in), R (D, G*H, H) and B (D, 2*G*H) of one layer, or B = ""."""
    H, sfx = m.hidden_size, ("", "_reverse")[:m.num_directions]
    def get(base):
        return np.stack([_reorder(getattr(m, f"{base}_l{layer}{s}"), order, H) for s in sfx])
    W, R = g.const(get("weight_ih"), "W"), g.const(get("weight_hh"), "R")
    if not m.bias:
        return W, R, ""
    return W, R, g.const(np.concatenate([get("bias_ih"), get("bias_hh")], axis=1), "B")


def _layer_state(g, state, layer, D, L):
    """Rows ``layer*D : (layer+1)*D`` of an initial state (num_layers*D, batch, H)."""
    if state is None:
        return ""
    if L == 1:
        return state
    return g.node("Slice", [state, g.ints([layer * D]), g.ints([(layer + 1) * D]), g.ints([0])],
                  "h0_layer")


def _check_state_given(m, xv, yv):
    """The hook sees positional arguments only: make sure no ``hx=`` keyword was passed, which
    would be left out of the graph (a zero state instead of the user's, silently)."""
    was = m.training
    m.eval()                     # as in the trace: no dropout between layers
    try:
        with no_grad():
            out = m(_new(xv, False, None))[0]._data
    finally:
        m.train(was)
    if not np.array_equal(out, yv):
        raise ValueError("its output depends on an initial state the exporter did not see (was "
                         "it passed as a keyword, hx=...?); pass the state positionally: "
                         "layer(x, hx)")


@converter(nn.RNN, nn.LSTM, nn.GRU, several=True)
def _recurrent(g, m, args, values, yv):
    if len(args) > 2:
        raise ValueError(f"expected (input) or (input, hx), got {len(args)} arguments")
    op, order, act = _MODES[m.mode]
    lstm = op == "LSTM"
    x, xv = args[0], values[0]
    hx = args[1] if len(args) > 1 else None
    if hx is None:
        _check_state_given(m, xv, yv[0])
    states = (list(hx) if lstm else [hx]) if hx is not None else [None, None]
    batched = xv.ndim == 3
    if not batched:          # (L, H_in): one sequence, run as a batch of one
        x = g.node("Unsqueeze", [x, g.ints([1])], "batched")
        states = [s if s is None else g.node("Unsqueeze", [s, g.ints([1])], "batched")
                  for s in states]
    elif m.batch_first:
        x = g.node("Transpose", [x], "time_major", perm=[1, 0, 2])
    H, D, L = m.hidden_size, m.num_directions, m.num_layers
    attrs = {"hidden_size": H, "direction": "bidirectional" if D == 2 else "forward"}
    if act is not None:
        attrs["activations"] = [act] * D
    if op == "GRU":
        attrs["linear_before_reset"] = 1
    finals = [[], []]
    for layer in range(L):
        W, R, B = _weights(g, m, layer, order)
        ins = [x, W, R, B, "", _layer_state(g, states[0], layer, D, L)]
        if lstm:
            ins.append(_layer_state(g, states[1], layer, D, L))
        while ins[-1] == "":
            ins.pop()
        outs = g.node(op, ins, ["Y", "Y_h", "Y_c"][:3 if lstm else 2], outputs=3 if lstm else 2,
                      **attrs)
        y = outs[0]                                   # (T, D, B, H)
        if D == 1:
            x = g.node("Squeeze", [y, g.ints([1])], "layer_out")
        else:                                         # directions onto the feature axis
            y = g.node("Transpose", [y], perm=[0, 2, 1, 3])
            x = g.node("Reshape", [y, g.ints([0, 0, -1])], "layer_out")
        finals[0].append(outs[1])
        if lstm:
            finals[1].append(outs[2])
    finals = [f[0] if len(f) == 1 else g.node("Concat", f, "h_n", axis=0)
              for f in finals[:2 if lstm else 1]]
    if not batched:
        x = g.node("Squeeze", [x, g.ints([1])], "output")
        finals = [g.node("Squeeze", [f, g.ints([1])], "h_n") for f in finals]
    elif m.batch_first:
        x = g.node("Transpose", [x], "output", perm=[1, 0, 2])
    return (x, tuple(finals)) if lstm else (x, finals[0])


@converter(nn.Embedding)
def _embedding(g, m, x, xv, yv):
    if xv.dtype.kind not in "iu":
        raise ValueError(f"expected integer indices, got dtype {xv.dtype}")
    return g.node("Gather", [g.const(m.weight.detach().numpy(), "weight"), x], axis=0)
