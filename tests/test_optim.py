"""cr.optim against PyTorch (float64, 20 steps, every option), state_dict, foreach, dtypes."""
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
STEPS = 20


def loss_fn(x, y, w, b):
    """The same expression for chainrule and torch tensors."""
    return (((x @ w + b).tanh() - y) ** 2).mean() + (w * w).sum() * 0.05


def make_params(lib, dtype=np.float64):
    if lib is cr:
        return [cr.tensor(a.astype(dtype), requires_grad=True) for a in (W0, B0, U0)]
    return [lib.tensor(a, requires_grad=True) for a in (W0, B0, U0)]


def groups(params, lr2):
    w, b, u = params
    return [{"params": [w]}, {"params": [b, u], "lr": lr2}]


def data(lib, dtype=np.float64):
    return (cr.tensor(X.astype(dtype)), cr.tensor(Y.astype(dtype))) if lib is cr else \
        (lib.tensor(X), lib.tensor(Y))


def run(lib, opt, params, steps, dtype=np.float64):
    xy = data(lib, dtype)
    out = []
    for _ in range(steps):
        opt.zero_grad()
        loss_fn(*xy, params[0], params[1]).backward()
        opt.step()
        out.append([np.array(p.detach().numpy()) for p in params])
    return out


@pytest.fixture
def torch64():
    """torch with float64 as its default dtype, so that its scalar state (``step``, NAdam's
    ``mu_product``) is float64 too, as chainrule's Python floats are."""
    torch = pytest.importorskip("torch")
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield torch
    torch.set_default_dtype(old)


# (name, kwargs): every option of every optimizer, run against torch
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
    ("Adam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True)),
    ("AdamW", dict(lr=0.05)),
    ("AdamW", dict(lr=0.05, weight_decay=0.3, amsgrad=True)),
    ("AdamW", dict(lr=0.05, betas=(0.6, 0.9), maximize=True)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.5, eps=1e-4, weight_decay=0.1)),
    ("Adadelta", dict(rho=0.95, maximize=True)),
    ("Adamax", dict(lr=0.02)),
    ("Adamax", dict(lr=0.02, betas=(0.5, 0.8), eps=1e-3, weight_decay=0.1)),
    ("Adamax", dict(lr=0.02, maximize=True)),
    ("NAdam", dict(lr=0.02)),
    ("NAdam", dict(lr=0.02, betas=(0.6, 0.9), momentum_decay=0.05, weight_decay=0.1)),
    ("NAdam", dict(lr=0.02, weight_decay=0.2, decoupled_weight_decay=True, maximize=True)),
    ("RAdam", dict(lr=0.02)),                 # rho_t > 5 from step 6: both branches run
    ("RAdam", dict(lr=0.02, betas=(0.5, 0.7), weight_decay=0.1)),   # always the SGD branch
    ("RAdam", dict(lr=0.02, weight_decay=0.2, decoupled_weight_decay=True, maximize=True)),
]
FOREACH = [None, True, False]


@pytest.mark.parametrize("name,kwargs", CASES)
def test_trajectory_matches_torch(name, kwargs, torch64):
    lr2 = kwargs.get("lr", 1.0) * 3
    mine, theirs = make_params(cr), make_params(torch64)
    got = run(cr, getattr(optim, name)(groups(mine, lr2), **kwargs), mine, STEPS)
    want = run(torch64, getattr(torch64.optim, name)(groups(theirs, lr2), **kwargs), theirs,
               STEPS)
    for step, (g, w) in enumerate(zip(got, want)):
        for a, b in zip(g, w):
            np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-12, err_msg=f"step {step}")
    assert not np.array_equal(got[-1][0], W0)       # it moved
    np.testing.assert_array_equal(got[-1][2], U0)   # grad None: skipped


def flat_taken(opt):
    """True when some group's step ran over flat buffers."""
    return any(r is not None for r in opt.__dict__.get("_flat_records", {}).values())


