"""The op protocol: a primitive is one class, its forward and its backward side by side.

    class Sinh(Op):
        save = ("x",)                    # what the backward reads: forward's array arguments
        def forward(ctx, xp, x):         # by name, and/or "out" ("out0", "out1", ...)
            return xp.sinh(x)
        def backward(ctx, xp, g, x):     # g, then the saved values in ``save`` order
            return g * xp.cosh(x)        # one gradient per array input (None: no gradient)

    @export(method=True)                 # cr.sinh and Tensor.sinh, from this one function
    def sinh(input):
        return Sinh.apply(float_input(input, "sinh"))

``forward(ctx, xp, *arrays, **constants)`` runs on arrays: positional parameters are the tensor
inputs, keyword-only ones are constants.  ``xp`` is the array namespace (:data:`ARRAY`): NumPy
plus every registered op by its ``name``.  The backward is written once for both modes: for a
plain ``backward()`` it gets arrays and :data:`ARRAY`; under ``create_graph=True`` it gets
Tensors and :data:`TENSOR`, where each registered name is that op's differentiable ``apply``
(NumPy's names keep NumPy's signatures: ``xp.exp``, ``xp.sum(x, axis=, keepdims=)``,
``xp.where``).  A NumPy function with no registered op has no derivative there, and says so.
``ctx`` carries only constants (shapes, axes, piecewise-constant masks), and kept values.

A *kept value* is one the forward computes anyway and the backward needs (cross-entropy's
softmax): ``save`` names it, the forward sets ``ctx.<name>``, and a method ``<name>(ctx, xp,
<array arguments>)`` says how it follows from the inputs.  A plain backward reads the array the
forward kept; under ``create_graph`` the method computes it again on the input tensors, so its
own derivative is not lost.

The engine (``graph/engine.py``) reduces gradients to broadcast shapes and casts them back to an
input's dtype, and this module checks, before a backward runs, that nothing it saved was changed
in place (version counters, shared with views).
"""
from __future__ import annotations

import inspect
import itertools
import weakref

import numpy as np

from ..graph.anomaly import check_forward, user_frame
from ..graph.modes import STATE
from ..tensor import Tensor, Version, _new, _object_new
from .namespace import ARRAY, FUNCTIONS, REGISTRY, TENSOR, NoDerivative, export

__all__ = ["Op", "ARRAY", "TENSOR", "REGISTRY", "FUNCTIONS", "NoDerivative", "export"]

_SEQ = itertools.count()   # creation order of graph nodes: backward runs newest first
_ONE_TRUE = (True,)


