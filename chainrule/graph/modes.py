"""Grad, inference and anomaly modes, one set per thread (as PyTorch's).

``STATE`` is a :class:`threading.local`: each thread starts from the class defaults below, so a
``no_grad()`` in a data-loading thread never turns gradients off in the training thread.
"""
from __future__ import annotations

import functools
import threading


class _State(threading.local):
    enabled = True      # grad mode (no_grad turns it off)
    inference = False   # inference_mode: no graph and no version tracking needed
    dual = False        # True while a create_graph backward runs
    anomaly = False     # anomaly detection
    anomaly_warn = False
    observer = None     # told by the two hooks below; cr.compile's trace sets it while it traces


STATE = _State()


class _GradMode:
    """Base of the grad-mode context managers; each is also a decorator."""
    _mode = False

    def __enter__(self):
        self._prev = STATE.enabled
        STATE.enabled = self._mode
        return self

    def __exit__(self, *exc):
        STATE.enabled = self._prev
        return False

    def __call__(self, fn):
        mode = self._mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            prev = STATE.enabled
            STATE.enabled = mode
            try:
                return fn(*args, **kwargs)
            finally:
                STATE.enabled = prev
        return wrapper


class no_grad(_GradMode):
    """Context manager and decorator that disables graph recording (as ``torch.no_grad``).

    Example::

        with cr.no_grad():
            y = model(x)          # y.requires_grad is False, no graph is kept
    """
    _mode = False


class enable_grad(_GradMode):
    """Re-enables graph recording inside a ``no_grad`` block (as ``torch.enable_grad``)."""
    _mode = True


class set_grad_enabled(_GradMode):
    """``set_grad_enabled(False)`` behaves as ``no_grad()``; usable as a function or a context."""

    def __init__(self, mode: bool):
        self._mode = bool(mode)
        self._prev = STATE.enabled
        STATE.enabled = self._mode

    def __enter__(self):
        STATE.enabled = self._mode      # _prev was taken by __init__, before the switch
        return self

    def __call__(self, fn):
        # used as a decorator: the switch made in ``__init__`` must not stay on
        STATE.enabled = self._prev
        return super().__call__(fn)


class inference_mode(_GradMode):
    """As ``torch.inference_mode``: no graph is recorded (``inference_mode(False)`` is a no-op)."""

    def __init__(self, mode: bool = True):
        self._on = bool(mode)
        self._mode = not self._on if self._on else STATE.enabled

    def __enter__(self):
        self._prev_inf = STATE.inference
        if self._on:
            STATE.inference = True
            return super().__enter__()
        self._prev = STATE.enabled
        return self

    def __exit__(self, *exc):
        STATE.inference = self._prev_inf
        STATE.enabled = self._prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with inference_mode(self._on):
                return fn(*args, **kwargs)
        return wrapper


def is_grad_enabled() -> bool:
    return STATE.enabled


def is_inference_mode_enabled() -> bool:
    return STATE.inference


# -- the two hooks of eager code ------------------------------------------------------------
# Nothing else in eager code knows about cr.compile: what a trace records (each op, backward(),
# the modules, optimizer and scheduler steps, clipping) it intercepts itself, for the duration of
# the trace (chainrule/compiler/trace.py).  These two report what no interception can see.

def observe_read(what):
    """Eager code reached Python outside the ops: a value read into Python (``item()``,
    ``bool(t)``, ``numpy()``), random numbers drawn outside an op, a hook or a custom
    ``Function``.  An observer (``cr.compile`` tracing this thread) keeps the call eager, since a
    replay cannot repeat it.  One thread-local attribute test when nothing observes."""
    observer = STATE.observer
    if observer is not None:
        observer.read(what)


def observe_write(what):
    """A tensor's memory was written in place (in-place ops, ``t[i] = v``, ``fill_``, ``copy_``,
    ``.data =``, a version bump).  An observer (``cr.compile`` tracing this thread) keeps the
    call eager, unless the write happens inside a call it records and replays (an optimizer's
    ``step``: it runs those with no observer).  One thread-local attribute test otherwise."""
    observer = STATE.observer
    if observer is not None:
        observer.write(what)
