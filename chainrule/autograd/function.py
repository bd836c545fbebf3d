"""``cr.autograd.Function``: PyTorch's API for user-defined differentiable operations.

Its forward receives tensors and runs without recording; its backward receives one gradient
(a Tensor) per output and returns one per forward argument.  ``apply`` puts the call in the graph
as one node, of the same kind the engine runs for the built-in ops.  Under ``create_graph=True``
the backward runs with recording on, so it is differentiable when written with tensor ops, and
``ctx.saved_tensors`` gives the real input and output tensors (with their graph).
"""
from __future__ import annotations

import functools
import weakref

import numpy as np

from ..graph.anomaly import user_frame
from ..graph.modes import STATE, enable_grad, no_grad, observe_read
from ..tensor import Tensor, _new
from .op import _SEQ


class FunctionCtx:
    """The ``ctx`` a user :class:`Function` receives."""

    def __init__(self):
        self.needs_input_grad = ()
        self._to_save = ()
        self._saved = None
        self._non_diff = set()
        self._materialize = True

    def save_for_backward(self, *tensors):
        """Keep tensors (inputs or outputs of the forward, or None) for the backward."""
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward takes tensors (or None), got "
                                f"{type(t).__name__}; keep other values as ctx attributes")
        self._to_save = tensors

    def mark_non_differentiable(self, *tensors):
        """Outputs that get no gradient (indices, masks), as PyTorch."""
        self._non_diff.update(id(t) for t in tensors)

    def set_materialize_grads(self, value: bool):
        """``False``: outputs that got no gradient reach backward as None, not zeros."""
        self._materialize = bool(value)

    def mark_dirty(self, *tensors):
        raise NotImplementedError("in-place custom Functions (mark_dirty) are not supported: "
                                  "return a new tensor from forward")

    @property
    def saved_tensors(self):
        saved = self._saved
        if saved is None:
            if self._to_save and getattr(self, "_freed", False):
                raise RuntimeError("saved tensors were freed after backward; pass "
                                   "retain_graph=True to backward twice")
            return tuple(self._to_save)
        out = []
        for i, (kind, ref, v) in enumerate(saved):
            if kind == "none":
                out.append(None)
                continue
            t = ref() if kind == "out" else ref
            if t is None:          # an output that no longer exists: its value as a constant
                t = _new(v[1])
                out.append(t)
                continue
            if t._version != v[0]:
                raise RuntimeError(
                    f"one of the variables needed for gradient computation has been modified by "
                    f"an inplace operation: saved tensor {i} of {self._fn_name} (shape "
                    f"{tuple(t.shape)}) is at version {t._version}; expected version {v[0]}")
            out.append(t)
        return tuple(out)


class _UserNode:
    """The graph node of one ``Function.apply`` call."""

    def __init__(self, fn, ctx, args, tensors, results):
        self.fn, self.ctx = fn, ctx
        self.arg_is_tensor = tuple(isinstance(a, Tensor) for a in args)
        self.inputs = tensors
        self.seq = next(_SEQ)
        self.needs_input_grad = tuple(t.requires_grad for t in tensors)
        self.n_outputs = len(results)
        self._orefs = tuple(weakref.ref(r) if isinstance(r, Tensor) else (lambda: None)
                            for r in results)
        self._oshape = tuple((r.shape, r.dtype) if isinstance(r, Tensor) else None
                             for r in results)
        if STATE.anomaly:
            self.site = user_frame(3)

    @property
    def label(self):
        return self.fn.__name__

    def __repr__(self):
        return f"<{self.fn.__name__}Backward>"

    def output_index(self, t):
        for k, r in enumerate(self._orefs):
            if r() is t:
                return k
        raise RuntimeError(f"{self.label}: tensor is not one of this node's outputs")

    def stand_in(self, t, old):
        """``old`` stands for output ``t`` from now on (an in-place op rewrote ``t``)."""
        k = self.output_index(t)
        refs = self._orefs
        self._orefs = refs[:k] + (weakref.ref(old),) + refs[k + 1:]

    def vjp(self, g, create_graph):
        gs = g if self.n_outputs != 1 else (g,)
        ctx = self.ctx
        wrapped = []
        for k, gk in enumerate(gs):
            if gk is None and ctx._materialize and self._oshape[k] is not None:
                gk = np.zeros(*self._oshape[k])
            if gk is not None and not isinstance(gk, Tensor):
                gk = _new(gk)
            wrapped.append(gk)
        with (enable_grad() if create_graph else no_grad()):
            res = self.fn.backward(ctx, *wrapped)
        if not isinstance(res, tuple):
            res = (res,)
        if len(res) != len(self.arg_is_tensor):
            raise RuntimeError(f"{self.label}.backward returned {len(res)} gradients, expected "
                               f"{len(self.arg_is_tensor)} (one per forward argument)")
        grads = []
        for r, is_t in zip(res, self.arg_is_tensor):
            if not is_t:
                continue
            if r is not None and not isinstance(r, Tensor):
                r = _new(np.asarray(r))
            grads.append(r if (r is None or create_graph) else r._data)
        return tuple(grads)

    def release(self):
        self.inputs = None
        self.ctx._saved = None
        self.ctx._freed = True


