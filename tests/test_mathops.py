"""Table rows for the elementwise math primitives of issue 15 (chainrule/ops/mathops.py): tan and
the inverse trigonometric/hyperbolic functions, erfc, erfinv, atan2, hypot, fmod, remainder, the
rounding family, cumsum, cumprod and einsum; and ``out=``.  gradcheck + gradgradcheck in float64, values and gradients
against PyTorch at rtol 1e-7, float32 stays float32, bad inputs.

The ops are written against the op protocol v2 (chainrule/autograd/op.py); on a tree without it
this file is skipped.

    python -m pytest -p no:cacheprovider -q tests/test_mathops.py
"""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("chainrule.autograd.op")

import chainrule as cr  # noqa: E402
from test_api_breadth import (Row, cases, check_against_torch, check_float32,  # noqa: E402
                              check_gradcheck, check_gradgradcheck)

ONE = [((3, 4),), ((2, 1, 3),), ((),)]
BIN = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 3), (4, 1))]

ROWS = [
    Row("tan", lambda m, a: m.tan(a), ONE, "unit"),
    Row("asin", lambda m, a: m.asin(a), ONE, "unit"),
    Row("arcsin", lambda m, a: m.arcsin(a), ONE[:1], "unit"),
    Row("acos", lambda m, a: m.acos(a), ONE, "unit"),
    Row("atan", lambda m, a: a.atan(), ONE),
    Row("asinh", lambda m, a: m.asinh(a), ONE),
    Row("acosh", lambda m, a: m.acosh(a + 1.5), ONE, "positive"),
    Row("atanh", lambda m, a: m.atanh(a), ONE, "unit"),
    Row("erfc", lambda m, a: m.erfc(a * 3), ONE),
    Row("erfinv", lambda m, a: m.erfinv(a), ONE, "unit"),
    Row("atan2", lambda m, a, b: m.atan2(a, b), BIN),
    Row("arctan2", lambda m, a, b: m.arctan2(a, b), BIN[:1]),
    Row("hypot", lambda m, a, b: m.hypot(a, b), BIN, "nonzero"),
    Row("fmod", lambda m, a, b: m.fmod(a * 3, b), BIN, ["real", "positive"]),
    Row("fmod_scalar", lambda m, a: m.fmod(a * 3, -1.5), ONE),
    Row("remainder", lambda m, a, b: m.remainder(a * 3, b), BIN, ["real", "positive"]),
    Row("remainder_neg", lambda m, a, b: m.remainder(a * 3, -b), BIN[:1], ["real", "positive"]),
    Row("mod_operator", lambda m, a: (a * 3) % 1.25, ONE),
    # the rounding family: zero gradient; times the input so the product has one
    Row("floor", lambda m, a: m.floor(a * 3) * a, ONE),
    Row("ceil", lambda m, a: m.ceil(a * 3) * a, ONE),
    Row("trunc", lambda m, a: m.trunc(a * 3) * a, ONE),
    Row("round", lambda m, a: m.round(a * 3) * a, ONE),
    Row("round_decimals", lambda m, a: m.round(a * 3, decimals=2) * a, ONE[:1]),
    Row("frac", lambda m, a: m.frac(a * 3), ONE),
    Row("cumsum", lambda m, a: m.cumsum(a, 1), [((3, 4),), ((2, 3, 4),)]),
    Row("cumsum_neg", lambda m, a: a.cumsum(dim=-1), [((3, 4),)]),
    Row("cumsum_dim0", lambda m, a: m.cumsum(a, 0), [((5,),)]),
    Row("cumprod", lambda m, a: m.cumprod(a, 1), [((3, 4),), ((2, 3, 2),)], "positive"),
    # einsum: one primitive per operand count; the gradient is again an einsum
    Row("einsum_mm", lambda m, a, b: m.einsum("ij,jk->ik", a, b), [((2, 3), (3, 4))]),
    Row("einsum_bmm", lambda m, a, b: m.einsum("bij,bjk->bik", a, b), [((2, 2, 3), (2, 3, 2))]),
    Row("einsum_outer", lambda m, a, b: m.einsum("i,j->ij", a, b), [((3,), (4,))]),
    Row("einsum_implicit", lambda m, a, b: m.einsum("ij,j", a, b), [((3, 4), (4,))]),
    Row("einsum_sum_alone", lambda m, a, b: m.einsum("ij,k->ik", a, b), [((2, 3), (4,))]),
    Row("einsum_rowdot", lambda m, a, b: m.einsum("ij,ij->i", a, b), [((3, 4), (3, 4))]),
    Row("einsum_one", lambda m, a: m.einsum("ijk->ki", a), [((2, 3, 2),)]),
    Row("einsum_three", lambda m, a, b, c: m.einsum("ij,jk,kl->il", a, b, c),
        [((2, 3), (3, 4), (4, 2))]),
    Row("einsum_list", lambda m, a, b: m.einsum("ij,kj->ik", [a, b]), [((2, 3), (4, 3))]),
]

CASES = cases(ROWS)


def test_names_are_unique():
    assert len({r.name for r in ROWS}) == len(ROWS)


@pytest.mark.parametrize("row,i", CASES)
def test_gradcheck(row, i):
    check_gradcheck(row, i)


