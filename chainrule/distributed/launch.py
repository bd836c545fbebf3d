"""Starting ranks through the MPI launcher, and ``chainrule train`` as a data-parallel run.

``chainrule train --nproc N ...`` calls :func:`train`, which starts
``mpiexec -n N python -m chainrule.distributed.launch SPEC`` (SPEC: the parsed options as JSON
and the command's function); ``mpirun -n N chainrule train ...`` gets to the same place by
itself. On every rank the training command then runs unchanged except for :func:`fit`, which
the run puts in place of ``chainrule.train.fit`` while it lasts:

* the model is wrapped in :class:`DistributedDataParallel`;
* the training set is read through a :class:`DistributedSampler` (seeded like the
  single-process order); ``--batch-size`` stays the global batch, each rank taking
  ``batch_size / N`` of it, so ``--nproc`` changes the speed, not the optimization;
* the epoch's logs (loss, metrics) are averaged over the ranks before the progress line, the
  history and early stopping see them, so every rank stops at the same epoch;
* rank 0 writes the run folder; the other ranks write into a temporary folder that is removed;
* checkpoints (``--checkpoint-every``, epoch ends) are rank 0's training state, which is every
  rank's but for the running sums of an unfinished epoch: those of every rank are gathered into
  it. ``--resume`` starts the run's own number of ranks; each loads the checkpoint (ranks other
  than 0 from a copy of the run folder in their temporary one) and takes its own running sums.
  The data order needs nothing more: the sampler's permutation is a function of the seed and the
  epoch, and the random generators are the same on every rank (the same seed, the same draws).
  SIGINT and SIGTERM stop the ranks without a checkpoint of their own (every rank would have to
  agree on the step to save at); a resume continues from the last one.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile

from ..train.callbacks import Callback
from ..train.state import _Run, _SignalGuard
from ._mpi import INSTALL_HINT, mpi, wait

__all__ = ["world_size_from_env", "mpiexec_command", "launch", "wanted", "train", "fit"]

_ACTIVE = {"run": False, "fit_called": False}    # this process is a rank of a distributed run


def world_size_from_env():
    """The world size that an MPI launcher set in the environment, or ``None`` outside one."""
    for var in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS"):
        v = os.environ.get(var)
        if v and v.isdigit():
            return int(v)
    return None


def mpiexec_command(n, argv):
    """``(command, env)`` to run ``argv`` on ``n`` local ranks with the MPI launcher on PATH.

    Open MPI gets ``--oversubscribe`` (more ranks than cores is allowed, as on a laptop) and, for
    root, its run-as-root permission.
    """
    exe = shutil.which("mpiexec") or shutil.which("mpirun")
    if exe is None:
        raise RuntimeError(f"mpiexec not found on PATH: {INSTALL_HINT}")
    try:
        version = subprocess.run([exe, "--version"], capture_output=True, text=True,
                                 timeout=30).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise RuntimeError(f"{exe} --version failed ({exc}): is MPI installed correctly?") \
            from None
    cmd, env = [exe, "-n", str(int(n))], dict(os.environ)
    if "Open MPI" in version or "OpenRTE" in version:
        cmd.append("--oversubscribe")
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            env.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
            env.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    return cmd + list(argv), env


def launch(n, argv):
    """Run ``argv`` on ``n`` ranks; returns the launcher's exit status."""
    cmd, env = mpiexec_command(n, argv)
    return subprocess.run(cmd, env=env).returncode


def wanted(args):
    """Whether the training command should go through :func:`train`: ``--nproc`` above 1, or
    started by an MPI launcher with 2 ranks or more (and not already inside such a run)."""
    if _ACTIVE["run"]:
        return False
    return getattr(args, "nproc", 1) > 1 or (world_size_from_env() or 1) > 1


