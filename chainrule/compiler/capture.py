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
  plan (no graph is built), and the optimizer calls are made again in order.  Calls with effects
  outside the graph are marked :func:`~chainrule.autograd.function.replayable` (optimizer steps,
  ``zero_grad``, scheduler steps, gradient clipping).

What a trace records: every ``Op.apply`` (class, inputs, constant parameters, output), every
``backward()`` and replayable call, and the modules it ran.  Tensors an op reads that are neither
arguments nor made by a recorded op (parameters, buffers, constants) are read live on each replay.

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
import types
import warnings

import numpy as np

from ..autograd.op import _SEQ
from ..graph.engine import run_backward
from ..graph.modes import STATE
from ..tensor import Tensor as _Tensor
from ..tensor import _new, _object_new
from . import replay
from .replay import _ARG, _EXT, _VAL

__all__ = ["_Compiled"]


class _Trace:
    """What one traced call did: ops, backward calls and replayable calls, in order."""

    def __init__(self):
        self.ops = []
        self.events = []       # (number of ops before it, kind, payload)
        self.modules = {}
        self.why = None

    def record(self, cls, inputs, params, res):
        self.ops.append((cls, inputs, params, res))

    def taint(self, what):
        if self.why is None:
            self.why = what

    def backward(self, root, gradient, retain_graph, create_graph, seed):
        if gradient is not None or retain_graph or create_graph:
            self.taint("backward() with gradient=, retain_graph or create_graph")
        self.events.append((len(self.ops), "backward", root))
        STATE.trace = None
        try:
            run_backward([root], [seed], bool(retain_graph), create_graph)
        finally:
            STATE.trace = self

    def call(self, fn, args, kwargs):
        # materialize iterators (model.parameters()): the replay needs the same items again
        args = tuple(list(a) if isinstance(a, (types.GeneratorType, map, filter)) else a
                     for a in args)
        if any(isinstance(a, _Tensor) for a in (*args, *kwargs.values())):
            self.taint(f"a Tensor passed to {fn.__qualname__}")
        if any(callable(a) for a in (*args[1:], *kwargs.values())):   # args[0]: self
            self.taint(f"a closure passed to {fn.__qualname__}")
        self.events.append((len(self.ops), "call", (fn, args, kwargs)))
        STATE.trace = None
        try:
            return fn(*args, **kwargs)
        finally:
            STATE.trace = self


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


