"""Convolution layers (as ``torch.nn.Conv1d``, ``Conv2d``, ``ConvTranspose2d``).

Parameters, names, shapes and default initialisation are PyTorch's, so a ``state_dict`` moves
between the two.  A wrong input names the layer and both shapes::

    Conv2d(3 -> 16, kernel 3x3) expects input (N, 3, H, W), got (32, 1, 28, 28)
"""
from __future__ import annotations

import math

import numpy as np

from .. import dtypes
from ..ops.conv import _tuple, conv1d, conv2d, conv_padding, conv_transpose2d, out_size
from ..tensor import Tensor
from . import init
from .module import Module
from .parameter import Parameter


class SpatialSizeError(ValueError):
    """An input too small for a layer's kernel; ``Sequential`` adds which layer made it so."""


def _empty(shape, dtype):
    dt = dtypes.get_default_dtype() if dtype is None else dtype
    return np.empty(shape, dtype=dtypes.as_dtype(dt))


class _ConvNd(Module):
    _nd = 2
    _transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
                 groups, bias, padding_mode, dtype, generator, output_padding=0):
        super().__init__()
        name, nd = type(self).__name__, self._nd
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: groups={groups} must divide in_channels={in_channels} "
                             f"and out_channels={out_channels}")
        if padding_mode != "zeros":
            raise NotImplementedError(f"{name}: padding_mode {padding_mode!r} (only 'zeros'; "
                                      "use F.pad with mode= before the layer)")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = _tuple(kernel_size, nd, "kernel_size", name, 1)
        self.stride = _tuple(stride, nd, "stride", name, 1)
        self.dilation = _tuple(dilation, nd, "dilation", name, 1)
        self.padding = padding if isinstance(padding, str) else \
            _tuple(padding, nd, "padding", name)
        if isinstance(padding, str):
            conv_padding(padding, (1,) * nd, self.dilation, self.stride, name)   # validates
        self.output_padding = _tuple(output_padding, nd, "output_padding", name)
        self.padding_mode = padding_mode
        shape = ((in_channels, out_channels // groups) if self._transposed else
                 (out_channels, in_channels // groups)) + self.kernel_size
        self.weight = Parameter(_empty(shape, dtype))
        if bias:
            self.bias = Parameter(_empty((out_channels,), dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters(generator)

    def reset_parameters(self, generator=None):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), generator=generator)
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound, generator=generator)

    def _label(self):
        k = "x".join(map(str, self.kernel_size))
        return f"{type(self).__name__}({self.in_channels} -> {self.out_channels}, kernel {k})"

    def _check(self, x):
        nd = self._nd
        dims = "H, W" if nd == 2 else "L"
        if not isinstance(x, Tensor):
            raise TypeError(f"{self._label()} expects a Tensor input, got {type(x).__name__}")
        if x.ndim != nd + 2 or x.shape[1] != self.in_channels:
            raise RuntimeError(f"{self._label()} expects input (N, {self.in_channels}, {dims}), "
                               f"got {tuple(x.shape)}")
        if x.dtype != self.weight.dtype:
            raise RuntimeError(f"{self._label()}: input has dtype {x.dtype} but the weight is "
                               f"{self.weight.dtype} (convert one with .to(...))")
        if self._transposed:
            return
        pad = conv_padding(self.padding, self.kernel_size, self.dilation, self.stride,
                           type(self).__name__) if isinstance(self.padding, str) else \
            sum(((p, p) for p in self.padding), ())
        for i, n in enumerate(x.shape[2:]):
            k, s, d = self.kernel_size[i], self.stride[i], self.dilation[i]
            if out_size(n, k, s, pad[2 * i], pad[2 * i + 1], d) < 1:
                reach = "x".join(str(d_ * (k_ - 1) + 1)
                                 for d_, k_ in zip(self.dilation, self.kernel_size))
                raise SpatialSizeError(
                    f"{self._label()}: input {tuple(x.shape)} is too small: spatial size "
                    f"{'x'.join(map(str, x.shape[2:]))} is smaller than the kernel's reach "
                    f"{reach} with padding {self.padding}")

    def extra_repr(self):
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * self._nd:
            s += f", padding={self.padding!r}" if isinstance(self.padding, str) else \
                f", padding={self.padding}"
        if self.dilation != (1,) * self._nd:
            s += f", dilation={self.dilation}"
        if self._transposed and self.output_padding != (0,) * self._nd:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class Conv2d(_ConvNd):
    """2-D convolution over (N, C_in, H, W) -> (N, C_out, H_out, W_out).

    Arguments:
        in_channels, out_channels, kernel_size: as ``torch.nn.Conv2d``.
        stride, padding (int, tuple, ``'same'`` or ``'valid'``), dilation, groups, bias.

    Example::

        conv = cr.nn.Conv2d(1, 6, 5)
        conv(cr.randn(8, 1, 28, 28)).shape     # (8, 6, 24, 24)
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=True, padding_mode="zeros", device=None,
                 dtype=None, generator=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, dtype, generator)

    def forward(self, x):
        self._check(x)
        return conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                      self.groups)


class Conv1d(_ConvNd):
    """1-D convolution over (N, C_in, L) -> (N, C_out, L_out), as ``torch.nn.Conv1d``."""
    _nd = 1

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=True, padding_mode="zeros", device=None,
                 dtype=None, generator=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, dtype, generator)

    def forward(self, x):
        self._check(x)
        return conv1d(x, self.weight, self.bias, self.stride,
                      self.padding if isinstance(self.padding, str) else self.padding,
                      self.dilation, self.groups)


class ConvTranspose2d(_ConvNd):
    """Transposed 2-D convolution (the gradient of Conv2d w.r.t. its input), as
    ``torch.nn.ConvTranspose2d``; weight (C_in, C_out/groups, kh, kw)."""
    _transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None, generator=None):
        if isinstance(padding, str):
            raise ValueError("ConvTranspose2d: padding must be an int or a tuple")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, dtype, generator, output_padding)

    def forward(self, x, output_size=None):
        self._check(x)
        op = self.output_padding
        if output_size is not None:
            want = tuple(output_size)[-2:]
            base = [(n - 1) * s - 2 * p + d * (k - 1) + 1 for n, s, p, d, k in
                    zip(x.shape[2:], self.stride, self.padding, self.dilation, self.kernel_size)]
            op = tuple(w - b for w, b in zip(want, base))
        return conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding, op,
                                self.groups, self.dilation)
