#!/usr/bin/env python
"""Data-parallel training over MPI: time per step and allreduce time on 1, 2 and 4 local ranks.

Two models, float32, SGD, a fixed global batch split over the ranks (strong scaling): the MLP of
bench_mlp.py (784 -> 256 -> 128 -> 10) and LeNet-5 (``cr.models.lenet5()``, 28x28 images). For
every model and rank count the driver starts ``mpiexec -n N python bench/bench_distributed.py
--worker``, in rounds that take turns (1, 2, 4, 1, 2, 4, ...), and reports medians over rounds of:

* ``compute``: one training step without DDP on the rank's local batch (no communication);
* ``step``: the same step through DDP (zero_grad, forward, loss, backward with the gradient
  allreduce, SGD step), wall time on rank 0 after a barrier, with overlap on (each bucket's
  ``Iallreduce`` starts during backward, as soon as its gradients are complete) and off
  (``overlap=False``: all buckets start after backward);
* ``wait``: the time DDP spent waiting for the allreduce at the end of backward (includes
  waiting for the slowest rank); with overlap, what was not hidden behind backward;
* ``floor``: a bare blocking ``MPI.Allreduce`` of the same number of gradient bytes;
* ``compute(b)`` (``--sweep``): one-rank step time at local batch b = B/N, the input of the
  scaling model in docs/distributed.md.

Buckets are small by default (``--bucket-mb 0.05``, PyTorch's default is 25 MB, which would put
each of these models in one bucket that can start only when backward is over). The three kinds
of step alternate step by step. BLAS runs one thread per rank (OPENBLAS_NUM_THREADS=1 and
friends) so that ranks do not fight over cores; the 4-rank case oversubscribes a 2-core machine.

    python bench/bench_distributed.py                 # both models, ranks 1 2 4, 3 rounds
    python bench/bench_distributed.py --model cnn --ranks 1 2 --rounds 2 --json out.json
    python bench/bench_distributed.py --model mlp --ranks 1 2 --sweep --rounds 1
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


def _net(cr, model, width):
    cr.manual_seed(0)
    if model == "cnn":
        return cr.models.lenet5()
    return cr.nn.Sequential(cr.nn.Linear(784, width), cr.nn.ReLU(), cr.nn.Linear(width, width // 2),
                            cr.nn.ReLU(), cr.nn.Linear(width // 2, 10))


KINDS = ("compute", "step", "step_after")      # no DDP, DDP overlapping, DDP after backward


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
    shape = (b, 1, 28, 28) if args.model == "cnn" else (b, 784)
    X = cr.tensor(rng.random(shape, dtype=np.float32))
    y = cr.tensor(rng.integers(0, 10, b))
    loss_fn = cr.nn.CrossEntropyLoss()

    def stepper(model, xb=X, yb=y):
        opt = cr.optim.SGD(model.parameters(), lr=0.01)

        def step():
            opt.zero_grad()
            loss_fn(model(xb), yb).backward()
            opt.step()
        return step

    plain = _net(cr, args.model, args.width)
    ddps = {"step": cr.nn.parallel.DistributedDataParallel(
                _net(cr, args.model, args.width), bucket_cap_mb=args.bucket_mb),
            "step_after": cr.nn.parallel.DistributedDataParallel(
                _net(cr, args.model, args.width), bucket_cap_mb=args.bucket_mb, overlap=False)}
    steps = {"compute": stepper(plain), **{k: stepper(m) for k, m in ddps.items()}}
    ddp = ddps["step"]
    nbytes = sum(p.detach().numpy().nbytes for p in ddp.parameters())
    buf = np.zeros(nbytes // 4, np.float32)
    res = {k: [] for k in KINDS + ("wait", "wait_after", "floor")}
    for name in KINDS:
        for _ in range(args.warmup):
            steps[name]()
    for it in range(args.steps):
        for name in KINDS:                        # interleaved, step by step
            comm.Barrier()
            m = ddps.get(name)
            w0 = m.stats["wait_s"] if m is not None else 0.0
            t0 = time.perf_counter()
            steps[name]()
            res[name].append(time.perf_counter() - t0)
            if m is not None:
                res["wait" if name == "step" else "wait_after"].append(m.stats["wait_s"] - w0)
        comm.Barrier()
        t0 = time.perf_counter()
        comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)
        res["floor"].append(time.perf_counter() - t0)
    if args.sweep and size == 1:         # the compute-per-step curve of the scaling model
        for lb in [args.batch_size >> k for k in range(5)]:
            one, ts = stepper(plain, X[:lb], y[:lb]), []
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
    out.update(ranks=size, local_batch=b, grad_bytes=nbytes, buckets=len(ddp._buckets),
               early=ddp.stats["early_starts"] / max(ddp.stats["syncs"], 1))
    if rank == 0:
        with open(args.worker_out, "w") as fh:
            json.dump(out, fh)
    dist.destroy_process_group()


COLS = KINDS + ("wait", "wait_after", "floor")


def _launch(args, model, n, batch, path):
    from chainrule.distributed import launch
    cmd, env = launch.mpiexec_command(n, [
        sys.executable, os.path.abspath(__file__), "--worker", "--worker-out", path,
        "--model", model, "--batch-size", str(batch), "--width", str(args.width),
        "--steps", str(args.steps), "--warmup", str(args.warmup),
        "--bucket-mb", str(args.bucket_mb)] + (["--sweep"] if args.sweep else []))
    for v in THREAD_VARS:
        env[v] = "1"
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    if p.returncode != 0:
        sys.exit(f"bench_distributed: {model} on {n} ranks failed:\n{p.stderr[-2000:]}")
    with open(path) as fh:
        return json.load(fh)


def driver(args):
    batches = {"mlp": args.batch_size, "cnn": args.cnn_batch_size}
    rows = {(m, n): [] for m in args.model for n in args.ranks}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for m in args.model:
                for n in args.ranks:
                    rows[m, n].append(_launch(args, m, n, batches[m],
                                              os.path.join(tmp, f"{m}{r}n{n}.json")))
    tables = {}
    for m in args.model:
        tables[m] = _report(args, m, batches[m], {n: rows[m, n] for n in args.ranks})
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"args": vars(args), "tables": tables,
                       "raw": {f"{m}/{n}": v for (m, n), v in rows.items()}}, fh, indent=1)


def _report(args, model, batch, rows):
    table, base, base_min = [], None, None
    for n in args.ranks:
        med = {k: _median([x[k] for x in rows[n]]) for k in COLS}
        med.update({f"{k}_min": min(x[f"{k}_min"] for x in rows[n]) for k in COLS})
        first = rows[n][0]
        if base is None:
            base, base_min = med["step"], med["step_min"]
        table.append({"ranks": n, "local_batch": first["local_batch"],
                      "grad_bytes": first["grad_bytes"], "buckets": first["buckets"],
                      "early": first["early"], **med,
                      "samples_per_s": batch / med["step"],
                      "speedup": base / med["step"], "speedup_min": base_min / med["step_min"]})
    name = (f"MLP 784-{args.width}-{args.width // 2}-10" if model == "mlp"
            else "LeNet-5 on 28x28")
    t0 = table[0]
    print(f"\n{name} float32, global batch {batch}, gradient {t0['grad_bytes'] / 1e6:.3f} MB in "
          f"{t0['buckets']} buckets ({t0['early']:.0f} start during backward), {args.rounds} "
          f"rounds x {args.steps} steps, BLAS 1 thread per rank, {os.cpu_count()} cores")
    print("median over steps (min over steps in brackets), milliseconds; 'after': overlap off")
    heads = ("compute", "step", "wait", "step after", "wait after", "floor")
    print(f"{'ranks':>5} {'local b':>7} " + " ".join(f"{h:>15}" for h in heads)
          + f" {'samples/s':>9} {'speedup':>11}")

    def cell(t, k):
        return f"{t[k] * 1e3:.2f} ({t[k + '_min'] * 1e3:.2f})"
    for t in table:
        cells = [cell(t, k) for k in ("compute", "step", "wait", "step_after", "wait_after",
                                      "floor")]
        print(f"{t['ranks']:>5} {t['local_batch']:>7} " + " ".join(f"{c:>15}" for c in cells)
              + f" {t['samples_per_s']:>9.0f} {t['speedup']:>4.2f} ({t['speedup_min']:.2f})")
    extra = sorted({k for n in args.ranks for x in rows[n] for k in x
                    if k.startswith(("compute_b", "floor_")) and not k.endswith("_min")},
                   key=lambda k: (k[0], int("".join(c for c in k if c.isdigit()))))
    for n in args.ranks:
        for k in extra:
            if k in rows[n][0]:
                print(f"{n} rank(s) {k}: median {_median([x[k] for x in rows[n]]) * 1e3:.3f} ms "
                      f"(min {min(x[k + '_min'] for x in rows[n]) * 1e3:.3f})")
    return table


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", nargs="+", choices=("mlp", "cnn"), default=["mlp", "cnn"])
    p.add_argument("--ranks", type=int, nargs="+", default=[1, 2, 4])
    p.add_argument("--batch-size", type=int, default=256, help="global batch of the MLP")
    p.add_argument("--cnn-batch-size", type=int, default=64, help="global batch of LeNet-5")
    p.add_argument("--width", type=int, default=256, help="the MLP's first hidden width")
    p.add_argument("--steps", type=int, default=20, help="timed steps per launch")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--bucket-mb", type=float, default=0.05)
    p.add_argument("--sweep", action="store_true",
                   help="also: one-rank step time at B, B/2 ... B/16 and the allreduce floor at "
                        "4 KB ... 4 MB (the inputs of the scaling model)")
    p.add_argument("--json")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--worker-out", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        args.model = args.model[0]
        worker(args)
    else:
        driver(args)


if __name__ == "__main__":
    main()
