"""chainrule.distributed: collectives, DistributedDataParallel, DistributedSampler, train --nproc.

The multi-process tests start ``mpirun -n 2`` on tests/distributed_worker.py (skipped when mpi4py
or the launcher is missing; .ci/run installs Open MPI). The single-process tests run in this
process with MPI's singleton world of one rank.
"""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import chainrule as cr
from chainrule.utils.data.distributed import DistributedSampler

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import distributed_worker as W  # noqa: E402


def _mpirun(args, timeout=120):
    pytest.importorskip("mpi4py")
    from chainrule.distributed import launch
    try:
        cmd, env = launch.mpiexec_command(2, args)
    except RuntimeError as exc:
        pytest.skip(str(exc))
    return subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def _worker(scenario, tmp_path, timeout=60):
    r = _mpirun([sys.executable, os.path.join(HERE, "distributed_worker.py"), scenario,
                 str(tmp_path), str(timeout)])
    return r


@pytest.fixture(scope="module")
def main_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    r = _worker("main", out)
    assert r.returncode == 0, r.stderr[-3000:]
    return [dict(np.load(out / f"rank{k}.npz")) for k in range(2)]


# -- two ranks ----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["sgd", "adam", "sgd-after-backward"])
def test_ddp_matches_one_process_on_the_global_batches(main_run, kind):
    a, b = main_run
    ref = W.reference_train(kind)
    assert a[f"{kind}_buckets"] == 5                     # a tiny bucket cap: one per parameter
    # with overlap, 2 of the 5 buckets start while backward still has gradients to compute:
    # reverse registration order puts `w` (registered first, its gradient ready first) last,
    # and buckets start in order, so body.0's two wait for it at the end
    early = 0 if kind == "sgd-after-backward" else 2 * W.STEPS
    assert a[f"{kind}_early_starts"] == b[f"{kind}_early_starts"] == early
    assert not a[f"{kind}_grad_c_contiguous"].all()      # a transposed .grad was written
    for name, want in ref.items():
        k = f"{kind}/{name}"
        np.testing.assert_array_equal(a[k], b[k])        # every rank holds the same weights
        assert a[k].dtype == np.float64
        np.testing.assert_allclose(a[k], want, rtol=0, atol=1e-12)
        assert np.abs(want - W.Net(0).state_dict()[name].numpy()).max() > 1e-3   # it trained
    np.testing.assert_array_equal(a[f"{kind}/scale"], np.ones(W.N_OUT))   # rank 0's buffer
    np.testing.assert_array_equal(b[f"{kind}/scale"], np.ones(W.N_OUT))


def test_no_sync_accumulation_equals_the_larger_batch(main_run):
    a, b = main_run
    X, y = W.data()
    m = W.Net(0)
    xb, yb = cr.tensor(X[:3 * W.GLOBAL_BATCH]), cr.tensor(y[:3 * W.GLOBAL_BATCH])
    cr.nn.CrossEntropyLoss()(m(xb), yb).backward()
    for n, p in m.named_parameters():
        np.testing.assert_array_equal(a[f"nosync/{n}"], b[f"nosync/{n}"])
        np.testing.assert_allclose(a[f"nosync/{n}"], p.grad.numpy(), rtol=0, atol=1e-14)
    # inside no_sync the ranks' gradients were their own (they differ)
    assert np.abs(a["nosync_local1"] - b["nosync_local1"]).max() > 1e-6


