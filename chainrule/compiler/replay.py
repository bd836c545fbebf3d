"""Replay code: a recording of ``cr.compile`` (a ``_Program``, see capture.py) turned into one
straight-line Python function, as ``torch.fx`` turns a graph into code.

Why: interpreting the recording step by step (look up each op's sources, build the argument
tuple, route each gradient through a slot table) costs Python per op on every call.  The
generated function does the same calls in the same order with every lookup resolved once:
values are local variables, constants and parameters are names bound when the code is built.
The numbers are those of eager mode, since the same ``Op.forward`` and ``Op.backward`` functions
run on the same arrays.

Read the code of a recording with ``print(program.source)``.  For a step of
``Linear -> Relu -> cross_entropy`` it reads (abridged)::

    def replay(args):
        A0 = args[0]
        a0 = A0._data
        C0(*CA0, **CK0)  # Optimizer.zero_grad
        c0 = _onew(K0)  # op 0: Linear
        d0 = F0(c0, XP, a0, E0._data, E1._data)
        ...
        c1 = _onew(K1)  # op 1: Relu
        d1 = F1(c1, XP, d0)
        ...
        # backward() of value 3
        g0 = _ones(RS1, RT1)
        r = B3(c3, XP, g0, *c3.sv)  # op 3
        ...
"""
from __future__ import annotations

import itertools
import linecache

import numpy as np

from ..autograd.op import ARRAY
from ..graph.engine import _accumulate, sum_to
from ..tensor import _new, _object_new

_ARG, _VAL, _EXT = 0, 1, 2
_CODE_IDS = itertools.count()


class _Code:
    """Lines of Python and the names they use."""

    def __init__(self):
        self.lines = []
        self.ns = {"_onew": _object_new, "_new": _new, "_nd": np.ndarray, "XP": ARRAY,
                   "_asarray": np.asarray, "_ones": np.ones, "_array": np.array, "_fit": _fit,
                   "_acc": _accumulate}

    def emit(self, line, depth=1):
        self.lines.append("    " * depth + line)

    def bind(self, name, value):
        if self.ns.get(name, value) is not value:
            raise ValueError(f"replay code: the name {name} is bound twice")
        self.ns[name] = value
        return name

    def function(self, header, name):
        src = "\n".join([header, *self.lines]) + "\n"
        # registered with linecache, so a traceback from a replay shows the generated line
        filename = f"<cr.compile {name} {next(_CODE_IDS)}>"
        linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
        exec(compile(src, filename, "exec"), self.ns)   # noqa: S102
        return self.ns[name], src


def _fit(x, shape, dtype):
    """A gradient brought to its input's shape (undoing broadcasting) and dtype."""
    if x.shape != shape:
        x = sum_to(x, shape)
    if x.dtype != dtype:
        x = x.astype(dtype)
    return x


def _array(kind, r):
    return f"a{r}" if kind == _ARG else f"d{r}" if kind == _VAL else f"E{r}._data"


def _tensor(kind, r):
    return f"A{r}" if kind == _ARG else f"t{r}" if kind == _VAL else f"E{r}"


def _ops(code, prog, start, stop):
    """Forward of ops ``start:stop``: context, forward call, and what the backward needs."""
    for k in range(start, stop):
        cls, srcs, params, bind, need = prog.steps[k]
        code.bind(f"K{k}", cls)
        code.bind(f"F{k}", cls.forward)
        arrays = [_array(kind, r) for kind, r in srcs]
        bound = dict(bind)
        for name, value in params.items():
            if name in bound:
                arrays.append(f"{name}=a{bound[name]}")
            elif name.isidentifier():
                arrays.append(f"{name}={code.bind(f'P{k}_{name}', value)}")
            else:
                raise ValueError(f"parameter name {name!r}")
        code.emit(f"c{k} = _onew(K{k})  # op {k}: {cls.__name__}")
        code.emit(f"d{k} = F{k}(c{k}, XP, {', '.join(arrays)})")
        code.emit(f"if type(d{k}) is not _nd: d{k} = _asarray(d{k})")
        if need is not None:
            code.emit(f"c{k}.needs_input_grad = {code.bind(f'N{k}', need)}")
            if cls._save:     # the values its backward reads, as Op.vjp passes them
                saved = [_array(*srcs[i]) if is_in else f"d{k}" if is_in is False else
                         f"c{k}.{i}" for is_in, i in cls._save]
                code.emit(f"c{k}.sv = ({', '.join(saved)},)")


