"""The training-health monitor: per-layer numbers that say why a network does (not) learn.

Per layer and per epoch it records the gradient norm, the weight norm, the update-to-weight ratio
(``||W_after - W_before|| / ||W_before||``, read from parameter snapshots, so it works with any
optimizer), the mean and standard deviation of the layer's output, the fraction of dead ReLU units
(never active over the epoch) and of saturated sigmoid/tanh outputs; then it warns, in plain words,
about vanishing or exploding gradients, dead or saturated units and a learning rate that is too
high or too low (:mod:`chainrule.debug.health`).

It is a callback for :func:`chainrule.train.fit` and also works in a hand-written loop::

    mon = cr.debug.watch(model)                 # hooks on; nothing else to call per batch
    for epoch in range(10):
        for xb, yb in loader:
            opt.zero_grad(); loss = loss_fn(model(xb), yb); loss.backward(); opt.step()
        mon.end_epoch(loss=loss.item())          # stats, warnings, CSV row
    mon.detach()                                 # hooks off: zero overhead again

How a batch is seen: a forward pre-hook on the model snapshots the weights (training mode, grad
enabled, every ``every``-th batch), forward hooks on the leaf modules collect activation
statistics, tensor hooks on the parameters read each gradient as backward computes it, and the
next batch (or ``end_epoch``) compares the weights with the snapshot.
"""
from __future__ import annotations

import csv
import math
import os
import warnings

import numpy as np

from ..graph.modes import STATE
from ..train.callbacks import Callback as _Base
from .health import TrainingHealthWarning, diagnose

__all__ = ["TrainingMonitor", "watch", "TrainingHealthWarning"]

KINDS = {"ReLU": "relu", "ReLU6": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh",
         "Hardtanh": "tanh", "Hardsigmoid": "sigmoid"}
# other activation modules: their outputs get mean/std (no dead/saturated rule for them)
ACTIVATIONS = {"LeakyReLU", "PReLU", "ELU", "SELU", "CELU", "GELU", "SiLU", "Mish", "Softplus",
               "Softsign", "LogSigmoid", "AbsReLU", "Step", "Maxout", "Hardswish"}
METRICS = ("grad_norm", "weight_norm", "update_ratio", "act_mean", "act_std", "dead_frac",
           "saturated_frac")
_SAMPLE = 4000   # values kept per layer and epoch for the histograms


class _Acts:
    """Running activation statistics of one layer over an epoch."""
    __slots__ = ("kind", "n", "s", "ss", "alive", "sat")

    def __init__(self, kind):
        self.kind, self.n, self.s, self.ss, self.alive, self.sat = kind, 0, 0.0, 0.0, None, 0

    def add(self, a):
        self.n += a.size
        self.s += float(a.sum())
        self.ss += float(np.vdot(a, a).real)
        if self.kind == "relu":   # a unit fired on this batch when its largest output is > 0
            if a.ndim >= 3:   # a conv layer's unit is a channel: dead if it never fires anywhere
                fired = a.max(axis=(0,) + tuple(range(2, a.ndim))) > 0
            else:
                fired = (a.reshape(a.shape[0], -1).max(axis=0) if a.ndim > 1 else a.max()) > 0
            self.alive = fired if self.alive is None else (self.alive | fired)
        elif self.kind == "sigmoid":
            self.sat += int(np.count_nonzero((a < 0.01) | (a > 0.99)))
        elif self.kind == "tanh":
            self.sat += int(np.count_nonzero(np.abs(a) > 0.99))

    def result(self):
        if not self.n:
            return {}
        mean = self.s / self.n
        out = {"act_mean": mean, "act_std": math.sqrt(max(self.ss / self.n - mean * mean, 0.0))}
        if self.kind == "relu" and self.alive is not None:
            out["dead_frac"] = 1.0 - float(np.mean(self.alive))
        elif self.kind in ("sigmoid", "tanh"):
            out["saturated_frac"] = self.sat / self.n
        return out


