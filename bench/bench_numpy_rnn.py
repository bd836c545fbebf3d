"""NumPy by hand: one-layer LSTM / GRU / tanh RNN + Linear head, BPTT, softmax CE, SGD.

The straightforward way to write it: the input projection of all steps as one matmul, per step
only ``h @ W_hh.T`` and the gate arithmetic (new arrays each time), the weight gradients summed
per step.  It is the baseline ``bench_rnn.py`` measures chainrule against.
"""
import numpy as np


def _sig(a):
    return 1.0 / (1.0 + np.exp(-a))


def numpy_setup(cell, X, y, I, H, C, lr, seed=0):
    rng = np.random.default_rng(seed)
    G = {"lstm": 4, "gru": 3, "rnn": 1}[cell] * H
    k = 1 / np.sqrt(H)
    p = {"wih": rng.uniform(-k, k, (G, I)), "whh": rng.uniform(-k, k, (G, H)),
         "bih": rng.uniform(-k, k, G), "bhh": rng.uniform(-k, k, G),
         "wo": rng.uniform(-k, k, (C, H)), "bo": rng.uniform(-k, k, C)}
    p = {n: v.astype(np.float32) for n, v in p.items()}

    def head_grad(h, yb):
        logits = h @ p["wo"].T + p["bo"]
        e = np.exp(logits - logits.max(1, keepdims=True))
        prob = e / e.sum(1, keepdims=True)
        prob[np.arange(len(yb)), yb] -= 1
        dl = prob / len(yb)
        return dl, dl.T @ h, dl.sum(0), dl @ p["wo"]

    def lstm_step(x, yb):
        T, Bn, _ = x.shape
        proj = (x.reshape(T * Bn, I) @ p["wih"].T + (p["bih"] + p["bhh"])).reshape(T, Bn, G)
        h, c = np.zeros((Bn, H), np.float32), np.zeros((Bn, H), np.float32)
        cache = []
        for t in range(T):
            a = proj[t] + h @ p["whh"].T
            i, f, g, o = _sig(a[:, :H]), _sig(a[:, H:2 * H]), np.tanh(a[:, 2 * H:3 * H]), \
                _sig(a[:, 3 * H:])
            c_prev, h_prev = c, h
            c = f * c + i * g
            tc = np.tanh(c)
            h = o * tc
            cache.append((i, f, g, o, c_prev, h_prev, tc))
        _, gwo, gbo, dh = head_grad(h, yb)
        dc = np.zeros_like(dh)
        dwhh = np.zeros_like(p["whh"])
        dproj = np.empty_like(proj)
        for t in range(T - 1, -1, -1):
            i, f, g, o, c_prev, h_prev, tc = cache[t]
            dc = dc + dh * o * (1 - tc * tc)
            da = np.concatenate([dc * g * i * (1 - i), dc * c_prev * f * (1 - f),
                                 dc * i * (1 - g * g), dh * tc * o * (1 - o)], axis=1)
            dproj[t] = da
            dwhh += da.T @ h_prev
            dh = da @ p["whh"]
            dc = dc * f
        return dproj, dwhh, gwo, gbo, None

    def gru_step(x, yb):
        T, Bn, _ = x.shape
        proj = (x.reshape(T * Bn, I) @ p["wih"].T + p["bih"]).reshape(T, Bn, G)
        h = np.zeros((Bn, H), np.float32)
        cache = []
        for t in range(T):
            gh = h @ p["whh"].T + p["bhh"]
            r = _sig(proj[t, :, :H] + gh[:, :H])
            z = _sig(proj[t, :, H:2 * H] + gh[:, H:2 * H])
            n = np.tanh(proj[t, :, 2 * H:] + r * gh[:, 2 * H:])
            cache.append((r, z, n, gh[:, 2 * H:], h))
            h = (1 - z) * n + z * h
        _, gwo, gbo, dh = head_grad(h, yb)
        dwhh, dbhh = np.zeros_like(p["whh"]), np.zeros_like(p["bhh"])
        dproj = np.empty_like(proj)
        for t in range(T - 1, -1, -1):
            r, z, n, ghn, h_prev = cache[t]
            dn = dh * (1 - z) * (1 - n * n)
            dz = dh * (h_prev - n) * z * (1 - z)
            dr = dn * ghn * r * (1 - r)
            dproj[t] = np.concatenate([dr, dz, dn], axis=1)
            dgh = np.concatenate([dr, dz, dn * r], axis=1)
            dwhh += dgh.T @ h_prev
            dbhh += dgh.sum(0)
            dh = dh * z + dgh @ p["whh"]
        return dproj, dwhh, gwo, gbo, dbhh

    def rnn_step(x, yb):
        T, Bn, _ = x.shape
        proj = (x.reshape(T * Bn, I) @ p["wih"].T + (p["bih"] + p["bhh"])).reshape(T, Bn, G)
        hs = [np.zeros((Bn, H), np.float32)]
        for t in range(T):
            hs.append(np.tanh(proj[t] + hs[-1] @ p["whh"].T))
        _, gwo, gbo, dh = head_grad(hs[-1], yb)
        dwhh = np.zeros_like(p["whh"])
        dproj = np.empty_like(proj)
        for t in range(T - 1, -1, -1):
            da = dh * (1 - hs[t + 1] ** 2)
            dproj[t] = da
            dwhh += da.T @ hs[t]
            dh = da @ p["whh"]
        return dproj, dwhh, gwo, gbo, None

    fwd_bwd = {"lstm": lstm_step, "gru": gru_step, "rnn": rnn_step}[cell]

    def step(k):
        x = X[k]
        dproj, dwhh, gwo, gbo, dbhh = fwd_bwd(x, y[k])
        d2 = dproj.reshape(-1, G)
        dbih = d2.sum(0)
        grads = {"wih": d2.T @ x.reshape(-1, I), "whh": dwhh, "bih": dbih,
                 "bhh": dbih if dbhh is None else dbhh, "wo": gwo, "bo": gbo}
        for n, gr in grads.items():
            p[n] -= lr * gr.astype(np.float32)
    step.params = p
    return step
