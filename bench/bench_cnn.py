"""LeNet-5 training and ResNet-like conv2d, chainrule beside PyTorch eager and NumPy by hand.

    python bench/bench_cnn.py                        # short interleaved turns, ratios
    python bench/bench_cnn.py --data ../shared/datasets/mnist-test --rounds 7
    python bench/bench_cnn.py --part conv            # conv2d fwd+bwd only
    python bench/bench_cnn.py --part memory          # peak RSS per system (fresh processes)

LeNet-5-like net: conv 1->6 5x5, ReLU, max-pool 2, conv 6->16 5x5, ReLU, max-pool 2,
256->120->84->10, batch 64, SGD lr 0.05, 28x28 float32 images.  Systems take turns of
``--turn`` steps (round-robin, ``--rounds`` times); the epoch figure is the median step time
times the steps of a 60,000-image epoch, so every system sees the same machine load.  All
systems use ``--threads`` threads (PyTorch intra-op pool and every BLAS).  "chainrule" runs with
the default kernels (numba's when numba is installed, see ``cr.ops.kernels``); the "(numpy
kernels)" rows run the same loop on the NumPy reference kernels, in the same run.  The warm-up
steps before the timed turns include numba's first-call compile (or its cache load).
"""
import argparse
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(1, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import bench_numpy_cnn  # noqa: E402
from bench_common import format_table, median, read_idx  # noqa: E402

EPOCH = 60000
BATCH = 64
LR = 0.05


def load(n, data_dir, seed=0):
    if data_dir:
        names = sorted(os.listdir(data_dir))
        img = read_idx(os.path.join(data_dir, next(f for f in names if "images" in f)))
        lab = read_idx(os.path.join(data_dir, next(f for f in names if "labels" in f)))
        reps = -(-n // img.shape[0])
        X = np.tile(img, (reps, 1, 1))[:n].astype(np.float32) / np.float32(255)
        return X[:, None], np.tile(lab.astype(np.int64), reps)[:n], f"{data_dir} tiled x{reps}"
    rng = np.random.default_rng(seed)
    return (rng.random((n, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, n),
            "synthetic uniform [0, 1)")


def set_threads(n):
    import torch
    torch.set_num_threads(n)
    try:
        import threadpoolctl
        threadpoolctl.threadpool_limits(limits=n, user_api="blas")
    except ImportError:
        pass


# ------------------------------------------------------------------------ systems
def _batches(n, seed):
    rng = np.random.default_rng(seed)
    while True:
        perm = rng.permutation(n)
        for i in range(0, n - BATCH + 1, BATCH):
            yield perm[i:i + BATCH]


def chainrule_setup(X, y, compiled=False, kernels=None):
    """The idiomatic loop; ``kernels``: ``cr.ops.kernels`` choice for its steps (None: the
    default, numba when installed)."""
    import chainrule as cr
    import chainrule.nn.functional as F
    cr.manual_seed(0)
    model = cr.models.lenet5()
    opt = cr.optim.SGD(model.parameters(), lr=LR)

    def step(xb, yb):
        opt.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        return loss

    run = cr.compile(step) if compiled else step
    idx = _batches(len(X), 0)

    def one():
        i = next(idx)
        run(cr.tensor(X[i]), cr.tensor(y[i])).item()
    if kernels is None:
        return one

    def one_with():
        with cr.ops.kernels.using(kernels):
            one()
    return one_with


def torch_setup(X, y):
    import torch
    tnn = torch.nn
    torch.manual_seed(0)
    model = tnn.Sequential(tnn.Conv2d(1, 6, 5), tnn.ReLU(), tnn.MaxPool2d(2),
                           tnn.Conv2d(6, 16, 5), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(),
                           tnn.Linear(256, 120), tnn.ReLU(), tnn.Linear(120, 84), tnn.ReLU(),
                           tnn.Linear(84, 10))
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    idx = _batches(len(X), 0)

    def one():
        i = torch.from_numpy(next(idx))
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(Xt[i]), yt[i])
        loss.backward()
        opt.step()
        loss.item()
    return one


def numpy_setup(X, y):
    net = bench_numpy_cnn.LeNet()
    Xn = np.ascontiguousarray(X.transpose(0, 2, 3, 1))
    idx = _batches(len(X), 0)

    def one():
        i = next(idx)
        net.step(Xn[i], y[i], LR)
    return one


SYSTEMS = {
    "torch eager": torch_setup,
    "chainrule eager": chainrule_setup,
    "chainrule compiled": lambda X, y: chainrule_setup(X, y, compiled=True),
    "chainrule eager (numpy kernels)": lambda X, y: chainrule_setup(X, y, kernels="numpy"),
    "chainrule compiled (numpy kernels)": lambda X, y: chainrule_setup(X, y, True, "numpy"),
    "numpy by hand (NHWC)": numpy_setup,
}


def bench_lenet(X, y, rounds, turn, systems):
    steps = {s: SYSTEMS[s](X, y) for s in systems}
    for s in systems:                       # warm-up (and cr.compile's two traces)
        for _ in range(3):
            steps[s]()
    times = {s: [] for s in systems}
    for _ in range(rounds):
        for s in systems:
            t0 = time.perf_counter()
            for _ in range(turn):
                steps[s]()
            times[s].append((time.perf_counter() - t0) / turn)
    ref = median(times["torch eager"])
    rows = [(s, f"{median(t) * 1e3:.2f}", f"{median(t) * EPOCH / BATCH:.1f}",
             f"{median(t) / ref:.2f}x") for s, t in times.items()]
    return format_table(["system", "ms/step", "epoch s (60k)", "vs torch"], rows,
                        f"LeNet-5, batch {BATCH}, {rounds} rounds of {turn} steps, medians")


# -------------------------------------------------------------------- conv2d alone
def bench_conv(rounds):
    import torch

    import chainrule as cr
    import chainrule.nn.functional as F
    rows = []
    for hw in (32, 16):
        rng = np.random.default_rng(0)
        a = rng.standard_normal((32, 64, hw, hw)).astype(np.float32)
        w = (rng.standard_normal((64, 64, 3, 3)) * 0.05).astype(np.float32)
        g = rng.standard_normal((32, 64, hw, hw)).astype(np.float32)
        x, W = cr.tensor(a, requires_grad=True), cr.tensor(w, requires_grad=True)
        # channels-last input, as the previous chainrule layer would leave it
        xl = cr.tensor(np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2),
                       requires_grad=True)
        tx, tW = torch.tensor(a, requires_grad=True), torch.tensor(w, requires_grad=True)
        G, TG = cr.tensor(g), torch.tensor(g)

        def crf(inp):
            def f():
                F.conv2d(inp, W, padding=1).backward(G)
                inp.grad = W.grad = None
            return f

        def tf():
            torch.nn.functional.conv2d(tx, tW, padding=1).backward(TG)
            tx.grad = tW.grad = None
        fns = {"torch": tf, "chainrule NCHW in": crf(x), "chainrule NHWC in": crf(xl)}
        ts = {k: [] for k in fns}
        for f in fns.values():
            f()
        for _ in range(rounds):
            for k, f in fns.items():
                t0 = time.perf_counter()
                f()
                ts[k].append(time.perf_counter() - t0)
        ref = median(ts["torch"])
        rows += [(f"32x64x{hw}x{hw}, 64 3x3 pad 1", k, f"{median(t) * 1e3:.1f}",
                  f"{median(t) / ref:.2f}x") for k, t in ts.items()]
    return format_table(["shape", "system", "fwd+bwd ms", "vs torch"], rows,
                        f"conv2d forward + backward (input and weight grads), {rounds} rounds")


# --------------------------------------------------------------------------- memory
def _rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


def _peak_mib():
    # VmHWM, not ru_maxrss: Linux keeps ru_maxrss across exec, so a child would report the
    # parent's (much larger) peak
    with open("/proc/self/status") as f:
        return next(int(ln.split()[1]) for ln in f if ln.startswith("VmHWM")) / 1024


def memory_child(system, n, data):
    if "numpy kernels" in system:    # numba never imported (else restoring "auto" imports it)
        os.environ["CHAINRULE_KERNELS"] = "numpy"
    X, y, _ = load(n, data)
    one = SYSTEMS[system](X, y)
    base = _rss_mib()
    one()              # the first step: lazy imports (numba) and JIT compile or cache load
    first = _peak_mib() - base
    base = _rss_mib()
    with open("/proc/self/clear_refs", "w") as f:     # reset VmHWM to the current RSS
        f.write("5")
    for _ in range(20):
        one()
    print(f"{first:.1f} {_peak_mib() - base:.1f}")


def bench_memory(systems, threads, data):
    rows = []
    for s in systems:
        out = subprocess.run([sys.executable, __file__, "--mem-child", s, "--threads",
                              str(threads), "--n", "4096"] + (["--data", data] if data else []),
                             capture_output=True, text=True, check=True).stdout.split()[-2:]
        rows.append((s, *out))
    return format_table(["system", "first step MiB", "peak over 20 steps MiB"], rows,
                        "memory: peak RSS growth in the first step (lazy imports, JIT) beyond the "
                        "process after setup, then over 20 more training steps beyond the RSS "
                        "after the first (fresh process each, 4,096 images loaded)")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=None, help="folder with MNIST IDX files (else synthetic)")
    ap.add_argument("--n", type=int, default=10000, help="images loaded (tiled if needed)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--turn", type=int, default=20, help="steps per system per round")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--part", choices=["all", "lenet", "conv", "memory"], default="all")
    ap.add_argument("--systems", default=",".join(SYSTEMS))
    ap.add_argument("--mem-child", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    set_threads(a.threads)
    if a.mem_child:
        return memory_child(a.mem_child, a.n, a.data)
    systems = a.systems.split(",")
    import chainrule as cr
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}, threads "
          f"{a.threads}, chainrule kernels: {cr.ops.kernels.active()}")
    if a.part in ("all", "lenet"):
        X, y, what = load(a.n, a.data)
        print(f"data: {what}, {len(X)} images\n")
        print(bench_lenet(X, y, a.rounds, a.turn, systems), "\n")
    if a.part in ("all", "conv"):
        print(bench_conv(a.rounds * 2), "\n")
    if a.part in ("all", "memory"):
        print(bench_memory(systems, a.threads, a.data))


if __name__ == "__main__":
    main()
