"""One-pass update kernels (numba) for SGD and Adam: ``fused=`` of their PyTorch signatures.

The NumPy update of a rule makes one pass over memory per arithmetic step (Adam: about a dozen,
through work arrays); these loops make one, reading each element of the parameter, gradient and
state once.  Each loop does the NumPy reference's arithmetic in the same order, in the array's
dtype, with the constants rounded to that dtype as NumPy rounds a Python float operand, and with
no fused multiply-add (numba compiles without fast-math), so the results are the reference's bit
for bit; ``tests/test_optim_fused.py`` checks that.  Each public function answers
``NotImplemented`` for what it does not cover (a dtype other than float32/float64, arrays that are
not C-contiguous), and the caller then runs the NumPy update.
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


def _flat(d, g, bufs):
    """The arrays as 1-D views, or None when a kernel cannot take them."""
    dt, shape = d.dtype, d.shape
    if dt not in _FLOATS or not d.flags.c_contiguous:
        return None
    out = [d.reshape(-1)]
    for a in (g, *bufs):
        if a.dtype != dt or a.shape != shape or not a.flags.c_contiguous:
            return None
        out.append(a.reshape(-1))
    return out


@_jit
def _sgd(d, g, lr):
    for i in range(d.size):
        d[i] = d[i] - g[i] * lr


@_jit
def _sgd_momentum(d, g, b, lr, mom, keep, scaled, nesterov, fresh):
    for i in range(d.size):
        gi = g[i]
        if fresh:
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


def sgd(h, fresh, d, g, bufs):
    """SGD's step on one parameter (``h`` = lr, momentum, 1 - dampening, nesterov)."""
    flat = _flat(d, g, bufs)
    if flat is None:
        return NotImplemented
    t = d.dtype.type
    lr, momentum, keep, nesterov = h
    if bufs:
        _sgd_momentum(flat[0], flat[1], flat[2], t(lr), t(momentum), t(keep), keep != 1.0,
                      bool(nesterov), bool(fresh))
    else:
        _sgd(flat[0], flat[1], t(lr))
    return True


@_jit
def _adam(d, g, m, v, w, one_minus_w, small, b2, w2, eps_c, scale):
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


def adam(h, step, d, g, bufs):
    """Adam's step on one parameter (``h`` = lr, beta1, beta2, eps; ``bufs`` = exp_avg,
    exp_avg_sq); amsgrad's third buffer is left to the NumPy update."""
    if len(bufs) != 2:
        return NotImplemented
    flat = _flat(d, g, bufs)
    if flat is None:
        return NotImplemented
    t = d.dtype.type
    lr, beta1, beta2, eps = h
    w = 1.0 - beta1
    step_size = lr / (1.0 - beta1 ** step)
    bc2_sqrt = (1.0 - beta2 ** step) ** 0.5
    _adam(flat[0], flat[1], flat[2], flat[3], t(w), t(1.0 - w), w < 0.5, t(beta2),
          t(1.0 - beta2), t(eps * bc2_sqrt), t(step_size * bc2_sqrt))
    return True
