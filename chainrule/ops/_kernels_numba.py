"""numba twins of the NumPy array helpers marked ``@accelerated`` (see ``ops/kernels.py``).

Each public function here has the name, the arguments (without ``xp``) and the result of its
NumPy reference in ``ops/conv.py`` or ``ops/pool.py``, and returns ``NotImplemented`` for what
it does not cover (dtypes other than float32/float64), which then runs the reference.  The
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


def _nhwc_like(like, shape, dtype=None):
    """A zero (N, C, H, W) array, channels-last when ``like`` is (as pool.py's ``_alloc``), and
    its (N, H, W, C) view for the kernels."""
    n, c, h, w = shape
    dtype = like.dtype if dtype is None else dtype
    if not like.flags.c_contiguous and like.transpose(0, 2, 3, 1).flags.c_contiguous:
        buf = np.zeros((n, h, w, c), dtype=dtype)
        return buf.transpose(0, 3, 1, 2), buf
    buf = np.zeros(shape, dtype=dtype)
    return buf, buf.transpose(0, 2, 3, 1)


# ------------------------------------------------------------------------------- convolution
@_jit
def _windows(x, cols, kh, kw, sh, sw, pt, pl, dh, dw, ho, wo):
    nb, h, w, c = x.shape
    groups = cols.shape[0]
    cg = c // groups
    for n in range(nb):
        for oh in range(ho):
            for ow in range(wo):
                r = (n * ho + oh) * wo + ow
                for i in range(kh):
                    ih = oh * sh - pt + i * dh
                    for j in range(kw):
                        iw = ow * sw - pl + j * dw
                        base = (i * kw + j) * cg
                        if 0 <= ih < h and 0 <= iw < w:
                            for gi in range(groups):
                                for ci in range(cg):
                                    cols[gi, r, base + ci] = x[n, ih, iw, gi * cg + ci]
                        else:
                            for gi in range(groups):
                                for ci in range(cg):
                                    cols[gi, r, base + ci] = 0
    return cols


def conv_windows(x, ksize, stride, padding, dilation, groups):
    if not _ok(x):
        return NotImplemented
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (dh, dw) = ksize, stride, dilation
    pt, pb, pl, pr = padding
    ho = (h + pt + pb - dh * (kh - 1) - 1) // sh + 1
    wo = (w + pl + pr - dw * (kw - 1) - 1) // sw + 1
    cols = np.empty((groups, n * ho * wo, kh * kw * (c // groups)), dtype=x.dtype)
    _windows(x.transpose(0, 2, 3, 1), cols, kh, kw, sh, sw, pt, pl, dh, dw, ho, wo)
    return cols, (ho, wo)


@_jit
def _scatter_windows(dcols, gx, kh, kw, sh, sw, pt, pl, dh, dw, ho, wo):
    nb, h, w, c = gx.shape
    groups = dcols.shape[0]
    cg = c // groups
    for n in range(nb):          # per image, offset after offset: the reference's order of adds
        for i in range(kh):
            for j in range(kw):
                base = (i * kw + j) * cg
                for oh in range(ho):
                    ih = oh * sh - pt + i * dh
                    if ih < 0 or ih >= h:
                        continue
                    for ow in range(wo):
                        iw = ow * sw - pl + j * dw
                        if iw < 0 or iw >= w:
                            continue
                        r = (n * ho + oh) * wo + ow
                        for gi in range(groups):
                            for ci in range(cg):
                                gx[n, ih, iw, gi * cg + ci] += dcols[gi, r, base + ci]
    return gx


def conv_scatter_windows(dcols, in_shape, ksize, stride, padding, dilation, out_hw):
    if not _ok(dcols):
        return NotImplemented
    n, c, h, w = in_shape
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = ksize, stride, dilation, out_hw
    gx = np.zeros((n, h, w, c), dtype=dcols.dtype)
    _scatter_windows(dcols, gx, kh, kw, sh, sw, padding[0], padding[2], dh, dw, ho, wo)
    return gx.transpose(0, 3, 1, 2)


# ----------------------------------------------------------------------------------- pooling
@_jit
def _max_offsets(x, out, idx, kh, kw, sh, sw, pt, pl, dh, dw):
    nb, h, w, c = x.shape
    _, ho, wo, _ = out.shape
    ninf = -np.inf
    for n in range(nb):
        for oh in range(ho):
            for ow in range(wo):
                for ci in range(c):
                    # the reference's np.maximum chain (NaN wins, the first of equals is kept),
                    # padding reads -inf
                    m = ninf
                    for i in range(kh):
                        ih = oh * sh - pt + i * dh
                        for j in range(kw):
                            iw = ow * sw - pl + j * dw
                            v = x[n, ih, iw, ci] if 0 <= ih < h and 0 <= iw < w else ninf
                            if (i == 0 and j == 0) or not (m >= v or np.isnan(m)):
                                m = v
                    k = 0                  # the first offset that equals the maximum (else 0)
                    found = False
                    for i in range(kh):
                        ih = oh * sh - pt + i * dh
                        for j in range(kw):
                            iw = ow * sw - pl + j * dw
                            v = x[n, ih, iw, ci] if 0 <= ih < h and 0 <= iw < w else ninf
                            if not found and v == m:
                                k = i * kw + j
                                found = True
                    out[n, oh, ow, ci] = m
                    idx[n, oh, ow, ci] = k


def max_with_offsets(x, kernel, stride, pads, dilation, out_hw):
    if not _ok(x):
        return NotImplemented
    n, c = x.shape[:2]
    shape = (n, c) + tuple(out_hw)
    out, out_v = _nhwc_like(x, shape)
    idx, idx_v = _nhwc_like(x, shape, np.int8 if kernel[0] * kernel[1] < 128 else np.int32)
    _max_offsets(x.transpose(0, 2, 3, 1), out_v, idx_v, kernel[0],
                 kernel[1], stride[0], stride[1], pads[0], pads[2], dilation[0], dilation[1])
    return out, idx


@_jit
def _max_scatter(g, idx, gx, kh, kw, sh, sw, pt, pl, dh, dw):
    nb, ho, wo, c = g.shape
    _, h, w, _ = gx.shape
    for n in range(nb):          # per image, offset after offset: the reference's order of adds
        for k in range(kh * kw):
            i = k // kw
            j = k - i * kw
            for oh in range(ho):
                ih = oh * sh - pt + i * dh
                if ih < 0 or ih >= h:
                    continue
                for ow in range(wo):
                    iw = ow * sw - pl + j * dw
                    if iw < 0 or iw >= w:
                        continue
                    for ci in range(c):
                        if idx[n, oh, ow, ci] == k:
                            gx[n, ih, iw, ci] += g[n, oh, ow, ci]


def max_scatter(g, idx, in_shape, kernel, stride, pads, dilation):
    if not _ok(g):
        return NotImplemented
    gx, gx_v = _nhwc_like(g, in_shape)
    _max_scatter(g.transpose(0, 2, 3, 1), idx.transpose(0, 2, 3, 1), gx_v, kernel[0],
                 kernel[1], stride[0], stride[1], pads[0], pads[2], dilation[0], dilation[1])
    return gx