def _backward(code, prog, plan, seed, depth=1):
    """The backward of a plan (capture.py ``_Program._plan``) from the gradient ``seed``; leaves
    its leaves' gradients in ``g<slot>``."""
    steps, _, leaf_slots = plan
    used = sorted({0, *leaf_slots, *(s for _, s, _ in steps),
                   *(s for _, _, routes in steps for _, s, _, _ in routes)})
    rest = [f"g{s}" for s in used if s != 0]
    if rest:
        code.emit(" = ".join(rest) + " = None", depth)
    code.emit(f"g0 = {seed}", depth)
    # a gradient slot written once, by a backward that returns new arrays, may be overwritten;
    # a slot written by one route takes the gradient without testing for an earlier one
    writers = {}
    for k, _, routes in steps:
        for _, s, _, _ in routes:
            writers.setdefault(s, []).append(k)
    for k, s_out, routes in steps:
        if s_out == 0 and seed != "g":        # the seed of backward() is never None
            d = depth
        else:
            code.emit(f"if g{s_out} is not None:", depth)
            d = depth + 1
        cls = prog.steps[k][0]
        code.bind(f"B{k}", cls.backward)
        saved = f", *c{k}.sv" if cls._save else ""
        call = f"B{k}(c{k}, XP, g{s_out}{saved})  # op {k}"
        if len(prog.steps[k][1]) == 1:       # one input: the gradient, or a 1-tuple of it
            code.emit(f"x = {call}", d)
            code.emit(f"g{s_out} = None", d)
            code.emit("if type(x) is tuple: x = x[0]", d)
        else:
            code.emit(f"r = {call}", d)
            code.emit(f"g{s_out} = None", d)
        for i, s, shape, dtype in routes:
            sh = code.bind(f"S{k}_{i}", shape)
            dt = code.bind(f"T{k}_{i}", dtype)
            if len(prog.steps[k][1]) != 1:
                code.emit(f"x = r[{i}]", d)
            code.emit("if x is not None:", d)
            code.emit(f"if x.shape != {sh} or x.dtype is not {dt}: x = _fit(x, {sh}, {dt})",
                      d + 1)
            if len(writers[s]) == 1:
                code.emit(f"g{s} = x", d + 1)
            else:
                code.emit(f"g{s} = x if g{s} is None else g{s} + x", d + 1)


def _leaf(code, prog, kind, r, s):
    """Accumulate slot ``s`` into the ``.grad`` of leaf ``(kind, r)`` (the engine's rule)."""
    code.emit(f"if g{s} is not None: _acc({_tensor(kind, r)}, g{s}, False, handed)")


def build(prog):
    """The replay function of ``prog``: ``run(args) -> (output array or None, contexts)``, where
    contexts is the list of op contexts when the output's backward (``prog.out_plan``) needs
    them, else None.  Also returns the source."""
    code = _Code()
    out, ctxs = _body(code, prog)
    code.emit(f"return {out}, {ctxs}")
    return code.function("def replay(args):", "replay")


def _body(code, prog):
    """The lines of a replay, but its return; returns the expressions of the output array and
    of the contexts list (see :func:`build`)."""
    n = len(prog.steps)
    for i, t in enumerate(prog.ext):
        code.bind(f"E{i}", t)
    for i in prog.arg_index:
        code.emit(f"A{i} = args[{i}]")
        code.emit(f"a{i} = A{i}._data")
    done = 0
    for j, (pos, kind, payload) in enumerate(prog.events):
        _ops(code, prog, done, pos)
        done = pos
        if kind == "backward":
            steps = payload[0]
            if not steps:
                continue
            root = steps[0][0]
            code.emit(f"# backward() of value {root}")
            shape, dtype = prog.meta[root]
            if shape == ():        # np.array is one C call, np.ones a Python function
                seed = f"_array(1, {code.bind(f'RT{j}', dtype)})"
            else:
                seed = f"_ones({code.bind(f'RS{j}', shape)}, {code.bind(f'RT{j}', dtype)})"
            _backward(code, prog, payload, seed)
            code.emit("handed = set()")
            for (kind_, r), s in zip(payload[1], payload[2]):
                _leaf(code, prog, kind_, r, s)
        else:
            fn, a, kw = payload
            code.bind(f"C{j}", fn)
            code.bind(f"CA{j}", a)
            code.bind(f"CK{j}", kw)
            code.emit(f"C{j}(*CA{j}, **CK{j})  # {getattr(fn, '__qualname__', fn)}")
    _ops(code, prog, done, n)
    if prog.outs is not None:
        out = f"({''.join(f'd{k}, ' for k in prog.outs)})"
    else:
        out = f"d{prog.out}" if prog.out is not None else "None"
    ctxs = f"[{', '.join(f'c{k}' for k in range(n))}]" if prog.out_plan else "None"
    return out, ctxs


