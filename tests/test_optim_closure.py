"""cr.optim's closure optimizers: LBFGS against PyTorch, and the lecture's coordinate descent."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import optim

RNG = np.random.default_rng(1)
A = RNG.normal(size=(12, 3))
T = RNG.normal(size=(12, 2))
W0 = RNG.normal(size=(3, 2))
B0 = RNG.normal(size=(2,))


def _fit(lib, kwargs, steps, dtype=np.float64):
    """LBFGS on a small tanh regression with two parameters; returns (losses, params, opt)."""
    if lib is cr:
        w, b = (cr.tensor(v.astype(dtype), requires_grad=True) for v in (W0, B0))
        x, t = cr.tensor(A.astype(dtype)), cr.tensor(T.astype(dtype))
    else:
        w, b = (lib.tensor(v, requires_grad=True) for v in (W0, B0))
        x, t = lib.tensor(A), lib.tensor(T)
    opt = lib.optim.LBFGS([w, b], **kwargs)

    def closure():
        opt.zero_grad()
        loss = (((x @ w + b).tanh() - t) ** 2).mean() + (w * w).sum() * 0.01
        loss.backward()
        return loss

    losses = [float(opt.step(closure).detach()) for _ in range(steps)]
    return losses, [np.array(p.detach().numpy()) for p in (w, b)], opt


LBFGS_CASES = [
    dict(),
    dict(lr=0.5, max_iter=5, history_size=3),
    dict(line_search_fn="strong_wolfe"),
    dict(line_search_fn="strong_wolfe", max_iter=4, history_size=2, max_eval=6),
    dict(lr=0.8, max_iter=3, tolerance_change=1e-5, line_search_fn="strong_wolfe"),
]


@pytest.mark.parametrize("kwargs", LBFGS_CASES)
def test_lbfgs_matches_torch(kwargs):
    torch = pytest.importorskip("torch")
    got_l, got_p, a = _fit(cr, kwargs, 4)
    want_l, want_p, b = _fit(torch, kwargs, 4)
    np.testing.assert_allclose(got_l, want_l, rtol=1e-7)
    for x, y in zip(got_p, want_p):
        np.testing.assert_allclose(x, y, rtol=1e-7, atol=1e-12)
    sa, sb = a.state_dict(), b.state_dict()
    assert sa["param_groups"] == sb["param_groups"]
    assert set(sa["state"][0]) == set(sb["state"][0])
    assert sa["state"][0]["func_evals"] == sb["state"][0]["func_evals"]
    assert sa["state"][0]["n_iter"] == sb["state"][0]["n_iter"]
    assert got_l[-1] < 0.6 * got_l[0]


def test_lbfgs_float32_stays_float32():
    _, params, opt = _fit(cr, dict(line_search_fn="strong_wolfe"), 2, np.float32)
    assert all(p.dtype == np.float32 for p in params)
    st = opt.state[opt.param_groups[0]["params"][0]]
    assert st["d"].dtype == np.float32 and st["prev_flat_grad"].dtype == np.float32


def test_lbfgs_state_dict_round_trip_continues_identically():
    _, full, _ = _fit(cr, dict(history_size=4, max_iter=3), 5)
    _, _, a = _fit(cr, dict(history_size=4, max_iter=3), 2)
    sd = a.state_dict()
    params = [p._data.copy() for p in a.param_groups[0]["params"]]
    w, b = (cr.tensor(v, requires_grad=True) for v in params)
    x, t = cr.tensor(A), cr.tensor(T)
    opt = optim.LBFGS([w, b], history_size=4, max_iter=3)
    opt.load_state_dict(sd)

    def closure():
        opt.zero_grad()
        loss = (((x @ w + b).tanh() - t) ** 2).mean() + (w * w).sum() * 0.01
        loss.backward()
        return loss

    for _ in range(3):
        opt.step(closure)
    np.testing.assert_array_equal(w._data, full[0])
    np.testing.assert_array_equal(b._data, full[1])


@pytest.mark.parametrize("kwargs", LBFGS_CASES[1:4])
def test_lbfgs_loads_a_torch_state_dict_and_continues_like_torch(kwargs):
    torch = pytest.importorskip("torch")
    _, want, b = _fit(torch, kwargs, 4)
    _, _, b2 = _fit(torch, kwargs, 2)               # torch after 2 steps: its state and params
    w, bias = (cr.tensor(p.detach().numpy().copy(), requires_grad=True)
               for p in b2.param_groups[0]["params"])
    x, t = cr.tensor(A), cr.tensor(T)
    opt = optim.LBFGS([w, bias], **kwargs)
    opt.load_state_dict(b2.state_dict())

    def closure():
        opt.zero_grad()
        loss = (((x @ w + bias).tanh() - t) ** 2).mean() + (w * w).sum() * 0.01
        loss.backward()
        return loss

    for _ in range(2):
        opt.step(closure)
    np.testing.assert_allclose(w._data, want[0], rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(bias._data, want[1], rtol=1e-7, atol=1e-12)


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