@pytest.mark.parametrize("name,kwargs", CASES)
def test_foreach_true_and_false_are_bit_identical(name, kwargs):
    runs = []
    for foreach in FOREACH:
        params = make_params(cr)          # one group: w and b have gradients, u has none
        opt = getattr(optim, name)(params, foreach=foreach, **kwargs)
        runs.append((run(cr, opt, params, 8), opt))
    (ref, _), (flat, flat_opt), (loop, loop_opt) = runs
    assert flat_taken(flat_opt) and "_flat_records" not in loop_opt.__dict__
    for other in (ref, flat):
        for a, b in zip(other, loop):
            for x, y in zip(a, b):
                np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("name,kwargs", CASES)
def test_state_dict_keys_and_values_match_torch(name, kwargs, torch64):
    mine, theirs = make_params(cr), make_params(torch64)
    a = getattr(optim, name)(groups(mine, 0.5), **kwargs)
    b = getattr(torch64.optim, name)(groups(theirs, 0.5), **kwargs)
    run(cr, a, mine, 3)
    run(torch64, b, theirs, 3)
    sa, sb = a.state_dict(), b.state_dict()
    assert sorted(sa["state"]) == sorted(sb["state"])
    for k in sa["state"]:
        assert set(sa["state"][k]) == set(sb["state"][k])
        for key, v in sa["state"][k].items():
            np.testing.assert_allclose(np.asarray(v), np.asarray(sb["state"][k][key]),
                                       rtol=1e-7, err_msg=key)
    assert sa["param_groups"] == sb["param_groups"]     # every key, value and params index


def _as_arrays(sd):
    """A torch state_dict with every tensor converted to a NumPy array (0-d for ``step``)."""
    return {"state": {i: {k: v.numpy() if hasattr(v, "numpy") else v for k, v in s.items()}
                      for i, s in sd["state"].items()},
            "param_groups": sd["param_groups"]}


@pytest.mark.parametrize("arrays", [False, True])
@pytest.mark.parametrize("name,kwargs", CASES[1::2])
def test_load_torch_state_dict_continues_like_torch(name, kwargs, arrays, torch64):
    mine, theirs = make_params(cr), make_params(torch64)
    b = getattr(torch64.optim, name)(groups(theirs, 0.1), **kwargs)
    run(torch64, b, theirs, 3)
    a = getattr(optim, name)(groups(mine, 0.1), **kwargs)
    for p, q in zip(mine, theirs):
        p._data[...] = q.detach().numpy()
    a.load_state_dict(_as_arrays(b.state_dict()) if arrays else b.state_dict())
    got, want = run(cr, a, mine, 5), run(torch64, b, theirs, 5)
    for x, y in zip(got[-1], want[-1]):
        np.testing.assert_allclose(x, y, rtol=1e-7, atol=1e-12)


ROUND_TRIP = [(n, dict(k, foreach=f)) for n, k in CASES[1::3] for f in (True, False)] + [
    ("CoordinateDescent", dict(step_size=0.3, order="cyclic"))]


@pytest.mark.parametrize("name,kwargs", ROUND_TRIP)
def test_state_dict_round_trip(name, kwargs):
    def fresh():            # w and b share a group, so that foreach=True runs flat
        w, b, u = params = make_params(cr)
        return params, getattr(optim, name)([{"params": [w, b]}, {"params": [u], "lr": 0.2}],
                                            **kwargs)

    def steps(opt, params, n):
        xy = data(cr)
        closure = lambda: loss_fn(*xy, params[0], params[1])          # noqa: E731
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
        np.testing.assert_array_equal(a._data, b._data)
    assert o_b.param_groups[1]["lr"] == 0.2 and o_b.param_groups[1]["params"][0] is p_b[2]
    assert flat_taken(o_b) == (kwargs.get("foreach") is True)


