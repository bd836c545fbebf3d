"""The autograd engine: accumulation, deep graphs, freeing, grad modes, higher order, hooks."""
from __future__ import annotations

import gc
import math
import weakref

import numpy as np
import pytest
from _helpers import assert_close, leaf, live_tensors

import chainrule as cr

F64 = cr.float64



# ---------------------------------------------------------------------------------------------
# accumulation and depth
# ---------------------------------------------------------------------------------------------
def test_tensor_used_several_times_accumulates():
    x = leaf([0.5, -1.0, 2.0])
    y = (x * x + 3 * x + x.exp() + x[[0, 0]].sum()).sum()
    y.backward()
    xd = x.detach().numpy()
    assert_close(x.grad, 2 * xd + 3 + np.exp(xd) + np.array([6.0, 0.0, 0.0]))  # 3 x broadcast


def test_grad_accumulates_across_backward_calls_and_sees_zero_grad():
    x = leaf([1.0, 2.0])
    (x * x).sum().backward()
    (x * 3).sum().backward()
    assert_close(x.grad, [2 + 3, 4 + 3])
    x.grad = None
    (x * 3).sum().backward()
    assert_close(x.grad, [3, 3])


def test_grad_of_leaf_does_not_alias_upstream_buffers():
    x = leaf([1.0, 2.0])
    y = x * 1.0
    y.backward(cr.tensor([1.0, 1.0], dtype=F64))
    x.grad._data += 5            # must not change anything the graph or the seed still holds
    z = leaf([1.0, 2.0])
    (z + 0).backward(cr.tensor([1.0, 1.0], dtype=F64))
    assert_close(z.grad, [1, 1])


def test_chain_of_100000_ops_has_no_recursion_limit():
    x = leaf(1.0)
    y = x
    for _ in range(100_000):
        y = y * 1.00001
    y.backward()
    assert_close(x.grad, 1.00001 ** 100_000, rtol=1e-9)
    assert abs(x.grad.item() - math.e) < 1e-4


def test_wide_graph_diamonds():
    x = leaf([0.3])
    ys = [x * float(i) for i in range(200)]
    total = ys[0]
    for y in ys[1:]:
        total = total + y
    total.sum().backward()
    assert_close(x.grad, [sum(range(200))])


# ---------------------------------------------------------------------------------------------
# the graph is freed after backward
# ---------------------------------------------------------------------------------------------
def test_graph_and_saved_arrays_are_freed_after_backward():
    x = leaf(np.linspace(-1, 1, 6))
    h = x.exp()                         # Exp saves its output
    saved = weakref.ref(h._node._y[0])
    node_ref = weakref.ref(h._node)
    y = (h * 2).sum()
    mul_node = y._node.inputs[0]._node
    h_ref = weakref.ref(h)
    del h
    assert h_ref() is not None          # still held by the graph
    y.backward()
    assert mul_node.inputs is None      # the Mul node let go of its inputs
    assert h_ref() is None and saved() is None and node_ref() is None


def test_memory_is_flat_over_10000_training_steps():
    rng = np.random.default_rng(0)
    X = cr.tensor(rng.standard_normal((8, 3)))
    T = cr.tensor(rng.standard_normal((8, 1)))
    W = cr.tensor(rng.standard_normal((3, 1)) * 0.1, requires_grad=True)
    b = cr.zeros(1, requires_grad=True)

    def step():
        loss = ((X @ W + b - T) ** 2).mean()
        loss.backward()
        with cr.no_grad():
            W.sub_(0.01 * W.grad)
            b.sub_(0.01 * b.grad)
        W.grad = b.grad = None
        return loss

    for _ in range(50):
        step()
    before = live_tensors()
    first = step().item()
    for _ in range(10_000):
        last = step()
    del last
    after = live_tensors()
    assert after <= before, f"live tensors grew from {before} to {after}"
    assert step().item() < first


# ---------------------------------------------------------------------------------------------
# grad modes
# ---------------------------------------------------------------------------------------------
def test_no_grad_enable_grad_and_set_grad_enabled():
    x = leaf([1.0])
    with cr.no_grad():
        assert not cr.is_grad_enabled()
        y = x * 2
        with cr.enable_grad():
            z = x * 2
        assert not cr.is_grad_enabled()
    assert cr.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad
    with cr.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad
    cr.set_grad_enabled(False)          # as a plain call, like torch
    assert not (x * 2).requires_grad
    cr.set_grad_enabled(True)
    assert (x * 2).requires_grad


def test_grad_modes_as_decorators():
    x = leaf([1.0])

    @cr.no_grad()
    def f():
        return x * 2

    @cr.enable_grad()
    def g():
        return x * 2

    @cr.set_grad_enabled(False)
    def h():
        return x * 2

    assert cr.is_grad_enabled()         # decorating must not flip the global mode
    assert not f().requires_grad and not h().requires_grad
    with cr.no_grad():
        assert g().requires_grad
    assert cr.is_grad_enabled()


def test_no_grad_restores_mode_after_exception():
    with pytest.raises(ZeroDivisionError):
        with cr.no_grad():
            1 / 0
    assert cr.is_grad_enabled()


