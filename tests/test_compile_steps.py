"""cr.compile of whole training steps: eager's numbers, kept gradients, the replay's generated code."""
import copy
import warnings
import weakref

import numpy as np
import pytest
from test_compile import _batches, _mlp, _train

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn


# -- whole training steps --------------------------------------------------------------------
def _step_fn(model, opt, sched=None, clip=None, ignore_index=-100):
    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y, ignore_index=ignore_index)
        loss.backward()
        if clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        if sched is not None:
            sched.step()
        return loss
    return step


@pytest.mark.parametrize("optim", ["sgd", "adam", "sgd-momentum-clip-schedule"])
def test_compiled_training_step_matches_eager_bit_for_bit(optim):
    def build():
        model = _mlp(cr.float64)
        if optim == "adam":
            opt = cr.optim.Adam(model.parameters(), lr=1e-2)
            return model, opt, _step_fn(model, opt)
        if optim == "sgd":
            opt = cr.optim.SGD(model.parameters(), lr=0.1)
            return model, opt, _step_fn(model, opt)
        opt = cr.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        sched = cr.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
        return model, opt, _step_fn(model, opt, sched, clip=0.5)

    me, oe, step_e = build()
    mc, oc, step_c = build()
    step_c = cr.compile(step_c)
    batches = _batches(14, cr.float64, sizes=(7, 7, 7, 5))
    for x, y in batches:
        le, lc = step_e(x, y), step_c(x, y)
        assert le.item() == lc.item()
    for (name, pe), pc in zip(me.named_parameters(), mc.parameters()):
        np.testing.assert_array_equal(pe._data, pc._data, err_msg=name)
        np.testing.assert_array_equal(pe.grad._data, pc.grad._data, err_msg=name)
    assert oe.param_groups[0]["lr"] == oc.param_groups[0]["lr"]
    ready = [v for v in step_c._compiled.cache.values() if type(v).__name__ == "_Program"]
    assert len(ready) == 2 and all(p.events for p in ready)      # 7-row and 5-row batches
    assert not step_c(*batches[0]).requires_grad                 # a replay returns a value


def test_a_step_that_reads_the_loss_inside_stays_eager():
    model = _mlp()
    opt = cr.optim.SGD(model.parameters(), lr=0.1)

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    c = cr.compile(step)
    with pytest.warns(RuntimeWarning, match=r"item\(\)"):
        for x, y in _batches(3, cr.float32):
            assert isinstance(c(x, y), float)


