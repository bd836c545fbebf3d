"""numba twins of the NumPy array helpers marked ``@accelerated`` (see ``ops/kernels.py``).

Each public function here has the name, the arguments (without ``xp``) and the result of its
NumPy reference in ``ops/conv.py``, ``ops/pool.py`` or ``ops/elementwise.py``, and returns
``NotImplemented`` for what it does not cover (dtypes other than float32/float64, arrays that
are not C-contiguous, tensors), which then runs the reference.  The
loops add in the reference's order (per image, one kernel offset after the other), so the
results are the reference's bit for bit, not just to rounding.

The compiled code is cached on disk (``cache=True``: numba's ``__pycache__`` next to this file,
or ``NUMBA_CACHE_DIR``); where no cache location is writable the functions are compiled in
memory on each first call instead, silently.
"""
from __future__ import annotations

import numpy as np
import numba

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _jit(fn):
    try:
        return numba.njit(cache=True, nogil=True)(fn)
    except RuntimeError:       # numba: "cannot cache function ...: no locator available"
        return numba.njit(nogil=True)(fn)


def _ok(*arrays):
    return all(a.dtype in _FLOATS for a in arrays)


# The loops run over flat NHWC indices; runs of adds are unrolled by four by hand, because a
# ``for q in range(c)`` loop costs more to enter than its few iterations cost when C is 1 or 6
# (measured: about 2x on LeNet's second convolution).
@_jit
def _add(dst, d, src, s, m):
    e = d + m
    while d + 4 <= e:
        dst[d] += src[s]
        dst[d + 1] += src[s + 1]
        dst[d + 2] += src[s + 2]
        dst[d + 3] += src[s + 3]
        d += 4
        s += 4
    while d < e:
        dst[d] += src[s]
        d += 1
        s += 1


# ------------------------------------------------------------------------------- convolution
# The window copy itself stays NumPy's (one strided copy, as fast as these loops measured);
# its adjoint, a slice-add per kernel offset, is one loop here.  One group only (grouped
# convolutions take the reference).
@_jit
def _scatter_windows(df, gf, n_, h, w, c, kh, kw, sh, sw, pt, pl, dh, dw, ho, wo):
    # Each input element receives its window gradients in the reference's order, kernel offset
    # (i, j) ascending: i is the outer loop, and for one i the windows of a row are visited
    # right to left, so that j ascends for every element; a window's row i is then one run of
    # kw*C adds when dilation is 1 and it lies inside the image.
    kc = kh * kw * c
    run = kw * c
    for n in range(n_):
        for i in range(kh):
            for oh in range(ho):
                ih = oh * sh - pt + i * dh
                if ih < 0 or ih >= h:
                    continue
                row = (n * h + ih) * w
                for ow in range(wo - 1, -1, -1):
                    iw0 = ow * sw - pl
                    src = ((n * ho + oh) * wo + ow) * kc + i * run
                    if dw == 1 and iw0 >= 0 and iw0 + kw <= w:
                        _add(gf, (row + iw0) * c, df, src, run)
                        continue
                    for j in range(kw):
                        iw = iw0 + j * dw
                        if iw >= 0 and iw < w:
                            _add(gf, (row + iw) * c, df, src + j * c, c)


def conv_scatter_windows(dcols, in_shape, ksize, stride, padding, dilation, out_hw):
    if dcols.shape[0] != 1 or not _ok(dcols):
        return NotImplemented
    n, c, h, w = in_shape
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = ksize, stride, dilation, out_hw
    gx = np.zeros((n, h, w, c), dtype=dcols.dtype)
    _scatter_windows(np.ascontiguousarray(dcols).reshape(-1), gx.reshape(-1), n, h, w, c, kh,
                     kw, sh, sw, padding[0], padding[2], dh, dw, ho, wo)
    return gx.transpose(0, 3, 1, 2)


# ----------------------------------------------------------------------------------- pooling
# channels-last inputs only (what a convolution leaves); others take the reference
def _nhwc(a):
    return a.transpose(0, 2, 3, 1).flags.c_contiguous


