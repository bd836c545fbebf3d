"""``cr.grad``: gradients of outputs with respect to chosen inputs, without touching ``.grad``."""
from __future__ import annotations

import numpy as np

from ..graph.engine import run_backward
from ..graph.modes import observe_read
from ..tensor import Tensor, _new


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """Return ``(d outputs / d input for input in inputs)`` as ``torch.autograd.grad``.

    Example (a Hessian-vector product)::

        g, = cr.grad(f(x), x, create_graph=True)
        hv, = cr.grad(g, x, grad_outputs=v)
    """
    observe_read("cr.grad()")
    single = isinstance(outputs, Tensor)
    outputs = [outputs] if single else list(outputs)
    inputs_is_tensor = isinstance(inputs, Tensor)
    inputs = [inputs] if inputs_is_tensor else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"grad: input {i} (shape {tuple(t.shape)}) does not require grad")
    seeds = []
    for i, (o, go) in enumerate(zip(outputs, grad_outputs)):
        if not o.requires_grad:
            raise RuntimeError(f"grad: output {i} does not require grad and has no grad_fn")
        if go is None:
            if o.numel() != 1:
                raise RuntimeError(f"grad can be implicitly created only for scalar outputs; "
                                   f"output {i} has shape {tuple(o.shape)}")
            s = np.ones_like(o._data)
        else:
            s = go._data if isinstance(go, Tensor) else np.asarray(go, dtype=o.dtype)
            if s.shape != o.shape:
                raise RuntimeError(f"grad: grad_outputs[{i}] has shape {s.shape}, output has "
                                   f"shape {tuple(o.shape)}")
        if create_graph:
            s = go if isinstance(go, Tensor) else _new(s, False, None)
        seeds.append(s)
    if retain_graph is None:
        retain_graph = create_graph
    capture = {id(t): k for k, t in enumerate(inputs)}
    res = run_backward(outputs, seeds, retain_graph, create_graph, capture=capture,
                       accumulate=False)
    out = []
    for k, (t, g) in enumerate(zip(inputs, res)):
        if g is None:
            if not allow_unused:
                raise RuntimeError(f"grad: input {k} (shape {tuple(t.shape)}) was not used in the "
                                   "graph of the outputs; pass allow_unused=True to get None")
            out.append(None)
        else:
            out.append(g if create_graph else _new(g, False, None))
    return tuple(out)
