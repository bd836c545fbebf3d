"""Capture and replay: ``cr.compile`` records what a call does once per input signature, then
replays the recording on later calls with the same signature.

Why: in eager mode every call walks the Python of modules, functional wrappers and argument
checks, every primitive becomes a graph node, and the engine sorts and visits them.  For small
layers that Python costs as much as the arithmetic.  A replay calls the same ``Op.forward`` and
``Op.backward`` functions on the new arrays in the recorded order, so the arithmetic, and every
number, is the same as in eager mode.  The replay is generated Python code (``replay.py``; read it
with ``print(program.source)``).

Two uses, as with ``torch.compile``:

* ``cr.compile(model)``: the forward is replayed and enters the graph as one node, whose backward
  replays the recorded backwards.  ``loss.backward()`` and optimizers work as usual.
* ``cr.compile(train_step)`` for a function that also calls ``loss.backward()``,
  ``optimizer.zero_grad()`` and ``optimizer.step()``: the backward is replayed from a precomputed
  plan (no graph is built), and the optimizer calls are made again in order.  The calls with
  effects outside the graph that a replay makes again (optimizer steps, ``zero_grad``, scheduler
  steps, gradient clipping) are listed in ``trace.py``, not marked in the code that defines them.

What a trace records (``trace.py``, which intercepts the entry points while it traces): every
``Op.apply`` (class, inputs, constant parameters, output), every ``backward()`` and replayed call,
and the modules it ran.  ``program.py`` turns the recording into steps; tensors an op reads that
are neither arguments nor made by a recorded op (parameters, buffers, constants) are read live on
each replay.

Safety: the first two calls of a signature both run eagerly and are recorded; the recording is
replayed only if the two agree (same ops, same constants), so values a forward builds from its
inputs outside the ops, or Python branching on data, are caught.  Anything a replay could not
repeat (``item()``, ``bool(t)``, ``numpy()``, in-place changes, hooks, ``cr.randn`` in a forward,
custom ``autograd.Function``\\ s, ``create_graph``) keeps that signature eager, with one warning
(an error with ``fullgraph=True``).  Guards re-trace when argument shapes, dtypes or
``requires_grad``, grad mode, or a module's ``training`` flag change.
"""
from __future__ import annotations

import functools
import warnings

from ..autograd.op import _SEQ
from ..graph.modes import STATE
from ..tensor import Tensor as _Tensor
from ..tensor import _new, _object_new
from . import replay
from .program import _Program
from .replay import _ARG
from .trace import _Trace, tracing

__all__ = ["_Compiled"]


class _Fused:
    """The graph node of one replayed forward: its backward replays the recorded backwards."""
    n_outputs = 1
    label = "CompiledForward"

    def vjp(self, g, create_graph):
        if create_graph:
            raise RuntimeError("higher-order gradients (create_graph=True) through a module "
                               "compiled with cr.compile are not supported; use the eager module")
        for i, (t, v) in enumerate(zip(self.inputs, self.versions)):
            if t._version != v:
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by "
                    f"an inplace operation: input {i} of a compiled forward (shape "
                    f"{tuple(t.shape)}) is at version {t._version}; expected version {v}")
        return self.program.backward(self.ctxs, g)

    def release(self):
        self.__dict__.clear()
        self.inputs = None

    def __repr__(self):
        return "<CompiledForwardBackward>"



_MISS = object()     # what a program's fast path returns when the call may not replay it


def _output(prog, args, out, ctxs):
    """The result of a replayed call: None, a detached tensor, or for a forward that needs a
    backward, a tensor whose graph node (``_Fused``) replays the recorded backwards."""
    if prog.outs is not None:       # a tuple: no backward after the call (see _Program)
        return tuple([_new(o, False, None) for o in out])
    if out is None:
        return None
    if prog.out_plan is None or not STATE.enabled:
        return _new(out, False, None)
    node = _object_new(_Fused)
    node.program = prog
    node.ctxs = ctxs
    ext = prog.ext
    inputs = tuple([args[r] if kind == _ARG else ext[r] for kind, r in prog.out_plan[1]])
    node.inputs = inputs
    node.needs_input_grad = (True,) * len(inputs)
    node.versions = tuple([t._version for t in inputs])
    node.seq = next(_SEQ)
    return _new(out, True, node)


