"""``Module`` and ``Parameter``: parameters are found by walking attributes, as in PyTorch.

Assigning a :class:`Parameter`, a :class:`Module` or a registered buffer to a module attribute
records it in an ordered dict (``_parameters``, ``_modules``, ``_buffers``); the dotted attribute
paths become the ``state_dict`` keys (``0.weight``, ``fc1.bias``).  The value is also kept in the
instance ``__dict__``, so reading ``self.weight`` in ``forward`` is a plain attribute lookup.
``state_dict``, ``load_state_dict`` and the dtype conversions (``to``, ``float``, ...) are in
``_module_state.py``.
"""
from __future__ import annotations

from collections import OrderedDict

from ..graph.modes import STATE
from ..tensor import Tensor
from ..utils.hooks import RemovableHandle
from . import _hooks
from ._module_state import _IncompatibleKeys, _ModuleState  # noqa: F401 (importable here)
from .parameter import Parameter


def _addindent(s, n):
    lines = s.split("\n")
    if len(lines) == 1:
        return s
    return lines[0] + "\n" + "\n".join(" " * n + line for line in lines[1:])


class Module(_ModuleState):
    """Base class of every layer and model (as ``torch.nn.Module``).

    Subclasses call ``super().__init__()`` and define ``forward``; calling the module runs the
    forward pre-hooks, ``forward``, the forward hooks and sets up full backward hooks.

    Example::

        class MLP(cr.nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = cr.nn.Linear(4, 8)
                self.fc2 = cr.nn.Linear(8, 2)
            def forward(self, x):
                return self.fc2(cr.relu(self.fc1(x)))

        list(dict(MLP().named_parameters()))   # ['fc1.weight', 'fc1.bias', 'fc2.weight', ...]
    """

    def __init__(self):
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = OrderedDict()
        d["_buffers"] = OrderedDict()
        d["_non_persistent_buffers_set"] = set()
        d["_modules"] = OrderedDict()
        d["_forward_pre_hooks"] = OrderedDict()
        d["_forward_hooks"] = OrderedDict()
        d["_backward_hooks"] = OrderedDict()

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required '
                                  '"forward" function')

    def __call__(self, *args, **kwargs):
        d = self.__dict__
        try:
            hooked = d["_forward_pre_hooks"] or d["_forward_hooks"] or d["_backward_hooks"]
        except KeyError:
            raise AttributeError(f"{type(self).__name__} was not initialized: call "
                                 "super().__init__() first in its __init__") from None
        if hooked:
            return self._call_with_hooks(args, kwargs)
        return self.forward(*args, **kwargs)

    def _call_with_hooks(self, args, kwargs):
        for hook in list(self._forward_pre_hooks.values()):
            r = hook(self, args)
            if r is not None:
                args = r if isinstance(r, tuple) else (r,)
        bw = None
        if self._backward_hooks and STATE.enabled:
            bw = _hooks.BackwardHook(self, list(self._backward_hooks.values()))
            args = bw.setup_inputs(args)
        out = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            r = hook(self, args, out)
            if r is not None:
                out = r
        if bw is not None:
            out = bw.setup_outputs(out)
        return out

    # -- attribute registration -----------------------------------------------------------------
    def __setattr__(self, name, value):
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self._forget(name)
            params[name] = value
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                                "(cr.nn.Parameter or None expected)")
            params[name] = None
        elif isinstance(value, Module):
            if params is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self._forget(name)
            d["_modules"][name] = value
        elif params is not None and name in d["_modules"]:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as child module "
                                f"'{name}' (cr.nn.Module or None expected)")
            d["_modules"][name] = None
        elif params is not None and name in d["_buffers"]:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                                "(cr.Tensor or None expected)")
            d["_buffers"][name] = value
        object.__setattr__(self, name, value)   # respects properties defined by subclasses

    def _forget(self, name):
        d = self.__dict__
        for k in ("_parameters", "_buffers", "_modules"):
            d[k].pop(name, None)
        d["_non_persistent_buffers_set"].discard(name)

    def __delattr__(self, name):
        d = self.__dict__
        if name in d.get("_parameters", ()) or name in d.get("_buffers", ()) or \
                name in d.get("_modules", ()):
            self._forget(name)
            d.pop(name, None)
        else:
            object.__delattr__(self, name)

    def register_parameter(self, name, param):
        self._register("_parameters", "parameter", Parameter, name, param)

    def register_buffer(self, name, tensor, persistent=True):
        """Keep a tensor that is state but not a parameter (saved in ``state_dict``)."""
        self._register("_buffers", "buffer", Tensor, name, tensor)
        if not persistent:
            self._non_persistent_buffers_set.add(name)

    def _register(self, table, kind, cls, name, value):
        if value is not None and not isinstance(value, cls):
            raise TypeError(f"cannot assign '{type(value).__name__}' object to {kind} "
                            f"'{name}' (cr.{'nn.' * (cls is Parameter)}{cls.__name__} or None "
                            "required)")
        if "." in name or not name:
            raise KeyError(f'{kind} name can\'t contain "." or be empty, got {name!r}')
        self._forget(name)
        self.__dict__[table][name] = value
        self.__dict__[name] = value

    def add_module(self, name, module):
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        if "." in str(name) or not str(name):
            raise KeyError(f'module name can\'t contain "." or be empty, got {name!r}')
        name = str(name)
        self._forget(name)
        self._modules[name] = module
        self.__dict__[name] = module

    register_module = add_module

    def get_submodule(self, target):
        """The module at dotted path ``target`` (``''`` is ``self``)."""
        if target == "":
            return self
        mod = self
        for i, item in enumerate(target.split(".")):
            sub = mod._modules.get(item) if isinstance(mod, Module) else None
            if sub is None:
                path = ".".join(target.split(".")[:i]) or "the model"
                raise AttributeError(f"{type(mod).__name__} ({path}) has no submodule "
                                     f"`{item}` (looking up {target!r})")
            mod = sub
        return mod

    def get_parameter(self, target):
        mod_path, _, name = target.rpartition(".")
        mod = self.get_submodule(mod_path)
        if name not in mod._parameters:
            raise AttributeError(f"{type(mod).__name__} has no parameter `{name}`")
        return mod._parameters[name]

    # -- walking ---------------------------------------------------------------------------------
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is None:
                continue
            yield from m.named_modules(memo, prefix + ("." if prefix else "") + name,
                                       remove_duplicate)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def _named_members(self, kind, prefix, recurse, remove_duplicate=True):
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) \
            if recurse else [(prefix, self)]
        for mp, m in mods:
            for k, v in m.__dict__[kind].items():
                if v is None or (remove_duplicate and id(v) in seen):
                    continue
                if remove_duplicate:
                    seen.add(id(v))
                yield mp + ("." if mp else "") + k, v

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """``(dotted_name, Parameter)`` pairs, each shared parameter once."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # -- modes and gradients ----------------------------------------------------------------------
    def train(self, mode=True):
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        self.__dict__["training"] = mode
        for m in self.children():   # each child's own train() runs (subclasses may extend it)
            m.train(mode)
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad = p.grad.detach() if p.grad._node is not None else p.grad
                p.grad._data[...] = 0
                p.grad._version += 1

    def apply(self, fn):
        """Call ``fn`` on every submodule (children first) and on ``self``; returns ``self``."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # -- hooks -----------------------------------------------------------------------------------
    def _add_hook(self, table, hook, prepend=False):
        handle = RemovableHandle(table)
        table[handle.id] = hook
        if prepend:
            table.move_to_end(handle.id, last=False)
        return handle

    def register_forward_pre_hook(self, hook, prepend=False):
        """``hook(module, args) -> None or new args`` before each forward."""
        return self._add_hook(self._forward_pre_hooks, hook, prepend)

    def register_forward_hook(self, hook, prepend=False):
        """``hook(module, args, output) -> None or new output`` after each forward."""
        return self._add_hook(self._forward_hooks, hook, prepend)

    def register_full_backward_hook(self, hook, prepend=False):
        """``hook(module, grad_input, grad_output) -> None or new grad_input`` (see ``_hooks``)."""
        return self._add_hook(self._backward_hooks, hook, prepend)

    # -- printing --------------------------------------------------------------------------------
    def extra_repr(self):
        return ""

    def _get_name(self):
        return type(self).__name__

    def __repr__(self):
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({k}): " + _addindent(repr(m), 2) for k, m in self._modules.items()]
        lines = extra_lines + child_lines
        s = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                s += extra_lines[0]
            else:
                s += "\n  " + "\n  ".join(lines) + "\n"
        return s + ")"

    def __getattr__(self, name):
        # only reached when normal lookup fails: entries put straight into the dicts
        d = self.__dict__
        for k in ("_parameters", "_buffers", "_modules"):
            table = d.get(k)
            if table is not None and name in table:
                return table[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __dir__(self):
        return sorted(set(object.__dir__(self)))

    def __getstate__(self):
        return self.__dict__.copy()

    def __setstate__(self, state):
        self.__dict__.update(state)
