"""Training curves: loss and accuracy per epoch, train and validation (needs matplotlib)."""
from __future__ import annotations

__all__ = ["plot_curves"]


def plot_curves(history, path):
    """Save loss and accuracy curves (train solid, validation dashed) to ``path``.

    Arguments:
        history: a :class:`~chainrule.train.History` or its ``.history`` dict.
        path: the image file (PNG by default; the suffix picks the format).

    Returns:
        ``None`` on success, or a one-line note when matplotlib is not installed (nothing is
        written then).

    Example::

        >>> plot_curves(fit(model, loss_fn, opt, (X, y), epochs=5), "curves.png")
    """
    history = getattr(history, "history", history)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "note: curves.png skipped (matplotlib is not installed: pip install matplotlib)"
    epochs = range(1, len(history.get("loss", [])) + 1)
    keys = [k for k in ("loss", "accuracy") if history.get(k) or history.get("val_" + k)]
    fig, axes = plt.subplots(1, max(1, len(keys)), figsize=(5 * max(1, len(keys)), 4),
                             squeeze=False)
    for ax, key in zip(axes[0], keys):
        for prefix, style in (("", "-"), ("val_", "--")):
            vals = history.get(prefix + key)
            if vals:
                ax.plot(epochs, vals, style, label=("validation " if prefix else "train ") + key)
        ax.set_xlabel("epoch")
        ax.set_title(key)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return None
