"""Callbacks for :func:`chainrule.train.fit`, with Keras's hooks.

A callback overrides any of ``on_train_begin/end(logs)``, ``on_epoch_begin/end(epoch, logs)`` and
``on_batch_begin/end(batch, logs)``; it can read ``self.model``, ``self.optimizer`` and
``self.params`` (``epochs``, ``steps``) and end training by setting ``self.stop_training = True``.
Epoch logs hold ``loss``, the metrics, ``val_*`` of both, ``lr`` and ``time`` (seconds); batch logs
hold the running means of the epoch so far plus ``batch`` and ``size``.  Per-batch hooks are only
called on callbacks that define them, so the others cost nothing per batch.

Example::

    >>> stop = EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True)
    >>> ckpt = ModelCheckpoint("runs/exp1", monitor="val_accuracy")
    >>> fit(model, loss_fn, opt, (X, y), epochs=100, val_data=(Xv, yv), callbacks=[stop, ckpt])
"""
from __future__ import annotations

import json
import math
import os
import sys
import warnings

__all__ = ["Callback", "History", "EarlyStopping", "ModelCheckpoint", "CSVLogger",
           "JSONLogger", "LRSchedulerCallback", "TerminateOnNaN", "LambdaCallback"]


class Callback:
    """Base class: every hook does nothing."""
    stop_training = False
    model = optimizer = None
    params: dict = {}

    def set_context(self, model, optimizer, params):
        self.model, self.optimizer, self.params = model, optimizer, params

    @property
    def wants_batches(self):
        """Whether the loop must call the per-batch hooks (they are skipped otherwise)."""
        cls = type(self)
        return (cls.on_batch_end is not Callback.on_batch_end
                or cls.on_batch_begin is not Callback.on_batch_begin)

    def state_dict(self):
        """What a checkpoint keeps of this callback (restored by :meth:`load_state_dict` after
        ``on_train_begin`` when training resumes); nothing by default."""
        return {}

    def load_state_dict(self, state):
        pass

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_batch_begin(self, batch, logs=None): pass
    def on_batch_end(self, batch, logs=None): pass


class LambdaCallback(Callback):
    """A callback from functions, e.g. ``LambdaCallback(on_epoch_end=lambda e, logs: ...)``."""

    def __init__(self, **hooks):
        for name, fn in hooks.items():
            if not name.startswith("on_") or not hasattr(Callback, name):
                raise ValueError(f"LambdaCallback: unknown hook {name!r}")
            setattr(self, name, fn)
        self._batches = "on_batch_begin" in hooks or "on_batch_end" in hooks

    @property
    def wants_batches(self):
        return self._batches


class History(Callback):
    """Records the epoch logs: ``history.history['val_loss'][3]`` is epoch 3's validation loss."""

    def __init__(self):
        self.history, self.epoch = {}, []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)

    def __getitem__(self, key):
        return self.history[key]

    def state_dict(self):
        return {"history": self.history, "epoch": self.epoch}

    def load_state_dict(self, state):
        self.history = {k: list(v) for k, v in state["history"].items()}
        self.epoch = list(state["epoch"])

    def __repr__(self):
        last = {k: v[-1] for k, v in self.history.items() if v}
        return f"History(epochs={len(self.epoch)}, last={last})"


def _mode(monitor, mode):
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        m = monitor.lower()
        return "max" if m.endswith(("acc", "accuracy", "auc")) or "accuracy" in m else "min"
    return mode


def _copy_state(model):
    return {k: (v.detach().clone() if hasattr(v, "detach") else v)
            for k, v in model.state_dict().items()}


class _Monitor(Callback):
    """Shared logic: read ``monitor`` from the logs and decide whether it improved."""

    def __init__(self, monitor, mode, min_delta=0.0):
        self.monitor, self.min_delta = monitor, abs(float(min_delta))
        self.mode = _mode(monitor, mode)
        self.best = math.inf if self.mode == "min" else -math.inf
        self._warned = False

    def _value(self, logs):
        v = (logs or {}).get(self.monitor)
        if v is None and not self._warned:
            self._warned = True
            warnings.warn(f"{type(self).__name__}: metric {self.monitor!r} is not in the logs "
                          f"(available: {', '.join(sorted(logs or {}))}); pass val_data to fit or "
                          "choose another monitor", RuntimeWarning, stacklevel=3)
        return v

    def _improved(self, v, ref):
        if self.mode == "min":
            return v < ref - self.min_delta
        return v > ref + self.min_delta


