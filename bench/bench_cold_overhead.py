#!/usr/bin/env python
"""What framework Python costs between large array calls: the same calls hot and after a sweep.

In a training step every op's Python runs right after some large array work (a GEMM over the
batch, an optimizer pass over the parameters) that has pushed the interpreter's code and
objects out of the CPU caches.  This benchmark measures that directly: tiny inputs (so the
array work itself is negligible), each call timed twice, once right after a pass over a buffer
of ``--sweep-mb`` MiB ("cold") and once right after the first call ("hot").  The systems take
turns within every round, so a slow spell of a shared machine hits them alike; medians over
``--rounds`` rounds.

    python bench/bench_cold_overhead.py                  # sweeps of 2, 16 and 64 MiB

``numpy layer``: ``x @ w.T + b`` then ``max(., 0)``, four NumPy calls; ``chainrule layer``: the
same through ``nn.Linear`` and ``nn.ReLU`` with a parameter that requires grad (two graph
nodes); ``chainrule step``: a whole eager SGD step of bench_step_phases.py's tiny MLP (zero_grad,
forward, cross-entropy, backward, step).  See docs/performance.md.
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import chainrule as cr  # noqa: E402


def systems(seed=0):
    """``{name: fn}``: the calls to time, built once."""
    nn, F = cr.nn, cr.nn.functional
    cr.manual_seed(seed)
    rng = np.random.default_rng(seed)
    xa = rng.random((4, 16), dtype=np.float32)
    w = rng.random((16, 16), dtype=np.float32)
    b = rng.random(16, dtype=np.float32)

    def numpy_layer():
        y = xa @ w.T
        y += b
        return np.maximum(y, 0)

    lin, relu = nn.Linear(16, 16), nn.ReLU()
    x = cr.from_numpy(xa)

    def chainrule_layer():
        return relu(lin(x))

    model = nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 8), nn.ReLU(),
                          nn.Linear(8, 10))
    opt = cr.optim.SGD(model.parameters(), lr=0.1, fused=True)
    y = cr.from_numpy(rng.integers(0, 10, 4))

    def chainrule_step():
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

    return {"numpy layer": numpy_layer, "chainrule layer": chainrule_layer,
            "chainrule step": chainrule_step}


def measure(fns, sweep_mb, rounds):
    """``{name: (cold median us, hot median us)}``."""
    buf = np.ones(int(sweep_mb * 2**20) // 4, np.float32)
    pc = time.perf_counter
    for f in fns.values():      # warm up (JIT, first-call work)
        for _ in range(50):
            f()
    cold = {k: [] for k in fns}
    hot = {k: [] for k in fns}
    names = list(fns)
    for r in range(rounds):
        for k in names[r % len(names):] + names[:r % len(names)]:
            f = fns[k]
            np.multiply(buf, 1, out=buf)       # the "large array work" before the call
            t0 = pc()
            f()
            t1 = pc()
            f()
            t2 = pc()
            cold[k].append(t1 - t0)
            hot[k].append(t2 - t1)
    return {k: (np.median(cold[k]) * 1e6, np.median(hot[k]) * 1e6) for k in names}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sweep-mb", type=float, nargs="+", default=[2, 16, 64])
    ap.add_argument("--rounds", type=int, default=1500)
    a = ap.parse_args(argv)
    fns = systems()
    print(f"chainrule from {os.path.dirname(cr.__file__)}; {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.2f}; medians of {a.rounds} rounds, microseconds per call")
    print(f"{'sweep MiB':>9}  {'system':16s} {'cold':>7} {'hot':>7} {'cold/hot':>8}")
    for mb in a.sweep_mb:
        for k, (c, h) in measure(fns, mb, a.rounds).items():
            print(f"{mb:9g}  {k:16s} {c:7.1f} {h:7.1f} {c / h:7.2f}x")


if __name__ == "__main__":
    main()
