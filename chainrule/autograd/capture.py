"""Capture and replay: ``cr.compile(model)`` runs a forward once eagerly while recording its
primitive ops, then replays the recording on later calls with the same input signature.

Why: in eager mode every call walks the Python of modules, functional wrappers and argument checks,
and every primitive becomes a graph node the engine sorts and visits.  For small layers that
Python costs as much as the arithmetic.  A replay calls the same ``Op.forward`` functions on the
new arrays, in the recorded order, and puts the whole region into the graph as one node whose
backward calls the same ``Op.backward`` functions in reverse.  The arithmetic is identical, so the
numbers are identical to eager mode.

What a trace records: every ``Op.apply`` (class, inputs, constant parameters, output).  Tensors an
op reads that were neither arguments of the call nor made by a recorded op (parameters, buffers,
constants) are read live on each replay, so optimizer updates and ``load_state_dict`` are seen.

What a trace cannot repeat (the call then stays eager, with one warning): reading a value into
Python (``item()``, ``bool(t)``, ``numpy()``), in-place changes, hooks, random numbers drawn outside
an op (``cr.randn`` in a forward), custom ``autograd.Function``\\ s, outputs that are not a single
tensor.  Python control flow that does not read tensor values is frozen at its traced path; guards
re-trace when input shapes, dtypes, ``requires_grad``, grad mode, or a module's ``training`` flag
change.  As a last check, the first replay of each recording is compared with an eager run (except
when the recording draws random numbers); a mismatch turns the recording off, with a warning.
"""
from __future__ import annotations

import functools
import warnings

import numpy as np

from .engine import sum_to
from .function import _SEQ, STATE, Op, _new, _object_new, no_grad

__all__ = ["compile"]

_ARG, _VAL, _EXT = 0, 1, 2


class _Trace:
    """What one traced call did: the recorded ops and, if any, why it cannot be replayed."""

    def __init__(self):
        self.ops = []
        self.why = None

    def record(self, cls, inputs, params, res):
        self.ops.append((cls, inputs, params, res))

    def taint(self, what):
        if self.why is None:
            self.why = what


class _Fused(Op):
    """The graph node of one replayed region: its backward replays the recorded backwards."""
    uses_inputs = True

    def backward(ctx, g):
        if STATE.dual:
            raise RuntimeError("higher-order gradients (create_graph=True) through a module "
                               "compiled with cr.compile are not supported; use the eager module")
        return ctx.program.backward(ctx.ctxs, g)


