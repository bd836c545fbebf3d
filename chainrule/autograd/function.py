"""Graph nodes: the one mechanism behind every differentiable operation.

A primitive is a subclass of :class:`Op` with two static methods side by side:

``forward(ctx, *arrays, **params) -> ndarray``
    computes the result on NumPy arrays and stores on ``ctx`` whatever the backward needs
    (constants such as masks or axes as plain attributes).
``backward(ctx, g) -> grad or tuple of grads``
    returns one gradient per tensor input (``None`` where there is none).

The backward is written once and runs in two modes.  For an ordinary ``loss.backward()`` ``g`` and
the values from ``ctx.input(i)`` / ``ctx.output()`` are NumPy arrays (fast first-order path).  With
``create_graph=True`` they are :class:`~chainrule.Tensor` objects, so the same lines build a graph and
higher derivatives come for free (Chainer's double-backprop idea).  Operators (``+ - * / @ **``,
``.T``, ``.mT``, ``.reshape``, indexing) behave the same on both; the few functions that differ live
in :mod:`chainrule.ops.dual`.  Gradients are reduced to an input's broadcast shape by the engine, not
by the ops.

:class:`Function` is PyTorch's user-facing API (``forward(ctx, *tensors)``,
``backward(ctx, *grads)``, ``save_for_backward``, ``apply``); it is a thin adapter that puts a user
function into the same graph as an :class:`Op` node.
"""
from __future__ import annotations

import itertools
import sys
import weakref

import numpy as np


class _GradState:
    """Process-wide switches read on every operation (plain attributes: cheapest to read)."""
    enabled = True      # grad mode (no_grad turns it off)
    dual = False        # True while a create_graph backward runs
    anomaly = False     # anomaly detection
    anomaly_warn = False
    trace = None        # the recorder of cr.compile while it traces a call (autograd/capture.py)


STATE = _GradState()


class no_grad:
    """Context manager and decorator that disables graph recording (as ``torch.no_grad``).

    Example::

        with cr.no_grad():
            y = model(x)          # y.requires_grad is False, no graph is kept
    """
    _mode = False

    def __enter__(self):
        self._prev = STATE.enabled
        STATE.enabled = self._mode
        return self

    def __exit__(self, *exc):
        STATE.enabled = self._prev
        return False

    def __call__(self, fn):
        import functools
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


class enable_grad(no_grad):
    """Re-enables graph recording inside a ``no_grad`` block (as ``torch.enable_grad``)."""
    _mode = True


class set_grad_enabled(no_grad):
    """``set_grad_enabled(False)`` behaves as ``no_grad()``; usable as a function or a context."""

    def __init__(self, mode: bool):
        self._mode = bool(mode)
        self._prev = STATE.enabled
        STATE.enabled = self._mode

    def __enter__(self):
        STATE.enabled = self._mode
        return self

    def __call__(self, fn):
        # used as a decorator: the call in ``__init__`` must not change the global mode
        STATE.enabled = self._prev
        return super().__call__(fn)


def is_grad_enabled() -> bool:
    return STATE.enabled


def _user_frame():
    """The first stack frame outside the chainrule package: where the user created an op."""
    import os
    pkg = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    f = sys._getframe(2)
    while f is not None and os.path.abspath(f.f_code.co_filename).startswith(pkg):
        f = f.f_back
    if f is None:
        return "<unknown>"
    return f"{f.f_code.co_filename}:{f.f_lineno}"


