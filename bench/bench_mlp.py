#!/usr/bin/env python
"""MLP benchmark: hand-written NumPy vs PyTorch vs scikit-learn vs chainrule.

One training epoch of 784 -> W -> W/2 -> 10 (ReLU, softmax cross-entropy,
float32) over N MNIST-shaped samples; systems are interleaved round-robin in
every repeat and reported as median seconds/epoch, ratio of medians to `numpy`
("vs numpy") and median of the per-round ratios ("paired").
See bench/README.md.  chainrule is imported lazily (reported unavailable if
it cannot be imported or raises).
"""
import argparse
import json
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# the checkout's chainrule is importable even when it is not pip-installed
sys.path.insert(1, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import bench_common as bc  # noqa: E402
import bench_systems  # noqa: E402
import bench_tasks  # noqa: E402

SYSTEMS = ["numpy", "torch", "torch-dataloader", "sklearn", "chainrule", "chainrule-compiled",
           "chainrule-fit"]
CHECKS = ["numpy-again",      # the baseline a second time: an A/A check of the harness
          "chainrule-arrays"]  # chainrule's array work alone (SGD): bench_arrays_mlp.py
TASKS = ["train", "inference", "overhead", "memory", "scaling"]
SETTLE_S = 0.2      # pause between thread pools in a round: OpenBLAS threads spin ~0.11 s
SCALING_BS = ([16, 32, 64, 128, 256, 512, 1024], [32, 128, 512])           # full, quick
SCALING_W = ([64, 128, 256, 512, 1024, 2048], [64, 256, 1024])


def _err(exc):
    return f"{type(exc).__name__}: {exc}".replace("\n", " ")[:70]


def interleave(setups, repeats, warmups=None, min_time=0.0, max_repeats=None, chunk=0,
               settle=SETTLE_S):
    """Round-robin timing. setups: {name: () -> timed_fn}; timed_fn() -> seconds.

    Each repeat builds every system afresh (untimed) and runs it once; the
    start of the round-robin rotates with the repeat so drift hits all systems.
    With ``chunk`` > 0, and when every timed_fn has ``.steps`` (a generator of
    the same epoch that yields after each training step), the systems of a round
    take turns ``chunk`` steps at a time instead of a whole epoch each, and each
    system's epoch time is the sum of its turns: a slow spell of a shared machine
    then falls on all systems alike, even when it is shorter than a round.
    Systems on different thread pools (``bench_systems.POOL``: NumPy's OpenBLAS or
    torch's) never alternate within a round: after its last call, a pool's idle
    threads spin for up to ~0.1 s (OpenBLAS), taking a core from whatever runs
    next. So a round runs one pool's systems, then the other's, with an untimed
    pause of ``settle`` seconds between them.
    warmups: {name: () -> timed_fn} run once, untimed, before the repeats.
    min_time: after the first round, add rounds until the slowest system's
    epochs sum to about this many seconds (short epochs are noisy), at most
    ``max_repeats`` rounds in all.
    """
    names = list(setups)
    res = {s: {"times": [], "error": None} for s in names}
    for s, make in (warmups or {}).items():
        try:
            make()()
        except Exception as exc:  # noqa: BLE001 - unavailable system
            res[s]["error"] = _err(exc)
    r = 0
    while r < repeats:
        if r == 1 and min_time:
            slowest = max((d["times"][0] for d in res.values() if d["times"]), default=0)
            if slowest > 0:
                repeats = max(repeats, min(max_repeats or repeats,
                                           math.ceil(min_time / slowest)))
        k = r % len(names)
        r += 1
        order = [s for s in names[k:] + names[:k] if not res[s]["error"]]
        pools = list(dict.fromkeys(_pool(s) for s in order))
        for i, pool in enumerate(pools):
            if i:
                time.sleep(settle)
            group = [s for s in order if _pool(s) == pool]
            if chunk:
                _chunked_round(setups, group, chunk, res)
                continue
            for s in group:
                try:
                    res[s]["times"].append(setups[s]()())
                except Exception as exc:  # noqa: BLE001
                    res[s]["error"] = _err(exc)
    return res


def _pool(system):
    return bench_systems.POOL.get(system, system)


def _chunked_round(setups, order, chunk, res):
    """One round in turns of ``chunk`` steps (see ``interleave``); appends to ``res``."""
    gens, spent = {}, {}
    for s in order:                      # build every system first (untimed)
        try:
            fn = setups[s]()
            gens[s], spent[s] = fn.steps(), 0.0
        except Exception as exc:  # noqa: BLE001
            res[s]["error"] = _err(exc)
    clock = time.perf_counter
    while gens:
        for s in list(gens):
            g = gens[s]
            try:
                t0 = clock()
                n = 0
                for _ in g:
                    n += 1
                    if n == chunk:
                        break
                spent[s] += clock() - t0
            except Exception as exc:  # noqa: BLE001
                res[s]["error"] = _err(exc)
                del gens[s]
                continue
            if n < chunk:                # the epoch ended in this turn
                res[s]["times"].append(spent[s])
                del gens[s]


def paired_ratio(times, ref):
    """Median over rounds of ``times[i] / ref[i]``: each round runs the systems back to back, so
    a slow spell of a shared machine cancels out of the ratio of one round."""
    n = min(len(times), len(ref))
    return bc.median([times[i] / ref[i] for i in range(n)]) if n else float("nan")


def _rows(key, res, unit_scale=1.0, fmt="{:.3f}"):
    """Table rows [*key, system, median, min, runs, ratio of medians to numpy, median of the
    per-round ratios to numpy, note]."""
    ref = res.get("numpy")
    ref_t = ref["times"] if ref and ref["times"] else None
    rows = []
    for s, d in res.items():
        if not d["times"]:
            rows.append([*key, s, "-", "-", 0, "-", "-", "unavailable: " + (d["error"] or "?")])
            continue
        med = bc.median(d["times"])
        ratio = f"{med / bc.median(ref_t):.2f}x" if ref_t else "-"
        paired = f"{paired_ratio(d['times'], ref_t):.2f}x" if ref_t else "-"
        note = ("failed later: " + d["error"]) if d["error"] else ""
        rows.append([*key, s, fmt.format(med * unit_scale),
                     fmt.format(min(d["times"]) * unit_scale), len(d["times"]), ratio, paired,
                     note])
    return rows


def compare_train(X, y, systems, bs, opt, width, repeats, min_time=0.0, max_repeats=None,
                  chunk=0):
    train = bench_systems.TRAIN
    n_warm = min(X.shape[0], 10 * bs)
    warm = {s: (lambda s=s: train[s](X[:n_warm], y[:n_warm], bs, opt, width))
            for s in systems}
    setups = {s: (lambda s=s: train[s](X, y, bs, opt, width)) for s in systems}
    return interleave(setups, repeats, warm, min_time, max_repeats, chunk)


def _chunk(a, bs):
    """Steps per turn: about ``--chunk-samples`` samples, at least one (0: whole epochs)."""
    return max(1, a.chunk_samples // bs) if a.interleave == "chunk" else 0


def _how(a):
    """The interleaving, for table titles."""
    if a.interleave == "chunk":
        return f"systems take turns of about {a.chunk_samples} samples"
    return "systems take turns of one epoch"


def task_train(X, y, a):
    rows, out = [], []
    for width in a.width:
        for bs in a.batch_size:
            for opt in a.optimizer:
                res = compare_train(X, y, a.systems, bs, opt, width, a.repeats,
                                    chunk=_chunk(a, bs))
                out.append({"width": width, "batch_size": bs, "optimizer": opt,
                            "results": res})
                rows += _rows([width, bs, opt], res)
    title = (f"\n== train: one epoch, N={X.shape[0]}, 784-W-W/2-10, float32; "
             f"seconds/epoch over {a.repeats} interleaved repeats ({_how(a)}) ==")
    print(bc.format_table(["W", "bs", "opt", "system", "median s", "min s",
                           "runs", "vs numpy", "paired", "note"], rows, title), flush=True)
    return out


def task_inference(X, a):
    systems = [s for s in a.systems if s in bench_systems.INFER]
    Xtest = X[:min(10000, X.shape[0])]
    n = Xtest.shape[0]
    rows, out = [], []
    for width in a.width:
        for bs in a.infer_batch_size:
            bs = bs or n
            mk = {s: (lambda s=s: bench_systems.INFER[s](Xtest, bs, width)) for s in systems}
            res = interleave(mk, max(a.repeats, 5), warmups=mk)
            out.append({"width": width, "batch_size": bs, "results": res})
            rows += _rows([width, bs], res, 1e3, "{:.2f}")
    title = (f"\n== inference: eval/no_grad forward of {n} samples; ms per pass, "
             f"median of {max(a.repeats, 5)} ==")
    print(bc.format_table(["W", "bs", "system", "median ms", "min ms", "runs",
                           "vs numpy", "paired", "note"], rows, title), flush=True)
    return out


def task_scaling(X, y, a):
    quick = 1 if a.quick else 0
    opt, w0, b0 = a.optimizer[0], a.width[0], a.batch_size[0]
    curves = {"batch_size": [], "width": []}
    rows = []
    for axis, values in (("batch_size", SCALING_BS[quick]), ("width", SCALING_W[quick])):
        for v in values:
            bs, width = (v, w0) if axis == "batch_size" else (b0, v)
            res = compare_train(X, y, a.systems, bs, opt, width, a.repeats, a.min_time,
                                a.max_repeats, _chunk(a, bs))
            curves[axis].append({"value": v, "results": res})
            rows += _rows([axis, width, bs, opt], res)
    more = (f" (more, up to {a.max_repeats}, until the slowest system's epochs sum to "
            f"{a.min_time:g} s)" if a.min_time else "")
    title = (f"\n== scaling: train epoch, N={X.shape[0]}, {a.repeats} repeats{more}; "
             f"{_how(a)} ==")
    print(bc.format_table(["sweep", "W", "bs", "opt", "system", "median s", "min s",
                           "runs", "vs numpy", "paired", "note"], rows, title), flush=True)
    plot_scaling(curves, a.systems, a.plot or "bench_scaling.png",
                 f"N={X.shape[0]}, {opt}, W={w0} / bs={b0}")
    return curves


def plot_scaling(curves, systems, path, subtitle):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import ScalarFormatter
    except ImportError:
        print("matplotlib not installed: no plot")
        return
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, (axis, pts) in zip(axes, curves.items()):
        ref = [p["results"]["numpy"]["times"] if "numpy" in p["results"] else None
               for p in pts]
        for s in systems:
            xs, ys = [], []
            for p, r in zip(pts, ref):
                t = p["results"][s]["times"]
                if t:
                    xs.append(p["value"])
                    ys.append(paired_ratio(t, r) if r else bc.median(t))
            if xs:
                ax.plot(xs, ys, marker="o", label=s)
        ax.set_xscale("log", base=2)
        ax.set_xticks([p["value"] for p in pts])
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.set_ylim(bottom=0)
        ax.axhline(1.0, color="grey", lw=0.8, ls="--")
        ax.set_xlabel("batch size" if axis == "batch_size" else "hidden width W")
        ax.set_ylabel("epoch time / numpy (median of rounds)" if "numpy" in systems
                      else "seconds")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.suptitle(f"MLP training epoch, ratio to hand-written NumPy ({subtitle})")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"plot written to {path}")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    add = p.add_argument
    add("--task", choices=TASKS + ["all"], default="train", help="default: train")
    add("--batch-size", type=int, nargs="+", default=[128, 32], help="default: 128 32")
    add("--width", type=int, nargs="+", default=[256], help="hidden width W (default 256)")
    add("--optimizer", nargs="+", choices=["sgd", "adam"], default=["sgd", "adam"],
        help="default: sgd adam")
    add("--repeats", type=int, default=None, help="default 5 (2 with --quick)")
    add("--min-time", type=float, default=0.0,
        help="scaling: repeat short epochs until the slowest system's sum to this many "
             "seconds (default 0: exactly --repeats)")
    add("--max-repeats", type=int, default=25, help="cap for --min-time (default 25)")
    add("--interleave", choices=["chunk", "epoch"], default="chunk",
        help="train/scaling: systems of a round take turns of --chunk-samples samples "
             "(default) or of a whole epoch each")
    add("--chunk-samples", type=int, default=2048,
        help="samples per turn with --interleave chunk (default 2048)")
    add("--systems", nargs="+", choices=SYSTEMS + CHECKS, default=SYSTEMS,
        help="default: all but the checks: numpy-again (the NumPy baseline again, to check "
             "that the harness favours no one: its ratio to numpy should be 1) and "
             "chainrule-arrays (SGD: chainrule's array calls without the framework)")
    add("--threads", type=int, default=2,
        help="torch.set_num_threads and BLAS (threadpoolctl) threads (default 2)")
    add("--quick", action="store_true", help="N=6000 and 2 repeats")
    add("--n", type=int, default=None, help="samples (default 60000, 6000 with --quick)")
    add("--data-dir", default=None, help="dir with MNIST IDX (.gz) files (default: random)")
    add("--infer-batch-size", type=int, nargs="+", default=[1000, 0],
        help="inference batch sizes, 0 = all at once (default: 1000 0)")
    add("--overhead-ops", type=int, default=1000, help="op chain length (default 1000)")
    add("--memory-epochs", type=int, default=None, help="default 5 (2 with --quick)")
    add("--json", default=None, help="write all results to this JSON file")
    add("--plot", default=None, help="PNG for --task scaling (default bench_scaling.png)")
    a = p.parse_args(argv)
    a.repeats = a.repeats or (2 if a.quick else 5)
    a.n = a.n or (6000 if a.quick else 60000)
    a.memory_epochs = a.memory_epochs or (2 if a.quick else 5)
    a.width = [w for w in a.width if w >= 2] or [256]
    return a


def main(argv=None):
    a = parse_args(argv)
    tasks = TASKS if a.task == "all" else [a.task]
    thread_note = bc.set_threads(a.threads, a.systems)
    info = bc.machine_info(a.systems)
    X, y, desc = bc.load_data(a.n, a.data_dir)
    print("# chainrule MLP benchmark  " + time.strftime("%Y-%m-%d %H:%M:%S"))
    print(bc.format_machine(info))
    print(f"data: {desc}; X {X.shape} {X.dtype}, y {y.dtype}")
    print(f"tasks={tasks} systems={a.systems} repeats={a.repeats} threads={a.threads}"
          + (f" ({thread_note})" if thread_note else ""), flush=True)
    results = {}
    for task in tasks:
        if task == "train":
            results[task] = task_train(X, y, a)
        elif task == "inference":
            results[task] = task_inference(X, a)
        elif task == "overhead":
            results[task] = bench_tasks.task_overhead(a.systems, a.repeats, a.overhead_ops)
        elif task == "memory":
            results[task] = bench_tasks.task_memory(
                a.systems, a.n, a.batch_size[0], a.optimizer[0], a.width[0],
                a.memory_epochs, a.data_dir, a.threads)
        elif task == "scaling":
            results[task] = task_scaling(X, y, a)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"machine": info, "args": vars(a), "data": desc,
                       "results": results}, f, indent=1, default=str)
        print(f"results written to {a.json}")
    return results


if __name__ == "__main__":
    main()