class _Compiled:
    """The capture-and-replay wrapper around one callable (functions and modules)."""

    def __init__(self, fn, root, fullgraph):
        self.fn = fn
        self.root = root      # the compiled Module, or None for a function
        self._watch(list(root.modules()) if root is not None else [])
        self.fullgraph = fullgraph
        self.cache = {}       # signature -> _Program (ready), ("first", _Program) or a reason
        self.warned = set()
        self.on_give_up = None   # if set, called with the reason instead of warning (fit's use)
        self.fast = None      # the generated test-and-replay of the last replayed program

    def _watch(self, modules):
        """The modules whose ``training`` flags and hooks the signature guards."""
        self.fast = None      # its test checks the modules watched until now
        self.modules = modules
        self.module_dicts = [m.__dict__ for m in modules]
        self.hook_dicts = [d[k] for d in self.module_dicts
                           for k in ("_forward_pre_hooks", "_forward_hooks", "_backward_hooks")]

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
        dicts = self.module_dicts
        if dicts:
            for h in self.hook_dicts:
                if h:
                    return None
            parts.append(tuple([d["training"] for d in dicts]))
        parts.append(STATE.enabled)
        return tuple(parts)

    def __call__(self, *args, **kwargs):
        fast = self.fast
        if fast is not None and not kwargs:     # the same program again?
            out = fast(args)
            if out is not _MISS:
                return out
        return self.slow(args, kwargs)

    def slow(self, args, kwargs):
        """A call that the last program's fast path did not take."""
        if STATE.anomaly or STATE.observer is not None or STATE.dual:
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
        if type(prog) is _Program and prog.guard_ok():
            self._remember(prog, key, args, kwargs)
            return self._replay(prog, args)
        if type(prog) is str:
            return self.fn(*args, **kwargs)
        return self._trace(key, prog, args, kwargs)

    def _remember(self, prog, key, args, kwargs):
        """Make ``prog`` the program the next call tries first (``self.fast``), with one
        generated test-and-replay per program and set of watched modules (built once, then
        reused).  Only for calls with positional tensor arguments, the case the test covers."""
        if kwargs or not all(isinstance(a, _Tensor) for a in args):
            return
        made = prog.enter
        if made is None or made[0] is not self.hook_dicts:
            signature = key[:len(prog.arg_index)]
            made = prog.enter = (self.hook_dicts, replay.build_fast(
                prog, signature, STATE, _Tensor, self.hook_dicts, self.module_dicts, _MISS,
                functools.partial(_output, prog)))
        self.fast = made[1]

    def _replay(self, prog, args):
        out, ctxs = prog.run(args)
        return _output(prog, args, out, ctxs)

    def _trace(self, key, first, args, kwargs):
        """Run eagerly while recording.  The first recording of a signature waits for a second
        one; the two must agree before the recording is replayed."""
        self.fast = None
        if self.root is not None:    # submodules may have been added since the last trace
            modules = list(self.root.modules())
            if [id(m) for m in modules] != [id(m) for m in self.modules]:
                self._watch(modules)  # (only then: the programs' fast paths check these)
                key = self._key(args, kwargs)
                if key is None:      # a new submodule has hooks
                    return self.fn(*args, **kwargs)
        with tracing(_Trace()) as trace:
            out = self.fn(*args, **kwargs)
        why = trace.why
        prog = None
        if why is None:
            outs = out if type(out) is tuple and out else (out,)
            if out is not None and not all(isinstance(o, _Tensor) for o in outs):
                why = (f"a return value of type {type(out).__name__} (not a Tensor, a tuple of "
                       "Tensors or None)")
            elif out is not None and not all(any(o is r for _, _, _, r in trace.ops)
                                             for o in outs):
                why = "a return value that no op of the call computed"
            else:
                prog = _Program(trace, args, out)
                why = prog.why
        if why is not None:
            self._give_up(key, why)
            return out
        if self.root is None:     # a function: guard the modules it ran from now on
            known = {id(m) for m in self.modules}
            new = [m for m in prog.modules if id(m) not in known]
            if new:
                self._watch(self.modules + new)
                key = self._key(args, kwargs)
        if type(first) is tuple:
            if first[1].same_as(prog):
                prog.build()
                self.cache[key] = prog
                # all code is made while recording, none on a replay (as torch.compile compiles)
                self._remember(prog, key, args, kwargs)
            else:
                self._give_up(key, "values that differ from one call to the next outside the "
                              "recorded ops (a tensor built from an input's values, or Python "
                              "branching on data)")
        else:
            self.cache[key] = ("first", prog)
        return out

    def _give_up(self, key, why):
        name = getattr(self.fn, "__qualname__", type(self.fn).__name__)
        msg = (f"cr.compile: {name} runs eagerly for this input signature because the traced "
               f"call used {why}, which a replay cannot repeat")
        if self.fullgraph:
            raise RuntimeError(msg + " (fullgraph=True)")
        if self.on_give_up is not None:
            self.on_give_up(why)
        elif why not in self.warned:
            self.warned.add(why)
            warnings.warn(msg, RuntimeWarning, stacklevel=4)
        if key is not None:
            self.cache[key] = why
