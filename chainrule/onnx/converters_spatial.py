"""Converters for the convolution, pooling, normalization and reshaping layers.

Each entry is registered only when chainrule has the layer (``getattr(nn, name, None)``): these
layers arrive on their own branches, and the exporter should know them the moment they land.
Their arguments and attribute names are PyTorch's (``kernel_size``, ``stride``, ``padding``,
``dilation``, ``groups``, ``running_mean``...).
"""
from __future__ import annotations

import numpy as np

from .. import nn
from .converters import CONVERTERS, _identity, _w


def _entry(*names):
    """Register the decorated converter for those of ``names`` that chainrule has."""
    def deco(fn):
        for name in names:
            cls = getattr(nn, name, None)
            if cls is not None:
                CONVERTERS[cls] = fn
        return fn
    return deco


def _tuple(v, nd):
    return tuple(int(a) for a in v) if isinstance(v, (tuple, list)) else (int(v),) * nd


def _conv_pads(m, xv, nd):
    """ONNX ``pads`` (all begins, then all ends) from PyTorch's padding (ints or a string)."""
    k, d = _tuple(m.kernel_size, nd), _tuple(m.dilation, nd)
    if m.padding == "valid":
        return [0] * (2 * nd)
    if m.padding == "same":      # PyTorch puts the odd pixel at the end, as SAME_UPPER does
        total = [di * (ki - 1) for ki, di in zip(k, d)]
        return [t // 2 for t in total] + [t - t // 2 for t in total]
    p = _tuple(m.padding, nd)
    return list(p) + list(p)


@_entry("Conv1d", "Conv2d", "Conv3d")
def _conv(g, m, x, xv, yv):
    nd = xv.ndim - 2
    if getattr(m, "padding_mode", "zeros") != "zeros":
        raise ValueError(f"padding_mode={m.padding_mode!r} has no ONNX Conv equivalent")
    ins = [x, _w(g, m.weight, "weight")] + ([_w(g, m.bias, "bias")] if m.bias is not None
                                            else [])
    return g.node("Conv", ins, kernel_shape=list(_tuple(m.kernel_size, nd)),
                  strides=list(_tuple(m.stride, nd)), dilations=list(_tuple(m.dilation, nd)),
                  pads=_conv_pads(m, xv, nd), group=int(m.groups))


@_entry("ConvTranspose1d", "ConvTranspose2d")
def _conv_transpose(g, m, x, xv, yv):
    nd = xv.ndim - 2
    ins = [x, _w(g, m.weight, "weight")] + ([_w(g, m.bias, "bias")] if m.bias is not None
                                            else [])
    p = _tuple(m.padding, nd)
    return g.node("ConvTranspose", ins, kernel_shape=list(_tuple(m.kernel_size, nd)),
                  strides=list(_tuple(m.stride, nd)), dilations=list(_tuple(m.dilation, nd)),
                  pads=list(p) + list(p), output_padding=list(_tuple(m.output_padding, nd)),
                  group=int(m.groups))


@_entry("MaxPool1d", "MaxPool2d")
def _max_pool(g, m, x, xv, yv):
    nd = xv.ndim - 2
    if getattr(m, "return_indices", False):
        raise ValueError("return_indices=True has no ONNX equivalent here (MaxPool's indices "
                         "are flat over the whole tensor)")
    p = _tuple(m.padding, nd)
    return g.node("MaxPool", [x], kernel_shape=list(_tuple(m.kernel_size, nd)),
                  strides=list(_tuple(m.stride, nd)), pads=list(p) + list(p),
                  dilations=list(_tuple(getattr(m, "dilation", 1), nd)),
                  ceil_mode=int(bool(getattr(m, "ceil_mode", False))))


@_entry("AvgPool1d", "AvgPool2d")
def _avg_pool(g, m, x, xv, yv):
    nd = xv.ndim - 2
    if getattr(m, "divisor_override", None) is not None:
        raise ValueError("divisor_override has no ONNX AveragePool equivalent")
    p = _tuple(m.padding, nd)
    return g.node("AveragePool", [x], kernel_shape=list(_tuple(m.kernel_size, nd)),
                  strides=list(_tuple(m.stride, nd)), pads=list(p) + list(p),
                  ceil_mode=int(bool(getattr(m, "ceil_mode", False))),
                  count_include_pad=int(bool(getattr(m, "count_include_pad", True))))


def _adaptive(op, global_op):
    def conv(g, m, x, xv, yv):
        nd = xv.ndim - 2
        out = _tuple(m.output_size, nd) if m.output_size is not None else xv.shape[2:]
        if all(o == 1 for o in out):
            return g.node(global_op, [x])
        size = xv.shape[2:]
        if any(o is None or s % o for s, o in zip(size, out)):
            raise ValueError(f"adaptive pooling from {tuple(size)} to {tuple(out)}: ONNX has it "
                             "only when each output size divides the input size (or is 1)")
        k = [s // o for s, o in zip(size, out)]
        return g.node(op, [x], kernel_shape=k, strides=k)
    return conv


_entry("AdaptiveAvgPool1d", "AdaptiveAvgPool2d")(_adaptive("AveragePool", "GlobalAveragePool"))
_entry("AdaptiveMaxPool1d", "AdaptiveMaxPool2d")(_adaptive("MaxPool", "GlobalMaxPool"))


@_entry("BatchNorm1d", "BatchNorm2d", "BatchNorm3d")
def _batch_norm(g, m, x, xv, yv):
    if m.running_mean is None:
        raise ValueError("track_running_stats=False normalizes with the batch's own statistics "
                         "even in eval mode; ONNX BatchNormalization needs running statistics")
    c, dt = m.num_features, g.dtype
    scale = _w(g, m.weight, "scale") if m.weight is not None else g.const(np.ones(c, dt), "scale")
    bias = _w(g, m.bias, "bias") if m.bias is not None else g.const(np.zeros(c, dt), "bias")
    return g.node("BatchNormalization", [x, scale, bias, _w(g, m.running_mean, "mean"),
                                         _w(g, m.running_var, "var")], epsilon=float(m.eps))


@_entry("LayerNorm")
def _layer_norm(g, m, x, xv, yv):
    if g.opset < 17:
        raise ValueError(f"LayerNormalization needs opset_version >= 17, got {g.opset}")
    shape = tuple(m.normalized_shape)
    dt = g.dtype
    scale = _w(g, m.weight, "scale") if m.weight is not None else g.const(np.ones(shape, dt),
                                                                          "scale")
    ins = [x, scale] + ([_w(g, m.bias, "bias")] if m.bias is not None else [])
    return g.node("LayerNormalization", ins, axis=-len(shape), epsilon=float(m.eps))


@_entry("Unflatten")
def _unflatten(g, m, x, xv, yv):
    d = m.dim % xv.ndim
    # 0 copies the input's dim at the same index: only the dims before ``dim`` line up
    shape = [0] * d + [int(s) for s in m.unflattened_size] + list(xv.shape[d + 1:])
    return g.node("Reshape", [x, g.const(shape, "shape", np.int64)])


_entry("Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout")(_identity)
