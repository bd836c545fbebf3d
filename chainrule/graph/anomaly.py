"""Anomaly mode: the first NaN or Inf made by a forward or a backward raises (or warns)."""
from __future__ import annotations

import os
import sys

import numpy as np

from .modes import STATE


class AnomalyError(RuntimeError):
    """Raised by anomaly mode when an operation produces NaN or Inf."""


def user_frame(depth=2):
    """The first stack frame outside the chainrule package: where the user created an op."""
    pkg = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    f = sys._getframe(depth)
    while f is not None and os.path.abspath(f.f_code.co_filename).startswith(pkg):
        f = f.f_back
    if f is None:
        return "<unknown>"
    return f"{f.f_code.co_filename}:{f.f_lineno}"


def value_range(a):
    a = np.asarray(a)
    if a.size == 0 or a.dtype.kind not in "fc":
        return "n/a"
    finite = a[np.isfinite(a)]
    extra = f", {a.size - finite.size} non-finite" if finite.size != a.size else ""
    if finite.size == 0:
        return "all non-finite"
    return f"[{finite.min():.4g}, {finite.max():.4g}]{extra}"


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


def check_forward(name, inputs, arrays, site):
    for a in arrays:
        if a.dtype.kind in "fc" and not np.isfinite(a).all():
            site = site or user_frame(3)
            shapes = ", ".join(f"{tuple(t.shape)} range {value_range(t._data)}" for t in inputs)
            bad = "NaN" if np.isnan(a).any() else "Inf"
            _report(f"anomaly: {name} produced {bad} in its forward (output shape "
                    f"{a.shape}); inputs: {shapes}; created at {site}", site)


def check_backward(node, grads):
    for gi in grads:
        if gi is None:
            continue
        a = getattr(gi, "_data", gi)
        if a.dtype.kind in "fc" and not np.isfinite(a).all():
            bad = "NaN" if np.isnan(a).any() else "Inf"
            shapes = ", ".join(f"{tuple(t.shape)} range {value_range(t._data)}"
                               for t in node.inputs)
            site = getattr(node, "site", "<unknown>")
            _report(f"anomaly: {node.label} produced {bad} in its backward (inputs: {shapes}; "
                    f"gradient range {value_range(a)}); the op was created at {site}", site)


class detect_anomaly:
    """Context manager: the first NaN/Inf made by a forward or a backward raises (or warns).

    As ``torch.autograd.detect_anomaly``; the error names the op, its input shapes and value
    ranges and the line of user code that created the op.  ``check_nan=False`` turns it off,
    ``warn=True`` emits a ``RuntimeWarning`` instead of raising.  Per thread.
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
    """Switch anomaly mode for this thread (as ``torch.autograd.set_detect_anomaly``)."""
    STATE.anomaly, STATE.anomaly_warn = bool(mode), bool(warn)


def is_anomaly_enabled() -> bool:
    return STATE.anomaly
