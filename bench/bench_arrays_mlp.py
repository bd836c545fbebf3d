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

Run alone, it splits that Python cost by phase (zero_grad, forward, loss, backward, step,
``item()``) in the benchmark's own conditions: chainrule's eager step and these array calls on
the same batches, taking turns step by step, medians per phase:

    python bench/bench_arrays_mlp.py --phases --data-dir ../shared/datasets/mnist-test
"""
import math
import os
import sys
import time

import numpy as np

from bench_common import shuffled_epoch

F32 = np.float32


class ArraysMLP:
    """The step as four phases (forward, loss, backward, update), so that ``--phases`` can time
    each against chainrule's."""

    def __init__(self, width=256, seed=0, params=None):
        from chainrule.ops import _kernels_numba as kern      # chainrule's kernels (numba)
        from chainrule.optim import _fused_numba as fused
        self.kern, self.fused = kern, fused
        if params is None:
            sizes = [784, width, width // 2, 10]
            rng = np.random.default_rng(seed)
            params = []
            for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
                bound = 1.0 / math.sqrt(fan_in)
                params.append(rng.uniform(-bound, bound, (fan_out, fan_in)).astype(F32))
                params.append(rng.uniform(-bound, bound, (fan_out,)).astype(F32))
        self.params = params
        self.flat_params = tuple(p.reshape(-1) for p in params)
        self.lr = F32(0.1)

    def relu(self, h):       # Relu.forward: the kernel from 16,384 elements, as ops/elementwise
        return self.kern.positive_part(h) if h.size >= 16384 else np.maximum(h, 0)

    def relu_grad(self, g, r):
        return self.kern.grad_where_positive(g, r) if g.size >= 16384 else g * (r > 0)

    @staticmethod
    def linear(x, w, b):     # ops/linalg.Linear.forward
        out = x @ w.T
        out += b
        return out

    @staticmethod
    def linear_grads(g, x, w, need_x=True):   # ops/linalg.Linear.backward
        ones = np.empty(g.shape[0], g.dtype)
        ones.fill(1)
        return (g @ w if need_x else None), g.T @ x, ones @ g

    def forward(self, xb):
        w1, b1, w2, b2, w3, b3 = self.params
        r1 = self.relu(self.linear(xb, w1, b1))
        r2 = self.relu(self.linear(r1, w2, b2))
        return xb, r1, r2, self.linear(r2, w3, b3)

    @staticmethod
    def loss(z, yb):         # ops/loss.CrossEntropyIndex.forward, 'mean' reduction
        n = z.shape[0]
        rows = np.arange(n)
        s = z - np.maximum.reduce(z, axis=1, keepdims=True)
        e = np.exp(s)
        zs = np.add.reduce(e, axis=1, keepdims=True)
        nll = np.log(zs[:, 0]) - s[rows, yb]
        e /= zs
        e[rows, yb] -= 1
        return np.asarray(np.add.reduce(nll) / n, dtype=z.dtype), e

    def backward(self, acts, dlogits):
        xb, r1, r2, z = acts
        w1, _, w2, _, w3, _ = self.params
        g = dlogits * (np.ones((), z.dtype) / z.shape[0])      # the loss's backward
        d2, gw3, gb3 = self.linear_grads(g, r2, w3)
        d1, gw2, gb2 = self.linear_grads(self.relu_grad(d2, r2), r1, w2)
        _, gw1, gb1 = self.linear_grads(self.relu_grad(d1, r1), xb, w1, need_x=False)
        return gw1, gb1, gw2, gb2, gw3, gb3

    def update(self, grads):                                   # SGD's fused kernel
        self.fused._sgd(self.flat_params, tuple(a.reshape(-1) for a in grads), self.lr)

    def train_step(self, xb, yb):
        acts = self.forward(xb)
        loss, dlogits = self.loss(acts[-1], yb)
        self.update(self.backward(acts, dlogits))
        return float(loss)


def setup(X, y, batch_size, optimizer, width=256, seed=0):
    if optimizer != "sgd":
        raise ValueError("chainrule-arrays: SGD only")
    return shuffled_epoch(ArraysMLP(width, seed).train_step, X, y, batch_size, seed)


# ----------------------------------------------------------------------------- --phases
PHASES = ("zero_grad", "forward", "loss", "backward", "step", "item")


def phases(X, y, batch_size, epochs=4, width=256, seed=0, skip=50):
    """Per-phase median microseconds of chainrule's eager SGD step and of the same array calls
    without the framework, on the same batches, the two taking turns step by step (the order
    alternates).  ``{"chainrule": {phase: us}, "arrays": {phase: us}}``."""
    import chainrule as cr
    import bench_systems
    cr.manual_seed(seed)
    model = bench_systems._cr_model(cr, width)
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    ce = cr.nn.functional.cross_entropy
    mlp = ArraysMLP(params=[p.detach().numpy().copy() for p in model.parameters()])
    pc = time.perf_counter

    def cr_step(xb, yb):
        t0 = pc()
        opt.zero_grad()
        t1 = pc()
        out = model(xb)
        t2 = pc()
        loss = ce(out, yb)
        t3 = pc()
        loss.backward()
        t4 = pc()
        opt.step()
        t5 = pc()
        loss.item()
        return t0, t1, t2, t3, t4, t5, pc()

    def arrays_step(xb, yb):
        t0 = pc()
        acts = mlp.forward(xb)
        t2 = pc()
        loss, dlogits = mlp.loss(acts[-1], yb)
        t3 = pc()
        grads = mlp.backward(acts, dlogits)
        t4 = pc()
        mlp.update(grads)
        t5 = pc()
        float(loss)
        return t0, t0, t2, t3, t4, t5, pc()

    rng = np.random.default_rng(seed)
    times = {"chainrule": [], "arrays": []}
    k = 0
    for _ in range(epochs):
        perm = rng.permutation(X.shape[0])
        for i in range(0, X.shape[0] - batch_size + 1, batch_size):
            idx = perm[i:i + batch_size]
            xa, ya = X[idx], y[idx]
            xc, yc = cr.from_numpy(xa), cr.from_numpy(ya)
            turns = [("chainrule", cr_step, xc, yc), ("arrays", arrays_step, xa, ya)]
            for name, f, xb, yb in (turns if k % 2 else turns[::-1]):
                times[name].append(np.diff(f(xb, yb)))
            k += 1
    return {name: dict(zip(PHASES, np.median(np.array(t[skip:]), axis=0) * 1e6))
            for name, t in times.items()}


def main(argv=None):
    import argparse
    import bench_common as bc
    ap = argparse.ArgumentParser(description="chainrule's eager SGD step against its array "
                                 "calls alone, phase by phase (see the module docstring)")
    ap.add_argument("--phases", action="store_true", required=True)
    ap.add_argument("--batch-size", type=int, nargs="+", default=[128, 32])
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data-dir", default=None)
    a = ap.parse_args(argv)
    note = bc.set_threads(a.threads, ["numpy"])
    X, y, desc = bc.load_data(a.n, a.data_dir)
    print(f"data: {desc}; threads {a.threads}{'; ' + note if note else ''}; load average "
          f"{os.getloadavg()[0]:.2f}; median microseconds per step")
    print(f"{'batch':>5}  {'':10s}" + "".join(f"{p:>10s}" for p in PHASES) + f"{'total':>10s}")
    for bs in a.batch_size:
        r = phases(X, y, bs, a.epochs)
        r["difference"] = {p: r["chainrule"][p] - r["arrays"][p] for p in PHASES}
        for name, ph in r.items():
            print(f"{bs:5d}  {name:10s}" + "".join(f"{ph[p]:10.0f}" for p in PHASES) +
                  f"{sum(ph.values()):10.0f}")


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    sys.path.insert(1, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    main()
