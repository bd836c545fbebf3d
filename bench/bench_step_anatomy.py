"""Two figures behind docs/performance.md that are not epoch timings.

1. The optimizer's ``step()`` alone, over flat buffers (``foreach=True``, optim/_foreach.py) and
   per parameter (``foreach=False``), on a small MLP (784-16-8-10, batch 16), median over steps.
2. Python function calls per training step, counted with cProfile, for the eager loop and for a
   step wrapped in ``cr.compile`` (same small MLP).

    OPENBLAS_NUM_THREADS=1 python bench/bench_step_anatomy.py
"""
import cProfile
import os
import pstats
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import chainrule as cr  # noqa: E402
import chainrule.nn.functional as F  # noqa: E402


def _mlp():
    nn = cr.nn
    return nn.Sequential(nn.Linear(784, 16), nn.ReLU(), nn.Linear(16, 8), nn.ReLU(),
                         nn.Linear(8, 10))


def step_time(optimizer, flat, steps=2000, seed=0):
    """Median seconds of ``opt.step()``, with ``foreach=flat``."""
    cr.manual_seed(seed)
    model = _mlp()
    opt = cr.optim.SGD(model.parameters(), lr=0.1, foreach=flat) if optimizer == "sgd" else \
        cr.optim.Adam(model.parameters(), lr=1e-3, foreach=flat)
    rng = np.random.default_rng(seed)
    x = cr.tensor(rng.random((16, 784), dtype=np.float32))
    y = cr.tensor(rng.integers(0, 10, 16))
    times = []
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        t0 = time.perf_counter()
        opt.step()
        times.append(time.perf_counter() - t0)
    return float(np.median(times[steps // 20:]))


def calls_per_step(compiled, steps=400, seed=0):
    cr.manual_seed(seed)
    model = _mlp()
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    rng = np.random.default_rng(seed)
    X = rng.random((16 * steps, 784), dtype=np.float32)
    Y = rng.integers(0, 10, 16 * steps)
    loader = cr.utils.data.DataLoader(
        cr.utils.data.TensorDataset(cr.from_numpy(X), cr.from_numpy(Y)), batch_size=16)

    def train_step(xb, yb):
        opt.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        return loss

    step = cr.compile(train_step) if compiled else train_step

    def epoch():
        for xb, yb in loader:
            step(xb, yb).item()

    epoch()                                  # records (compiled) and warms up
    prof = cProfile.Profile()
    prof.runcall(epoch)
    return pstats.Stats(prof).total_calls / steps


def main():
    print("optimizer step() on 784-16-8-10, batch 16, median of 1,900 steps (us):")
    for optimizer in ("sgd", "adam"):
        print(f"  {optimizer:4s}  flat {step_time(optimizer, True) * 1e6:7.1f}   "
              f"per parameter {step_time(optimizer, False) * 1e6:7.1f}")
    print("Python function calls per training step (cProfile, 400 steps):")
    print(f"  eager loop {calls_per_step(False):6.0f}   cr.compile step "
          f"{calls_per_step(True):6.0f}")


if __name__ == "__main__":
    main()
