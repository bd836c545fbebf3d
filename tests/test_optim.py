"""cr.optim: update rules against PyTorch (float64), state_dict, zero_grad, closures, dtypes."""
import time

import numpy as np
import pytest

import chainrule as cr
import chainrule.optim.optimizer as optimizer_module
from chainrule import optim

RNG = np.random.default_rng(0)
X = RNG.normal(size=(8, 3))
Y = RNG.normal(size=(8, 2))
W0 = RNG.normal(size=(3, 2))
B0 = RNG.normal(size=(2,))
U0 = RNG.normal(size=(4,))      # a parameter the loss never uses: its grad stays None


def loss_fn(x, y, w, b):
    """The same expression for chainrule and torch tensors."""
    return (((x @ w + b).tanh() - y) ** 2).mean() + (w * w).sum() * 0.05


def make_params(lib, dtype=np.float64):
    if lib is cr:
        return [cr.tensor(a.astype(dtype), requires_grad=True) for a in (W0, B0, U0)]
    import torch
    return [torch.tensor(a, requires_grad=True) for a in (W0, B0, U0)]


def groups(params, lr2):
    w, b, u = params
    return [{"params": [w]}, {"params": [b, u], "lr": lr2}]


def run(lib, opt, params, steps):
    data = (cr.tensor(X), cr.tensor(Y)) if lib is cr else _torch_data()
    out = []
    for _ in range(steps):
        opt.zero_grad()
        loss_fn(*data, params[0], params[1]).backward()
        opt.step()
        out.append([np.array(p.detach().numpy()) for p in params])
    return out


def _torch_data():
    import torch
    return torch.tensor(X), torch.tensor(Y)


# (name, kwargs): every option of every optimizer, run against torch for 6 steps
CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.1, momentum=0.8, nesterov=True, weight_decay=0.1)),
    ("SGD", dict(lr=0.1, weight_decay=0.2, maximize=True)),
    ("SGD", dict(lr=0.05, momentum=0.5, nesterov=True, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.2, weight_decay=0.1)),
    ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.5, eps=1e-3, maximize=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.3, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, alpha=0.5, centered=True, momentum=0.5, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, eps=1e-2, maximize=True)),
    ("Adam", dict(lr=0.05)),
    ("Adam", dict(lr=0.05, amsgrad=True)),
    ("Adam", dict(lr=0.05, betas=(0.3, 0.6), eps=1e-3, weight_decay=0.1)),
    ("Adam", dict(lr=0.05, amsgrad=True, maximize=True, weight_decay=0.05)),
    ("AdamW", dict(lr=0.05)),
    ("AdamW", dict(lr=0.05, weight_decay=0.3, amsgrad=True)),
    ("AdamW", dict(lr=0.05, betas=(0.6, 0.9), maximize=True)),
]


@pytest.mark.parametrize("name,kwargs", CASES)
def test_trajectory_matches_torch(name, kwargs):
    torch = pytest.importorskip("torch")
    lr2 = kwargs["lr"] * 3
    mine = make_params(cr)
    theirs = make_params(torch)
    got = run(cr, getattr(optim, name)(groups(mine, lr2), **kwargs), mine, 6)
    want = run(torch, getattr(torch.optim, name)(groups(theirs, lr2), **kwargs), theirs, 6)
    for step, (g, w) in enumerate(zip(got, want)):
        for a, b in zip(g, w):
            np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-12, err_msg=f"step {step}")
    assert not np.array_equal(got[-1][0], W0)       # it moved
    np.testing.assert_array_equal(got[-1][2], U0)   # grad None: skipped


def test_state_keys_and_layout_match_torch():
    torch = pytest.importorskip("torch")
    for name, kwargs in [("SGD", dict(momentum=0.9)), ("Adam", dict(amsgrad=True)),
                         ("RMSprop", dict(centered=True, momentum=0.1)), ("Adagrad", {})]:
        mine, theirs = make_params(cr), make_params(torch)
        a = getattr(optim, name)(groups(mine, 0.5), **kwargs)
        b = getattr(torch.optim, name)(groups(theirs, 0.5), **kwargs)
        run(cr, a, mine, 2)
        run(torch, b, theirs, 2)
        sa, sb = a.state_dict(), b.state_dict()
        assert sorted(sa["state"]) == sorted(sb["state"]), name
        for k in sa["state"]:
            assert set(sa["state"][k]) == set(sb["state"][k]), name
            for key, v in sa["state"][k].items():
                np.testing.assert_allclose(np.asarray(v), sb["state"][k][key].numpy(),
                                           rtol=1e-7)
        assert [g["params"] for g in sa["param_groups"]] == [[0], [1, 2]]
        for ga, gb in zip(sa["param_groups"], sb["param_groups"]):
            assert set(ga) <= set(gb) and all(ga[k] == gb[k] for k in ga), name


