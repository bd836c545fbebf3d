"""Run by tests/test_distributed.py under ``mpirun -n 2``: ``python distributed_worker.py SCENARIO OUT``.

Each rank writes what it saw to ``OUT/rank<r>.npz``; the test compares the ranks with each other
and with a single process (``reference_train`` below, run by the test itself).
"""
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.getcwd())          # the worktree's chainrule, as in the test process
import chainrule as cr                   # noqa: E402
import chainrule.distributed as dist     # noqa: E402

STEPS, GLOBAL_BATCH, N_IN, N_OUT = 12, 8, 5, 3


class Net(cr.nn.Module):
    """A small MLP with a buffer (broadcast from rank 0 at wrap time) and a weight used as
    ``h @ w.T``, whose gradient (the transpose of a product) is not C-contiguous."""

    def __init__(self, seed):
        super().__init__()
        cr.manual_seed(seed)
        self.body = cr.nn.Sequential(cr.nn.Linear(N_IN, 7), cr.nn.Tanh(), cr.nn.Linear(7, 6))
        self.w = cr.nn.Parameter(cr.randn(N_OUT, 6) * 0.3)
        self.register_buffer("scale", cr.tensor(np.full(N_OUT, 1.0 + seed, np.float64)))
        self.double()

    def forward(self, x):
        return (self.body(x) @ self.w.T) * self.scale


def data():
    rng = np.random.default_rng(7)
    X = rng.standard_normal((STEPS * GLOBAL_BATCH, N_IN))
    y = rng.integers(0, N_OUT, STEPS * GLOBAL_BATCH)
    return X, y


def make_opt(kind, params):
    if kind.startswith("sgd"):
        return cr.optim.SGD(params, lr=0.1, momentum=0.9)
    return cr.optim.Adam(params, lr=0.01)


def train(model, kind, rank=0, size=1):
    """STEPS steps of one global batch each; this rank takes rows rank::size of every batch."""
    X, y = data()
    opt = make_opt(kind, model.parameters())
    loss_fn = cr.nn.CrossEntropyLoss()
    for s in range(STEPS):
        sl = slice(s * GLOBAL_BATCH, (s + 1) * GLOBAL_BATCH)
        xb, yb = X[sl][rank::size], y[sl][rank::size]
        opt.zero_grad()
        loss_fn(model(cr.tensor(xb)), cr.tensor(yb)).backward()
        opt.step()
    return model


def reference_train(kind):
    """One process, the same global batches, rank 0's initial weights."""
    return {n: p.detach().numpy().copy() for n, p in train(Net(0), kind).named_parameters()}


