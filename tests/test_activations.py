"""Activation units (modules and functional) against PyTorch and closed forms.

One table row per unit: (name, module factory, torch reference, input domain).  Every row is
checked for forward and gradient against PyTorch in float64 (rtol 1e-7), with gradcheck, and for
float32 staying float32.
"""
import math

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from _helpers import assert_close, make_arrays

nn = cr.nn
SHAPES = [(7,), (3, 4), (2, 3, 5)]

# name, chainrule module factory, torch reference (torch, x) -> y, domain
UNITS = [
    ("sigmoid", nn.Sigmoid, lambda t, x: t.sigmoid(x), "real"),
    ("tanh", nn.Tanh, lambda t, x: t.tanh(x), "real"),
    ("relu", nn.ReLU, lambda t, x: t.relu(x), "nonzero"),
    ("leaky_relu", nn.LeakyReLU, lambda t, x: t.nn.functional.leaky_relu(x, 0.01), "nonzero"),
    ("leaky_relu_0.2", lambda: nn.LeakyReLU(0.2),
     lambda t, x: t.nn.functional.leaky_relu(x, 0.2), "nonzero"),
    ("abs", nn.AbsReLU, lambda t, x: t.abs(x), "nonzero"),
    ("elu", nn.ELU, lambda t, x: t.nn.functional.elu(x), "nonzero"),
    ("elu_0.5", lambda: nn.ELU(0.5), lambda t, x: t.nn.functional.elu(x, 0.5), "nonzero"),
    ("selu", nn.SELU, lambda t, x: t.nn.functional.selu(x), "nonzero"),
    ("softplus", nn.Softplus, lambda t, x: t.nn.functional.softplus(x), "real"),
    ("softplus_beta2", lambda: nn.Softplus(2.0, 1.0),
     lambda t, x: t.nn.functional.softplus(x, 2.0, 1.0), "nonzero"),
    ("gelu", nn.GELU, lambda t, x: t.nn.functional.gelu(x), "real"),
    ("gelu_tanh", lambda: nn.GELU("tanh"),
     lambda t, x: t.nn.functional.gelu(x, approximate="tanh"), "real"),
    ("silu", nn.SiLU, lambda t, x: t.nn.functional.silu(x), "real"),
    ("hardtanh", nn.Hardtanh, lambda t, x: t.nn.functional.hardtanh(x), "nonzero"),
    ("hardtanh_wide", lambda: nn.Hardtanh(-0.5, 0.7),
     lambda t, x: t.nn.functional.hardtanh(x, -0.5, 0.7), "nonzero"),
    ("logsigmoid", nn.LogSigmoid, lambda t, x: t.nn.functional.logsigmoid(x), "real"),
    ("softmax", lambda: nn.Softmax(dim=-1), lambda t, x: t.softmax(x, -1), "real"),
    ("log_softmax", lambda: nn.LogSoftmax(dim=0), lambda t, x: t.log_softmax(x, 0), "real"),
    ("torch_threshold", lambda: nn.Threshold(0.1, -2.0),
     lambda t, x: t.nn.functional.threshold(x, 0.1, -2.0), "nonzero"),
    ("identity", nn.Identity, lambda t, x: x * 1, "real"),
    ("prelu", nn.PReLU, lambda t, x: t.nn.functional.prelu(x, t.tensor([0.25], dtype=x.dtype)),
     "nonzero"),
]
IDS = [u[0] for u in UNITS]

_erf = np.vectorize(math.erf)
_A, _S = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
# closed forms in NumPy (float64), checked whether or not torch is installed
CLOSED = {
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)), "tanh": np.tanh,
    "relu": lambda x: np.maximum(x, 0), "leaky_relu": lambda x: np.where(x > 0, x, 0.01 * x),
    "leaky_relu_0.2": lambda x: np.where(x > 0, x, 0.2 * x), "abs": np.abs,
    "elu": lambda x: np.where(x > 0, x, np.expm1(x)),
    "elu_0.5": lambda x: np.where(x > 0, x, 0.5 * np.expm1(x)),
    "selu": lambda x: _S * np.where(x > 0, x, _A * np.expm1(x)),
    "softplus": lambda x: np.log1p(np.exp(x)),
    "softplus_beta2": lambda x: np.where(2 * x > 1, x, np.log1p(np.exp(2 * x)) / 2),
    "gelu": lambda x: 0.5 * x * (1 + _erf(x / np.sqrt(2))),
    "gelu_tanh": lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3))),
    "silu": lambda x: x / (1 + np.exp(-x)), "hardtanh": lambda x: np.clip(x, -1, 1),
    "hardtanh_wide": lambda x: np.clip(x, -0.5, 0.7),
    "logsigmoid": lambda x: -np.log1p(np.exp(-x)),
    "softmax": lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True),
    "log_softmax": lambda x: x - np.log(np.exp(x).sum(0, keepdims=True)),
    "torch_threshold": lambda x: np.where(x > 0.1, x, -2.0), "identity": lambda x: x,
    "prelu": lambda x: np.maximum(x, 0) + 0.25 * np.minimum(x, 0),
}


