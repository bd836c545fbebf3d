"""The array work of a chainrule training step, without chainrule: a diagnostic system.

``bench_mlp.py --systems numpy chainrule-arrays chainrule chainrule-compiled`` splits the gap
between chainrule and the hand-written NumPy baseline (``bench_numpy_mlp.py``) in two:

* ``numpy`` -> ``chainrule-arrays``: what chainrule's *design* costs in array work, since this
  step makes the calls chainrule's ops make, in the same layouts and with the same kernels:
  PyTorch's ``(out, in)`` weights and ``x @ W.T``, a new array for every gradient (no
  preallocated ``out=``), separate parameter arrays updated by the fused SGD kernel (no flat
  buffer), ReLU and its mask through chainrule's kernels, the cross-entropy as
  ``ops/loss.py`` computes it;
* ``chainrule-arrays`` -> ``chainrule`` (eager) or ``chainrule-compiled``: what the framework
  costs in Python around those calls (modules, graph nodes, the engine, the optimizer's checks).

SGD only (the question it answers is the SGD rows of the train task); batches are drawn from a
shuffled permutation as in the NumPy baseline.
"""
import math

import numpy as np

from bench_common import timed

F32 = np.float32


def setup(X, y, batch_size, optimizer, width=256, seed=0):
    if optimizer != "sgd":
        raise ValueError("chainrule-arrays: SGD only")
    from chainrule.ops import _kernels_numba as kern      # chainrule's kernels (numba)
    from chainrule.optim import _fused_numba as fused
    sizes = [784, width, width // 2, 10]
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / math.sqrt(fan_in)
        params.append(rng.uniform(-bound, bound, (fan_out, fan_in)).astype(F32))
        params.append(rng.uniform(-bound, bound, (fan_out,)).astype(F32))
    flat_params = tuple(p.reshape(-1) for p in params)
    lr = F32(0.1)

    def relu(h):           # Relu.forward: the kernel from 16,384 elements, as ops/elementwise
        return kern.positive_part(h) if h.size >= 16384 else np.maximum(h, 0)

    def relu_grad(g, r):
        return kern.grad_where_positive(g, r) if g.size >= 16384 else g * (r > 0)

    def linear(x, w, b):   # ops/linalg.Linear.forward
        out = x @ w.T
        out += b
        return out

    def linear_grads(g, x, w, need_x=True):   # ops/linalg.Linear.backward
        ones = np.empty(g.shape[0], g.dtype)
        ones.fill(1)
        return (g @ w if need_x else None), g.T @ x, ones @ g

    def train_step(xb, yb):
        w1, b1, w2, b2, w3, b3 = params
        r1 = relu(linear(xb, w1, b1))
        r2 = relu(linear(r1, w2, b2))
        z = linear(r2, w3, b3)
        # ops/loss.CrossEntropyIndex.forward, 'mean' reduction
        n = z.shape[0]
        rows = np.arange(n)
        s = z - np.maximum.reduce(z, axis=1, keepdims=True)
        e = np.exp(s)
        zs = np.add.reduce(e, axis=1, keepdims=True)
        nll = np.log(zs[:, 0]) - s[rows, yb]
        e /= zs
        e[rows, yb] -= 1
        loss = np.asarray(np.add.reduce(nll) / n, dtype=z.dtype)
        g = e * (np.ones((), z.dtype) / n)                   # its backward
        d2, gw3, gb3 = linear_grads(g, r2, w3)
        d1, gw2, gb2 = linear_grads(relu_grad(d2, r2), r1, w2)
        _, gw1, gb1 = linear_grads(relu_grad(d1, r1), xb, w1, need_x=False)
        grads = tuple(a.reshape(-1) for a in (gw1, gb1, gw2, gb2, gw3, gb3))
        fused._sgd(flat_params, grads, lr)                   # SGD's fused kernel
        return float(loss)

    n = X.shape[0]

    def steps():
        perm = rng.permutation(n)
        for i in range(0, n, batch_size):
            idx = perm[i:i + batch_size]
            train_step(X[idx], y[idx])
            yield

    return timed(steps)
