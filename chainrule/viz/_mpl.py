"""Helpers shared by the plot modules: matplotlib imported lazily, saving, the model's dtype."""
from __future__ import annotations

import os

import numpy as np


def _plt():
    try:
        import matplotlib
    except ImportError:
        raise ImportError("chainrule.viz plots need matplotlib: pip install 'chainrule[plot]' "
                          "(or pip install matplotlib)") from None
    if not os.environ.get("DISPLAY") and not os.environ.get("MPLBACKEND"):
        matplotlib.use("Agg")   # headless: write files, never try to open a window
    import matplotlib.pyplot as plt
    return plt


def _finish(fig, path, dpi=90):
    if path is not None:
        path = os.fspath(path)
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        fig.savefig(path, dpi=dpi, bbox_inches="tight")
        import matplotlib.pyplot as plt
        plt.close(fig)
    return fig


def _dtype(model):
    for _, p in model.named_parameters():
        return p.dtype
    return np.float32