def _run(module, arr, seed_grad):
    x = cr.tensor(arr, dtype=cr.float64, requires_grad=True)
    y = module(x)
    y.backward(cr.tensor(seed_grad))
    return y, x.grad


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name,make,ref,domain", UNITS, ids=IDS)
def test_unit_matches_torch_float64(name, make, ref, domain, shape):
    torch = pytest.importorskip("torch")
    (a,) = make_arrays([shape], domain, seed=len(shape))
    g = np.random.default_rng(1).standard_normal(shape)
    m = make().double()
    y, gx = _run(m, a, g)
    xt = torch.tensor(a, requires_grad=True)
    yt = ref(torch, xt)
    yt.backward(torch.tensor(g))
    assert_close(y, yt, what=f"{name} forward")
    assert_close(gx, xt.grad, what=f"{name} gradient")


@pytest.mark.parametrize("name,make,ref,domain", UNITS, ids=IDS)
def test_unit_matches_closed_form(name, make, ref, domain):
    (a,) = make_arrays([(3, 4)], domain, seed=4)
    y = make().double()(cr.tensor(a, dtype=cr.float64))
    assert_close(y, CLOSED[name](a), rtol=1e-12, what=name)


@pytest.mark.parametrize("name,make,ref,domain", UNITS, ids=IDS)
def test_unit_gradcheck(name, make, ref, domain):
    (a,) = make_arrays([(2, 3)], domain, seed=3)
    m = make().double()
    x = cr.tensor(a, dtype=cr.float64, requires_grad=True)
    assert cr.autograd.gradcheck(m, (x,))


@pytest.mark.parametrize("name,make,ref,domain", UNITS, ids=IDS)
def test_unit_keeps_float32(name, make, ref, domain):
    x = cr.randn(4, 3, requires_grad=True)
    m = make()
    y = m(x)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32
    for p in m.parameters():
        assert p.grad.dtype == np.float32


def test_softplus_is_stable_at_extremes():
    torch = pytest.importorskip("torch")
    a = np.array([-800.0, -40.0, -1e-3, 0.0, 19.9, 20.1, 40.0, 800.0])
    y, gx = _run(nn.Softplus(), a, np.ones_like(a))
    xt = torch.tensor(a, requires_grad=True)
    yt = torch.nn.functional.softplus(xt)
    yt.sum().backward()
    assert np.all(np.isfinite(y.detach().numpy()))
    assert_close(y, yt, what="softplus extremes")
    assert_close(gx, xt.grad, what="softplus extreme gradient")


def test_elu_selu_no_nan_gradient_for_large_inputs():
    a = np.array([-50.0, 1.0, 500.0, 1000.0])
    for m in (nn.ELU(), nn.SELU()):
        _, gx = _run(m, a, np.ones_like(a))
        assert np.all(np.isfinite(gx.numpy()))


def test_erf_matches_math_erf_on_a_grid():
    from chainrule.ops.special import erf_array
    x = np.linspace(-7, 7, 4001)
    ref = np.array([math.erf(v) for v in x])
    np.testing.assert_allclose(erf_array(x), ref, rtol=1e-14, atol=1e-16)
    assert erf_array(x.astype(np.float32)).dtype == np.float32


def test_gelu_second_derivative():
    x = cr.tensor([-1.3, -0.2, 0.4, 2.1], dtype=cr.float64, requires_grad=True)
    assert cr.autograd.gradgradcheck(F.gelu, (x,))


