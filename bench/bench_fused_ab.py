"""Fused (numba, one pass) against NumPy optimizer updates inside the MLP training step, eager and
compiled, beside the hand-written NumPy step; systems take turns of 20 steps.

    python bench/bench_fused_ab.py sgd 128     # optimizer (sgd|adam), batch size, [rounds]
"""
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]     # this tree's bench helpers and chainrule
import bench_numpy_mlp  # noqa: E402
import chainrule as cr  # noqa: E402

optn, B = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(0)
X = rng.random((60000, 784), dtype=np.float32); y = rng.integers(0, 10, 60000)
npm = bench_numpy_mlp.NumpyMLP(256, optn)
nn, F = cr.nn, cr.nn.functional
def mk(fused, comp):
    cr.manual_seed(0)
    m = nn.Sequential(nn.Linear(784,256), nn.ReLU(), nn.Linear(256,128), nn.ReLU(), nn.Linear(128,10))
    o = cr.optim.SGD(m.parameters(), lr=0.1, fused=fused) if optn == "sgd" else cr.optim.Adam(m.parameters(), lr=1e-3, fused=fused)
    def step(x, t):
        o.zero_grad(); l = F.cross_entropy(m(x), t); l.backward(); o.step(); return l
    f = cr.compile(step) if comp else step
    return lambda idx: f(cr.from_numpy(X[idx]), cr.from_numpy(y[idx])).item()
S = {"numpy": lambda idx: npm.train_step(X[idx], y[idx]),
     "eager": mk(False, False), "eager-fused": mk(None, False),
     "compiled": mk(False, True), "compiled-fused": mk(None, True)}
for f in S.values():
    for _ in range(3): f(np.arange(B))
T = {k: [] for k in S}
for r in range(int(sys.argv[3]) if len(sys.argv) > 3 else 25):
    idxs = [rng.integers(0, 60000, B) for _ in range(20)]
    for k, f in S.items():
        t0 = time.perf_counter()
        for idx in idxs: f(idx)
        T[k].append((time.perf_counter() - t0) / 20 * 1e6)
ref = np.array(T["numpy"])
for k, v in T.items():
    v = np.array(v); print(f"{optn} {B:4d} {k:15s} median {np.median(v):8.1f} us  ratio {np.median(v)/np.median(ref):.3f}  paired {np.median(v/ref):.3f}  min-ratio {v.min()/ref.min():.3f}")
