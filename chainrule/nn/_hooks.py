"""Full backward hooks: identity nodes around a module's inputs and outputs.

``register_full_backward_hook(hook)`` asks for ``hook(module, grad_input, grad_output)`` once the
gradients with respect to the module's tensor inputs are known.  We route the outputs through
:class:`HookOut` (an identity node that records the gradient arriving at each output) and the
inputs that require grad through one :class:`HookIn` node (an identity whose backward sees the
gradients for all inputs at once, calls the hooks and may replace them).  Several inputs are packed
into one flat tensor for that node, so they must share a dtype.

Limits (documented, as PyTorch has some of its own): positional tensor arguments only (keyword
tensors are not tracked); ``grad_input`` holds one entry per positional argument, ``None`` for
non-tensors and tensors without grad; an input that gets no gradient at all is reported as zeros
when the module has several tensor inputs; when no input requires grad the hook is called with
all-``None`` ``grad_input`` once every output that requires grad has its gradient.
"""
from __future__ import annotations

import numpy as np

from ..autograd.op import Op
from ..tensor import _new
from ..tensor import Tensor


def _as_tensor(g):
    return g if isinstance(g, Tensor) or g is None else _new(g, False, None)


class HookOut(Op):
    """Identity on one module output; records the gradient that reaches it."""
    name = "module_hook_out"
    view = True

    def forward(ctx, xp, x, *, state, index):
        ctx.state, ctx.index = state, index
        return x

    def backward(ctx, xp, g):
        ctx.state.got_output(ctx.index, g)
        return g


class HookIn(Op):
    """Identity on the (packed) inputs; calls the module's backward hooks with all gradients."""
    name = "module_hook_in"
    view = True

    def forward(ctx, xp, x, *, state):
        ctx.state = state
        return x

    def backward(ctx, xp, g):
        return ctx.state.got_input(g)


class BackwardHook:
    """State of one forward call of a module with full backward hooks."""

    def __init__(self, module, hooks):
        self.module, self.hooks = module, hooks
        self.n_args = 0
        self.in_index = []       # positions of the args that require grad
        self.in_shapes = []
        self.grad_output = []
        self.pending_outputs = 0
        self.called = False

    def setup_inputs(self, args):
        from ..ops.movement import cat, reshape, split
        self.n_args = len(args)
        self.in_index = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
        if not self.in_index:
            return args
        ts = [args[i] for i in self.in_index]
        self.in_shapes = [t.shape for t in ts]
        if len(ts) == 1:
            new = [HookIn.apply(ts[0], state=self)]
        else:
            if len({t.dtype for t in ts}) != 1:
                raise NotImplementedError(
                    f"full backward hook on {type(self.module).__name__}: tensor inputs of "
                    "different dtypes are not supported")
            packed = HookIn.apply(cat([reshape(t, -1) for t in ts]), state=self)
            parts = split(packed, [int(np.prod(s)) for s in self.in_shapes])
            new = [reshape(p, s) for p, s in zip(parts, self.in_shapes)]
        args = list(args)
        for i, t in zip(self.in_index, new):
            args[i] = t
        return tuple(args)

    def setup_outputs(self, out):
        single = isinstance(out, Tensor)
        outs = [out] if single else list(out) if isinstance(out, (tuple, list)) else None
        if outs is None:
            return out
        self.grad_output = [None] * len(outs)
        for i, o in enumerate(outs):
            if isinstance(o, Tensor) and o.requires_grad:
                outs[i] = HookOut.apply(o, state=self, index=i)
                self.pending_outputs += 1
        if single:
            return outs[0]
        return type(out)(outs)

    def got_output(self, index, g):
        self.grad_output[index] = _as_tensor(g)
        self.pending_outputs -= 1
        if not self.in_index and self.pending_outputs == 0:
            grad_input = (None,) * self.n_args
            for hook in self.hooks:
                r = hook(self.module, grad_input, tuple(self.grad_output))
                if r is not None and any(x is not None for x in r):
                    raise RuntimeError("Backward hook for Modules where no input requires "
                                       "gradient should always return None or None for all "
                                       "gradients.")

    def got_input(self, g):
        dual = isinstance(g, Tensor)
        if len(self.in_index) == 1:
            parts = [g]
        else:
            sizes = np.cumsum([0] + [int(np.prod(s)) for s in self.in_shapes])
            parts = [g[sizes[k]:sizes[k + 1]].reshape(s) for k, s in enumerate(self.in_shapes)]
        grad_input = [None] * self.n_args
        for i, p in zip(self.in_index, parts):
            grad_input[i] = _as_tensor(p)
        grad_input = tuple(grad_input)
        for hook in self.hooks:
            r = hook(self.module, grad_input, tuple(self.grad_output))
            if r is None:
                continue
            r = tuple(r) if isinstance(r, (tuple, list)) else (r,)
            if len(r) != self.n_args:
                raise RuntimeError(f"backward hook of {type(self.module).__name__} returned "
                                   f"{len(r)} gradients; expected {self.n_args} (one per input)")
            grad_input = r
        parts = []
        for i, s in zip(self.in_index, self.in_shapes):
            gi = grad_input[i]
            if gi is None:
                gi = _new(np.zeros(s, dtype=g.dtype), False, None)
            if tuple(gi.shape) != tuple(s):
                raise RuntimeError(f"backward hook of {type(self.module).__name__} returned a "
                                   f"gradient of shape {tuple(gi.shape)} for input {i}; expected "
                                   f"{tuple(s)}")
            parts.append(gi if dual else gi._data)
        if len(parts) == 1:
            return parts[0]
        if dual:
            from ..ops.movement import cat
            return cat([p.reshape(-1) for p in parts])
        return np.concatenate([p.reshape(-1) for p in parts])