def train(args, run):
    """Run ``run(args)`` (the training command) data-parallel; returns the exit status."""
    size = world_size_from_env()
    n = size or args.nproc
    if args.batch_size % n:
        raise ValueError(f"--batch-size {args.batch_size} must be divisible by the number of "
                         f"processes ({n}): each rank takes an equal share of every batch")
    if size is None:                      # not started by MPI: start the ranks
        options = {k: v for k, v in vars(args).items() if k != "func"}
        spec = json.dumps({"entry": f"{run.__module__}:{run.__qualname__}", "args": options})
        return launch(args.nproc, [sys.executable, "-m", "chainrule.distributed.launch", spec])
    if getattr(args, "nproc", 1) not in (1, size):
        raise ValueError(f"--nproc {args.nproc} but the MPI launcher started {size} ranks; "
                         "leave --nproc out under mpirun")
    from . import process_group as pg
    from .process_group import abort
    if not pg.is_initialized():
        pg.init_process_group("mpi")
    rank = pg.get_rank()
    args.nproc = size
    tmp = None
    if rank != 0:
        _remove_stale_rank_folders()
        tmp = tempfile.mkdtemp(prefix=f"chainrule-rank{rank}-{os.getpid()}-")
        if getattr(args, "resume", None):    # read the checkpoint, write nothing into the run
            shutil.copytree(args.resume, tmp, dirs_exist_ok=True)
            args.resume = tmp                # (the resumed run writes where it resumes from)
        else:
            args.out = tmp
        args.quiet, args.plots = True, False
    try:
        with _data_parallel(), _silent(rank != 0):
            code = run(args)
        if not _ACTIVE["fit_called"]:
            raise RuntimeError("the training command did not call chainrule.train.fit, so it "
                               "did not train data-parallel (internal error)")
        return code
    except (OSError, ValueError, RuntimeError, KeyError, ImportError) as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"chainrule: error: rank {rank} of {size}: {msg}", file=sys.stderr)
        abort(1)                          # the other ranks may be waiting in a collective
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def _remove_stale_rank_folders():
    """The temporary folders of ranks that were killed (their process is gone)."""
    import glob
    for d in glob.glob(os.path.join(tempfile.gettempdir(), "chainrule-rank*-*-*")):
        pid = os.path.basename(d).split("-")[2]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(d, ignore_errors=True)
        except OSError:
            pass                                 # alive, or someone else's


@contextlib.contextmanager
def _silent(yes):
    """Rank 0 speaks for the run: the others' standard output goes nowhere (errors still show)."""
    if not yes:
        yield
        return
    with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
        yield


@contextlib.contextmanager
def _data_parallel():
    from .. import train as T
    from ..train import loop
    real, real_run = T.fit, loop._Run
    _ACTIVE.update(run=True, fit_called=False)
    T.fit = lambda *a, **k: fit(real, *a, **k)
    loop._Run = _RankRun
    try:
        yield
    finally:
        T.fit, loop._Run = real, real_run
        _ACTIVE["run"] = False


