"""Checking analytic gradients against centered differences, the notes' O(h^2) rule.

    f'(a) ~ (f(a + h) - f(a - h)) / 2h
"""
from __future__ import annotations

import numpy as np

from ..graph.modes import enable_grad, no_grad
from ..tensor import Tensor
from .grad import grad as _grad


class GradcheckError(RuntimeError):
    """Raised when an analytic gradient and the numeric one disagree."""


def _outputs(fn, inputs):
    out = fn(*inputs)
    outs = (out,) if isinstance(out, Tensor) else tuple(out)
    return [o for o in outs if isinstance(o, Tensor) and o.dtype.kind == "f"]


def _numeric(fn, inputs, i, eps):
    """Jacobian of every output w.r.t. input i, one column per input element."""
    x = inputs[i]._data
    cols = []
    with no_grad():
        for j in range(x.size):
            idx = np.unravel_index(j, x.shape)
            orig = x[idx]
            x[idx] = orig + eps
            plus = [o._data.astype(np.float64).ravel() for o in _outputs(fn, inputs)]
            x[idx] = orig - eps
            minus = [o._data.astype(np.float64).ravel() for o in _outputs(fn, inputs)]
            x[idx] = orig
            cols.append(np.concatenate([(p - m) / (2 * eps) for p, m in zip(plus, minus)]))
    return np.stack(cols, axis=1) if cols else np.zeros((0, 0))


def _analytic(fn, inputs, diff):
    outs = _outputs(fn, inputs)
    sizes = [o.numel() for o in outs]
    total = sum(sizes)
    jac = {i: np.zeros((total, inputs[i].numel())) for i in diff}
    row = 0
    for o in outs:
        if not o.requires_grad:
            row += o.numel()
            continue
        for j in range(o.numel()):
            seed = np.zeros(o.shape, dtype=o.dtype)
            seed[np.unravel_index(j, o.shape)] = 1
            gs = _grad([o], [inputs[i] for i in diff], [seed], retain_graph=True,
                       allow_unused=True)
            for i, g in zip(diff, gs):
                if g is not None:
                    jac[i][row] = g._data.ravel()
            row += 1
    return jac


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
              names=None):
    """Compare ``fn``'s autograd Jacobian with centered finite differences.

    Arguments:
        fn: a function of the tensors in ``inputs`` returning a tensor or a tuple of tensors.
        inputs: a tensor or a tuple of tensors; those with ``requires_grad=True`` are checked and
            must be float64 (float32 differences are too coarse for ``eps=1e-6``).
        eps, atol, rtol: step and tolerances; an entry fails when
            ``|analytic - numeric| > atol + rtol * |numeric|``.
        names: optional names for the inputs, used in the error message.

    Returns:
        True when every entry agrees.  Otherwise raises :class:`GradcheckError` naming the input,
        the element, the numeric and the analytic value (or returns False when
        ``raise_exception=False``).

    Example::

        x = cr.randn(3, dtype=cr.float64, requires_grad=True)
        cr.autograd.gradcheck(lambda t: (t * t).sum(), (x,))
    """
    if isinstance(inputs, Tensor):
        inputs = (inputs,)
    inputs = tuple(inputs)
    diff = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not diff:
        raise ValueError("gradcheck: no input has requires_grad=True")
    for i in diff:
        if inputs[i].dtype != np.float64:
            raise TypeError(f"gradcheck: input {i} is {inputs[i].dtype}; use float64 inputs "
                            "(x.double()) so that the centered differences are accurate")
    ana = _analytic(fn, inputs, diff)
    for i in diff:
        num = _numeric(fn, inputs, i, eps)
        a = ana[i]
        # written as "not close" so that a NaN on one side only is a failure, not a pass
        bad = ~(np.abs(a - num) <= atol + rtol * np.abs(num)) & ~(np.isnan(a) & np.isnan(num))
        if bad.any():
            r, c = np.argwhere(bad)[0]
            name = names[i] if names else f"input {i}"
            elem = np.unravel_index(c, inputs[i].shape)
            msg = (f"gradcheck failed for {name} (shape {tuple(inputs[i].shape)}) at element "
                   f"{tuple(int(e) for e in elem)}, output element {int(r)}: numeric "
                   f"{num[r, c]:.8g}, analytic {a[r, c]:.8g} (|diff| "
                   f"{abs(num[r, c] - a[r, c]):.3g} > atol {atol} + rtol {rtol} * |numeric|); "
                   f"{int(bad.sum())} of {bad.size} entries disagree")
            if raise_exception:
                raise GradcheckError(msg)
            return False
    return True


def gradgradcheck(fn, inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3,
                  raise_exception=True):
    """Check second derivatives: gradcheck of the vector-Jacobian product of ``fn``."""
    if isinstance(inputs, Tensor):
        inputs = (inputs,)
    inputs = tuple(inputs)
    diff = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    outs = _outputs(fn, inputs)
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = [Tensor(rng.standard_normal(o.shape), dtype=np.float64,
                               requires_grad=True) for o in outs]
    n = len(inputs)

    def vjp(*args):
        xs, gos = args[:n], args[n:]
        with enable_grad():
            os_ = _outputs(fn, xs)
            gs = _grad(os_, [xs[i] for i in diff], list(gos), create_graph=True,
                       allow_unused=True)
        for i, g in zip(diff, gs):
            if g is not None and not g.requires_grad:
                # the vjp is linear in the grad_outputs, which require grad: a gradient without
                # a graph means some backward on the way was not differentiable
                raise GradcheckError(
                    f"gradgradcheck: the gradient of input {i} has no graph under "
                    "create_graph=True, so its second derivative is missing (a backward on the "
                    "way is not written in differentiable ops); it is not zero")
        return tuple(g for g in gs if g is not None)

    return gradcheck(vjp, inputs + tuple(grad_outputs), eps, atol, rtol, raise_exception)
