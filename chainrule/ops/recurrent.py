"""Recurrent sequences, one graph node each: ``rnn_sequence``, ``lstm_sequence``, ``gru_sequence``.

One call runs one layer in one direction over a whole time-major sequence ``x`` of shape
``(T, B, I)``.  Inside: the input projection of all T steps is one GEMM, each step adds one
``h @ W_hh.T`` GEMM and applies the gates in place on preallocated buffers, and the backward is
backpropagation through time in one loop followed by one GEMM per weight.  The cells
(``nn.RNNCell``, ``nn.LSTMCell``, ``nn.GRUCell``) are the same math written as composites of
ordinary ops, for teaching and as the tests' reference.

Variable lengths (packed sequences): ``lengths`` gives each batch row's length, sorted in
decreasing order (as a ``PackedSequence`` stores them).  At step t only the rows still running
are computed; the others keep their state and output zeros, so ``h_n`` is each row's state at its
own last step.  ``reverse=True`` runs each row backwards over its own length.

Weights, biases and gate orders are PyTorch's: LSTM gates ``i, f, g, o``, GRU gates ``r, z, n``
with ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``.

Double backward: the backward is a hand-written BPTT loop on arrays, not registered ops, so
``create_graph=True`` through these ops raises; the cells give second derivatives.
"""
from __future__ import annotations

from ..autograd.op import Op


def _nodouble(what, cell):
    return (f"double backward through {what}'s fused sequence op is not supported; use the "
            f"{cell} composite (create_graph=True needs registered ops in the backward)")


def _active(T, B, lengths):
    """Rows still running at each step (lengths sorted in decreasing order)."""
    if lengths is None:
        return [B] * T
    return [sum(1 for n in lengths if n > t) for t in range(T)]


def _reverse_index(xp, T, B, lengths):
    """Index pair that reverses each row over its own length (an involution: applying it twice
    is the identity; positions past a row's length map to themselves)."""
    t = xp.arange(T)[:, None]
    n = xp.full((1, B), T) if lengths is None else xp.asarray(lengths)[None, :]
    tt = xp.where(t < n, n - 1 - t, t)
    return tt, xp.broadcast_to(xp.arange(B)[None, :], (T, B))


def _project(xp, ctx, x, w_ih, bias, reverse, lengths):
    """All steps' input projection ``x @ W_ih.T + bias`` as one GEMM, time-major (T, B, G)."""
    T, B, I = x.shape
    x2 = x.reshape(T * B, I)
    p = x2 @ w_ih.T
    if bias is not None:
        p += bias
    p = p.reshape(T, B, -1)
    ctx.rev = None
    if reverse:
        ctx.rev = _reverse_index(xp, T, B, lengths)
        p = p[ctx.rev]
    return p


def _finish_outputs(xp, ctx, hs, ns):
    """The per-step outputs from the state buffer: zeros past each row's end, original order."""
    out = hs[1:].copy()
    for t, n in enumerate(ns):
        if n < out.shape[1]:
            out[t, n:] = 0
    if ctx.rev is not None:
        out = out[ctx.rev]
    return out


def _input_grads(xp, ctx, dp, x, w_ih, has_bias):
    """Gradients of x, W_ih and the input bias from the projection's gradient ``dp``."""
    if ctx.rev is not None:
        dp = dp[ctx.rev]
    T, B, G = dp.shape
    dp2 = dp.reshape(T * B, G)
    need = ctx.needs_input_grad
    dx = (dp2 @ w_ih).reshape(T, B, -1) if need[0] else None
    dw = dp2.T @ x.reshape(T * B, -1)
    db = dp2.sum(axis=0) if has_bias else None
    return dx, dw, db


def _sigmoid_(xp, a):
    """In-place logistic sigmoid ``1 / (1 + exp(-a))``: NumPy's exp is about twice as fast as its
    tanh; exp(-a) overflowing to inf for very negative a gives the right 0 (the forwards run
    under ``errstate(over="ignore")`` for that)."""
    xp.negative(a, out=a)
    xp.exp(a, out=a)
    a += 1
    xp.reciprocal(a, out=a)


def _check_lengths(lengths, T, B):
    if lengths is not None:
        if len(lengths) != B or any(a < b for a, b in zip(lengths, lengths[1:])):
            raise ValueError(f"sequence op: lengths {lengths} must be sorted in decreasing order, "
                             f"one per batch row ({B})")
        if lengths and (lengths[0] > T or lengths[-1] < 0):
            raise ValueError(f"sequence op: lengths {lengths} must lie in [0, {T}] (T = {T})")


