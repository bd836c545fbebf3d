"""Tasks `overhead` and `memory` of bench_mlp.py.

This file is also the memory child process:
    python bench/bench_tasks.py memory-child SYSTEM --n N --batch-size B ...
prints one JSON line with RSS figures for training SYSTEM for some epochs.
"""
import argparse
import importlib
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# the checkout's chainrule is importable even when it is not pip-installed
sys.path.insert(1, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench_common import format_table, median  # noqa: E402

MB = 1024 * 1024


# ------------------------------------------------------------------ overhead
def _libs(system):
    """(module with .tanh, make_leaf(np_array) -> tensor, does_backward)."""
    if system == "numpy":
        return np, (lambda a: a.copy()), False
    if system == "torch":
        import torch
        return torch, (lambda a: torch.tensor(a, requires_grad=True)), True
    if system == "chainrule":
        import chainrule as cr
        return cr, (lambda a: cr.tensor(a, requires_grad=True)), True
    raise KeyError(system)


def _chain(lib, x, n_ops):
    for i in range(n_ops):
        k = i % 3
        if k == 0:
            x = x * 1.0001
        elif k == 1:
            x = x + 0.001
        else:
            x = lib.tanh(x)
    return x


def overhead_once(system, n_ops=1000, inner=5):
    """Median forward / backward seconds of a chain of n_ops ops on 8x8."""
    lib, leaf, grad = _libs(system)
    a = np.random.default_rng(0).random((8, 8), dtype=np.float32)
    fwd, bwd = [], []
    for _ in range(inner + 1):          # first iteration is a warm-up
        x = leaf(a)
        t0 = time.perf_counter()
        out = _chain(lib, x, n_ops)
        t1 = time.perf_counter()
        if grad:
            out.sum().backward()
        t2 = time.perf_counter()
        fwd.append(t1 - t0)
        bwd.append(t2 - t1)
    return median(fwd[1:]), median(bwd[1:])


def task_overhead(systems, repeats, n_ops=1000):
    systems = [s for s in ("numpy", "torch", "chainrule") if s in systems]
    res = {s: {"fwd": [], "bwd": [], "error": None} for s in systems}
    for r in range(repeats):
        for s in systems[r % len(systems):] + systems[:r % len(systems)]:
            if res[s]["error"]:
                continue
            try:
                f, b = overhead_once(s, n_ops)
                res[s]["fwd"].append(f)
                res[s]["bwd"].append(b)
            except Exception as exc:  # noqa: BLE001 - report, don't crash
                res[s]["error"] = f"{type(exc).__name__}: {exc}"[:70]
    ref = res.get("torch")
    ref_tot = median(ref["fwd"]) + median(ref["bwd"]) if ref and not ref["error"] else None
    rows = []
    for s, d in res.items():
        if d["error"]:
            rows.append([s, "-", "-", "-", "-", "unavailable: " + d["error"]])
            continue
        f, b = median(d["fwd"]) * 1e6 / n_ops, median(d["bwd"]) * 1e6 / n_ops
        tot = (f + b) * n_ops / 1e6
        note = "forward only, no autograd (floor)" if s == "numpy" else ""
        rows.append([s, f"{f:.2f}", f"{b:.2f}", f"{f + b:.2f}",
                     f"{tot / ref_tot:.2f}x" if ref_tot else "-", note])
    title = (f"\n== overhead: chain of {n_ops} ops (x*1.0001, x+0.001, tanh) on 8x8 "
             f"float32, requires_grad; us per op (median of {repeats} repeats) ==")
    print(format_table(["system", "fwd us/op", "bwd us/op", "total us/op",
                        "vs torch", "note"], rows, title))
    return res


# -------------------------------------------------------------------- memory
def _rss(field="VmRSS"):
    """Current (VmRSS) or peak (VmHWM) resident set size of this process, bytes.

    VmHWM rather than getrusage().ru_maxrss: on Linux ru_maxrss survives
    fork+exec, so a child would report at least its parent's RSS.
    """
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def memory_child(argv):
    p = argparse.ArgumentParser()
    p.add_argument("system")
    p.add_argument("--n", type=int, default=60000)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--optimizer", default="sgd")
    p.add_argument("--width", type=int, default=256)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args(argv)
    from bench_common import load_data, set_threads
    import bench_systems
    out = {"rss_start": _rss()}
    importlib.import_module(bench_systems.FRAMEWORK_MODULE[a.system])
    set_threads(a.threads, [a.system])
    X, y, _ = load_data(a.n, a.data_dir)
    out["rss_base"] = _rss()
    epoch = bench_systems.TRAIN[a.system](X, y, a.batch_size, a.optimizer, a.width)
    out["rss_setup"] = _rss()
    out["rss_epochs"], out["epoch_s"] = [], []
    for _ in range(a.epochs):
        out["epoch_s"].append(epoch())
        out["rss_epochs"].append(_rss())
    out["peak"] = _rss("VmHWM")
    out["ru_maxrss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB
    print(json.dumps(out))


def task_memory(systems, n, batch_size, optimizer, width, epochs, data_dir=None,
                threads=2):
    here = os.path.abspath(__file__)
    results, rows = {}, []
    for s in systems:
        cmd = [sys.executable, here, "memory-child", s, "--n", str(n),
               "--batch-size", str(batch_size), "--optimizer", optimizer,
               "--width", str(width), "--epochs", str(epochs), "--threads", str(threads)]
        if data_dir:
            cmd += ["--data-dir", data_dir]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        try:
            d = json.loads(proc.stdout.strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError):
            err = (proc.stderr.strip().splitlines() or ["no output"])[-1][:70]
            results[s] = {"error": err}
            rows.append([s] + ["-"] * 6 + ["unavailable: " + err])
            continue
        results[s] = d
        ep = d["rss_epochs"]
        rows.append([s, f"{d['rss_base'] / MB:.0f}", f"{d['peak'] / MB:.0f}",
                     f"{(d['peak'] - d['rss_base']) / MB:.0f}",
                     f"{ep[0] / MB:.0f}", f"{ep[-1] / MB:.0f}",
                     f"{(ep[-1] - ep[0]) / MB:+.1f}", ""])
    title = (f"\n== memory: one subprocess per system, {epochs} epochs, N={n}, "
             f"bs={batch_size}, {optimizer}, W={width} (MiB; base = interpreter + "
             f"framework import + data; growth = RSS after last epoch - after first) ==")
    print(format_table(["system", "base", "peak", "peak-base", "after ep1",
                        f"after ep{epochs}", "growth", "note"], rows, title))
    return results


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "memory-child":
        memory_child(sys.argv[2:])
    else:
        sys.exit("usage: bench_tasks.py memory-child SYSTEM [options]")
