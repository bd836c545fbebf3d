"""Plots for seeing what a network does (matplotlib, an optional extra: ``pip install
chainrule[plot]``).

* :func:`plot_history` - training curves (loss, accuracy, and their ``val_`` twins);
* :func:`plot_activations` - per-layer activation heatmaps for a batch, and the notes' "bar length =
  level of activation" view for one input;
* :func:`plot_weight_histograms` - weight and gradient histograms per layer over training;
* :func:`plot_layer_stats` - a monitor's per-layer gradient norms, update ratios, activation
  spread against depth (vanishing gradients show as a slope);
* :func:`plot_decision_boundary` / :func:`decision_boundary_over_epochs` - a 2-D classifier's
  regions (XOR, moons, spirals), once or as it learns (:class:`BoundarySnapshots` records them);
* :func:`write_all_plots` - all of the above into a folder (``chainrule train --plots``).

Every function returns the matplotlib figure and saves it when ``path`` is given (the figure is
then closed).  Nothing here is imported by ``import chainrule``.
"""
from __future__ import annotations

import os

import numpy as np

from ._mpl import _dtype, _finish, _layer_outputs, _plt  # noqa: F401
# the decision-boundary plots live in boundary.py; they are part of this module's API
from .boundary import (BoundarySnapshots, _predict_grid, decision_boundary_over_epochs,
                       plot_decision_boundary)

__all__ = ["plot_history", "plot_activations", "plot_weight_histograms", "plot_layer_stats",
           "plot_decision_boundary", "decision_boundary_over_epochs", "BoundarySnapshots",
           "write_all_plots"]


def _history_dict(history):
    if hasattr(history, "history"):
        history = history.history
    if isinstance(history, list):   # a list of per-epoch dicts
        out = {}
        for row in history:
            for k, v in row.items():
                out.setdefault(k, []).append(v)
        return out
    return dict(history)


def plot_history(history, path=None, keys=None, title=None):
    """Training curves: one panel per quantity, the validation curve beside the training one.

    Arguments:
        history: what ``fit`` returns (``History``), its ``.history`` dict, or a list of dicts.
        path: save the figure there (PNG/SVG/PDF by suffix).
        keys: the quantities to draw (default: ``loss`` and every metric that has numbers, not
            ``lr``/``time`` or per-layer monitor keys).

    Returns:
        the matplotlib figure.

    Example::

        hist = cr.train.fit(model, loss_fn, opt, (X, y), epochs=20, val_data=(Xv, yv))
        cr.viz.plot_history(hist, "curves.png")
    """
    plt = _plt()
    h = _history_dict(history)
    if keys is None:
        keys = [k for k in h if not k.startswith("val_") and "/" not in k
                and k not in ("lr", "time", "epoch", "batch", "size")]
    keys = [k for k in keys if k in h] or list(h)[:1]
    fig, axes = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 3.2), squeeze=False)
    for ax, k in zip(axes[0], keys):
        ep = np.arange(1, len(h[k]) + 1)
        ax.plot(ep, h[k], "o-", ms=3, label="train")
        if "val_" + k in h:
            ax.plot(ep, h["val_" + k], "s--", ms=3, label="validation")
            ax.legend(fontsize=8)
        ax.set_xlabel("epoch")
        ax.set_title(k)
        if k == "loss" and np.all(np.asarray(h[k], dtype=float) > 0):
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return _finish(fig, path)


