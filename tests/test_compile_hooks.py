"""cr.compile stays in chainrule/compiler/: eager code has two narrow hooks and nothing else, the
trace's interceptions exist only while a trace runs, and they follow the tracing thread."""
import ast
import pathlib
import threading
import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from chainrule.autograd.op import Op
from chainrule.nn.module import Module
from chainrule.optim.lr_scheduler import LRScheduler
from chainrule.optim.optimizer import Optimizer

PKG = pathlib.Path(cr.__file__).parent
HOOKS = {"observe_read", "observe_write"}          # the two hooks, in graph/modes.py
# what only the compiler may name: the observer slot, and the old trace-specific spellings
ABOVE = ("train", "__init__.py")     # with the command: the layers that may import the compiler
NAMES = {"observer", "trace", "taint", "replayable", "_replayable", "_Trace"}


def _offences(path, may_import=False):
    """(line, name) of every use of a compiler-only name in ``path`` outside the hooks, and of
    every import of the compiler unless ``may_import`` (the layers above it)."""
    tree = ast.parse(path.read_text(), str(path))
    allowed = set()
    if path == PKG / "graph" / "modes.py":
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name in HOOKS:
                allowed.update(id(n) for n in ast.walk(node))
            if isinstance(node, ast.ClassDef) and node.name == "_State":
                allowed.update(id(n) for n in ast.walk(node))   # the slot's declaration
    out = []
    for node in ast.walk(tree):
        name = node.attr if isinstance(node, ast.Attribute) else \
            node.id if isinstance(node, ast.Name) else \
            node.name if isinstance(node, (ast.FunctionDef, ast.ClassDef)) else None
        if name in NAMES and id(node) not in allowed:
            out.append((node.lineno, name))
        if isinstance(node, (ast.Import, ast.ImportFrom)) and not may_import:
            mods = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
            if any("compiler" in m.split(".") for m in mods):
                out.append((node.lineno, "import of the compiler"))
    return out


def test_eager_code_names_the_compiler_only_in_its_two_hooks():
    """Outside chainrule/compiler/, the observer slot is read only by ``observe_read`` and
    ``observe_write``; no ``taint``/``replayable``/``STATE.trace`` remain; nothing below imports
    the compiler.  (What a trace records, it intercepts itself: see compiler/trace.py.)"""
    bad = []
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG)
        if rel.parts[0] == "compiler":
            continue
        above = rel.parts[0] in ABOVE or rel.name.startswith("cli")
        bad += [f"{rel}:{line}: {name}" for line, name in _offences(path, above)]
    assert not bad, "compile leaks into eager code:\n" + "\n".join(bad)


def test_the_rule_test_catches_a_leak(tmp_path):
    leak = tmp_path / "leak.py"
    leak.write_text("from chainrule.graph.modes import STATE\n"
                    "def f():\n    if STATE.observer is not None:\n        pass\n")
    assert _offences(leak) == [(3, "observer")]


def _entry_points():
    from chainrule.nn import utils
    return {"Op.apply": vars(Op)["apply"], "Tensor.backward": vars(cr.Tensor)["backward"],
            "Module.__call__": vars(Module)["__call__"], "Module.zero_grad":
            vars(Module)["zero_grad"], "Optimizer.step": vars(Optimizer)["step"],
            "Optimizer.zero_grad": vars(Optimizer)["zero_grad"], "SGD.step":
            vars(cr.optim.SGD).get("step"), "LRScheduler.step": vars(LRScheduler)["step"],
            "clip_grad_norm_": utils.clip_grad_norm_, "clip_grad_value_": utils.clip_grad_value_}


def _step_fn(model, opt, sched=None, clip=None):
    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        if clip is not None:
            cr.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        if sched is not None:
            sched.step()
        return loss
    return step


def _data(n=6, seed=1):
    rng = np.random.default_rng(seed)
    return [(cr.tensor(rng.standard_normal((5, 4)) * (1 + i), dtype=cr.float32),
             cr.tensor(rng.integers(0, 3, 5))) for i in range(n)]


def _model(seed=0):
    cr.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))


def test_the_entry_points_are_wrapped_only_while_a_trace_runs():
    before = _entry_points()
    seen = {}
    model = _model()
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    step = _step_fn(model, opt)

    def spy(x, y):
        seen.update(_entry_points())
        return step(x, y)
    f = cr.compile(spy)
    for x, y in _data(4):
        f(x, y)
    assert _entry_points() == before
    wrapped = {k for k in before if seen[k] is not before[k]}
    assert wrapped == set(before) - {"SGD.step"} | ({"SGD.step"} if before["SGD.step"] else set())
    assert len(f._compiled.cache) == 1 and not isinstance(
        next(iter(f._compiled.cache.values())), str)      # and the step was replayed


class _MySGD(Optimizer):
    """A user's optimizer that writes its own step with tensor ops."""

    def __init__(self, params, lr):
        super().__init__(params, dict(lr=lr))

    def step(self, closure=None):
        with cr.no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        p.sub_(group["lr"] * p.grad)


class _Calls(_MySGD):
    """A subclass whose step adds to its parent's (super().step())."""
    calls = 0

    def step(self, closure=None):
        type(self).calls += 1
        super().step(closure)


class _Halve(LRScheduler):
    def get_lr(self):
        return [group["lr"] * 0.5 for group in self.optimizer.param_groups]


@pytest.mark.parametrize("make_opt", [lambda ps: cr.optim.SGD(ps, lr=0.1, momentum=0.9),
                                      lambda ps: _MySGD(ps, lr=0.1),
                                      lambda ps: _Calls(ps, lr=0.1)])