class _Program:
    """A recording turned into a replayable list of (op, input sources, parameters)."""

    def __init__(self, trace, args, out):
        produced = {id(res): k for k, (_, _, _, res) in enumerate(trace.ops)}
        tensors = [(i, a) for i, a in enumerate(args) if isinstance(a, _Tensor)]
        arg_pos = {id(a): i for i, a in tensors}
        arg_data = {id(a._data): i for i, a in tensors}
        ext, ext_pos = [], {}
        steps = []
        self.random = False
        for cls, inputs, params, res in trace.ops:
            srcs = []
            for t in inputs:
                k = id(t)
                if k in produced:
                    srcs.append((_VAL, produced[k]))
                elif k in arg_pos:
                    srcs.append((_ARG, arg_pos[k]))
                else:
                    if k not in ext_pos:
                        ext_pos[k] = len(ext)
                        ext.append(t)
                    srcs.append((_EXT, ext_pos[k]))
            # parameters that are an argument's array (as a target's indices) follow the argument
            bind = tuple((name, arg_data[id(v)]) for name, v in params.items()
                         if isinstance(v, np.ndarray) and id(v) in arg_data)
            need = tuple(t.requires_grad for t in inputs) if res.requires_grad else None
            steps.append((cls, tuple(srcs), params, bind, need))
            self.random = self.random or getattr(cls, "random", False)
        self.steps = steps
        self.ext = ext
        self.ext_guard = [(t.requires_grad, t._data.shape, t._data.dtype) for t in ext]
        self.out = produced[id(out)]
        self.requires_grad = out.requires_grad
        self._plan_backward(trace, tensors, ext)

    def _plan_backward(self, trace, tensors, ext):
        """Slots for gradients: 0 is the output's; then one per value, argument or external
        tensor that receives a gradient.  The region's graph inputs are the arguments and
        external tensors that require grad, in that order."""
        slot = {}
        leaves = [(_ARG, i) for i, a in tensors if a.requires_grad]
        leaves += [(_EXT, i) for i, t in enumerate(ext) if t.requires_grad]
        for src in leaves:
            slot[src] = len(slot) + 1
        self.leaves = leaves
        self.leaf_slots = tuple(slot[src] for src in leaves)
        out_slot = {self.out: 0}
        plan = []
        for k in range(len(self.steps) - 1, -1, -1):
            cls, srcs, params, bind, need = self.steps[k]
            if need is None or k not in out_slot:
                continue
            routes = []
            for i, (kind, ref) in enumerate(srcs):
                if not need[i]:
                    continue
                if kind == _VAL:
                    key = ref
                    if key not in out_slot:
                        out_slot[key] = len(slot) + len(out_slot)
                    s = out_slot[key]
                else:
                    s = slot[(kind, ref)]
                t = trace.ops[k][1][i]
                routes.append((i, s, t._data.shape, t._data.dtype))
            plan.append((k, out_slot[k], tuple(routes)))
        self.plan = plan
        self.nslots = len(slot) + len(out_slot) + 1

    # -- replay --------------------------------------------------------------------------------
    def guard_ok(self):
        for t, (rg, shape, dtype) in zip(self.ext, self.ext_guard):
            d = t._data
            if t.requires_grad is not rg or d.shape != shape or d.dtype != dtype:
                return False
        return True

    def forward(self, args):
        """Run the recorded ops on ``args``; returns (output array, contexts, graph inputs)."""
        vals, ctxs, ext = [], [], self.ext
        for cls, srcs, params, bind, need in self.steps:
            ins = tuple([vals[r] if kind == _VAL else args[r] if kind == _ARG else ext[r]
                         for kind, r in srcs])
            if bind:
                params = dict(params)
                for name, i in bind:
                    params[name] = args[i]._data
            ctx = _object_new(cls)
            out = cls.forward(ctx, *[t._data for t in ins], **params)
            if type(out) is not np.ndarray:
                out = np.asarray(out)
            if need is not None:
                ctx.inputs = ins
                ctx.needs_input_grad = need
            vals.append(_new(out, False, None))
            ctxs.append(ctx)
        return vals[self.out]._data, ctxs

    def backward(self, ctxs, g):
        slots = [None] * self.nslots
        slots[0] = g
        for k, s_out, routes in self.plan:
            gk = slots[s_out]
            if gk is None:
                continue
            slots[s_out] = None
            gs = ctxs[k].backward(gk)
            if type(gs) is not tuple:
                gs = (gs,)
            for i, s, shape, dtype in routes:
                gi = gs[i]
                if gi is None:
                    continue
                if gi.shape != shape:
                    gi = sum_to(gi, shape)
                if gi.dtype != dtype:
                    gi = gi.astype(dtype)
                prev = slots[s]
                slots[s] = gi if prev is None else prev + gi
        return tuple([slots[s] for s in self.leaf_slots])


