"""cr.optim.lr_scheduler: lr (and momentum) values step by step against PyTorch, closed forms."""
import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim
from chainrule.optim import lr_scheduler as S


def make_opt(lib, kind="SGD"):
    """Two groups with different lrs; params never get grads, so step() changes nothing."""
    a = lib.tensor([1.0, 2.0], requires_grad=True)
    b = lib.tensor([3.0], requires_grad=True)
    groups = [{"params": [a]}, {"params": [b], "lr": 0.02}]
    if kind == "SGD":
        return lib.optim.SGD(groups, lr=0.1, momentum=0.9)
    return lib.optim.Adam(groups, lr=0.1)


# (name, factory(lr_scheduler module, optimizer), optimizer kind, epochs)
CASES = [
    ("StepLR", lambda L, o: L.StepLR(o, step_size=7, gamma=0.5), "SGD", 30),
    ("MultiStepLR", lambda L, o: L.MultiStepLR(o, [5, 12, 12, 20], gamma=0.3), "SGD", 30),
    ("ExponentialLR", lambda L, o: L.ExponentialLR(o, gamma=0.9), "SGD", 30),
    ("Cosine", lambda L, o: L.CosineAnnealingLR(o, T_max=10, eta_min=1e-3), "SGD", 35),
    ("Cosine7", lambda L, o: L.CosineAnnealingLR(o, T_max=7), "Adam", 30),
    ("LinearLR", lambda L, o: L.LinearLR(o), "SGD", 20),
    ("LinearLR2", lambda L, o: L.LinearLR(o, 0.1, 0.9, total_iters=10), "SGD", 20),
    ("LambdaLR", lambda L, o: L.LambdaLR(o, lambda e: 0.95 ** e), "SGD", 25),
    ("LambdaLR2", lambda L, o: L.LambdaLR(o, [lambda e: 1 / (e + 1), lambda e: e % 3]),
     "SGD", 25),
    ("Sequential", lambda L, o: L.SequentialLR(o, [L.LinearLR(o, 0.1, total_iters=5),
                                                   L.CosineAnnealingLR(o, T_max=20)], [5]),
     "SGD", 30),
    ("Sequential3", lambda L, o: L.SequentialLR(o, [L.ExponentialLR(o, 0.8),
                                                    L.StepLR(o, 3, 0.5),
                                                    L.CosineAnnealingLR(o, 6, 1e-3)], [4, 12]),
     "Adam", 30),
    ("OneCycle", lambda L, o: L.OneCycleLR(o, max_lr=[1.0, 0.5], total_steps=30), "SGD", 30),
    ("OneCycle3", lambda L, o: L.OneCycleLR(o, 0.4, epochs=5, steps_per_epoch=6,
                                            anneal_strategy="linear", three_phase=True,
                                            pct_start=0.25), "SGD", 30),
    ("OneCycleAdam", lambda L, o: L.OneCycleLR(o, 0.3, total_steps=25, div_factor=10.0,
                                               base_momentum=0.8, max_momentum=0.9), "Adam", 25),
    ("OneCycleNoMom", lambda L, o: L.OneCycleLR(o, 0.3, total_steps=25, cycle_momentum=False),
     "SGD", 25),
]


def _momenta(opt):
    return [g["betas"][0] if "betas" in g else g["momentum"] for g in opt.param_groups]


@pytest.mark.parametrize("name,factory,kind,epochs", CASES, ids=[c[0] for c in CASES])
def test_schedule_matches_torch(name, factory, kind, epochs):
    torch = pytest.importorskip("torch")
    mine, theirs = make_opt(cr, kind), make_opt(torch, kind)
    sm, st = factory(S, mine), factory(torch.optim.lr_scheduler, theirs)
    got, want = [sm.get_last_lr()], [st.get_last_lr()]
    mom_got, mom_want = [_momenta(mine)], [_momenta(theirs)]
    for _ in range(epochs):
        mine.step()
        theirs.step()
        sm.step()
        st.step()
        got.append(sm.get_last_lr())
        want.append(st.get_last_lr())
        mom_got.append(_momenta(mine))
        mom_want.append(_momenta(theirs))
        assert [g["lr"] for g in mine.param_groups] == got[-1]
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(mom_got, mom_want, rtol=1e-10)
    assert sm.last_epoch == st.last_epoch
    assert len({tuple(v) for v in got}) > 2          # the schedule actually changed the lr


