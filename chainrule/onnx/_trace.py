"""The trace behind an export: which layer read which tensor, and the ONNX name of each tensor.

The model runs once on the example inputs with a forward hook on every layer that has a
converter. The run records autograd's graph (the float example inputs require a gradient), so a
tensor that reached a layer without coming out of one can be traced back when basic indexing
made it (``self.head(out[:, -1])``); any other computation between layers is reported, naming
the op.
"""
from __future__ import annotations

import numpy as np

from .. import nn
from ..graph.modes import enable_grad
from ..nn.utils.rnn import PackedSequence
from ..ops.movement import Index
from ..tensor import Tensor, _new
from . import converters as C


class ExportError(ValueError):
    """The model cannot be written as ONNX (the message names the layer and why)."""


_OUTSIDE = ("(the forward computes outside its layers, e.g. x + h or a reshape; only chains of "
            "layers, and indexing such as out[:, -1] between them, can be exported)")


def structure(obj, fn):
    """``obj`` (a tensor, ``None`` or nested tuples/lists of them) with ``fn`` applied to each
    tensor."""
    if obj is None:
        return None
    if isinstance(obj, PackedSequence):
        raise ValueError("a PackedSequence cannot be exported (ONNX's recurrent ops take "
                          "padded batches: pass the padded tensor)")
    if isinstance(obj, (tuple, list)):
        return tuple(structure(o, fn) for o in obj)
    return fn(obj)


def leaves(obj):
    """The tensors (or names) of a structure, in order, ``None`` left out."""
    out = []
    structure(obj, out.append)
    return out


def units(model):
    """``[(path, module)]`` of the layers that will be converted; error for leaves without one."""
    found, stack = [], [("", model)]
    while stack:
        path, m = stack.pop()
        if C.find(m) is not None:
            found.append((path, m))
            continue
        kids = list(m.named_children())
        if not kids:
            where = f"layer {path!r} " if path else "the model "
            known = ", ".join(sorted({c.__name__ for c in C.CONVERTERS}))
            raise ExportError(f"cannot export {where}({type(m).__name__}): no ONNX converter for "
                              f"{type(m).__name__}. Exportable layers: {known}; add one with "
                              "@chainrule.onnx.converter(YourLayer)")
        stack.extend(((f"{path}.{n}" if path else n), c) for n, c in reversed(kids))
    return found


def examples(args):
    """The example as a tuple of positional arguments, each a Tensor (or a tuple of them, as an
    LSTM's ``(h_0, c_0)``); float ones become fresh leaves that require a gradient."""
    if not isinstance(args, (tuple, list)):
        args = (args,)

    def leaf(a):
        if isinstance(a, np.ndarray):
            a = _new(a, False, None)
        if not isinstance(a, Tensor):
            raise TypeError(f"export: example inputs must be chainrule Tensors or NumPy arrays, "
                            f"got {type(a).__name__}")
        if a.dtype.kind not in "fiu":
            raise ExportError(f"export: example inputs must be floating (or integer indices), "
                              f"got {a.dtype}")
        return _new(a._data, a.dtype.kind == "f", None)
    return tuple(structure(a, leaf) for a in args)


def record_calls(model, args):
    """Run the model with hooks on its layers; returns the calls in order and the output."""
    calls, handles = [], []
    for path, m in units(model):
        def hook(mod, a, out, path=path):
            calls.append((path, mod, a, out))
        handles.append(m.register_forward_hook(hook))
    was = model.training
    model.eval()
    try:
        with enable_grad():
            out = model(*args)
    except (TypeError, ValueError, RuntimeError, IndexError) as exc:
        if isinstance(exc, ExportError):
            raise
        raise ExportError(f"export: {type(model).__name__} failed on the example "
                          f"({len(args)} positional argument{'s' * (len(args) != 1)}): "
                          f"{type(exc).__name__}: {exc}") from exc
    finally:
        model.train(was)
        for h in handles:
            h.remove()
    return calls, out


class Names:
    """The ONNX name of each traced tensor (by identity; the tensors are kept alive so that no
    id is reused while names are looked up)."""

    def __init__(self, g):
        self.g, self._names, self._keep = g, {}, []

    def add(self, t, name):
        self._names[id(t)] = name
        self._keep.append(t)

    def get(self, t, where):
        """The name of ``t``, adding the nodes of an indexing that made it from a named tensor."""
        name = self._names.get(id(t))
        if name is not None:
            return name
        node = getattr(t, "_node", None)
        if isinstance(node, Index) and len(node.inputs) == 1:
            src = node.inputs[0]
            name = C.index(self.g, self.get(src, where), src.ndim, node.key)
            self.add(t, name)
            return name
        made = f" (it was made by {node.name!r} outside any layer)" if node is not None else ""
        raise ExportError(f"cannot export {where}: it got an input no exported layer produced"
                          f"{made} {_OUTSIDE}")


def default_axes(t, calls):
    """The dynamic dims of graph input ``t`` from the layer that reads it: ``batch``, and
    ``sequence`` too when it reaches a recurrent layer (directly or through an Embedding)."""
    for _, m, args, y in calls:
        if not any(a is t for a in leaves(args)):
            continue
        if isinstance(m, nn.RNNBase):
            if args[0] is t:
                if t.ndim == 2:
                    return {0: "sequence"}
                return {0: "batch", 1: "sequence"} if m.batch_first else \
                    {0: "sequence", 1: "batch"}
            return {1: "batch"} if t.ndim == 3 else {}
        if isinstance(m, nn.Embedding) and isinstance(y, Tensor):
            return {k: v for k, v in default_axes(y, calls).items() if k < t.ndim}
        break
    return {0: "batch"} if t.ndim else {}