class RNNSequence(Op):
    """Elman RNN over a sequence: ``h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)``.

    Outputs ``(output (T, B, H), h_n (B, H))``."""
    name = "rnn_sequence"
    outputs = 2
    save = ("x", "w_ih", "w_hh")    # the gate, state and tanh(c) buffers are kept on ctx: they
    #                                 are only read by this first-order backward
    double_backward_error = _nodouble("RNN", "RNNCell")

    def forward(ctx, xp, x, h0, w_ih, w_hh, b_ih=None, b_hh=None, *, nonlinearity="tanh",
                reverse=False, lengths=None):
        T, B, _ = x.shape
        _check_lengths(lengths, T, B)
        bias = None if b_ih is None else b_ih + b_hh
        p = _project(xp, ctx, x, w_ih, bias, reverse, lengths)
        whh_t = xp.ascontiguousarray(w_hh.T)
        hs = xp.empty((T + 1,) + h0.shape, dtype=x.dtype)
        hs[0] = h0
        ns = _active(T, B, lengths)
        relu = nonlinearity == "relu"
        with xp.errstate(over="ignore"):
            for t in range(T):
                n = ns[t]
                if n < B:
                    hs[t + 1, n:] = hs[t, n:]
                if n == 0:
                    continue
                a = p[t, :n]
                a += hs[t, :n] @ whh_t
                if relu:
                    xp.maximum(a, 0, out=hs[t + 1, :n])
                else:
                    xp.tanh(a, out=hs[t + 1, :n])
        ctx.hs, ctx.ns, ctx.relu = hs, ns, relu
        ctx.has_bias = b_ih is not None
        return _finish_outputs(xp, ctx, hs, ns), hs[T].copy()

    def backward(ctx, xp, g, x, w_ih, w_hh):
        gout, ghn = g
        if ctx.rev is not None:
            gout = gout[ctx.rev]
        hs, ns = ctx.hs, ctx.ns
        T, B = len(ns), hs.shape[1]
        da = (xp.zeros if ns[-1] < B else xp.empty)((T,) + hs.shape[1:], dtype=hs.dtype)
        dh = ghn.copy()
        for t in range(T - 1, -1, -1):
            n = ns[t]
            if n == 0:
                continue
            d = da[t, :n]
            xp.add(dh[:n], gout[t, :n], out=d)
            h = hs[t + 1, :n]
            if ctx.relu:
                d *= h > 0
            else:
                d *= 1 - h * h
            dh[:n] = d @ w_hh
        dwhh = da.reshape(T * B, -1).T @ hs[:-1].reshape(T * B, -1)
        dx, dwih, db = _input_grads(xp, ctx, da, x, w_ih, ctx.has_bias)
        res = (dx, dh, dwih, dwhh)
        return res + ((db, db.copy()) if ctx.has_bias else ())


