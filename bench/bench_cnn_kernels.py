"""The conv/pool array helpers at LeNet's shapes, NumPy reference beside the numba kernels.

    python bench/bench_cnn_kernels.py            # minimum of --calls calls each, 1 BLAS thread

Each helper is timed in isolation under ``cr.ops.kernels.using("numpy")`` and ``("numba")``
(the same function; the kernel switch picks the implementation), interleaved, on channels-last
arrays as a chainrule convolution leaves them.  The window copy has no numba twin (the NumPy
copy measured faster), so both columns time the same code there.
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from chainrule.autograd.op import ARRAY  # noqa: E402
from chainrule.ops import conv, kernels, pool  # noqa: E402


def _nhwc(a):
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


def cases():
    rng = np.random.default_rng(0)
    f32 = np.float32
    x1 = rng.random((64, 1, 28, 28), dtype=f32)
    x2 = _nhwc(rng.random((64, 6, 12, 12), dtype=f32))
    d2 = rng.random((1, 64 * 8 * 8, 150), dtype=f32)
    a1 = _nhwc(rng.random((64, 6, 24, 24), dtype=f32))
    a2 = _nhwc(rng.random((64, 16, 8, 8), dtype=f32))
    geo = ((2, 2), (2, 2), (0, 0, 0, 0), (1, 1))
    one = ((1, 1), (0, 0, 0, 0), (1, 1))
    out = {
        "window copy, conv 1": lambda: conv.conv_windows(np, x1, (5, 5), *one, 1),
        "window copy, conv 2": lambda: conv.conv_windows(np, x2, (5, 5), *one, 1),
        "input-gradient slice-adds, conv 2": lambda: conv.conv_scatter_windows(
            np, d2, (64, 6, 12, 12), (5, 5), *one, (8, 8)),
    }
    for name, a in (("pool 1", a1), ("pool 2", a2)):
        hw = (a.shape[2] // 2, a.shape[3] // 2)
        with kernels.using("numpy"):
            o, idx = pool.max_with_offsets(np, a, *geo, hw)
        g = _nhwc(rng.random(o.shape, dtype=f32))
        out[f"max-pool forward, {name}"] = lambda a=a, hw=hw: pool.max_with_offsets(
            np, a, *geo, hw)
        out[f"max-pool backward, {name}"] = lambda a=a, g=g, idx=idx: pool.max_scatter(
            np, g, idx, a.shape, *geo)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=30)
    a = ap.parse_args(argv)
    try:
        import threadpoolctl
        threadpoolctl.threadpool_limits(limits=1, user_api="blas")
    except ImportError:
        pass
    if not kernels.available():
        sys.exit("bench_cnn_kernels: numba is not installed (pip install 'chainrule[fast]')")
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}, float32, minimum "
          f"of {a.calls} calls\n")
    print(f"{'helper':40s} {'numpy ms':>9s} {'numba ms':>9s}")
    for name, f in cases().items():
        best = {"numpy": [], "numba": []}
        for which in best:                      # warm-up (numba's compile or cache load)
            with kernels.using(which):
                f()
        for _ in range(a.calls):
            for which in best:
                with kernels.using(which):
                    t0 = time.perf_counter()
                    f()
                    best[which].append(time.perf_counter() - t0)
        print(f"{name:40s} {min(best['numpy']) * 1e3:9.3f} {min(best['numba']) * 1e3:9.3f}")
    # not a kernel: the conv bias gradient of both paths, NumPy's reduction beside the BLAS
    # product that conv_bias_grad uses for a channels-last gradient
    g = _nhwc(np.random.default_rng(1).random((64, 6, 24, 24), dtype=np.float32))
    ts = {"sum": [], "gemv": []}
    for _ in range(a.calls):
        t0 = time.perf_counter()
        g.sum(axis=(0, 2, 3))
        ts["sum"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        ARRAY.conv_bias_grad(g)
        ts["gemv"].append(time.perf_counter() - t0)
    print(f"\nconv 1 bias gradient: np.sum over (0, 2, 3) {min(ts['sum']) * 1e3:.3f} ms, "
          f"ones @ g (conv_bias_grad) {min(ts['gemv']) * 1e3:.3f} ms")


if __name__ == "__main__":
    main()
