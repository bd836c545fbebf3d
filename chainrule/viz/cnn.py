"""Seeing inside a CNN: the first layer's filters and each conv layer's feature maps.

Needs matplotlib (``pip install chainrule[plot]``).

Example::

    cr.viz.plot_filters(model, "filters.png")
    cr.viz.plot_feature_maps(model, x[:1], "feature_maps.png")
"""
from __future__ import annotations

import numpy as np

from ._mpl import _finish, _layer_outputs, _plt


def _convs(model):
    from ..nn import Conv2d
    return [(n, m) for n, m in model.named_modules() if isinstance(m, Conv2d)]


def plot_filters(model, path=None, layer=None, cols=8):
    """The kernels of a Conv2d (by default the model's first), one tile per output channel.

    One input channel: grey tiles; three: colour; more: the mean over input channels.  Each
    tile is scaled on its own (blue negative, red positive, white zero).

    Returns:
        the matplotlib figure.
    """
    plt = _plt()
    convs = _convs(model) if layer is None else [(str(layer), layer)]
    if not convs:
        raise ValueError("plot_filters: the model has no Conv2d layer")
    name, conv = convs[0]
    w = conv.weight._data
    o = w.shape[0]
    cols = min(cols, o)
    rows = -(-o // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.2 * cols, 1.25 * rows + 0.4),
                             squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k >= o:
            continue
        f = w[k]
        if f.shape[0] == 3:
            f = f.transpose(1, 2, 0)
            f = (f - f.min()) / (np.ptp(f) or 1.0)
            ax.imshow(f, interpolation="nearest")
        else:
            f = f.mean(0)
            m = np.abs(f).max() or 1.0
            ax.imshow(f, cmap="bwr", vmin=-m, vmax=m, interpolation="nearest")
        ax.set_title(str(k), fontsize=7)
    fig.suptitle(f"filters of {name or 'conv'} ({type(conv).__name__} "
                 f"{conv.in_channels} -> {conv.out_channels}, {w.shape[2]}x{w.shape[3]})",
                 fontsize=9)
    fig.tight_layout()
    return _finish(fig, path)


def plot_feature_maps(model, x, path=None, max_maps=8):
    """The input and, per conv layer, its first ``max_maps`` output channels for one input.

    Arguments:
        model: a module with Conv2d layers; ``x``: one input, shaped as the model wants
            (a batch of one; only the first example is drawn).

    Returns:
        the matplotlib figure.
    """
    plt = _plt()
    x = np.asarray(getattr(x, "_data", x))
    outs = [(n, a) for n, a in _layer_outputs(model, x[:1]) if "(Conv2d)" in n]
    if not outs:
        raise ValueError("plot_feature_maps: the model has no Conv2d layer")
    cols = 1 + min(max_maps, max(a.shape[1] for _, a in outs))
    fig, axes = plt.subplots(len(outs), cols, figsize=(1.3 * cols, 1.45 * len(outs) + 0.3),
                             squeeze=False)
    img = x[0]
    side = int(round(np.sqrt(img.size)))
    img = img[0] if img.ndim == 3 else img.reshape(side, side) if img.ndim == 1 else img
    for r, (name, a) in enumerate(outs):
        for c in range(cols):
            ax = axes[r, c]
            ax.axis("off")
            if c == 0:
                if r == 0:
                    ax.imshow(img, cmap="gray", interpolation="nearest")
                    ax.set_title("input", fontsize=7)
                else:
                    ax.text(0.5, 0.5, name.split(" ")[0], ha="center", va="center",
                            fontsize=8, transform=ax.transAxes)
                continue
            if c - 1 < a.shape[1]:
                ax.imshow(a[0, c - 1], cmap="viridis", interpolation="nearest")
                ax.set_title(f"{name.split(' ')[0]}:{c - 1}", fontsize=6)
    fig.suptitle("feature maps of each conv layer for one input (before the activation)",
                 fontsize=9)
    fig.tight_layout()
    return _finish(fig, path)
