"""Decision boundaries of 2-D classifiers (XOR, moons, spirals), once or over training.

Part of :mod:`chainrule.viz.plots` (matplotlib needed); see there for the conventions.
"""
from __future__ import annotations

import copy

import numpy as np

from ._mpl import _dtype, _finish, _plt

def _predict_grid(model, X, resolution):
    from ..autograd import no_grad
    from ..tensor import Tensor
    X = np.asarray(X, dtype=np.float64)
    pad = 0.1 * (X.max(0) - X.min(0)) + 1e-9
    lo, hi = X.min(0) - pad, X.max(0) + pad
    xs, ys = np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution)
    gx, gy = np.meshgrid(xs, ys)
    grid = np.stack([gx.ravel(), gy.ravel()], 1).astype(_dtype(model))
    was = getattr(model, "training", False)
    model.eval()
    try:
        with no_grad():
            out = model(Tensor(grid))._data
    finally:
        model.train(was)
    out = out.reshape(len(grid), -1)
    cls = (out[:, 0] > (0.5 if out.min() >= 0 and out.max() <= 1 else 0.0)).astype(int) \
        if out.shape[1] == 1 else out.argmax(1)
    return gx, gy, cls.reshape(gx.shape)


def plot_decision_boundary(model, X, y, path=None, ax=None, resolution=150, title=None):
    """The regions a 2-D classifier assigns to each class, with the data on top.

    Arguments:
        model: maps ``(N, 2)`` inputs to logits ``(N, C)`` (argmax) or one score ``(N, 1)``
            (probability > 0.5, or logit > 0).
        X, y: the points ``(N, 2)`` and their integer labels.
        ax: draw into this axes instead of a new figure.

    Returns:
        the matplotlib figure.

    Example::

        X, y = cr.datasets.make_moons(200)
        cr.viz.plot_decision_boundary(model, X, y, "moons.png")
    """
    plt = _plt()
    X, y = np.asarray(X), np.asarray(y).ravel()
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"plot_decision_boundary: X must have shape (N, 2), got {X.shape}")
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(4, 3.6))
    gx, gy, cls = _predict_grid(model, X, resolution)
    k = int(max(cls.max(), y.max())) + 1
    ax.contourf(gx, gy, cls, levels=np.arange(k + 1) - 0.5, cmap="coolwarm" if k == 2 else
                "tab10", alpha=0.3)
    ax.scatter(X[:, 0], X[:, 1], c=y, s=8, cmap="coolwarm" if k == 2 else "tab10",
               edgecolors="k", linewidths=0.2, vmin=0, vmax=k - 1)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)
    if fig is None:
        return ax.figure
    fig.tight_layout()
    return _finish(fig, path)


try:
    from ..train.callbacks import Callback as _Base
except ImportError:   # pragma: no cover
    class _Base:
        model = None

        def on_epoch_end(self, epoch, logs=None): pass


class BoundarySnapshots(_Base):
    """A ``fit`` callback keeping copies of the model's weights at chosen epochs.

    ``BoundarySnapshots(epochs=[0, 4, 19])``, or ``every=5``; ``.states`` is a list of
    ``(epoch, state_dict)`` for :func:`decision_boundary_over_epochs`.
    """

    def __init__(self, epochs=None, every=None):
        self.epochs, self.every, self.states = epochs, every, []

    def on_epoch_end(self, epoch, logs=None):
        if (self.epochs is None and (self.every is None or epoch % self.every == 0)) or \
                (self.epochs is not None and epoch in self.epochs):
            self.snapshot(epoch, self.model)

    def snapshot(self, epoch, model):
        self.states.append((epoch, {k: v.detach().clone() for k, v in
                                    model.state_dict().items()}))


def decision_boundary_over_epochs(model, X, y, states, path=None, cols=4, resolution=100):
    """A row of decision-boundary panels, one per recorded epoch.

    Arguments:
        model: the model (its weights are restored afterwards).
        states: ``[(epoch, state_dict), ...]``, e.g. :class:`BoundarySnapshots` ``.states``.

    Returns:
        the matplotlib figure.

    Example::

        snaps = cr.viz.BoundarySnapshots(every=5)
        cr.train.fit(model, loss_fn, opt, (X, y), epochs=20, callbacks=[snaps])
        cr.viz.decision_boundary_over_epochs(model, X, y, snaps.states, "boundary.png")
    """
    plt = _plt()
    if not states:
        raise ValueError("decision_boundary_over_epochs: no states recorded")
    n = len(states)
    cols = min(cols, n)
    r = -(-n // cols)
    fig, axes = plt.subplots(r, cols, figsize=(2.6 * cols, 2.5 * r), squeeze=False)
    keep = copy.deepcopy(model.state_dict())
    try:
        for ax, (epoch, sd) in zip(axes.ravel(), states):
            model.load_state_dict(sd)
            plot_decision_boundary(model, X, y, ax=ax, resolution=resolution,
                                   title=f"epoch {epoch}")
    finally:
        model.load_state_dict(keep)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    fig.tight_layout()
    return _finish(fig, path)