def plot_activations(model, x, path=None, sample=0, max_examples=32, max_units=48,
                     activations_only=True):
    """Per-layer activations: heatmaps for a batch (top) and bars for one input (bottom).

    The bottom row is the notes' forward-propagation picture: one bar per unit, "bar length =
    level of activation", for input ``x[sample]``.

    Arguments:
        model: a module; ``x``: an input batch (tensor or array).
        sample: which example the bar view shows.
        max_examples, max_units: crop big layers to this many rows / columns.
        activations_only: show only the outputs of activation modules (ReLU, Sigmoid, ...)
            when the model has any; otherwise every leaf module's output.

    Returns:
        the matplotlib figure.

    Example::

        cr.viz.plot_activations(model, X_test[:32], "activations.png")
    """
    plt = _plt()
    outs = _layer_outputs(model, x)
    acts = [(n, a) for n, a in outs if any(k in n for k in ("ReLU", "Sigmoid", "Tanh", "ELU",
                                                             "GELU", "Softplus", "SiLU"))]
    if activations_only and acts:
        outs = acts
    if not outs:
        raise ValueError("plot_activations: the model has no leaf module with a float output")
    n = len(outs)
    fig, axes = plt.subplots(2, n, figsize=(max(2.6 * n, 4), 6.2), squeeze=False,
                             gridspec_kw={"height_ratios": [1.2, 1]})
    for j, (name, a) in enumerate(outs):
        a2 = a.reshape(a.shape[0], -1) if a.ndim > 1 else a.reshape(-1, 1)
        hm = a2[:max_examples, :max_units]
        ax = axes[0, j]
        im = ax.imshow(hm, aspect="auto", cmap="viridis", interpolation="nearest")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("unit", fontsize=8)
        if j == 0:
            ax.set_ylabel("example", fontsize=8)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.02)
        bars = a2[min(sample, a2.shape[0] - 1), :max_units]
        ax = axes[1, j]
        units = np.arange(len(bars))
        ax.barh(units, bars, color=np.where(bars >= 0, "#1f77b4", "#d62728"), height=0.8)
        ax.invert_yaxis()
        ax.axvline(0, color="black", lw=0.6)
        ax.set_xlabel("activation", fontsize=8)
        if j == 0:
            ax.set_ylabel(f"unit (input #{sample})", fontsize=8)
        ax.tick_params(labelsize=7)
    fig.suptitle("activations per layer: a batch (top), one input as bars (bottom)", fontsize=10)
    fig.tight_layout()
    return _finish(fig, path)


def plot_weight_histograms(source, path=None, max_epochs=6, bins=40, max_layers=None):
    """Weight (left) and gradient (right) histograms per layer, one curve per epoch.

    Arguments:
        source: a :class:`~chainrule.debug.TrainingMonitor` (histograms over training, darker =
            later epoch) or a model (its current weights and ``.grad``).
        max_epochs: draw at most this many epochs, evenly spaced, first and last included.
        max_layers: draw at most this many layers, evenly spaced, first and last included.

    Returns:
        the matplotlib figure.

    Example::

        mon = cr.debug.TrainingMonitor()
        cr.train.fit(model, loss_fn, opt, (X, y), epochs=10, callbacks=[mon])
        cr.viz.plot_weight_histograms(mon, "weights.png")
    """
    plt = _plt()
    samples = getattr(source, "samples", None)
    if samples is None:   # a model: one snapshot of the weight matrices
        samples = {}
        for name, p in source.named_parameters():
            if name.endswith("weight"):
                g = None if p.grad is None else p.grad._data.ravel()
                samples[name.rpartition(".")[0] or name] = [(0, p._data.ravel(), g)]
    if not samples:
        raise ValueError("plot_weight_histograms: nothing recorded (a monitor needs at least "
                         "one finished epoch; a model needs weight parameters)")
    rows = list(samples.items())
    if max_layers is not None and len(rows) > max_layers:
        rows = [rows[i] for i in np.unique(np.linspace(0, len(rows) - 1, max_layers).astype(int))]
    fig, axes = plt.subplots(len(rows), 2, figsize=(8, 1.6 * len(rows) + 0.6), squeeze=False)
    cmap = plt.get_cmap("viridis")
    for i, (layer, recs) in enumerate(rows):
        pick = np.unique(np.linspace(0, len(recs) - 1, min(max_epochs, len(recs))).astype(int))
        for col, what in ((0, "weights"), (1, "gradients")):
            ax = axes[i, col]
            drawn = False
            for k, r in enumerate(pick):
                epoch, w, g = recs[r]
                v = w if col == 0 else g
                if v is None or not np.isfinite(v).all():
                    continue
                c = cmap(k / max(len(pick) - 1, 1))
                ax.hist(v, bins=bins, histtype="step", color=c, label=f"epoch {epoch}")
                drawn = True
            ax.set_title(f"layer {layer}: {what}", fontsize=9)
            ax.tick_params(labelsize=7)
            if drawn and i == 0:
                ax.legend(fontsize=6)
            if col == 1 and drawn:
                ax.ticklabel_format(axis="x", style="sci", scilimits=(-2, 2))
    fig.tight_layout()
    return _finish(fig, path)


