"""The training loop: ``fit``, ``evaluate``, ``predict``.

``fit`` is the loop you would write by hand (``zero_grad``, forward, loss, ``backward``, ``step``)
plus bookkeeping that costs one ``loss.item()`` and two list appends per batch: the loss is
accumulated as a Python float weighted by the batch size, the metrics are computed once per epoch
on the concatenated outputs (per batch only when a callback wants running values, such as the
live progress bar), and per-batch callback hooks run only for callbacks that define them.

Data may be a :class:`~chainrule.utils.data.DataLoader`, a
:class:`~chainrule.utils.data.Dataset`, or an ``(X, y)`` pair of tensors or arrays (floating
arrays are cast to the model's parameter dtype, so float64 NumPy data feeds a float32 model).

Example::

    >>> model = cr.nn.Sequential(cr.nn.Linear(64, 32), cr.nn.ReLU(), cr.nn.Linear(32, 10))
    >>> opt = cr.optim.Adam(model.parameters(), lr=1e-3)
    >>> hist = fit(model, cr.nn.CrossEntropyLoss(), opt, (X, y), epochs=10, val_data=(Xv, yv))
    >>> hist.history["val_accuracy"][-1]
    0.97...
"""
from __future__ import annotations

import contextlib
import math
import time

import numpy as np

from .callbacks import Callback, History, LRSchedulerCallback
from .metrics import get_metric
from .progress import ProgressBar
from .state import _Run
from .step import train_step

__all__ = ["fit", "evaluate", "predict", "History"]


def _param_dtype(model):
    params = getattr(model, "parameters", None)
    if params is None:
        return None
    for p in params():
        return p.dtype
    return None


def _as_tensor(a, dtype, what):
    from ..tensor import _new
    from ..tensor import Tensor
    if isinstance(a, Tensor):
        return a
    arr = np.asarray(a)
    if arr.dtype.kind == "f" and dtype is not None and np.dtype(dtype).kind == "f" \
            and arr.dtype != dtype:
        arr = arr.astype(dtype)
    elif arr.dtype.kind not in "fiub":
        raise TypeError(f"{what}: arrays must be numeric, got dtype {arr.dtype}")
    return _new(arr, False, None)


def _to_loader(data, batch_size, shuffle, generator, model, what):
    """A DataLoader (or any iterable of batches) from the accepted kinds of data."""
    from ..tensor import Tensor
    from ..utils.data import DataLoader, Dataset, TensorDataset
    if isinstance(data, DataLoader):
        return data
    if isinstance(data, Dataset):
        return DataLoader(data, batch_size=batch_size, shuffle=shuffle, generator=generator)
    if isinstance(data, (tuple, list)):
        if len(data) < 2:
            raise ValueError(f"{what}: an (X, y) pair is needed, got a {type(data).__name__} "
                             f"of length {len(data)}")
        dtype = _param_dtype(model)
        tensors = [_as_tensor(a, dtype, what) for a in data]
        return DataLoader(TensorDataset(*tensors), batch_size=batch_size, shuffle=shuffle,
                          generator=generator)
    if isinstance(data, (np.ndarray, Tensor)):
        raise TypeError(f"{what}: got a single array; pass an (X, y) pair, a Dataset or a "
                        "DataLoader")
    if hasattr(data, "__iter__"):
        return data
    raise TypeError(f"{what}: expected a DataLoader, a Dataset or an (X, y) pair, got "
                    f"{type(data).__name__}")


def _split(batch, what):
    if isinstance(batch, (list, tuple)) and len(batch) >= 2:
        return (batch[0] if len(batch) == 2 else tuple(batch[:-1])), batch[-1]
    size = f" of length {len(batch)}" if hasattr(batch, "__len__") else ""
    raise TypeError(f"{what}: each batch must be (inputs, target), got "
                    f"{type(batch).__name__}{size}")


@contextlib.contextmanager
def _inference(model):
    from ..graph.modes import no_grad
    was = getattr(model, "training", None)
    if was is not None:
        model.eval()
    try:
        with no_grad():
            yield
    finally:
        if was is not None:
            model.train(was)


def _forward(model, x):
    return model(*x) if isinstance(x, tuple) else model(x)


def _mean_factor(loss_fn):
    # a loss with reduction='sum' already adds over the batch
    return getattr(loss_fn, "reduction", "mean") != "sum"


