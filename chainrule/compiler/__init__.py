"""``cr.compile``: capture a call once per input signature, then replay it (``capture.py``), as
generated Python code (``replay.py``).  It sits above ``nn`` and ``optim``: it uses both, and
they never import it."""
from __future__ import annotations

import functools

from ..nn.module import Module
from .capture import _Compiled
from .module import CompiledModule

__all__ = ["compile", "CompiledModule"]


def compile(model=None, *, fullgraph=False, dynamic=None, backend=None, mode=None,
            options=None, disable=False):
    """Capture a module's forward, or a whole training step, once per input signature and
    replay it (see :mod:`chainrule.compiler.capture`).

    As ``torch.compile``: the result computes the same numbers with less Python per call.  Use a
    compiled module exactly as the original (parameters are shared).  Usable as a decorator.

    Arguments:
        model: an ``nn.Module``, or a function of tensors returning a tensor or None (it may call
            ``backward()``, ``zero_grad()`` and ``optimizer.step()``).
        fullgraph: raise instead of falling back to eager mode when a call can't be captured.
        dynamic, backend, mode, options: accepted for PyTorch compatibility; chainrule always
            specializes on input shapes and replays its own recording.
        disable: return ``model`` unchanged.

    Returns:
        a ``CompiledModule`` for a module (its ``_orig_mod`` is the original, as in PyTorch),
        otherwise a function.

    Example::

        @cr.compile
        def train_step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss            # a new (detached) tensor on every call

        for x, y in loader:
            train_step(x, y).item()
    """
    if model is None:
        return functools.partial(compile, fullgraph=fullgraph, dynamic=dynamic,
                                 backend=backend, mode=mode, options=options, disable=disable)
    if disable:
        return model
    if isinstance(model, Module):
        return CompiledModule(model, fullgraph=fullgraph)
    if not callable(model):
        raise TypeError(f"cr.compile expects a Module or a function, got "
                        f"{type(model).__name__}")
    compiled = _Compiled(model, None, fullgraph)

    @functools.wraps(model)
    def wrapper(*args, **kwargs):
        return compiled(*args, **kwargs)

    wrapper._compiled = compiled
    return wrapper