class _Compiled:
    """The capture-and-replay wrapper around one callable (shared by functions and modules)."""

    def __init__(self, fn, root, fullgraph):
        self.fn = fn
        self.root = root      # the compiled Module (its submodules are guarded), or None
        self.modules = list(root.modules()) if root is not None else []
        self.fullgraph = fullgraph
        self.cache = {}       # signature -> _Program, or a reason string when it stays eager
        self.checked = set()  # signatures whose first replay was compared with eager mode
        self.warned = set()

    def _key(self, args, kwargs):
        """The input signature, or None when a module has hooks (they must run eagerly).
        Raises TypeError for arguments a signature can't hold."""
        parts = []
        for a in args:
            if isinstance(a, _Tensor):
                parts.append((a._data.shape, a._data.dtype.char, a.requires_grad))
            else:
                hash(a)
                parts.append(a)
        if kwargs:
            if any(isinstance(v, _Tensor) for v in kwargs.values()):
                raise TypeError("a Tensor keyword argument")
            parts.append(tuple(sorted(kwargs.items())))
        mods = self.modules
        if mods:
            for m in mods:
                d = m.__dict__
                if d["_forward_pre_hooks"] or d["_forward_hooks"] or d["_backward_hooks"]:
                    return None
            parts.append(tuple([m.training for m in mods]))
        parts.append(STATE.enabled)
        return tuple(parts)

    def __call__(self, *args, **kwargs):
        if STATE.anomaly or STATE.trace is not None or STATE.dual:
            return self.fn(*args, **kwargs)
        try:
            key = self._key(args, kwargs)
        except TypeError:
            self._give_up(None, "an argument that is neither a positional Tensor nor a hashable "
                          "constant")
            return self.fn(*args, **kwargs)
        if key is None:       # hooks must see every call: eager
            return self.fn(*args, **kwargs)
        prog = self.cache.get(key)
        if prog is None:
            return self._trace(key, args, kwargs)
        if type(prog) is str:
            return self.fn(*args, **kwargs)
        if not prog.guard_ok():
            return self._trace(key, args, kwargs)
        if key not in self.checked and not prog.random:
            self.checked.add(key)
            if not self._same_as_eager(prog, args, kwargs):
                return self.fn(*args, **kwargs)
        return self._replay(prog, args)

    def _replay(self, prog, args):
        out, ctxs = prog.forward(args)
        if not (STATE.enabled and prog.requires_grad):
            return _new(out, False, None)
        node = _object_new(_Fused)
        node.program = prog
        node.ctxs = ctxs
        ext = prog.ext
        inputs = tuple([args[r] if kind == _ARG else ext[r] for kind, r in prog.leaves])
        node.inputs = inputs
        node.needs_input_grad = (True,) * len(inputs)
        node.versions = tuple([t._version for t in inputs])
        node.seq = next(_SEQ)
        return _new(out, True, node)

    def _trace(self, key, args, kwargs):
        if self.root is not None:    # submodules may have been added since the last trace
            self.modules = list(self.root.modules())
            key = self._key(args, kwargs)
        trace = _Trace()
        STATE.trace = trace
        try:
            out = self.fn(*args, **kwargs)
        finally:
            STATE.trace = None
        why = trace.why
        if why is None:
            if not isinstance(out, _Tensor):
                why = f"a return value of type {type(out).__name__} (not a single Tensor)"
            elif not any(out is res for _, _, _, res in trace.ops):
                why = "a return value that no op of the call computed"
        if why is not None:
            self._give_up(key, why)
        else:
            self.cache[key] = _Program(trace, args, out)
        return out

    def _give_up(self, key, why):
        name = getattr(self.fn, "__qualname__", type(self.fn).__name__)
        msg = (f"cr.compile: {name} runs eagerly for this input signature because the traced "
               f"call used {why}, which a replay cannot repeat")
        if self.fullgraph:
            raise RuntimeError(msg + " (fullgraph=True)")
        if why not in self.warned:
            self.warned.add(why)
            warnings.warn(msg, RuntimeWarning, stacklevel=4)
        if key is not None:
            self.cache[key] = why

    def _same_as_eager(self, prog, args, kwargs):
        with no_grad():
            expect = self.fn(*args, **kwargs)
            got, _ = prog.forward(args)
        if isinstance(expect, _Tensor) and expect.shape == got.shape and \
                np.array_equal(expect._data, got, equal_nan=True):
            return True
        key = self._key(args, kwargs)
        self._give_up(key, "values that the recording froze (a replay differed from an eager "
                      "run: the forward probably builds arrays from its inputs outside the ops)")
        return False


def compile(model=None, *, fullgraph=False, dynamic=None, backend=None, mode=None,
            options=None, disable=False):
    """Capture a module's (or function's) forward once per input signature and replay it.

    As ``torch.compile``: ``cr.compile(model)`` returns a module that computes the same numbers
    with less Python per call; use it exactly as the original (``loss.backward()`` and the
    optimizers work unchanged, parameters are shared).  Also usable as a decorator.  See the
    module docstring of :mod:`chainrule.autograd.capture` for what a trace can and cannot repeat.

    Arguments:
        model: an ``nn.Module`` or a function of tensors returning one tensor.
        fullgraph: raise instead of falling back to eager mode when a call can't be captured.
        dynamic, backend, mode, options: accepted for PyTorch compatibility; chainrule always
            specializes on input shapes and replays its own recording.
        disable: return ``model`` unchanged.

    Returns:
        a ``CompiledModule`` for a module (its ``_orig_mod`` is the original, as in PyTorch),
        otherwise a function.

    Example::

        model = cr.compile(cr.nn.Sequential(cr.nn.Linear(784, 256), cr.nn.ReLU(),
                                            cr.nn.Linear(256, 10)))
        loss = cr.nn.functional.cross_entropy(model(x), y)
        loss.backward()
    """
    if model is None:
        return functools.partial(compile, fullgraph=fullgraph, dynamic=dynamic,
                                 backend=backend, mode=mode, options=options, disable=disable)
    if disable:
        return model
    from ..nn.module import Module
    if isinstance(model, Module):
        from ..nn.compiled import CompiledModule
        return CompiledModule(model, fullgraph=fullgraph)
    if not callable(model):
        raise TypeError(f"cr.compile expects a Module or a function, got "
                        f"{type(model).__name__}")
    compiled = _Compiled(model, None, fullgraph)

    @functools.wraps(model)
    def wrapper(*args, **kwargs):
        return compiled(*args, **kwargs)

    wrapper._compiled = compiled
    return wrapper


from ..tensor import Tensor as _Tensor  # noqa: E402  (tensor.py imports this package first)
