"""Normalisation layers (as ``torch.nn.BatchNorm1d/2d``, ``LayerNorm``, ``GroupNorm``).

Batch norm keeps ``running_mean``, ``running_var`` and ``num_batches_tracked`` as buffers (in the
``state_dict`` under PyTorch's keys, converted by ``to(dtype)``); in training mode the forward
updates them in place, inside the op, so a compiled step updates them too.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes
from ..tensor import Tensor
from . import _functional_conv as F
from .module import Module
from .parameter import Parameter


def _dt(dtype):
    return dtypes.as_dtype(dtypes.get_default_dtype() if dtype is None else dtype)


class _BatchNorm(Module):
    _dims = ()

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, device=None, dtype=None):
        super().__init__()
        dt = _dt(dtype)
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(np.ones(num_features, dtype=dt))
            self.bias = Parameter(np.zeros(num_features, dtype=dt))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(num_features, dtype=dt)))
            self.register_buffer("running_var", Tensor(np.ones(num_features, dtype=dt)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean._data[...] = 0
            self.running_var._data[...] = 1
            self.num_batches_tracked._data[...] = 0

    def forward(self, x):
        name = f"{type(self).__name__}({self.num_features})"
        if not isinstance(x, Tensor) or x.ndim not in self._dims or x.shape[1] != \
                self.num_features:
            c = self.num_features
            want = f"(N, {c}) or (N, {c}, L)" if self._dims == (2, 3) else f"(N, {c}, H, W)"
            got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise RuntimeError(f"{name} expects input {want}, got {got}")
        use_batch = self.training or not self.track_running_stats
        tracked = self.num_batches_tracked if self.training and self.track_running_stats \
            else None
        return F.batch_norm(x, self.running_mean if not use_batch or self.training else None,
                            self.running_var if not use_batch or self.training else None,
                            self.weight, self.bias, use_batch, self.momentum, self.eps,
                            num_batches_tracked=tracked)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch norm over (N, C) or (N, C, L), as ``torch.nn.BatchNorm1d``."""
    _dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch norm over (N, C, H, W) per channel, as ``torch.nn.BatchNorm2d``."""
    _dims = (4,)


class LayerNorm(Module):
    """Normalise over the last dims with a learned elementwise affine, as ``nn.LayerNorm``."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 device=None, dtype=None):
        super().__init__()
        ns = (normalized_shape,) if isinstance(normalized_shape, int) else \
            tuple(normalized_shape)
        self.normalized_shape, self.eps = ns, eps
        self.elementwise_affine = elementwise_affine
        dt = _dt(dtype)
        if elementwise_affine:
            self.weight = Parameter(np.ones(ns, dtype=dt))
            if bias:
                self.bias = Parameter(np.zeros(ns, dtype=dt))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x):
        ns = self.normalized_shape
        if not isinstance(x, Tensor) or tuple(x.shape[x.ndim - len(ns):]) != ns:
            got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise RuntimeError(f"LayerNorm({ns}) expects input (..., "
                               f"{', '.join(map(str, ns))}), got {got}")
        return F.layer_norm(x, ns, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class GroupNorm(Module):
    """Normalise groups of channels per sample, as ``torch.nn.GroupNorm``."""

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None,
                 dtype=None):
        super().__init__()
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels={num_channels} must be divisible by "
                             f"num_groups={num_groups}")
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, \
            eps, affine
        dt = _dt(dtype)
        if affine:
            self.weight = Parameter(np.ones(num_channels, dtype=dt))
            self.bias = Parameter(np.zeros(num_channels, dtype=dt))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x):
        if not isinstance(x, Tensor) or x.ndim < 2 or x.shape[1] != self.num_channels:
            got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise RuntimeError(f"GroupNorm({self.num_groups}, {self.num_channels}) expects "
                               f"input (N, {self.num_channels}, ...), got {got}")
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"
