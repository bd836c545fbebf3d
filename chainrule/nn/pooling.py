"""Pooling layers (as ``torch.nn.MaxPool2d``, ``AvgPool2d``, ``AdaptiveAvgPool2d``, ...)."""
from __future__ import annotations

from ..tensor import Tensor
from . import _functional_conv as F
from .conv import SpatialSizeError
from .module import Module


class _Pool(Module):
    _nd = 2
    _fields = ()

    def _label(self):
        k = self.kernel_size
        k = "x".join(map(str, k)) if isinstance(k, tuple) else str(k)
        return f"{type(self).__name__}(kernel {k})"

    def _call(self, fn, x, *args, **kw):
        want = "(N, C, H, W)" if self._nd == 2 else "(N, C, L)"
        if not isinstance(x, Tensor) or x.ndim != self._nd + 2:
            got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise RuntimeError(f"{self._label()} expects input {want}, got {got}")
        try:
            return fn(x, *args, **kw)
        except ValueError as e:
            if "too small" in str(e):
                raise SpatialSizeError(f"{self._label()}: {e}") from None
            raise

    def extra_repr(self):
        return ", ".join(f"{f}={getattr(self, f)}" for f in self._fields)


class MaxPool2d(_Pool):
    """Max over kernel windows, as ``torch.nn.MaxPool2d`` (stride defaults to the kernel)."""
    _fields = ("kernel_size", "stride", "padding", "dilation", "ceil_mode")
    _fn = staticmethod(F.max_pool2d)

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride if stride is not None else \
            kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, x):
        return self._call(self._fn, x, self.kernel_size, self.stride, self.padding,
                          self.dilation, self.ceil_mode, self.return_indices)


class MaxPool1d(MaxPool2d):
    """Max over windows of (N, C, L), as ``torch.nn.MaxPool1d``."""
    _nd = 1
    _fn = staticmethod(F.max_pool1d)


class AvgPool2d(_Pool):
    """Average over kernel windows, as ``torch.nn.AvgPool2d``."""
    _fields = ("kernel_size", "stride", "padding")

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, x):
        return self._call(F.avg_pool2d, x, self.kernel_size, self.stride, self.padding,
                          self.ceil_mode, self.count_include_pad, self.divisor_override)


class AvgPool1d(_Pool):
    """Average over windows of (N, C, L), as ``torch.nn.AvgPool1d``."""
    _nd = 1
    _fields = ("kernel_size", "stride", "padding")

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode, self.count_include_pad = padding, ceil_mode, \
            count_include_pad

    def forward(self, x):
        return self._call(F.avg_pool1d, x, self.kernel_size, self.stride, self.padding,
                          self.ceil_mode, self.count_include_pad)


class _Adaptive(_Pool):
    _fields = ("output_size",)

    def __init__(self, output_size, return_indices=False):
        super().__init__()
        self.output_size, self.return_indices = output_size, return_indices

    def _label(self):
        return f"{type(self).__name__}(output {self.output_size})"


class AdaptiveAvgPool2d(_Adaptive):
    """Average over ``output_size`` adaptive windows, as ``torch.nn.AdaptiveAvgPool2d``."""

    def __init__(self, output_size):
        super().__init__(output_size)

    def forward(self, x):
        return self._call(F.adaptive_avg_pool2d, x, self.output_size)


class AdaptiveAvgPool1d(AdaptiveAvgPool2d):
    _nd = 1

    def forward(self, x):
        return self._call(F.adaptive_avg_pool1d, x, self.output_size)


class AdaptiveMaxPool2d(_Adaptive):
    """Max over ``output_size`` adaptive windows, as ``torch.nn.AdaptiveMaxPool2d``."""

    def forward(self, x):
        return self._call(F.adaptive_max_pool2d, x, self.output_size, self.return_indices)
