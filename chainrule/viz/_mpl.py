"""Helpers shared by the plot modules: matplotlib imported lazily, saving, the model's dtype,
the outputs of its leaf modules."""
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


def _layer_outputs(model, x):
    """Outputs of the model's leaf modules for input ``x`` (no grad, eval mode), in call order."""
    from ..autograd import no_grad
    from ..tensor import Tensor
    outs, handles = [], []
    for name, m in model.named_modules():
        if name and next(iter(m.children()), None) is None:
            def hook(mod, args, out, name=name):
                if isinstance(out, Tensor) and out.dtype.kind == "f":
                    outs.append((f"{name} ({type(mod).__name__})", out._data))
            handles.append(m.register_forward_hook(hook))
    was = getattr(model, "training", False)
    try:
        model.eval()
        with no_grad():
            model(x if isinstance(x, Tensor) else Tensor(np.asarray(x, dtype=_dtype(model))))
    finally:
        for h in handles:
            h.remove()
        model.train(was)
    return outs
