"""Pooling, normalisation, padding and channel dropout (as ``torch.nn.functional``).

Argument handling and composites over the primitives of ops/conv.py, ops/pool.py and
ops/norm.py; no backward code here.  Re-exported by :mod:`chainrule.nn.functional`.
"""
from __future__ import annotations

import numpy as np

from ..ops.conv import _check_tensor, _tuple
from ..ops.movement import getitem
from ..ops.movement import pad as _pad_constant
from ..ops.norm import standardize
from ..ops.pool import AvgPool2d, MaxPool2d, max_with_offsets
from ..ops.special import Dropout as _Dropout
from ..tensor import _new


def _pool_size(n, k, s, p, d, ceil_mode):
    span = n + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= n + p:     # the last window must start inside
        out -= 1
    return out


def _pool_geometry(x, kernel_size, stride, padding, dilation, ceil_mode, opname):
    _check_tensor(x, "input", opname)
    if x.ndim != 4:
        raise RuntimeError(f"{opname}: expected a 4-D input (N, C, H, W), got "
                           f"{tuple(x.shape)}")
    k = _tuple(kernel_size, 2, "kernel_size", opname, 1)
    s = k if stride is None or stride == () or stride == [] else \
        _tuple(stride, 2, "stride", opname, 1)
    p = _tuple(padding, 2, "padding", opname)
    d = _tuple(dilation, 2, "dilation", opname, 1)
    if any(pi > ki // 2 for pi, ki in zip(p, k)):
        raise ValueError(f"{opname}: padding {p} should be at most half of kernel size {k}")
    h, w = x.shape[2:]
    ho = _pool_size(h, k[0], s[0], p[0], d[0], ceil_mode)
    wo = _pool_size(w, k[1], s[1], p[1], d[1], ceil_mode)
    if ho < 1 or wo < 1:
        raise ValueError(f"{opname}: input {tuple(x.shape)} is too small for kernel "
                         f"{k[0]}x{k[1]} (stride {s}, padding {p}): the output would be "
                         f"{ho}x{wo}")
    # the bottom/right padding covers the ceil_mode overhang (never less than 0)
    pb = max(0, (ho - 1) * s[0] + d[0] * (k[0] - 1) + 1 - h - p[0])
    pr = max(0, (wo - 1) * s[1] + d[1] * (k[1] - 1) + 1 - w - p[1])
    return k, s, (p[0], pb, p[1], pr), d, (ho, wo), p


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """2-D max pooling, as ``torch.nn.functional.max_pool2d`` (indices index H*W per channel)."""
    k, s, pads, d, out_hw, p = _pool_geometry(input, kernel_size, stride, padding, dilation,
                                             ceil_mode, "max_pool2d")
    out = MaxPool2d.apply(input, kernel=k, stride=s, pads=pads, dilation=d, out_hw=out_hw)
    if not return_indices:
        return out
    _, off = max_with_offsets(np, input._data, k, s, pads, d, out_hw)
    ki, kj = np.divmod(off.astype(np.int64), k[1])
    rows = np.arange(out_hw[0]).reshape(-1, 1) * s[0] - p[0] + ki * d[0]
    cols = np.arange(out_hw[1]) * s[1] - p[1] + kj * d[1]
    return out, _new(np.ascontiguousarray(rows * input.shape[3] + cols), False, None)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """1-D max pooling over (N, C, L), as ``torch.nn.functional.max_pool1d``."""
    _check_3d(input, "max_pool1d")
    one = lambda v: v if v is None else (1, _tuple(v, 1, "argument", "max_pool1d")[0])  # noqa
    r = max_pool2d(input.unsqueeze(2), one(kernel_size), one(stride) if stride else None,
                   (0, _tuple(padding, 1, "padding", "max_pool1d")[0]), one(dilation),
                   ceil_mode, return_indices)
    if return_indices:
        return r[0].squeeze(2), _new(r[1]._data[:, :, 0], False, None)
    return r.squeeze(2)


def _check_3d(x, opname):
    _check_tensor(x, "input", opname)
    if x.ndim != 3:
        raise RuntimeError(f"{opname}: expected a 3-D input (N, C, L), got {tuple(x.shape)}")


def _avg_counts(n, k, s, p, out, include_pad):
    starts = np.arange(out) * s - p
    ends = np.minimum(starts + k, n + p)
    size = ends - starts
    inside = np.minimum(ends, n) - np.maximum(starts, 0)
    return tuple(int(c) for c in (size if include_pad else inside))


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """2-D average pooling, as ``torch.nn.functional.avg_pool2d``."""
    k, s, pads, _, (ho, wo), p = _pool_geometry(input, kernel_size, stride, padding, 1,
                                               ceil_mode, "avg_pool2d")
    h, w = input.shape[2:]
    if divisor_override is not None:
        if not isinstance(divisor_override, int) or divisor_override <= 0:
            raise ValueError(f"avg_pool2d: divisor_override must be a positive int, got "
                             f"{divisor_override!r}")
        counts = ((divisor_override,) * ho, (1,) * wo)
    else:
        counts = (_avg_counts(h, k[0], s[0], p[0], ho, count_include_pad),
                  _avg_counts(w, k[1], s[1], p[1], wo, count_include_pad))
    return AvgPool2d.apply(input, kernel=k, stride=s, pads=pads, out_hw=(ho, wo),
                           counts=counts)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    """1-D average pooling over (N, C, L), as ``torch.nn.functional.avg_pool1d``."""
    _check_3d(input, "avg_pool1d")
    (k,) = _tuple(kernel_size, 1, "kernel_size", "avg_pool1d", 1)
    st = None if stride is None else (1, _tuple(stride, 1, "stride", "avg_pool1d", 1)[0])
    (p,) = _tuple(padding, 1, "padding", "avg_pool1d")
    return avg_pool2d(input.unsqueeze(2), (1, k), st, (0, p), ceil_mode,
                      count_include_pad).squeeze(2)


# ---------------------------------------------------------------------------------------------
# adaptive pooling: PyTorch's windows [floor(i n / m), ceil((i + 1) n / m))
# ---------------------------------------------------------------------------------------------
def _windows(n, m):
    i = np.arange(m)
    return (i * n) // m, -((-(i + 1) * n) // m)


def _out_size(output_size, x, opname, nd):
    sz = (output_size,) * nd if isinstance(output_size, int) else tuple(output_size)
    if len(sz) != nd:
        raise TypeError(f"{opname}: output_size must be an int or {nd} values, got "
                        f"{output_size!r}")
    return tuple(x.shape[2 + i] if v is None else int(v) for i, v in enumerate(sz))


def _avg_matrix(n, m, dtype):
    a, b = _windows(n, m)
    j = np.arange(n)
    mat = ((j >= a[:, None]) & (j < b[:, None])) / (b - a)[:, None]
    return _new(mat.astype(dtype), False, None)


def adaptive_avg_pool2d(input, output_size):
    """Average over PyTorch's adaptive windows, as ``F.adaptive_avg_pool2d``."""
    _check_tensor(input, "input", "adaptive_avg_pool2d")
    if input.ndim != 4:
        raise RuntimeError(f"adaptive_avg_pool2d: expected (N, C, H, W), got "
                           f"{tuple(input.shape)}")
    ho, wo = _out_size(output_size, input, "adaptive_avg_pool2d", 2)
    h, w = input.shape[2:]
    if h % ho == 0 and w % wo == 0:       # equal windows: one pooling node
        return avg_pool2d(input, (h // ho, w // wo))
    dt = input._data.dtype
    return _avg_matrix(h, ho, dt) @ input @ _avg_matrix(w, wo, dt).mT


def adaptive_avg_pool1d(input, output_size):
    _check_3d(input, "adaptive_avg_pool1d")
    (lo,) = _out_size(output_size, input, "adaptive_avg_pool1d", 1)
    return adaptive_avg_pool2d(input.unsqueeze(2), (1, lo)).squeeze(2)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max over PyTorch's adaptive windows, as ``F.adaptive_max_pool2d``."""
    _check_tensor(input, "input", "adaptive_max_pool2d")
    if input.ndim != 4:
        raise RuntimeError(f"adaptive_max_pool2d: expected (N, C, H, W), got "
                           f"{tuple(input.shape)}")
    ho, wo = _out_size(output_size, input, "adaptive_max_pool2d", 2)
    h, w = input.shape[2:]
    if h % ho == 0 and w % wo == 0:
        return max_pool2d(input, (h // ho, w // wo), return_indices=return_indices)
    if return_indices:
        raise NotImplementedError("adaptive_max_pool2d: return_indices for unequal windows")
    # gather every window padded to the longest by repeating its last element (max unchanged)
    ih, iw = _gather_index(h, ho), _gather_index(w, wo)
    n, c = input.shape[:2]
    win = getitem(input, (slice(None), slice(None), ih.reshape(-1, 1), iw.reshape(1, -1)))
    win = win.reshape(n, c, ho, ih.shape[1], wo, iw.shape[1]).permute(0, 1, 2, 4, 3, 5)
    return win.reshape(n, c, ho, wo, -1).max(dim=-1)[0]


def _gather_index(n, m):
    a, b = _windows(n, m)
    k = int((b - a).max())
    return np.minimum(a[:, None] + np.arange(k), b[:, None] - 1)


# ---------------------------------------------------------------------------------------------
# normalisation
# ---------------------------------------------------------------------------------------------
def _affine(y, weight, bias, shape):
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5, num_batches_tracked=None):
    """Batch normalisation over (N, C, ...), as ``torch.nn.functional.batch_norm``.

    In training the batch statistics are used and the running ones updated in place
    (``momentum=None``: cumulative average, needs ``num_batches_tracked``).
    """
    _check_tensor(input, "input", "batch_norm")
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected at least 2-D input (N, C, ...), got "
                         f"{tuple(input.shape)}")
    c = input.shape[1]
    for t, nm in ((running_mean, "running_mean"), (running_var, "running_var"),
                  (weight, "weight"), (bias, "bias")):
        if t is not None and tuple(t.shape) != (c,):
            raise RuntimeError(f"batch_norm: {nm} must have shape ({c},) for input "
                               f"{tuple(input.shape)}, got {tuple(t.shape)}")
    shape = (1, c) + (1,) * (input.ndim - 2)
    axes = (0,) + tuple(range(2, input.ndim))
    if training:
        if input.shape[0] * int(np.prod(input.shape[2:])) <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when "
                             f"training, got input size {tuple(input.shape)}")
        stats = None
        if running_mean is not None or running_var is not None:
            stats = (running_mean, running_var, num_batches_tracked, momentum)
        y = standardize(input, axes, eps, stats)
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: eval mode needs running_mean and running_var")
        y = (input - running_mean.reshape(shape)) / (running_var.reshape(shape) + eps).sqrt()
    return _affine(y, weight, bias, shape)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the last ``len(normalized_shape)`` dims, as ``F.layer_norm``."""
    _check_tensor(input, "input", "layer_norm")
    ns = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if tuple(input.shape[input.ndim - len(ns):]) != ns or len(ns) > input.ndim:
        raise RuntimeError(f"layer_norm: normalized_shape {ns} must be the last dims of input "
                           f"{tuple(input.shape)}")
    y = standardize(input, tuple(range(input.ndim - len(ns), input.ndim)), eps)
    return _affine(y, weight, bias, ns)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalise each group of channels per sample, as ``F.group_norm``."""
    _check_tensor(input, "input", "group_norm")
    if input.ndim < 2 or input.shape[1] % num_groups:
        raise RuntimeError(f"group_norm: {num_groups} groups must divide the channels of "
                           f"input {tuple(input.shape)}")
    n, c = input.shape[:2]
    y = standardize(input.reshape(n, num_groups, -1), (2,), eps).reshape(*input.shape)
    return _affine(y, weight, bias, (1, c) + (1,) * (input.ndim - 2))


# ---------------------------------------------------------------------------------------------
# padding modes and channel dropout
# ---------------------------------------------------------------------------------------------
def pad(input, pad, mode="constant", value=None):
    """Pad the last dims (``pad = (left_last, right_last, ...)``), as ``F.pad``; modes
    ``constant``, ``reflect``, ``replicate``, ``circular`` (index gathers: exact gradients)."""
    if mode == "constant":
        return _pad_constant(input, pad, value=0.0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"pad: mode {mode!r} (expected constant, reflect, "
                                  "replicate or circular)")
    _check_tensor(input, "input", "pad")
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > input.ndim - 1:
        raise ValueError(f"pad: {mode} padding expects pairs for at most {input.ndim - 1} "
                         f"trailing dims of input {tuple(input.shape)}, got {pad}")
    np_mode = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}[mode]
    out = input
    for i in range(len(pad) // 2):
        ax = input.ndim - 1 - i
        lo, hi = pad[2 * i], pad[2 * i + 1]
        n = input.shape[ax]
        if mode == "reflect" and (lo >= n or hi >= n):
            raise ValueError(f"pad: reflect padding {(lo, hi)} must be smaller than the input "
                             f"size {n} of dim {ax} (input {tuple(input.shape)})")
        idx = np.pad(np.arange(n), (lo, hi), mode=np_mode)
        out = getitem(out, (slice(None),) * ax + (idx,))
    return out


def dropout2d(input, p=0.5, training=True, inplace=False, generator=None):
    """Zero whole channels with probability ``p`` (scale the rest), as ``F.dropout2d``."""
    _check_tensor(input, "input", "dropout2d")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if input.ndim not in (3, 4):
        raise RuntimeError(f"dropout2d: expected (N, C, H, W) or (C, H, W), got "
                           f"{tuple(input.shape)}")
    keep = input.shape[:-2] + (1, 1)
    if p == 1.0:
        return input * 0.0
    ones = _new(np.ones(keep, dtype=input._data.dtype), False, None)
    return input * _Dropout.apply(ones, p=p, generator=generator)
