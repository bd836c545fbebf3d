"""Reverse-mode traversal: iterative topological order, gradient accumulation, broadcast reduction.

This is the only place where a gradient is summed back to an input's (broadcast) shape and the only
place where gradients of a tensor used several times are added up.
"""
from __future__ import annotations

import numpy as np

from .function import STATE, _new, anomaly_backward


def _freed(t):
    return RuntimeError(
        "Trying to backward through the graph a second time (or to use intermediate values after "
        f"the graph was freed); the tensor of shape {tuple(t.shape)} came from "
        f"{type(t._node).__name__}. Specify retain_graph=True on the first backward call if you "
        "need to backward twice.")


def _topo(roots):
    """Tensors reachable from ``roots`` through tensors that require grad, in post-order."""
    order, seen = [], set()
    stack = [(r, False) for r in roots]
    while stack:
        t, done = stack.pop()
        if done:
            order.append(t)
            continue
        if id(t) in seen:
            continue
        seen.add(id(t))
        stack.append((t, True))
        node = t._node
        if node is not None:
            inputs = node.inputs
            if inputs is None:
                raise _freed(t)
            for inp in inputs:
                if inp.requires_grad and id(inp) not in seen:
                    stack.append((inp, False))
    return order


def sum_to(g, shape):
    """Sum ``g`` down to ``shape`` (undo broadcasting).  Works on arrays and on tensors."""
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, s in enumerate(shape)
                                      if s == 1 and g.shape[i + lead] != 1)
    if isinstance(g, np.ndarray):
        if axes:
            g = g.sum(axis=axes)
        return g.reshape(shape)
    if axes:
        g = g.sum(dim=axes)
    return g.reshape(shape)


def _check_versions(node, t):
    vs = getattr(node, "versions", None)
    if vs is not None:
        for i, (inp, v) in enumerate(zip(node.inputs, vs)):
            if inp._version != v:
                raise RuntimeError(
                    f"one of the variables needed for gradient computation has been modified by "
                    f"an in-place operation: input {i} of {type(node).__name__} (shape "
                    f"{tuple(inp.shape)}) is at version {inp._version}; expected version {v}. "
                    "Use an out-of-place operation (e.g. x = x + 1 instead of x += 1).")
    if node.uses_output:
        out = node.out_ref()
        if out is not None and out._version != 0:
            raise RuntimeError(
                f"the output of {type(node).__name__} (shape {tuple(out.shape)}) was modified by "
                "an in-place operation, but its backward needs it; use an out-of-place operation.")


def run_backward(roots, seeds, retain_graph=False, create_graph=False, capture=None,
                 accumulate=True):
    """Propagate ``seeds`` (one gradient per root) back through the graph.

    ``capture`` maps ``id(tensor)`` to a slot index: those tensors' total gradients are returned
    in a list instead of (or as well as) being accumulated into leaves' ``.grad``.
    """
    order = _topo(roots)
    grads = {}
    for r, s in zip(roots, seeds):
        k = id(r)
        grads[k] = s if k not in grads else grads[k] + s
    captured = [None] * (len(capture) if capture else 0)
    handed = set()   # ids of arrays already stored as some .grad in this pass (must not alias)
    prev_dual, prev_enabled = STATE.dual, STATE.enabled
    STATE.dual = create_graph
    STATE.enabled = create_graph
    try:
        for t in reversed(order):
            g = grads.pop(id(t), None)
            if g is None:
                continue
            if t._hooks:
                for hook in list(t._hooks.values()):
                    r = hook(g if create_graph else _new(g, False, None))
                    if r is not None:
                        g = r if create_graph else r._data
            if capture is not None:
                slot = capture.get(id(t))
                if slot is not None:
                    captured[slot] = g
            node = t._node
            if node is None:
                if accumulate:
                    _accumulate(t, g, create_graph, handed)
                continue
            if t._retain and accumulate:
                _accumulate(t, g, create_graph, handed)
            if node.inputs is None:
                raise _freed(t)
            _check_versions(node, t)
            gs = node.backward(g)
            if type(gs) is not tuple:
                gs = (gs,)
            if STATE.anomaly:
                anomaly_backward(node, gs)
            for inp, gi, need in zip(node.inputs, gs, node.needs_input_grad):
                if gi is None or not need:
                    continue
                if gi.shape != inp._data.shape:
                    gi = sum_to(gi, inp._data.shape)
                if gi.dtype != inp._data.dtype:
                    gi = gi.astype(inp._data.dtype) if not create_graph else gi.to(inp.dtype)
                k = id(inp)
                prev = grads.get(k)
                grads[k] = gi if prev is None else prev + gi
            if not retain_graph:
                node.release()
    finally:
        STATE.dual, STATE.enabled = prev_dual, prev_enabled
    return captured


def _accumulate(t, g, create_graph, handed):
    if create_graph:
        t.grad = g if t.grad is None else t.grad + g
        return
    if t.grad is None:
        # own the array: g may alias an upstream gradient or a forward buffer
        t.grad = _new(g.copy() if g.base is not None or not g.flags.writeable else g, False, None)
    else:
        t.grad._data = t.grad._data + g
