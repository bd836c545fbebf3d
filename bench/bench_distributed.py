#!/usr/bin/env python
"""Data-parallel training over MPI: time per step and allreduce time on 1, 2 and 4 local ranks.

The MLP of bench_mlp.py (784 -> 256 -> 128 -> 10, float32, SGD) with a fixed global batch split
over the ranks (strong scaling). For every rank count the driver starts
``mpiexec -n N python bench/bench_distributed.py --worker``, in rounds that take turns (1, 2, 4,
1, 2, 4, ...), and reports medians over rounds of:

* ``step``: one DDP training step (zero_grad, forward, loss, backward with the gradient
  allreduce, SGD step), wall time on rank 0 after a barrier;
* ``compute``: the same step without DDP on the same local batch (no communication);
* ``ddp wait``: time spent in DDP's wait for the gradient allreduce (includes waiting for the
  slowest rank);
* ``floor``: a bare ``MPI.Allreduce`` of the same number of gradient bytes (mpi4py, buffers);
* ``compute(b)``: one-rank step time at local batch b = B/N, the input of the scaling model
  in docs/distributed.md.

BLAS runs one thread per rank (OPENBLAS_NUM_THREADS=1 and friends) so that ranks do not fight
over cores; the 4-rank case oversubscribes a 2-core machine. No CNN: chainrule has no Conv2d yet.

    python bench/bench_distributed.py                 # ranks 1 2 4, global batch 256, 3 rounds
    python bench/bench_distributed.py --ranks 1 2 --batch-size 128 --rounds 2 --json out.json
    python bench/bench_distributed.py --ranks 1 2 --sweep --rounds 1   # scaling-model inputs
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else 0.5 * (xs[n // 2 - 1] + xs[n // 2])


def worker(args):
    import numpy as np

    import chainrule as cr
    import chainrule.distributed as dist
    from chainrule.distributed._mpi import mpi
    dist.init_process_group("mpi", timeout=120)
    rank, size = dist.get_rank(), dist.get_world_size()
    MPI, comm = mpi(), mpi().COMM_WORLD
    b = args.batch_size // size
    rng = np.random.default_rng(rank)
    X = cr.tensor(rng.random((b, 784), dtype=np.float32))
    y = cr.tensor(rng.integers(0, 10, b))
    loss_fn = cr.nn.CrossEntropyLoss()

    def net():
        cr.manual_seed(0)
        w = args.width
        return cr.nn.Sequential(cr.nn.Linear(784, w), cr.nn.ReLU(), cr.nn.Linear(w, w // 2),
                                cr.nn.ReLU(), cr.nn.Linear(w // 2, 10))

    def stepper(model, params):
        opt = cr.optim.SGD(params, lr=0.01)

        def step():
            opt.zero_grad()
            loss_fn(model(X), y).backward()
            opt.step()
        return step

    plain = net()
    ddp = cr.nn.parallel.DistributedDataParallel(net(), bucket_cap_mb=args.bucket_mb)
    steps = {"compute": stepper(plain, plain.parameters()),
             "step": stepper(ddp, ddp.parameters())}
    nbytes = sum(p.detach().numpy().nbytes for p in ddp.parameters())
    buf = np.zeros(nbytes // 4, np.float32)
    res = {k: [] for k in ("step", "compute", "wait", "floor")}
    for name in ("compute", "step"):
        for _ in range(args.warmup):
            steps[name]()
    for it in range(args.steps):
        for name in ("compute", "step"):          # interleaved, step by step
            comm.Barrier()
            w0 = ddp.stats["wait_s"]
            t0 = time.perf_counter()
            steps[name]()
            res[name].append(time.perf_counter() - t0)
            if name == "step":
                res["wait"].append(ddp.stats["wait_s"] - w0)
        comm.Barrier()
        t0 = time.perf_counter()
        comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)
        res["floor"].append(time.perf_counter() - t0)
    if args.sweep and size == 1:         # the compute-per-step curve of the scaling model
        for lb in [args.batch_size >> k for k in range(5)]:
            xb, yb = X[:lb], y[:lb]
            opt = cr.optim.SGD(plain.parameters(), lr=0.01)

            def one():
                opt.zero_grad()
                loss_fn(plain(xb), yb).backward()
                opt.step()
            ts = []
            for i in range(args.warmup + args.steps):
                t0 = time.perf_counter()
                one()
                ts.append(time.perf_counter() - t0)
            res[f"compute_b{lb}"] = ts[args.warmup:]
    if args.sweep and size > 1:          # the allreduce floor against message size
        for kb in (4, 64, 1024, 4096):
            a = np.zeros(kb * 256, np.float32)
            ts = []
            for i in range(args.steps):
                comm.Barrier()
                t0 = time.perf_counter()
                comm.Allreduce(MPI.IN_PLACE, a, op=MPI.SUM)
                ts.append(time.perf_counter() - t0)
            res[f"floor_{kb}KB"] = ts
    out = {k: _median(v) for k, v in res.items()}
    out.update({f"{k}_min": min(v) for k, v in res.items()})
    out.update(ranks=size, local_batch=b, grad_bytes=nbytes, buckets=len(ddp._buckets))
    if rank == 0:
        with open(args.worker_out, "w") as fh:
            json.dump(out, fh)
    dist.destroy_process_group()


def driver(args):
    from chainrule.distributed import launch
    rows = {n: [] for n in args.ranks}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for n in args.ranks:
                path = os.path.join(tmp, f"r{r}n{n}.json")
                cmd, env = launch.mpiexec_command(n, [
                    sys.executable, os.path.abspath(__file__), "--worker", "--worker-out", path,
                    "--batch-size", str(args.batch_size), "--width", str(args.width),
                    "--steps", str(args.steps), "--warmup", str(args.warmup),
                    "--bucket-mb", str(args.bucket_mb)] + (["--sweep"] if args.sweep else []))
                for v in THREAD_VARS:
                    env[v] = "1"
                p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
                if p.returncode != 0:
                    sys.exit(f"bench_distributed: {n} ranks failed:\n{p.stderr[-2000:]}")
                with open(path) as fh:
                    rows[n].append(json.load(fh))
    table = []
    base = base_min = None
    for n in args.ranks:
        med = {k: _median([x[k] for x in rows[n]]) for k in ("step", "compute", "wait", "floor")}
        med.update({f"{k}_min": min(x[f"{k}_min"] for x in rows[n])
                    for k in ("step", "compute", "wait", "floor")})
        first = rows[n][0]
        if base is None:
            base, base_min = med["step"], med["step_min"]
        table.append({"ranks": n, "local_batch": first["local_batch"],
                      "grad_bytes": first["grad_bytes"], "buckets": first["buckets"], **med,
                      "samples_per_s": args.batch_size / med["step"],
                      "speedup": base / med["step"], "speedup_min": base_min / med["step_min"]})
    print(f"MLP 784-{args.width}-{args.width // 2}-10 float32, global batch {args.batch_size}, "
          f"gradient {table[0]['grad_bytes'] / 1e6:.2f} MB, {args.rounds} rounds x "
          f"{args.steps} steps (medians), BLAS 1 thread per rank, {os.cpu_count()} cores")
    print("median over steps (min over steps in brackets), milliseconds")
    print(f"{'ranks':>5} {'local b':>7} {'step':>15} {'compute':>15} {'ddp wait':>15} "
          f"{'allreduce floor':>15} {'samples/s':>9} {'speedup':>11}")

    def cell(t, k):
        return f"{t[k] * 1e3:.2f} ({t[k + '_min'] * 1e3:.2f})"
    for t in table:
        print(f"{t['ranks']:>5} {t['local_batch']:>7} {cell(t, 'step'):>15} "
              f"{cell(t, 'compute'):>15} {cell(t, 'wait'):>15} {cell(t, 'floor'):>15} "
              f"{t['samples_per_s']:>9.0f} {t['speedup']:>4.2f} ({t['speedup_min']:.2f})")
    extra = sorted({k for x in rows[args.ranks[0]] + rows[args.ranks[-1]] for k in x
                    if k.startswith(("compute_b", "floor_")) and not k.endswith("_min")},
                   key=lambda k: (k[0], int("".join(c for c in k if c.isdigit()))))
    for n in args.ranks:
        for k in extra:
            if k in rows[n][0]:
                print(f"{n} rank(s) {k}: median {_median([x[k] for x in rows[n]]) * 1e3:.3f} ms "
                      f"(min {min(x[k + '_min'] for x in rows[n]) * 1e3:.3f})")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"args": vars(args), "table": table, "raw": rows}, fh, indent=1)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ranks", type=int, nargs="+", default=[1, 2, 4])
    p.add_argument("--batch-size", type=int, default=256, help="global batch")
    p.add_argument("--width", type=int, default=256)
    p.add_argument("--steps", type=int, default=30, help="timed steps per launch")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--bucket-mb", type=float, default=25.0)
    p.add_argument("--sweep", action="store_true",
                   help="also: one-rank step time at B, B/2 ... B/16 and the allreduce floor at "
                        "4 KB ... 4 MB (the inputs of the scaling model)")
    p.add_argument("--json")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--worker-out", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        worker(args)
    else:
        driver(args)


if __name__ == "__main__":
    main()