class LSTMSequence(Op):
    """LSTM over a sequence (gates i, f, g, o as PyTorch).

    Outputs ``(output (T, B, H), h_n (B, H), c_n (B, H))``."""
    name = "lstm_sequence"
    outputs = 3
    save = ("x", "w_ih", "w_hh")    # the gate, state and tanh(c) buffers are kept on ctx: they
    #                                 are only read by this first-order backward
    double_backward_error = _nodouble("LSTM", "LSTMCell")

    def forward(ctx, xp, x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, *, reverse=False,
                lengths=None):
        T, B, _ = x.shape
        H = w_hh.shape[1]
        _check_lengths(lengths, T, B)
        bias = None if b_ih is None else b_ih + b_hh
        act = _project(xp, ctx, x, w_ih, bias, reverse, lengths)   # becomes the activations
        whh_t = xp.ascontiguousarray(w_hh.T)
        hs = xp.empty((T + 1, B, H), dtype=x.dtype)
        cs = xp.empty((T + 1, B, H), dtype=x.dtype)
        tc = xp.empty((T, B, H), dtype=x.dtype)
        hs[0], cs[0] = h0, c0
        ns = _active(T, B, lengths)
        with xp.errstate(over="ignore"):
            for t in range(T):
                n = ns[t]
                if n < B:
                    hs[t + 1, n:] = hs[t, n:]
                    cs[t + 1, n:] = cs[t, n:]
                if n == 0:
                    continue
                a = act[t, :n]
                a += hs[t, :n] @ whh_t
                _sigmoid_(xp, a[:, :2 * H])
                xp.tanh(a[:, 2 * H:3 * H], out=a[:, 2 * H:3 * H])
                _sigmoid_(xp, a[:, 3 * H:])
                c = cs[t + 1, :n]
                xp.multiply(a[:, H:2 * H], cs[t, :n], out=c)
                c += a[:, :H] * a[:, 2 * H:3 * H]
                xp.tanh(c, out=tc[t, :n])
                xp.multiply(a[:, 3 * H:], tc[t, :n], out=hs[t + 1, :n])
        ctx.act, ctx.hs, ctx.cs, ctx.tc, ctx.ns = act, hs, cs, tc, ns
        ctx.has_bias = b_ih is not None
        return _finish_outputs(xp, ctx, hs, ns), hs[T].copy(), cs[T].copy()

    def backward(ctx, xp, g, x, w_ih, w_hh):
        gout, ghn, gcn = g
        if ctx.rev is not None:
            gout = gout[ctx.rev]
        act, hs, cs, tc, ns = ctx.act, ctx.hs, ctx.cs, ctx.tc, ctx.ns
        T, B, H = tc.shape
        dact = (xp.zeros if ns[-1] < B else xp.empty)(act.shape, dtype=act.dtype)
        dh, dc = ghn.copy(), gcn.copy()
        for t in range(T - 1, -1, -1):
            n = ns[t]
            if n == 0:
                continue
            a, d, th = act[t, :n], dact[t, :n], tc[t, :n]
            i, f, gg, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
            dhn, dcn = dh[:n], dc[:n]
            dhn += gout[t, :n]
            do = d[:, 3 * H:]
            xp.multiply(dhn, th, out=do)
            do *= o * (1 - o)
            dcn += dhn * o * (1 - th * th)
            di, df, dg = d[:, :H], d[:, H:2 * H], d[:, 2 * H:3 * H]
            xp.multiply(dcn, gg, out=di)
            di *= i * (1 - i)
            xp.multiply(dcn, i, out=dg)
            dg *= 1 - gg * gg
            xp.multiply(dcn, cs[t, :n], out=df)
            df *= f * (1 - f)
            dcn *= f
            dh[:n] = d @ w_hh
        dwhh = dact.reshape(T * B, 4 * H).T @ hs[:-1].reshape(T * B, H)
        dx, dwih, db = _input_grads(xp, ctx, dact, x, w_ih, ctx.has_bias)
        res = (dx, dh, dc, dwih, dwhh)
        return res + ((db, db.copy()) if ctx.has_bias else ())


class GRUSequence(Op):
    """GRU over a sequence (gates r, z, n as PyTorch).

    Outputs ``(output (T, B, H), h_n (B, H))``."""
    name = "gru_sequence"
    outputs = 2
    save = ("x", "w_ih", "w_hh")    # the gate, state and tanh(c) buffers are kept on ctx: they
    #                                 are only read by this first-order backward
    double_backward_error = _nodouble("GRU", "GRUCell")

    def forward(ctx, xp, x, h0, w_ih, w_hh, b_ih=None, b_hh=None, *, reverse=False,
                lengths=None):
        T, B, _ = x.shape
        H = w_hh.shape[1]
        _check_lengths(lengths, T, B)
        act = _project(xp, ctx, x, w_ih, b_ih, reverse, lengths)    # r, z, n activations
        whh_t = xp.ascontiguousarray(w_hh.T)
        hs = xp.empty((T + 1, B, H), dtype=x.dtype)
        ghn = xp.empty((T, B, H), dtype=x.dtype)       # W_hn h + b_hn, read by the backward
        hs[0] = h0
        ns = _active(T, B, lengths)
        with xp.errstate(over="ignore"):
            for t in range(T):
                n = ns[t]
                if n < B:
                    hs[t + 1, n:] = hs[t, n:]
                if n == 0:
                    continue
                a, h = act[t, :n], hs[t, :n]
                gh = h @ whh_t
                if b_hh is not None:
                    gh += b_hh
                a[:, :2 * H] += gh[:, :2 * H]
                _sigmoid_(xp, a[:, :2 * H])
                ghn[t, :n] = gh[:, 2 * H:]
                nn = a[:, 2 * H:]
                nn += a[:, :H] * gh[:, 2 * H:]
                xp.tanh(nn, out=nn)
                hn = hs[t + 1, :n]
                xp.subtract(h, nn, out=hn)
                hn *= a[:, H:2 * H]
                hn += nn
        ctx.act, ctx.hs, ctx.ghn, ctx.ns = act, hs, ghn, ns
        ctx.has_bias = b_ih is not None
        return _finish_outputs(xp, ctx, hs, ns), hs[T].copy()

    def backward(ctx, xp, g, x, w_ih, w_hh):
        gout, ghn_out = g
        if ctx.rev is not None:
            gout = gout[ctx.rev]
        act, hs, ghn, ns = ctx.act, ctx.hs, ctx.ghn, ctx.ns
        T, B, H = ghn.shape
        mk = xp.zeros if ns[-1] < B else xp.empty
        dact, dgh = mk(act.shape, dtype=act.dtype), mk(act.shape, dtype=act.dtype)
        dh = ghn_out.copy()
        for t in range(T - 1, -1, -1):
            n = ns[t]
            if n == 0:
                continue
            a, d, dq, h = act[t, :n], dact[t, :n], dgh[t, :n], hs[t, :n]
            r, z, nn = a[:, :H], a[:, H:2 * H], a[:, 2 * H:]
            dhn = dh[:n]
            dhn += gout[t, :n]
            dn = d[:, 2 * H:]
            xp.multiply(dhn, 1 - z, out=dn)
            dn *= 1 - nn * nn
            dz = d[:, H:2 * H]
            xp.subtract(h, nn, out=dz)
            dz *= dhn
            dz *= z * (1 - z)
            xp.multiply(dn, r, out=dq[:, 2 * H:])
            dr = d[:, :H]
            xp.multiply(dn, ghn[t, :n], out=dr)
            dr *= r * (1 - r)
            dq[:, :2 * H] = d[:, :2 * H]
            dhn *= z
            dhn += dq @ w_hh
        dwhh = dgh.reshape(T * B, 3 * H).T @ hs[:-1].reshape(T * B, H)
        dx, dwih, dbih = _input_grads(xp, ctx, dact, x, w_ih, ctx.has_bias)
        res = (dx, dh, dwih, dwhh)
        if ctx.has_bias:
            res += (dbih, dgh.reshape(T * B, 3 * H).sum(axis=0))
        return res


