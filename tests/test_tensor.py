"""The Tensor object: construction, factories, dtypes and PyTorch's type promotion, attributes."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from _helpers import assert_close

import chainrule as cr


# ---------------------------------------------------------------------------------------------
# construction and dtypes
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("data,dtype", [
    (1.5, cr.float32), ([1.0, 2.0], cr.float32), ([[1, 2], [3, 4]], cr.int64), (3, cr.int64),
    ([True, False], cr.bool), ([1, 2.5], cr.float32), (np.float64(2.0), cr.float64),
    (np.arange(3, dtype=np.float64), cr.float64), (np.arange(3, dtype=np.int32), cr.int32),
    (np.ones(2, dtype=np.float32), cr.float32), (np.array([True]), cr.bool),
])
def test_tensor_infers_dtype_like_torch(data, dtype):
    t = cr.tensor(data)
    assert t.dtype == dtype
    assert_close(t, np.asarray(data).astype(dtype))


def test_tensor_dtype_argument_and_copy():
    src = np.array([1.0, 2.0])
    t = cr.tensor(src, dtype=cr.float32, requires_grad=True)
    assert t.dtype == cr.float32 and t.requires_grad and t.is_leaf and t.grad is None
    src[0] = 100.0
    assert t.detach().numpy()[0] == 1.0          # cr.tensor copies
    assert cr.tensor([1, 2], dtype=cr.float64).dtype == cr.float64
    assert cr.tensor([0.0, 1.0], dtype=cr.bool).dtype == cr.bool
    shared = cr.from_numpy(src)
    src[1] = 7.0
    assert shared.numpy()[1] == 7.0               # from_numpy shares


def test_default_dtype_constants():
    assert cr.float32 == np.float32 and cr.float64 == np.float64
    assert cr.int64 == np.int64 and cr.bool == np.bool_
    assert cr.get_default_dtype() == cr.float32


@pytest.mark.parametrize("make", [
    lambda: cr.tensor([1, 2], requires_grad=True),
    lambda: cr.tensor([True], requires_grad=True),
    lambda: cr.arange(3).requires_grad_(),
    lambda: cr.zeros(2, dtype=cr.int64, requires_grad=True),
])
def test_integer_and_bool_tensors_cannot_require_grad(make):
    with pytest.raises(RuntimeError, match="only floating point tensors can require gradients"):
        make()


@pytest.mark.parametrize("bad", [["a", "b"], [[1, 2], [3]], {"x": 1}, [1 + 2j]])
def test_tensor_rejects_non_numeric_data(bad):
    with pytest.raises((TypeError, ValueError)):
        cr.tensor(bad)


# ---------------------------------------------------------------------------------------------
# factories
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fn,args,value", [
    (cr.zeros, (2, 3), 0.0), (cr.ones, ((2, 3),), 1.0), (cr.empty, (2, 3), None),
])
def test_zeros_ones_empty(fn, args, value):
    t = fn(*args)
    assert t.shape == (2, 3) and t.dtype == cr.float32 and not t.requires_grad
    if value is not None:
        assert (t.numpy() == value).all()
    assert fn(*args, dtype=cr.float64, requires_grad=True).requires_grad


def test_full_arange_eye_linspace():
    assert_close(cr.full((2, 2), 3.5), np.full((2, 2), 3.5, np.float32))
    assert cr.full((2,), 3).dtype == cr.int64 and cr.full((2,), True).dtype == cr.bool
    assert cr.full((2,), 1.0, dtype=cr.float64).dtype == cr.float64
    assert_close(cr.arange(5), np.arange(5))
    assert cr.arange(5).dtype == cr.int64 and cr.arange(0.0, 1.0, 0.25).dtype == cr.float32
    assert_close(cr.arange(1, 7, 2), [1, 3, 5])
    assert_close(cr.eye(3), np.eye(3, dtype=np.float32))
    assert cr.eye(2, 3).shape == (2, 3)
    assert_close(cr.linspace(0, 1, 5), np.linspace(0, 1, 5).astype(np.float32))
    with pytest.raises(ValueError, match="step"):
        cr.arange(0, 3, 0)


def test_random_factories_are_seeded_and_shaped():
    cr.manual_seed(42)
    a = cr.randn(3, 4)
    cr.manual_seed(42)
    b = cr.randn(3, 4)
    assert a.shape == (3, 4) and a.dtype == cr.float32
    assert_close(a, b, rtol=0, atol=0)
    g1, g2 = cr.Generator().manual_seed(1), cr.Generator().manual_seed(1)
    assert_close(cr.rand(5, generator=g1), cr.rand(5, generator=g2), rtol=0, atol=0)
    u = cr.rand(2000, dtype=cr.float64)
    assert u.dtype == cr.float64 and 0 <= u.min().item() and u.max().item() < 1
    assert abs(u.mean().item() - 0.5) < 0.05
    n = cr.randn(4000, dtype=cr.float64)
    assert abs(n.mean().item()) < 0.1 and abs(n.std().item() - 1) < 0.1
    assert cr.randn(2, requires_grad=True).requires_grad


@pytest.mark.parametrize("name", ["zeros_like", "ones_like", "empty_like", "randn_like",
                                  "rand_like"])
def test_like_factories_keep_shape_and_dtype(name):
    x = cr.ones(2, 3, dtype=cr.float64)
    y = getattr(cr, name)(x)
    assert y.shape == (2, 3) and y.dtype == cr.float64 and not y.requires_grad
    assert getattr(cr, name)(x, dtype=cr.float32).dtype == cr.float32
    f = cr.full_like(x, 7.0)
    assert f.dtype == cr.float64 and (f.numpy() == 7).all()


# ---------------------------------------------------------------------------------------------
# attributes and methods
# ---------------------------------------------------------------------------------------------
def test_attributes():
    t = cr.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert t.shape == (2, 3) and t.ndim == 2 and t.dim() == 2
    assert t.size() == (2, 3) and t.size(1) == 3 and t.size(-1) == 3
    assert t.numel() == 6 and len(t) == 2
    assert t.T.shape == (3, 2) and t.T.numpy()[2, 1] == 6.0
    assert cr.tensor([2.5]).item() == 2.5 and isinstance(cr.tensor(3).item(), int)
    assert isinstance(t.numpy(), np.ndarray) and t.numpy().dtype == np.float32
    assert t.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    assert float(cr.tensor(1.5)) == 1.5 and int(cr.tensor(3)) == 3


def test_numpy_and_detach_and_requires_grad_():
    x = cr.tensor([1.0, 2.0]).requires_grad_()
    assert x.requires_grad
    with pytest.raises(RuntimeError, match="detach"):
        x.numpy()
    d = x.detach()
    assert not d.requires_grad and d.numpy() is x.detach().numpy() or \
        np.shares_memory(d.numpy(), x.detach().numpy())
    y = x * 2
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad_(False)
    x.requires_grad_(False)
    assert not x.requires_grad


def test_backward_with_gradient_argument():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * x
    y.backward(cr.tensor([1.0, 0.5, 0.0]))
    assert_close(x.grad, [2.0, 2.0, 0.0])
    assert x.grad.dtype == cr.float32


@pytest.mark.parametrize("t,expected", [
    (cr.tensor([1.0, 2.0]), "tensor([1., 2.])"),
    (cr.tensor([1, 2]), "tensor([1, 2])"),
    (cr.tensor([1.0], dtype=cr.float64), "tensor([1.], dtype=chainrule.float64)"),
    (cr.tensor([1.0], requires_grad=True), "tensor([1.], requires_grad=True)"),
    (cr.tensor([True]), "tensor([ True])"),
])
def test_repr(t, expected):
    assert repr(t) == expected


def test_repr_shows_grad_fn():
    y = cr.tensor([1.0], requires_grad=True) * 2
    assert "grad_fn=" in repr(y)


@pytest.mark.parametrize("method,dtype", [("float", cr.float32), ("double", cr.float64),
                                          ("long", cr.int64), ("bool", cr.bool)])
def test_conversions(method, dtype):
    t = getattr(cr.tensor([0.0, 1.5, -2.0], dtype=cr.float64), method)()
    assert t.dtype == dtype
    assert_close(t, np.array([0.0, 1.5, -2.0]).astype(dtype))
    assert cr.tensor([1, 2]).to(cr.float64).dtype == cr.float64
    assert cr.tensor([1, 2]).to(dtype=cr.float32).dtype == cr.float32


def test_to_keeps_graph_for_float_and_cuts_it_for_int():
    x = cr.tensor([1.5, 2.5], dtype=cr.float64, requires_grad=True)
    y = x.float()
    assert y.requires_grad and y.dtype == cr.float32
    (y * y).sum().backward()
    assert x.grad.dtype == cr.float64
    assert_close(x.grad, [3.0, 5.0])
    assert not x.long().requires_grad
    assert x.to(cr.float64) is x


# ---------------------------------------------------------------------------------------------
# type promotion (PyTorch's rules)
# ---------------------------------------------------------------------------------------------
def test_promotion_rules_from_the_issue():
    f32 = cr.ones(2)
    assert (f32 + 2.5).dtype == cr.float32
    assert (2.5 * f32).dtype == cr.float32
    assert (f32 + 2).dtype == cr.float32
    assert (cr.arange(3) + 1.5).dtype == cr.float32
    assert (cr.arange(3) + 1).dtype == cr.int64
    assert (cr.arange(3) / 2).dtype == cr.float32
    assert (f32 + cr.ones(2, dtype=cr.float64)).dtype == cr.float64
    assert (cr.arange(3) * cr.ones(3)).dtype == cr.float32
    assert (cr.tensor([True]) + cr.tensor([True])).dtype == cr.bool
    assert (cr.tensor([True]) + 1).dtype == cr.int64
    assert (cr.tensor([True]) * 1.5).dtype == cr.float32
    assert (f32 > 0).dtype == cr.bool


DTYPES = ["bool", "int32", "int64", "float32", "float64"]
SCALARS = [True, 3, 2.5]


def _tensor_of(lib, dtype, ndim):
    value = np.ones((2,) * ndim).astype(dtype)
    return lib.tensor(value) if lib is cr else lib.tensor(value, dtype=getattr(lib, dtype))


PROMOTION = [(op, a, b, nb) for op in ("add", "mul", "div", "maximum", "eq")
             for a, b in itertools.product(DTYPES, DTYPES) for nb in (1, 0)] + \
    [(op, a, s, None) for op in ("add", "mul", "div", "eq")   # torch.maximum takes no scalar
     for a in DTYPES for s in SCALARS] + \
    [("pow", a, b, nb) for a, b in itertools.product(DTYPES[1:], DTYPES[1:]) for nb in (1, 0)] + \
    [(op, a, s, None) for op in ("pow", "clamp") for a in DTYPES for s in SCALARS[1:]] + \
    [("sub", a, b, nb) for a, b in itertools.product(DTYPES[1:], DTYPES[1:]) for nb in (1, 0)]


@pytest.mark.parametrize("op,a,b,nb", PROMOTION)
def test_promotion_matches_torch_result_type(op, a, b, nb):
    torch = pytest.importorskip("torch")
    ca, ta = _tensor_of(cr, a, 1), _tensor_of(torch, a, 1)
    if nb is None:
        cb = tb = b
    else:
        cb, tb = _tensor_of(cr, b, nb), _tensor_of(torch, b, nb)
    if op == "clamp":
        expected, got = torch.clamp(ta, min=tb).dtype, cr.clamp(ca, min=cb).dtype
    else:
        expected, got = getattr(torch, op)(ta, tb).dtype, getattr(cr, op)(ca, cb).dtype
    assert str(got) == str(expected).replace("torch.", ""), f"{a} {op} {b!r} (ndim {nb})"
    promoted = cr.add(ca, cb).dtype
    assert str(promoted) == str(torch.result_type(ta, tb)).replace("torch.", "")


def test_set_default_dtype_drives_int_to_float_results():
    cr.set_default_dtype(cr.float64)
    try:
        i = cr.arange(3)
        assert cr.tensor([1.5]).dtype == cr.float64 and cr.ones(2).dtype == cr.float64
        for t in (cr.exp(i), i / 2, i ** 0.5, i + 0.5, cr.softmax(i, 0), cr.clamp(i, 0.5)):
            assert t.dtype == cr.float64
    finally:
        cr.set_default_dtype(cr.float32)
    assert cr.exp(cr.arange(3)).dtype == cr.float32 and (cr.arange(3) + 0.5).dtype == cr.float32
    with pytest.raises(TypeError, match="floating point"):
        cr.set_default_dtype(cr.int64)