def test_prelu_learns_slope_and_matches_notes_formula():
    m = nn.PReLU(num_parameters=3, init=0.1).double()
    a = make_arrays([(4, 3, 2)], "nonzero")[0]
    x = cr.tensor(a, dtype=cr.float64)
    y = m(x)
    w = np.array([0.1, 0.1, 0.1]).reshape(3, 1)
    expected = np.maximum(0, a) + w * np.minimum(0, a)     # g(s, a) = max(0,s) + a min(0,s)
    assert_close(y, expected)
    y.sum().backward()
    assert_close(m.weight.grad, np.minimum(0, a).sum(axis=(0, 2)))


def test_prelu_channel_mismatch_error():
    with pytest.raises(RuntimeError, match="prelu.*3 elements.*shape \\(2, 4\\)"):
        nn.PReLU(3)(cr.randn(2, 4))


def test_step_hard_threshold_has_zero_gradient():
    x = cr.tensor([-2.0, -0.0, 0.0, 0.5, 3.0], requires_grad=True)
    y = nn.Step()(x)
    assert y.tolist() == [0.0, 0.0, 0.0, 1.0, 1.0]
    (y * cr.tensor([1.0, 2, 3, 4, 5])).sum().backward()
    assert x.grad.tolist() == [0.0] * 5
    assert nn.HardThreshold is nn.Step


def test_maxout_matches_group_max_and_routes_gradient():
    torch = pytest.importorskip("torch")
    cr.manual_seed(1)
    m = nn.Maxout(5, 3, pieces=4).double()
    a = make_arrays([(6, 5)])[0]
    x = cr.tensor(a, dtype=cr.float64, requires_grad=True)
    y = m(x)
    assert y.shape == (6, 3)
    W = m.linear.weight.detach().numpy()
    b = m.linear.bias.detach().numpy()
    xt = torch.tensor(a, requires_grad=True)
    Wt, bt = torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True)
    yt = (xt @ Wt.T + bt).reshape(6, 3, 4).amax(-1)
    assert_close(y, yt)
    g = np.random.default_rng(2).standard_normal((6, 3))
    y.backward(cr.tensor(g))
    yt.backward(torch.tensor(g))
    assert_close(x.grad, xt.grad)
    assert_close(m.linear.weight.grad, Wt.grad)
    assert repr(m) == ("Maxout(\n  in_features=5, out_features=3, pieces=4\n  (linear): "
                       "Linear(in_features=5, out_features=12, bias=True)\n)")


def test_maxout_bad_width():
    with pytest.raises(RuntimeError, match="Maxout\\(5 -> 3 x 4\\) got input of shape"):
        nn.Maxout(5, 3, 4)(cr.randn(2, 6))


def test_one_hot():
    assert F.one_hot(cr.tensor([2, 0]), 4).tolist() == [[0, 0, 1, 0], [1, 0, 0, 0]]
    with pytest.raises(RuntimeError, match="class values must be in"):
        F.one_hot(cr.tensor([3]), 3)


def test_tanh_sigmoid_identity_from_notes():
    x = cr.linspace(-3, 3, 13, dtype=cr.float64)
    assert_close(F.tanh(x), 2 * F.sigmoid(2 * x) - 1)


@pytest.mark.parametrize("make,text", [
    (nn.ReLU, "ReLU()"), (nn.LeakyReLU, "LeakyReLU(negative_slope=0.01)"),
    (nn.ELU, "ELU(alpha=1.0)"), (nn.Softplus, "Softplus(beta=1.0, threshold=20.0)"),
    (nn.GELU, "GELU(approximate='none')"), (lambda: nn.Softmax(1), "Softmax(dim=1)"),
    (nn.Hardtanh, "Hardtanh(min_val=-1.0, max_val=1.0)"), (nn.PReLU, "PReLU(num_parameters=1)"),
    (nn.Sigmoid, "Sigmoid()"), (nn.Tanh, "Tanh()"), (nn.SiLU, "SiLU()"),
])
def test_repr_matches_torch(make, text):
    assert repr(make()) == text


@pytest.mark.parametrize("call,exc,match", [
    (lambda: nn.GELU("fast"), ValueError, "approximate"),
    (lambda: nn.Hardtanh(1.0, -1.0), ValueError, "min_val"),
    (lambda: F.softmax(cr.randn(3)), TypeError, "dim"),
    (lambda: F.maxout(cr.randn(2, 7), 3), RuntimeError, "multiple of pieces=3"),
])
def test_bad_arguments(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