NAMES = sorted({n for n, _ in CASES})


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("foreach", [True, False])
def test_float32_stays_float32(name, foreach):
    kwargs = max((k for n, k in CASES if n == name), key=len)      # the most options
    params = make_params(cr, np.float32)
    opt = getattr(optim, name)(params, foreach=foreach, **dict(kwargs, lr=np.float64(0.01)))
    run(cr, opt, params, 3, np.float32)
    assert flat_taken(opt) == foreach
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


@pytest.mark.parametrize("foreach", [True, False])
def test_a_kept_gradient_keeps_its_values(foreach):
    # as PyTorch: zero_grad() then backward makes a new gradient; the optimizer never writes
    # into a gradient, and its own buffers are never handed out
    params = make_params(cr)
    opt = optim.Adam(params, lr=0.1, weight_decay=0.1, maximize=True, foreach=foreach)
    kept = []
    for _ in range(4):
        opt.zero_grad()
        loss_fn(*data(cr), params[0], params[1]).backward()
        kept.append([(p.grad, p.grad._data.copy()) for p in params[:2]])
        opt.step()
    news = [g for step in kept for g, _ in step]
    assert len({id(g) for g in news}) == len(news)
    for g, values in (pair for step in kept for pair in step):
        np.testing.assert_array_equal(g._data, values)


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


@pytest.mark.parametrize("make", [lambda p: optim.SGD(p, lr=0.01, momentum=0.9),
                                  lambda p: optim.Adam(p, lr=0.01, foreach=False),
                                  lambda p: optim.Adam(p, lr=0.01, foreach=True)])
def test_a_step_creates_no_tensors(monkeypatch, make):
    params = [cr.tensor(RNG.normal(size=s), requires_grad=True)
              for s in [(64, 32), (32,), (32, 16), (16,), (16, 4), (4,)]]
    for p in params:
        p.grad = cr.tensor(np.ones(p.shape))
    opt = make(params)
    opt.step()                                  # creates the state buffers
    made = []
    monkeypatch.setattr(optimizer_module, "_new", lambda *a: made.append(a))
    opt.step()
    assert made == []


BAD = [
    (lambda p: optim.SGD(p, lr=-0.1), ValueError, "Invalid learning rate"),
    (lambda p: optim.SGD(p, momentum=-0.5), ValueError, "momentum"),
    (lambda p: optim.SGD(p, weight_decay=-1), ValueError, "weight_decay"),
    (lambda p: optim.SGD(p, nesterov=True), ValueError, "Nesterov"),
    (lambda p: optim.SGD(p, momentum=0.9, dampening=0.1, nesterov=True), ValueError, "Nesterov"),
    (lambda p: optim.SGD(p, differentiable=True), NotImplementedError, "differentiable"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.999)), ValueError, "beta parameter at index 0"),
    (lambda p: optim.AdamW(p, betas=(0.9, -0.1)), ValueError, "beta parameter at index 1"),
    (lambda p: optim.Adam(p, betas=(0.9,)), ValueError, "pair"),
    (lambda p: optim.Adam(p, eps=-1e-8), ValueError, "eps"),
    (lambda p: optim.Adagrad(p, lr_decay=-1), ValueError, "lr_decay"),
    (lambda p: optim.RMSprop(p, alpha=-0.5), ValueError, "alpha"),
    (lambda p: optim.Adadelta(p, rho=1.5), ValueError, "rho"),
    (lambda p: optim.Adamax(p, betas=(0.9, 1.0)), ValueError, "beta parameter at index 1"),
    (lambda p: optim.NAdam(p, momentum_decay=-1), ValueError, "momentum_decay"),
    (lambda p: optim.RAdam(p, weight_decay=-1), ValueError, "weight_decay"),
    (lambda p: optim.LBFGS(p, line_search_fn="armijo"), ValueError, "strong_wolfe"),
    (lambda p: optim.LBFGS([{"params": [p[0]]}, {"params": [p[1]]}]), ValueError, "groups"),
    (lambda p: optim.LBFGS(p).step(), RuntimeError, "closure"),
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
