"""cr.compile: a tuple of tensors as the return value, and recorded constants that hold arrays."""
import warnings

import numpy as np
import pytest

import chainrule as cr

nn, F = cr.nn, cr.nn.functional


def _run(compiled, loss=F.cross_entropy, steps=6):
    cr.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    opt = cr.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)

    def step(x, y):
        opt.zero_grad()
        out = m(x)
        l = loss(out, y)
        l.backward()
        return l, out

    f = cr.compile(step) if compiled else step
    rng = np.random.default_rng(0)
    seen = []
    for _ in range(steps):
        x = cr.from_numpy(rng.standard_normal((5, 4)).astype(np.float32))
        y = cr.from_numpy(rng.integers(0, 3, 5))
        l, o = f(x, y)
        opt.step()
        seen.append((l.item(), o.detach().numpy().copy()))
    return seen, [p.detach().numpy().copy() for p in m.parameters()], f


def test_a_tuple_of_tensors_is_returned_by_the_replay_bit_for_bit():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a, pa, f = _run(True)
    b, pb, _ = _run(False)
    for (la, oa), (lb, ob) in zip(a, b):
        assert la == lb
        np.testing.assert_array_equal(oa, ob)
    for u, v in zip(pa, pb):
        np.testing.assert_array_equal(u, v)
    progs = list(f._compiled.cache.values())
    assert len(progs) == 1 and progs[0].outs is not None       # replayed, not eager
    assert "return (d" in progs[0].source


def test_a_tuple_that_still_needs_a_backward_stays_eager():
    lin = nn.Linear(3, 2)
    f = cr.compile(lambda x: (lin(x), lin(x).sum()))
    with pytest.warns(RuntimeWarning, match="tuple return value whose tensors need a backward"):
        for _ in range(2):
            a, s = f(cr.randn(4, 3))
    s.backward()                        # the eager result keeps its graph
    assert lin.weight.grad is not None


def test_constants_holding_arrays_compare_by_value():
    # nll_loss indexes with (arange, targets): a recorded tuple holding arrays; the targets
    # differ between calls, so the two recordings disagree and the call stays eager (no crash)
    with pytest.warns(RuntimeWarning, match="values that differ from one call to the next"):
        a, pa, _ = _run(True, loss=lambda o, y: F.nll_loss(F.log_softmax(o, 1), y))
    b, pb, _ = _run(False, loss=lambda o, y: F.nll_loss(F.log_softmax(o, 1), y))
    for u, v in zip(pa, pb):
        np.testing.assert_array_equal(u, v)


def test_fit_replays_forward_loss_and_backward_as_one_program(monkeypatch):
    """With one of chainrule's losses, fit's compiled path replays the loss too: the loss op's
    apply runs only in the recording calls; a user's loss function stays eager every batch."""
    from chainrule.autograd.op import Op
    from chainrule.ops.loss import CrossEntropyIndex
    calls = []

    def counting(cls, *a, **k):
        calls.append(1)
        return Op.apply.__func__(cls, *a, **k)
    monkeypatch.setattr(CrossEntropyIndex, "apply", classmethod(counting))
    rng = np.random.default_rng(0)
    X = rng.standard_normal((80, 4)).astype(np.float32)
    y = rng.integers(0, 3, 80)
    for loss, most in ((nn.CrossEntropyLoss(), 2), (lambda o, t: F.cross_entropy(o, t), 10)):
        calls.clear()
        cr.manual_seed(0)
        m = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            cr.train.fit(m, loss, cr.optim.SGD(m.parameters(), lr=0.1), (X, y), epochs=1,
                         batch_size=8, verbose=0)
        assert len(calls) == most       # 10 batches: 2 recordings, or every batch eagerly