class Op:
    """Base class of graph nodes (see the module docstring).

    Class attributes a primitive may set:
      ``uses_inputs``  the backward reads input values, so an in-place change of an input after the
                       forward is an error (version counter check);
      ``uses_output``  the backward reads the output (set ``ctx._y`` in forward).

    For replays (``cr.compile``, autograd/replay.py), which know who else reads an array:
      ``fresh_output`` the forward always returns a new array, no view of an input;
      ``fresh_grads``  the backward returns new arrays for its inputs (never ``g`` or a view);
      ``forward_inplace(ctx, x, ...)``, ``backward_inplace(ctx, g)``: optional variants of
                       forward and backward that may write into ``x`` or ``g`` (same numbers).
                       A replay uses them only when that array came fresh from the op before
                       and nothing else reads it.
    """
    uses_inputs = True
    uses_output = False
    fresh_output = False
    fresh_grads = False
    forward_inplace = None
    backward_inplace = None
    inputs = ()
    needs_input_grad = ()
    versions = None

    @classmethod
    def apply(cls, *inputs, **params):
        ctx = _object_new(cls)
        if len(inputs) == 1:
            t = inputs[0]
            out = cls.forward(ctx, t._data, **params)
            record = t.requires_grad and STATE.enabled
        else:
            out = cls.forward(ctx, *[t._data for t in inputs], **params)
            record = False
            if STATE.enabled:
                for t in inputs:
                    if t.requires_grad:
                        record = True
                        break
        if type(out) is not np.ndarray:   # 0-d arithmetic gives NumPy scalars: keep arrays
            out = np.asarray(out)
        res = _object_new(_Tensor)        # _fill's assignments, inline: this is the hot path
        res._data = out
        res.grad = None
        res._version = 0
        res._hooks = None
        res._retain = False
        if record:
            res.requires_grad = True
            res._node = ctx
            ctx.inputs = inputs
            ctx.seq = next(_SEQ)
            if len(inputs) == 1:
                ctx.needs_input_grad = _ONE_TRUE
                if cls.uses_inputs:
                    ctx.versions = (t._version,)
            else:
                ctx.needs_input_grad = tuple([t.requires_grad for t in inputs])
                if cls.uses_inputs:
                    ctx.versions = tuple([t._version for t in inputs])
            if cls.uses_output:
                ctx.out_ref = weakref.ref(res)
            if STATE.anomaly:
                ctx.site = _user_frame()
                _anomaly_forward(cls, inputs, res, ctx.site)
            if STATE.trace is not None:
                STATE.trace.record(cls, inputs, params, res)
            return res
        res.requires_grad = False
        res._node = None
        if STATE.anomaly:
            _anomaly_forward(cls, inputs, res, None)
        if STATE.trace is not None:
            STATE.trace.record(cls, inputs, params, res)
        return res

    # -- values for the backward: arrays normally, tensors under create_graph ------------------
    def input(self, i):
        t = self.inputs[i]
        return t if STATE.dual else t._data

    def output(self):
        if STATE.dual:
            out = self.out_ref()
            if out is None:   # the output tensor is gone: its value is still correct as a constant
                return _new(self._y, False, None)
            return out
        return self._y

    @property
    def name(self):
        return type(self).__name__

    def __repr__(self):
        return f"<{type(self).__name__}Backward>"

    def release(self):
        """Free what the graph holds (inputs, saved arrays) once backward has used it."""
        d = self.__dict__
        d.clear()
        d["inputs"] = None


_object_new = object.__new__
_ONE_TRUE = (True,)
_Tensor = None   # set by chainrule.tensor once the class exists (avoids a circular import)
_SEQ = itertools.count()   # creation order of graph nodes: backward runs newest first


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
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if STATE.trace is None:
            return fn(*args, **kwargs)
        return STATE.trace.call(fn, args, kwargs)

    wrapper._replayable = True
    return wrapper


def _fill(t, data, requires_grad, node):
    """Set every field of a Tensor (or subclass) ``t``; the one place that lists them.

    ``Op.apply`` repeats these assignments inline because it is the hottest path.
    """
    t._data = data
    t.requires_grad = requires_grad
    t._node = node
    t.grad = None
    t._version = 0
    t._hooks = None
    t._retain = False
    return t


def _new(data, requires_grad, node):
    """Fast internal constructor of a Tensor around ``data`` (no copy, no checks)."""
    return _fill(_object_new(_Tensor), data, requires_grad, node)


def _range(a):
    a = np.asarray(a)
    if a.size == 0 or a.dtype.kind not in "fc":
        return "n/a"
    finite = a[np.isfinite(a)]
    extra = f", {a.size - finite.size} non-finite" if finite.size != a.size else ""
    if finite.size == 0:
        return "all non-finite"
    return f"[{finite.min():.4g}, {finite.max():.4g}]{extra}"


class AnomalyError(RuntimeError):
    """Raised by anomaly mode when an operation produces NaN or Inf."""


def _report(msg, site):
    if STATE.anomaly_warn:
        import warnings
        # the warning points at the user's line, not at the framework frame that noticed it
        file, _, line = site.rpartition(":")
        if file and line.isdigit():
            warnings.warn_explicit(msg, RuntimeWarning, file, int(line))
        else:
            warnings.warn(msg, RuntimeWarning, stacklevel=4)
    else:
        raise AnomalyError(msg)


def _anomaly_forward(cls, inputs, res, site):
    a = res._data
    if a.dtype.kind in "fc" and not np.isfinite(a).all():
        site = site or _user_frame()
        shapes = ", ".join(f"{tuple(t.shape)} range {_range(t._data)}" for t in inputs)
        bad = "NaN" if np.isnan(a).any() else "Inf"
        _report(f"anomaly: {cls.__name__} produced {bad} in its forward (output shape "
                f"{a.shape}); inputs: {shapes}; created at {site}", site)


def anomaly_backward(node, grads):
    for gi in grads:
        if gi is None:
            continue
        a = getattr(gi, "_data", gi)
        if a.dtype.kind in "fc" and not np.isfinite(a).all():
            bad = "NaN" if np.isnan(a).any() else "Inf"
            shapes = ", ".join(f"{tuple(t.shape)} range {_range(t._data)}" for t in node.inputs)
            site = getattr(node, "site", "<unknown>")
            _report(f"anomaly: {node.name} produced {bad} in its backward (inputs: {shapes}; "
                    f"gradient range {_range(a)}); the op was created at {site}", site)


