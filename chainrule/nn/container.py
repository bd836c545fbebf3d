"""Containers: ``Sequential``, ``ModuleList``, ``ModuleDict`` (as in ``torch.nn``)."""
from __future__ import annotations

import operator
from collections import OrderedDict

from .module import Module


def _index(idx, n, name):
    idx = operator.index(idx)
    if not -n <= idx < n:
        raise IndexError(f"{name}: index {idx} is out of range for {n} modules")
    return idx % n


class _ModuleSequence(Module):
    """What Sequential and ModuleList share: length, iteration, append/extend, renumbering."""

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self

    def _renumber(self, modules):
        """Re-register ``modules`` under the keys '0'..'n-1' (as PyTorch does after a removal)."""
        for k in list(self._modules):
            delattr(self, k)
        for i, m in enumerate(modules):
            self.add_module(str(i), m)


class Sequential(_ModuleSequence):
    """Modules applied one after the other; keys are ``'0', '1', ...`` or an OrderedDict's.

    Example::

        model = cr.nn.Sequential(cr.nn.Linear(784, 256), cr.nn.ReLU(), cr.nn.Linear(256, 10))
        model[0]          # Linear(in_features=784, out_features=256, bias=True)
        model[1:]         # a Sequential of the last two
    """

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for k, m in args[0].items():
                self.add_module(k, m)
        else:
            for i, m in enumerate(args):
                self.add_module(str(i), m)

    def forward(self, x):
        last = before = None
        for i, m in enumerate(self._modules.values()):
            try:
                y = m(x)
            except ValueError as e:
                if last is None or type(e).__name__ != "SpatialSizeError":
                    raise
                j, prev = last
                label = prev._label() if hasattr(prev, "_label") else type(prev).__name__
                raise type(e)(f"{e}; layer {j} ({label}) made it that small: it turned "
                              f"{tuple(before.shape)} into {tuple(x.shape)}") from None
            last, before, x = (i, m), x, y
        return x

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(OrderedDict(list(self._modules.items())[idx]))
        return list(self._modules.values())[_index(idx, len(self), "Sequential")]

    def __setitem__(self, idx, module):
        key = list(self._modules)[_index(idx, len(self), "Sequential")]
        self.add_module(key, module)

    def __delitem__(self, idx):
        keys = list(self._modules)
        for k in (keys[idx] if isinstance(idx, slice) else [keys[_index(idx, len(self),
                                                                        "Sequential")]]):
            delattr(self, k)
        # renumber, as PyTorch does, so keys stay '0'..'n-1'
        items = list(self._modules.items())
        if all(k.isdigit() for k, _ in items):
            self._renumber([m for _, m in items])

    def insert(self, index, module):
        n = len(self)
        if not -n <= index <= n:
            raise IndexError(f"Sequential.insert: index {index} out of range for {n} modules")
        mods = list(self._modules.values())
        mods.insert(index % (n + 1) if index < 0 else index, module)
        self._renumber(mods)
        return self


class ModuleList(_ModuleSequence):
    """A list of modules whose parameters are registered (keys ``'0', '1', ...``)."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(list(self._modules.values())[idx])
        return list(self._modules.values())[_index(idx, len(self), "ModuleList")]

    def __setitem__(self, idx, module):
        self.add_module(str(_index(idx, len(self), "ModuleList")), module)

    def __delitem__(self, idx):
        mods = list(self._modules.values())
        del mods[idx]
        self._renumber(mods)

    def __iadd__(self, modules):
        return self.extend(modules)

    def insert(self, index, module):
        mods = list(self._modules.values())
        mods.insert(index, module)
        self._renumber(mods)


class ModuleDict(Module):
    """A dict of modules whose parameters are registered under their keys (order kept)."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        self.add_module(key, module)

    def __delitem__(self, key):
        delattr(self, key)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key):
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def items(self):
        return self._modules.items()

    def values(self):
        return self._modules.values()

    def pop(self, key):
        m = self._modules[key]
        delattr(self, key)
        return m

    def clear(self):
        for k in list(self._modules):
            delattr(self, k)

    def update(self, modules):
        items = modules.items() if hasattr(modules, "items") else modules
        for k, m in items:
            self.add_module(k, m)