def _check(op, gates, x, states, w_ih, w_hh, b_ih, b_hh):
    """Shapes of a sequence op's arguments, named in the error."""
    H = w_hh.shape[-1] if w_hh.ndim == 2 else -1
    if x.ndim != 3:
        raise ValueError(f"{op}: input must be time-major (T, B, I), got shape {tuple(x.shape)}")
    T, B, I = x.shape
    want = [("weight_ih", w_ih, (gates * H, I)), ("weight_hh", w_hh, (gates * H, H))]
    want += [(n, s, (B, H)) for n, s in states]
    if b_ih is not None:
        want += [("bias_ih", b_ih, (gates * H,)), ("bias_hh", b_hh, (gates * H,))]
    for name, t, shape in want:
        if t is None or tuple(t.shape) != shape:
            got = None if t is None else tuple(t.shape)
            raise RuntimeError(f"{op}: {name} has shape {got}, expected {shape} (input "
                               f"{tuple(x.shape)}, hidden size {H}, {gates} gate(s))")
        if t.dtype != x.dtype:
            raise RuntimeError(f"{op}: {name} is {t.dtype} but the input is {x.dtype}")


def rnn_sequence(input, hx, weight_ih, weight_hh, bias_ih=None, bias_hh=None,
                 nonlinearity="tanh", reverse=False, lengths=None):
    """One RNN layer and direction over a time-major sequence; returns ``(output, h_n)``."""
    _check("rnn_sequence", 1, input, [("hx", hx)], weight_ih, weight_hh, bias_ih, bias_hh)
    ts = (input, hx, weight_ih, weight_hh) + (() if bias_ih is None else (bias_ih, bias_hh))
    return RNNSequence.apply(*ts, nonlinearity=nonlinearity, reverse=reverse,
                             lengths=None if lengths is None else tuple(int(n) for n in lengths))


def lstm_sequence(input, hx, cx, weight_ih, weight_hh, bias_ih=None, bias_hh=None,
                  reverse=False, lengths=None):
    """One LSTM layer and direction over a time-major sequence; returns ``(output, h_n, c_n)``."""
    _check("lstm_sequence", 4, input, [("hx", hx), ("cx", cx)], weight_ih, weight_hh, bias_ih,
           bias_hh)
    ts = (input, hx, cx, weight_ih, weight_hh) + (() if bias_ih is None else (bias_ih, bias_hh))
    return LSTMSequence.apply(*ts, reverse=reverse,
                              lengths=None if lengths is None else tuple(int(n) for n in lengths))


def gru_sequence(input, hx, weight_ih, weight_hh, bias_ih=None, bias_hh=None, reverse=False,
                 lengths=None):
    """One GRU layer and direction over a time-major sequence; returns ``(output, h_n)``."""
    _check("gru_sequence", 3, input, [("hx", hx)], weight_ih, weight_hh, bias_ih, bias_hh)
    ts = (input, hx, weight_ih, weight_hh) + (() if bias_ih is None else (bias_ih, bias_hh))
    return GRUSequence.apply(*ts, reverse=reverse,
                             lengths=None if lengths is None else tuple(int(n) for n in lengths))
