"""Reverse-mode traversal: iterative topological order, gradient accumulation, broadcast reduction.

This is the only place where a gradient is summed back to an input's (broadcast) shape, where the
gradients of a tensor used several times are added up, and where leaves receive ``.grad``.

The engine knows tensors and nodes only by their fields (see ``graph/__init__.py``).  A node's
``vjp(g, create_graph)`` returns one gradient per input (``None``: none); ``g`` is one gradient,
or a tuple of them (``None`` where an output got none) for a node with several outputs.
"""
from __future__ import annotations

import numpy as np

from .anomaly import check_backward
from .hooks import PostAccumulateGradHook
from .modes import STATE


def _freed(t):
    return RuntimeError(
        "Trying to backward through the graph a second time (or to use intermediate values after "
        f"the graph was freed); the tensor of shape {tuple(t.shape)} came from "
        f"{t._node.label}. Specify retain_graph=True on the first backward call if you "
        "need to backward twice.")


def _reachable(roots, posted=None):
    """The nodes reachable from ``roots`` through tensors that require grad, newest first, and
    for each node the output tensors through which it was reached.  The leaves found that have
    post-accumulate hooks are appended to ``posted``.

    Nodes carry their creation number (``seq``), so sorting on it gives a valid reverse
    topological order without a recursive (or post-order) walk.
    """
    found, outs, hooked = [], {}, set()
    stack = list(roots)
    while stack:
        t = stack.pop()
        node = t._node
        if node is None:     # a leaf: only roots and leaves with hooks are pushed
            if posted is not None and t._hooks and id(t) not in hooked and _has_post_hooks(t):
                hooked.add(id(t))
                posted.append(t)
            continue
        nk = id(node)
        reached = outs.get(nk)
        if reached is not None:       # a node seen before: through another of its outputs?
            if node.n_outputs != 1 and not any(r is t for r in reached):
                reached.append(t)
            continue
        inputs = node.inputs
        if inputs is None:
            raise _freed(t)
        outs[nk] = [t]
        found.append((node.seq, nk, node))
        for inp in inputs:
            if inp.requires_grad and (inp._node is not None or inp._hooks):
                stack.append(inp)
    found.sort(reverse=True)     # seq numbers are unique, so nodes are never compared
    return [(node, outs[nk]) for _, nk, node in found]


def _has_post_hooks(t):
    return any(type(h) is PostAccumulateGradHook for h in t._hooks.values())


def _final_at(order, posted, roots, capture):
    """``id(node) -> leaves`` whose gradient is complete once ``node`` has run: the last node
    in ``order`` that takes the leaf as an input (leaves that are also roots, or captured by
    ``cr.grad``, are left to the end of backward)."""
    want = {id(t): t for t in posted}
    for r in roots:
        want.pop(id(r), None)
    if capture:
        for k in capture:
            want.pop(k, None)
    last = {}
    for node, _ in order:
        for inp in node.inputs:
            if id(inp) in want:
                last[id(inp)] = node          # later in order: an older node, a later use
    at = {}
    for k, node in last.items():
        at.setdefault(id(node), []).append(want[k])
    return at


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