def evaluate(model, loss_fn, data, metrics=("accuracy",), batch_size=256):
    """Loss and metrics of ``model`` on ``data``, in eval mode without a graph.

    Arguments:
        model: a module (its train/eval mode is restored afterwards).
        loss_fn: the loss, or ``None`` to report metrics only.
        data: a DataLoader, a Dataset or an ``(X, y)`` pair.
        metrics: names or :class:`~chainrule.train.metrics.Metric` objects.
        batch_size: batch size when ``data`` is not a DataLoader.

    Returns:
        ``{'loss': ..., 'accuracy': ...}`` (means over all samples).

    Example::

        >>> evaluate(model, cr.nn.CrossEntropyLoss(), (X_test, y_test))
        {'loss': 0.08..., 'accuracy': 0.97...}
    """
    loader = _to_loader(data, batch_size, False, None, model, "evaluate")
    ms = [get_metric(m, loss_fn) for m in metrics]
    mean = _mean_factor(loss_fn)
    total, n, sums = 0.0, 0, [0.0] * len(ms)
    with _inference(model):
        for batch in loader:
            x, y = _split(batch, "evaluate")
            out = _forward(model, x)
            k = len(y)
            if loss_fn is not None:
                total += loss_fn(out, y).item() * (k if mean else 1)
            n += k
            if ms:
                o, t = out._data, y._data
                for i, m in enumerate(ms):
                    sums[i] += m.batch_sum(o, t)
    if n == 0:
        raise ValueError("evaluate: the data produced no samples")
    res = {"loss": total / n} if loss_fn is not None else {}
    res.update({m.name: s / n for m, s in zip(ms, sums)})
    return res


def predict(model, X, batch_size=256):
    """The model's outputs for ``X``, batch by batch, in eval mode without a graph.

    Arguments:
        model: a module (its train/eval mode is restored afterwards).
        X: a tensor or array of inputs, a Dataset or a DataLoader (the first element of each
            batch is the input).
        batch_size: samples per forward pass.

    Returns:
        One tensor with the outputs of all samples, in order.

    Example::

        >>> predict(model, X_test).argmax(1)
    """
    from ..tensor import _new
    from ..tensor import Tensor
    from ..utils.data import DataLoader, Dataset
    if isinstance(X, Dataset):
        X = DataLoader(X, batch_size=batch_size)
    outs = []
    with _inference(model):
        if isinstance(X, (Tensor, np.ndarray, list)):
            x = _as_tensor(X, _param_dtype(model), "predict")._data
            for s in range(0, x.shape[0], batch_size):
                outs.append(model(_new(x[s:s + batch_size], False, None))._data)
        else:
            for batch in X:
                if isinstance(batch, (list, tuple)):
                    batch = batch[0] if len(batch) <= 2 else tuple(batch[:-1])
                outs.append(_forward(model, batch)._data)
    if not outs:
        raise ValueError("predict: no inputs")
    return _new(np.concatenate(outs), False, None)


