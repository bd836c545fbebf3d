"""TEMPORARY adapter: the issue-12 op protocol (``forward(ctx, xp, ...)``, ``save``,
``outputs = n``) written over the old single-output :class:`chainrule.autograd.function.Op`.

Delete this file when "op protocol v2" lands on main and import ``Op`` from
``chainrule.autograd.op`` in :mod:`chainrule.ops.recurrent` instead.  Only what the fused sequence
ops need is here: several outputs, ``save`` of forward arguments and outputs, ``xp`` as NumPy, and
a clear error under ``create_graph=True`` for ops that declare ``double_backward = False``.

How several outputs fit the old engine: when a graph is recorded the outputs are packed into one
flat array (one old-style node) and each output is a slice of it reshaped (ordinary ``Index`` and
``Reshape`` nodes), so the engine hands the packed node one flat gradient, zeros where an output
got none, which is split back into one gradient per output.
"""
from __future__ import annotations

import inspect

import numpy as np

from ..autograd.function import STATE, Op as _OldOp, _new
from .movement import Index, Reshape


class Op:
    """The spec's base class (the subset the recurrent ops use)."""
    save = ()
    outputs = 1
    double_backward = True          # False: create_graph through this op raises (message below)
    double_backward_error = None

    @classmethod
    def apply(cls, *tensors, **params):
        if STATE.enabled and any(t.requires_grad for t in tensors):
            packed = _Packed.apply(*tensors, spec=cls, **params)
            node = packed._node
            outs, off = [], 0
            for shape in node.out_shapes:
                size = int(np.prod(shape))
                piece = Index.apply(packed, key=slice(off, off + size))
                outs.append(Reshape.apply(piece, shape=shape))
                off += size
            return tuple(outs) if cls.outputs > 1 else outs[0]
        ctx = _Ctx()
        ctx.needs_input_grad = tuple(False for _ in tensors)
        res = cls.forward(ctx, np, *[t._data for t in tensors], **params)
        if cls.outputs > 1:
            return tuple(_new(r, False, None) for r in res)
        return _new(res, False, None)


class _Ctx:
    pass


def _saved_names(spec):
    names = getattr(spec, "_arg_names", None)
    if names is None:
        sig = inspect.signature(spec.forward)
        names = [p for p in sig.parameters][2:]     # after ctx, xp
        spec._arg_names = names
    return names


class _Packed(_OldOp):
    """One old-style node for a spec op with several outputs (see the module docstring)."""
    uses_inputs = True
    fresh_output = True

    @staticmethod
    def forward(ctx, *arrays, spec, **params):
        ctx.spec = spec
        ctx.needs_input_grad = tuple(True for _ in arrays)   # the engine sets the real ones
        res = spec.forward(ctx, np, *arrays, **params)
        if spec.outputs == 1:
            res = (res,)
        ctx.out_shapes = tuple(r.shape for r in res)
        if spec.save:
            names = _saved_names(spec)
            vals = []
            for s in spec.save:
                if s == "out":
                    vals.append(res[0])
                elif s.startswith("out") and s[3:].isdigit():
                    vals.append(res[int(s[3:])])
                else:
                    vals.append(arrays[names.index(s)])
            ctx.saved = tuple(vals)
        else:
            ctx.saved = ()
        return np.concatenate([r.reshape(-1) for r in res]) if len(res) > 1 else res[0].reshape(-1)

    def backward(ctx, g):
        spec = ctx.spec
        if STATE.dual:
            raise RuntimeError(spec.double_backward_error or
                               f"double backward through {spec.__name__} is not supported")
        gs, off = [], 0
        for shape in ctx.out_shapes:
            size = int(np.prod(shape))
            gs.append(g[off:off + size].reshape(shape))
            off += size
        res = spec.backward(ctx, np, tuple(gs) if spec.outputs > 1 else gs[0], *ctx.saved)
        return res if isinstance(res, tuple) else (res,)

    @property
    def name(self):
        return self.spec.__name__
