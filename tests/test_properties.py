"""Property tests (hypothesis): broadcasting and reductions against NumPy on random shapes."""
from __future__ import annotations

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

from _helpers import assert_close  # noqa: E402

import chainrule as cr  # noqa: E402

SETTINGS = settings(max_examples=40, deadline=None)


def np_sum_to(g, shape):
    """NumPy's own statement of "undo broadcasting": sum leading axes, then the size-1 ones."""
    g = g.sum(axis=tuple(range(g.ndim - len(shape))))
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and g.shape[i] != 1)
    return g.sum(axis=axes, keepdims=True).reshape(shape)


# op: (chainrule function, NumPy forward, d/da, d/db) with a, b already broadcast
BINARY = {
    "add": (lambda a, b: a + b, np.add, lambda a, b: np.ones_like(a), lambda a, b: np.ones_like(b)),
    "sub": (lambda a, b: a - b, np.subtract, lambda a, b: np.ones_like(a),
            lambda a, b: -np.ones_like(b)),
    "mul": (lambda a, b: a * b, np.multiply, lambda a, b: b, lambda a, b: a),
    "div": (lambda a, b: a / b, np.divide, lambda a, b: 1 / b, lambda a, b: -a / b ** 2),
    "maximum": (cr.maximum, np.maximum, lambda a, b: (a > b) * 1.0, lambda a, b: (b > a) * 1.0),
}


@SETTINGS
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4,
                                                max_side=4),
       op=st.sampled_from(sorted(BINARY)), seed=st.integers(0, 2 ** 16),
       dtype=st.sampled_from([cr.float32, cr.float64]))
def test_broadcast_binary_forward_and_gradient(shapes, op, seed, dtype):
    fn, np_fn, da, db = BINARY[op]
    sa, sb = shapes.input_shapes
    rng = np.random.default_rng(seed)
    A = rng.uniform(0.5, 2.0, sa).astype(dtype)            # positive: safe for div
    B = rng.uniform(0.5, 2.0, sb).astype(dtype)
    a = cr.tensor(A, requires_grad=True)
    b = cr.tensor(B, requires_grad=True)
    out = fn(a, b)
    assert out.shape == shapes.result_shape and out.dtype == dtype
    tol = dict(rtol=1e-6, atol=1e-6) if dtype == cr.float32 else dict(rtol=1e-12, atol=1e-12)
    assert_close(out, np_fn(A, B), **tol)
    G = rng.standard_normal(out.shape).astype(dtype)
    out.backward(cr.tensor(G))
    Ab, Bb = np.broadcast_to(A, out.shape), np.broadcast_to(B, out.shape)
    assert a.grad.shape == sa and b.grad.shape == sb
    assert a.grad.dtype == dtype and b.grad.dtype == dtype
    assert_close(a.grad, np_sum_to(G * da(Ab, Bb), sa), **tol)
    assert_close(b.grad, np_sum_to(G * db(Ab, Bb), sb), **tol)


@st.composite
def shape_and_dims(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4))
    axes = draw(st.lists(st.integers(0, len(shape) - 1), unique=True, min_size=1,
                         max_size=len(shape)))
    negative = draw(st.booleans())
    axes = [a - len(shape) if negative else a for a in axes]
    dim = axes[0] if len(axes) == 1 and draw(st.booleans()) else tuple(axes)
    return shape, dim


def _np_axes(dim, ndim):
    return tuple(d % ndim for d in ((dim,) if isinstance(dim, int) else dim))


@SETTINGS
@given(sd=shape_and_dims(), keepdim=st.booleans(), seed=st.integers(0, 2 ** 16),
       op=st.sampled_from(["sum", "mean", "var", "std", "logsumexp"]))
def test_reductions_match_numpy_and_grad_has_input_shape(sd, keepdim, seed, op):
    shape, dim = sd
    axes = _np_axes(dim, len(shape))
    n = int(np.prod([shape[a] for a in axes]))
    hypothesis.assume(op != "std" or n > 1)     # std of one value: 0, with a 0/0 gradient
    X = np.random.default_rng(seed).standard_normal(shape)
    x = cr.tensor(X, dtype=cr.float64, requires_grad=True)
    if op in ("var", "std"):
        y = getattr(cr, op)(x, dim=dim, keepdim=keepdim, correction=0)
        expected = getattr(np, op)(X, axis=axes, keepdims=keepdim, ddof=0)
    elif op == "logsumexp":
        y = cr.logsumexp(x, dim=dim, keepdim=keepdim)
        m = X.max(axis=axes, keepdims=True)
        expected = np.log(np.exp(X - m).sum(axis=axes, keepdims=True)) + m
        expected = expected if keepdim else expected.squeeze(axes)
    else:
        y = getattr(cr, op)(x, dim=dim, keepdim=keepdim)
        expected = getattr(np, op)(X, axis=axes, keepdims=keepdim)
    assert_close(y, expected, rtol=1e-10, atol=1e-12)
    y.sum().backward()
    assert x.grad.shape == x.shape
    if op == "sum":
        assert_close(x.grad, np.ones(shape))
    elif op == "mean":
        assert_close(x.grad, np.full(shape, 1.0 / n))
    elif op == "var":                       # d/dx sum (x - mean)^2 / n = 2 (x - mean) / n
        assert_close(x.grad, 2 * (X - X.mean(axis=axes, keepdims=True)) / n, atol=1e-12)
    elif op == "std":                       # (x - mean) / (n std)
        c = X - X.mean(axis=axes, keepdims=True)
        assert_close(x.grad, c / (n * X.std(axis=axes, keepdims=True)), rtol=1e-9, atol=1e-12)
    elif op == "logsumexp":                 # softmax over the reduced axes
        m = X.max(axis=axes, keepdims=True)
        e = np.exp(X - m)
        assert_close(x.grad, e / e.sum(axis=axes, keepdims=True), atol=1e-12)


@SETTINGS
@given(shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=5),
       data=st.data(), keepdim=st.booleans(), seed=st.integers(0, 2 ** 16),
       is_max=st.booleans())
def test_max_min_over_dim_match_numpy(shape, data, keepdim, seed, is_max):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    X = np.random.default_rng(seed).permutation(int(np.prod(shape))).reshape(shape) * 0.5
    x = cr.tensor(X, dtype=cr.float64, requires_grad=True)
    values, indices = (cr.max if is_max else cr.min)(x, dim=dim, keepdim=keepdim)
    np_arg = (np.argmax if is_max else np.argmin)(X, axis=dim, keepdims=keepdim)
    assert_close(values, (np.max if is_max else np.min)(X, axis=dim, keepdims=keepdim))
    assert indices.dtype == cr.int64
    assert_close(indices, np_arg)
    values.sum().backward()
    onehot = np.zeros(shape)
    np.put_along_axis(onehot, np.expand_dims((np.argmax if is_max else np.argmin)(X, axis=dim),
                                             dim), 1.0, dim)
    assert_close(x.grad, onehot)


@SETTINGS
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4),
       seed=st.integers(0, 2 ** 16), data=st.data())
def test_softmax_rows_sum_to_one_and_match_log_softmax(shape, seed, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    X = np.random.default_rng(seed).standard_normal(shape) * 30
    x = cr.tensor(X, dtype=cr.float64)
    p = cr.softmax(x, dim=dim)
    assert_close(p.sum(dim=dim), np.ones(np.delete(shape, dim % len(shape))), rtol=1e-12)
    assert_close(cr.log_softmax(x, dim=dim).exp(), p, rtol=1e-10, atol=1e-300)
