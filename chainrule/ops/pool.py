"""Pooling primitives: one node each, reductions over strided slices (one slice per kernel
offset, never a Python loop over windows).

* ``max_pool2d``: ``np.maximum`` over the kernel's strided slices; the argmax offset of each
  window is kept as a constant (PyTorch keeps indices too), so the backward is a scatter.
  ``max_pool2d_scatter`` and ``max_pool2d_gather`` are each other's adjoints: that closes the
  family for second derivatives.
* ``avg_pool2d`` / ``avg_pool2d_scatter``: a linear op and its adjoint, with PyTorch's divisor
  (``count_include_pad``, ``ceil_mode``, ``divisor_override``).

The arrays keep the memory layout of their input (channels-last stays channels-last).
"""
from __future__ import annotations

import numpy as np

from ..autograd.op import Op
from .kernels import accelerated


def _alloc(xp, like, shape, fill, dtype=None):
    """A filled (N, C, H, W) array with the memory layout of ``like`` (NHWC stays NHWC)."""
    n, c, h, w = shape
    dtype = like.dtype if dtype is None else dtype
    if not like.flags.c_contiguous and like.transpose(0, 2, 3, 1).flags.c_contiguous:
        return xp.full((n, h, w, c), fill, dtype=dtype).transpose(0, 3, 1, 2)
    return xp.full(shape, fill, dtype=dtype)


def _padded(xp, x, pads, fill):
    pt, pb, pl, pr = pads
    if not any(pads):
        return x
    n, c, h, w = x.shape
    buf = _alloc(xp, x, (n, c, h + pt + pb, w + pl + pr), fill)
    buf[:, :, pt:pt + h, pl:pl + w] = x
    return buf


def _slices(kernel, stride, dilation, out_hw):
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = kernel, stride, dilation, out_hw
    for i in range(kh):
        for j in range(kw):
            yield (slice(None), slice(None), slice(i * dh, i * dh + sh * (ho - 1) + 1, sh),
                   slice(j * dw, j * dw + sw * (wo - 1) + 1, sw))


def _crop(buf, pads, in_shape):
    pt, _, pl, _ = pads
    return buf[:, :, pt:pt + in_shape[2], pl:pl + in_shape[3]]


@accelerated
def max_with_offsets(xp, x, kernel, stride, pads, dilation, out_hw):
    """Window maxima and, per window, the kernel offset of its first maximum (as PyTorch)."""
    buf = _padded(xp, x, pads, -xp.inf)
    sl = list(_slices(kernel, stride, dilation, out_hw))
    out = xp.copy(buf[sl[0]])
    for s in sl[1:]:
        xp.maximum(out, buf[s], out=out)
    idx = xp.zeros_like(out, dtype=np.int8 if len(sl) < 128 else np.int32)
    for k in range(len(sl) - 1, -1, -1):    # downwards: the smallest offset of a tie wins
        xp.copyto(idx, k, where=buf[sl[k]] == out)
    return out, idx


@accelerated
def max_scatter(xp, g, idx, in_shape, kernel, stride, pads, dilation):
    """Each window's gradient ``g`` added at its argmax offset ``idx`` of an ``in_shape`` array,
    in the layout of ``idx`` (the pooled input's: a channels-last input gets a channels-last
    gradient even when ``g`` comes back NCHW from a flatten)."""
    n, c, h, w = in_shape
    buf = _alloc(xp, idx, (n, c, h + pads[0] + pads[1], w + pads[2] + pads[3]), 0, g.dtype)
    for k, s in enumerate(_slices(kernel, stride, dilation, g.shape[2:])):
        view = buf[s]
        xp.add(view, g, out=view, where=idx == k)
    return _crop(buf, pads, in_shape)


class MaxPool2d(Op):
    name = "max_pool2d"
    save = ()

    def forward(ctx, xp, x, *, kernel, stride, pads, dilation, out_hw):
        out, ctx.idx = max_with_offsets(xp, x, kernel, stride, pads, dilation, out_hw)
        ctx.geo = dict(in_shape=x.shape, kernel=kernel, stride=stride, pads=pads,
                       dilation=dilation)
        return out

    def backward(ctx, xp, g):
        return xp.max_pool2d_scatter(g, idx=ctx.idx, **ctx.geo)


class MaxPool2dScatter(Op):
    """Each window's gradient to its argmax (adjoint of ``max_pool2d_gather``)."""
    name = "max_pool2d_scatter"
    save = ()

    def forward(ctx, xp, g, *, idx, in_shape, kernel, stride, pads, dilation):
        ctx.idx, ctx.geo = idx, dict(in_shape=in_shape, kernel=kernel, stride=stride,
                                     pads=pads, dilation=dilation)
        return max_scatter(xp, g, idx, in_shape, kernel, stride, pads, dilation)

    def backward(ctx, xp, gg):
        return xp.max_pool2d_gather(gg, idx=ctx.idx, **ctx.geo)


class MaxPool2dGather(Op):
    """Each window's value at its argmax (adjoint of ``max_pool2d_scatter``)."""
    name = "max_pool2d_gather"
    save = ()

    def forward(ctx, xp, x, *, idx, in_shape, kernel, stride, pads, dilation):
        ctx.idx, ctx.geo = idx, dict(in_shape=in_shape, kernel=kernel, stride=stride,
                                     pads=pads, dilation=dilation)
        buf = _padded(xp, x, pads, 0)
        out = xp.zeros_like(idx, dtype=x.dtype)
        for k, s in enumerate(_slices(kernel, stride, dilation, idx.shape[2:])):
            xp.copyto(out, buf[s], where=idx == k)
        return out

    def backward(ctx, xp, g):
        return xp.max_pool2d_scatter(g, idx=ctx.idx, **ctx.geo)


def _divisor(xp, counts, dtype):
    ch, cw = counts
    return xp.multiply.outer(xp.asarray(ch, dtype=dtype), xp.asarray(cw, dtype=dtype))


class AvgPool2d(Op):
    """Window sums over strided slices divided by PyTorch's per-window count."""
    name = "avg_pool2d"
    save = ()

    def forward(ctx, xp, x, *, kernel, stride, pads, out_hw, counts):
        ctx.geo = dict(in_shape=x.shape, kernel=kernel, stride=stride, pads=pads,
                       counts=counts)
        buf = _padded(xp, x, pads, 0)
        sl = list(_slices(kernel, stride, (1, 1), out_hw))
        out = xp.copy(buf[sl[0]])
        for s in sl[1:]:
            out += buf[s]
        out /= _divisor(xp, counts, x.dtype)
        return out

    def backward(ctx, xp, g):
        return xp.avg_pool2d_scatter(g, **ctx.geo)


class AvgPool2dScatter(Op):
    """The adjoint of ``avg_pool2d``: each window's gradient spread over its elements."""
    name = "avg_pool2d_scatter"
    save = ()

    def forward(ctx, xp, g, *, in_shape, kernel, stride, pads, counts):
        ctx.geo = dict(kernel=kernel, stride=stride, pads=pads, out_hw=g.shape[2:],
                       counts=counts)
        n, c, h, w = in_shape
        gd = g / _divisor(xp, counts, g.dtype)
        buf = _alloc(xp, g, (n, c, h + pads[0] + pads[1], w + pads[2] + pads[3]), 0)
        for s in _slices(kernel, stride, (1, 1), g.shape[2:]):
            buf[s] += gd
        return _crop(buf, pads, in_shape)

    def backward(ctx, xp, gg):
        return xp.avg_pool2d(gg, **ctx.geo)
