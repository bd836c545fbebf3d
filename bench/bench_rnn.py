"""Recurrent training speed: chainrule nn.LSTM/GRU/RNN against PyTorch and NumPy by hand.

Workload (issue 14): one layer, input 32, hidden 128, sequence 50, batch 64, 200 batches of
random float32 data; backpropagation through time; a Linear head on the last step's output,
softmax cross-entropy over 10 classes, SGD lr 0.1.  Systems take turns of ``--turn`` batches
inside each round (interleaved, so a busy machine slows all of them alike); the table gives the
median over rounds of the time for 200 batches and the ratio to PyTorch's fused layer.

    python bench/bench_rnn.py                     # LSTM, GRU, RNN; 5 rounds
    python bench/bench_rnn.py --cells lstm --rounds 3
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench_common import format_machine, format_table, machine_info, median  # noqa: E402
from bench_numpy_rnn import numpy_setup  # noqa: E402

I, H, T, B, C, LR = 32, 128, 50, 64, 10, 0.1


def make_data(n_batches, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_batches, T, B, I)).astype(np.float32)
    y = rng.integers(0, C, (n_batches, B)).astype(np.int64)
    return X, y


def torch_setup(cell, X, y, loop=False):
    import torch
    torch.manual_seed(0)
    nn = torch.nn
    name = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}[cell]
    rnn = getattr(nn, name + ("Cell" if loop else ""))(I, H)
    head = nn.Linear(H, C)
    opt = torch.optim.SGD(list(rnn.parameters()) + list(head.parameters()), lr=LR)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

    def step(k):
        x = Xt[k]
        if loop:
            h = torch.zeros(B, H)
            c = torch.zeros(B, H)
            for t in range(T):
                if cell == "lstm":
                    h, c = rnn(x[t], (h, c))
                else:
                    h = rnn(x[t], h)
            last = h
        else:
            last = rnn(x)[0][-1]
        loss = nn.functional.cross_entropy(head(last), yt[k])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def chainrule_setup(cell, X, y):
    import chainrule as cr
    cr.manual_seed(0)
    nn = cr.nn
    rnn = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell](I, H)
    head = nn.Linear(H, C)
    opt = cr.optim.SGD(list(rnn.parameters()) + list(head.parameters()), lr=LR)
    Xc = [cr.from_numpy(x) for x in X]
    yc = [cr.from_numpy(t) for t in y]

    def step(k):
        out = rnn(Xc[k])[0]
        loss = nn.functional.cross_entropy(head(out[-1]), yc[k])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cells", nargs="+", default=["lstm", "gru", "rnn"])
    ap.add_argument("--batches", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--turn", type=int, default=20, help="batches per system per turn")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    import threadpoolctl
    import torch

    import chainrule  # noqa: F401  (its BLAS is NumPy's, limited below)
    torch.set_num_threads(args.threads)
    threadpoolctl.threadpool_limits(limits=args.threads, user_api="blas")
    print(format_machine(machine_info(("torch", "chainrule"))))
    X, y = make_data(args.turn)
    for cell in args.cells:
        systems = {f"PyTorch nn.{cell.upper()}": torch_setup(cell, X, y),
                   f"PyTorch {cell.upper()}Cell loop": torch_setup(cell, X, y, loop=True),
                   f"chainrule nn.{cell.upper()}": chainrule_setup(cell, X, y),
                   f"NumPy by hand ({cell})": numpy_setup(cell, X, y, I, H, C, LR)}
        for step in systems.values():        # warm-up (allocators, BLAS, first-call paths)
            step(0)
        times = {k: [] for k in systems}
        turns = -(-args.batches // args.turn)
        for _ in range(args.rounds):
            total = dict.fromkeys(systems, 0.0)
            for _ in range(turns):
                for name, step in systems.items():
                    t0 = time.perf_counter()
                    for k in range(args.turn):
                        step(k)
                    total[name] += time.perf_counter() - t0
            for name in systems:
                times[name].append(total[name] * args.batches / (turns * args.turn))
        ref = median(times[f"PyTorch nn.{cell.upper()}"])
        rows = [(name, f"{median(ts):.2f}", f"{min(ts):.2f}", f"{median(ts) / ref:.2f}x")
                for name, ts in times.items()]
        print()
        print(format_table(["system", "median s", "min s", "vs PyTorch fused"], rows,
                           title=f"{cell.upper()}: {args.batches} batches of (T={T}, B={B}, "
                                 f"I={I}) -> H={H}, {args.rounds} rounds, turns of "
                                 f"{args.turn} batches, {args.threads} threads"))


if __name__ == "__main__":
    main()
