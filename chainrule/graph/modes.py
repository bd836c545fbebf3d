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
    trace = None        # the recorder of cr.compile while it traces a call (chainrule/compile)


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


def taint(what):
    """Tell a running ``cr.compile`` trace that the traced code did something a replay cannot
    repeat (read a value into Python, changed a tensor in place, drew random numbers outside an
    op); the call then stays eager.  A no-op when nothing is being traced."""
    if STATE.trace is not None:
        STATE.trace.taint(what)


def replayable(fn):
    """Mark a function with effects outside the graph (an optimizer's ``step``, ``zero_grad``, a
    scheduler's ``step``, gradient clipping): a ``cr.compile`` trace records the call and each
    replay makes it again, with the same arguments.  Costs one attribute test otherwise."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if STATE.trace is None:
            return fn(*args, **kwargs)
        return STATE.trace.call(fn, args, kwargs)

    wrapper._replayable = True
    return wrapper