def fit(model, loss_fn, optimizer, train_data, epochs=1, val_data=None, scheduler=None,
        callbacks=(), metrics=("accuracy",), batch_size=32, shuffle=True, verbose=1,
        generator=None, checkpoint=None, checkpoint_every=None, resume=None,
        checkpoint_extra=None, compile=True):  # noqa: A002  (torch.compile's name)
    """Train ``model`` for ``epochs`` passes over ``train_data``.

    Arguments:
        model: a module.
        loss_fn: ``loss_fn(output, target)`` returning a scalar tensor (mean over the batch).
        optimizer: a :mod:`chainrule.optim` optimizer over the model's parameters.
        train_data: a DataLoader, a Dataset or an ``(X, y)`` pair (batched with ``batch_size``,
            reshuffled each epoch when ``shuffle``, using ``generator``).
        epochs: passes over the training data.
        val_data: evaluated after each epoch (``val_loss``, ``val_accuracy``, ...).
        scheduler: an LR scheduler, stepped per epoch (``ReduceLROnPlateau`` with ``val_loss``
            or ``loss``) or per batch (``OneCycleLR``, ``CyclicLR``).
        callbacks: :class:`~chainrule.train.callbacks.Callback` objects.
        metrics: names (``'accuracy'``, ``'top5'``, ``'mae'``...) or Metric objects.
        verbose: 0 silent, 1 progress bar (on a terminal) and a line per epoch, 2 a line per epoch.
        checkpoint: a path: the full training state is saved there (atomically) at each epoch
            end, every ``checkpoint_every`` steps, and on SIGINT/SIGTERM before stopping with
            :class:`~chainrule.train.state.TrainingInterrupted` (see :mod:`chainrule.train.state`).
        resume: a checkpoint path (or its loaded dict) to continue from; the rest of the
            arguments must describe the same run.  A :class:`BackupAndRestore` callback sets
            ``checkpoint`` and ``resume`` by itself.
        checkpoint_extra: JSON-able data stored in the checkpoint, which ``resume`` must match.
        compile: replay each batch's ``zero_grad``, forward, loss and backward through
            ``cr.compile`` (recorded once per batch shape; for a loss of chainrule's own the
            whole of it, else the model alone; see :func:`chainrule.train.step.train_step`):
            the same numbers, bit for bit, less Python per step.  The loss is then checked
            and the optimizer step taken.  What cannot be replayed runs eagerly, with one
            warning saying why.  ``False``: always eager.

    Returns:
        A :class:`History`: ``history.history`` maps ``loss``, ``accuracy``, ``val_loss``,
        ``val_accuracy``, ``lr`` and ``time`` to per-epoch lists.

    Raises:
        NonFiniteLossError: a batch loss (or the validation loss, or a weight at an epoch's
            end) is NaN or infinite (unless a :class:`TerminateOnNaN` callback handles it); the
            step that would use it is not taken and no checkpoint is written.
    """
    from .state import BackupAndRestore
    for cb in callbacks:
        if isinstance(cb, BackupAndRestore):
            checkpoint, checkpoint_every, found = cb.prepare()
            resume = resume or found
    if checkpoint_every is not None and (isinstance(checkpoint_every, bool) or not isinstance(
            checkpoint_every, int) or checkpoint_every <= 0):
        raise ValueError(f"fit: checkpoint_every must be a positive int, got "
                         f"{checkpoint_every!r}")
    if checkpoint_every is not None and checkpoint is None:
        raise ValueError("fit: checkpoint_every needs a checkpoint path")
    loader = _to_loader(train_data, batch_size, shuffle, generator, model, "fit: train_data")
    val_loader = None if val_data is None else _to_loader(
        val_data, max(batch_size, 256), False, None, model, "fit: val_data")
    ms = [get_metric(m, loss_fn) for m in metrics]
    names = [m.name for m in ms]
    if len(set(names)) != len(names):
        raise ValueError(f"fit: duplicate metric names {names}")
    history = History()
    cbs = list(callbacks)
    if verbose and not any(isinstance(cb, ProgressBar) for cb in cbs):
        cbs.insert(0, ProgressBar(verbose))
    if scheduler is not None:
        cbs.append(scheduler if isinstance(scheduler, Callback) else LRSchedulerCallback(scheduler))
    cbs.append(history)   # last, as in Keras: it records what the other callbacks added to logs
    try:
        steps = len(loader)
    except TypeError:
        steps = None
    params = {"epochs": epochs, "steps": steps, "verbose": verbose, "metrics": names}
    for cb in cbs:
        cb.set_context(model, optimizer, params)
        cb.stop_training = False        # a callback reused from an earlier fit starts afresh
    history.model, history.params = model, params
    run = _Run(model, optimizer, cbs, loader, generator, checkpoint, checkpoint_extra)
    run.train_step = train_step(model, loss_fn, optimizer, compile)
    was_training = getattr(model, "training", True)
    for cb in cbs:
        cb.on_train_begin({})
    if resume is not None:
        run.restore(resume)
    try:
        with run.guard:
            if not run.finished:
                _epochs(run, model, loss_fn, optimizer, loader, val_loader, ms, epochs,
                        checkpoint_every)
            run.raise_if_signalled()
    except BaseException:
        for cb in cbs:
            if isinstance(cb, ProgressBar):
                cb.close()
        raise
    finally:
        model.train(was_training)
    for cb in cbs:
        cb.on_train_end({})
    return history