class detect_anomaly:
    """Context manager: the first NaN/Inf made by a forward or a backward raises (or warns).

    As ``torch.autograd.detect_anomaly``; the error names the op, its input shapes and value
    ranges and the line of user code that created the op.  ``check_nan=False`` turns it off,
    ``warn=True`` emits a ``RuntimeWarning`` instead of raising.
    """

    def __init__(self, check_nan: bool = True, warn: bool = False):
        self.mode, self.warn = bool(check_nan), bool(warn)

    def __enter__(self):
        self._prev = (STATE.anomaly, STATE.anomaly_warn)
        STATE.anomaly, STATE.anomaly_warn = self.mode, self.warn
        return self

    def __exit__(self, *exc):
        STATE.anomaly, STATE.anomaly_warn = self._prev
        return False


def set_detect_anomaly(mode: bool, warn: bool = False):
    """Global switch for anomaly mode (as ``torch.autograd.set_detect_anomaly``)."""
    STATE.anomaly, STATE.anomaly_warn = bool(mode), bool(warn)


def is_anomaly_enabled() -> bool:
    return STATE.anomaly


# ---------------------------------------------------------------------------------------------
# PyTorch-style user functions
# ---------------------------------------------------------------------------------------------
class FunctionCtx:
    """The ``ctx`` a user :class:`Function` receives."""

    def save_for_backward(self, *tensors):
        self._saved = tensors
        self._saved_versions = tuple(getattr(t, "_version", 0) for t in tensors)

    @property
    def saved_tensors(self):
        saved = getattr(self, "_saved", None)
        if saved is None:
            if hasattr(self, "_saved"):
                raise RuntimeError("saved tensors were freed after backward; pass "
                                   "retain_graph=True to backward twice")
            return ()
        for i, (t, v) in enumerate(zip(saved, self._saved_versions)):
            if getattr(t, "_version", 0) != v:
                raise RuntimeError(
                    f"saved tensor {i} of {self._fn_name} (shape {tuple(t.shape)}) was modified "
                    f"by an in-place operation after the forward: version {t._version}, "
                    f"expected {v}")
        return saved

    def mark_non_differentiable(self, *tensors):
        self._non_diff = tensors


class _UserNode(Op):
    uses_inputs = False

    def backward(self, g):
        from ..tensor import Tensor
        fn, ctx = self.fn, self.ctx
        if not isinstance(g, Tensor):
            g = _new(g, False, None)
            prev = STATE.enabled
            STATE.enabled = False
            try:
                res = fn.backward(ctx, g)
            finally:
                STATE.enabled = prev
        else:
            res = fn.backward(ctx, g)
        if not isinstance(res, tuple):
            res = (res,)
        if len(res) != len(self.arg_is_tensor):
            raise RuntimeError(f"{fn.__name__}.backward returned {len(res)} gradients, expected "
                               f"{len(self.arg_is_tensor)} (one per forward argument)")
        grads = [r for r, is_t in zip(res, self.arg_is_tensor) if is_t]
        if not STATE.dual:
            grads = [None if r is None else (r._data if isinstance(r, Tensor) else np.asarray(r))
                     for r in grads]
        return tuple(grads)

    @property
    def name(self):
        return self.fn.__name__

    def release(self):
        self.inputs = None
        self.ctx._saved = None


class Function:
    """Base class for user-defined differentiable operations, as ``torch.autograd.Function``.

    Example::

        class Cube(cr.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x ** 3
            @staticmethod
            def backward(ctx, g):
                x, = ctx.saved_tensors
                return 3 * x ** 2 * g

        y = Cube.apply(x)

    ``forward`` runs without graph recording and returns one tensor; ``backward`` returns one
    gradient per forward argument (``None`` for non-tensors or inputs without gradient).
    """

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError

    @classmethod
    def apply(cls, *args):
        from ..tensor import Tensor
        taint(f"the custom autograd.Function {cls.__name__}")
        ctx = FunctionCtx()
        ctx._fn_name = cls.__name__
        tensors = tuple(a for a in args if isinstance(a, Tensor))
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        prev = STATE.enabled
        STATE.enabled = False
        try:
            out = cls.forward(ctx, *args)
        finally:
            STATE.enabled = prev
        if isinstance(out, tuple):
            raise TypeError(f"{cls.__name__}.forward returned a tuple; chainrule's Function "
                            "supports one output tensor (return several from separate Functions)")
        if not isinstance(out, Tensor):
            raise TypeError(f"{cls.__name__}.forward must return a Tensor, got {type(out).__name__}")
        if STATE.enabled and any(t.requires_grad for t in tensors):
            node = _UserNode.__new__(_UserNode)
            node.fn, node.ctx = cls, ctx
            if STATE.anomaly:
                node.site = _user_frame()
            node.arg_is_tensor = tuple(isinstance(a, Tensor) for a in args)
            node.inputs = tensors
            node.seq = next(_SEQ)
            node.needs_input_grad = tuple(t.requires_grad for t in tensors)
            return _new(out._data, True, node)
        return _new(out._data, False, None)
