"""What each phase of an eager training step costs in Python: forward, loss, backward, step.

A tiny MLP (16-16-8-10, batch 4, float32) makes the array work negligible, so the times are
the framework's own: module calls, graph nodes, the engine, the optimizer's checks.  SGD runs
with ``fused=True`` (the numba kernel, as the benchmark MLP's 235k-parameter group gets by
default), Adam with its defaults.  Best of 300 rounds of 20 steps; the spread between runs is
about 2%.  To compare two trees, run it in each, alternately (it imports the chainrule of the
repository it lives in):

    OPENBLAS_NUM_THREADS=1 python bench/bench_step_phases.py
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import chainrule as cr  # noqa: E402

PHASES = ("zero_grad", "forward", "loss", "backward", "step")


def phases(optimizer, rounds=300, steps=20, seed=0):
    """``{phase: best mean microseconds per step}``."""
    nn, F = cr.nn, cr.nn.functional
    cr.manual_seed(seed)
    model = nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 8), nn.ReLU(),
                          nn.Linear(8, 10))
    opt = (cr.optim.SGD(model.parameters(), lr=0.1, fused=True) if optimizer == "sgd" else
           cr.optim.Adam(model.parameters(), lr=1e-3))
    rng = np.random.default_rng(seed)
    x = cr.from_numpy(rng.random((4, 16), dtype=np.float32))
    y = cr.from_numpy(rng.integers(0, 10, 4))
    pc = time.perf_counter
    best = dict.fromkeys(PHASES, float("inf"))
    for _ in range(rounds):
        acc = dict.fromkeys(PHASES, 0.0)
        for _ in range(steps):
            t0 = pc()
            opt.zero_grad()
            t1 = pc()
            out = model(x)
            t2 = pc()
            loss = F.cross_entropy(out, y)
            t3 = pc()
            loss.backward()
            t4 = pc()
            opt.step()
            t5 = pc()
            for k, a, b in zip(PHASES, (t0, t1, t2, t3, t4), (t1, t2, t3, t4, t5)):
                acc[k] += b - a
        for k in PHASES:
            best[k] = min(best[k], acc[k] / steps * 1e6)
    return best


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--optimizer", nargs="+", choices=["sgd", "adam"], default=["sgd", "adam"])
    ap.add_argument("--rounds", type=int, default=300)
    a = ap.parse_args(argv)
    print(f"chainrule from {os.path.dirname(cr.__file__)}")
    for name in a.optimizer:
        best = phases(name, a.rounds)
        print(f"{name:4s} " + "  ".join(f"{k} {v:6.1f}" for k, v in best.items()) +
              f"  total {sum(best.values()):6.1f} us")


if __name__ == "__main__":
    main()
