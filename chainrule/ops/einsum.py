"""``einsum``: Einstein summation as one primitive.

The gradient of operand k is again an einsum: the output's gradient contracted with the other
operands onto k's subscripts.  Subscripts of k that appear nowhere else (summed out of k alone)
come back by broadcasting.  Both orders use the same rule (einsum of tensors is this op), so
second derivatives work.  Not supported: ``...`` (ellipsis) and an index repeated within one
operand (a diagonal, ``'ii->i'``); both are refused with a clear error.
"""
from __future__ import annotations

from ..autograd.op import Op, export
from ..tensor import Tensor
from ._args import tensor_input


def parse(equation, n):
    """``(input subscripts, output subscripts)`` of an einsum equation over ``n`` operands."""
    eq = equation.replace(" ", "")
    if "." in eq:
        raise NotImplementedError(f"einsum: '...' (ellipsis) is not supported yet, got "
                                  f"{equation!r}; name every dimension")
    lhs, arrow, out = eq.partition("->")
    ins = lhs.split(",")
    if len(ins) != n:
        raise ValueError(f"einsum: {equation!r} has {len(ins)} operand subscripts but {n} "
                         "operands were given")
    for s in ins + [out]:
        if not s.isalpha() and s:
            raise ValueError(f"einsum: subscripts must be letters, got {s!r} in {equation!r}")
    if not arrow:   # implicit output: the letters that appear once, in alphabetical order
        letters = "".join(ins)
        out = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    for s in ins:
        if len(set(s)) != len(s):
            raise NotImplementedError(f"einsum: an index repeated within one operand ({s!r}, "
                                      "a diagonal) is not supported yet")
    return ins, out


def _einsum(xp, equation, *ops):
    """einsum in the mode the rule runs in: NumPy on arrays, this op on tensors."""
    if isinstance(ops[0], Tensor):
        return _CLASSES[len(ops)].apply(*ops, equation=equation)
    return xp.einsum(equation, *ops, optimize=len(ops) > 2)


def _backward(ctx, xp, g, ops):
    ins, out = parse(ctx.equation, len(ops))
    grads = []
    for k, target in enumerate(ins):
        if not ctx.needs_input_grad[k]:
            grads.append(None)
            continue
        others = [ins[j] for j in range(len(ins)) if j != k]
        avail = set(out).union(*others) if others else set(out)
        keep = "".join(c for c in target if c in avail)
        eq = ",".join([out] + others) + "->" + keep
        gk = _einsum(xp, eq, g, *[ops[j] for j in range(len(ins)) if j != k])
        if keep != target:   # letters summed out of operand k alone: broadcast back
            view = [ctx.shapes[k][i] if c in keep else 1 for i, c in enumerate(target)]
            gk = xp.broadcast_to(xp.reshape(gk, tuple(view)), ctx.shapes[k])
        grads.append(gk)
    return tuple(grads)


class Einsum1(Op):
    """einsum of one operand (a sum, transpose or trace-free reduction)."""

    def forward(ctx, xp, a, *, equation):
        ctx.equation, ctx.shapes = equation, (a.shape,)
        return xp.einsum(equation, a)

    def backward(ctx, xp, g):
        return _backward(ctx, xp, g, [None])[0]


class Einsum2(Op):
    """einsum of two operands; each gradient is an einsum of g with the other operand."""
    save = ("a", "b")

    def forward(ctx, xp, a, b, *, equation):
        ctx.equation, ctx.shapes = equation, (a.shape, b.shape)
        return xp.einsum(equation, a, b)

    def backward(ctx, xp, g, a, b):
        return _backward(ctx, xp, g, [a, b])


class Einsum3(Op):
    """einsum of three operands."""
    save = ("a", "b", "c")

    def forward(ctx, xp, a, b, c, *, equation):
        ctx.equation, ctx.shapes = equation, (a.shape, b.shape, c.shape)
        return xp.einsum(equation, a, b, c, optimize=True)

    def backward(ctx, xp, g, a, b, c):
        return _backward(ctx, xp, g, [a, b, c])


_CLASSES = {1: Einsum1, 2: Einsum2, 3: Einsum3}


@export
def einsum(equation, *operands):
    """Einstein summation (as ``torch.einsum``): ``einsum('ij,jk->ik', a, b)`` is ``a @ b``;
    operands may also be given as one list."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not isinstance(equation, str):
        raise TypeError(f"einsum(): the first argument must be the equation string, got "
                        f"{type(equation).__name__}")
    if not operands:
        raise ValueError("einsum(): give at least one operand")
    ops = [tensor_input(o, "einsum") for o in operands]
    ins, _ = parse(equation, len(ops))
    for s, o in zip(ins, ops):
        if len(s) != o.ndim:
            raise RuntimeError(f"einsum: subscripts {s!r} name {len(s)} dims but the operand "
                               f"has shape {tuple(o.shape)}")
    dtypes = {o.dtype for o in ops}
    if len(dtypes) > 1:
        raise RuntimeError(f"einsum: operands have different dtypes {sorted(map(str, dtypes))}; "
                           "convert them to one first")
    if len(ops) > 3:
        raise NotImplementedError(f"einsum: {len(ops)} operands; up to 3 are supported (contract "
                                  "in steps: einsum of the first two, then the rest)")
    return _CLASSES[len(ops)].apply(*ops, equation=equation)
