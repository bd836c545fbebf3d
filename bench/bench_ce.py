"""Softmax cross-entropy with class indices: forward and backward of ``F.cross_entropy`` beside
the hand-written NumPy lines of bench_numpy_mlp.py, on the benchmark MLP's logits.

    python bench/bench_ce.py [--batch 128] [--classes 10] [--rounds 30]

Prints microseconds per call, best of ``--rounds`` rounds of 100 calls, systems in turn.
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import chainrule as cr  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--rounds", type=int, default=30)
    a = p.parse_args()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((a.batch, a.classes)).astype(np.float32)
    t = rng.integers(0, a.classes, a.batch)
    X, T = cr.tensor(x, requires_grad=True), cr.from_numpy(t)
    rows = np.arange(a.batch)
    F = cr.nn.functional

    def numpy_lines():                       # bench_numpy_mlp.NumpyMLP.train_step's CE
        z = x - x.max(axis=1, keepdims=True)
        e = np.exp(z)
        s = e.sum(axis=1, keepdims=True)
        float(np.log(s).mean() - z[rows, t].mean())
        e /= s
        e[rows, t] -= 1.0
        e *= 1.0 / a.batch

    systems = {
        "chainrule forward": lambda: F.cross_entropy(X, T),
        "chainrule forward+backward": lambda: F.cross_entropy(X, T).backward(),
        "numpy forward+gradient": numpy_lines,
    }
    best = {k: float("inf") for k in systems}
    for f in systems.values():
        f()
    for _ in range(a.rounds):
        for k, f in systems.items():
            t0 = time.perf_counter()
            for _ in range(100):
                f()
            best[k] = min(best[k], (time.perf_counter() - t0) / 100 * 1e6)
    print(f"cross-entropy, logits ({a.batch}, {a.classes}) float32, best of {a.rounds} x 100")
    for k, v in best.items():
        print(f"  {k:28s} {v:8.1f} us")


if __name__ == "__main__":
    main()