@pytest.mark.parametrize("name,kwargs", [
    ("SGD", dict(lr=0.1, momentum=0.9)), ("Adagrad", dict(lr=0.1, lr_decay=0.1)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5)),
    ("Adam", dict(lr=0.05, amsgrad=True)), ("AdamW", dict(lr=0.05)),
    ("CoordinateDescent", dict(step_size=0.3, order="cyclic")),
])
def test_state_dict_round_trip(name, kwargs):
    def fresh():
        params = make_params(cr)
        return params, getattr(optim, name)(groups(params, 0.2), **kwargs)

    def steps(opt, params, n):
        data = (cr.tensor(X), cr.tensor(Y))
        closure = lambda: loss_fn(*data, params[0], params[1])          # noqa: E731
        for _ in range(n):
            opt.zero_grad()
            if name == "CoordinateDescent":
                opt.step(closure)
            else:
                closure().backward()
                opt.step()

    p_full, o_full = fresh()
    steps(o_full, p_full, 6)
    p_a, o_a = fresh()
    steps(o_a, p_a, 3)
    sd = o_a.state_dict()
    saved = [p._data.copy() for p in p_a]
    steps(o_a, p_a, 2)                          # the saved dict is a snapshot, not a view
    p_b, o_b = fresh()
    for p, v in zip(p_b, saved):
        p._data[...] = v
    o_b.load_state_dict(sd)
    steps(o_b, p_b, 3)
    for a, b in zip(p_b, p_full):
        np.testing.assert_allclose(a._data, b._data, rtol=1e-12)
    assert o_b.param_groups[1]["lr"] == 0.2 and o_b.param_groups[1]["params"][0] is p_b[1]


def test_load_torch_state_dict_continues_like_torch():
    torch = pytest.importorskip("torch")
    mine, theirs = make_params(cr), make_params(torch)
    b = torch.optim.Adam(groups(theirs, 0.1), lr=0.05, amsgrad=True)
    run(torch, b, theirs, 3)
    a = optim.Adam(groups(mine, 0.1), lr=0.05, amsgrad=True)
    for p, q in zip(mine, theirs):
        p._data[...] = q.detach().numpy()
    a.load_state_dict(b.state_dict())
    got, want = run(cr, a, mine, 3), run(torch, b, theirs, 3)
    np.testing.assert_allclose(got[-1][0], want[-1][0], rtol=1e-7)


@pytest.mark.parametrize("name", ["SGD", "Adagrad", "RMSprop", "Adam", "AdamW"])
def test_float32_stays_float32(name):
    extra = {"SGD": dict(momentum=0.9, nesterov=True, weight_decay=0.1),
             "RMSprop": dict(centered=True, momentum=0.9, weight_decay=0.1),
             "Adam": dict(amsgrad=True, weight_decay=0.1)}.get(name, dict(weight_decay=0.1))
    params = make_params(cr, np.float32)
    opt = getattr(optim, name)(groups(params, 0.1), lr=np.float64(0.01), **extra)
    data = (cr.tensor(X.astype(np.float32)), cr.tensor(Y.astype(np.float32)))
    for _ in range(3):
        opt.zero_grad()
        loss_fn(*data, params[0], params[1]).backward()
        opt.step()
    assert all(p.dtype == np.float32 for p in params)
    bufs = [v for s in opt.state.values() for v in s.values() if isinstance(v, cr.Tensor)]
    assert bufs and all(v.dtype == np.float32 for v in bufs)


def test_zero_grad():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    (w * w).sum().backward()
    g = w.grad
    opt.zero_grad(set_to_none=False)
    assert w.grad is g and w.grad.tolist() == [0.0, 0.0]
    (w * w).sum().backward()
    assert w.grad.tolist() == [2.0, 4.0]
    opt.zero_grad()
    assert w.grad is None


