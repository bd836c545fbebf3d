"""The ONNX graph under construction: nodes, initializers (weights and constants), unique names.

Converters only call :meth:`Graph.node`, :meth:`Graph.const` and :meth:`Graph.reduce`; nothing
here knows about layers. ``onnx`` is imported by the caller (:mod:`chainrule.onnx.export`).
"""
from __future__ import annotations

import numpy as np


class Graph:
    """Nodes and initializers of one export, in the model's floating dtype."""

    def __init__(self, onnx, opset, dtype):
        self.onnx, self.opset, self.dtype = onnx, int(opset), np.dtype(dtype)
        self.nodes, self.initializers = [], []
        self._count, self._used = {}, set()
        self.scope = ""

    def reserve(self, names):
        """Keep ``names`` (the graph's inputs and outputs) from being given to anything else."""
        self._used.update(names)

    def fresh(self, base):
        base = (self.scope + "/" + base) if self.scope else base
        k = self._count.get(base, 0)
        name = base if k == 0 else f"{base}_{k}"
        while name in self._used:
            k += 1
            name = f"{base}_{k}"
        self._count[base] = k + 1
        self._used.add(name)
        return name

    def const(self, value, name="const", dtype=None):
        """An initializer holding ``value`` (in the model's dtype unless ``dtype`` is given)."""
        arr = np.asarray(value, dtype=self.dtype if dtype is None else dtype)
        nm = self.fresh(name)
        # (not np.ascontiguousarray: it makes a 0-d scalar 1-d, and a Gather of a 1-d index
        # keeps the axis that a scalar index drops)
        arr = np.require(arr, requirements="C")
        self.initializers.append(self.onnx.numpy_helper.from_array(arr, nm))
        return nm

    def node(self, op, inputs, name=None, outputs=1, **attrs):
        """Add one node; returns the name of its output, or a list of ``outputs`` names.

        ``name`` may be a list of output names; an empty string in ``inputs`` leaves that
        optional input out (ONNX's convention)."""
        bases = list(name) if isinstance(name, (list, tuple)) else [name or op] * outputs
        outs = [self.fresh(b) for b in bases]
        self.nodes.append(self.onnx.helper.make_node(op, list(inputs), outs,
                                                     name=self.fresh(f"{op}_node"), **attrs))
        return outs[0] if outputs == 1 else outs

    def ints(self, values, name="ints"):
        """A 1-D int64 initializer (shapes, axes, slice bounds)."""
        return self.const(np.asarray(values, dtype=np.int64).reshape(-1), name, np.int64)

    def prune(self, outputs):
        """Drop the nodes and initializers no graph output depends on (a recurrent layer's
        final state that the model never reads, for instance)."""
        need, kept = set(outputs), []
        for n in reversed(self.nodes):
            if need.intersection(n.output):
                kept.append(n)
                need.update(i for i in n.input if i)
        self.nodes = kept[::-1]
        self.initializers = [t for t in self.initializers if t.name in need]

    def reduce(self, op, x, axes, keepdims):
        """A reduction (ReduceMax...): axes are an attribute before opset 18, an input after."""
        if self.opset >= 18:
            return self.node(op, [x, self.const(axes, "axes", np.int64)], keepdims=int(keepdims))
        return self.node(op, [x], axes=list(axes), keepdims=int(keepdims))

    def elem_type(self):
        return self.onnx.helper.np_dtype_to_tensor_dtype(self.dtype)