PLATEAU = [
    dict(),
    dict(mode="max", factor=0.5, patience=2),
    dict(patience=1, threshold=0.05, threshold_mode="abs", cooldown=2),
    dict(mode="max", patience=0, threshold_mode="abs", threshold=0.01, min_lr=[0.01, 0.005]),
    dict(factor=0.3, patience=2, min_lr=0.003, eps=1e-3),
]


@pytest.mark.parametrize("kwargs", PLATEAU)
def test_reduce_on_plateau_matches_torch(kwargs):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    metrics = np.concatenate([np.linspace(1.0, 0.5, 8), 0.5 + 0.01 * rng.normal(size=25),
                              np.linspace(0.5, 0.2, 5), np.full(12, 0.2)])
    mine, theirs = make_opt(cr), make_opt(torch)
    sm = S.ReduceLROnPlateau(mine, **kwargs)
    st = torch.optim.lr_scheduler.ReduceLROnPlateau(theirs, **kwargs)
    got, want = [], []
    for m in metrics:
        sm.step(m)
        st.step(m)
        got.append(sm.get_last_lr())
        want.append(st.get_last_lr())
    np.testing.assert_allclose(got, want, rtol=1e-10)
    assert sm.num_bad_epochs == st.num_bad_epochs and sm.best == st.best
    assert got[-1] != got[0]