class TrainingMonitor(_Base):
    """Records per-layer training health and warns about what goes wrong (see module doc).

    Arguments:
        model: the model to watch; the fit loop's model when used as a callback without one.
        csv_path: append one row per layer and epoch to this CSV file (long format: epoch,
            layer, kind, then the metrics).
        every: record one batch in ``every`` (1: all of them; larger: less overhead).
        update_every: measure the update/weight ratio on one recorded batch in this many (it
            needs a copy of the weights before the step).
        warn: issue :class:`TrainingHealthWarning` for each problem found (once per problem
            and layer); every finding is also kept in ``monitor.findings``.
        histograms: keep a sample of weights and gradients per layer and epoch for
            :func:`chainrule.viz.plot_weight_histograms`.
        thresholds: overrides for :data:`chainrule.debug.health.DEFAULTS`.

    After each epoch, ``monitor.history`` has one entry ``{"epoch", "loss", "layers": {layer:
    {metric: value}}}``; the fit loop's logs (and so its history) get flat keys
    ``"<layer>/<metric>"``.  ``monitor.series(layer, metric)`` gives one metric over epochs.

    Example::

        mon = cr.debug.TrainingMonitor(csv_path="health.csv")
        cr.train.fit(model, loader, epochs=5, callbacks=[mon])
        mon.findings          # [(epoch, "vanishing", "0", "vanishing gradients: ..."), ...]
    """

    def __init__(self, model=None, csv_path=None, every=1, update_every=10, warn=True,
                 histograms=True, thresholds=None):
        self.model = model
        self.csv_path, self.every, self.warn = csv_path, max(1, int(every)), warn
        self.update_every = max(1, int(update_every))
        self.histograms, self.thresholds = histograms, thresholds
        self.history, self.findings, self.samples = [], [], {}
        self._handles, self._seen, self._epoch, self._losses = [], set(), 0, []
        self._attached = None

    # -- attaching ------------------------------------------------------------------------------
    def attach(self, model=None):
        """Put the hooks on ``model``; returns the monitor."""
        model = model if model is not None else self.model
        if model is None:
            raise ValueError("TrainingMonitor.attach: no model given")
        self.detach()
        self.model = self._attached = model
        self._params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        self._layer_of = {n: n.rpartition(".")[0] or "(model)" for n, _ in self._params}
        self._kind = {}
        recurrent = _recurrent_layers(model, self._params, self._layer_of, self._kind)
        self._handles.append(model.register_forward_pre_hook(self._pre_hook))
        owners = set(self._layer_of.values())
        leaves = [(n, m) for n, m in model.named_modules()
                  if n and next(iter(m.children()), None) is None]
        leaf_names = {n for n, _ in leaves}
        # rows in module order (input side first): modules owning parameters, and leaves
        self._order = [n or "(model)" for n, _ in model.named_modules()
                       if (n or "(model)") in owners or n in leaf_names]
        # a recurrent module's rows are its layers (and directions): gradient norm per layer
        self._order = [r for n in self._order for r in recurrent.get(n, [n])]
        # activation statistics come from the activation modules; a model that calls its
        # activations as functions gets them from its leaf modules' outputs instead
        acts = [(n, m) for n, m in leaves
                if type(m).__name__ in KINDS or type(m).__name__ in ACTIVATIONS]
        for name, m in leaves:
            self._kind[name] = KINDS.get(type(m).__name__, type(m).__name__)
        for name, m in acts or leaves:
            self._handles.append(m.register_forward_hook(self._make_act_hook(name)))
        for n, p in self._params:
            self._handles.append(p.register_hook(self._make_grad_hook(n)))
        self._reset_epoch()
        return self

    def detach(self):
        """Remove every hook: the model runs exactly as if it had never been watched."""
        for h in self._handles:
            h.remove()
        self._handles = []
        self._attached = None

    def _reset_epoch(self):
        self._acts = {}
        self._gsq = {}        # layer -> sum over recorded batches of the gradient norm
        self._upd = {}        # layer -> sum of update ratios
        self._nb = {}         # layer -> batches with a gradient / an update
        self._nu = {}
        self._batch, self._recording, self._pending, self._snap = 0, False, False, None
        self._cur = {}        # param name -> squared gradient norm for the current batch
        self._last_grad = {}

    # -- hooks ----------------------------------------------------------------------------------
    def _pre_hook(self, module, args):
        if not (STATE.enabled and getattr(module, "training", True)):
            self._recording = False
            return None
        if self._pending:
            self._finish_batch()
        self._recording = self._batch % self.every == 0
        if self._recording and self._batch % (self.every * self.update_every) == 0:
            # the snapshot costs a copy of every weight: update ratios vary slowly, so
            # one batch in ``update_every`` recorded ones is enough
            self._snap = [p._data.copy() for _, p in self._params]
        self._batch += 1
        return None

    def _make_act_hook(self, name):
        def hook(module, args, output):
            if self._recording and hasattr(output, "_data"):
                acc = self._acts.get(name)
                if acc is None:
                    acc = self._acts[name] = _Acts(self._kind[name])
                acc.add(output._data)
        return hook

    def _make_grad_hook(self, pname):
        def hook(g):
            if self._recording:
                a = g._data
                self._cur[pname] = self._cur.get(pname, 0.0) + float(np.vdot(a, a).real)
                self._last_grad[pname] = a
                self._pending = True
        return hook

    def _finish_batch(self):
        """Fold the last recorded batch in: gradient norms, and updates against the snapshot."""
        if not self._pending:
            return
        gsq, usq, wsq = {}, {}, {}
        for (n, p), old in zip(self._params, self._snap or [None] * len(self._params)):
            layer = self._layer_of[n]
            if n in self._cur:
                gsq[layer] = gsq.get(layer, 0.0) + self._cur[n]
            if old is not None:
                d = p._data - old
                usq[layer] = usq.get(layer, 0.0) + float(np.vdot(d, d).real)
                wsq[layer] = wsq.get(layer, 0.0) + float(np.vdot(old, old).real)
        for layer, v in gsq.items():
            self._gsq[layer] = self._gsq.get(layer, 0.0) + math.sqrt(v)
            self._nb[layer] = self._nb.get(layer, 0) + 1
        for layer, v in usq.items():
            ratio = math.sqrt(v) / max(math.sqrt(wsq[layer]), 1e-12)
            self._upd[layer] = self._upd.get(layer, 0.0) + ratio
            self._nu[layer] = self._nu.get(layer, 0) + 1
        self._cur, self._pending, self._snap = {}, False, None

    # -- epochs ---------------------------------------------------------------------------------
    def layer_stats(self):
        """This epoch's statistics so far: ``{layer: {"kind": ..., metric: value}}``."""
        self._finish_batch()
        layers = {name: {"kind": self._kind.get(name, "params")} for name in self._order}
        for n, p in self._params:
            layer = self._layer_of[n]
            s = layers[layer]
            s["weight_norm"] = math.sqrt(s.get("weight_norm", 0.0) ** 2
                                         + float(np.vdot(p._data, p._data).real))
            if layer in self._nb:
                s["grad_norm"] = self._gsq[layer] / self._nb[layer]
            if layer in self._nu:
                s["update_ratio"] = self._upd[layer] / self._nu[layer]
        for name, acc in self._acts.items():
            layers[name].update(acc.result())
        return layers

    def end_epoch(self, loss=None, logs=None):
        """Close the epoch: compute the statistics, warn, write the CSV row and the logs.

        Arguments:
            loss: this epoch's training loss (for the learning-rate checks), or ``None``.
            logs: a dict to update with flat ``"<layer>/<metric>"`` keys (the fit loop's logs).

        Returns:
            ``{layer: {metric: value}}`` for this epoch.
        """
        layers = self.layer_stats()
        if loss is None and logs:
            loss = logs.get("loss")
        if loss is not None:
            self._losses.append(float(loss))
        epoch = self._epoch
        self.history.append({"epoch": epoch, "loss": loss, "layers": layers})
        if logs is not None:
            for layer, s in layers.items():
                for k in METRICS:
                    if k in s:
                        logs[f"{layer}/{k}"] = s[k]
        if self.histograms:
            self._keep_samples(epoch)
        for kind, layer, msg in diagnose(layers, self._losses, self.thresholds):
            self.findings.append((epoch, kind, layer, msg))
            if self.warn and (kind, layer) not in self._seen:
                self._seen.add((kind, layer))
                warnings.warn(f"epoch {epoch}: {msg}", TrainingHealthWarning, stacklevel=2)
        if self.csv_path:
            self._write_csv(epoch, layers)
        self._epoch += 1
        self._reset_epoch()
        return layers

    def _keep_samples(self, epoch):
        rng = np.random.default_rng(epoch)
        for n, p in self._params:
            if not n.endswith("weight"):
                continue
            g = self._last_grad.get(n)
            w = p._data.ravel()
            pick = rng.choice(w.size, _SAMPLE, replace=False) if w.size > _SAMPLE else slice(None)
            self.samples.setdefault(self._layer_of[n], []).append(
                (epoch, w[pick].copy(), None if g is None else g.ravel()[pick].copy()))

    def _write_csv(self, epoch, layers):
        new = not os.path.exists(self.csv_path) or os.path.getsize(self.csv_path) == 0
        with open(self.csv_path, "a", newline="") as f:
            w = csv.writer(f)
            if new:
                w.writerow(("epoch", "layer", "kind") + METRICS)
            for layer, s in layers.items():
                w.writerow([epoch, layer, s.get("kind", "")]
                           + ["" if s.get(k) is None else f"{s[k]:.6g}" for k in METRICS])

    def series(self, layer, metric):
        """One metric of one layer over the recorded epochs (``nan`` where it is missing)."""
        return [h["layers"].get(layer, {}).get(metric, float("nan")) for h in self.history]

    def report(self):
        """This monitor's findings as text, one line per problem (empty when all is well)."""
        return "\n".join(f"epoch {e}: {msg}" for e, _, _, msg in self.findings)

    # -- callback interface: no per-batch hook (the forward pre-hook sees every batch) ----------
    def on_train_begin(self, logs=None):
        model = self.model   # set by the fit loop (set_context) or given to the constructor
        if model is None and isinstance(logs, dict):
            model = logs.get("model")
        self.attach(model)

    def on_epoch_end(self, epoch, logs=None):
        self._epoch = epoch
        self.end_epoch(logs=logs)

    def on_train_end(self, logs=None):
        self.detach()


def _recurrent_layers(model, params, layer_of, kind):
    """Regroup the parameters of nn.RNN/LSTM/GRU modules by layer and direction
    (``lstm.l0``, ``lstm.l0_reverse``, ...); returns ``{module row: [layer rows]}``."""
    import re

    from ..nn.rnn import RNNBase
    mods = {n or "(model)": m for n, m in model.named_modules() if isinstance(m, RNNBase)}
    rows = {}
    for n, _ in params:
        owner = layer_of[n]
        hit = re.search(r"_l(\d+)(_reverse)?$", n) if owner in mods else None
        if hit:
            row = f"{owner}.l{hit.group(1)}{hit.group(2) or ''}"
            layer_of[n] = row
            kind[row] = mods[owner].mode.lower()
            if row not in rows.setdefault(owner, []):
                rows[owner].append(row)
    return rows


def watch(model, **kwargs):
    """Start a :class:`TrainingMonitor` on ``model`` for a hand-written loop (see module doc).

    Returns:
        the attached monitor; call ``monitor.end_epoch(loss=...)`` after each epoch and
        ``monitor.detach()`` when done.
    """
    return TrainingMonitor(model, **kwargs).attach()
