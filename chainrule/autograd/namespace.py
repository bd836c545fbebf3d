"""The two array namespaces a backward rule is written against, and the op registry.

A rule gets ``xp``: :data:`ARRAY` (NumPy, plus every registered op by its ``name``, as its
forward on arrays) for a plain ``backward()``, or :data:`TENSOR` (every registered op as its
differentiable ``apply`` on Tensors, plus constants) under ``create_graph=True``.  Ops register
themselves here (``Op.__init_subclass__`` in op.py); ``export`` registers the user-facing
function of an op as ``cr.<name>`` and as Tensor methods.  This is also the seam where another
array library would plug in.
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor, _new

REGISTRY = {}     # xp name -> Op subclass
FUNCTIONS = {}    # cr.<name> -> user-facing function (from @export)


class NoDerivative(RuntimeError):
    """A backward used a NumPy function with no registered op, so it has no derivative."""


# -------------------------------------------------------------------------------------------
# the two namespaces a rule is written against
# -------------------------------------------------------------------------------------------
def _split(op, args, kwargs):
    """Positional arguments: the op's arrays first, then its constants in declared order."""
    n = len(args) if op._varargs else min(len(args), len(op._arrays))
    if op._varargs:
        return args, kwargs
    arrays, extra = args[:n], args[n:]
    if extra:
        kwargs = dict(kwargs)
        for name, v in zip(op._consts, extra):
            kwargs[name] = v
    return arrays, kwargs


class _Scratch:
    """The throwaway context of an op's forward called as a plain array function."""


def _array_fn(op):
    def fn(*args, **kwargs):
        arrays, consts = _split(op, args, kwargs)
        return op.forward(_Scratch(), ARRAY, *arrays, **consts)
    fn.__name__ = op.name
    return fn


def _tensor_fn(op):
    def fn(*args, **kwargs):
        arrays, consts = _split(op, args, kwargs)
        like = next((a for a in arrays if isinstance(a, Tensor) and a._data.dtype.kind == "f"),
                    None)
        ts = [a if isinstance(a, Tensor) else
              _new(np.asarray(a, dtype=None if like is None or isinstance(a, np.ndarray)
                              else like.dtype)) for a in arrays]
        return op.apply(*ts, **consts)
    fn.__name__ = op.name
    return fn


# constants a rule may build in either mode (no derivative is needed: they depend on no input)
_CONSTANTS = ("zeros", "ones", "full", "empty", "arange", "eye", "float32", "float64", "int64",
              "bool_", "newaxis", "pi", "e", "inf", "nan", "ndarray", "dtype", "prod",
              "errstate")


def _ones(shape, dtype=None, order="C"):
    """``np.ones``: NumPy's is Python code (empty, then copyto), 2 us where this takes 0.8."""
    a = np.empty(shape, dtype, order)
    a.fill(1)
    return a


class _ArrayNamespace:
    """NumPy, plus every registered op whose name NumPy does not have (its forward)."""

    ones = staticmethod(_ones)   # a rule's constant (Linear's bias gradient: ones @ g)

    def __getattr__(self, name):
        if hasattr(np, name):
            f = getattr(np, name)
        elif name in REGISTRY:
            f = _array_fn(REGISTRY[name])
        else:
            raise AttributeError(f"xp has no {name!r}: neither NumPy nor a registered op")
        setattr(self, name, f)
        return f

    def __repr__(self):
        return "<xp: NumPy arrays>"


class _TensorNamespace:
    """Every registered op as a differentiable function on Tensors (create_graph rules)."""

    def __getattr__(self, name):
        if name in REGISTRY:
            f = _tensor_fn(REGISTRY[name])
        elif name in _CONSTANTS:
            f = _constant(name)
        else:
            raise NoDerivative(name)
        setattr(self, name, f)
        return f

    def __repr__(self):
        return "<xp: differentiable Tensor ops>"


def _constant(name):
    v = getattr(np, name)
    if not callable(v) or isinstance(v, type):
        return v

    def fn(*args, **kwargs):
        if any(isinstance(a, Tensor) for a in (*args, *kwargs.values())):
            raise NoDerivative(f"{name} of a Tensor (it would drop the graph)")
        return _new(np.asarray(v(*args, **kwargs)))
    return fn


ARRAY = _ArrayNamespace()
TENSOR = _TensorNamespace()


# -------------------------------------------------------------------------------------------
# registration of the user-facing functions
# -------------------------------------------------------------------------------------------
def export(fn=None, *, name=None, method=False, function=True, prop=False):
    """Register ``fn`` as ``cr.<name>`` and as Tensor method(s).

    ``method=True`` attaches it as ``Tensor.<name>``; a string or a tuple of strings names the
    methods (``method=("add", "__add__", "__radd__")``); ``prop=True`` makes them properties;
    ``function=False`` keeps it out of the ``cr.`` namespace (a method only).
    """
    def deco(f):
        n = name or f.__name__
        if function:
            FUNCTIONS[n] = f
        if method is True:
            names = (n,)
        elif isinstance(method, str):
            names = (method,)
        else:
            names = tuple(method or ())
        for m in names:
            setattr(Tensor, m, property(f) if prop else f)
        return f
    return deco(fn) if fn is not None else deco
