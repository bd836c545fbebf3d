"""Optional compiled kernels behind the NumPy reference (``cr.ops.kernels``).

A few array helpers of the convolution and pooling primitives (the window copy of ``conv2d``,
the slice-adds of its input gradient, max-pooling's window maxima with their argmax offsets and
its scatter) have a second implementation compiled with numba
(``chainrule/ops/_kernels_numba.py``).  The op's entry still holds the one forward and the one
backward; a helper marked :func:`accelerated` only chooses, here, which implementation of the
same array function runs.  Both give the same arrays, bit for bit (the compiled loops add in the
reference's order), and the NumPy one is the reference the tests compare against.

The choice, in this order:

* ``use("numpy")`` / ``use("numba")`` / ``use("auto")`` (or ``with using("numpy"): ...``);
* else the environment variable ``CHAINRULE_KERNELS`` (``numpy``, ``numba`` or ``auto``), read
  at the first call of an accelerated helper, not at import;
* else ``auto``: numba when it is importable (``pip install "chainrule[fast]"``), NumPy otherwise.

``numba`` asked for explicitly but not importable is an error, ``auto`` falls back silently.
Example::

    import chainrule as cr
    cr.ops.kernels.active()               # 'numba' or 'numpy'
    with cr.ops.kernels.using("numpy"):   # the reference path, e.g. to compare
        ...
"""
from __future__ import annotations

import contextlib
import os

import numpy as np

CHOICES = ("auto", "numpy", "numba")
ENV = "CHAINRULE_KERNELS"

_choice = None     # None: not decided yet (the environment variable is read on first use)
_module = None     # the numba kernels module when the choice resolves to numba, else None


def _load(choice, where):
    if choice not in CHOICES:
        raise ValueError(f"{where}: kernels must be one of {', '.join(CHOICES)}, got "
                         f"{choice!r}")
    if choice == "numpy":
        return None
    try:
        from . import _kernels_numba
    except Exception as e:     # not installed, or a numba that does not load with this NumPy
        if choice == "numba":
            raise ImportError(f"{where}: the numba kernels need numba (pip install "
                              f"'chainrule[fast]'); importing it failed: {e}") from None
        return None
    return _kernels_numba


def use(choice):
    """Choose the kernels: ``'numpy'`` (the reference), ``'numba'`` or ``'auto'``."""
    global _choice, _module
    _module = _load(choice, "cr.ops.kernels.use")
    _choice = choice


@contextlib.contextmanager
def using(choice):
    """``use(choice)`` inside the block, the previous choice after it."""
    before = _resolved()
    use(choice)
    try:
        yield
    finally:
        use(before)


def _resolved():
    if _choice is None:
        use_from_env()
    return _choice


def use_from_env():
    """Choose from ``CHAINRULE_KERNELS`` (``auto`` when unset)."""
    global _choice, _module
    choice = os.environ.get(ENV, "auto").strip().lower() or "auto"
    _module = _load(choice, f"environment variable {ENV}")
    _choice = choice


def active():
    """The kernels accelerated helpers run now: ``'numba'`` or ``'numpy'``."""
    _resolved()
    return "numpy" if _module is None else "numba"


def available():
    """Whether the numba kernels can be used (numba importable)."""
    try:
        return _load("auto", "cr.ops.kernels.available") is not None
    except ImportError:
        return False


def accelerated(fn=None, *, min_size=0, load_from=0):
    """Mark a NumPy array helper ``fn(xp, *args)`` as having a compiled twin of the same name.

    The twin takes ``*args`` and returns the same arrays, or ``NotImplemented`` for inputs it
    does not cover (a dtype other than float32/float64), which then take the NumPy code.

    ``min_size``: a first argument that is not an array of at least that many elements takes
    the NumPy code.  ``load_from``: below that many elements the helper does not decide the
    switch itself (which imports numba: 77 MiB, about a second): until something else has (a
    convolution, a fused optimizer step, a larger array, :func:`use`), it takes the NumPy code.
    ReLU's helpers use 16,384 and 65,536, the fused optimizers' threshold, so a small model
    trains without numba.
    """
    if fn is None:
        return lambda f: accelerated(f, min_size=min_size, load_from=load_from)
    name = fn.__name__

    def dispatch(xp, *args, **kwargs):
        if min_size:
            a = args[0]
            if type(a) is not np.ndarray or a.size < min_size:
                return fn(xp, *args, **kwargs)
        if _choice is None:
            if load_from and args[0].size < load_from:
                return fn(xp, *args, **kwargs)
            use_from_env()
        if _module is not None:
            out = getattr(_module, name)(*args, **kwargs)
            if out is not NotImplemented:
                return out
        return fn(xp, *args, **kwargs)
    dispatch.__name__ = dispatch.__qualname__ = name
    dispatch.__doc__ = fn.__doc__
    dispatch.reference = fn
    return dispatch