def fit(real_fit, model, loss_fn, optimizer, train_data, epochs=1, val_data=None,
        scheduler=None, callbacks=(), metrics=("accuracy",), batch_size=32, shuffle=True,
        verbose=1, generator=None, **checkpointing):
    """``real_fit`` with the model in DDP, the data sharded and the epoch logs averaged;
    ``checkpointing`` (``checkpoint=``, ``checkpoint_every=``, ``resume=``, ...) passes through."""
    from ..tensor import Tensor
    from ..train.progress import ProgressBar
    from ..utils.data import DataLoader, Dataset, TensorDataset
    from ..utils.data.distributed import DistributedSampler
    from .ddp import DistributedDataParallel
    from .process_group import get_world_size
    _ACTIVE["fit_called"] = True
    size = get_world_size()
    if isinstance(train_data, DataLoader):
        batch_size, train_data = train_data.batch_size, train_data.dataset
    if not isinstance(train_data, Dataset):
        dtype = next(iter(model.parameters())).dtype
        train_data = TensorDataset(*[a if isinstance(a, Tensor) else Tensor(
            a.astype(dtype) if a.dtype.kind == "f" else a) for a in train_data])
    seed = generator.initial_seed() if generator is not None else 0
    sampler = DistributedSampler(train_data, shuffle=shuffle, seed=seed)
    loader = DataLoader(train_data, batch_size=batch_size // size, sampler=sampler)
    # the same callbacks on every rank and whether quiet or not (a checkpoint lists them); the
    # progress bar after _MeanLogs, so that it prints the averages
    cbs = [_Shards(sampler), _MeanLogs(), _RankState(), ProgressBar(verbose)]
    return real_fit(DistributedDataParallel(model), loss_fn, optimizer, loader, epochs=epochs,
                    val_data=val_data, scheduler=scheduler, callbacks=cbs + list(callbacks),
                    metrics=metrics, verbose=verbose, generator=generator,
                    **dict(checkpointing, compile=False))   # DDP's gradient hooks: eager


class _Shards(Callback):
    """A new permutation of the shards every epoch (``DistributedSampler.set_epoch``)."""

    def __init__(self, sampler):
        self.sampler = sampler

    def on_epoch_begin(self, epoch, logs=None):
        self.sampler.set_epoch(epoch)


class _RankState(Callback):
    """The part of a checkpoint that differs between ranks: the world size it was written with,
    and, inside an epoch, every rank's running sums (gathered on rank 0, which writes)."""

    def __init__(self):
        self.parts = self.loaded = None

    def state_dict(self):
        from .process_group import get_world_size
        st = {"world_size": get_world_size()}
        if self.parts is not None:
            st["partials"] = self.parts
        return st

    def load_state_dict(self, state):
        from .process_group import get_world_size
        size, theirs = get_world_size(), state.get("world_size")
        if theirs != size:
            raise ValueError(f"resume: the checkpoint was written by {theirs} processes and this "
                             f"run has {size}: resume it with --nproc {theirs}")
        self.loaded = state.get("partials")

    def gather(self, partial):
        """Every rank's ``partial`` on rank 0 (a list), ``None`` on the others."""
        from .process_group import _g
        g = _g("checkpoint")
        data = pickle.dumps(partial, protocol=pickle.HIGHEST_PROTOCOL)  # not the gradient path
        import numpy as np
        sizes = np.zeros(g.size, np.int64)
        wait(g.comm.Iallgather(np.array([len(data)], np.int64), sizes), g.timeout,
             "checkpoint gather", g.rank, g.size)
        out = np.empty(int(sizes.sum()) if g.rank == 0 else 0, np.uint8)
        MPI = mpi()
        recv = [out, (sizes, np.concatenate([[0], np.cumsum(sizes)[:-1]])), MPI.BYTE] \
            if g.rank == 0 else None
        wait(g.comm.Igatherv(np.frombuffer(data, np.uint8), recv, root=0), g.timeout,
             "checkpoint gather", g.rank, g.size)
        if g.rank == 0:
            offs = np.concatenate([[0], np.cumsum(sizes)])
            self.parts = [pickle.loads(out[offs[r]:offs[r + 1]].tobytes())
                          for r in range(g.size)]

    def own(self, rank):
        if not self.loaded or len(self.loaded) <= rank:
            raise ValueError("resume: the checkpoint was taken inside an epoch but holds no "
                             f"running sums for rank {rank} (not written by a distributed run?)")
        return self.loaded[rank]


class _RankRun(_Run):
    """``fit``'s run state on a rank (put in place of ``chainrule.train.loop._Run`` for the
    run): rank 0's checkpoint carries every rank's running sums, a resume takes this rank's, and
    signals do not save (see the module's docstring)."""

    def __init__(self, model, optimizer, cbs, loader, generator, path, extra):
        super().__init__(model, optimizer, cbs, loader, generator, path, extra)
        self.guard = _SignalGuard(False)
        self.ranks = next(cb for cb in cbs if isinstance(cb, _RankState))

    def restore(self, resume):
        super().restore(resume)
        if self._resumed is not None:                # inside an epoch
            from .process_group import get_rank
            self._resumed = dict(self._resumed, partial=self.ranks.own(get_rank()))

    def _save(self, epoch, step, partial, finished=False):
        if self.path is not None and step:
            self.ranks.gather(partial)               # every rank is at this step
        try:
            super()._save(epoch, step, partial, finished)
        finally:
            self.ranks.parts = None


class _MeanLogs(Callback):
    """Averages the epoch's numbers over the ranks (each rank saw as many samples); ``time``
    becomes the slowest rank's."""

    def on_epoch_end(self, epoch, logs=None):
        import numpy as np

        from ..tensor import Tensor
        from .process_group import ReduceOp, all_reduce
        keys = sorted(k for k, v in logs.items() if isinstance(v, (int, float)) and k != "lr")
        mean = [k for k in keys if k != "time"]
        t = Tensor(np.array([float(logs[k]) for k in mean], dtype=np.float64))
        all_reduce(t, op=ReduceOp.AVG)
        logs.update(zip(mean, t.numpy().tolist()))
        if "time" in logs:
            s = Tensor(np.array([float(logs["time"])]))
            all_reduce(s, op=ReduceOp.MAX)
            logs["time"] = float(s.numpy()[0])


def _main(spec_json):
    """A rank started by :func:`train`: rebuild the options and run the command."""
    spec = json.loads(spec_json)
    mod, _, name = spec["entry"].partition(":")
    run = getattr(importlib.import_module(mod), name)
    try:
        return train(argparse.Namespace(**spec["args"], func=run), run)
    except (OSError, ValueError, RuntimeError, KeyError, ImportError) as exc:
        print(f"chainrule: error: {str(exc).strip().splitlines()[0]}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    # through the imported module, not this __main__ copy of it: one _ACTIVE per process
    from chainrule.distributed.launch import _main as main
    raise SystemExit(main(sys.argv[1]))