def build_backward(prog):
    """The backward of a replayed forward (``prog.out_plan``), for the graph node ``_Fused``:
    ``backward(ctxs, g) -> tuple of the leaves' gradients``.  Also returns the source."""
    code = _Code()
    plan = prog.out_plan
    for k, _, _ in plan[0]:
        code.emit(f"c{k} = ctxs[{k}]")
    _backward(code, prog, plan, "g")
    leaves = ", ".join(f"g{s}" for s in plan[2])
    code.emit(f"return ({leaves},)" if plan[2] else "return ()")
    return code.function("def backward(ctxs, g):", "backward")


def _guard_lines(code, prog, fail="False"):
    """One test per tensor the recording reads from outside the call (parameters, buffers,
    constants): it keeps its ``requires_grad``, shape and dtype and has no hooks."""
    for i, (t, (rg, shape, dtype)) in enumerate(zip(prog.ext, prog.ext_guard)):
        code.bind(f"E{i}", t)
        sh, dt = code.bind(f"S{i}", shape), code.bind(f"T{i}", dtype)
        code.emit(f"d = E{i}._data")
        code.emit(f"if E{i}.requires_grad is not {rg} or d.shape != {sh} or "
                  f"(d.dtype is not {dt} and d.dtype != {dt}) or E{i}._hooks: return {fail}")


def build_guard(prog):
    """``guard() -> bool``: True while every tensor the recording reads from outside the call
    keeps its ``requires_grad``, shape and dtype and has no hooks; one test per tensor, no loop."""
    code = _Code()
    _guard_lines(code, prog)
    code.emit("return True")
    return code.function("def guard():", "guard")[0]


def build_fast(prog, signature, state, tensor, hook_dicts, module_dicts, miss, output):
    """``fast(args)``: a whole replayed call in one function, for the common case of positional
    tensor arguments.  First the test that the call may replay ``prog`` again: the arguments'
    shapes, dtypes and ``requires_grad`` (``signature``: ``(shape, dtype char, requires_grad)``
    each), the grad mode and debugging state, the watched modules' ``training`` flags and hooks,
    and the guard on outside tensors; it answers what the signature lookup and ``guard_ok``
    answer together, without building and hashing the signature, and returns ``miss`` when it
    fails.  Then the replay's lines, and the result: the output tensor (detached), None, or for
    a forward with a backward (``prog.out_plan``) what ``output(args, out, ctxs)`` makes of it."""
    code = _Code()
    code.bind("ST", state)
    code.bind("_T", tensor)
    code.bind("MISS", miss)
    code.emit(f"if len(args) != {len(signature)} or ST.anomaly or ST.observer is not None or "
              f"ST.dual or ST.enabled != {bool(state.enabled)}: return MISS")
    for i, (shape, char, rg) in enumerate(signature):
        sh = code.bind(f"AS{i}", shape)
        code.emit(f"a = args[{i}]")
        code.emit("if not isinstance(a, _T): return MISS")
        code.emit("d = a._data")
        code.emit(f"if d.shape != {sh} or d.dtype.char != {char!r} or "
                  f"a.requires_grad is not {bool(rg)}: return MISS")
    hooks = [code.bind(f"HK{i}", h) for i, h in enumerate(hook_dicts)]
    if hooks:
        code.emit(f"if {' or '.join(hooks)}: return MISS")
    for i, d in enumerate(module_dicts):
        code.emit(f"if {code.bind(f'M{i}', d)}['training'] != {bool(d['training'])}: "
                  "return MISS")
    _guard_lines(code, prog, "MISS")
    out, ctxs = _body(code, prog)
    if prog.outs is not None:
        code.emit(f"return ({''.join(f'_new(d{k}, False, None), ' for k in prog.outs)})")
    elif prog.out_plan is not None:
        code.emit(f"return {code.bind('OUTPUT', output)}(args, {out}, {ctxs})")
    elif out == "None":
        code.emit("return None")
    else:
        code.emit(f"return _new({out}, False, None)")
    return code.function("def fast(args):", "fast")[0]
