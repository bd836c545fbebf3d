"""``CompiledModule``: what ``cr.compile(module)`` returns (as PyTorch's ``OptimizedModule``)."""
from __future__ import annotations

from ..nn.module import Module
from .capture import _Compiled

__all__ = ["CompiledModule"]


class CompiledModule(Module):
    """A module whose forward is captured once per input signature and then replayed.

    The original module is the child ``_orig_mod`` (so ``state_dict`` keys carry the
    ``_orig_mod.`` prefix, as in PyTorch); attributes it has are reachable through this wrapper,
    and both share the same parameters.  ``train()``/``eval()`` and hooks on the original are
    honoured: a change of training mode re-traces, hooks make the call run eagerly.

    Example::

        model = cr.compile(net)            # net's parameters are model's parameters
        out = model(x)                     # first call: eager, recorded; later calls: replayed
    """

    def __init__(self, mod, fullgraph=False):
        super().__init__()
        self._orig_mod = mod
        self.__dict__["_compiled"] = _Compiled(mod, mod, fullgraph)

    def forward(self, *args, **kwargs):
        return self.__dict__["_compiled"](*args, **kwargs)

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.__dict__["_modules"]["_orig_mod"], name)

    def __repr__(self):
        return f"CompiledModule({self._orig_mod!r})"