@pytest.mark.parametrize("n,drop", [(10, 0), (11, 0), (11, 1)])
def test_distributed_sampler_covers_every_sample_once_per_epoch(main_run, n, drop):
    a, b = main_run
    for epoch in (0, 1):
        s0, s1 = a[f"sampler_{n}_{drop}_{epoch}"], b[f"sampler_{n}_{drop}_{epoch}"]
        assert len(s0) == len(s1) == (n // 2 if drop else -(-n // 2))
        both = np.concatenate([s0, s1])
        if drop:
            assert len(set(both.tolist())) == len(both) == n - 1
        else:
            assert set(both.tolist()) == set(range(n))
            assert len(both) - len(set(both.tolist())) == (-n) % 2     # the padding repeats
    assert not np.array_equal(a[f"sampler_{n}_{drop}_0"], a[f"sampler_{n}_{drop}_1"])


def test_collectives(main_run):
    a, b = main_run
    for dt in ("float32", "float64"):
        x0 = np.arange(6, dtype=dt).reshape(2, 3) + 1
        x1 = x0 + 1
        want = {"SUM": x0 + x1, "AVG": (x0 + x1) / 2, "MAX": x1, "MIN": x0, "PRODUCT": x0 * x1}
        for op, w in want.items():
            for res in (a, b):
                got = res[f"allreduce_{op}_{dt}"]
                assert got.dtype == dt
                np.testing.assert_array_equal(got, w.astype(dt))
        np.testing.assert_array_equal(a[f"allreduce_T_{dt}"], (x0 + x1).T)
    for res in (a, b):
        np.testing.assert_array_equal(res["async"], np.ones(4))
        np.testing.assert_array_equal(res["broadcast"], np.full(3, 10.0))
        np.testing.assert_array_equal(res["all_gather"], [[0, 0], [1, 2]])
    np.testing.assert_array_equal(a["mean_logs"], [1.5, 0.25, 0.1, 3.0])   # lr: rank's own
    np.testing.assert_array_equal(b["mean_logs"][[0, 1, 3]], [1.5, 0.25, 3.0])
    np.testing.assert_array_equal(a["reduce_scatter"], [0, 201])
    np.testing.assert_array_equal(b["reduce_scatter"], [2, 201])


def test_ranks_with_different_models_both_get_a_clear_error(tmp_path):
    r = _worker("mismatch", tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    for k in range(2):
        msg = str(np.load(tmp_path / f"rank{k}.npz")["error"])
        assert "models differ" in msg and "'weight'" in msg
        assert "(4, 3)" in msg and "(5, 3)" in msg and "rank 1" in msg


def test_a_dead_rank_stops_the_job(tmp_path):
    r = _worker("dead", tmp_path, timeout=5)
    assert r.returncode != 0
    assert not (tmp_path / "rank0.npz").exists()


def test_an_exception_on_one_rank_aborts_all(tmp_path):
    r = _worker("raises", tmp_path, timeout=60)       # stops by MPI_Abort, not by the timeout
    assert r.returncode != 0
    assert "ValueError: rank 1 broke" in r.stderr and "rank 1 failed; aborting all 2" in r.stderr
    assert not (tmp_path / "rank0.npz").exists()


def test_a_stuck_rank_stops_the_others_with_a_message(tmp_path):
    r = _worker("stuck", tmp_path, timeout=2)
    assert r.returncode != 0
    assert "all_reduce on rank 0 of 2 did not complete within 2 s" in r.stderr
    assert "aborting all 2 ranks" in r.stderr


def test_chainrule_train_nproc_2(tmp_path, capsys):
    pytest.importorskip("mpi4py")
    from chainrule.distributed import launch
    try:
        launch.mpiexec_command(2, [])
    except RuntimeError as exc:
        pytest.skip(str(exc))
    out = tmp_path / "run"
    r = subprocess.run([sys.executable, "-m", "chainrule", "train", "--nproc", "2", "--epochs",
                        "2", "--hidden", "16", "--dataset", "blobs", "--samples", "200", "--out", str(out), "--quiet"], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.count("test accuracy") == 1                  # rank 0 speaks for the run
    cfg = json.loads((out / "config.json").read_text())
    metrics = json.loads((out / "metrics.json").read_text())
    assert cfg["options"]["nproc"] == 2
    loss = metrics["history"]["loss"]
    assert len(loss) == 2 and loss[1] < loss[0] and 0 <= metrics["test"]["accuracy"] <= 1
    from chainrule import cli
    assert cli.main(["train", "--nproc", "3", "--out", str(tmp_path / "bad")]) == 1
    err = capsys.readouterr().err
    assert "divisible by the number of processes (3)" in err and "Traceback" not in err


def _needs_mpirun():
    pytest.importorskip("mpi4py")
    from chainrule.distributed import launch
    try:
        launch.mpiexec_command(2, [])
    except RuntimeError as exc:
        pytest.skip(str(exc))


def _train(argv):
    """``chainrule`` in its own session (so that a kill reaches mpiexec and every rank)."""
    return subprocess.Popen([sys.executable, "-m", "chainrule", *argv], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _mtime(path):
    try:
        return os.stat(path).st_mtime_ns
    except FileNotFoundError:
        return None


KILL_ARGS = ["train", "--nproc", "2", "--dataset", "blobs", "--samples", "2000", "--epochs", "3",
             "--batch-size", "16", "--hidden", "16", "--checkpoint-every", "7", "--quiet"]


def test_killed_distributed_run_resumes_to_the_same_weights(tmp_path):
    """Two ranks, a checkpoint every 7 steps (inside epochs): SIGKILL to the whole job right
    after a checkpoint, twice, then ``--resume`` to the end; the weights (float32) equal an
    uninterrupted two-rank run's exactly, and so do the loss and accuracy of every epoch."""
    _needs_mpirun()
    ref = tmp_path / "ref"
    p = _train(KILL_ARGS + ["--out", str(ref)])
    _, err = p.communicate(timeout=300)
    assert p.returncode == 0, err[-3000:]
    run = tmp_path / "run"
    ckpt = run / "checkpoint.npz"
    kills = []
    for i in range(2):
        argv = KILL_ARGS + ["--out", str(run)] if i == 0 else ["train", "--resume", str(run),
                                                               "--quiet"]
        before, t0 = _mtime(ckpt), time.monotonic()
        p = _train(argv)
        while p.poll() is None and _mtime(ckpt) in (before, None) and time.monotonic() - t0 < 120:
            time.sleep(0.005)
        assert p.poll() is None, p.communicate()[1][-3000:]       # killed while training
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate(timeout=60)
        state = cr.load(ckpt)
        kills.append((int(state["epoch"]), int(state["step"])))
        assert not (run / "model.npz").exists()
    print("kills (checkpoint epoch, step):", kills)
    assert any(step for _, step in kills), kills          # at least one inside an epoch
    p = _train(["train", "--resume", str(run), "--quiet"])
    out, err = p.communicate(timeout=300)
    assert p.returncode == 0, err[-3000:]
    assert out.count("test accuracy") == 1 and not ckpt.exists()
    a, b = cr.load(ref / "model.npz"), cr.load(run / "model.npz")
    assert list(a["state_dict"]) == list(b["state_dict"])
    for k, t in a["state_dict"].items():
        assert t.dtype == cr.float32
        np.testing.assert_array_equal(b["state_dict"][k].numpy(), t.numpy())
    ha = json.loads((ref / "metrics.json").read_text())["history"]
    hb = json.loads((run / "metrics.json").read_text())["history"]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "lr"):
        assert ha[key] == hb[key], key
    rows = (run / "history.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["0", "1", "2"]          # each epoch once
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["options"]["nproc"] == 2


def test_resume_refuses_another_number_of_processes(tmp_path, capsys):
    from chainrule import cli
    run = tmp_path / "run"
    run.mkdir()
    from chainrule import runs
    cfg = {"format": runs.RUN_FORMAT, "loss": "cross_entropy", "dataset": "blobs",
           "model": {"type": "mlp", "sizes": [2, 4, 3], "activation": "relu"},
           "n_features": 2, "n_classes": 3, "options": {"nproc": 2}}
    (run / "config.json").write_text(json.dumps(cfg))
    assert cli.main(["train", "--resume", str(run), "--nproc", "3"]) == 1
    err = capsys.readouterr().err
    assert "trained on 2 process(es), not 3" in err and "Traceback" not in err


# -- one process ---------------------------------------------------------------------------------
@pytest.fixture
def world_of_one():
    pytest.importorskip("mpi4py")
    import chainrule.distributed as dist
    dist.init_process_group("mpi", timeout=30)
    yield dist
    dist.destroy_process_group()


def test_single_rank_group_and_errors(world_of_one):
    dist = world_of_one
    assert dist.is_initialized() and dist.get_rank() == 0 and dist.get_world_size() == 1
    with pytest.raises(RuntimeError, match="twice"):
        dist.init_process_group("mpi")
    t = cr.tensor([1.0, 2.0])
    dist.all_reduce(t, op=dist.ReduceOp.AVG)
    assert t.dtype == cr.float32 and t.tolist() == [1.0, 2.0]
    with pytest.raises(TypeError, match="ReduceOp.AVG needs a floating tensor"):
        dist.all_reduce(cr.tensor([1, 2]), op=dist.ReduceOp.AVG)
    with pytest.raises(ValueError, match="op 'mean' is not one of"):
        dist.all_reduce(t, op="mean")
    with pytest.raises(TypeError, match="dtype float16"):
        dist.all_reduce(cr.tensor(np.ones(2, np.float16)))
    with pytest.raises(TypeError, match="must be a chainrule Tensor"):
        dist.all_reduce(np.ones(2))
    with pytest.raises(ValueError, match="src must be a rank in"):
        dist.broadcast(t, src=1)
    with pytest.raises(ValueError, match="one per rank"):
        dist.all_gather([t, t], t)
    model = cr.nn.parallel.DistributedDataParallel(cr.nn.Linear(3, 2))
    with pytest.raises(ValueError, match="already wrapped"):
        cr.nn.parallel.DistributedDataParallel(model.module)
    with pytest.raises(ValueError, match="bucket_cap_mb must be a positive"):
        cr.nn.parallel.DistributedDataParallel(cr.nn.Linear(3, 2), bucket_cap_mb=0)
    assert list(model.state_dict()) == ["module.weight", "module.bias"]


def test_ddp_on_one_rank_gives_the_plain_gradients(world_of_one):
    class Mixed(cr.nn.Module):                        # two dtypes: two buckets
        def __init__(self):
            super().__init__()
            self.a, self.b = cr.nn.Linear(4, 3), cr.nn.Linear(3, 2).double()

        def forward(self, x):
            return self.b(self.a(x).tanh().double())

    def net():
        cr.manual_seed(1)
        return Mixed()
    x = cr.randn(5, 4, generator=cr.Generator().manual_seed(2))

    def run(model, inner):
        for _ in range(2):                            # the second backward accumulates
            model(x).sum().backward()
        return [p.grad.numpy() for p in inner.parameters()]
    ref_model, inner = net(), net()
    want = run(ref_model, ref_model)
    ddp = cr.nn.parallel.DistributedDataParallel(inner)
    got = run(ddp, inner)
    assert len(ddp._buckets) == 2 and ddp.stats["syncs"] == 2
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.strides == w.strides      # layout kept
        np.testing.assert_array_equal(g, w)


def test_ddp_reports_parameters_without_gradient(world_of_one):
    net = cr.nn.Sequential(cr.nn.Linear(3, 2), cr.nn.Linear(2, 2))
    model = cr.nn.parallel.DistributedDataParallel(net)
    x = cr.ones(4, 3)
    net[0](x).sum().backward()                 # the second layer gets no gradient
    with pytest.raises(cr.distributed.DistributedError, match="only 2 of the 4 parameters"):
        model(x)


def test_errors_without_a_process_group():
    import chainrule.distributed as dist
    assert not dist.is_initialized()
    with pytest.raises(ValueError, match="has not been initialized"):
        dist.get_rank()
    with pytest.raises(ValueError, match="has not been initialized"):
        cr.nn.parallel.DistributedDataParallel(cr.nn.Linear(2, 2))
    with pytest.raises(RuntimeError, match="pass num_replicas and rank"):
        DistributedSampler(range(4))
    with pytest.raises(ValueError, match="backend 'nccl' is not available"):
        dist.init_process_group("nccl")


def test_missing_mpi4py_says_what_to_install(monkeypatch):
    import chainrule.distributed as dist
    monkeypatch.setitem(sys.modules, "mpi4py", None)      # import mpi4py now fails
    assert not dist.is_available()
    with pytest.raises(ImportError, match=r"openmpi-bin.*pip install 'chainrule\[mpi\]'"):
        dist.init_process_group("mpi")


def test_distributed_sampler_matches_pytorch_without_shuffle():
    tud = pytest.importorskip("torch.utils.data")
    for n, reps, drop in [(10, 3, False), (10, 3, True), (2, 5, False), (7, 2, False)]:
        for rank in range(reps):
            ours = DistributedSampler(range(n), num_replicas=reps, rank=rank, shuffle=False,
                                      drop_last=drop)
            theirs = tud.DistributedSampler(range(n), num_replicas=reps, rank=rank,
                                            shuffle=False, drop_last=drop)
            assert list(ours) == list(theirs) and len(ours) == len(theirs)
    with pytest.raises(ValueError, match=r"Invalid rank 2, rank should be in the interval \[0, 1\]"):
        DistributedSampler(range(4), num_replicas=2, rank=2)
    s = DistributedSampler(range(9), num_replicas=3, rank=1, seed=5)
    s.set_epoch(4)
    again = DistributedSampler(range(9), num_replicas=3, rank=1, seed=5)
    again.set_epoch(4)
    assert list(s) == list(again)