def run_backward(roots, seeds, retain_graph=False, create_graph=False, capture=None,
                 accumulate=True):
    """Propagate ``seeds`` (one gradient per root) back through the graph.

    ``capture`` maps ``id(tensor)`` to a slot index: those tensors' total gradients are returned
    in a list instead of being accumulated into leaves' ``.grad`` (used by ``cr.grad``).
    """
    posted = []
    order = _reachable(roots, posted)
    # leaves with post-accumulate hooks get their .grad (and hooks) as soon as it is complete,
    # in the middle of backward, so that what the hooks start (DDP's allreduce) overlaps the rest
    final_at = _final_at(order, posted, roots, capture) if posted and accumulate else None
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
        for node, outs in order:
            if len(outs) == 1 and node.n_outputs == 1:
                t = outs[0]
                g = pop(id(t), None)
                if g is None:
                    continue
                if t._hooks or t._retain or capture is not None:
                    g = _visit(t, g, create_graph, capture, captured, accumulate, handed)
            else:
                g = [None] * node.n_outputs
                for t in outs:
                    gt = pop(id(t), None)
                    if gt is not None:
                        g[node.output_index(t)] = _visit(t, gt, create_graph, capture,
                                                         captured, accumulate, handed)
                if all(x is None for x in g):
                    continue
                g = tuple(g)
            gs = node.vjp(g, create_graph)
            if anomaly:
                check_backward(node, gs)
            for inp, gi, need in zip(node.inputs, gs, node.needs_input_grad):
                if gi is None or not need:
                    continue
                d = inp._data
                if gi.shape != d.shape:
                    gi = sum_to(gi, d.shape)
                if gi.dtype is not d.dtype and gi.dtype != d.dtype:
                    gi = gi.to(d.dtype) if create_graph else gi.astype(d.dtype)
                k = id(inp)
                prev = get(k)
                if prev is None:
                    grads[k] = gi
                    if inp._node is None:
                        leaves[k] = inp
                else:
                    grads[k] = prev + gi
            if final_at is not None and id(node) in final_at:
                for t in final_at[id(node)]:
                    k = id(t)
                    g = pop(k, None)
                    if g is not None and leaves.pop(k, None) is not None:
                        # its array may still be another input's pending gradient: copy it
                        handed.add(id(g))
                        _leaf(t, g, create_graph, capture, captured, accumulate, handed)
            if not retain_graph:
                node.release()
        # leaves last: each receives its total gradient once (hooks see the sum, as in PyTorch)
        plain = capture is None and accumulate       # no cr.grad capture: into .grad
        for k, t in leaves.items():
            g = grads.get(k)
            if g is None:
                continue
            if plain and not t._hooks:
                _accumulate(t, g, create_graph, handed)
            else:
                _leaf(t, g, create_graph, capture, captured, accumulate, handed)
    finally:
        STATE.dual, STATE.enabled = prev_dual, prev_enabled
    return captured


def _leaf(t, g, create_graph, capture, captured, accumulate, handed):
    """A leaf's total gradient: its hooks, then capture or ``.grad``, then post-accumulate
    hooks."""
    if type(g) is not np.ndarray and not create_graph:
        g = np.asarray(g)   # 0-d arithmetic gives NumPy scalars: keep arrays
    if t._hooks:
        g = _run_hooks(t, g, create_graph)
    k = id(t)
    if capture is not None and k in capture:
        captured[capture[k]] = g
    elif accumulate:
        _accumulate(t, g, create_graph, handed)
        if t._hooks:
            for h in list(t._hooks.values()):
                if type(h) is PostAccumulateGradHook:
                    h.fn(t)


def _visit(t, g, create_graph, capture, captured, accumulate, handed):
    """A non-leaf tensor's total gradient: its hooks, ``cr.grad`` capture and ``retain_grad``."""
    if t._hooks:
        g = _run_hooks(t, g, create_graph)
    if capture is not None and id(t) in capture:
        captured[capture[id(t)]] = g
    if t._retain and accumulate:
        _accumulate(t, g, create_graph, handed)
    return g


def _run_hooks(t, g, create_graph):
    if type(g) is not np.ndarray and not create_graph:
        g = np.asarray(g)   # 0-d arithmetic gives NumPy scalars: hooks see tensors of arrays
    for hook in list(t._hooks.values()):
        if type(hook) is PostAccumulateGradHook:
            continue
        r = hook(g if create_graph else t._wrap(g))
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
        # the copy keeps the memory layout (a mismatch with the parameter's slows the optimizer)
        if g.base is not None or id(g) in handed or not g.flags.writeable:
            g = g.copy(order="K")
        handed.add(id(g))
        t.grad = t._wrap(g)
    else:
        acc = t.grad._data
        if acc.flags.writeable and acc.shape == g.shape and acc.dtype == g.dtype:
            np.add(acc, g, out=acc)          # in place, as PyTorch's AccumulateGrad
            t.grad._version += 1
        else:
            t.grad = t._wrap(acc + g)
