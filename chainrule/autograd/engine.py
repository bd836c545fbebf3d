"""Reverse-mode traversal: iterative topological order, gradient accumulation, broadcast reduction.

This is the only place where a gradient is summed back to an input's (broadcast) shape and the only
place where gradients of a tensor used several times are added up.
"""
from __future__ import annotations

import numpy as np

from . import homes
from .function import STATE, _new, anomaly_backward


def _freed(t):
    return RuntimeError(
        "Trying to backward through the graph a second time (or to use intermediate values after "
        f"the graph was freed); the tensor of shape {tuple(t.shape)} came from "
        f"{type(t._node).__name__}. Specify retain_graph=True on the first backward call if you "
        "need to backward twice.")


def _reachable(roots):
    """Non-leaf tensors reachable from ``roots`` through tensors that require grad, newest first.

    Nodes carry their creation number (``seq``), so sorting on it gives a valid reverse
    topological order without a recursive (or post-order) walk.
    """
    found, seen = [], set()
    stack = list(roots)
    while stack:
        t = stack.pop()
        k = id(t)
        if k in seen:
            continue
        seen.add(k)
        node = t._node
        if node is None:
            continue
        inputs = node.inputs
        if inputs is None:
            raise _freed(t)
        found.append((node.seq, t))
        for inp in inputs:
            if inp.requires_grad:
                stack.append(inp)
    found.sort(reverse=True)     # seq numbers are unique, so tensors are never compared
    return [t for _, t in found]


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


def _check_versions(node):
    vs = node.versions
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
    in a list instead of being accumulated into leaves' ``.grad`` (used by ``cr.grad``).
    """
    order = _reachable(roots)
    grads, leaves = {}, {}
    for r, s in zip(roots, seeds):
        k = id(r)
        grads[k] = s if k not in grads else grads[k] + s
        if r._node is None:
            leaves[k] = r
    captured = [None] * (len(capture) if capture else 0)
    prev_dual, prev_enabled = STATE.dual, STATE.enabled
    STATE.dual = create_graph
    STATE.enabled = create_graph
    anomaly = STATE.anomaly
    handed = set()   # ids of arrays already stored as some .grad in this pass (must not alias)
    try:
        pop, get = grads.pop, grads.get
        for t in order:
            g = pop(id(t), None)
            if g is None:
                continue
            if t._hooks:
                g = _run_hooks(t, g, create_graph)
            if capture is not None and id(t) in capture:
                captured[capture[id(t)]] = g
            if t._retain and accumulate:
                _accumulate(t, g, create_graph, handed)
            node = t._node
            vs = node.versions
            if vs is not None:
                for inp, v in zip(node.inputs, vs):
                    if inp._version != v:
                        _check_versions(node)
            if node.uses_output:
                _check_versions(node)
            gs = node.backward(g)
            if anomaly:
                anomaly_backward(node, gs if type(gs) is tuple else (gs,))
            if type(gs) is not tuple:
                inp = node.inputs[0]
                gs_pairs = ((inp, gs),)
            else:
                gs_pairs = [(inp, gi) for inp, gi, need in
                            zip(node.inputs, gs, node.needs_input_grad) if need and gi is not None]
            for inp, gi in gs_pairs:
                d = inp._data
                if gi.shape != d.shape:
                    gi = sum_to(gi, d.shape)
                if gi.dtype != d.dtype:
                    gi = gi.to(inp.dtype) if create_graph else gi.astype(d.dtype)
                k = id(inp)
                prev = get(k)
                if prev is None:
                    grads[k] = gi
                    if inp._node is None:
                        leaves[k] = inp
                else:
                    grads[k] = prev + gi
            if not retain_graph:
                node.release()
        # leaves last: each receives its total gradient once (hooks see the sum, as in PyTorch)
        for k, t in leaves.items():
            g = grads.get(k)
            if g is None:
                continue
            if type(g) is not np.ndarray and not create_graph:
                g = np.asarray(g)   # 0-d arithmetic gives NumPy scalars: keep arrays
            if t._hooks:
                g = _run_hooks(t, g, create_graph)
            if capture is not None and k in capture:
                captured[capture[k]] = g
            elif accumulate:
                _accumulate(t, g, create_graph, handed)
    finally:
        STATE.dual, STATE.enabled = prev_dual, prev_enabled
    return captured


def _run_hooks(t, g, create_graph):
    if type(g) is not np.ndarray and not create_graph:
        g = np.asarray(g)   # 0-d arithmetic gives NumPy scalars: hooks see tensors of arrays
    for hook in list(t._hooks.values()):
        r = hook(g if create_graph else _new(g, False, None))
        if r is not None:
            g = r if create_graph else r._data
    return g


def _accumulate(t, g, create_graph, handed):
    if create_graph:
        t.grad = g if t.grad is None else t.grad + g
        return
    if type(g) is not np.ndarray:
        g = np.asarray(g)   # 0-d arithmetic gives NumPy scalars (retain_grad on a 0-d tensor)
    if t.grad is None:
        # .grad must own its array: g may be a view, or be passed to two inputs (as by add);
        # the copy keeps the memory layout (a mismatch with the parameter's slows the optimizer).
        # With an optimizer's flat buffers, the gradient lives in the parameter's home instead.
        kept = homes.keep(t, g) if homes._HOMES else None
        if kept is not None:
            handed.add(id(kept._data))
            t.grad = kept
            return
        if g.base is not None or id(g) in handed or not g.flags.writeable:
            g = g.copy(order="K")
        handed.add(id(g))
        t.grad = _new(g, False, None)
    elif homes._HOMES and homes.owns(t, t.grad._data):
        np.add(t.grad._data, g, out=t.grad._data)   # accumulate in place (as PyTorch does)
    else:
        t.grad._data = t.grad._data + g
