"""``TensorBoard``: a :func:`chainrule.train.fit` callback that logs a run for TensorBoard.

Per epoch it writes the losses and metrics (training curves under ``log_dir/train``, validation
under ``log_dir/validation``, so TensorBoard draws both on one chart as ``epoch_loss``,
``epoch_accuracy``...), the learning rate, and from the training-health monitor
(:class:`~chainrule.debug.TrainingMonitor`) each layer's gradient norm, update/weight ratio,
dead-unit and saturated fractions and activation statistics (``health/<metric>/<layer>``).
Every ``histogram_freq`` epochs it adds histograms of each parameter and its last gradient.

Example::

    >>> from chainrule.train import fit, TensorBoard
    >>> fit(model, loss_fn, opt, (X, y), epochs=20, val_data=(Xv, yv),
    ...     callbacks=[TensorBoard("runs/tb/exp1", histogram_freq=1)])
    $ tensorboard --logdir runs/tb
"""
from __future__ import annotations

import math
import os

from ..train.callbacks import Callback
from ..utils.tensorboard import SummaryWriter
from .monitor import METRICS, TrainingMonitor

__all__ = ["TensorBoard"]


class TensorBoard(Callback):
    """Log training to TensorBoard event files (see the module docstring).

    Arguments:
        log_dir: folder for the run (``train/`` and ``validation/`` are made inside).
        histogram_freq: write weight and gradient histograms every this many epochs (0: never).
        update_freq: ``'epoch'``, or ``'batch'`` to also log each batch's loss as ``batch_loss``
            (one point per step).
        health: log the training-health monitor's per-layer numbers (a monitor with hooks on the
            model, warnings off).
        write_graph: add the model's graph (needs ``onnx``) from the first batch's input shape;
            models the ONNX exporter cannot write are skipped with a text note.
        hparams: a dict of hyperparameters; written at the end with the final epoch's metrics
            (HPARAMS tab).
    """

    def __init__(self, log_dir="logs", histogram_freq=0, update_freq="epoch", health=True,
                 write_graph=False, hparams=None):
        if update_freq not in ("epoch", "batch"):
            raise ValueError(f"TensorBoard: update_freq must be 'epoch' or 'batch', got "
                             f"{update_freq!r}")
        if int(histogram_freq) < 0:
            raise ValueError(f"TensorBoard: histogram_freq must be >= 0, got {histogram_freq}")
        self.log_dir, self.histogram_freq = os.fspath(log_dir), int(histogram_freq)
        self.update_freq, self.health, self.write_graph = update_freq, health, write_graph
        self.hparams = hparams
        self._train = self._val = self._monitor = None
        self._step, self._last = 0, {}

    @property
    def wants_batches(self):
        return self.update_freq == "batch"

    def on_train_begin(self, logs=None):
        self._train = SummaryWriter(os.path.join(self.log_dir, "train"))
        self._val = SummaryWriter(os.path.join(self.log_dir, "validation"))
        if self.health:
            self._monitor = TrainingMonitor(self.model, warn=False, histograms=False)
            self._monitor.attach(self.model)
        self._example, self._graph_hook = None, None
        if self.write_graph:
            def grab(module, args):     # the first batch's input shape, for the graph
                if args and hasattr(args[0], "shape") and self._example is None:
                    self._example = (tuple(args[0].shape[1:]), args[0].dtype)
            self._graph_hook = self.model.register_forward_pre_hook(grab)

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("batch_loss")
        if loss is not None and math.isfinite(loss):
            self._train.add_scalar("batch_loss", loss, self._step)
        self._step += 1

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        for key, value in logs.items():
            if not isinstance(value, (int, float)) or "/" in key:
                continue
            if key.startswith("val_"):
                self._val.add_scalar(f"epoch_{key[4:]}", value, epoch)
            else:
                self._train.add_scalar(f"epoch_{key}", value, epoch)
        if self._monitor is not None:
            for layer, stats in self._monitor.end_epoch(loss=logs.get("loss")).items():
                for metric in METRICS:
                    v = stats.get(metric)
                    if v is not None and math.isfinite(v):
                        self._train.add_scalar(f"health/{metric}/{layer}", v, epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            for name, p in self.model.named_parameters():
                self._train.add_histogram(f"weights/{name}", p, epoch)
                if p.grad is not None:
                    self._train.add_histogram(f"gradients/{name}", p.grad, epoch)
        if self._graph_hook is not None and self._example is not None:
            self._graph_hook.remove()
            self._graph_hook = None
            import numpy as np
            shape, dtype = self._example
            self.log_graph(np.zeros((1, *shape), dtype=dtype))
        self._last = logs
        self._train.flush()
        self._val.flush()

    def on_train_end(self, logs=None):
        if self._monitor is not None:
            self._monitor.detach()
        if self._graph_hook is not None:
            self._graph_hook.remove()
            self._graph_hook = None
        if self.hparams and self._last:
            metrics = {f"hparam/{k}": v for k, v in self._last.items()
                       if isinstance(v, (int, float)) and "/" not in k and k != "time"}
            # run_name ".": the hyperparameters belong to the train run itself, not to a
            # timestamped sub-run of their own (tensorboardX's default)
            self._train.add_hparams(self.hparams, metrics, run_name=".")
        for w in (self._train, self._val):
            if w is not None:
                w.close()

    def log_graph(self, example_input):
        """Add the model's graph, exported with :mod:`chainrule.onnx` (``write_graph``)."""
        try:
            self._train.add_graph(self.model, example_input)
        except (ValueError, ImportError) as exc:
            self._train.add_text("graph", f"graph not written: {exc}")