class _Program:
    """A recording turned into steps (op, input sources, parameters) and events."""

    def __init__(self, trace, args, out):
        produced = {id(res): k for k, (_, _, _, res) in enumerate(trace.ops)}
        tensors = [(i, a) for i, a in enumerate(args) if isinstance(a, _Tensor)]
        arg_pos = {id(a): i for i, a in tensors}
        arg_data = {id(a._data): i for i, a in tensors}
        ext, ext_pos = [], {}
        steps = []
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
            # a parameter that is an argument's array (a target's class indices) follows it
            bind = tuple((name, arg_data[id(v)]) for name, v in params.items()
                         if isinstance(v, np.ndarray) and id(v) in arg_data)
            need = tuple(t.requires_grad for t in inputs) if res.requires_grad else None
            steps.append((cls, tuple(srcs), params, bind, need))
        self.steps = steps
        self.meta = [(res._data.shape, res._data.dtype) for _, _, _, res in trace.ops]
        self.arg_index = [i for i, _ in tensors]
        self.run = self.guard_ok = None    # generated by build() once the recording is kept
        self.enter = None                  # (watched hook dicts, generated test), _remember
        self.ext = ext
        self.ext_guard = [(t.requires_grad, t._data.shape, t._data.dtype) for t in ext]
        self.arg_leaves = [(_ARG, i) for i, a in tensors if a.requires_grad]
        self.ext_leaves = [(_EXT, i) for i, t in enumerate(ext) if t.requires_grad]
        self.modules = list(trace.modules.values())
        self.why = None
        self.events = []
        for pos, kind, payload in trace.events:
            if kind == "backward":
                root = produced.get(id(payload))
                if root is None:
                    self.why = "backward() of a tensor that no op of the call computed"
                    break
                self.events.append((pos, kind, self._plan(trace, root)))
            else:
                self.events.append((pos, kind, payload))
        if any(t._node is not None for t in ext if t.requires_grad) and self.events:
            self.why = self.why or "a tensor from outside the call that has a grad_fn"
        if any(t._hooks for t in ext):
            self.why = self.why or "tensor hooks"
        self.out = produced.get(id(out)) if isinstance(out, _Tensor) else None
        self.out_plan = None
        if self.out is not None and out.requires_grad and not self.events:
            self.out_plan = self._plan(trace, self.out)

    def _plan(self, trace, root):
        """Backward plan from value ``root``: (op index, gradient slot, routes), newest first,
        plus the leaves (arguments and outside tensors that require grad) and their slots
        (``replay.py`` turns it into code).
        Slot 0 holds the root's gradient; leaves come next; then intermediate values."""
        leaves = self.arg_leaves + self.ext_leaves
        slot = {src: i + 1 for i, src in enumerate(leaves)}
        val_slot = {root: 0}
        plan = []
        for k in range(root, -1, -1):
            cls, srcs, params, bind, need = self.steps[k]
            if need is None or k not in val_slot:
                continue
            routes = []
            for i, (kind, ref) in enumerate(srcs):
                if not need[i]:
                    continue
                if kind == _VAL:
                    if ref not in val_slot:
                        val_slot[ref] = len(slot) + len(val_slot)
                    s = val_slot[ref]
                else:
                    s = slot[(kind, ref)]
                t = trace.ops[k][1][i]
                routes.append((i, s, t._data.shape, t._data.dtype))
            plan.append((k, val_slot[k], tuple(routes)))
        return plan, leaves, tuple(slot[src] for src in leaves)

    def same_as(self, other):
        """True if ``other`` (a recording of another call) did the same thing: same ops, same
        constants, same events.  Outside tensors made afresh by each call must hold equal values."""
        if len(self.steps) != len(other.steps) or len(self.ext) != len(other.ext) or \
                len(self.events) != len(other.events):
            return False
        for a, b in zip(self.ext, other.ext):
            if a is not b and not (a._data.shape == b._data.shape and a._data.dtype ==
                                   b._data.dtype and a.requires_grad == b.requires_grad
                                   and np.array_equal(a._data, b._data, equal_nan=True)):
                return False
        for (ca, sa, pa, ba, na), (cb, sb, pb, bb, nb) in zip(self.steps, other.steps):
            if ca is not cb or sa != sb or ba != bb or na != nb or pa.keys() != pb.keys():
                return False
            bound = {name for name, _ in ba}
            for name, va in pa.items():
                vb = pb[name]
                if name in bound or va is vb:
                    continue
                if isinstance(va, np.ndarray) or isinstance(vb, np.ndarray):
                    if not (isinstance(va, np.ndarray) and isinstance(vb, np.ndarray)
                            and va.shape == vb.shape and va.dtype == vb.dtype
                            and np.array_equal(va, vb, equal_nan=True)):
                        return False
                elif type(va) is not type(vb) or va != vb:
                    return False
        for (pa, ka, xa), (pb, kb, xb) in zip(self.events, other.events):
            if pa != pb or ka != kb:
                return False
            if ka == "call":
                (fa, aa, kwa), (fb, ab, kwb) = xa, xb
                if fa is not fb or kwa.keys() != kwb.keys() or len(aa) != len(ab):
                    return False
                for u, v in zip((*aa, *kwa.values()), (*ab, *kwb.values())):
                    if u is v:
                        continue
                    if isinstance(u, list) and isinstance(v, list) and len(u) == len(v) and \
                            all(p is q for p, q in zip(u, v)):
                        continue
                    if type(u) in (int, float, bool, str, type(None)) and type(u) is type(v) \
                            and u == v:
                        continue
                    return False
        return True

    # -- replay --------------------------------------------------------------------------------
    def build(self):
        """Generate the replay code (autograd/replay.py): ``run``, ``guard_ok`` (True while the
        outside tensors match the recording) and, for a forward, ``backward``; ``self.source``
        is the text of ``run`` and ``backward``."""
        self.guard_ok = replay.build_guard(self)
        self.run, self.source = replay.build(self)
        if self.out_plan is not None:
            self.backward, src = replay.build_backward(self)
            self.source += "\n" + src


_MISS = object()     # what a program's fast path returns when the call may not replay it


def _output(prog, args, out, ctxs):
    """The result of a replayed call: None, a detached tensor, or for a forward that needs a
    backward, a tensor whose graph node (``_Fused``) replays the recorded backwards."""
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
        trace = _Trace()
        STATE.trace = trace
        try:
            out = self.fn(*args, **kwargs)
        finally:
            STATE.trace = None
        why = trace.why
        prog = None
        if why is None:
            if out is not None and not isinstance(out, _Tensor):
                why = f"a return value of type {type(out).__name__} (not a Tensor or None)"
            elif isinstance(out, _Tensor) and not any(out is r for _, _, _, r in trace.ops):
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
        if why not in self.warned:
            self.warned.add(why)
            warnings.warn(msg, RuntimeWarning, stacklevel=4)
        if key is not None:
            self.cache[key] = why
