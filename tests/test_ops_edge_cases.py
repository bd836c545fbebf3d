"""Ops at kinks, ties and poles (PyTorch's convention), bad inputs' errors, huge logits."""
from __future__ import annotations

import warnings

import _conv_rows
import numpy as np
import pytest
from _helpers import assert_close

import chainrule as cr
from chainrule.ops.movement import pad as cr_pad

# ---------------------------------------------------------------------------------------------
# kinks, ties and poles: no derivative in the calculus sense, so PyTorch's convention is the spec
# ---------------------------------------------------------------------------------------------
EDGE = [
    ("abs_0", lambda m, a: m.abs(a), [0.0, -1.0, 2.0]),
    ("relu_0", lambda m, a: m.relu(a), [0.0, -1.0, 2.0]),
    ("sign_0", lambda m, a: m.sign(a) * 2, [0.0, -1.0]),
    ("pow0_at_0", lambda m, a: a ** 0, [0.0, 2.0]),
    ("pow2_at_0", lambda m, a: a ** 2, [0.0, 2.0]),
    ("pow_half_at_0", lambda m, a: a ** 0.5, [0.0, 2.0]),
    ("sqrt_at_0", lambda m, a: m.sqrt(a), [0.0, 4.0]),
    ("log_at_0", lambda m, a: m.log(a), [0.0, 1.0]),
    ("rdiv_at_0", lambda m, a: 1.0 / a, [0.0, 2.0]),
    ("max_all_ties", lambda m, a: m.max(a), [1.0, 3.0, 3.0]),
    ("min_all_ties", lambda m, a: a.min(), [-2.0, -2.0, 3.0]),
    ("maximum_ties", lambda m, a: m.maximum(a, a * 0 + 1.0), [1.0, 0.0, 2.0]),
    ("minimum_ties", lambda m, a: m.minimum(a, a * 0 + 1.0), [1.0, 0.0, 2.0]),
    ("clamp_at_bounds", lambda m, a: m.clamp(a, -0.5, 0.5), [-0.5, 0.5, 0.0, 1.0]),
    ("where_nan_branch", lambda m, a: m.where(a > 0, m.sqrt(a), 0.0), [-1.0, 4.0]),
    ("softmax_neg_inf", lambda m, a: m.softmax(a, dim=0), [-float("inf"), 0.0, 1.0]),
]


@pytest.mark.parametrize("fn,values", [pytest.param(f, v, id=n) for n, f, v in EDGE])
def test_edge_values_follow_torch(fn, values):
    torch = pytest.importorskip("torch")
    x = cr.tensor(values, dtype=cr.float64, requires_grad=True)
    t = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    with np.errstate(all="ignore"):
        y = fn(cr, x)
        y.backward(cr.ones_like(y))
    ty = fn(torch, t)
    ty.backward(torch.ones_like(ty))
    assert_close(y, ty, what="forward")
    assert_close(x.grad, t.grad, what="gradient")


# ---------------------------------------------------------------------------------------------
# bad inputs: every op names what went wrong (both shapes, the dim, the dtype)
# ---------------------------------------------------------------------------------------------
def _t(*shape, dtype=cr.float64):
    return cr.ones(*shape, dtype=dtype)