class Op:
    """Base class of primitives and graph nodes (see the module docstring).

    Class attributes a primitive may set: ``save`` (names of the values its backward reads:
    array arguments, outputs, or kept values, see the module docstring),
    ``outputs`` (how many arrays forward returns), ``nondiff_outputs`` (indices of outputs with
    no gradient, such as argmax indices), ``view`` (the output is a view of the first input: it
    shares that input's version counter), ``name`` (the xp name; default: lowercased class),
    ``double_backward_error`` (a message raised under ``create_graph`` by a backward that can
    only run on arrays, such as a fused loop through time).
    """
    save = ()
    outputs = 1
    nondiff_outputs = ()
    view = False
    double_backward_error = None   # a message: this backward works on arrays only, and says so
    inputs = ()
    needs_input_grad = ()

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        for m in ("forward", "backward"):
            f = cls.__dict__.get(m)
            if f is not None and not isinstance(f, staticmethod):
                setattr(cls, m, staticmethod(f))
        if "name" not in cls.__dict__:
            cls.name = cls.__name__.lower()
        params = list(inspect.signature(cls.forward).parameters.values())[2:]
        P = inspect.Parameter
        cls._arrays = tuple(p.name for p in params if p.kind in (P.POSITIONAL_ONLY,
                                                                 P.POSITIONAL_OR_KEYWORD))
        cls._varargs = any(p.kind == P.VAR_POSITIONAL for p in params)
        cls._consts = tuple(p.name for p in params if p.kind == P.KEYWORD_ONLY)
        order, kept = [], []
        for s in cls.save:
            if s == "out":
                order.append((False, 0))
            elif s.startswith("out") and s[3:].isdigit():
                order.append((False, int(s[3:])))
            elif s in cls._arrays:
                order.append((True, cls._arrays.index(s)))
            elif callable(cls.__dict__.get(s)):
                order.append((None, s))
                kept.append(s)
            else:
                raise TypeError(f"{cls.__name__}.save names {s!r}, which is neither an array "
                                f"argument of its forward {cls._arrays}, nor an output, nor a "
                                "method that computes a kept value from the inputs")
        cls._save = tuple(order)
        cls._kept = _kept_rules(cls, kept)
        cls._save_in = tuple(sorted({i for is_in, i in order if is_in} |
                                    {i for _, args in cls._kept.values() for i in args}))
        cls._save_out = tuple(sorted({i for is_in, i in order if is_in is False}))
        cls.n_outputs = cls.outputs
        if cls.name in REGISTRY and REGISTRY[cls.name].__qualname__ != cls.__qualname__:
            raise TypeError(f"two ops are named {cls.name!r}: {REGISTRY[cls.name].__qualname__} "
                            f"and {cls.__qualname__}; set a distinct `name`")
        REGISTRY[cls.name] = cls

    @staticmethod
    def forward(ctx, xp, *arrays, **constants):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, xp, g, *saved):
        raise NotImplementedError

    # -- forward: run on arrays, record a node when some input needs a gradient ---------------
    @classmethod
    def apply(cls, *inputs, **params):
        ctx = _object_new(cls)
        if len(inputs) == 1:             # most ops: one tensor input (scalars are constants)
            t = inputs[0]
            out = cls.forward(ctx, ARRAY, t._data, **params)
            record = t.requires_grad and STATE.enabled
        else:
            out = cls.forward(ctx, ARRAY, *[t._data for t in inputs], **params)
            record = False
            if STATE.enabled:
                for t in inputs:
                    if t.requires_grad:
                        record = True
                        break
        if cls.outputs != 1:
            return _finish_many(cls, ctx, inputs, out, record, params)
        if type(out) is not np.ndarray:   # 0-d arithmetic gives NumPy scalars: keep arrays
            out = np.asarray(out)
        res = _object_new(Tensor)         # tensor._fill's assignments, inline: the hot path
        res._data = out
        res.grad = None
        res._hooks = None
        res._retain = False
        if cls.view:
            base = inputs[0]
            if base._vc is None:
                base._vc = Version()
            res._vc = base._vc
            res._base = base if base._base is None else base._base
        else:
            res._vc = None
            res._base = None
        if record:
            res.requires_grad = True
            res._node = ctx
            ctx.inputs = inputs
            ctx.seq = next(_SEQ)
            if len(inputs) == 1:
                ctx.needs_input_grad = _ONE_TRUE
                vc = t._vc
                ctx._vin = (0 if vc is None else vc.n,)
            else:
                ctx.needs_input_grad = tuple([t.requires_grad for t in inputs])
                ctx._vin = tuple([_ver(t) for t in inputs])
            if cls._save_out:
                ctx._y = (out,)
                ctx._yref = (weakref.ref(res),)
                vc = res._vc
                if vc is None:
                    vc = res._vc = Version()
                ctx._yvc = ((vc, vc.n),)
            if STATE.anomaly:
                ctx.site = user_frame()
        else:
            res.requires_grad = False
            res._node = None
        if STATE.anomaly:
            check_forward(cls.__name__, inputs, (out,), getattr(ctx, "site", None))
        return res

    # -- backward: what the engine calls ------------------------------------------------------
    def vjp(self, g, create_graph):
        cls = type(self)
        inputs = self.inputs
        if len(inputs) == 1:
            vc = inputs[0]._vc  # (a tensor without a counter was never written: version 0)
            if vc is not None and vc.n != self._vin[0]:
                self._check_inputs()
        else:
            for t, v in zip(inputs, self._vin):
                vc = t._vc
                if vc is not None and vc.n != v:
                    self._check_inputs()
                    break
        if cls._save_out:
            yvc = self._yvc          # (counter, version) of each output, by output index
            for k in cls._save_out:
                vc, v = yvc[k]
                if vc.n != v:
                    raise _modified(self, f"output {k}", self._y[k].shape, vc.n, v)
        if self.n_outputs != 1:
            g = self._materialize(g, create_graph)
        if create_graph:
            if cls.double_backward_error is not None:
                raise RuntimeError(cls.double_backward_error)
            saved = [inputs[i] if is_in else self._out_tensor(i) if is_in is False else
                     self._recompute(i) for is_in, i in cls._save]
            try:
                gs = cls.backward(self, TENSOR, g, *saved)
            except NoDerivative as e:
                raise NoDerivative(
                    f"{cls.__name__}'s backward uses xp.{e}, which has no registered op, so it "
                    "has no second derivative (create_graph=True); write the rule with "
                    "registered ops") from None
        elif cls._save:
            saved = [inputs[i]._data if is_in else self._y[i] if is_in is False else
                     _kept_value(self, i) for is_in, i in cls._save]
            gs = cls.backward(self, ARRAY, g, *saved)
        else:
            gs = cls.backward(self, ARRAY, g)
        if type(gs) is not tuple:
            gs = (gs,)
        if len(gs) != len(inputs):
            raise RuntimeError(f"{cls.__name__}.backward returned {len(gs)} gradients for "
                               f"{len(inputs)} inputs")
        return gs

    def _check_inputs(self):
        """Some input was written in place since this op used it: refuse if the backward saved
        it, or if it is a non-leaf (it may have been rebased onto an in-place node)."""
        cls = type(self)
        for i, (t, v) in enumerate(zip(self.inputs, self._vin)):
            if _ver(t) != v and (i in cls._save_in or t._node is not None):
                raise _modified(self, _input_name(cls, i), t.shape, _ver(t), v)

    def _recompute(self, name):
        """A kept value under ``create_graph``: computed again from the input tensors by the
        op's method of that name, so that its own derivative is not lost."""
        fn, args = type(self)._kept[name]
        return fn(self, TENSOR, *[self.inputs[i] for i in args])

    def _out_tensor(self, k):
        t = self._yref[k]()
        if t is None:     # the output tensor is gone: its value is still right as a constant
            return _new(self._y[k])
        return t

    def _materialize(self, g, create_graph):
        """Zeros for the outputs that got no gradient (a multi-output node)."""
        out = []
        for k, gk in enumerate(g):
            if gk is None:
                shape, dtype = self._oshape[k]
                gk = np.zeros(shape, dtype)
                if create_graph:
                    gk = _new(gk)
            out.append(gk)
        return tuple(out)

    def output_index(self, t):
        for k, r in enumerate(self._orefs):
            if r() is t:
                return k
        raise RuntimeError(f"{self.name}: tensor is not one of this node's outputs")

    def stand_in(self, t, old):
        """``old`` (a copy of output ``t`` as it was) stands for that output from now on: an
        in-place op rewrote ``t`` and rebased it onto its own node (several outputs only)."""
        k = self.output_index(t)
        refs = self._orefs
        self._orefs = refs[:k] + (weakref.ref(old),) + refs[k + 1:]
        if self._save_out:
            self._yref = self._orefs

    def retarget(self, old, new):
        """Make ``new`` stand for output ``old`` (an in-place op rebases its tensor)."""
        if self._save_out:
            self._yref = (weakref.ref(new),)
            self._y = (new._data,)
            self._yvc = ((new._vc, new._vc.n),)

    @property
    def label(self):
        """The op's name in messages (a user Function's node gives the Function's name)."""
        return type(self).__name__

    def __repr__(self):
        return f"<{type(self).__name__}Backward>"

    def release(self):
        """Free what the graph holds (inputs, saved arrays) once backward has used it."""
        d = self.__dict__
        d.clear()
        d["inputs"] = None