def _nonfinite(what, value, epoch, step, last, optimizer):
    from .state import NonFiniteLossError
    groups = getattr(optimizer, "param_groups", None)
    lr = f" (now {groups[0]['lr']:g})" if groups else ""
    last = "no finite loss before it" if last is None else \
        f"the last finite loss was {last:.6g}"
    return NonFiniteLossError(
        f"fit: the {what} became {value} in epoch {epoch + 1}, step {step + 1}; {last}. The "
        f"weights are unusable from here: lower the learning rate{lr}, check the inputs for "
        "NaN/Inf, or clip the gradients")


def _check_weights(model, epoch, step, last, optimizer):
    """A finite loss can still come with a step that made the weights NaN or infinite."""
    named = getattr(model, "named_parameters", None)
    for name, p in (named() if named is not None else ()):
        a = p._data
        if a.dtype.kind in "fc" and not np.isfinite(a).all():
            raise _nonfinite(f"parameter {name!r}", "non-finite", epoch, step, last, optimizer)


def _epochs(run, model, loss_fn, optimizer, loader, val_loader, ms, epochs, every):
    """The epoch loop of :func:`fit` (from the resumed epoch and step, if any)."""
    from .callbacks import TerminateOnNaN
    cbs, names = run.cbs, [m.name for m in ms]
    mean = _mean_factor(loss_fn)
    groups = getattr(optimizer, "param_groups", None)
    batch_cbs = [cb for cb in cbs if cb.wants_batches]
    check = not any(isinstance(cb, TerminateOnNaN) for cb in cbs)
    last = None
    for epoch in range(run.epoch, epochs):
        model.train()
        for cb in cbs:
            cb.on_epoch_begin(epoch, {})
        t0 = time.perf_counter()
        batches, (total, n, sums, outs, tgts) = run.begin_epoch(epoch, ms)
        stop = False            # without batch callbacks, metrics run once per epoch
        b = run.step - 1        # a run resumed after its epoch's last batch has none left
        for b, batch in batches:
            x, y = _split(batch, "fit")
            if batch_cbs:
                for cb in batch_cbs:
                    cb.on_batch_begin(b, {"batch": b})
            loss, out = run.train_step(x, y)    # zero_grad, forward, loss, backward
            lv = loss.item()
            if check and not math.isfinite(lv):
                raise _nonfinite("loss", lv, epoch, b, last, optimizer)
            last = lv
            optimizer.step()
            k = len(y)
            total += lv * k if mean else lv
            n += k
            if ms:
                if batch_cbs:
                    o, t = out._data, y._data
                    for i, m in enumerate(ms):
                        sums[i] += m.batch_sum(o, t)
                else:
                    outs.append(out._data)
                    tgts.append(y._data)
            if batch_cbs:
                logs = {"batch": b, "size": k, "batch_loss": lv, "loss": total / n}
                for name, s in zip(names, sums):
                    logs[name] = s / n
                for cb in batch_cbs:
                    cb.on_batch_end(b, logs)
                if any(cb.stop_training for cb in batch_cbs):
                    stop = True
            run.after_step(epoch, b + 1, every, (total, n, sums, outs, tgts))
            if stop:
                break
        if n == 0:
            raise ValueError("fit: train_data produced no batches (empty dataset, or "
                             "drop_last with fewer samples than batch_size)")
        if outs:    # (sums are zeros here unless a resumed epoch began with batch callbacks)
            o, t = np.concatenate(outs), np.concatenate(tgts)
            sums = [s + m.batch_sum(o, t) for s, m in zip(sums, ms)]
            outs = tgts = None
        logs = {"loss": total / n}
        logs.update({name: s / n for name, s in zip(names, sums)})
        if check:
            _check_weights(model, epoch, b, last, optimizer)
        if val_loader is not None:
            val = evaluate(model, loss_fn, val_loader, ms)
            if check and "loss" in val and not math.isfinite(val["loss"]):
                raise _nonfinite("validation loss", val["loss"], epoch, b, last, optimizer)
            logs.update({"val_" + k: v for k, v in val.items()})
        if groups:
            logs["lr"] = float(groups[0]["lr"])
        logs["time"] = time.perf_counter() - t0
        for cb in cbs:
            cb.on_epoch_end(epoch, logs)
        stop = stop or any(cb.stop_training for cb in cbs)
        run.end_epoch(epoch, finished=stop or epoch + 1 == epochs)
        if stop:
            break
