"""Layers with parameters or modes: Linear, Maxout, PReLU, Dropout, Flatten, Identity."""
from __future__ import annotations

import math

import numpy as np

from .. import dtypes
from ..devices import placement
from ..dtypes import dtype_repr
from ..ops.linalg import Linear as _LinearOp
from ..tensor import Tensor
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter


def _empty(shape, dtype):
    dt = dtypes.get_default_dtype() if dtype is None else dtype
    return np.empty(shape, dtype=dtypes.as_dtype(dt))


def check_input(layer, x, n_in, w):
    """The error for a wrong input: names the layer, both shapes and what was expected."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{layer} expects a Tensor input, got {type(x).__name__}")
    if x.ndim == 0 or x.shape[-1] != n_in:
        raise RuntimeError(f"{layer} got input of shape {tuple(x.shape)}; expected "
                           f"(..., {n_in})")
    if x.dtype != w.dtype:
        if x.dtype == np.float64 and w.dtype == np.float32:
            hint = " (call .double() on the model, or .float() on the input)"
        elif x.dtype.kind != "f":
            hint = f" (convert the input with .to({dtype_repr(w.dtype)}))"
        else:
            hint = f" (call .to({dtype_repr(x.dtype)}) on the model, or .to(...) on the input)"
        raise RuntimeError(f"{layer}: input has dtype {dtype_repr(x.dtype)} but the layer's "
                           f"weight is {dtype_repr(w.dtype)}{hint}")


class Identity(Module):
    """Returns its input (placeholder layer); accepts and ignores any arguments."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x


class Linear(Module):
    """y = x W^T + b with W of shape (out_features, in_features) (as ``torch.nn.Linear``).

    Initialized as PyTorch does: ``kaiming_uniform_(W, a=sqrt(5))``, i.e. U(-1/sqrt(in),
    1/sqrt(in)), and the bias from the same range.  The forward is one fused graph node.

    Arguments:
        in_features, out_features: sizes of the last input / output dimension.
        bias: learn an additive bias (default True).
        dtype: parameter dtype (default ``cr.get_default_dtype()``, float32).

    Example::

        fc = cr.nn.Linear(784, 256)
        fc(cr.randn(32, 784)).shape      # (32, 256)
    """

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None,
                 generator=None):
        super().__init__()
        placement(device, "nn.Linear")
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.weight = Parameter(_empty((out_features, in_features), dtype))
        self.bias = Parameter(_empty((out_features,), dtype)) if bias else None
        if not bias:
            self.register_parameter("bias", None)
        self.reset_parameters(generator)

    def reset_parameters(self, generator=None):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), generator=generator)
        if self.bias is not None:
            fan_in = self.in_features
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound, generator=generator)

    def forward(self, x):
        w, b = self.weight, self.bias
        d = x._data if x.__class__ is Tensor else None
        if d is None or d.ndim == 0 or d.shape[-1] != self.in_features or d.dtype != w._data.dtype:
            check_input(f"Linear({self.in_features} -> {self.out_features})", x,
                        self.in_features, w)
        if b is None:
            return _LinearOp.apply(x, w)
        return _LinearOp.apply(x, w, b)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Maxout(Module):
    """Maxout units: a Linear to ``out_features * pieces`` then the max over each group.

    The notes' g(s) = max_k s_k: unit j is the max of ``pieces`` linear pieces, so it learns a
    convex piecewise-linear activation.
    """

    def __init__(self, in_features, out_features, pieces, bias=True, dtype=None):
        super().__init__()
        if pieces < 1:
            raise ValueError(f"Maxout: pieces must be >= 1, got {pieces}")
        self.in_features, self.out_features, self.pieces = in_features, out_features, pieces
        self.linear = Linear(in_features, out_features * pieces, bias=bias, dtype=dtype)

    def forward(self, x):
        if not isinstance(x, Tensor) or x.ndim == 0 or x.shape[-1] != self.in_features:
            check_input(f"Maxout({self.in_features} -> {self.out_features} x {self.pieces})",
                        x, self.in_features, self.linear.weight)
        return F.maxout(self.linear(x), self.pieces, dim=-1)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"pieces={self.pieces}")


class PReLU(Module):
    """The notes' g(s, a) = max(0, s) + a min(0, s) with a learned slope a (init 0.25)."""

    def __init__(self, num_parameters=1, init=0.25, dtype=None):
        super().__init__()
        self.num_parameters = num_parameters
        self.init = init
        self.weight = Parameter(np.full(num_parameters, init, dtype=_empty(0, dtype).dtype))

    def forward(self, x):
        return F.prelu(x, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


class Dropout(Module):
    """Inverted dropout with drop probability ``p``, active only in training mode.

    Arguments:
        p: probability of zeroing an element (kept ones are scaled by 1/(1-p)).
        inplace: accepted for PyTorch compatibility; the result is computed out of place.
        generator: optional :class:`chainrule.Generator` for the masks.
    """

    def __init__(self, p=0.5, inplace=False, generator=None):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace, self.generator = p, inplace, generator

    def forward(self, x):
        return F.dropout(x, self.p, self.training, generator=self.generator)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Flatten(Module):
    """Flatten dims ``start_dim..end_dim`` (by default all but the batch dim)."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return F.flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
