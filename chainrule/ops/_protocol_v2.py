"""TEMPORARY adapter: the op protocol v2 (issue 12) over the old ``autograd.function.Op``.

Delete this file when "op protocol v2" lands on main and import ``Op`` from
``chainrule.autograd.op`` instead (the ops in conv.py and norm.py are written against the spec:
``save``, ``forward(ctx, xp, *arrays, **params)``, ``backward(ctx, xp, g, *saved)``).

What it does: each subclass's forward/backward are wrapped into the old static forward and
``backward(ctx, g)``; ``xp`` is NumPy plus the registered ops on arrays for a plain backward, and
a small differentiable namespace under ``create_graph=True``.
"""
from __future__ import annotations

import inspect

import numpy as np

from ..autograd.function import STATE, Op as _OldOp

REGISTRY = {}


class _Ctx:
    needs_input_grad = ()


class _ArrayNS:
    """NumPy, plus every registered op by name (called on arrays: the op's forward)."""

    def __getattr__(self, name):
        op = REGISTRY.get(name)
        if op is not None:
            return op._on_arrays
        return getattr(np, name)


def _t():
    from ..tensor import Tensor
    return Tensor


def _sum(x, axis=None, keepdims=False):
    return x.sum(dim=axis, keepdim=keepdims)


def _where(c, a, b):
    from .elementwise import where
    return where(c, a, b)


def _sqrt(x):
    from .elementwise import sqrt
    return sqrt(x)


def _reshape(x, shape):
    return x.reshape(*shape)


def _transpose(x, axes):
    return x.permute(*axes)


def _broadcast_to(x, shape):
    return x.expand(*shape)


_DIFF = {"sum": _sum, "mean": lambda x, axis=None, keepdims=False: x.mean(dim=axis,
                                                                             keepdim=keepdims),
         "where": _where, "sqrt": _sqrt, "reshape": _reshape, "transpose": _transpose,
         "broadcast_to": _broadcast_to}


class _DiffNS:
    """The differentiable namespace: registered ops (``apply``) and NumPy-named ops on Tensors."""

    def __getattr__(self, name):
        op = REGISTRY.get(name)
        if op is not None:
            return op.apply
        f = _DIFF.get(name)
        if f is None:
            raise RuntimeError(f"no second derivative through xp.{name} (not a registered op)")
        return f


NP, DX = _ArrayNS(), _DiffNS()


class Op(_OldOp):
    """Base class of a v2 primitive (see docs in the module docstring and the op-protocol spec)."""
    save = ()
    name = None

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        fwd, bwd = cls.__dict__["forward"], cls.__dict__["backward"]
        if "name" not in cls.__dict__ or cls.name is None:
            cls.name = cls.__name__.lower()
        args = [p for p in inspect.signature(fwd).parameters.values()
                if p.kind == p.POSITIONAL_OR_KEYWORD][2:]
        pos = {p.name: i for i, p in enumerate(args)}
        idx = tuple(None if s == "out" else pos[s] for s in cls.save)
        saves_out = None in idx

        def forward(ctx, *arrays, **params):
            out = fwd(ctx, NP, *arrays, **params)
            if saves_out:
                ctx._y = out
            return out

        def backward(ctx, g):
            saved = [ctx.output() if i is None else ctx.input(i) for i in idx]
            r = bwd(ctx, DX if STATE.dual else NP, g, *saved)
            if type(r) is tuple and len(r) == 1:
                return r[0]
            return r

        def on_arrays(*arrays, **params):
            return fwd(_Ctx(), NP, *arrays, **params)

        cls._fwd, cls._bwd = staticmethod(fwd), staticmethod(bwd)
        cls.forward, cls.backward = staticmethod(forward), backward
        cls._on_arrays = staticmethod(on_arrays)
        cls.uses_output = saves_out
        cls.uses_inputs = any(i is not None for i in idx)
        REGISTRY[cls.name] = cls

    def __repr__(self):
        return f"<{type(self).__name__}Backward>"
