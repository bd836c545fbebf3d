"""Data loading (random or MNIST IDX), machine info and table formatting."""
import gzip
import os
import platform
import statistics
import struct
import sys
import time

import numpy as np

ENV_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
            "OMP_NUM_THREADS", "MKL_NUM_THREADS", "GOTO_NUM_THREADS")
IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


# ---------------------------------------------------------------------- data
def read_idx(path):
    """Read an IDX file (optionally gzipped) into a NumPy array."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or code not in IDX_DTYPES:
        raise ValueError(f"{path}: not an IDX file")
    shape = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    arr = np.frombuffer(data, IDX_DTYPES[code], offset=4 + 4 * ndim)
    return arr.reshape(shape)


def _find(data_dir, kind):
    names = sorted(os.listdir(data_dir))
    for prefix in ("train", "t10k", ""):
        for name in names:
            if name.startswith(prefix) and f"{kind}-idx" in name:
                return os.path.join(data_dir, name)
    raise FileNotFoundError(f"no *{kind}-idx* file in {data_dir}")


def load_data(n, data_dir=None, seed=0):
    """(X float32 (n, 784) in [0, 1), y int64 (n,)) -- random or tiled MNIST."""
    if data_dir is None:
        rng = np.random.default_rng(seed)
        X = rng.random((n, 784), dtype=np.float32)
        y = rng.integers(0, 10, n).astype(np.int64)
        return X, y, "random uniform[0,1) float32, seed %d" % seed
    img_path, lab_path = _find(data_dir, "images"), _find(data_dir, "labels")
    images = read_idx(img_path).reshape(-1, 784)
    labels = read_idx(lab_path).astype(np.int64)
    reps = -(-n // images.shape[0])
    X = (np.tile(images, (reps, 1))[:n].astype(np.float32) / np.float32(255.0))
    y = np.tile(labels, reps)[:n]
    return np.ascontiguousarray(X), y, f"{os.path.basename(img_path)} tiled x{reps} to {n}"


# ------------------------------------------------------------------ threads
def set_threads(n, systems=()):
    """Use n threads everywhere: torch intra-op pool and every loaded BLAS.

    Imports the benchmarked frameworks first so that their BLAS libraries are
    loaded (and thus seen by threadpoolctl).  Returns a note if BLAS could not
    be limited (threadpoolctl missing).
    """
    import bench_systems
    bench_systems.TORCH_THREADS = n
    for s in systems:
        try:
            __import__(bench_systems.FRAMEWORK_MODULE[s])
        except Exception:  # noqa: BLE001 - reported later as unavailable
            pass
    if any(s.startswith("torch") for s in systems):
        import torch
        torch.set_num_threads(n)
    try:
        import threadpoolctl
    except ImportError:
        return "threadpoolctl missing: BLAS threads not limited"
    threadpoolctl.threadpool_limits(limits=n, user_api="blas")  # stays in effect
    return None


# --------------------------------------------------------------- machine info
def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(mod):
    try:
        return getattr(__import__(mod), "__version__", "installed (no __version__)")
    except Exception as exc:  # noqa: BLE001 - any failure means "not available"
        return f"unavailable ({type(exc).__name__})"


def _blas():
    try:
        import threadpoolctl
        return [f"{i.get('internal_api')} {i.get('version')} "
                f"threads={i.get('num_threads')} arch={i.get('architecture')} "
                f"({os.path.basename(i.get('filepath', ''))})"
                for i in threadpoolctl.threadpool_info()]
    except ImportError:
        cfg = np.show_config(mode="dicts")
        blas = cfg.get("Build Dependencies", {}).get("blas", {})
        return [f"{blas.get('name')} {blas.get('version')}"]


def machine_info(systems=()):
    """Collect machine info; imports torch/sklearn only if they are benchmarked."""
    info = {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "python": sys.version.split()[0],
        "numpy": np.__version__,
    }
    if any(s.startswith("torch") for s in systems):
        info["torch"] = _version("torch")
        try:
            import torch
            info["torch_threads"] = torch.get_num_threads()
            cfg = torch.__config__.show().splitlines()
            blas = [ln.strip(" -") for ln in cfg if "Math Kernel" in ln or "OpenBLAS" in ln]
            info["torch_blas"] = (blas or ["?"])[0] + (
                f"; cpu capability {torch.backends.cpu.get_cpu_capability()}")
        except (ImportError, AttributeError):
            pass
    if "sklearn" in systems:
        info["sklearn"] = _version("sklearn")
    if "chainrule" in systems:
        info["chainrule"] = _version("chainrule")
    info["blas"] = _blas()   # after the imports so their BLAS libraries show too
    info["env"] = {k: os.environ[k] for k in ENV_VARS if k in os.environ}
    info["loadavg"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    return info


def format_machine(info):
    lines = [f"CPU: {info['cpu']}  cores={info['cores']} affinity={info['affinity']}",
             "versions: " + "  ".join(f"{k}={info[k]}" for k in
                                      ("python", "numpy", "torch", "sklearn", "chainrule")
                                      if k in info)]
    if "torch_threads" in info:
        lines[-1] += f"  (torch threads={info['torch_threads']})"
    lines += [f"BLAS: {b}" for b in info["blas"]]
    if "torch_blas" in info:
        lines.append(f"torch BLAS (linked into torch): {info['torch_blas']}")
    if info["env"]:
        lines.append("env: " + "  ".join(f"{k}={v}" for k, v in info["env"].items()))
    if info.get("loadavg"):
        load, busy = info["loadavg"][0], 0.25 * (info["cores"] or 1)
        lines.append(f"load average (1 min) at start: {load:.2f}" + (
            "  WARNING: machine busy; multi-threaded BLAS timings will be noisy "
            "(try --threads 1)" if load > busy else ""))
    return "\n".join(lines)


# ------------------------------------------------------------------- timing
def timed(steps):
    """``epoch()`` -> seconds of one pass of ``steps()`` (a generator of one epoch that yields
    after each training step), with ``epoch.steps = steps`` for turn-taking."""
    def epoch():
        t0 = time.perf_counter()
        for _ in steps():
            pass
        return time.perf_counter() - t0

    epoch.steps = steps
    return epoch


def shuffled_epoch(train_step, X, y, batch_size, seed=0):
    """``timed`` epochs of ``train_step(xb, yb)`` over a new permutation of ``X`` each epoch
    (NumPy's generator), in batches of ``batch_size``: how the NumPy-side systems draw batches."""
    rng = np.random.default_rng(seed)
    n = X.shape[0]

    def steps():
        perm = rng.permutation(n)
        for i in range(0, n, batch_size):
            idx = perm[i:i + batch_size]
            train_step(X[idx], y[idx])
            yield

    return timed(steps)


# ------------------------------------------------------------------- tables
def median(xs):
    return statistics.median(xs) if xs else float("nan")


def format_table(headers, rows, title=None):
    """Aligned text table; numbers right-aligned, text left-aligned."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    numeric = [all(_is_num(r[i]) for r in cells) and cells for i in range(len(headers))]

    def fmt(row):
        return "  ".join(c.rjust(w) if num else c.ljust(w)
                         for c, w, num in zip(row, widths, numeric)).rstrip()

    out = [title] if title else []
    out += [fmt(headers), fmt(["-" * w for w in widths])] + [fmt(r) for r in cells]
    return "\n".join(out)


def _is_num(s):
    s = s.rstrip("x%")
    try:
        float(s)
        return True
    except ValueError:
        return s in ("-", "")
