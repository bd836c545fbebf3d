"""The autograd engine: user-defined Functions, to second order, and gradcheck's report."""
from __future__ import annotations

import pytest
from _helpers import assert_close, leaf

import chainrule as cr


# ---------------------------------------------------------------------------------------------
# user-defined Functions
# ---------------------------------------------------------------------------------------------
class Cube(cr.autograd.Function):
    seen = {}

    @staticmethod
    def forward(ctx, x, scale):
        Cube.seen["needs"] = ctx.needs_input_grad
        assert not cr.is_grad_enabled()
        ctx.save_for_backward(x)
        ctx.scale = scale
        return scale * x ** 3

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return 3 * ctx.scale * x ** 2 * g, None


class WrongCube(Cube):
    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return 2 * ctx.scale * x * g, None    # deliberately wrong


def test_user_function_forward_backward():
    x = leaf([1.0, -2.0])
    y = Cube.apply(x, 2.0)
    assert Cube.seen["needs"] == (True, False)
    assert y.requires_grad and y.grad_fn is not None
    assert_close(y, [2.0, -16.0])
    y.sum().backward()
    assert_close(x.grad, [6.0, 24.0])
    with cr.no_grad():
        assert not Cube.apply(x, 2.0).requires_grad
    assert not Cube.apply(cr.tensor([1.0]), 1.0).requires_grad


def test_user_function_gradcheck_and_second_order():
    x = leaf([0.3, -1.2, 2.0])
    assert cr.autograd.gradcheck(lambda t: Cube.apply(t, 1.5), (x,))
    g, = cr.grad(Cube.apply(x, 1.0).sum(), x, create_graph=True)
    h, = cr.grad(g.sum(), x)
    assert_close(h, 6 * x.detach().numpy())


def test_gradcheck_reports_input_element_numeric_and_analytic():
    x = leaf([0.5, 2.0])
    with pytest.raises(cr.autograd.GradcheckError) as info:
        cr.autograd.gradcheck(lambda t: WrongCube.apply(t, 1.0), (x,), names=["x"])
    msg = str(info.value)
    numeric, analytic = 3 * 0.5 ** 2, 2 * 0.5
    assert "x" in msg and "(0,)" in msg
    assert f"numeric {numeric:.6g}" in msg, msg
    assert f"analytic {analytic:.6g}" in msg, msg
    assert cr.autograd.gradcheck(lambda t: WrongCube.apply(t, 1.0), (x,),
                                 raise_exception=False) is False
    with pytest.raises(cr.autograd.GradcheckError, match="input 0"):
        cr.autograd.gradcheck(lambda t: WrongCube.apply(t, 1.0), (x,))


def test_gradcheck_fails_on_nan_gradient():
    class NanGrad(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * float("nan")

    with pytest.raises(cr.autograd.GradcheckError):
        cr.autograd.gradcheck(NanGrad.apply, (leaf([1.0]),))


def test_saved_tensor_modified_in_place_is_detected():
    x = leaf([1.0, 2.0])
    a = x * 1
    y = Cube.apply(a, 1.0)
    with cr.no_grad():
        a.add_(1.0)
    with pytest.raises(RuntimeError, match="inplace operation"):
        y.sum().backward()
