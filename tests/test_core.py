"""The core's promises (issue 12): autograd is never silent, custom Functions work to second
order, modes are per thread, gradients are new tensors."""
from __future__ import annotations

import threading
import weakref

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from chainrule.autograd import Function, GradcheckError, gradcheck, gradgradcheck

INPLACE = "one of the variables needed for gradient computation has been modified by an inplace"


def leaf(v, dtype=cr.float64):
    return cr.tensor(v, dtype=dtype, requires_grad=True)


# -- a value changed in place after a backward saved it: an error, never a missing gradient ----
@pytest.mark.parametrize("make", [
    lambda x: x.sigmoid(), lambda x: x.tanh(), lambda x: x.exp(), lambda x: x.relu(),
    lambda x: x * 1, lambda x: x.sinh(),
], ids=["sigmoid", "tanh", "exp", "relu", "mul1", "sinh"])
def test_in_place_change_of_a_value_a_later_op_kept_raises(make):
    x = leaf([1.0, 2.0])
    a = make(x)
    b = a * 2                 # Mul keeps a
    a.mul_(0)
    with pytest.raises(RuntimeError, match=INPLACE):
        b.sum().backward()
    assert x.grad is None


def test_add_then_in_place_add_keeps_the_right_gradient_or_raises():
    x = leaf([1.0, 2.0])
    a = x + 0
    b = a * a                 # keeps a
    a.add_(1.0)
    with pytest.raises(RuntimeError, match=INPLACE):
        b.sum().backward()


def test_in_place_change_through_linear_layers_raises():
    cr.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2)).double()
    x = cr.randn(5, 3, dtype=cr.float64)
    h = net[0](x)
    out = net[1](h)           # Linear keeps its input h
    with cr.no_grad():
        h.mul_(2)
    with pytest.raises(RuntimeError, match=INPLACE):
        out.sum().backward()


def test_in_place_change_through_a_view_is_seen():
    x = leaf([1.0, 2.0, 3.0])
    a = x.exp()
    b = a * a
    v = a[0:2]                # a view shares a's version counter
    with cr.no_grad():
        v.mul_(0)
    with pytest.raises(RuntimeError, match=INPLACE):
        b.sum().backward()


def test_in_place_on_a_view_of_a_graph_tensor_refuses():
    x = leaf([1.0, 2.0, 3.0])
    a = x * 2
    with pytest.raises(RuntimeError, match="view"):
        a[0:2].mul_(3)


def test_in_place_ops_on_non_leaves_match_torch():
    torch = pytest.importorskip("torch")
    v = [0.5, -1.5, 2.0]
    res = []
    for m in (cr, torch):
        x = m.tensor(v, dtype=m.float64, requires_grad=True)
        y = x * 3
        y += 1
        y *= x
        y.add_(1.0)
        y[1] = x[0] * 4
        y.sum().backward()
        res.append(x.grad.detach().numpy() if m is torch else x.grad.numpy())
    np.testing.assert_allclose(res[0], res[1], rtol=1e-12)


def test_a_non_leaf_used_before_an_in_place_change_refuses_rather_than_misroutes():
    # PyTorch keeps z's history (its graph edges point at nodes); chainrule's edges point at
    # tensors, and the in-place op rebased y, so it refuses instead of giving a wrong gradient
    x = leaf([1.0, 2.0])
    y = x * 3
    z = y * 2
    y += 1
    with pytest.raises(RuntimeError, match=INPLACE):
        (y + z).sum().backward()


# -- custom Functions: saved outputs and inputs to second order, several outputs ---------------
class Exp(Function):          # PyTorch's double-backward tutorial
    @staticmethod
    def forward(ctx, x):
        y = x.exp()
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        y, = ctx.saved_tensors
        return g * y


