"""Hand-written NumPy MLP (784 -> W -> W/2 -> 10), the baseline of the benchmark.

Design choices (measured on the 2-core dev box, OpenBLAS 0.3.31):
  * weights stored (in, out): ``x @ W`` and ``x.T @ d`` were ~10-25% faster
    than the (out, in) layout for the shapes used here;
  * all parameters live in one flat float32 buffer (and all gradients in
    another), with per-layer views into them, so SGD and Adam are a handful
    of vectorised passes over ~235k floats instead of 6 small updates each;
  * gradients are written in place with ``np.matmul(..., out=view)``;
  * ReLU backward multiplies by the boolean mask (``h > 0``); ``np.copyto``
    with ``where=`` or boolean set-item were ~10x slower;
  * bias gradients are ``ones @ d`` (a BLAS gemv), faster than ``d.sum(0)``;
  * the input gradient of the first layer is never computed (nor is it by
    PyTorch, whose input does not require grad);
  * only Python float scalars are mixed with arrays (NEP 50 "weak" scalars),
    so nothing is silently promoted to float64.  ``check_dtypes`` verifies it.
"""
import math

import numpy as np

from bench_common import shuffled_epoch

F32 = np.float32


def layer_sizes(width):
    return [784, width, width // 2, 10]


class NumpyMLP:
    """MLP with SGD (lr 0.1 default) or Adam (PyTorch defaults) in pure NumPy."""

    def __init__(self, width=256, optimizer="sgd", lr=None, seed=0,
                 betas=(0.9, 0.999), eps=1e-8):
        sizes = layer_sizes(width)
        shapes = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            shapes += [(fan_in, fan_out), (fan_out,)]
        total = sum(math.prod(s) for s in shapes)
        self.flat = np.empty(total, F32)
        self.gflat = np.zeros(total, F32)
        self.params, self.grads = [], []
        off = 0
        for s in shapes:
            n = math.prod(s)
            self.params.append(self.flat[off:off + n].reshape(s))
            self.grads.append(self.gflat[off:off + n].reshape(s))
            off += n
        # PyTorch nn.Linear default init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
        rng = np.random.default_rng(seed)
        for i in range(0, len(shapes), 2):
            bound = 1.0 / math.sqrt(shapes[i][0])
            for p in self.params[i:i + 2]:
                p[...] = rng.uniform(-bound, bound, p.shape).astype(F32)
        self.optimizer = optimizer
        self.lr = lr if lr is not None else (0.1 if optimizer == "sgd" else 1e-3)
        self.ones = np.ones(0, F32)
        if optimizer == "adam":
            self.b1, self.b2 = betas
            self.eps, self.t = eps, 0
            self.m = np.zeros(total, F32)
            self.v = np.zeros(total, F32)
            self.tmp = np.empty(total, F32)
        elif optimizer != "sgd":
            raise ValueError(f"unknown optimizer {optimizer!r}")

    # ------------------------------------------------------------- forward
    def forward(self, x):
        """Inference forward pass: returns logits (B, 10)."""
        W1, b1, W2, b2, W3, b3 = self.params
        h = x @ W1
        h += b1
        np.maximum(h, 0, out=h)
        h2 = h @ W2
        h2 += b2
        np.maximum(h2, 0, out=h2)
        z = h2 @ W3
        z += b3
        return z

    # ---------------------------------------------------------------- step
    def train_step(self, xb, yb):
        """One SGD/Adam step on a batch; returns the mean CE loss (a float)."""
        W1, b1, W2, b2, W3, b3 = self.params
        gW1, gb1, gW2, gb2, gW3, gb3 = self.grads
        B = xb.shape[0]
        if self.ones.shape[0] < B:
            self.ones = np.ones(B, F32)
        ones = self.ones[:B]
        rows = np.arange(B)
        # forward
        h1 = xb @ W1
        h1 += b1
        np.maximum(h1, 0, out=h1)
        h2 = h1 @ W2
        h2 += b2
        np.maximum(h2, 0, out=h2)
        z = h2 @ W3
        z += b3
        # softmax cross-entropy (log-sum-exp shifted by the row max)
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        s = p.sum(axis=1, keepdims=True)
        loss = float(np.log(s).mean() - z[rows, yb].mean())
        p /= s
        p[rows, yb] -= 1.0
        p *= 1.0 / B                      # dL/dz
        # backward
        np.matmul(h2.T, p, out=gW3)
        np.matmul(ones, p, out=gb3)
        d2 = p @ W3.T
        np.multiply(d2, h2 > 0, out=d2)
        np.matmul(h1.T, d2, out=gW2)
        np.matmul(ones, d2, out=gb2)
        d1 = d2 @ W2.T
        np.multiply(d1, h1 > 0, out=d1)
        np.matmul(xb.T, d1, out=gW1)
        np.matmul(ones, d1, out=gb1)
        self._last = (h1, h2, z, p, d2, d1)   # kept only for check_dtypes
        self._update()
        return loss

    def _update(self):
        g, w = self.gflat, self.flat
        if self.optimizer == "sgd":
            g *= self.lr
            w -= g
            return
        # torch.optim.Adam (amsgrad=False, weight_decay=0, maximize=False)
        b1, b2, m, v, tmp = self.b1, self.b2, self.m, self.v, self.tmp
        self.t += 1
        m *= b1
        np.multiply(g, 1.0 - b1, out=tmp)
        m += tmp
        v *= b2
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - b2
        v += tmp
        step_size = self.lr / (1.0 - b1 ** self.t)
        np.sqrt(v, out=tmp)
        tmp *= 1.0 / math.sqrt(1.0 - b2 ** self.t)
        tmp += self.eps
        np.divide(m, tmp, out=tmp)
        tmp *= step_size
        w -= tmp

    def check_dtypes(self):
        """Raise if any parameter, state or intermediate is not float32."""
        arrays = [self.flat, self.gflat, *getattr(self, "_last", ())]
        arrays += [getattr(self, k) for k in ("m", "v", "tmp") if hasattr(self, k)]
        bad = [a.dtype for a in arrays if a.dtype != F32]
        if bad:
            raise AssertionError(f"float64 leak in NumPy MLP: {bad}")


def setup(X, y, batch_size, optimizer, width=256, seed=0):
    """Build the model outside the timing; return ``epoch() -> seconds``."""
    model = NumpyMLP(width, optimizer, seed=seed)
    epoch = shuffled_epoch(model.train_step, X, y, batch_size, seed)   # float loss == .item()
    epoch.model = model
    return epoch


def run_epoch(X, y, batch_size, optimizer, width=256):
    return setup(X, y, batch_size, optimizer, width)()
