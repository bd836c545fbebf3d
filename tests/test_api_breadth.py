"""Table rows for the composite tensor API of issue 15 (api_math / api_index / api_misc):
gradcheck and gradgradcheck in float64, values and gradients against PyTorch at rtol 1e-7,
float32 stays float32, and bad-input rows.  Same shape as tests/test_ops_table.py.

    python -m pytest -p no:cacheprovider -q tests/test_api_breadth.py
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pytest
from _helpers import (as_list, assert_close, cotangents, cr_inputs, float_outputs, make_arrays,
                      torch_inputs)

import chainrule as cr


@dataclass
class Row:
    name: str
    fn: object                     # fn(m, *inputs), m = chainrule or torch
    shapes: list
    domain: object = "real"
    twin: object = None
    grad: bool = True
    gradgrad: bool = True
    check: dict = field(default_factory=dict)


def _ix(v):
    """An int64 index tensor in the framework ``m``."""
    return lambda m: m.tensor(np.array(v, dtype=np.int64))


def _specials(m, a):
    """``a`` with +inf, -inf and NaN written into some places (the gradient passes elsewhere)."""
    k = np.arange(12).reshape(3, 4) % 5
    for code, v in ((1, math.inf), (2, -math.inf), (3, math.nan)):
        a = m.where(m.tensor(k == code), v, a)
    return a


G = _ix([[0, 2, 0, 1], [1, 1, 0, 2], [2, 0, 1, 1]])      # repeated positions: grads add up
ONE = [((3, 4),), ((2, 3, 4),)]
MAT = [((3, 4),), ((4, 4),)]

ROWS = [
    Row("t", lambda m, a: m.t(a), [((3, 4),), ((5,),)]),
    Row("t_method", lambda m, a: a.t(), [((3, 4),)]),
    Row("mm", lambda m, a, b: m.mm(a, b), [((2, 3), (3, 4))]),
    Row("mm_method", lambda m, a, b: a.mm(b), [((3, 3), (3, 2))]),
    Row("bmm", lambda m, a, b: m.bmm(a, b), [((2, 3, 4), (2, 4, 5))]),
    Row("mv", lambda m, a, b: m.mv(a, b), [((3, 4), (4,))]),
    Row("square", lambda m, a: m.square(a), ONE),
    Row("rsqrt", lambda m, a: m.rsqrt(a), ONE, "positive"),
    Row("reciprocal", lambda m, a: m.reciprocal(a), ONE, "positive"),
    Row("log2", lambda m, a: m.log2(a), ONE, "positive"),
    Row("log10", lambda m, a: m.log10(a), ONE, "positive"),
    Row("exp2", lambda m, a: m.exp2(a), ONE),
    Row("lerp_scalar", lambda m, a, b: m.lerp(a, b, 0.3), [((3, 4), (3, 4)), ((3, 4), (4,))]),
    Row("lerp_tensor", lambda m, a, b, w: m.lerp(a, b, w), [((3, 4), (3, 4), (3, 4))]),
    Row("logaddexp", lambda m, a, b: m.logaddexp(a, b), [((3, 4), (3, 4)), ((3, 4), (4,))]),
    Row("nan_to_num", lambda m, a: m.nan_to_num(_specials(m, a)), [((3, 4),)]),
    Row("nan_to_num_values", lambda m, a: m.nan_to_num(_specials(m, a), 0.5, 9.0, -8.0),
        [((3, 4),)]),
    Row("tril", lambda m, a: m.tril(a), MAT + [((2, 3, 4),)]),
    Row("tril_k", lambda m, a: m.tril(a, -1), MAT),
    Row("triu_k", lambda m, a: m.triu(a, 1), MAT + [((2, 3, 4),)]),
    Row("diag_vec", lambda m, a: m.diag(a), [((4,),)]),
    Row("diag_vec_k", lambda m, a: m.diag(a, -2), [((3,),)]),
    Row("diag_mat", lambda m, a: m.diag(a, 1), MAT),
    Row("amax_dims", lambda m, a: m.amax(a, (0, 2)), [((3, 4, 5),)], "distinct"),
    Row("amax_keep", lambda m, a: m.amax(a, (1, 2), keepdim=True), [((3, 4, 5),)], "distinct"),
    Row("amin_dims", lambda m, a: m.amin(a, (-1, 0)), [((3, 4, 5),)], "distinct"),
    Row("norm", lambda m, a: m.norm(a), ONE),
    Row("norm_p1_dim", lambda m, a: a.norm(p=1, dim=1, keepdim=True), [((3, 4),)], "nonzero"),
    Row("norm_p3", lambda m, a: m.norm(a, p=3, dim=(0, 1)), [((3, 4, 2),)], "positive"),
    Row("norm_inf", lambda m, a: m.norm(a, p=math.inf, dim=0), [((3, 4),)], "distinct"),
    Row("vector_norm", lambda m, a: m.linalg.vector_norm(a, ord=2, dim=-1), ONE),
    Row("vector_norm_neg", lambda m, a: m.linalg.vector_norm(a, ord=-2), ONE, "positive"),
    Row("linalg_norm", lambda m, a: m.linalg.norm(a), ONE),
    Row("matrix_norm_fro", lambda m, a: m.linalg.matrix_norm(a), [((2, 3, 4),)]),
    Row("matrix_norm_1", lambda m, a: m.linalg.matrix_norm(a, ord=1), MAT, "distinct"),
    Row("matrix_norm_inf", lambda m, a: m.linalg.norm(a, ord=math.inf), MAT, "distinct"),
    # reordering and indexing
    Row("flip", lambda m, a: m.flip(a, [0, -1]), ONE),
    Row("roll", lambda m, a: m.roll(a, (1, -2), (0, 1)), ONE),
    Row("roll_flat", lambda m, a: m.roll(a, 5), ONE),
    Row("repeat", lambda m, a: a.repeat(2, 1, 3), [((3, 4),)]),
    Row("tile", lambda m, a: m.tile(a, (2,)), [((3, 4),)]),
    Row("tensor_split_n", lambda m, a: m.tensor_split(a, 3, dim=1), [((3, 7),)]),
    Row("tensor_split_at", lambda m, a: m.tensor_split(a, [1, 4], dim=1), [((3, 7),)]),
    Row("unbind", lambda m, a: m.unbind(a, 1), [((3, 4),)]),
    Row("meshgrid_ij", lambda m, a, b: m.meshgrid(a, b, indexing="ij"), [((3,), (4,))]),
    Row("meshgrid_xy", lambda m, a, b, c: m.meshgrid(a, b, c, indexing="xy"),
        [((3,), (4,), (2,))]),
    Row("index_select", lambda m, a: m.index_select(a, 1, _ix([0, 3, 0])(m)), [((3, 4),)]),
    Row("gather", lambda m, a: m.gather(a, 1, G(m)), [((3, 4),)]),
    Row("gather_dim0", lambda m, a: m.gather(a, 0, G(m)), [((3, 5),)]),
    Row("scatter_add", lambda m, a, s: m.scatter_add(a, 1, G(m), s), [((3, 4), (3, 4))]),
    Row("scatter_src", lambda m, a, s: m.scatter(a, 0, _ix([[0, 1, 2, 0], [1, 2, 0, 2]])(m), s),
        [((3, 4), (2, 4))]),
    Row("scatter_value", lambda m, a: m.scatter(a, 1, _ix([[1], [0], [3]])(m), value=2.5),
        [((3, 4),)]),
    Row("sort", lambda m, a: m.sort(a, dim=1), [((3, 4),)], "distinct"),
    Row("sort_desc", lambda m, a: m.sort(a, dim=0, descending=True), [((3, 4),)], "distinct"),
    Row("topk", lambda m, a: m.topk(a, 2), [((3, 4),)], "distinct"),
    Row("topk_small", lambda m, a: m.topk(a, 3, dim=0, largest=False), [((4, 2),)],
        "distinct"),
    Row("argsort", lambda m, a: m.argsort(a, dim=0, descending=True), [((3, 4),)], "distinct",
        grad=False),
    Row("where_scalars", lambda m, a: m.where(a > 0, a, 0.0) + m.where(a < 0, 1.0, a), ONE,
        "nonzero"),
]


def _run(row, dtype=cr.float64, requires_grad=True, case=0):
    arrays = make_arrays(row.shapes[case], row.domain, seed=case)
    xs = cr_inputs(arrays, dtype, requires_grad and row.grad)
    return arrays, xs, as_list(row.fn(cr, *xs))


def cases(rows):
    """pytest parameters (row, case index) for every shape case of every row."""
    return [pytest.param(r, i, id=f"{r.name}-{i}") for r in rows for i in range(len(r.shapes))]


def check_gradcheck(row, i):
    _, xs, _ = _run(row, case=i)
    assert cr.autograd.gradcheck(lambda *a: row.fn(cr, *a), tuple(xs), **row.check)


def check_gradgradcheck(row, i):
    _, xs, _ = _run(row, case=i)
    assert cr.autograd.gradgradcheck(lambda *a: row.fn(cr, *a), tuple(xs), **row.check)


def check_against_torch(row, i):
    torch = pytest.importorskip("torch")
    arrays, xs, outs = _run(row, case=i)
    ts = torch_inputs(torch, arrays, row.grad)
    touts = as_list((row.twin or row.fn)(torch, *ts))
    assert len(outs) == len(touts)
    for k, (o, t) in enumerate(zip(outs, touts)):
        assert str(o.dtype) == str(t.dtype).replace("torch.", ""), f"{row.name} output {k}"
        assert tuple(o.shape) == tuple(t.shape), f"{row.name} output {k} shape"
        assert_close(o, t, what=f"{row.name} output {k}")
    if not row.grad:
        return
    fo = float_outputs(outs)
    cots = cotangents(fo)
    gs = cr.grad(fo, xs, [cr.tensor(c) for c in cots], allow_unused=True)
    tfo = [t for t in touts if t.dtype.is_floating_point]
    tgs = torch.autograd.grad(tfo, ts, [torch.tensor(c) for c in cots], allow_unused=True)
    for k, (g, tg) in enumerate(zip(gs, tgs)):
        if tg is None or g is None:
            assert g is None or not np.any(g.numpy()), f"input {k}: torch has no gradient"
            continue
        assert_close(g, tg, what=f"{row.name} grad of input {k}")


def check_float32(row, i):
    """No silent upcast: float32 inputs give float32 outputs and gradients."""
    _, xs, outs = _run(row, cr.float32, case=i)
    assert all(o.dtype == cr.float32 for o in float_outputs(outs))
    gs = cr.grad(float_outputs(outs), xs, [cr.ones_like(o) for o in float_outputs(outs)],
                 allow_unused=True)
    assert all(g is None or g.dtype == cr.float32 for g in gs)


CASES = cases(ROWS)
GRAD = [c for c in CASES if c.values[0].grad]


def test_names_are_unique():
    assert len({r.name for r in ROWS}) == len(ROWS)


@pytest.mark.parametrize("row,i", GRAD)
def test_gradcheck(row, i):
    check_gradcheck(row, i)


@pytest.mark.parametrize("row,i", [c for c in GRAD if c.values[0].gradgrad])
def test_gradgradcheck(row, i):
    check_gradgradcheck(row, i)


@pytest.mark.parametrize("row,i", CASES)
def test_against_torch(row, i):
    check_against_torch(row, i)


@pytest.mark.parametrize("row,i", GRAD)
def test_float32_stays_float32(row, i):
    check_float32(row, i)


def test_norm_gradient_at_zero_is_zero_as_in_torch():
    torch = pytest.importorskip("torch")
    for fn in (lambda m, a: m.norm(a), lambda m, a: m.linalg.vector_norm(a, ord=3),
               lambda m, a: a.norm(dim=1)):
        x = cr.zeros(2, 3, dtype=cr.float64, requires_grad=True)
        t = torch.zeros(2, 3, dtype=torch.float64, requires_grad=True)
        fn(cr, x).sum().backward()
        fn(torch, t).sum().backward()
        assert_close(x.grad, t.grad, what="norm gradient at 0")


def test_non_differentiable_helpers_match_torch():
    torch = pytest.importorskip("torch")
    v = np.array([3, 1, 3, 2, 0, 3], dtype=np.int64)
    for name in ("unique", "bincount"):
        a, b = getattr(cr, name)(cr.tensor(v)), getattr(torch, name)(torch.tensor(v))
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    u, inv, cnt = cr.unique(cr.tensor(v), return_inverse=True, return_counts=True)
    tu, tinv, tcnt = torch.unique(torch.tensor(v), return_inverse=True, return_counts=True)
    for a, b in ((u, tu), (inv, tinv), (cnt, tcnt)):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    w = np.linspace(0, 1, 6, dtype=np.float32)
    np.testing.assert_allclose(cr.bincount(cr.tensor(v), cr.tensor(w), minlength=6).numpy(),
                               torch.bincount(torch.tensor(v), torch.tensor(w), 6).numpy())
    f = np.array([1.0, np.inf, -np.inf, np.nan, 1.0 + 1e-9], dtype=np.float64)
    for name in ("isinf", "isposinf", "isneginf"):
        np.testing.assert_array_equal(getattr(cr, name)(cr.tensor(f)).numpy(),
                                      getattr(torch, name)(torch.tensor(f)).numpy())
    np.testing.assert_array_equal(cr.isclose(cr.tensor(f), cr.tensor(f[::-1].copy())).numpy(),
                                  torch.isclose(torch.tensor(f), torch.tensor(f[::-1].copy()))
                                  .numpy())
    assert cr.allclose(cr.tensor([1.0]), cr.tensor([1.0 + 1e-9])) is True
    assert cr.allclose(cr.tensor([1.0]), cr.tensor([1.1])) is False
    assert cr.equal(cr.ones(2), cr.ones(2)) and not cr.equal(cr.ones(2), cr.ones(3))


def test_random_draws():
    cr.manual_seed(0)
    s = cr.normal(2.0, 3.0, size=(20000,))
    assert s.dtype == cr.float32 and abs(s.mean().item() - 2) < 0.1 and abs(s.std().item() - 3) < 0.1
    mean = cr.zeros(3, requires_grad=True)
    std = cr.full((3,), 2.0, requires_grad=True)
    y = cr.normal(mean, std)
    y.sum().backward()
    np.testing.assert_array_equal(mean.grad.numpy(), [1, 1, 1])
    np.testing.assert_allclose(std.grad.numpy(), (y.detach() / 2).numpy(), rtol=1e-6)
    b = cr.bernoulli(cr.full((10000,), 0.25))
    assert b.dtype == cr.float32 and set(np.unique(b.numpy())) <= {0.0, 1.0}
    assert abs(b.mean().item() - 0.25) < 0.03
    m = cr.multinomial(cr.tensor([[0.0, 1.0, 0.0, 3.0]]), 2)
    assert m.shape == (1, 2) and sorted(m[0].tolist()) == [1, 3]
    r = cr.multinomial(cr.tensor([1.0, 0.0, 1.0]), 1000, replacement=True)
    assert set(np.unique(r.numpy())) == {0, 2}


BAD = [
    (lambda: cr.mm(cr.ones(2, 3), cr.ones(2, 3)), RuntimeError, r"cannot be multiplied \(2x3"),
    (lambda: cr.mm(cr.ones(3), cr.ones(3, 2)), RuntimeError, r"mm: expected two 2-D"),
    (lambda: cr.bmm(cr.ones(2, 3, 4), cr.ones(3, 4, 5)), RuntimeError, "same batch size"),
    (lambda: cr.mv(cr.ones(2, 3), cr.ones(4)), RuntimeError, r"mv: size mismatch"),
    (lambda: cr.t(cr.ones(2, 3, 4)), RuntimeError, r"<= 2 dimensions, but self is 3D"),
    (lambda: cr.tril(cr.ones(3)), RuntimeError, "at least 2 dimensions"),
    (lambda: cr.gather(cr.ones(3, 4), 1, cr.tensor([[5]])), IndexError, "out of range"),
    (lambda: cr.gather(cr.ones(3, 4), 1, cr.tensor([1.0])), TypeError, "integer"),
    (lambda: cr.gather(cr.ones(3, 4), 2, cr.tensor([[1]])), IndexError, "dim 2 is out of range"),
    (lambda: cr.topk(cr.ones(3), 4), RuntimeError, r"k \(4\) is out of range"),
    (lambda: cr.ones(2, 3).repeat(2), RuntimeError, "can not be smaller"),
    (lambda: cr.norm(cr.ones(2, 2), p="nuc"), NotImplementedError, "singular values"),
    (lambda: cr.linalg.vector_norm(cr.arange(3)), RuntimeError, "floating point"),
    (lambda: cr.amax(cr.ones(2, 3), (0, 0)), RuntimeError, "twice"),
    (lambda: cr.normal(0.0, 1.0), TypeError, "give size="),
    (lambda: cr.bincount(cr.tensor([-1, 2])), RuntimeError, "non-negative"),
    (lambda: cr.multinomial(cr.tensor([1.0, 0.0]), 2), RuntimeError, "non-zero weight"),
    (lambda: cr.scatter(cr.ones(2, 2), 0, cr.tensor([[0]])), TypeError, "exactly one of"),
    (lambda: cr.mm([[1.0]], cr.ones(1, 1)), TypeError, "must be a Tensor"),
]


@pytest.mark.parametrize("call,err,fragment", BAD)
def test_bad_inputs(call, err, fragment):
    with pytest.raises(err, match=fragment):
        call()