def test_targets_turned_into_masks_outside_the_ops_are_not_frozen():
    # ignore_index inside the class range takes cross_entropy's general path, which builds
    # arrays from the target values: the two traces differ, so the step stays eager
    me, mc = _mlp(cr.float64), _mlp(cr.float64)
    oe, oc = cr.optim.SGD(me.parameters(), lr=0.1), cr.optim.SGD(mc.parameters(), lr=0.1)
    se = _step_fn(me, oe, ignore_index=1)
    sc = cr.compile(_step_fn(mc, oc, ignore_index=1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for x, y in _batches(5, cr.float64):
            assert se(x, y).item() == sc(x, y).item()
    for pe, pc in zip(me.parameters(), mc.parameters()):
        np.testing.assert_array_equal(pe._data, pc._data)


@pytest.mark.parametrize("compiled", [False, True])
def test_foreach_flat_buffers_give_the_per_parameter_numbers(compiled):
    def run(foreach, optim):
        model = _mlp(cr.float32)
        opt = cr.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, foreach=foreach) \
            if optim == "sgd" else \
            cr.optim.Adam(model.parameters(), lr=1e-2, weight_decay=0.01, foreach=foreach)

        def step(x, y):
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
        step = cr.compile(step) if compiled else step
        for x, y in _batches(6, cr.float32):
            step(x, y)
        return model, opt

    for optim in ("sgd", "adam"):
        (mf, of), (mp, op) = run(True, optim), run(False, optim)
        assert any(r is not None for r in of.__dict__["_flat_records"].values())
        assert "_flat_records" not in op.__dict__
        for a, b in zip(mf.parameters(), mp.parameters()):
            np.testing.assert_array_equal(a._data, b._data)
            np.testing.assert_array_equal(a.grad._data, b.grad._data)
        assert of.state_dict()["state"].keys() == op.state_dict()["state"].keys()


def test_a_kept_gradient_is_never_overwritten_by_the_flat_buffers():
    model = _mlp(cr.float64)
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    kept = []
    for x, y in _batches(4, cr.float64):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        kept.append((model[0].weight.grad, model[0].weight.grad._data.copy()))
        opt.step()
    for g, values in kept:
        np.testing.assert_array_equal(g._data, values)


def _sgd_step(compiled):
    model = _mlp(cr.float64)
    opt = cr.optim.SGD(model.parameters(), lr=0.1)

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return model, opt, (cr.compile(step) if compiled else step)


@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("hold", ["tensor", "numpy", "data", "none"])
def test_a_gradient_kept_in_any_form_is_never_overwritten(hold, compiled):
    # a gradient home is reused only while nothing holds its tensor or its array
    model, opt, step = _sgd_step(compiled)
    kept = []
    for i, (x, y) in enumerate(_batches(6, cr.float64)):
        step(x, y)
        for p in model.parameters():
            g = p.grad
            held = {"tensor": g, "numpy": g.numpy(), "data": g.data, "none": None}[hold]
            kept.append((held, g._data.copy()))
    for held, values in kept:
        if held is not None:
            np.testing.assert_array_equal(held if isinstance(held, np.ndarray) else held._data,
                                          values)


@pytest.mark.parametrize("compiled", [False, True])
def test_each_backward_after_zero_grad_gives_a_new_gradient_tensor(compiled):
    # as PyTorch: zero_grad(set_to_none=True) then backward makes a new .grad, so a weak
    # reference to an old one never sees its values change (gradient homes reused it)
    model, opt, step = _sgd_step(compiled)
    refs = []
    for x, y in _batches(5, cr.float64):
        step(x, y)
        g = model[0].weight.grad
        assert all(r() is not g for r, _ in refs)
        refs.append((weakref.ref(g), g._data.copy()))
        del g
    for r, values in refs:
        g = r()
        if g is not None:
            np.testing.assert_array_equal(g._data, values)


@pytest.mark.parametrize("as_module", [False, True])
def test_all_code_is_generated_while_recording_none_on_replays(monkeypatch, as_module):
    # as torch.compile: the recording calls make the code; replays, including those that switch
    # between recorded batch shapes (an epoch's last, smaller batch), generate none
    from chainrule.compiler import replay
    made = []
    real = replay.build_fast
    monkeypatch.setattr(replay, "build_fast", lambda *a: made.append(a) or real(*a))
    model, opt, step = _sgd_step(compiled=False)
    fn = cr.compile(model) if as_module else cr.compile(step)
    a, b = _batches(2, cr.float64, sizes=(7, 4))
    for x, y in (a, a, b, b):                   # two recording calls per shape
        fn(x) if as_module else fn(x, y)
    assert len(made) == 2
    for x, y in (a, b, a, b, b, a):
        fn(x) if as_module else fn(x, y)
    assert len(made) == 2


def test_a_held_parameter_array_keeps_following_the_parameter():
    model = _mlp(cr.float64)
    w = model[0].weight.detach().numpy()          # shares memory, as in PyTorch
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    for x, y in _batches(3, cr.float64):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    assert np.shares_memory(w, model[0].weight._data)


def _program(compiled_fn):
    progs = [p for p in compiled_fn._compiled.cache.values() if not isinstance(p, (str, tuple))]
    assert len(progs) == 1
    return progs[0]


def test_replay_code_is_readable_and_gives_eager_numbers():
    lin, lin2 = nn.Linear(6, 5), nn.Linear(5, 5)

    def alone(x):                     # the Linear output is read by the ReLU only
        return F.relu(lin(x)).sum()

    def shared(x):                    # ... read twice: the ReLU must not overwrite it
        h = lin(x)
        return (F.relu(h) * h).sum()

    def returned(x):                  # ... returned: must stay intact
        h = lin(x)
        F.relu(h)
        return h

    def after_sigmoid(x):             # a producer that keeps its output for its backward
        return F.relu(lin2(F.sigmoid(lin(x)))).sum()

    x = cr.tensor(np.random.default_rng(0).standard_normal((4, 6)), dtype=cr.float32)
    for fn, in_place in [(alone, True), (shared, False), (returned, False),
                         (after_sigmoid, True)]:
        c = cr.compile(fn)
        for _ in range(3):
            lin.zero_grad()
            out = c(x)
            if out.requires_grad and out.ndim == 0:
                out.backward()
            got = (out.detach().numpy().copy(), lin.weight.grad.numpy().copy()
                   if lin.weight.grad is not None else None)
            lin.zero_grad()
            ref = fn(x)
            if ref.requires_grad and ref.ndim == 0:
                ref.backward()
            np.testing.assert_array_equal(got[0], ref.detach().numpy(), err_msg=fn.__name__)
            if got[1] is not None:
                np.testing.assert_array_equal(got[1], lin.weight.grad.numpy(), err_msg=fn.__name__)
        src = _program(c).source
        assert "def replay(args):" in src and "Linear" in src and "Relu" in src


def test_the_last_program_is_entered_directly_and_left_on_any_change():
    """A call that repeats the last replayed signature skips the signature lookup (one generated
    function, ``fast``, tests the call and replays); every change the lookup would see makes that
    test fail, and the call then takes the lookup (or eager mode) with the same numbers as eager
    mode."""
    from chainrule.compiler.capture import _MISS
    model = _mlp()
    cmod = cr.compile(model)
    x = cr.tensor(np.random.default_rng(0).standard_normal((5, 12)), dtype=cr.float32)
    for _ in range(3):
        out = cmod(x)
    fast = cmod._compiled.fast

    def enter(args):
        return fast(args) is not _MISS

    assert enter((x,))
    cmod(x)
    assert cmod._compiled.fast is fast             # built once per program, then reused
    assert np.array_equal(fast((x,)).detach().numpy(), out.detach().numpy())
    assert np.array_equal(out.detach().numpy(), model(x).detach().numpy())
    x64 = x.double()
    xg = x.detach().requires_grad_()
    x9 = cr.tensor(np.ones((9, 12)), dtype=cr.float32)
    assert not enter((x64,)) and not enter((xg,)) and not enter((x9,)) and not enter((x, x))
    with cr.no_grad():
        assert not enter((x,))
    model.eval()
    assert not enter((x,))
    model.train()
    assert enter((x,))
    h = model[0].register_forward_hook(lambda m, i, o: None)
    assert not enter((x,))
    h.remove()
    model[2].weight.requires_grad_(False)
    assert not enter((x,))
    out = cmod(x)                     # records again for the frozen weight, in eager mode
    assert np.array_equal(out.detach().numpy(), model(x).detach().numpy())
    # a step function: the optimizer's step and zero_grad replay through the same test
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    ref = copy.deepcopy(model)
    ref_opt = cr.optim.SGD(ref.parameters(), lr=0.1)
    model[2].weight.requires_grad_(True)
    ref[2].weight.requires_grad_(True)

    @cr.compile
    def step(xb, yb):
        opt.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        return loss

    batches = _batches(6, cr.float32, sizes=(5, 5, 5, 5, 3, 5))
    got = [step(a, b).item() for a, b in batches]
    assert step._compiled.fast is not None
    assert got == _train(ref, ref_opt, batches)
