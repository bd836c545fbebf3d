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
        self._count = {}
        self.scope = ""

    def fresh(self, base):
        base = (self.scope + "/" + base) if self.scope else base
        k = self._count.get(base, 0)
        self._count[base] = k + 1
        return base if k == 0 else f"{base}_{k}"

    def const(self, value, name="const", dtype=None):
        """An initializer holding ``value`` (in the model's dtype unless ``dtype`` is given)."""
        arr = np.asarray(value, dtype=self.dtype if dtype is None else dtype)
        nm = self.fresh(name)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.ascontiguousarray(arr), nm))
        return nm

    def node(self, op, inputs, name=None, **attrs):
        """Add one node; returns the name of its (single) output."""
        out = self.fresh(name or op)
        self.nodes.append(self.onnx.helper.make_node(op, list(inputs), [out],
                                                     name=self.fresh(f"{op}_node"), **attrs))
        return out

    def reduce(self, op, x, axes, keepdims):
        """A reduction (ReduceMax...): axes are an attribute before opset 18, an input after."""
        if self.opset >= 18:
            return self.node(op, [x, self.const(axes, "axes", np.int64)], keepdims=int(keepdims))
        return self.node(op, [x], axes=list(axes), keepdims=int(keepdims))

    def elem_type(self):
        return self.onnx.helper.np_dtype_to_tensor_dtype(self.dtype)
