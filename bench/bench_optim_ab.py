#!/usr/bin/env python
"""Optimizer step time of two chainrule trees side by side: this checkout against another one.

Each tree runs in its own worker process (both import ``chainrule``); the parent hands the
workers blocks of training steps in turn, so a slow spell of a shared machine falls on both
alike, and reports per setting the median over blocks of ``optimizer.step()`` alone and of the
whole step (``zero_grad``, forward, ``cross_entropy``, ``backward``, ``step``), and the ratios.

    git -C /work/main archive 7c4becc chainrule | tar -x -C /tmp/old-main
    OPENBLAS_NUM_THREADS=1 python bench/bench_optim_ab.py --old /tmp/old-main

Settings: 784-W-W/2-10 MLP (float32, W=256 by default) at batch 128 and 32, ``SGD(lr=0.1)`` and
``Adam(lr=1e-3)``, and for this tree also ``foreach=True``/``False`` (the old tree has no
``foreach`` switch: its flat buffers were always on).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def worker(tree, spec):
    """Read ``go`` lines; for each, run one block of every setting; print one JSON line."""
    sys.path.insert(0, tree)
    import numpy as np
    import chainrule as cr
    import chainrule.nn.functional as F
    settings = []
    for name in spec["settings"]:
        opt_name, bs, foreach = name.split("/")
        cr.manual_seed(0)
        nn = cr.nn
        w = spec["width"]
        model = nn.Sequential(nn.Linear(784, w), nn.ReLU(), nn.Linear(w, w // 2), nn.ReLU(),
                              nn.Linear(w // 2, 10))
        kw = {} if foreach == "default" else {"foreach": foreach == "True"}
        opt = cr.optim.SGD(model.parameters(), lr=0.1, **kw) if opt_name == "sgd" else \
            cr.optim.Adam(model.parameters(), lr=1e-3, **kw)
        rng = np.random.default_rng(0)
        xs = [cr.tensor(rng.random((int(bs), 784), dtype=np.float32)) for _ in range(8)]
        ys = [cr.tensor(rng.integers(0, 10, int(bs))) for _ in range(8)]
        settings.append((name, model, opt, xs, ys))
    for line in sys.stdin:
        if line.strip() != "go":
            break
        out = {}
        for name, model, opt, xs, ys in settings:
            step_t = total = 0.0
            for i in range(spec["steps"]):
                t0 = time.perf_counter()
                opt.zero_grad()
                F.cross_entropy(model(xs[i % 8]), ys[i % 8]).backward()
                t1 = time.perf_counter()
                opt.step()
                t2 = time.perf_counter()
                step_t += t2 - t1
                total += t2 - t0
            out[name] = (step_t / spec["steps"], total / spec["steps"])
        print(json.dumps(out), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--old", required=True, help="root of the other chainrule tree")
    ap.add_argument("--blocks", type=int, default=15)
    ap.add_argument("--steps", type=int, default=40, help="steps per block and setting")
    ap.add_argument("--width", type=int, default=256, help="hidden width W: 784-W-W/2-10")
    args = ap.parse_args()
    base = [f"{o}/{b}" for o in ("sgd", "adam") for b in (128, 32)]
    trees = {"old": (args.old, [f"{s}/default" for s in base]),
             "new": (HERE, [f"{s}/{f}" for s in base for f in ("default", "True", "False")])}
    procs = {}
    for label, (tree, names) in trees.items():
        spec = json.dumps({"settings": names, "steps": args.steps, "width": args.width})
        procs[label] = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--worker", tree, spec],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd="/")
    res = {label: {} for label in procs}
    order = list(procs)
    for k in range(args.blocks + 1):                  # block 0 warms up, untimed
        for label in order[k % 2:] + order[:k % 2]:
            p = procs[label]
            p.stdin.write("go\n")
            p.stdin.flush()
            block = json.loads(p.stdout.readline())
            if k:
                for name, v in block.items():
                    res[label].setdefault(name, []).append(v)
    for p in procs.values():
        p.stdin.close()
        p.wait()
    print(f"{args.blocks} blocks of {args.steps} steps per setting, interleaved; medians over "
          "blocks (us) and the median of the per-block ratios new/old (paired)")
    print(f"{'setting':18s} {'old step':>9s} {'new step':>9s} {'paired':>6s}   "
          f"{'old total':>9s} {'new total':>9s} {'paired':>6s}")
    for name in trees["new"][1]:
        old = res["old"][name.rsplit("/", 1)[0] + "/default"]
        new = res["new"][name]
        cols = []
        for i in (0, 1):
            cols += [statistics.median(v[i] for v in old) * 1e6,
                     statistics.median(v[i] for v in new) * 1e6,
                     statistics.median(b[i] / a[i] for a, b in zip(old, new))]
        print(f"{name:18s} {cols[0]:9.1f} {cols[1]:9.1f} {cols[2]:6.2f}   {cols[3]:9.1f} "
              f"{cols[4]:9.1f} {cols[5]:6.2f}")

if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], json.loads(sys.argv[3]))
    else:
        main()
