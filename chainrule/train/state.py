"""The full training state of :func:`~chainrule.train.fit`, saved and restored exactly.

A checkpoint is one :func:`chainrule.save` file (no pickle) written atomically, holding the model,
the optimizer, every callback's state (the scheduler's, early stopping's, the history...), the
state of every random generator the run draws from, the epoch and the step within it, and, for a
checkpoint taken inside an epoch, the epoch's running sums and the generators' states at the
epoch's start (the data order is drawn again from them, so it is the same order).  Resuming from
it gives the weights an uninterrupted run with the same seed gives, bit for bit, on the same
machine with the same number of BLAS threads.

Example::

    >>> fit(model, loss_fn, opt, (X, y), epochs=10, checkpoint="run/ckpt.npz",
    ...     checkpoint_every=100)                     # killed at epoch 6 ...
    >>> fit(model, loss_fn, opt, (X, y), epochs=10, checkpoint="run/ckpt.npz",
    ...     resume="run/ckpt.npz")                    # ... continues at epoch 6, exactly
"""
from __future__ import annotations

import itertools
import os
import signal
import threading

import numpy as np

from .callbacks import Callback

__all__ = ["TrainingInterrupted", "NonFiniteLossError", "BackupAndRestore", "CKPT_FORMAT"]

CKPT_FORMAT = "chainrule-train-state/1"


class TrainingInterrupted(Exception):
    """Training stopped by SIGINT or SIGTERM after saving its state to ``path``."""

    def __init__(self, signum, path, epoch, step):
        self.signum, self.path, self.epoch, self.step = signum, path, epoch, step
        super().__init__(f"interrupted by {signal.Signals(signum).name} in epoch {epoch + 1}, "
                         f"after step {step}; the training state is saved in {path!r}")


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or infinite; training stopped before the step that would use it."""


class BackupAndRestore(Callback):
    """Keras's ``BackupAndRestore``: back the training state up, and resume from it on restart.

    :func:`~chainrule.train.fit` writes ``backup_dir/checkpoint.npz`` at each epoch end (and
    every ``save_freq`` steps when it is an int); when that file exists at the start of ``fit``,
    training continues from it exactly, as ``fit(..., resume=...)`` does.

    Arguments:
        backup_dir: folder of the backup (created if needed).
        save_freq: ``'epoch'``, or a number of steps between backups (epoch ends too).
        delete_checkpoint: remove the backup when training ends normally.

    Example::

        >>> fit(model, loss_fn, opt, data, epochs=50, callbacks=[BackupAndRestore("backup")])
    """

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint=True):
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int)
                                     or save_freq <= 0):
            raise ValueError(f"BackupAndRestore: save_freq must be 'epoch' or a positive int, "
                             f"got {save_freq!r}")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq, self.delete_checkpoint = save_freq, bool(delete_checkpoint)
        self.path = os.path.join(self.backup_dir, "checkpoint.npz")

    def prepare(self):
        """``(checkpoint path, steps between checkpoints, path to resume from or None)``."""
        from ..utils.io import remove_temp_files
        os.makedirs(self.backup_dir, exist_ok=True)
        remove_temp_files(self.backup_dir)
        every = None if self.save_freq == "epoch" else self.save_freq
        return self.path, every, (self.path if os.path.isfile(self.path) else None)

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and os.path.isfile(self.path):
            os.unlink(self.path)


class _Generators:
    """Every random generator a run draws from: the global one and the data order's."""

    def __init__(self, loader, generator):
        from ..random import default_generator
        found = [default_generator, generator, getattr(loader, "generator", None),
                 getattr(getattr(loader, "sampler", None), "generator", None)]
        self.gens, seen = [], set()
        for g in found:
            if g is not None and id(g) not in seen:
                seen.add(id(g))
                self.gens.append(g)

    @staticmethod
    def _bit(g):
        return g.rng.bit_generator if hasattr(g, "rng") else g.bit_generator

    def get(self):
        return [self._bit(g).state for g in self.gens]

    def set(self, states):
        if len(states) != len(self.gens):
            raise ValueError(f"resume: the checkpoint has {len(states)} random generator states "
                             f"but this run draws from {len(self.gens)} generators")
        for g, s in zip(self.gens, states):
            self._bit(g).state = s