@_jit
def _max_offsets(xf, of, idf, n_, h, w, c, kh, kw, sh, sw, pt, pl, dh, dw, ho, wo):
    # one pass: the reference's np.maximum chain (the first of equals is kept, NaN wins and
    # stays) with the offset of the value kept; a NaN window gets offset 0, as the reference;
    # padding reads -inf
    ninf = -np.inf
    for n in range(n_):
        for oh in range(ho):
            for ow in range(wo):
                o = ((n * ho + oh) * wo + ow) * c
                for i in range(kh):
                    ih = oh * sh - pt + i * dh
                    for j in range(kw):
                        iw = ow * sw - pl + j * dw
                        k = i * kw + j
                        if ih >= 0 and ih < h and iw >= 0 and iw < w:
                            s = ((n * h + ih) * w + iw) * c
                            if k == 0:
                                for q in range(c):
                                    of[o + q] = xf[s + q]
                                    idf[o + q] = 0
                            else:
                                for q in range(c):       # branch-free: selects
                                    v = xf[s + q]
                                    m = of[o + q]
                                    take = (v > m) | ((v != v) & (m == m))
                                    of[o + q] = v if take else m
                                    idf[o + q] = (k if v == v else 0) if take else idf[o + q]
                        elif k == 0:
                            for q in range(c):
                                of[o + q] = ninf
                                idf[o + q] = 0


def max_with_offsets(x, kernel, stride, pads, dilation, out_hw):
    if not _ok(x) or not _nhwc(x):
        return NotImplemented
    n, c, h, w = x.shape
    ho, wo = out_hw
    out = np.empty((n, ho, wo, c), dtype=x.dtype)
    idx = np.empty((n, ho, wo, c), dtype=np.int8 if kernel[0] * kernel[1] < 128 else np.int32)
    _max_offsets(x.transpose(0, 2, 3, 1).reshape(-1), out.reshape(-1), idx.reshape(-1), n, h, w,
                 c, kernel[0], kernel[1], stride[0], stride[1], pads[0], pads[2], dilation[0],
                 dilation[1], ho, wo)
    return out.transpose(0, 3, 1, 2), idx.transpose(0, 3, 1, 2)


@_jit
def _max_scatter(gf, idf, xf, n_, h, w, c, kh, kw, sh, sw, pt, pl, dh, dw, ho, wo, overlap):
    for n in range(n_):
        # overlapping windows: per image, offset after offset (the reference's order of adds);
        # else every input element gets at most one gradient and one pass does
        for kk in range(kh * kw if overlap else 1):
            for oh in range(ho):
                for ow in range(wo):
                    o = ((n * ho + oh) * wo + ow) * c
                    for q in range(c):
                        k = idf[o + q]
                        if overlap and k != kk:
                            continue
                        i = k // kw
                        ih = oh * sh - pt + i * dh
                        iw = ow * sw - pl + (k - i * kw) * dw
                        if ih >= 0 and ih < h and iw >= 0 and iw < w:
                            xf[((n * h + ih) * w + iw) * c + q] += gf[o + q]


def max_scatter(g, idx, in_shape, kernel, stride, pads, dilation):
    if not _ok(g) or not _nhwc(idx):
        return NotImplemented
    n, c, h, w = in_shape
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    gx = np.zeros((n, h, w, c), dtype=g.dtype)
    overlap = sh < dh * (kh - 1) + 1 or sw < dw * (kw - 1) + 1
    _max_scatter(np.ascontiguousarray(g.transpose(0, 2, 3, 1)).reshape(-1),
                 np.ascontiguousarray(idx.transpose(0, 2, 3, 1)).reshape(-1), gx.reshape(-1),
                 n, h, w, c, kh, kw, sh, sw, pads[0], pads[2], dh, dw, g.shape[2], g.shape[3],
                 overlap)
    return gx.transpose(0, 3, 1, 2)


# ------------------------------------------------------------------------------------- ReLU
# One pass each instead of NumPy's two (the comparison's mask, then the product): 128x256 float32
# in 9 us instead of 21-28 us (docs/performance.md).
@_jit
def _positive_part(x, out, zero):
    for i in range(x.size):
        v = x[i]
        out[i] = v if (v > zero or v != v) else zero      # np.maximum(v, 0): NaN kept


@_jit
def _grad_where_positive(g, y, out, one, zero):
    for i in range(g.size):
        out[i] = g[i] * (one if y[i] > zero else zero)     # g * (y > 0): -0.0, NaN as NumPy


def positive_part(x):
    if type(x) is not np.ndarray or x.dtype not in _FLOATS or not x.flags.c_contiguous:
        return NotImplemented
    out = np.empty_like(x)
    _positive_part(x.reshape(-1), out.reshape(-1), x.dtype.type(0))
    return out


def grad_where_positive(g, y):
    if (type(g) is not np.ndarray or type(y) is not np.ndarray or g.dtype not in _FLOATS
            or y.dtype != g.dtype or y.shape != g.shape
            or not (g.flags.c_contiguous and y.flags.c_contiguous)):
        return NotImplemented
    out = np.empty_like(g)
    t = g.dtype.type
    _grad_where_positive(g.reshape(-1), y.reshape(-1), out.reshape(-1), t(1), t(0))
    return out
