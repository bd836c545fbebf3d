"""LeNet-5 by hand in NumPy: the baseline of bench_cnn.py (no framework, no autograd).

NHWC storage throughout; a convolution is ``sliding_window_view`` + one copy into a
(N*Ho*Wo, kh*kw*C) matrix + one matmul; its input gradient is a slice-add per kernel offset;
max-pooling is ``np.maximum`` over the four strided 2x2 slices.
"""
import numpy as np


def _cols(x, k):
    win = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(1, 2))
    n, ho, wo, c = win.shape[:4]
    return np.ascontiguousarray(win.transpose(0, 1, 2, 4, 5, 3)).reshape(n * ho * wo,
                                                                        k * k * c), (ho, wo)


def _conv_in_grad(dcols, shape, k):
    n, h, w, c = shape
    ho, wo = h - k + 1, w - k + 1
    d = dcols.reshape(n, ho, wo, k, k, c)
    gx = np.zeros(shape, dcols.dtype)
    for i in range(k):
        for j in range(k):
            gx[:, i:i + ho, j:j + wo] += d[:, :, :, i, j]
    return gx


def _pool(y):
    a, b, c, d = y[:, 0::2, 0::2], y[:, 1::2, 0::2], y[:, 0::2, 1::2], y[:, 1::2, 1::2]
    return np.maximum(np.maximum(a, b), np.maximum(c, d))


def _pool_grad(y, p, g):
    gy = np.zeros_like(y)
    taken = np.zeros(p.shape, bool)
    for sl in ((slice(0, None, 2), slice(0, None, 2)), (slice(1, None, 2), slice(0, None, 2)),
               (slice(0, None, 2), slice(1, None, 2)), (slice(1, None, 2), slice(1, None, 2))):
        hit = (y[:, sl[0], sl[1]] == p) & ~taken
        gy[:, sl[0], sl[1]] = g * hit
        taken |= hit
    return gy


class LeNet:
    """conv 1->6 5x5, ReLU, pool 2, conv 6->16 5x5, ReLU, pool 2, 256->120->84->10."""

    def __init__(self, seed=0, side=28):
        rng = np.random.default_rng(seed)
        f = (side - 4) // 2
        f = (f - 4) // 2

        def u(shape, fan):
            b = 1 / np.sqrt(fan)
            return rng.uniform(-b, b, shape).astype(np.float32)
        self.p = {"w1": u((25, 6), 25), "b1": u(6, 25), "w2": u((150, 16), 150),
                  "b2": u(16, 150), "w3": u((16 * f * f, 120), 16 * f * f),
                  "b3": u(120, 16 * f * f), "w4": u((120, 84), 120), "b4": u(84, 120),
                  "w5": u((84, 10), 84), "b5": u(10, 84)}

    def step(self, x, y, lr):
        """One SGD step on a batch x (N, 28, 28, 1) float32, labels y; returns the loss."""
        p, n = self.p, x.shape[0]
        c1, (h1, w1) = _cols(x, 5)
        a1 = np.maximum(c1 @ p["w1"] + p["b1"], 0).reshape(n, h1, w1, 6)
        p1 = _pool(a1)
        c2, (h2, w2) = _cols(p1, 5)
        a2 = np.maximum(c2 @ p["w2"] + p["b2"], 0).reshape(n, h2, w2, 16)
        p2 = _pool(a2)
        f = p2.reshape(n, -1)
        h3 = np.maximum(f @ p["w3"] + p["b3"], 0)
        h4 = np.maximum(h3 @ p["w4"] + p["b4"], 0)
        z = h4 @ p["w5"] + p["b5"]
        z -= z.max(1, keepdims=True)
        e = np.exp(z)
        prob = e / e.sum(1, keepdims=True)
        loss = -np.log(prob[np.arange(n), y]).mean()
        g = prob
        g[np.arange(n), y] -= 1
        g /= n
        grads = {"w5": h4.T @ g, "b5": g.sum(0)}
        g = (g @ p["w5"].T) * (h4 > 0)
        grads.update(w4=h3.T @ g, b4=g.sum(0))
        g = (g @ p["w4"].T) * (h3 > 0)
        grads.update(w3=f.T @ g, b3=g.sum(0))
        g = (g @ p["w3"].T).reshape(p2.shape)
        g = _pool_grad(a2, p2, g) * (a2 > 0)
        gm = g.reshape(-1, 16)
        grads.update(w2=c2.T @ gm, b2=gm.sum(0))
        g = _conv_in_grad(gm @ p["w2"].T, p1.shape, 5)
        g = _pool_grad(a1, p1, g) * (a1 > 0)
        gm = g.reshape(-1, 6)
        grads.update(w1=c1.T @ gm, b1=gm.sum(0))
        for k, v in grads.items():
            p[k] -= lr * v
        return loss