def test_closure_is_evaluated_with_grad_and_returned():
    w = cr.tensor([3.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.25)
    calls = []

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        calls.append(loss.item())
        return loss

    with cr.no_grad():
        loss = opt.step(closure)
    assert calls == [9.0] and loss.item() == 9.0
    assert w.tolist() == [3.0 - 0.25 * 6.0]


def test_sgd_closed_form_without_torch():
    # momentum 0.5, dampening 0: b1 = g1, b2 = 0.5 b1 + g2; f = w², g = 2w
    w = cr.tensor([1.0], dtype=cr.float64, requires_grad=True)
    opt = optim.SGD([w], lr=0.1, momentum=0.5)
    for _ in range(2):
        opt.zero_grad()
        (w * w).sum().backward()
        opt.step()
    w1 = 1.0 - 0.1 * 2.0
    assert w.item() == pytest.approx(w1 - 0.1 * (0.5 * 2.0 + 2 * w1), rel=1e-15)
    assert w._version >= 2


def test_adam_first_step_is_lr_times_sign():
    w = cr.tensor([2.0, -3.0, 0.5], dtype=cr.float64, requires_grad=True)
    opt = optim.Adam([w], lr=0.01, eps=0.0)
    (w * w).sum().backward()
    opt.step()
    np.testing.assert_allclose(w._data, [1.99, -2.99, 0.49], rtol=1e-14)
    assert opt.state[w]["step"] == 1


def test_add_param_group_and_defaults():
    a, b = (cr.tensor([1.0], requires_grad=True) for _ in range(2))
    opt = optim.Adam([a], lr=0.1)
    opt.add_param_group({"params": b, "betas": (0.5, 0.6)})
    g = opt.param_groups[1]
    assert g["params"] == [b] and g["lr"] == 0.1 and g["betas"] == (0.5, 0.6)
    assert "Parameter Group 1" in repr(opt)


def test_sgd_step_creates_no_tensors_and_is_fast(monkeypatch):
    params = [cr.tensor(RNG.normal(size=s), requires_grad=True)
              for s in [(64, 32), (32,), (32, 16), (16,), (16, 4), (4,)]]
    for p in params:
        p.grad = cr.tensor(np.ones(p.shape))
    opt = optim.SGD(params, lr=0.01, momentum=0.9)
    opt.step()                                  # creates the momentum buffers
    made = []
    monkeypatch.setattr(optimizer_module, "_new", lambda *a: made.append(a))
    opt.step()
    assert made == []
    best = min(_time(opt.step, 200) for _ in range(5))
    assert best < 12e-6 * len(params) * 10, f"SGD step took {best * 1e6:.1f} us"


def _time(fn, n):
    t = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t) / n


BAD = [
    (lambda p: optim.SGD(p, lr=-0.1), ValueError, "Invalid learning rate"),
    (lambda p: optim.SGD(p, momentum=-0.5), ValueError, "momentum"),
    (lambda p: optim.SGD(p, weight_decay=-1), ValueError, "weight_decay"),
    (lambda p: optim.SGD(p, nesterov=True), ValueError, "Nesterov"),
    (lambda p: optim.SGD(p, momentum=0.9, dampening=0.1, nesterov=True), ValueError, "Nesterov"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.999)), ValueError, "beta parameter at index 0"),
    (lambda p: optim.AdamW(p, betas=(0.9, -0.1)), ValueError, "beta parameter at index 1"),
    (lambda p: optim.Adam(p, eps=-1e-8), ValueError, "eps"),
    (lambda p: optim.Adagrad(p, lr_decay=-1), ValueError, "lr_decay"),
    (lambda p: optim.RMSprop(p, alpha=-0.5), ValueError, "alpha"),
    (lambda p: optim.SGD(p[0], lr=0.1), TypeError, "single Tensor"),
    (lambda p: optim.SGD([], lr=0.1), ValueError, "empty parameter list"),
    (lambda p: optim.SGD([p[0], np.ones(2)], lr=0.1), TypeError, "can only optimize Tensors"),
    (lambda p: optim.SGD([p[0] * 2], lr=0.1), ValueError, "non-leaf"),
    (lambda p: optim.SGD([{"params": p}, {"params": [p[0]]}], lr=0.1), ValueError,
     "more than one parameter group"),
    (lambda p: optim.SGD([{"params": {p[0]}}], lr=0.1), TypeError, "ordered collection"),
    (lambda p: optim.CoordinateDescent(p, step_size=0), ValueError, "step_size"),
    (lambda p: optim.CoordinateDescent(p, shrink=1.5), ValueError, "shrink"),
    (lambda p: optim.CoordinateDescent(p, order="zigzag"), ValueError, "order"),
    (lambda p: optim.CoordinateDescent(p).step(), RuntimeError, "closure"),
    (lambda p: optim.CoordinateDescent(p).step(lambda: p[0].sum(), coordinate=4), IndexError,
     "4 coordinates"),
]