class Cube(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * 3 * x ** 2


@pytest.mark.parametrize("fn", [Exp, Cube])
def test_function_double_backward_equals_torch(fn):
    torch = pytest.importorskip("torch")
    x = leaf([0.3, -0.7, 1.1])
    assert gradcheck(fn.apply, (x,))
    assert gradgradcheck(fn.apply, (x,))
    g, = cr.grad(fn.apply(x).sum(), x, create_graph=True)
    gg, = cr.grad(g.sum(), x)
    xt = torch.tensor([0.3, -0.7, 1.1], dtype=torch.float64, requires_grad=True)
    yt = xt.exp() if fn is Exp else xt ** 3
    gt, = torch.autograd.grad(yt.sum(), xt, create_graph=True)
    ggt, = torch.autograd.grad(gt.sum(), xt)
    np.testing.assert_allclose(g.detach().numpy(), gt.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(gg.numpy(), ggt.numpy(), rtol=1e-12)


class SortWithIndex(Function):
    @staticmethod
    def forward(ctx, x):
        idx = np.argsort(x.detach().numpy(), kind="stable")
        ctx.idx = idx
        i = cr.tensor(idx)
        ctx.mark_non_differentiable(i)
        return x[idx], i

    @staticmethod
    def backward(ctx, g, gi):
        assert gi is not None          # materialized: zeros for the index output
        out = cr.zeros(g.shape, dtype=g.dtype)
        out[ctx.idx] = g
        return out


def test_function_with_several_outputs_and_a_non_differentiable_one():
    x = leaf([3.0, 1.0, 2.0])
    values, idx = SortWithIndex.apply(x)
    assert values.requires_grad and not idx.requires_grad
    (values * cr.tensor([1.0, 10.0, 100.0], dtype=cr.float64)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [100.0, 1.0, 10.0])


class TwoOut(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.set_materialize_grads(False)
        return x * 2, x * 3

    @staticmethod
    def backward(ctx, ga, gb):
        assert gb is None              # not materialized: only the first output was used
        return ga * 2


def test_set_materialize_grads_false_passes_none():
    x = leaf([1.0, 2.0])
    a, b = TwoOut.apply(x)
    a.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])


class NumpyCube(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return cr.tensor(x.detach().numpy() ** 3, dtype=x.dtype)

    @staticmethod
    @cr.autograd.once_differentiable
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return cr.tensor(3 * x.detach().numpy() ** 2 * g.numpy(), dtype=x.dtype)


def test_once_differentiable_first_order_works_second_order_raises():
    x = leaf([0.5, 2.0])
    assert gradcheck(NumpyCube.apply, (x,))
    g, = cr.grad(NumpyCube.apply(x).sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="once_differentiable"):
        g.sum().backward()


class NoGraphBackward(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return (g * 2 * x).detach()     # drops the graph: no second derivative


def test_gradgradcheck_fails_loudly_when_a_second_derivative_is_missing():
    x = leaf([0.5, 2.0])
    assert gradcheck(NoGraphBackward.apply, (x,))
    with pytest.raises(GradcheckError, match="second derivative is missing"):
        gradgradcheck(NoGraphBackward.apply, (x,))


def test_a_saved_tensor_changed_in_place_is_refused():
    x = leaf([1.0, 2.0])
    a = x * 1
    y = Exp.apply(a)
    with cr.no_grad():
        y.mul_(2)                     # the output Exp saved
    with pytest.raises(RuntimeError, match=INPLACE):
        y.sum().backward()


# -- modes are per thread ------------------------------------------------------------------------
def test_no_grad_in_another_thread_does_not_touch_this_one():
    entered, release, seen = threading.Event(), threading.Event(), []

    def worker():
        with cr.no_grad():
            seen.append(cr.is_grad_enabled())
            entered.set()
            release.wait(5)

    t = threading.Thread(target=worker)
    t.start()
    entered.wait(5)
    x = leaf([1.0])
    assert cr.is_grad_enabled() and (x * 2).requires_grad     # main thread unaffected
    release.set()
    t.join()
    assert seen == [False]


def test_anomaly_and_inference_modes_are_per_thread():
    out = {}

    def worker():
        out["anomaly"] = cr.autograd.is_anomaly_enabled()
        out["inference"] = cr.is_inference_mode_enabled()

    with cr.autograd.detect_anomaly(), cr.inference_mode():
        assert cr.autograd.is_anomaly_enabled() and cr.is_inference_mode_enabled()
        assert not (leaf([1.0]) * 2).requires_grad
        t = threading.Thread(target=worker)
        t.start()
        t.join()
    assert out == {"anomaly": False, "inference": False}


# -- gradients are new tensors after zero_grad(set_to_none=True), as in PyTorch ---------------------
def test_a_kept_gradient_never_changes_after_the_next_step():
    cr.manual_seed(0)
    model = nn.Linear(3, 2).double()
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    x, y = cr.randn(4, 3, dtype=cr.float64), cr.tensor([0, 1, 1, 0])
    kept = []
    for _ in range(3):
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        g = model.weight.grad
        kept.append((weakref.ref(g), g, g.numpy().copy()))
        opt.step()
    for ref, g, values in kept:
        np.testing.assert_array_equal(g.numpy(), values)
    assert kept[0][1] is not kept[1][1] is not kept[2][1]


def test_backward_twice_accumulates_into_the_same_gradient_tensor():
    x = leaf([1.0, 2.0])
    (x * x).sum().backward()
    g = x.grad
    (x * 3).sum().backward()
    assert x.grad is g
    np.testing.assert_array_equal(g.numpy(), [5.0, 7.0])