class _SignalGuard:
    """SIGINT/SIGTERM set a flag (the loop saves, then stops); a second one stops at once."""

    def __init__(self, enabled):
        self.enabled = enabled and threading.current_thread() is threading.main_thread()
        self.signum, self._old = None, {}

    def __enter__(self):
        if self.enabled:
            for s in (signal.SIGINT, signal.SIGTERM):
                self._old[s] = signal.signal(s, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.signum is not None:          # asked twice: do not wait for the checkpoint
            self.__exit__()
            raise KeyboardInterrupt
        self.signum = signum

    def __exit__(self, *exc):
        for s, old in self._old.items():
            signal.signal(s, old)
        self._old = {}


def callback_states(cbs):
    return [{"type": type(cb).__name__, "state": cb.state_dict()} for cb in cbs]


def load_callback_states(cbs, saved):
    mine = [type(cb).__name__ for cb in cbs]
    theirs = [s.get("type") if isinstance(s, dict) else None for s in saved]
    if mine != theirs:
        raise ValueError(f"resume: the checkpoint was written with callbacks {theirs}, this fit "
                         f"has {mine}; pass the same callbacks (in the same order)")
    for cb, s in zip(cbs, saved):
        cb.load_state_dict(s["state"])


def read_checkpoint(resume, extra):
    """The checkpoint dict from a path (or a dict), checked for format and matching ``extra``."""
    from ..serialization import load
    state = load(resume) if isinstance(resume, (str, os.PathLike)) else resume
    where = os.fspath(resume) if isinstance(resume, (str, os.PathLike)) else "checkpoint"
    if not isinstance(state, dict) or state.get("format") != CKPT_FORMAT:
        raise ValueError(f"resume: {where!r} is not a training checkpoint (format "
                         f"{state.get('format') if isinstance(state, dict) else None!r}, "
                         f"expected {CKPT_FORMAT!r})")
    for key in ("model", "optimizer", "rng", "epoch", "step", "global_step", "finished",
                "callbacks") + (("rng_epoch", "partial") if state.get("step") else ()):
        if key not in state:
            raise ValueError(f"resume: {where!r} lacks its {key!r} entry")
    if extra is not None and state.get("extra") != extra:
        raise ValueError(f"resume: {where!r} was written for another run ({state.get('extra')!r}"
                         f" != {extra!r})"[:600])
    return state


def partial_state(total, n, sums, outs, tgts):
    """The running sums of an unfinished epoch (the outputs so far, for epoch metrics)."""
    return {"total": total, "n": n, "sums": list(sums),
            "outs": np.concatenate(outs) if outs else None,
            "tgts": np.concatenate(tgts) if tgts else None}


class _Run:
    """Where :func:`fit` is (epoch, step) and how to save and restore all of its state."""

    def __init__(self, model, optimizer, cbs, loader, generator, path, extra):
        self.model, self.optimizer, self.cbs, self.loader = model, optimizer, cbs, loader
        self.path = None if path is None else os.fspath(path)
        self.extra = extra
        self.gens = _Generators(loader, generator)
        self.guard = _SignalGuard(path is not None)
        self.epoch = self.step = self.global_step = 0
        self.finished = False
        self.epoch_rng = self._resumed = None

    def restore(self, resume):
        state = read_checkpoint(resume, self.extra)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        load_callback_states(self.cbs, state["callbacks"])
        self.epoch, self.step = int(state["epoch"]), int(state["step"])
        self.global_step, self.finished = int(state["global_step"]), bool(state["finished"])
        if self.step:
            self._resumed = state
        else:
            self.gens.set(state["rng"])

    def begin_epoch(self, epoch, ms):
        """``(enumerated batches, (total, n, sums, outs, tgts))`` for ``epoch``."""
        state, self._resumed = self._resumed, None
        if state is None:
            self.epoch_rng = self.gens.get()
            return enumerate(self.loader), (0.0, 0, [0.0] * len(ms), [], [])
        # inside an epoch: draw the epoch's order again from the generators' states at its
        # start, skip the batches already done, then continue with the states of the moment
        self.epoch_rng = state["rng_epoch"]
        self.gens.set(self.epoch_rng)
        it = iter(self.loader)
        done = sum(1 for _ in itertools.islice(it, self.step))
        if done != self.step:
            raise ValueError(f"resume: the checkpoint is at step {self.step} of epoch "
                             f"{epoch + 1} but the data have only {done} batches per epoch")
        self.gens.set(state["rng"])
        p = state["partial"]
        outs = [] if p["outs"] is None else [p["outs"]]
        tgts = [] if p["tgts"] is None else [p["tgts"]]
        return enumerate(it, self.step), (p["total"], p["n"], list(p["sums"]), outs, tgts)

    def after_step(self, epoch, step, every, acc):
        self.global_step += 1
        if (every and self.global_step % every == 0) or self.guard.signum is not None:
            self._save(epoch, step, partial_state(*acc))
        self.raise_if_signalled(epoch, step)

    def end_epoch(self, epoch, finished):
        self._save(epoch + 1, 0, None, finished)
        self.raise_if_signalled(epoch + 1, 0)

    def raise_if_signalled(self, epoch=None, step=None):
        if self.guard.signum is not None and self.path is not None:
            e = self.epoch if epoch is None else epoch
            raise TrainingInterrupted(self.guard.signum, self.path, e, step or 0)

    def _save(self, epoch, step, partial, finished=False):
        if self.path is None:
            return
        from ..serialization import save
        state = {"format": CKPT_FORMAT, "epoch": epoch, "step": step,
                 "global_step": self.global_step, "finished": finished,
                 "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                 "rng": self.gens.get(), "callbacks": callback_states(self.cbs),
                 "extra": self.extra}
        if step:
            state["rng_epoch"], state["partial"] = self.epoch_rng, partial
        save(state, self.path)
        self.epoch, self.step = epoch, step