class Function:
    """Base class for user-defined differentiable operations, as ``torch.autograd.Function``.

    Example::

        class Exp(cr.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                y = x.exp()
                ctx.save_for_backward(y)
                return y
            @staticmethod
            def backward(ctx, g):
                y, = ctx.saved_tensors
                return g * y           # differentiable: double backward works

        y = Exp.apply(x)

    ``forward`` runs without graph recording and returns a tensor or a tuple of them;
    ``backward`` gets one gradient per output and returns one per forward argument (``None`` for
    non-tensors or inputs without gradient).
    """

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError

    @classmethod
    def apply(cls, *args, **kwargs):
        observe_read(f"the custom autograd.Function {cls.__name__}")
        ctx = FunctionCtx()
        ctx._fn_name = cls.__name__
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        with no_grad():
            out = cls.forward(ctx, *args, **kwargs)
        many = isinstance(out, tuple)
        outs = out if many else (out,)
        if not many and not isinstance(out, Tensor):
            raise TypeError(f"{cls.__name__}.forward must return a Tensor or a tuple, got "
                            f"{type(out).__name__}")
        results = tuple(_new(o._data) if isinstance(o, Tensor) else o for o in outs)
        tensors = tuple(a for a in args if isinstance(a, Tensor))
        if STATE.enabled and any(t.requires_grad for t in tensors):
            node = _UserNode(cls, ctx, args, tensors, results)
            for o, r in zip(outs, results):
                if isinstance(r, Tensor) and id(o) not in ctx._non_diff \
                        and r._data.dtype.kind in "fc":
                    r.requires_grad, r._node = True, node
        _keep_saved(ctx, outs, results)
        return results if many else results[0]


def _keep_saved(ctx, outs, results):
    """What ``saved_tensors`` returns later: inputs as themselves, outputs as the returned
    tensors (weakly: the graph does not keep its own outputs alive), each with its version."""
    out_pos = {id(o): k for k, o in enumerate(outs) if isinstance(o, Tensor)}
    saved = []
    for t in ctx._to_save:
        if t is None:
            saved.append(("none", None, None))
        elif id(t) in out_pos:
            r = results[out_pos[id(t)]]
            saved.append(("out", weakref.ref(r), (r._version, r._data)))
        else:
            saved.append(("in", t, (t._version, None)))
    ctx._saved = saved


class _Once:
    """The node of a gradient made by a ``@once_differentiable`` backward: it refuses."""

    def __init__(self, name):
        self.name = name
        self.inputs = ()
        self.seq = next(_SEQ)
        self.needs_input_grad = ()
        self.n_outputs = 1

    label = property(lambda self: self.name)

    def vjp(self, g, create_graph):
        raise RuntimeError(f"trying to differentiate twice a function that was marked with "
                           f"@once_differentiable ({self.name}'s backward)")

    def release(self):
        pass


def once_differentiable(backward):
    """Decorator for a Function's backward written in non-differentiable code (NumPy, say):
    under ``create_graph`` its gradients are marked so that differentiating them again raises
    instead of silently giving zero (as ``torch.autograd.function.once_differentiable``)."""
    @functools.wraps(backward)
    def wrapper(ctx, *grads):
        with no_grad():
            res = backward(ctx, *grads)
        if not STATE.enabled:
            return res
        single = not isinstance(res, tuple)
        out = []
        for r in ((res,) if single else res):
            if isinstance(r, Tensor):
                r = _new(r._data, True, _Once(getattr(ctx, "_fn_name", "Function")))
            out.append(r)
        return out[0] if single else tuple(out)
    return wrapper