def test_user_optimizers_and_schedulers_replay_bit_identically(make_opt):
    """Subclasses defined by users (step written with tensor ops, super().step(), a scheduler's
    get_lr) are recorded and replayed: the same losses and parameters as eager, with the
    learning rate halving on every step and the clipping acting in the replays."""
    results = []
    for compiled in (False, True):
        model = _model()
        opt = make_opt(model.parameters())
        step = _step_fn(model, opt, _Halve(opt), clip=0.3)
        f = cr.compile(step, fullgraph=True) if compiled else step
        _Calls.calls = 0
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            losses = [f(x, y).item() for x, y in _data()]
        results.append((losses, [p.detach().numpy().copy() for p in model.parameters()],
                        opt.param_groups[0]["lr"], _Calls.calls))
        if compiled:
            assert not isinstance(next(iter(f._compiled.cache.values())), (str, tuple))
    (le, pe, lre, ce), (lc, pc, lrc, cc) = results
    assert le == lc and lre == lrc == 0.1 * 0.5 ** 7 and ce == cc   # (one at construction)
    for a, b in zip(pe, pc):
        np.testing.assert_array_equal(a, b)


def test_a_call_the_trace_cannot_see_keeps_the_step_eager():
    """A clipping function or a step bound before the trace is not recorded; its read or its
    in-place writes reach the hooks, so the call stays eager with the warning (never a replay
    that skips it)."""
    from chainrule.nn.utils import clip_grad_norm_ as clip_bound_early
    model = _model()
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    step_bound_early = opt.step

    def clip_step(x, y):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        clip_bound_early(model.parameters(), 1e-3)
        opt.step()

    def bound_step(x, y):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        step_bound_early()

    for fn, why in ((clip_step, "clip_grad_norm_"), (bound_step, "in-place write")):
        f = cr.compile(fn)
        x, y = _data(1)[0]
        with pytest.warns(RuntimeWarning, match=why):
            f(x, y)
        assert all(isinstance(v, str) for v in f._compiled.cache.values())


def test_a_trace_records_only_its_own_thread():
    """While one thread traces, another runs eager ops, a backward and a whole compiled function
    (its own traces and replays): the first recording holds only its own thread's ops (it
    replays), the other thread's numbers are eager mode's, and the other trace, which begins and
    ends inside the first, leaves the first one's interceptions in place."""
    before = _entry_points()
    model, m2 = _model(), _model(seed=3)
    x = cr.randn(5, 4)
    xe = cr.tensor(np.arange(12.0).reshape(3, 4) / 10, dtype=cr.float32, requires_grad=True)
    inside, other_done = threading.Event(), threading.Event()
    other = {}

    def eager_work():
        inside.wait(10)
        m2(xe).sum().backward()                      # eager, while the main thread traces
        g = cr.compile(lambda t: (m2(t) * 2).sum())
        other["values"] = [g(xe).item() for _ in range(4)]
        other["cache"] = list(g._compiled.cache.values())
        other_done.set()

    def traced(t):
        h = model[0](t)
        if not inside.is_set():
            inside.set()
            other_done.wait(10)           # the other thread works while this trace runs
        return model[2](model[1](h)).sum()

    worker = threading.Thread(target=eager_work)
    worker.start()
    f = cr.compile(traced, fullgraph=True)
    outs = [f(x).item() for _ in range(4)]
    worker.join(10)
    assert other_done.is_set()
    prog = next(iter(f._compiled.cache.values()))
    assert [cls.__name__ for cls, *_ in prog.steps] == ["Linear", "Tanh", "Linear", "Sum"]
    with cr.no_grad():
        assert outs == [model(x).sum().item()] * 4
    xr = cr.tensor(xe.detach().numpy().copy(), requires_grad=True)
    m2(xr).sum().backward()
    np.testing.assert_array_equal(xe.grad.numpy(), xr.grad.numpy())
    with cr.no_grad():
        assert other["values"] == [(m2(xe) * 2).sum().item()] * 4
    assert type(other["cache"][0]).__name__ == "_Program"
    assert _entry_points() == before


def test_in_place_writes_and_module_hooks_keep_a_trace_eager():
    """out= and BatchNorm: out= writes into a tensor outside the recording (eager, warned);
    BatchNorm's running statistics are written by its own op, which a replay runs again."""
    a, b, c = cr.randn(3), cr.randn(3), cr.zeros(3)
    f = cr.compile(lambda a, b: cr.add(a, b, out=c) * 2)
    with pytest.warns(RuntimeWarning, match="in-place write"):
        f(a, b)

    cr.manual_seed(0)
    bn = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6))
    bn_eager = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6))
    bn_eager.load_state_dict(bn.state_dict())
    g = cr.compile(bn)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for x, _ in _data(5):
            np.testing.assert_array_equal(g(x).detach().numpy(), bn_eager(x).detach().numpy())
    np.testing.assert_array_equal(bn[1].running_mean.numpy(), bn_eager[1].running_mean.numpy())
    assert not isinstance(next(iter(g._compiled.cache.values())), (str, tuple))

    model = _model()
    model[1].register_forward_hook(lambda m, i, o: None)
    h = cr.compile(lambda t: model(t).sum())
    with pytest.warns(RuntimeWarning, match="hooks of the module Tanh"):
        h(cr.randn(2, 4))


def test_a_trace_that_raises_puts_the_entry_points_back():
    before = _entry_points()
    model = _model()

    def broken(t):
        model(t)
        raise ValueError("user error inside the traced call")
    f = cr.compile(broken)
    with pytest.raises(ValueError, match="user error"):
        f(cr.randn(2, 4))
    assert _entry_points() == before
    from chainrule.graph.modes import STATE
    assert STATE.observer is None
