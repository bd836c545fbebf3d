"""Utilities: data loading (``cr.utils.data``), removable hook handles, and TensorBoard logging
(``cr.utils.tensorboard``, loaded on first use)."""
from . import data, hooks  # noqa: F401


def __getattr__(name):
    if name == "tensorboard":
        import importlib
        return importlib.import_module(".tensorboard", __name__)
    raise AttributeError(f"module 'chainrule.utils' has no attribute {name!r}")