def plot_layer_stats(monitors, path=None, metrics=("grad_norm", "update_ratio", "act_std"),
                     epoch=-1):
    """Per-layer monitor statistics against depth: where gradients vanish or explode.

    Arguments:
        monitors: a :class:`~chainrule.debug.TrainingMonitor`, or ``{"label": monitor}`` to
            compare runs (e.g. before and after a fix) on the same axes.
        metrics: which statistics, one panel each (log scale for norms and ratios).
        epoch: which recorded epoch (default: the last).

    Returns:
        the matplotlib figure.

    Example::

        cr.viz.plot_layer_stats({"sigmoid": mon_a, "relu": mon_b}, "layer_stats.png")
    """
    plt = _plt()
    if not isinstance(monitors, dict):
        monitors = {"": monitors}
    fig, axes = plt.subplots(1, len(metrics), figsize=(4 * len(metrics), 3.2), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        for label, mon in monitors.items():
            if not mon.history:
                raise ValueError("plot_layer_stats: the monitor has no finished epoch")
            layers = mon.history[epoch]["layers"]
            pts = [(name, s[metric]) for name, s in layers.items() if s.get(metric) is not None]
            if pts:
                ax.plot(range(len(pts)), [v for _, v in pts], "o-", ms=3, label=label or None)
                if len(pts) <= 12:
                    ax.set_xticks(range(len(pts)), [n for n, _ in pts], fontsize=7)
        ax.set_xlabel("layer (input side on the left)", fontsize=8)
        ax.set_title(metric, fontsize=9)
        if metric in ("grad_norm", "update_ratio", "weight_norm"):
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        if len(monitors) > 1:
            ax.legend(fontsize=7)
    fig.tight_layout()
    return _finish(fig, path)


def write_all_plots(model, history, X=None, y=None, out_dir=".", monitor=None, snapshots=None,
                    prefix=""):
    """Write every plot that applies into ``out_dir`` (what ``chainrule train --plots`` does).

    Arguments:
        model, history: the trained model and ``fit``'s history.
        X, y: some inputs (for the activation view) and, for 2-D data, labels (for the decision
            boundary).
        monitor: a :class:`~chainrule.debug.TrainingMonitor` that watched training (weight and
            gradient histograms over epochs); without it the final weights are drawn.
        snapshots: a :class:`BoundarySnapshots` (or its ``.states``) for the boundary over epochs.

    Returns:
        the list of files written.

    Example::

        cr.viz.write_all_plots(model, history, X_test, y_test, "runs/exp1", monitor=mon)
    """
    _plt()
    os.makedirs(out_dir, exist_ok=True)
    done = []

    def out(name):
        p = os.path.join(out_dir, prefix + name)
        done.append(p)
        return p

    if history is not None:
        plot_history(history, out("history.png"))
    if X is not None:
        Xs = np.asarray(X)[:64]
        plot_activations(model, Xs, out("activations.png"))
    plot_weight_histograms(monitor if monitor is not None and monitor.samples else model,
                           out("weights.png"))
    if monitor is not None and monitor.history:
        plot_layer_stats(monitor, out("layer_stats.png"))
    from .cnn import _convs, plot_feature_maps, plot_filters
    if _convs(model):
        plot_filters(model, out("filters.png"))
        if X is not None:
            plot_feature_maps(model, np.asarray(X)[:1], out("feature_maps.png"))
    if X is not None and y is not None and np.asarray(X).ndim == 2 and np.asarray(X).shape[1] == 2:
        plot_decision_boundary(model, X, y, out("decision_boundary.png"))
        states = getattr(snapshots, "states", snapshots)
        if states:
            decision_boundary_over_epochs(model, X, y, states, out("decision_boundary_epochs.png"))
    return done
