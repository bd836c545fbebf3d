"""Composite functions (as ``torch.nn.functional``, usually imported as ``F``).

Everything here is built from primitives in :mod:`chainrule.ops`; there is no backward code in
this file: autograd differentiates the composition.  The losses live in
:mod:`chainrule.nn._functional_loss` and are re-exported here.

Example::

    import chainrule.nn.functional as F
    y = F.leaky_relu(x, 0.1)
    loss = F.cross_entropy(logits, target)
"""
from __future__ import annotations

import math

import numpy as np

from ..tensor import _new
from ..ops.elementwise import abs as _abs, exp, relu, sigmoid, tanh
from ..ops.compare import clamp, where
from ..ops.arithmetic import mul
from ..ops.linalg import linear
from ..ops.conv import conv1d, conv2d, conv_transpose2d
from ..ops.movement import flatten, getitem, reshape
from ..ops.reduce import log_softmax, max as _max, softmax
from ..ops.special import Dropout as _Dropout, erf, softplus as _softplus, step
from ..tensor import Tensor
from ._functional_loss import (binary_cross_entropy, binary_cross_entropy_with_logits,
                               cross_entropy, gaussian_nll_loss, huber_loss, kl_div, l1_loss,
                               mse_loss, nll_loss, smooth_l1_loss)
from ._functional_conv import (adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_max_pool2d,
                               avg_pool1d, avg_pool2d, batch_norm, dropout2d, group_norm,
                               layer_norm, max_pool1d, max_pool2d, pad)

__all__ = ["linear", "relu", "sigmoid", "tanh", "leaky_relu", "prelu", "abs_relu", "elu", "selu",
           "softplus", "gelu", "silu", "hardtanh", "relu6", "hard_threshold", "step", "identity",
           "softmax", "log_softmax", "logsigmoid", "maxout", "dropout", "flatten", "erf",
           "threshold", "one_hot", "pad",
           "conv1d", "conv2d", "conv_transpose2d", "max_pool1d", "max_pool2d", "avg_pool1d",
           "avg_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool2d",
           "batch_norm", "layer_norm", "group_norm", "dropout2d",
           "mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "cross_entropy", "nll_loss", "gaussian_nll_loss",
           "kl_div", "embedding"]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _floating(x, name):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a Tensor, got {type(x).__name__}")
    if x._data.dtype.kind != "f":
        from ..ops.cast import cast
        return cast(x, np.float32)
    return x


def identity(x):
    """The linear (identity) unit g(s) = s."""
    return x


def leaky_relu(x, negative_slope=0.01, inplace=False):
    """g(s) = s for s > 0, ``negative_slope * s`` otherwise (the notes' 0.01 by default)."""
    x = _floating(x, "leaky_relu")
    return where(x._data > 0, x, x * negative_slope)


def prelu(x, weight):
    """The notes' g(s, a) = max(0, s) + a min(0, s) with a learned slope ``weight``.

    ``weight`` has 1 element or one per channel (dim 1 of ``x``; dim 0 for a 1-D ``x``).
    """
    x = _floating(x, "prelu")
    w = weight
    if w.numel() != 1:
        ch = 1 if x.ndim >= 2 else 0
        if x.ndim == 0 or x.shape[ch] != w.numel():
            raise RuntimeError(f"prelu: weight has {w.numel()} elements but the input of shape "
                               f"{tuple(x.shape)} has {x.shape[ch] if x.ndim else 1} channels "
                               f"(dim {ch}); expected 1 or one per channel")
        w = reshape(w, (-1,) + (1,) * (x.ndim - ch - 1))
    elif w.ndim:
        w = reshape(w, ())
    return where(x._data > 0, x, w * x)


def abs_relu(x):
    """Absolute-value rectification, g(s) = |s| (the notes' ReLU generalization)."""
    return _abs(_floating(x, "abs_relu"))


def elu(x, alpha=1.0, inplace=False):
    """s for s > 0, alpha (e^s - 1) otherwise."""
    x = _floating(x, "elu")
    # exp of min(s, 0): the unused branch never overflows, so its zero gradient is not 0 * inf
    return where(x._data > 0, x, (exp(clamp(x, max=0)) - 1) * alpha)


def selu(x, inplace=False):
    """scale * elu(s, alpha) with the self-normalizing constants of Klambauer et al."""
    x = _floating(x, "selu")
    return where(x._data > 0, x, (exp(clamp(x, max=0)) - 1) * _SELU_ALPHA) * _SELU_SCALE


