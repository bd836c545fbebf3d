"""The op table: one row per op, checked by gradcheck (float64), against PyTorch, in float32.

A row's function takes the array module first (``chainrule`` or ``torch``) so that one lambda is
usually its own PyTorch twin; ``twin`` overrides it where the two APIs differ.  Run it with

    python -m pytest -p no:cacheprovider -q tests/test_ops_table.py
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest
import _conv_rows
from _helpers import (as_list, assert_close, cotangents, cr_inputs, float_outputs, make_arrays,
                      torch_inputs)

import chainrule as cr
from chainrule.ops.movement import pad as cr_pad


@dataclass
class Row:
    name: str
    fn: object                     # fn(m, *inputs) with m = chainrule or torch
    shapes: list                   # cases: one tuple of input shapes each
    domain: object = "real"        # a DOMAINS name, or one per input
    twin: object = None            # torch version when fn(torch, ...) is not it
    grad: bool = True              # differentiable (False: bool or integer results)
    gradgrad: bool = True          # also check second derivatives
    check: dict = field(default_factory=dict)   # gradcheck keyword overrides
    f32: bool = True               # result stays float32 for float32 inputs


def _torch_pad(p, value=0.0):
    def f(m, a):
        import torch.nn.functional as F
        return F.pad(a, p, value=value)
    return f


BIN = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 4), (3, 1)), ((1,), (2, 3)), ((), (2, 3))]
ONE = [((3, 4),), ((2, 1, 3),), ((5,),), ((),)]
RED = [((3, 4, 5),), ((3, 1, 4),)]
VAR = [((3, 4, 5),), ((2, 3, 2),)]   # no reduced dim of size 1 (n - 1 = 0 is NaN)
MM = [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((2, 2, 3), (3, 4)),
      ((2, 1, 2, 3), (3, 3, 2)), ((4,), (2, 4, 3)), ((2, 3, 4), (4,))]
IDX = np.array([0, 2, 0, 0])                       # repeated: gradients must accumulate
MASK = np.array([[True, False, True, False], [False, False, True, True], [True] * 4])

ROWS = [
    # arithmetic, tensor (op) tensor with broadcasting and size-1 dims
    Row("add", lambda m, a, b: a + b, BIN),
    Row("sub", lambda m, a, b: a - b, BIN),
    Row("mul", lambda m, a, b: a * b, BIN),
    Row("div", lambda m, a, b: a / b, BIN, ["real", "positive"]),
    Row("pow", lambda m, a, b: a ** b, BIN, ["positive", "real"]),
    Row("neg", lambda m, a: -a, ONE),
    Row("add_fn", lambda m, a, b: m.add(a, b), BIN[:3]),
    Row("mul_fn", lambda m, a, b: m.mul(a, b), BIN[:3]),
    # ... and with Python scalars on either side
    Row("add_scalar", lambda m, a: a + 2.5, ONE),
    Row("radd_scalar", lambda m, a: 2.5 + a, ONE),
    Row("add_int", lambda m, a: a + 2, ONE),
    Row("sub_scalar", lambda m, a: a - 1.5, ONE),
    Row("rsub_scalar", lambda m, a: 1.5 - a, ONE),
    Row("mul_scalar", lambda m, a: a * -3.0, ONE),
    Row("rmul_int", lambda m, a: 3 * a, ONE),
    Row("div_scalar", lambda m, a: a / 4.0, ONE),
    Row("rdiv_scalar", lambda m, a: 3.0 / a, ONE, "positive"),
    Row("pow_2", lambda m, a: a ** 2, ONE),
    Row("pow_3", lambda m, a: a ** 3, ONE),
    Row("pow_half", lambda m, a: a ** 0.5, ONE, "positive"),
    Row("pow_neg", lambda m, a: a ** -1.5, ONE, "positive"),
    Row("pow_0", lambda m, a: a ** 0, ONE),
    Row("rpow", lambda m, a: 2.0 ** a, ONE),
    Row("matmul", lambda m, a, b: a @ b, MM),
    Row("matmul_fn", lambda m, a, b: m.matmul(a, b), MM[:4]),
    # comparisons: bool results, no gradient
    Row("eq", lambda m, a: a == a[0], [((3, 4),)], grad=False),
    Row("ne", lambda m, a, b: a != b, BIN[:3], grad=False),
    Row("lt", lambda m, a, b: a < b, BIN, grad=False),
    Row("le_scalar", lambda m, a: a <= 0.1, ONE, grad=False),
    Row("gt_rscalar", lambda m, a: 0.1 > a, ONE, grad=False),
    Row("ge", lambda m, a, b: m.ge(a, b), BIN[:3], grad=False),
    # unary
    Row("exp", lambda m, a: m.exp(a), ONE),
    Row("log", lambda m, a: m.log(a), ONE, "positive"),
    Row("sqrt", lambda m, a: m.sqrt(a), ONE, "positive"),
    Row("abs", lambda m, a: m.abs(a), ONE, "nonzero"),
    Row("sign", lambda m, a: m.sign(a), ONE, "nonzero"),
    Row("sign_times", lambda m, a: m.sign(a) * a, ONE, "nonzero"),
    Row("tanh", lambda m, a: m.tanh(a), ONE),
    # added through the op protocol's one entry each (docs/design.md, "How to add an op")
    Row("sinh", lambda m, a: m.sinh(a), ONE),
    Row("cosh", lambda m, a: m.cosh(a), ONE),
    Row("sin", lambda m, a: m.sin(a), ONE),
    Row("cos", lambda m, a: m.cos(a), ONE),
    Row("log1p", lambda m, a: m.log1p(a), ONE, "unit"),
    Row("expm1", lambda m, a: m.expm1(a), ONE),
    Row("sinh_method", lambda m, a: a.sinh().cosh(), ONE[:2]),
    Row("sigmoid", lambda m, a: m.sigmoid(a), ONE),
    Row("relu", lambda m, a: m.relu(a), ONE, "nonzero"),
    Row("exp_method", lambda m, a: a.exp().log().sigmoid(), ONE[:2]),
    # selection
    Row("maximum", lambda m, a, b: m.maximum(a, b), BIN[:3], "distinct"),
    Row("minimum", lambda m, a, b: m.minimum(a, b), BIN[:3], "distinct"),
    Row("clamp", lambda m, a: m.clamp(a, -0.5, 0.5), ONE, "distinct"),
    Row("clamp_min", lambda m, a: m.clamp(a, min=0.1), ONE, "distinct"),
    Row("clamp_max", lambda m, a: a.clamp(max=-0.2), ONE, "distinct"),
    Row("clamp_inverted", lambda m, a: m.clamp(a, 0.5, -0.5), ONE[:2], "distinct"),
    Row("clamp_tensor", lambda m, a, b: m.clamp(a, min=b), BIN[:2], "distinct"),
    Row("where", lambda m, a, b: m.where(a > 0, a, b), BIN[:4]),
    Row("where_scalar", lambda m, a: m.where(a > 0, a, 0.5), ONE),
    # reductions over dim (int, negative, tuple, all) with keepdim
    *[Row(f"{op}_{dim}_{kd}", (lambda op, dim, kd: lambda m, a:
                               getattr(m, op)(a, dim=dim, keepdim=kd))(op, dim, kd), RED)
      for op in ("sum", "mean") for dim in (0, -1, (0, 2), (1,)) for kd in (False, True)],
    Row("sum_all", lambda m, a: m.sum(a), RED + [((),)]),
    Row("mean_all", lambda m, a: a.mean(), RED),
    *[Row(f"{op}_{dim}_{kd}", (lambda op, dim, kd: lambda m, a:
                               getattr(m, op)(a, dim=dim, keepdim=kd))(op, dim, kd), VAR)
      for op in ("var", "std") for dim in (1, (0, 2)) for kd in (False, True)],
    Row("var_all", lambda m, a: m.var(a), VAR),
    Row("std_all", lambda m, a: a.std(), VAR),
    Row("var_correction0", lambda m, a: m.var(a, dim=-1, correction=0), VAR),
    Row("std_unbiased_false", lambda m, a: m.std(a, 0, unbiased=False), VAR),
    *[Row(f"{op}_dim{dim}_{kd}", (lambda op, dim, kd: lambda m, a:
                                  getattr(m, op)(a, dim=dim, keepdim=kd))(op, dim, kd),
          RED + [((4,),)], "distinct")
      for op in ("max", "min") for dim in (0, -1) for kd in (False, True)],
    Row("sum_dim_empty", lambda m, a: m.sum(a, dim=(), keepdim=True) + a.mean(dim=()), RED),
    Row("reduce_0d", lambda m, a: a.sum(0) + a.mean(-1) + a.max(0)[0] + m.softmax(a, 0)
        + m.logsumexp(a, 0) + a.var(0, correction=0), [((),)]),
    Row("argmax", lambda m, a: (m.argmax(a, dim=1), a.argmin(-1, keepdim=True), a.argmax()),
        RED, "distinct", grad=False),
    Row("argmax_0d", lambda m, a: (m.argmax(a, 0), a.argmin()), [((),)], grad=False),
    Row("max_all", lambda m, a: m.max(a), RED, "distinct"),
    Row("min_all", lambda m, a: a.min(), RED, "distinct"),
    # softmax family
    *[Row(f"{op}_{dim}", (lambda op, dim: lambda m, a: getattr(m, op)(a, dim=dim))(op, dim),
          [((3, 4),), ((2, 3, 4),), ((5,),)] if dim == -1 else [((3, 4),), ((2, 3, 4),)])
      for op in ("softmax", "log_softmax") for dim in (0, -1)],
    Row("logsumexp_last", lambda m, a: m.logsumexp(a, dim=-1), [((3, 4),), ((2, 3, 4),)]),
    Row("logsumexp_tuple_keep", lambda m, a: m.logsumexp(a, dim=(0, 1), keepdim=True),
        [((3, 4),), ((2, 3, 4),)]),
    # movement
    Row("reshape", lambda m, a: a.reshape(2, 6), [((3, 4),), ((12,),)]),
    Row("reshape_infer", lambda m, a: m.reshape(a, (4, -1)), [((3, 4),), ((2, 2, 3),)]),
    Row("view", lambda m, a: a.view(-1), [((3, 4),), ((2, 1, 3),)]),
    Row("flatten", lambda m, a: m.flatten(a, 1), [((2, 3, 4),), ((2, 1, 1),)]),
    Row("flatten_all", lambda m, a: a.flatten(), [((2, 3, 4),)]),
    Row("transpose", lambda m, a: m.transpose(a, 0, 2), [((2, 3, 4),), ((1, 3, 2),)]),
    Row("transpose_neg", lambda m, a: a.transpose(-1, -2), [((3, 4),), ((2, 3, 4),)]),
    Row("permute", lambda m, a: a.permute(2, 0, 1), [((2, 3, 4),), ((2, 1, 3),)]),
    Row("squeeze_all", lambda m, a: a.squeeze(), [((3, 1, 4, 1),), ((1,),)]),
    Row("squeeze_dim", lambda m, a: m.squeeze(a, 1), [((3, 1, 4),), ((3, 2),)]),
    Row("unsqueeze", lambda m, a: m.unsqueeze(a, 0), [((3, 4),), ((),)]),
    Row("unsqueeze_neg", lambda m, a: a.unsqueeze(-1), [((3, 4),)]),
    Row("expand", lambda m, a: a.expand(2, 3, 4), [((3, 1),), ((4,),), ((1, 1, 4),)]),
    Row("expand_keep", lambda m, a: a.expand(-1, 5), [((3, 1),)]),
    Row("T", lambda m, a: a.T * 1, [((3, 4),), ((1, 4),)]),
    Row("mT", lambda m, a: a.mT, [((2, 3, 4),)]),
    # indexing: slices, integer arrays (repeated), boolean masks
    Row("index_slice", lambda m, a: a[1:3], [((4, 3),)]),
    Row("index_step", lambda m, a: a[:, ::2], [((3, 5),)]),
    Row("index_int", lambda m, a: a[1], [((3, 4),)]),
    Row("index_ellipsis_none", lambda m, a: a[..., None, 1], [((2, 3, 4),)]),
    Row("index_neg", lambda m, a: a[-1, -2:], [((3, 4),)]),
    Row("index_list", lambda m, a: a[[0, 2, 0, 0]], [((3, 4),)]),
    Row("index_array", lambda m, a: a[m.tensor(IDX)], [((3, 4),), ((3,),)]),
    Row("index_2d_arrays", lambda m, a: a[[0, 1, 1], [2, 2, 2]], [((3, 4),)]),
    Row("index_mixed", lambda m, a: a[1:, [3, 0, 3]], [((3, 4),)]),
    Row("index_mask", lambda m, a: a[m.tensor(MASK)], [((3, 4),)]),
    Row("index_mask_computed", lambda m, a: a[a > 0], [((3, 4),), ((2, 3, 2),)]),
    # joining and padding
    Row("cat0", lambda m, a, b: m.cat([a, b]), [((2, 3), (4, 3)), ((1,), (3,))]),
    Row("cat1_three", lambda m, a, b: m.cat([a, b, a], dim=1), [((2, 3), (2, 1))]),
    Row("cat_neg", lambda m, a, b: m.cat((a, b), -1), [((2, 2, 3), (2, 2, 2))]),
    Row("stack0", lambda m, a, b: m.stack([a, b]), [((2, 3), (2, 3)), ((), ())]),
    Row("stack_last", lambda m, a, b: m.stack([a, b, a], dim=-1), [((2, 3), (2, 3))]),
    Row("split_int", lambda m, a: a.split(2), [((5, 3),)]),
    Row("split_list", lambda m, a: m.split(a, [1, 3], dim=1), [((2, 4),)]),
    Row("pad_last", lambda m, a: cr_pad(a, (1, 2)), [((3, 4),), ((4,),)],
        twin=_torch_pad((1, 2))),
    Row("pad_two", lambda m, a: cr_pad(a, (1, 1, 2, 0), value=0.5), [((2, 3, 4),)],
        twin=_torch_pad((1, 1, 2, 0), 0.5)),
    # dtype conversion: float32 rounding needs a coarser finite difference
    Row("to_float32", lambda m, a: a.to(m.float32).to(m.float64) * 2, ONE, f32=False,
        check=dict(eps=1e-3, atol=1e-3, rtol=1e-2), gradgrad=False),
    Row("double_float", lambda m, a: a.double().float().double(), ONE[:2], f32=False,
        check=dict(eps=1e-3, atol=1e-3, rtol=1e-2), gradgrad=False),
    # the fused recurrent sequence ops (ops/recurrent.py): x (T, B, I), h0 (B, H), weights;
    # first order only (their backward refuses create_graph); torch's twin is torch._VF
    Row("rnn_sequence", lambda m, x, h, wi, wh, bi, bh: _rec(m, "rnn", x, h, wi, wh, bi, bh),
        [((4, 3, 2), (3, 3), (3, 2), (3, 3), (3,), (3,))], gradgrad=False),
    Row("lstm_sequence", lambda m, x, h, c, wi, wh, bi, bh: _rec(m, "lstm", x, (h, c), wi, wh,
                                                                   bi, bh),
        [((4, 3, 2), (3, 3), (3, 3), (12, 2), (12, 3), (12,), (12,))], gradgrad=False),
    Row("gru_sequence", lambda m, x, h, wi, wh, bi, bh: _rec(m, "gru", x, h, wi, wh, bi, bh),
        [((4, 3, 2), (3, 3), (9, 2), (9, 3), (9,), (9,))], gradgrad=False),
]
ROWS += _conv_rows.rows(Row)      # convolution, pooling, normalisation (tests/_conv_rows.py)


def _rec(m, kind, x, h, wi, wh, bi, bh):
    """One recurrent layer over a sequence: chainrule's fused op, or torch._VF's."""
    if m is cr:
        from chainrule.ops import recurrent as R
        if kind == "lstm":
            return R.lstm_sequence(x, h[0], h[1], wi, wh, bi, bh)
        return (R.gru_sequence if kind == "gru" else R.rnn_sequence)(x, h, wi, wh, bi, bh)
    vf = m._VF
    if kind == "lstm":
        out, hn, cn = vf.lstm(x, (h[0][None], h[1][None]), [wi, wh, bi, bh], True, 1, 0.0,
                              False, False, False)
        return out, hn[0], cn[0]
    fn = vf.gru if kind == "gru" else vf.rnn_tanh
    out, hn = fn(x, h[None], [wi, wh, bi, bh], True, 1, 0.0, False, False, False)
    return out, hn[0]
CASES = [pytest.param(r, i, id=f"{r.name}-{'x'.join(map(str, s)) or 'scalar'}")
         for r in ROWS for i, s in enumerate(r.shapes)]
GRAD_CASES = [c for c in CASES if c.values[0].grad]
# second derivatives on each row's first two shape cases (the costliest check: ~40 vjp evaluations)
GG_CASES = [c for c in GRAD_CASES if c.values[0].gradgrad and c.values[1] < 2]


def test_names_are_unique():
    assert len({r.name for r in ROWS}) == len(ROWS)


def _run(row, i, dtype=cr.float64, requires_grad=True):
    arrays = make_arrays(row.shapes[i], row.domain, seed=i)
    xs = cr_inputs(arrays, dtype, requires_grad and row.grad)
    return arrays, xs, as_list(row.fn(cr, *xs))


@pytest.mark.parametrize("row,i", GRAD_CASES)
def test_gradcheck(row, i):
    _, xs, _ = _run(row, i)
    assert cr.autograd.gradcheck(lambda *a: row.fn(cr, *a), tuple(xs), **row.check)


@pytest.mark.parametrize("row,i", GG_CASES)
def test_gradgradcheck(row, i):
    _, xs, _ = _run(row, i)
    assert cr.autograd.gradgradcheck(lambda *a: row.fn(cr, *a), tuple(xs), **row.check)


@pytest.mark.parametrize("row,i", CASES)
def test_against_torch(row, i):
    torch = pytest.importorskip("torch")
    arrays, xs, outs = _run(row, i)
    ts = torch_inputs(torch, arrays, row.grad)
    touts = as_list((row.twin or row.fn)(torch, *ts))
    assert len(outs) == len(touts)
    for k, (o, t) in enumerate(zip(outs, touts)):
        assert str(o.dtype) == str(t.dtype).replace("torch.", ""), f"output {k} dtype"
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
        assert g.dtype == cr.float64
        assert_close(g, tg, what=f"{row.name} grad of input {k}")


@pytest.mark.parametrize("row,i", [c for c in CASES if c.values[0].f32])
def test_float32_stays_float32(row, i):
    """No silent upcast: float32 inputs give float32 outputs and float32 gradients."""
    arrays, xs, outs = _run(row, i, cr.float32)
    _, _, ref = _run(row, i, cr.float64)
    for o, r in zip(outs, ref):
        if r.dtype == cr.float64:
            assert o.dtype == cr.float32, f"{row.name}: {o.dtype}"
        assert_close(o, r.detach().double() if r.dtype.kind == "f" else r, rtol=1e-4, atol=1e-5,
                     what=row.name)
    if row.grad:
        fo = float_outputs(outs)
        gs = cr.grad(fo, xs, [cr.ones_like(o) for o in fo], allow_unused=True)
        assert all(g is None or g.dtype == cr.float32 for g in gs)