# ---------------------------------------------------------------------------------------------
# higher order
# ---------------------------------------------------------------------------------------------
X0 = np.array([-1.3, -0.2, 0.4, 1.7])
SECOND = [
    ("tanh", cr.tanh, lambda x: -2 * np.tanh(x) * (1 - np.tanh(x) ** 2)),
    ("sigmoid", cr.sigmoid,
     lambda x: (s := 1 / (1 + np.exp(-x))) * (1 - s) * (1 - 2 * s)),
    ("exp", cr.exp, np.exp),
    ("cube", lambda t: t ** 3, lambda x: 6 * x),
    ("log", cr.log, lambda x: -1 / x ** 2),
]


@pytest.mark.parametrize("name,fn,d2", SECOND, ids=[s[0] for s in SECOND])
@pytest.mark.parametrize("api", ["cr.grad", "cr.autograd.grad"])
def test_second_derivatives_match_closed_forms(name, fn, d2, api):
    grad = cr.grad if api == "cr.grad" else cr.autograd.grad
    x0 = np.abs(X0) if name == "log" else X0
    x = leaf(x0)
    g, = grad(fn(x).sum(), x, create_graph=True)
    assert g.requires_grad
    h, = grad(g.sum(), x)
    assert_close(h, d2(x0), rtol=1e-12)


def test_third_derivative_of_cube():
    x = leaf([2.0])
    g1, = cr.grad((x ** 3).sum(), x, create_graph=True)
    g2, = cr.grad(g1.sum(), x, create_graph=True)
    g3, = cr.grad(g2.sum(), x)
    assert_close(g1, [12.0])
    assert_close(g2, [12.0])
    assert_close(g3, [6.0])


def test_hessian_vector_product_matches_explicit_hessian():
    rng = np.random.default_rng(3)
    A, x0, v = rng.standard_normal((4, 4)), rng.standard_normal(4), rng.standard_normal(4)
    At = cr.tensor(A)
    x = leaf(x0)

    def f(x):
        return x @ At @ x + (x ** 3).sum() + cr.sigmoid(x).sum()

    s = 1 / (1 + np.exp(-x0))
    H = A + A.T + np.diag(6 * x0 + s * (1 - s) * (1 - 2 * s))
    g, = cr.grad(f(x), x, create_graph=True)
    hv, = cr.grad(g, x, grad_outputs=cr.tensor(v), retain_graph=True)
    assert_close(hv, H @ v, rtol=1e-12)
    rows = [cr.grad(g[i], x, retain_graph=True)[0].numpy() for i in range(4)]
    assert_close(np.stack(rows), H, rtol=1e-12)


def test_backward_create_graph_gives_differentiable_grad():
    x = leaf([1.5])
    (x ** 4).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    gg, = cr.grad(x.grad.sum(), x)
    assert_close(gg, [12 * 1.5 ** 2])


def test_grad_with_respect_to_an_intermediate():
    x = leaf([1.0, 2.0])
    h = x * 3
    gh, gx = cr.autograd.grad((h * h).sum(), [h, x])
    assert_close(gh, [6.0, 12.0])
    assert_close(gx, [18.0, 36.0])
    assert x.grad is None and h.grad is None


def test_grad_does_not_touch_dot_grad_and_allow_unused():
    x, z = leaf([1.0, 2.0]), leaf([3.0])
    g, = cr.grad((x * x).sum(), x)
    assert x.grad is None
    assert_close(g, [2.0, 4.0])
    with pytest.raises(RuntimeError, match="not used"):
        cr.grad((x * 2).sum(), [x, z])
    gx, gz = cr.grad((x * 2).sum(), [x, z], allow_unused=True)
    assert gz is None and gx is not None


# ---------------------------------------------------------------------------------------------
# hooks and retain_grad
# ---------------------------------------------------------------------------------------------
def test_register_hook_changes_gradient_and_remove():
    x = leaf([1.0, 2.0])
    seen = []
    h = x.register_hook(lambda g: seen.append(g.numpy().copy()) or g * 10)
    (x * x).sum().backward()
    assert_close(x.grad, [20.0, 40.0])
    assert_close(seen[0], [2.0, 4.0])
    h.remove()
    x.grad = None
    (x * x).sum().backward()
    assert_close(x.grad, [2.0, 4.0])
    assert len(seen) == 1


def test_hook_on_intermediate_and_retain_grad():
    x = leaf([1.0, 2.0])
    m = x * 3
    m.retain_grad()
    m.register_hook(lambda g: g * 2)
    u = x * 4               # not retained: .grad stays None, as in torch
    (m * m + u).sum().backward()
    assert_close(m.grad, 2 * 2 * np.array([3.0, 6.0]))
    assert u.grad is None
    assert_close(x.grad, 3 * 2 * 2 * np.array([3.0, 6.0]) + 4)


def test_hook_needs_requires_grad():
    with pytest.raises(RuntimeError, match="doesn't require"):
        cr.tensor([1.0]).register_hook(lambda g: g)


def test_detached_tensor_is_outside_graph():
    x = leaf([1.0])
    d = (x * 2).detach()
    assert not d.requires_grad and d.grad_fn is None
    gc.collect()


def test_zero_dim_gradients_are_arrays_everywhere():
    x = leaf(2.0)
    m = x * x
    m.retain_grad()
    seen = []
    m.register_hook(lambda g: seen.append(type(g.numpy())))
    (m * 3).backward()
    assert seen == [np.ndarray]
    assert type(m.grad.numpy()) is np.ndarray and type(x.grad.numpy()) is np.ndarray
    assert type((x.detach() * x.detach()).numpy()) is np.ndarray
    assert_close(x.grad, 12.0)