BAD = [
    *[(op, (lambda f: lambda: f(_t(2, 3), _t(4)))(f), RuntimeError, ["(2, 3)", "(4,)"])
      for op, f in [("add", lambda a, b: a + b), ("sub", lambda a, b: a - b),
                    ("mul", lambda a, b: a * b), ("div", lambda a, b: a / b),
                    ("pow", lambda a, b: a ** b), ("maximum", cr.maximum),
                    ("minimum", cr.minimum), ("eq", cr.eq), ("lt", lambda a, b: a < b),
                    ("where", lambda a, b: cr.where(a > 0, a, b)),
                    ("clamp_tensor", lambda a, b: cr.clamp(a, min=b))]],
    ("matmul_shapes", lambda: _t(2, 3) @ _t(4, 5), RuntimeError, ["(2, 3)", "(4, 5)"]),
    ("matmul_1d", lambda: _t(3) @ _t(4), RuntimeError, ["(3,)", "(4,)"]),
    ("matmul_batch", lambda: _t(2, 3, 4) @ _t(3, 4, 5), RuntimeError, ["(2, 3, 4)", "(3, 4, 5)"]),
    ("matmul_dtype", lambda: _t(2, 3, dtype=cr.float32) @ _t(3, 2), RuntimeError,
     ["float32", "float64"]),
    ("matmul_0d", lambda: _t() @ _t(3), RuntimeError, ["()", "(3,)"]),
    *[(f"{op}_bad_dim", (lambda op: lambda: getattr(cr, op)(_t(2, 3), dim=2))(op), IndexError,
       ["dim", "2"]) for op in ("sum", "mean", "var", "std", "max", "min", "softmax",
                                "log_softmax", "logsumexp")],
    ("sum_dim_twice", lambda: _t(2, 3).sum(dim=(1, -1)), RuntimeError, ["dim"]),
    ("sum_dim_type", lambda: _t(2, 3).sum(dim=1.5), TypeError, ["dim"]),
    ("softmax_no_dim", lambda: cr.softmax(_t(2, 3)), TypeError, ["dim"]),
    ("reshape", lambda: _t(2, 3).reshape(4), RuntimeError, ["[4]", "(2, 3)"]),
    ("reshape_two_infer", lambda: _t(2, 3).reshape(-1, -1), RuntimeError, ["-1"]),
    ("view", lambda: _t(2, 3).view(5, -1), RuntimeError, ["(2, 3)", "5"]),
    ("expand", lambda: _t(3).expand(2, 4), RuntimeError, ["(3,)", "(2, 4)"]),
    ("expand_fewer", lambda: _t(2, 3).expand(3), RuntimeError, ["dimensions"]),
    ("transpose_dim", lambda: _t(2, 3).transpose(0, 2), IndexError, ["2"]),
    ("permute", lambda: _t(2, 3).permute(0, 0), RuntimeError, ["(0, 0)", "(2, 3)"]),
    ("squeeze_dim", lambda: _t(2, 3).squeeze(3), IndexError, ["3"]),
    ("unsqueeze_dim", lambda: _t(2, 3).unsqueeze(4), IndexError, ["4"]),
    ("flatten_order", lambda: _t(2, 3, 4).flatten(2, 1), RuntimeError, ["start_dim"]),
    ("index_range", lambda: _t(3)[5], IndexError, ["(3,)"]),
    ("index_mask_shape", lambda: _t(3, 4)[cr.ones(4, 3, dtype=cr.bool) > 0], IndexError,
     ["(3, 4)"]),
    ("cat_shapes", lambda: cr.cat([_t(2, 3), _t(2, 4)]), RuntimeError, ["(2, 3)", "(2, 4)"]),
    ("cat_empty", lambda: cr.cat([]), ValueError, ["non-empty"]),
    ("cat_dim", lambda: cr.cat([_t(2), _t(2)], dim=1), IndexError, ["1"]),
    ("stack_shapes", lambda: cr.stack([_t(2, 3), _t(3, 2)]), RuntimeError, ["(2, 3)", "(3, 2)"]),
    ("split_sections", lambda: _t(5).split([2, 2]), RuntimeError, ["[2, 2]", "5"]),
    ("pad_odd", lambda: cr_pad(_t(2, 3), (1, 2, 3)), ValueError, ["(1, 2, 3)"]),
    ("int_requires_grad", lambda: cr.tensor([1, 2], requires_grad=True), RuntimeError,
     ["floating point", "int64"]),
    ("bool_requires_grad", lambda: cr.ones(2, dtype=cr.bool).requires_grad_(), RuntimeError,
     ["floating point", "bool"]),
    ("mean_int", lambda: cr.arange(4).mean(), RuntimeError, ["int64"]),
    ("where_cond_dtype", lambda: cr.where(_t(2), _t(2), _t(2)), TypeError, ["bool"]),
    ("item_many", lambda: _t(2).item(), ValueError, ["(2,)"]),
    *[(f"{op}_not_tensor", (lambda op: lambda: getattr(cr, op)([1.0, 2.0]))(op), TypeError,
       [op, "Tensor", "list"]) for op in ("exp", "log", "sqrt", "abs", "sign", "tanh",
                                          "sigmoid", "relu", "sinh", "cosh", "sin", "cos",
                                          "log1p", "expm1")],
    *[(f"{op}_not_tensor", (lambda op: lambda: getattr(cr, op)([1.0, 2.0], dim=0))(op),
       TypeError, [op, "Tensor", "list"]) for op in ("softmax", "log_softmax", "logsumexp",
                                                     "sum", "mean", "var")],
    ("clamp_not_tensor", lambda: cr.clamp(1.0, 0, 2), TypeError, ["clamp", "Tensor", "float"]),
    ("clamp_no_bounds", lambda: cr.clamp(_t(2)), ValueError, ["min", "max"]),
    ("neg_bool", lambda: -cr.tensor([True]), TypeError, ["bool"]),
    ("to_bad_dtype", lambda: _t(2).to("foo"), TypeError, ["foo"]),
    ("to_complex", lambda: _t(2).to(np.complex64), TypeError, ["complex64"]),
    ("lstm_sequence_weight_shape", lambda: _R().lstm_sequence(_t(4, 3, 2), _t(3, 5), _t(3, 5),
                                                              _t(20, 3), _t(20, 5)),
     RuntimeError, ["lstm_sequence", "weight_ih", "(20, 3)", "(20, 2)"]),
    ("gru_sequence_h0_shape", lambda: _R().gru_sequence(_t(4, 3, 2), _t(2, 5), _t(15, 2),
                                                        _t(15, 5)),
     RuntimeError, ["gru_sequence", "hx", "(2, 5)", "(3, 5)"]),
    ("rnn_sequence_not_time_major", lambda: _R().rnn_sequence(_t(3, 2), _t(3, 5), _t(5, 2),
                                                              _t(5, 5)),
     ValueError, ["rnn_sequence", "(T, B, I)", "(3, 2)"]),
    ("rnn_sequence_unsorted_lengths", lambda: _R().rnn_sequence(
        _t(4, 3, 2), _t(3, 5), _t(5, 2), _t(5, 5), lengths=[2, 4, 1]),
     ValueError, ["lengths", "decreasing"]),
    ("lstm_sequence_dtype", lambda: _R().lstm_sequence(
        _t(4, 3, 2), _t(3, 5), _t(3, 5), _t(20, 2, dtype=cr.float32), _t(20, 5)),
     RuntimeError, ["weight_ih", "float32", "float64"]),
]
BAD += _conv_rows.BAD