class EarlyStopping(_Monitor):
    """Stop when ``monitor`` has not improved for ``patience`` epochs (as Keras's).

    Arguments:
        monitor: a key of the epoch logs, e.g. ``'val_loss'`` or ``'val_accuracy'``.
        min_delta: the smallest change that counts as an improvement.
        patience: epochs without improvement before stopping.
        mode: ``'min'``, ``'max'`` or ``'auto'`` (max for accuracies, min otherwise).
        baseline: training stops unless the monitor beats this value within ``patience`` epochs.
        restore_best_weights: when training ends, load the weights of the best epoch (also when
            it ends without stopping early).
        start_from_epoch: epochs of warm-up before monitoring starts.
    """

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__(monitor, mode, min_delta)
        self.patience, self.verbose, self.baseline = int(patience), int(verbose), baseline
        self.restore_best_weights = bool(restore_best_weights)
        self.start_from_epoch = int(start_from_epoch)

    def on_train_begin(self, logs=None):
        self.wait, self.stopped_epoch, self.best_epoch = 0, 0, None
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_weights, self._last_epoch = None, None
        self.stop_training = False

    def on_epoch_end(self, epoch, logs=None):
        self._last_epoch = epoch
        current = self._value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        self.wait += 1
        if self._improved(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = _copy_state(self.model)
            if self.baseline is None or self._improved(current, self.baseline):
                self.wait = 0
                return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.stop_training = True

    _STATE = ("wait", "stopped_epoch", "best_epoch", "best", "best_weights", "_last_epoch",
              "stop_training")

    def state_dict(self):
        return {k: getattr(self, k) for k in self._STATE}

    def load_state_dict(self, state):
        for k in self._STATE:
            setattr(self, k, state[k])

    def on_train_end(self, logs=None):
        if self.stopped_epoch and self.verbose:
            print(f"EarlyStopping: stopped at epoch {self.stopped_epoch + 1}; best {self.monitor} "
                  f"{self.best:.4f} at epoch {self.best_epoch + 1}", file=sys.stderr)
        if (self.restore_best_weights and self.best_weights is not None
                and self.best_epoch != self._last_epoch):
            self.model.load_state_dict(self.best_weights)


class ModelCheckpoint(_Monitor):
    """Save the model's ``state_dict`` to ``dirpath/best.npz`` and ``dirpath/last.npz``.

    Files are written with :func:`chainrule.save` (temp file + ``os.replace``), so a crash or
    an interrupted run never leaves a half-written checkpoint; the previous one stays intact.

    Arguments:
        dirpath: folder for the files (created if needed).
        monitor, mode, min_delta: what "best" means (see :class:`EarlyStopping`).
        save_best: write ``best_name`` whenever the monitored value improves.
        save_last: write ``last_name`` after every epoch.
    """

    def __init__(self, dirpath, monitor="val_loss", mode="auto", save_best=True, save_last=True,
                 min_delta=0.0, best_name="best.npz", last_name="last.npz", verbose=0):
        super().__init__(monitor, mode, min_delta)
        self.dirpath, self.save_best, self.save_last = os.fspath(dirpath), save_best, save_last
        self.best_path = os.path.join(self.dirpath, best_name)
        self.last_path = os.path.join(self.dirpath, last_name)
        self.verbose, self.best_epoch = int(verbose), None

    def on_train_begin(self, logs=None):
        from ..utils.io import remove_temp_files
        os.makedirs(self.dirpath, exist_ok=True)
        remove_temp_files(self.dirpath)         # left by a save that was killed midway

    def state_dict(self):
        return {"best": self.best, "best_epoch": self.best_epoch}

    def load_state_dict(self, state):
        self.best, self.best_epoch = state["best"], state["best_epoch"]

    def on_epoch_end(self, epoch, logs=None):
        from ..serialization import save
        state = None
        if self.save_best:
            current = self._value(logs)
            if current is not None and self._improved(current, self.best):
                self.best, self.best_epoch = current, epoch
                state = self.model.state_dict()
                save(state, self.best_path)
                if self.verbose:
                    print(f"ModelCheckpoint: {self.monitor} improved to {current:.4f}, saved "
                          f"{self.best_path}", file=sys.stderr)
        if self.save_last:
            save(state if state is not None else self.model.state_dict(), self.last_path)


class CSVLogger(Callback):
    """Append one CSV row per epoch (``epoch`` then the logs, sorted by name) to ``filename``."""

    def __init__(self, filename, separator=",", append=False):
        self.filename, self.sep, self.append = os.fspath(filename), separator, append
        self._fh, self._keys, self._rows = None, None, []

    def state_dict(self):
        return {"keys": self._keys, "rows": self._rows}

    def load_state_dict(self, state):
        # resuming: the file holds exactly the rows of the epochs the checkpoint has seen
        self._keys, self._rows = state["keys"], list(state["rows"])
        if self._fh is not None:
            self._fh.close()
        from ..utils.io import atomic_write
        text = "".join(self._rows).encode("utf-8")
        atomic_write(self.filename, lambda fh: fh.write(text))
        self._fh = open(self.filename, "a", encoding="utf-8")

    def on_train_begin(self, logs=None):
        exists = self.append and os.path.exists(self.filename) and os.path.getsize(self.filename)
        self._fh = open(self.filename, "a" if self.append else "w", encoding="utf-8")
        self._keys = None if not exists else "existing"
        self._rows = []
        if exists:
            with open(self.filename, encoding="utf-8") as fh:
                self._rows.append(fh.read())

    def _write(self, line):
        self._fh.write(line)
        self._rows.append(line)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self._keys is None or self._keys == "existing":
            keys = sorted(logs)
            if self._keys is None:
                self._write(self.sep.join(["epoch"] + keys) + "\n")
            self._keys = keys
        row = [str(epoch)] + [_csv_value(logs.get(k, "")) for k in self._keys]
        self._write(self.sep.join(row) + "\n")
        self._fh.flush()

    def on_train_end(self, logs=None):
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def _csv_value(v):
    return repr(v) if isinstance(v, float) else str(v)


class JSONLogger(Callback):
    """Keep ``path`` a valid JSON list of the epoch logs, rewritten atomically each epoch."""

    def __init__(self, path):
        self.path, self.records = os.fspath(path), []

    def on_train_begin(self, logs=None):
        self.records = []

    def state_dict(self):
        return {"records": self.records}

    def load_state_dict(self, state):
        self.records = list(state["records"])

    def on_epoch_end(self, epoch, logs=None):
        from ..utils.io import atomic_write
        self.records.append({"epoch": epoch, **(logs or {})})
        text = json.dumps(self.records, indent=1).encode("utf-8")
        atomic_write(self.path, lambda fh: fh.write(text))


def _is_plateau(scheduler):
    return type(scheduler).__name__ == "ReduceLROnPlateau" or getattr(scheduler, "needs_metric",
                                                                       False)


class LRSchedulerCallback(Callback):
    """Step a learning-rate scheduler: per epoch, or per batch for ``OneCycleLR``/``CyclicLR``
    (or a scheduler with ``per_batch = True``); ``ReduceLROnPlateau`` gets the monitored value.

    Arguments:
        scheduler: a :mod:`chainrule.optim.lr_scheduler` object.
        monitor: the log key given to ``ReduceLROnPlateau`` (default ``val_loss`` when present,
            else ``loss``).
        per_batch: force per-batch (``True``) or per-epoch (``False``) stepping.
    """

    def __init__(self, scheduler, monitor=None, per_batch=None):
        self.scheduler, self.monitor = scheduler, monitor
        if per_batch is None:
            per_batch = getattr(scheduler, "per_batch", None)
        if per_batch is None:
            per_batch = type(scheduler).__name__ in ("OneCycleLR", "CyclicLR")
        self.per_batch = bool(per_batch)

    @property
    def wants_batches(self):
        return self.per_batch

    def state_dict(self):
        return {"scheduler": self.scheduler.state_dict()}

    def load_state_dict(self, state):
        self.scheduler.load_state_dict(state["scheduler"])

    def on_batch_end(self, batch, logs=None):
        self.scheduler.step()

    def on_epoch_end(self, epoch, logs=None):
        if self.per_batch:
            return
        if _is_plateau(self.scheduler):
            logs = logs or {}
            key = self.monitor or ("val_loss" if "val_loss" in logs else "loss")
            if key not in logs:
                raise KeyError(f"LRSchedulerCallback: ReduceLROnPlateau monitors {key!r}, which "
                               f"is not in the logs ({', '.join(sorted(logs))})")
            self.scheduler.step(logs[key])
        else:
            self.scheduler.step()


class TerminateOnNaN(Callback):
    """Stop training as soon as a batch loss is NaN or infinite."""

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("batch_loss")
        if loss is not None and not math.isfinite(loss):
            print(f"TerminateOnNaN: batch {batch}: invalid loss {loss}, stopping", file=sys.stderr)
            self.stop_training = True
