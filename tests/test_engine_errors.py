"""The autograd engine's clear errors, and in-place updates and item assignment inside a graph."""
from __future__ import annotations

import numpy as np
import pytest
from _helpers import assert_close, leaf
from test_engine import F64

import chainrule as cr


# ---------------------------------------------------------------------------------------------
# clear errors
# ---------------------------------------------------------------------------------------------
def test_backward_on_non_scalar_needs_gradient():
    y = leaf([1.0, 2.0]) * 2
    with pytest.raises(RuntimeError, match=r"scalar.*\(2,\)"):
        y.backward()
    with pytest.raises(RuntimeError, match=r"\(3,\).*\(2,\)"):
        y.backward(cr.ones(3, dtype=F64))


def test_backward_without_grad_explains():
    with pytest.raises(RuntimeError, match="does not require grad"):
        cr.tensor([1.0]).sum().backward()


def test_second_backward_through_freed_graph():
    x = leaf([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        y.backward()
    z = (x.exp() * x).sum()
    x.grad = None
    z.backward(retain_graph=True)
    z.backward()
    xd = np.array([1.0, 2.0])
    assert_close(x.grad, 2 * (np.exp(xd) * (1 + xd)))


def test_in_place_change_of_a_saved_input_is_detected():
    x = leaf([1.0, 2.0])
    a = x * 2
    b = a * a
    a += 1
    with pytest.raises(RuntimeError, match=r"modified by an inplace operation.*version"):
        b.sum().backward()


def test_in_place_change_of_a_saved_output_is_detected():
    x = leaf([1.0, 2.0])
    y = x.exp()
    y.mul_(2)
    with pytest.raises(RuntimeError, match="inplace operation"):
        y.sum().backward()


def test_in_place_on_non_leaf_is_differentiated():
    x = leaf([1.0, 2.0])
    y = x * 3
    y += 1
    y *= x                # y = (3x + 1) x, d/dx = 6x + 1
    y.sum().backward()
    assert_close(x.grad, [7.0, 13.0])


def test_leaf_requiring_grad_modified_in_place_outside_no_grad():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="leaf.*in-place.*no_grad"):
        x += 1
    with pytest.raises(RuntimeError, match="leaf"):
        x.mul_(2)
    with cr.no_grad():
        x += 1
    assert_close(x, [2.0, 3.0])
    assert x._version > 0


# in-place updates and item assignment inside a graph, against PyTorch
def _setitem_one(m, x, w):
    y = x * 1
    y[0] = w[0]
    return y * x


def _setitem_slice(m, x, w):
    y = x * 1
    y[1:] = w
    return y * 2


def _setitem_mask(m, x, w):
    y = x * w[0]
    y[y > 2] = 0.0
    return y * x


def _inplace_chain(m, x, w):
    y = x.clone()
    y.mul_(w[:1])
    y.sub_(x, alpha=0.5)
    y.div_(2)
    y.pow_(2)
    y.clamp_(min=0.2)
    return -y


INPLACE = [_setitem_one, _setitem_slice, _setitem_mask, _inplace_chain]


@pytest.mark.parametrize("fn", INPLACE, ids=[f.__name__ for f in INPLACE])
def test_inplace_and_setitem_in_graph_match_torch(fn):
    torch = pytest.importorskip("torch")
    xs, ws = [1.0, 2.0, 3.0], [5.0, 0.5]
    x, w = leaf(xs), leaf(ws)
    tx, tw = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (xs, ws))
    y, ty = fn(cr, x, w), fn(torch, tx, tw)
    y.sum().backward()
    ty.sum().backward()
    assert_close(y, ty)
    assert_close(x.grad, tx.grad)
    assert_close(w.grad, tw.grad)
    assert cr.autograd.gradcheck(lambda a, b: fn(cr, a, b), (leaf(xs), leaf(ws)))