def test_closed_forms_without_torch():
    opt = make_opt(cr)
    sched = S.StepLR(opt, step_size=3, gamma=0.5)
    for epoch in range(1, 12):
        opt.step()
        sched.step()
        assert sched.get_last_lr()[0] == pytest.approx(0.1 * 0.5 ** (epoch // 3), rel=1e-14)
    opt = make_opt(cr)
    sched = S.CosineAnnealingLR(opt, T_max=10, eta_min=0.01)
    for epoch in range(1, 11):
        sched.step()
        want = 0.01 + (0.1 - 0.01) * (1 + math.cos(math.pi * epoch / 10)) / 2
        assert sched.get_last_lr()[0] == pytest.approx(want, rel=1e-12)
    assert opt.param_groups[0]["initial_lr"] == 0.1


def test_one_cycle_shape_without_torch():
    opt = make_opt(cr)
    sched = S.OneCycleLR(opt, max_lr=1.0, total_steps=100)
    lrs, moms = [sched.get_last_lr()[0]], [opt.param_groups[0]["momentum"]]
    for _ in range(99):
        sched.step()
        lrs.append(sched.get_last_lr()[0])
        moms.append(opt.param_groups[0]["momentum"])
    assert lrs[0] == pytest.approx(1.0 / 25) and moms[0] == pytest.approx(0.95)
    assert int(np.argmax(lrs)) == 29 and lrs[29] == pytest.approx(1.0)
    assert moms[29] == pytest.approx(0.85) and moms[-1] == pytest.approx(0.95)
    assert lrs[-1] == pytest.approx(1.0 / 25 / 1e4)
    sched.step()
    with pytest.raises(ValueError, match="Tried to step 101 times"):
        sched.step()


def test_warmup_then_cosine_closed_form():
    opt = make_opt(cr)
    warm = S.LinearLR(opt, start_factor=0.1, total_iters=4)
    cos = S.CosineAnnealingLR(opt, T_max=10)
    sched = S.SequentialLR(opt, [warm, cos], milestones=[4])
    lrs = [sched.get_last_lr()[0]]
    for _ in range(14):
        sched.step()
        lrs.append(sched.get_last_lr()[0])
    np.testing.assert_allclose(lrs[:5], [0.01, 0.0325, 0.055, 0.0775, 0.1], rtol=1e-12)
    np.testing.assert_allclose(lrs[4:], [0.05 * (1 + math.cos(math.pi * k / 10))
                                         for k in range(11)], rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("factory", [
    lambda o: S.CosineAnnealingLR(o, T_max=6),
    lambda o: S.MultiStepLR(o, [2, 5], 0.5),
    lambda o: S.OneCycleLR(o, 0.5, total_steps=20),
    lambda o: S.SequentialLR(o, [S.LinearLR(o, total_iters=3), S.ExponentialLR(o, 0.7)], [3]),
])
def test_scheduler_state_dict_round_trip(factory):
    full_opt = make_opt(cr)
    full = factory(full_opt)
    for _ in range(12):
        full.step()
    opt = make_opt(cr)
    sched = factory(opt)
    for _ in range(5):
        sched.step()
    sd, osd = sched.state_dict(), opt.state_dict()
    assert "optimizer" not in sd
    opt2 = make_opt(cr)
    sched2 = factory(opt2)
    opt2.load_state_dict(osd)
    sched2.load_state_dict(sd)
    for _ in range(7):
        sched2.step()
    assert sched2.get_last_lr() == pytest.approx(full.get_last_lr(), rel=1e-12)
    assert _momenta(opt2) == pytest.approx(_momenta(full_opt), rel=1e-12)


def test_plateau_state_dict_round_trip():
    opt = make_opt(cr)
    sched = S.ReduceLROnPlateau(opt, patience=1, mode="max")
    for m in [1, 2, 2, 2]:
        sched.step(m)
    sched2 = S.ReduceLROnPlateau(make_opt(cr))
    sched2.load_state_dict(sched.state_dict())
    assert sched2.mode == "max" and sched2.best == 2 and sched2._is_better(3, 2)


BAD = [
    (lambda o: S.StepLR("not an optimizer", 3), TypeError, "is not an Optimizer"),
    (lambda o: S.LinearLR(o, start_factor=0), ValueError, "Starting multiplicative factor"),
    (lambda o: S.LinearLR(o, end_factor=1.5), ValueError, "Ending multiplicative factor"),
    (lambda o: S.OneCycleLR(o, 0.1), ValueError, "total_steps OR"),
    (lambda o: S.OneCycleLR(o, 0.1, total_steps=0), ValueError, "total_steps"),
    (lambda o: S.OneCycleLR(o, 0.1, epochs=2, steps_per_epoch=-1), ValueError, "steps_per_epoch"),
    (lambda o: S.OneCycleLR(o, 0.1, total_steps=10, pct_start=1.5), ValueError, "pct_start"),
    (lambda o: S.OneCycleLR(o, 0.1, total_steps=10, anneal_strategy="exp"), ValueError,
     "anneal_strategy"),
    (lambda o: S.OneCycleLR(o, [0.1, 0.2, 0.3], total_steps=10), ValueError, "max_lr"),
    (lambda o: S.OneCycleLR(optim.Adagrad(o.param_groups[0]["params"]), 0.1, total_steps=9),
     ValueError, "momentum or beta1"),
    (lambda o: S.ReduceLROnPlateau(o, factor=1.0), ValueError, "Factor should be < 1.0"),
    (lambda o: S.ReduceLROnPlateau(o, mode="best"), ValueError, "mode 'best' is unknown"),
    (lambda o: S.ReduceLROnPlateau(o, threshold_mode="x"), ValueError, "threshold mode"),
    (lambda o: S.ReduceLROnPlateau(o, min_lr=[0.1]), ValueError, "min_lrs"),
    (lambda o: S.LambdaLR(o, [lambda e: 1.0]), ValueError, "expected 2 lr_lambdas"),
    (lambda o: S.SequentialLR(o, [S.StepLR(o, 2)], [3]), ValueError, "milestone"),
    (lambda o: S.SequentialLR(o, [S.StepLR(o, 2), S.ReduceLROnPlateau(o)], [3]), ValueError,
     "ReduceLROnPlateau"),
    (lambda o: S.SequentialLR(o, [S.StepLR(o, 2), S.StepLR(make_opt(cr), 2)], [3]), ValueError,
     "same optimizer"),
    (lambda o: S.StepLR(o, 3, last_epoch=4), KeyError, "initial_lr"),
]


@pytest.mark.parametrize("make,exc,match", BAD)
def test_bad_arguments(make, exc, match):
    with pytest.raises(exc, match=match):
        make(make_opt(cr))