@pytest.mark.parametrize("make,exc,match", BAD)
def test_bad_arguments(make, exc, match):
    params = [cr.tensor([1.0, 2.0], requires_grad=True), cr.tensor([3.0, 4.0], requires_grad=True)]
    with pytest.raises(exc, match=match):
        make(params)


def test_load_state_dict_checks_group_sizes():
    a, b = cr.tensor([1.0], requires_grad=True), cr.tensor([2.0], requires_grad=True)
    sd = optim.SGD([a, b], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="doesn't match the size.*2 parameters"):
        optim.SGD([a], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="2 parameter groups but the optimizer has 1"):
        optim.SGD([a], lr=0.1).load_state_dict(
            optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1).state_dict())


# ----------------------------------------------------------------------- coordinate descent
def test_coordinate_descent_lecture_example():
    # deck 002: y = w0 + w1 x1 + w2 x2 at x ~ (3, 2), t = 1; adjusting w1 by 0.1 gives 0.6
    w = cr.tensor([-1.0, 0.5, 0.1], dtype=cr.float64)
    x, t = cr.tensor([1.0, 3.0, 2.0], dtype=cr.float64), 1.0
    opt = optim.CoordinateDescent([w], step_size=0.1)
    loss = opt.step(lambda: (x @ w - t) ** 2, coordinate=1)
    assert loss.item() == pytest.approx(0.09)
    np.testing.assert_allclose(w._data, [-1.0, 0.6, 0.1], rtol=1e-15)
    assert ((x @ w - t) ** 2).item() == pytest.approx(0.0, abs=1e-24)


def test_coordinate_descent_reduces_a_quadratic_monotonically():
    c = cr.tensor([1.0, -2.0, 0.5, 3.0], dtype=cr.float64)
    w = cr.zeros(4, dtype=cr.float64)
    scale = cr.tensor([1.0, 2.0, 3.0, 0.5], dtype=cr.float64)
    f = lambda: ((w - c) ** 2 * scale).sum()                                # noqa: E731
    opt = optim.CoordinateDescent([w], step_size=0.5, generator=cr.Generator().manual_seed(0))
    losses = [opt.step(f).item() for _ in range(300)]
    assert all(b <= a for a, b in zip(losses, losses[1:]))
    assert f().item() < 1e-6 < losses[0]


def test_coordinate_descent_solves_least_squares_and_is_reproducible():
    A = RNG.normal(size=(20, 3))
    t = A @ np.array([0.5, -1.0, 2.0]) + 0.1 * RNG.normal(size=20)
    Xt, tt = cr.tensor(A), cr.tensor(t)

    def solve(seed, dtype):
        w, b = cr.zeros(3, dtype=dtype), cr.zeros(1, dtype=dtype)
        X_, t_ = Xt.to(dtype), tt.to(dtype)
        opt = optim.CoordinateDescent([w, b], step_size=0.5,
                                      generator=cr.Generator().manual_seed(seed))
        for _ in range(600):
            opt.step(lambda: ((X_ @ w + b - t_) ** 2).mean())
        return np.concatenate([w._data, b._data])

    ref = np.linalg.lstsq(np.hstack([A, np.ones((20, 1))]), t, rcond=None)[0]
    got = solve(1, cr.float64)
    np.testing.assert_allclose(got, ref, atol=1e-3)
    np.testing.assert_array_equal(got, solve(1, cr.float64))
    assert solve(1, cr.float32).dtype == np.float32