def _R():
    from chainrule.ops import recurrent
    return recurrent


@pytest.mark.parametrize("fn,exc,parts", [pytest.param(f, e, p, id=n) for n, f, e, p in BAD])
def test_bad_inputs(fn, exc, parts):
    with pytest.raises(exc) as info:
        fn()
    msg = str(info.value)
    for p in parts:
        assert p in msg, f"{p!r} not in error message: {msg}"


def test_matmul_dtype_mismatch_raises_in_torch_too():
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError):
        torch.ones(2, 3, dtype=torch.float32) @ torch.ones(3, 2, dtype=torch.float64)


# ---------------------------------------------------------------------------------------------
# the softmax family at huge logits: finite, no warning, same as PyTorch
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("op", ["softmax", "log_softmax", "logsumexp"])
@pytest.mark.parametrize("dtype", [cr.float32, cr.float64])
def test_softmax_family_extreme_logits(op, dtype):
    logits = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, -1000.0],
                       [1000.0, 1000.0, 999.0]])
    x = cr.tensor(logits, dtype=dtype, requires_grad=True)
    # underflow of exp(-2000) to 0 is the stable result; overflow, 0/0 and log(0) are not
    with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise"):
        warnings.simplefilter("error")
        y = getattr(cr, op)(x, dim=-1)
        y.backward(cr.ones_like(y))
    assert y.dtype == dtype and x.grad.dtype == dtype
    assert np.isfinite(y.detach().numpy()).all() and np.isfinite(x.grad.numpy()).all()
    lse = np.array([1000.0, -1000.0 + np.log(3), 1000.0 + np.log(2 + np.exp(-1))])
    expected = {"logsumexp": lse, "log_softmax": logits - lse[:, None],
                "softmax": np.exp(logits - lse[:, None])}[op]
    assert_close(y.double(), expected, rtol=1e-6 if dtype == cr.float32 else 1e-12, atol=1e-30)
