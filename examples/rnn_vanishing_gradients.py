"""Vanishing gradients through time: a tanh RNN against an LSTM on the adding problem.

    python examples/rnn_vanishing_gradients.py                 # writes docs/img/rnn/
    python examples/rnn_vanishing_gradients.py --seq-len 100 --steps 300 --out /tmp/rnn

(on a busy machine, ``OPENBLAS_NUM_THREADS=1`` in front is much faster: see docs/rnn.md)

The notes warn that sigmoid and tanh units make gradients vanish.  Through time the effect
compounds: the gradient of the loss at the last step with respect to the input at step t passes
through T - t copies of the recurrent Jacobian ``diag(1 - h^2) W_hh``, whose norm is usually
below one, so it shrinks geometrically.  The LSTM's cell state is an additive path (``c_t = f *
c_{t-1} + ...``), so with forget gates near one the gradient reaches far back.

1. the norm of dLoss/dx_t for every step t at initialisation (log scale), for a tanh RNN, an
   LSTM with PyTorch's initialisation and an LSTM whose forget gates start open (bias 2, so
   f = sigmoid(2) = 0.88 per step instead of about 0.5): the LSTM's additive path only helps
   when its forget gates let it through;
2. training the three on the adding problem; the mean squared error of always answering 1 is
   0.167, the level a model that carries nothing across the sequence gets stuck at.
"""
from __future__ import annotations

import argparse
import os

import numpy as np

import chainrule as cr
import chainrule.datasets as ds
from chainrule.seqmodels import SequenceRegressor


MODELS = [("tanh RNN", "rnn", None), ("LSTM (PyTorch init)", "lstm", None),
          ("LSTM, forget-gate bias 2", "lstm", 2.0)]
COLORS = ["tab:red", "tab:blue", "tab:green"]


def grad_per_step(model, X, y):
    """``|| dLoss / dx_t ||`` for each step t (over the batch and the features)."""
    x = cr.tensor(X, requires_grad=True)
    loss = cr.nn.functional.mse_loss(model(x), cr.tensor(y))
    loss.backward()
    model.zero_grad()
    return np.sqrt((x.grad.numpy() ** 2).sum(axis=(0, 2)))


def train(model, X, y, steps, batch, lr, seed):
    opt = cr.optim.Adam(model.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    losses = []
    for s in range(steps):
        idx = rng.integers(0, len(X), batch)
        opt.zero_grad()
        loss = cr.nn.functional.mse_loss(model(cr.tensor(X[idx])), cr.tensor(y[idx]))
        loss.backward()
        cr.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
    return losses


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seq-len", type=int, default=40)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--steps", type=int, default=800, help="training steps per model")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=os.path.join("docs", "img", "rnn"))
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    X, y = ds.make_adding(4000, args.seq_len, seed=args.seed, dtype=np.float64)
    Xp, yp = X[:256], y[:256]
    curves, losses = {}, {}
    for name, cell, fbias in MODELS:
        cr.manual_seed(args.seed)
        model = SequenceRegressor(2, args.hidden, cell=cell).double()   # float64: the tiny
        # gradients of early steps stay visible instead of underflowing to 0
        if fbias is not None:      # forget gates start open: f = sigmoid(fbias) per step
            H = args.hidden
            with cr.no_grad():
                model.rnn.bias_ih_l0[H:2 * H] = fbias
                model.rnn.bias_hh_l0[H:2 * H] = 0.0
        curves[name] = grad_per_step(model, Xp, yp)
        losses[name] = train(model, X, y, args.steps, args.batch_size, args.lr, args.seed)
        trained = grad_per_step(model, Xp, yp)
        g = curves[name]
        print(f"{name:24s} |dL/dx_t| first/last step: at init {g[0] / g[-1]:.2g}, trained "
              f"{trained[0] / trained[-1]:.2g}; training MSE (mean of the last 50 steps) "
              f"{np.mean(losses[name][-50:]):.4f} (always answering 1: 0.167)")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing: no pictures (pip install chainrule[plot])")
        return
    fig, ax = plt.subplots(figsize=(7, 4))
    for (name, _, _), color in zip(MODELS, COLORS):
        g = curves[name]
        ax.semilogy(np.arange(len(g)), g, color=color, label=name)
    ax.set_xlabel("time step t (the loss reads the last step)")
    ax.set_ylabel("|| dLoss / dx_t ||")
    ax.set_title(f"Gradient reaching each step at initialisation, adding problem "
                 f"(T = {args.seq_len})")
    ax.legend()
    fig.tight_layout()
    p1 = os.path.join(args.out, "grad_through_time.png")
    fig.savefig(p1, dpi=110)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for (name, _, _), color in zip(MODELS, COLORS):
        k = 20
        smooth = np.convolve(losses[name], np.ones(k) / k, mode="valid")
        ax.plot(smooth, color=color, label=name)
    ax.axhline(1 / 6, color="gray", ls=":", label="always answer 1")
    ax.set_xlabel("training step")
    ax.set_ylabel("training MSE (running mean of 20)")
    ax.set_title(f"Adding problem, T = {args.seq_len}")
    ax.legend()
    fig.tight_layout()
    p2 = os.path.join(args.out, "adding_training.png")
    fig.savefig(p2, dpi=110)
    print(f"wrote {p1} and {p2}")


if __name__ == "__main__":
    main()