def scenario_main(rank, size, out):
    res = {}
    for kind in ("sgd", "adam", "sgd-after-backward"):
        ddp = cr.nn.parallel.DistributedDataParallel(Net(rank), bucket_cap_mb=1e-4,
                                                     overlap=kind != "sgd-after-backward")
        res[f"{kind}_buckets"] = np.array(len(ddp._buckets))
        train(ddp, kind, rank, size)
        res[f"{kind}_early_starts"] = np.array(ddp.stats["early_starts"])
        for n, p in ddp.module.named_parameters():
            res[f"{kind}/{n}"] = p.detach().numpy().copy()
        res[f"{kind}/scale"] = ddp.module.scale.numpy().copy()
        res[f"{kind}_grad_c_contiguous"] = np.array(
            [p.grad.numpy().flags.c_contiguous for p in ddp.parameters()])
    # no_sync: two local micro-batches accumulated, the third averaged; each scaled by 1/3
    X, y = data()
    ddp = cr.nn.parallel.DistributedDataParallel(Net(0))
    loss_fn = cr.nn.CrossEntropyLoss()
    for k in range(3):
        sl = slice(k * GLOBAL_BATCH, (k + 1) * GLOBAL_BATCH)
        xb, yb = cr.tensor(X[sl][rank::size]), cr.tensor(y[sl][rank::size])
        if k < 2:
            with ddp.no_sync():
                (loss_fn(ddp(xb), yb) / 3).backward()
            res[f"nosync_local{k}"] = ddp.module.body[0].weight.grad.numpy().copy()
        else:
            (loss_fn(ddp(xb), yb) / 3).backward()
    for n, p in ddp.module.named_parameters():
        res[f"nosync/{n}"] = p.grad.numpy().copy()
    # the sampler, for two epochs, with and without padding
    for n in (10, 11):
        for drop in (False, True):
            s = cr.utils.data.distributed.DistributedSampler(range(n), drop_last=drop, seed=3)
            for epoch in (0, 1):
                s.set_epoch(epoch)
                res[f"sampler_{n}_{int(drop)}_{epoch}"] = np.array(list(s), dtype=np.int64)
    # the collectives
    for dt in (np.float32, np.float64):
        base = np.arange(6, dtype=dt).reshape(2, 3) + rank + 1
        for op in ("SUM", "AVG", "MAX", "MIN", "PRODUCT"):
            t = cr.tensor(base.copy())
            dist.all_reduce(t, op=getattr(dist.ReduceOp, op))
            res[f"allreduce_{op}_{np.dtype(dt).name}"] = t.numpy()
        t = cr.tensor(base.copy().T)                     # a non-contiguous view
        dist.all_reduce(t)
        res[f"allreduce_T_{np.dtype(dt).name}"] = t.numpy()
    t = cr.tensor(np.full(4, float(rank)))
    w = dist.all_reduce(t, async_op=True)
    w.wait()
    res["async"] = t.numpy()
    t = cr.tensor(np.full(3, 10.0 * rank))
    dist.broadcast(t, src=1)
    res["broadcast"] = t.numpy()
    outs = [cr.zeros(2, dtype=cr.float64) for _ in range(size)]
    dist.all_gather(outs, cr.tensor(np.array([rank, rank * 2.0])))
    res["all_gather"] = np.stack([o.numpy() for o in outs])
    o = cr.zeros(2, dtype=cr.float64)
    dist.reduce_scatter(o, [cr.tensor(np.array([r, 100.0 + rank])) for r in range(size)])
    res["reduce_scatter"] = o.numpy()
    dist.barrier()
    # chainrule train's epoch logs: averaged over ranks, time from the slowest rank
    from chainrule.distributed.launch import _MeanLogs
    logs = {"loss": 1.0 + rank, "accuracy": 0.5 * rank, "lr": 0.1 * (rank + 1), "time": 2.0 + rank}
    _MeanLogs().on_epoch_end(0, logs)
    res["mean_logs"] = np.array([logs["loss"], logs["accuracy"], logs["lr"], logs["time"]])
    return res


def scenario_mismatch(rank, size, out):
    model = cr.nn.Linear(3, 4 if rank == 0 else 5)
    try:
        cr.nn.parallel.DistributedDataParallel(model)
    except dist.DistributedError as exc:
        return {"error": np.array(str(exc))}
    return {"error": np.array("")}


def scenario_dead(rank, size, out):
    if rank == 1:
        os._exit(3)            # dies without a word, as a killed process would
    dist.all_reduce(cr.ones(3))
    return {}


def scenario_raises(rank, size, out):
    if rank == 1:
        raise ValueError("rank 1 broke")     # uncaught: the excepthook aborts every rank
    dist.all_reduce(cr.ones(3))
    return {}


def scenario_stuck(rank, size, out):
    if rank == 1:
        time.sleep(60)         # alive but never joins the collective
    dist.all_reduce(cr.ones(3))
    return {}


if __name__ == "__main__":
    scenario, out = sys.argv[1], sys.argv[2]
    timeout = float(sys.argv[3]) if len(sys.argv) > 3 else 60
    dist.init_process_group("mpi", timeout=timeout)
    r, n = dist.get_rank(), dist.get_world_size()
    result = globals()[f"scenario_{scenario}"](r, n, out)
    np.savez(os.path.join(out, f"rank{r}.npz"), **result)
    dist.destroy_process_group()