@pytest.mark.parametrize("row,i", [c for c in CASES if c.values[1] < 2])
def test_gradgradcheck(row, i):
    check_gradgradcheck(row, i)


@pytest.mark.parametrize("row,i", CASES)
def test_against_torch(row, i):
    with np.errstate(all="ignore"):
        check_against_torch(row, i)


@pytest.mark.parametrize("row,i", CASES)
def test_float32_stays_float32(row, i):
    check_float32(row, i)


def test_special_values_match_torch():
    torch = pytest.importorskip("torch")
    v = [-1.0, 1.0, 0.0, 1.5, -2.0, float("nan"), 0.999999, -0.999999, 1e-300]
    for name in ("erfinv", "erfc", "atanh", "asin", "acos", "acosh", "floor", "round", "trunc"):
        with np.errstate(all="ignore"):
            ours = getattr(cr, name)(cr.tensor(v, dtype=cr.float64)).numpy()
        theirs = getattr(torch, name)(torch.tensor(v, dtype=torch.float64)).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0, err_msg=name)
    grid = np.linspace(-0.999999, 0.999999, 2001)
    np.testing.assert_allclose(cr.erfinv(cr.tensor(grid, dtype=cr.float64)).numpy(),
                               torch.erfinv(torch.tensor(grid)).numpy(), rtol=1e-13)
    grid = np.linspace(-6, 26, 2001)
    np.testing.assert_allclose(cr.erfc(cr.tensor(grid, dtype=cr.float64)).numpy(),
                               torch.erfc(torch.tensor(grid)).numpy(), rtol=1e-12)
    ints = np.array([7, -7, 5, 0], dtype=np.int64)
    for name in ("fmod", "remainder"):
        np.testing.assert_array_equal(getattr(cr, name)(cr.tensor(ints), 3).numpy(),
                                      getattr(torch, name)(torch.tensor(ints), 3).numpy())
    for name in ("floor", "ceil", "round", "trunc"):
        out = getattr(cr, name)(cr.tensor(ints))
        assert out.dtype == cr.int64 and out.tolist() == ints.tolist()
    assert cr.cumsum(cr.tensor([1, 2, 3], dtype=cr.int32), 0).dtype == cr.int64
    assert cr.cumsum(cr.tensor([True, True]), 0).tolist() == [1, 2]


BAD = [
    (lambda: cr.cumsum(cr.ones(2, 3), 2), IndexError, "dim 2 is out of range"),
    (lambda: cr.atan2(cr.ones(2, 3), cr.ones(4)), RuntimeError, r"atan2: shapes \(2, 3\) and"),
    (lambda: cr.fmod(cr.tensor([3]), 0), RuntimeError, "ZeroDivisionError"),
    (lambda: cr.tan([0.5]), TypeError, "must be a Tensor"),
    (lambda: cr.frac(cr.tensor([1, 2])), RuntimeError, "floating point"),
    (lambda: cr.einsum("...ij,jk", cr.ones(2, 3), cr.ones(3, 2)), NotImplementedError,
     "ellipsis"),
    (lambda: cr.einsum("ii->i", cr.ones(2, 2)), NotImplementedError, "repeated"),
    (lambda: cr.einsum("ij,jk->ik", cr.ones(2, 3)), ValueError, "2 operand subscripts"),
    (lambda: cr.einsum("ijk,jk->ik", cr.ones(2, 3), cr.ones(3, 2)), RuntimeError,
     "name 3 dims but the operand has shape"),
    (lambda: cr.einsum("ij,jk", cr.ones(2, 3), cr.ones(3, 2, dtype=cr.float64)), RuntimeError,
     "different dtypes"),
]


@pytest.mark.parametrize("call,err,fragment", BAD)
def test_bad_inputs(call, err, fragment):
    with pytest.raises(err, match=fragment):
        call()


def test_cumprod_with_a_zero_refuses_its_gradient():
    x = cr.tensor([2.0, 0.0, 3.0], requires_grad=True)
    y = cr.cumprod(x, 0)
    assert y.tolist() == [2.0, 0.0, 0.0]
    with pytest.raises(NotImplementedError, match="contains zeros"):
        y.sum().backward()


def test_out_argument():
    a = cr.arange(6.0).reshape(2, 3)
    out = cr.empty(2, 2)
    assert cr.matmul(a, a.t(), out=out) is out
    np.testing.assert_array_equal(out.numpy(), (a.numpy() @ a.numpy().T))
    small = cr.zeros(1)
    cr.add(a, 1, out=small)                      # resized, as PyTorch does
    assert small.shape == (2, 3) and small[1, 2].item() == 6.0
    cr.sin(a, out=small)
    np.testing.assert_allclose(small.numpy(), np.sin(a.numpy()), rtol=1e-6)
    i = cr.zeros(2, 3, dtype=cr.int64)
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
        cr.mul(a, 2.0, out=i)
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        cr.mul(cr.ones(2, requires_grad=True), 2.0, out=cr.zeros(2))
    with cr.no_grad():
        cr.mul(cr.ones(2, requires_grad=True), 2.0, out=out)
    assert out.tolist() == [2.0, 2.0]
    with pytest.raises(TypeError, match="argument 'out' must be a Tensor"):
        cr.exp(a, out=[0.0])
