"""The recorder of ``cr.compile``: what one traced call did, and how the trace learns it.

Eager code knows nothing of the compiler but two hooks (``graph/modes.py``): ``observe_read``
(a value read into Python, random numbers drawn outside an op, a hook, a custom ``Function``) and
``observe_write`` (a tensor written in place).  A trace is the observer they tell, so either one
keeps the call eager.  Everything else a trace needs it intercepts itself, for the duration of
the trace, by wrapping these entry points (the table below, owned here):

* ``Op.apply``: each primitive (class, inputs, constants, output) is appended to the recording;
* ``Tensor.backward``: the backward is noted, then runs with no observer;
* ``Module.__call__``: the modules the call ran, whose ``training`` flags the signature guards;
* the calls a replay makes again, with the same arguments, because they change state outside the
  graph: ``Optimizer.step`` and ``zero_grad``, ``Module.zero_grad``, ``LRScheduler.step`` (each
  subclass's own ``step``/``zero_grad`` too, user-defined ones included), and
  ``cr.nn.utils.clip_grad_norm_`` / ``clip_grad_value_``.  Such a call runs with no observer, so
  its in-place writes are not reported, and the replay calls the original function.

The wrappers are installed when the first trace of the process begins and removed when the last
one ends (traces may run in several threads at once).  They test the thread-local observer, so a
trace records only its own thread's work, and another thread's eager code runs the original
functions (through one more frame while some thread traces).

A call that slips past the table (a bound method or ``from ... import clip_grad_norm_`` taken
before the trace, a subclass defined during it) is not recorded; its writes to tensors bump their
versions, which ``observe_write`` reports, so the call stays eager (with the warning) instead of
replaying without it.  (A scheduler's step writes only the groups' ``'lr'``: call it as
``scheduler.step()``.)
"""
from __future__ import annotations

import functools
import threading
import types

from ..autograd.op import Op
from ..graph.modes import STATE
from ..nn import utils as _nn_utils
from ..nn.module import Module
from ..optim.lr_scheduler import LRScheduler
from ..optim.optimizer import Optimizer
from ..tensor import Tensor

__all__ = ["_Trace", "tracing"]


class _Trace:
    """What one traced call did: ops, backward calls and replayable calls, in order.  It is the
    observer of its thread (``STATE.observer``) while the call runs."""

    def __init__(self):
        self.ops = []          # (Op class, input tensors, constants, output tensor)
        self.events = []       # (number of ops before it, "backward" | "call", payload)
        self.modules = {}
        self.why = None        # the first thing the call did that a replay cannot repeat

    def read(self, what):      # observe_read
        if self.why is None:
            self.why = what

    write = read               # observe_write: a replay would not repeat the write either

    def call(self, fn, args, kwargs):
        """Run and record a call a replay makes again."""
        # materialize iterators (model.parameters()): the replay needs the same items again
        args = tuple(list(a) if isinstance(a, (types.GeneratorType, map, filter)) else a
                     for a in args)
        if any(isinstance(a, Tensor) for a in (*args, *kwargs.values())):
            self.read(f"a Tensor passed to {fn.__qualname__}")
        if any(callable(a) for a in (*args[1:], *kwargs.values())):   # args[0]: self
            self.read(f"a closure passed to {fn.__qualname__}")
        self.events.append((len(self.ops), "call", (fn, args, kwargs)))
        return _unobserved(self, fn, args, kwargs)


def _unobserved(trace, fn, args, kwargs):
    STATE.observer = None
    try:
        return fn(*args, **kwargs)
    finally:
        STATE.observer = trace


# -- the wrappers ---------------------------------------------------------------------------
def _apply(orig):
    def apply(cls, *inputs, **params):
        res = orig(cls, *inputs, **params)
        trace = STATE.observer
        if trace is not None:
            if cls.outputs != 1:
                trace.read(f"the multi-output op {cls.__name__}")
            else:
                trace.ops.append((cls, inputs, params, res))
        return res
    return classmethod(functools.wraps(orig)(apply))


def _backward(orig):
    @functools.wraps(orig)
    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        trace = STATE.observer
        if trace is None:
            return orig(self, gradient, retain_graph, create_graph, inputs)
        if gradient is not None or retain_graph or create_graph:
            trace.read("backward() with gradient=, retain_graph or create_graph")
        _unobserved(trace, orig, (self, gradient, retain_graph, create_graph, inputs), {})
        trace.events.append((len(trace.ops), "backward", self))
    return backward


def _module_call(orig):
    @functools.wraps(orig)
    def __call__(self, *args, **kwargs):
        trace = STATE.observer
        if trace is not None:
            trace.modules.setdefault(id(self), self)
            d = self.__dict__
            if d.get("_forward_pre_hooks") or d.get("_forward_hooks") or \
                    d.get("_backward_hooks"):
                trace.read(f"hooks of the module {type(self).__name__}")
        return orig(self, *args, **kwargs)
    return __call__


def _replayable(orig):
    @functools.wraps(orig)
    def call(*args, **kwargs):
        trace = STATE.observer
        if trace is None:
            return orig(*args, **kwargs)
        return trace.call(orig, args, kwargs)
    return call


# what a replay makes again: (base class, method names), each subclass's own definitions too
_REPLAYED_METHODS = ((Optimizer, ("step", "zero_grad")), (LRScheduler, ("step",)),
                     (Module, ("zero_grad",)))
_REPLAYED_FUNCTIONS = (_nn_utils, ("clip_grad_norm_", "clip_grad_value_"))


def _classes(base):
    """``base`` and all its subclasses, each once."""
    out, todo = {}, [base]
    while todo:
        cls = todo.pop()
        if cls not in out:
            out[cls] = None
            todo.extend(cls.__subclasses__())
    return list(out)


def _entries():
    """(owner, name, wrapper maker) of every entry point a trace intercepts, found now (so that
    the subclasses defined until now are included)."""
    entries = [(Op, "apply", lambda f: _apply(f.__func__)), (Tensor, "backward", _backward),
               (Module, "__call__", _module_call)]
    for base, names in _REPLAYED_METHODS:
        for cls in _classes(base):
            for name in names:
                if isinstance(cls.__dict__.get(name), types.FunctionType):
                    entries.append((cls, name, _replayable))
    owner, names = _REPLAYED_FUNCTIONS
    entries.extend((owner, name, _replayable) for name in names)
    return entries


_LOCK = threading.Lock()
_ACTIVE = [0, []]        # traces running in the process; the originals while they run


def _install():
    saved = []
    for owner, name, wrap in _entries():
        orig = vars(owner)[name]
        setattr(owner, name, wrap(orig))
        saved.append((owner, name, orig))
    return saved


class tracing:
    """``with tracing(trace):`` the entry points are wrapped (the first trace of the process
    installs them, the last one to end removes them) and ``trace`` observes this thread."""

    def __init__(self, trace):
        self.trace = trace

    def __enter__(self):
        with _LOCK:
            if _ACTIVE[0] == 0:
                _ACTIVE[1] = _install()
            _ACTIVE[0] += 1
        STATE.observer = self.trace
        return self.trace

    def __exit__(self, *exc):
        STATE.observer = None
        with _LOCK:
            _ACTIVE[0] -= 1
            if _ACTIVE[0] == 0:
                for owner, name, orig in reversed(_ACTIVE[1]):
                    setattr(owner, name, orig)
                _ACTIVE[1] = []
        return False