def softplus(x, beta=1.0, threshold=20.0):
    """(1/beta) log(1 + e^(beta s)); exactly ``s`` where ``beta * s > threshold`` (PyTorch)."""
    x = _floating(x, "softplus")
    if beta == 1:
        sp = _softplus(x)
    else:
        sp = _softplus(x * beta) * (1.0 / beta)
    return where(x._data * beta > threshold, x, sp)


def logsigmoid(x):
    """log(sigmoid(s)) = -softplus(-s), stable for any s."""
    return -_softplus(-_floating(x, "logsigmoid"))


def gelu(x, approximate="none"):
    """s * Phi(s), with the exact erf form or the tanh approximation ``approximate='tanh'``."""
    x = _floating(x, "gelu")
    if approximate == "none":
        return x * (erf(x * (1.0 / math.sqrt(2.0))) + 1) * 0.5
    if approximate == "tanh":
        inner = (x + x * x * x * 0.044715) * math.sqrt(2.0 / math.pi)
        return x * (tanh(inner) + 1) * 0.5
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def silu(x, inplace=False):
    """s * sigmoid(s) (also called swish)."""
    x = _floating(x, "silu")
    return x * sigmoid(x)


def hardtanh(x, min_val=-1.0, max_val=1.0, inplace=False):
    """clamp(s, min_val, max_val)."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val "
                         f"({max_val})")
    return clamp(_floating(x, "hardtanh"), min_val, max_val)


def relu6(x, inplace=False):
    return hardtanh(x, 0.0, 6.0)


def hard_threshold(x):
    """The notes' hard threshold unit: 1 if s > 0 else 0, with zero gradient everywhere.

    Not ``torch.nn.functional.threshold`` (which replaces values below a threshold).
    """
    return step(_floating(x, "hard_threshold"))


def threshold(x, threshold, value, inplace=False):
    """PyTorch's ``threshold``: x where x > threshold, else ``value`` (not the notes' step)."""
    x = _floating(x, "threshold")
    return where(x._data > threshold, x, _new(np.asarray(value, dtype=x.dtype), False, None))


def one_hot(tensor, num_classes=-1):
    """Class indices (int) to one-hot vectors (int64), as ``torch.nn.functional.one_hot``."""
    t = tensor._data
    if t.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expected an integer (class index) tensor, got {t.dtype}")
    n = int(t.max()) + 1 if num_classes == -1 and t.size else num_classes
    if t.size and (t.min() < 0 or t.max() >= n):
        raise RuntimeError(f"one_hot: class values must be in [0, {n - 1}], got values in "
                           f"[{t.min()}, {t.max()}]")
    return _new(np.eye(n, dtype=np.int64)[t], False, None)


def maxout(x, pieces, dim=-1):
    """Max over groups of ``pieces`` consecutive features along ``dim`` (size ``k * pieces``).

    Unit j takes the max of features ``j*pieces ... j*pieces + pieces - 1``.
    """
    d = dim % x.ndim
    n = x.shape[d]
    if n % pieces:
        raise RuntimeError(f"maxout: dimension {dim} has size {n}, not a multiple of "
                           f"pieces={pieces} (input shape {tuple(x.shape)})")
    y = reshape(x, x.shape[:d] + (n // pieces, pieces) + x.shape[d + 1:])
    return _max(y, dim=d + 1).values


def dropout(x, p=0.5, training=True, inplace=False, generator=None):
    """Inverted dropout: zero each element with probability ``p``, scale the rest by 1/(1-p).

    Identity when ``training`` is False or ``p == 0``.  The mask is drawn in x's dtype (no
    float64 buffer for float32 inputs).
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return x
    x = _floating(x, "dropout")
    dt = x._data.dtype
    if p == 1.0:
        return mul(x, _new(np.zeros((), dtype=dt), False, None))
    return _Dropout.apply(x, p=p, generator=generator)


def _indices(x, num, who):
    if isinstance(x, Tensor):
        x = x._data
    a = np.asarray(x)
    if a.dtype.kind not in "iu":
        raise TypeError(f"{who}: expected integer indices (int64), got dtype {a.dtype}")
    if a.size and (a.min() < -num or a.max() >= num):
        bad = a[(a < -num) | (a >= num)].flat[0]
        raise IndexError(f"{who}: index {int(bad)} is out of range for {num} embeddings")
    return a


def embedding(input, weight, padding_idx=None):
    """Rows of ``weight`` picked by ``input`` (as ``F.embedding``); rows at ``padding_idx`` get
    no gradient."""
    idx = _indices(input, weight.shape[0], "embedding")
    out = getitem(weight, idx)
    if padding_idx is None:
        return out
    pad = _new((idx == padding_idx)[..., None], False, None)
    return where(pad, getitem(weight.detach(), idx), out)
