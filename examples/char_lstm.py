"""A character-level LSTM language model on the text shipped with chainrule, trained with
truncated backpropagation through time.

    python examples/char_lstm.py                         # about a minute on a quiet core
    python examples/char_lstm.py --epochs 60 --hidden 256 --out /tmp/char

The training text is cut into ``--batch-size`` parallel streams; each step reads the next
``--bptt`` characters of every stream.  The LSTM state is carried from one chunk to the next, so
the model sees context beyond one chunk, but it is ``detach()``-ed first: gradients flow back at
most ``--bptt`` steps (truncated BPTT), and each step's graph is freed.  Validation runs over the
held-out last 10% of the text in the same way, without a graph.  Prints the validation loss per
epoch (nats per character) and a sample; writes a loss curve.
"""
from __future__ import annotations

import argparse
import os

import numpy as np

import chainrule as cr
import chainrule.datasets as ds
from chainrule.seqmodels import CharModel, sample


def streams(ids, batch):
    """``(batch, n)``: the id sequence cut into ``batch`` contiguous rows."""
    n = len(ids) // batch
    return ids[:n * batch].reshape(batch, n)


def run_epoch(model, data, bptt, opt=None):
    """Mean loss per character over ``data`` (batch, n); trains when ``opt`` is given."""
    state, total, count = None, 0.0, 0
    for s in range(0, data.shape[1] - 1, bptt):
        x = cr.tensor(data[:, s:s + bptt])
        y = cr.tensor(data[:, s + 1:s + 1 + bptt])
        if y.shape[1] < x.shape[1]:
            x = x[:, :y.shape[1]]
        if state is not None:
            state = tuple(h.detach() for h in state)     # truncated BPTT: cut the graph here
        logits, state = model.step(x, state)
        loss = cr.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                              y.reshape(-1))
        if opt is not None:
            opt.zero_grad()
            loss.backward()
            cr.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
        total += loss.item() * y.numel()
        count += y.numel()
    return total / count


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--bptt", type=int, default=64, help="characters per truncated-BPTT chunk")
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=os.path.join("docs", "img", "rnn"))
    args = ap.parse_args(argv)
    text = ds.load_text()
    vocab = "".join(sorted(set(text)))
    ids = np.array([vocab.index(c) for c in text], dtype=np.int64)
    cut = int(len(ids) * 0.9)
    train, val = streams(ids[:cut], args.batch_size), ids[cut:][None, :]
    cr.manual_seed(args.seed)
    model = CharModel(len(vocab), 32, args.hidden, args.layers, "lstm")
    opt = cr.optim.Adam(model.parameters(), lr=args.lr)
    print(f"{len(text)} characters, vocabulary {len(vocab)}; {train.shape[0]} streams of "
          f"{train.shape[1]}, validation {val.shape[1]} characters; uniform guess: "
          f"{np.log(len(vocab)):.3f} nats/char")
    hist = []
    for epoch in range(args.epochs):
        model.train()
        tr = run_epoch(model, train, args.bptt, opt)
        model.eval()
        with cr.no_grad():
            va = run_epoch(model, val, args.bptt)
        hist.append((tr, va))
        print(f"epoch {epoch + 1:3d}  train {tr:.3f}  validation {va:.3f} nats/char")
    rng = np.random.default_rng(args.seed)
    print("\nsample (temperature 0.8):\n" + sample(model, 300, 0.8, "We ", vocab, rng))
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    os.makedirs(args.out, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot([h[0] for h in hist], label="train")
    ax.plot([h[1] for h in hist], label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("cross-entropy (nats / char)")
    ax.set_title(f"char LSTM ({args.hidden} units), truncated BPTT {args.bptt}")
    ax.legend()
    fig.tight_layout()
    path = os.path.join(args.out, "char_lstm_loss.png")
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
