"""One-pass update kernels (numba) for SGD and Adam: ``fused=`` of their PyTorch signatures.

The NumPy update of a rule makes one pass over memory per arithmetic step (Adam: about a dozen,
through work arrays); these loops make one, reading each element of the parameter, gradient and
state once.  Each loop does the NumPy reference's arithmetic in the same order, in the array's
dtype, with the constants rounded to that dtype as NumPy rounds a Python float operand, and with
no fused multiply-add (numba compiles without fast-math), so the results are the reference's bit
for bit; ``tests/test_optim_fused.py`` checks that.  Each public function updates a whole group
in one compiled call, or answers ``NotImplemented``, before changing anything, for what it does
not cover (a dtype other than float32/float64, a group of several dtypes, arrays that are not
C-contiguous); the caller then runs the NumPy update.
"""
from __future__ import annotations

import numba
import numpy as np


_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _jit(fn):
    # error_model="numpy": a division by zero gives inf/nan as NumPy's does, with no test in the
    # loop, which lets LLVM vectorize it (Adam's loop: 100 us instead of 660 us for 200k floats)
    try:
        return numba.njit(cache=True, nogil=True, error_model="numpy")(fn)
    except RuntimeError:       # numba: "cannot cache function ...: no locator available"
        return numba.njit(nogil=True, error_model="numpy")(fn)


def _flats(ds, gs, bufs):
    """``(parameters, gradients, buffer lists)`` as tuples of 1-D views, or None when a kernel
    cannot take them all (one dtype for the group, each array C-contiguous, same shapes).

    ``ravel`` of a C-contiguous array is a view (checked first, so no update lands in a copy)."""
    dt = ds[0].dtype
    if dt not in _FLOATS:
        return None
    columns = [ds, gs, *zip(*bufs)] if bufs else [ds, gs]
    for arrays in columns:
        for a, d in zip(arrays, ds):
            if a.dtype != dt or not a.flags.c_contiguous or a.shape != d.shape:
                return None
    fd, fg, *fb = [tuple([a.ravel() for a in arrays]) for arrays in columns]
    return fd, fg, fb


def _decay(ds, decay):
    if decay is not None:          # AdamW's decoupled weight decay, before the update (NumPy)
        for d in ds:
            d *= decay


# Each kernel takes the whole group: tuples of 1-D arrays (one numba call per step, not one per
# parameter: a call costs about 3 us, as much as the update of a 1,000-element bias).
@_jit
def _sgd(ds, gs, lr):
    for k in range(len(ds)):
        d, g = ds[k], gs[k]
        for i in range(d.size):
            d[i] = d[i] - g[i] * lr


@_jit
def _sgd_momentum(ds, gs, bs, lr, mom, keep, scaled, nesterov, fresh):
    for k in range(len(ds)):
        d, g, b, first = ds[k], gs[k], bs[k], fresh[k]
        for i in range(d.size):
            gi = g[i]
            if first:
                bi = gi
            elif scaled:
                bi = b[i] * mom + gi * keep
            else:
                bi = b[i] * mom + gi
            b[i] = bi
            if nesterov:
                o = (bi * mom + gi) * lr
            else:
                o = bi * lr
            d[i] = d[i] - o


def sgd(h, cs, ds, gs, bufs, decay=None):
    """SGD's step on a group (``h`` = lr, momentum, 1 - dampening, nesterov; ``cs``: per
    parameter, whether its momentum buffer is new)."""
    flat = _flats(ds, gs, bufs)
    if flat is None:
        return NotImplemented
    _decay(ds, decay)
    fd, fg, fb = flat
    t = ds[0].dtype.type
    lr, momentum, keep, nesterov = h
    if fb:
        _sgd_momentum(fd, fg, fb[0], t(lr), t(momentum), t(keep), keep != 1.0, bool(nesterov),
                      np.array(cs, dtype=np.bool_))
    else:
        _sgd(fd, fg, t(lr))
    return True


@_jit
def _adam(ds, gs, ms, vs, w, one_minus_w, small, b2, w2, eps_cs, scales):
    for k in range(len(ds)):
        d, g, m, v, eps_c, scale = ds[k], gs[k], ms[k], vs[k], eps_cs[k], scales[k]
        for i in range(d.size):
            gi = g[i]
            mi = m[i]
            if small:                      # _lerp_: m + w (g - m), or g - (1 - w)(g - m)
                mi = mi + (gi - mi) * w
            else:
                mi = gi - (gi - mi) * one_minus_w
            m[i] = mi
            vi = v[i] * b2 + (gi * w2) * gi
            v[i] = vi
            d[i] = d[i] - (mi / (np.sqrt(vi) + eps_c)) * scale


def adam(h, cs, ds, gs, bufs, decay=None):
    """Adam's step on a group (``h`` = lr, beta1, beta2, eps; ``cs``: each parameter's step
    count; buffers exp_avg, exp_avg_sq); amsgrad's third buffer is left to the NumPy update."""
    if bufs is None or len(bufs[0]) != 2:
        return NotImplemented
    flat = _flats(ds, gs, bufs)
    if flat is None:
        return NotImplemented
    _decay(ds, decay)
    fd, fg, (fm, fv) = flat
    dt = ds[0].dtype
    t = dt.type
    lr, beta1, beta2, eps = h
    w = 1.0 - beta1
    eps_cs, scales = [], []
    for step in cs:
        step_size = lr / (1.0 - beta1 ** step)
        bc2_sqrt = (1.0 - beta2 ** step) ** 0.5
        eps_cs.append(eps * bc2_sqrt)
        scales.append(step_size * bc2_sqrt)
    _adam(fd, fg, fm, fv, t(w), t(1.0 - w), w < 0.5, t(beta2), t(1.0 - beta2),
          np.array(eps_cs, dtype=dt), np.array(scales, dtype=dt))
    return True