def _kept_rules(cls, names):
    """``name -> (function, input indices)`` for the kept values named in ``save``: each is a
    method ``name(ctx, xp, <array arguments of forward>)``; forward sets ``ctx.<name>``."""
    rules = {}
    for name in names:
        f = cls.__dict__[name]
        if not isinstance(f, staticmethod):
            f = staticmethod(f)
            setattr(cls, name, f)
        fn = f.__func__
        params = list(inspect.signature(fn).parameters)[2:]
        bad = [a for a in params if a not in cls._arrays]
        if bad:
            raise TypeError(f"{cls.__name__}.{name} takes {bad}, which are not array arguments "
                            f"of its forward {cls._arrays}")
        rules[name] = (fn, tuple(cls._arrays.index(a) for a in params))
    return rules


def _kept_value(ctx, name):
    try:
        return ctx.__dict__[name]
    except KeyError:
        raise RuntimeError(f"{type(ctx).__name__}.forward did not set ctx.{name}, which its "
                           "`save` names") from None


def _ver(t):
    vc = t._vc
    return 0 if vc is None else vc.n


def _input_name(cls, i):
    return f"input {i} ({cls._arrays[i]})" if i < len(cls._arrays) else f"input {i}"


def _modified(node, what, shape, now, then):
    return RuntimeError(
        "one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: {what} of {type(node).__name__} (shape {tuple(shape)}) is at version "
        f"{now}; expected version {then}. Use an out-of-place operation (x = x * 2 instead of "
        "x.mul_(2)), or clone() the value before changing it.")


def _finish_many(cls, ctx, inputs, outs, record, params):
    outs = tuple(o if type(o) is np.ndarray else np.asarray(o) for o in outs)
    if len(outs) != cls.outputs:
        raise RuntimeError(f"{cls.__name__}.forward returned {len(outs)} arrays, declared "
                           f"outputs = {cls.outputs}")
    res = tuple(_new(o) for o in outs)
    if record:
        ctx.inputs = inputs
        ctx.seq = next(_SEQ)
        ctx.needs_input_grad = tuple([t.requires_grad for t in inputs])
        ctx._oshape = tuple((o.shape, o.dtype) for o in outs)
        ctx._orefs = tuple(weakref.ref(r) for r in res)
        for k, r in enumerate(res):
            if k not in cls.nondiff_outputs:
                r.requires_grad = True
                r._node = ctx
        ctx._vin = tuple([_ver(t) for t in inputs])
        if cls._save_out:
            ctx._y = outs
            ctx._yref = ctx._orefs
            for r in res:
                r._vc = Version()
            ctx._yvc = tuple((r._vc, 0) for r in res)
        if STATE.anomaly:
            ctx.site = user_frame()
    if STATE.anomaly:
        check_forward(cls.__name__, inputs, outs, getattr(ctx, "site", None))
    return res
