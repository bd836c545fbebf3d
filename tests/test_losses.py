"""Costs (modules and functional) against PyTorch in float64, gradcheck, and bad inputs."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from _helpers import assert_close

nn = cr.nn
pytestmark = pytest.mark.filterwarnings("ignore:reduction.*mean.*divides:UserWarning")
REDUCTIONS = ["mean", "sum", "none"]
SHAPES = [(6,), (4, 3), (2, 3, 4)]


def _rng(seed=0):
    return np.random.default_rng(seed)


# -- inputs: name -> function(rng, shape) -> list of float64 arrays (the differentiable args) --
def _reg(rng, s):
    return [rng.standard_normal(s), rng.standard_normal(s)]


def _prob(rng, s):
    return [rng.uniform(0.05, 0.95, s), rng.uniform(0, 1, s)]


def _logits_bin(rng, s):
    return [rng.standard_normal(s) * 3, rng.uniform(0, 1, s)]


def _gauss(rng, s):
    return [rng.standard_normal(s), rng.standard_normal(s), rng.uniform(0.2, 2, s)]


def _kl(rng, s):
    p = rng.uniform(0.1, 1, s)
    return [np.log(rng.uniform(0.1, 1, s)), p / p.sum()]


# name, input maker, chainrule fn(*tensors, reduction), torch fn(F, *tensors, reduction)
ELEMENTWISE = [
    ("mse", _reg, lambda a, b, r: F.mse_loss(a, b, reduction=r),
     lambda tf, a, b, r: tf.mse_loss(a, b, reduction=r)),
    ("l1", _reg, lambda a, b, r: F.l1_loss(a, b, reduction=r),
     lambda tf, a, b, r: tf.l1_loss(a, b, reduction=r)),
    ("huber", _reg, lambda a, b, r: F.huber_loss(a, b, reduction=r, delta=0.7),
     lambda tf, a, b, r: tf.huber_loss(a, b, reduction=r, delta=0.7)),
    ("smooth_l1", _reg, lambda a, b, r: F.smooth_l1_loss(a, b, reduction=r, beta=0.5),
     lambda tf, a, b, r: tf.smooth_l1_loss(a, b, reduction=r, beta=0.5)),
    ("bce", _prob, lambda a, b, r: F.binary_cross_entropy(a, b, reduction=r),
     lambda tf, a, b, r: tf.binary_cross_entropy(a, b, reduction=r)),
    ("bce_logits", _logits_bin,
     lambda a, b, r: F.binary_cross_entropy_with_logits(a, b, reduction=r),
     lambda tf, a, b, r: tf.binary_cross_entropy_with_logits(a, b, reduction=r)),
    ("gaussian_nll", _gauss, lambda a, b, v, r: F.gaussian_nll_loss(a, b, v, reduction=r),
     lambda tf, a, b, v, r: tf.gaussian_nll_loss(a, b, v, reduction=r)),
    ("gaussian_nll_full", _gauss,
     lambda a, b, v, r: F.gaussian_nll_loss(a, b, v, full=True, reduction=r),
     lambda tf, a, b, v, r: tf.gaussian_nll_loss(a, b, v, full=True, reduction=r)),
    ("kl_div", _kl, lambda a, b, r: F.kl_div(a, b, reduction=r),
     lambda tf, a, b, r: tf.kl_div(a, b, reduction=r)),
    ("kl_div_log_target", _kl, lambda a, b, r: F.kl_div(a, b.log(), reduction=r, log_target=True),
     lambda tf, a, b, r: tf.kl_div(a, b.log(), reduction=r, log_target=True)),
]
EIDS = [e[0] for e in ELEMENTWISE]


def _compare(torch, arrays, fn, tfn, reduction, what):
    xs = [cr.tensor(a, dtype=cr.float64, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*xs, reduction)
    ref = tfn(torch.nn.functional, *ts, reduction)
    assert_close(out, ref, what=f"{what} value")
    g = _rng(9).standard_normal(tuple(ref.shape))
    out.backward(cr.tensor(g))
    ref.backward(torch.tensor(g))
    for i, (x, t) in enumerate(zip(xs, ts)):
        assert_close(x.grad, t.grad, what=f"{what} gradient of argument {i}")


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name,make,fn,tfn", ELEMENTWISE, ids=EIDS)
def test_elementwise_loss_matches_torch(name, make, fn, tfn, shape, reduction):
    torch = pytest.importorskip("torch")
    _compare(torch, make(_rng(len(shape)), shape), fn, tfn, reduction, name)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name,make,fn,tfn", ELEMENTWISE, ids=EIDS)
def test_elementwise_loss_gradcheck(name, make, fn, tfn, reduction):
    xs = [cr.tensor(a, dtype=cr.float64, requires_grad=True) for a in make(_rng(5), (2, 3))]
    assert cr.autograd.gradcheck(lambda *t: fn(*t, reduction), xs)


def _softplus(z):
    return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))


# pointwise closed forms (NumPy, float64): checked with or without torch
CLOSED = {
    "mse": lambda a, b: (a - b) ** 2, "l1": lambda a, b: np.abs(a - b),
    "huber": lambda a, b: np.where(np.abs(a - b) < 0.7, 0.5 * (a - b) ** 2,
                                   0.7 * (np.abs(a - b) - 0.35)),
    "smooth_l1": lambda a, b: np.where(np.abs(a - b) < 0.5, (a - b) ** 2,
                                       np.abs(a - b) - 0.25),
    "bce": lambda a, b: -(b * np.log(a) + (1 - b) * np.log(1 - a)),
    "bce_logits": lambda a, b: (1 - b) * a + _softplus(-a),
    "gaussian_nll": lambda a, b, v: 0.5 * (np.log(v) + (a - b) ** 2 / v),
    "gaussian_nll_full": lambda a, b, v: 0.5 * (np.log(v) + (a - b) ** 2 / v + np.log(2 * np.pi)),
    "kl_div": lambda a, b: b * (np.log(b) - a),
    "kl_div_log_target": lambda a, b: b * (np.log(b) - a),
}


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name,make,fn,tfn", ELEMENTWISE, ids=EIDS)
def test_elementwise_loss_closed_form(name, make, fn, tfn, reduction):
    arrays = make(_rng(11), (3, 4))
    out = fn(*[cr.tensor(a, dtype=cr.float64) for a in arrays], reduction)
    point = CLOSED[name](*arrays)
    expected = {"mean": point.mean(), "sum": point.sum(), "none": point}[reduction]
    assert_close(out, expected, rtol=1e-12, what=name)


def test_kl_div_batchmean():
    torch = pytest.importorskip("torch")
    a, b = _kl(_rng(), (4, 5))
    _compare(torch, [a, b], lambda x, y, r: F.kl_div(x, y, reduction=r),
             lambda tf, x, y, r: tf.kl_div(x, y, reduction=r), "batchmean", "kl batchmean")


def test_bce_with_logits_weights_and_extremes():
    torch = pytest.importorskip("torch")
    rng = _rng(3)
    x = np.array([[-200.0, -40.0, 0.3], [40.0, 200.0, -1.2]])
    y = rng.uniform(0, 1, (2, 3))
    y[0, 0], y[1, 1] = 0.0, 1.0
    w, pw = rng.uniform(0.5, 2, (3,)), rng.uniform(0.5, 3, (3,))
    for r in REDUCTIONS:
        _compare(torch, [x, y],
                 lambda a, b, r: F.binary_cross_entropy_with_logits(
                     a, b, weight=cr.tensor(w), pos_weight=cr.tensor(pw), reduction=r),
                 lambda tf, a, b, r: tf.binary_cross_entropy_with_logits(
                     a, b, weight=torch.tensor(w), pos_weight=torch.tensor(pw), reduction=r),
                 r, "bce_with_logits weights")


def test_bce_clamps_log_like_torch():
    torch = pytest.importorskip("torch")
    x = np.array([0.0, 1.0, 0.5])
    y = np.array([1.0, 0.0, 0.5])
    out = F.binary_cross_entropy(cr.tensor(x), cr.tensor(y), reduction="none")
    ref = torch.nn.functional.binary_cross_entropy(torch.tensor(x), torch.tensor(y),
                                                   reduction="none")
    assert_close(out, ref)
    assert out.tolist()[:2] == [100.0, 100.0]


@pytest.mark.parametrize("make", [
    lambda: (F.mse_loss, (cr.randn(4, 3), cr.randn(4, 3))),
    lambda: (F.binary_cross_entropy_with_logits, (cr.randn(4, 3), cr.rand(4, 3))),
    lambda: (F.cross_entropy, (cr.randn(4, 3), cr.tensor([0, 1, 2, 0]))),
    lambda: (F.cross_entropy, (cr.randn(4, 3, 2), cr.randint(0, 3, (4, 2)))),
    lambda: (F.nll_loss, (F.log_softmax(cr.randn(4, 3), 1), cr.tensor([0, 1, 2, 0]))),
    lambda: (F.huber_loss, (cr.randn(5), cr.randn(5))),
    lambda: (F.gaussian_nll_loss, (cr.randn(4, 2), cr.randn(4, 2), cr.rand(4))),
    lambda: (F.kl_div, (cr.randn(3, 2), cr.rand(3, 2))),
], ids=["mse", "bce_logits", "ce", "ce_nd", "nll", "huber", "gauss", "kl"])
def test_losses_keep_float32(make):
    fn, (x, t, *rest) = make()
    x.requires_grad_()
    loss = fn(x, t, *rest)
    assert loss.dtype == np.float32
    loss.backward()
    assert x.grad.dtype == np.float32


@pytest.mark.parametrize("module,args", [
    (nn.MSELoss(reduction="sum"), (cr.randn(3, 2), cr.randn(3, 2))),
    (nn.L1Loss(), (cr.randn(3, 2), cr.randn(3, 2))),
    (nn.HuberLoss(delta=0.5), (cr.randn(3, 2), cr.randn(3, 2))),
    (nn.BCELoss(), (cr.rand(3, 2), cr.rand(3, 2))),
    (nn.BCEWithLogitsLoss(pos_weight=cr.tensor([2.0, 1.0])), (cr.randn(3, 2), cr.rand(3, 2))),
    (nn.CrossEntropyLoss(label_smoothing=0.1), (cr.randn(3, 4), cr.tensor([0, 3, 1]))),
    (nn.NLLLoss(ignore_index=1), (cr.randn(3, 4), cr.tensor([0, 3, 1]))),
    (nn.KLDivLoss(reduction="batchmean"), (cr.randn(3, 2), cr.rand(3, 2))),
], ids=lambda v: type(v).__name__ if isinstance(v, nn.Module) else "")
def test_loss_modules_equal_functional(module, args):
    name = type(module).__name__
    fn = {"MSELoss": F.mse_loss, "L1Loss": F.l1_loss, "HuberLoss": F.huber_loss,
          "BCELoss": F.binary_cross_entropy, "BCEWithLogitsLoss":
          lambda a, b, reduction: F.binary_cross_entropy_with_logits(
              a, b, pos_weight=module.pos_weight, reduction=reduction),
          "CrossEntropyLoss": lambda a, b, reduction: F.cross_entropy(
              a, b, label_smoothing=0.1, reduction=reduction),
          "NLLLoss": lambda a, b, reduction: F.nll_loss(a, b, ignore_index=1,
                                                        reduction=reduction),
          "KLDivLoss": F.kl_div}[name]
    kw = {"delta": 0.5} if name == "HuberLoss" else {}
    assert_close(module(*args), fn(*args, reduction=module.reduction, **kw), what=name)


def test_gaussian_nll_homoscedastic_and_eps_clamp():
    torch = pytest.importorskip("torch")
    rng = _rng(7)
    x, y = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    v = np.array([0.5, 1e-9, 2.0, 0.3])          # one entry below eps: clamped, grad still flows
    _compare(torch, [x, y, v], lambda a, b, c, r: F.gaussian_nll_loss(a, b, c, reduction=r),
             lambda tf, a, b, c, r: tf.gaussian_nll_loss(a, b, c, reduction=r), "mean",
             "gaussian homoscedastic")


# ------------------------------------------------------------------------------ bad inputs
BAD = [
    ("mse shape", lambda: F.mse_loss(cr.randn(4, 1), cr.randn(4)), ValueError,
     r"mse_loss: target shape \(4,\) differs from input shape \(4, 1\)"),
    ("bce range", lambda: F.binary_cross_entropy(cr.randn(4) + 5, cr.rand(4)), RuntimeError,
     "between 0 and 1"),
    ("bce shape", lambda: F.binary_cross_entropy(cr.rand(3), cr.rand(3, 1)), ValueError,
     "binary_cross_entropy: target shape"),
    ("ce out of range", lambda: F.cross_entropy(cr.randn(3, 4), cr.tensor([0, 4, 1])),
     IndexError, r"cross_entropy: target contains class index 4, out of range for 4 classes "
     r"\(input shape \(3, 4\)"),
    ("ce negative", lambda: F.cross_entropy(cr.randn(3, 4), cr.tensor([0, -1, 1])),
     IndexError, "class index -1"),
    ("ce target shape", lambda: F.cross_entropy(cr.randn(3, 4), cr.tensor([0, 1])),
     ValueError, r"input of shape \(3, 4\) expects a target of shape \(3,\), got \(2,\)"),
    ("ce prob shape", lambda: F.cross_entropy(cr.randn(3, 4), cr.rand(3, 3)), ValueError,
     "probability targets"),
    ("ce reduction", lambda: F.cross_entropy(cr.randn(3, 4), cr.tensor([0, 1, 2]),
                                             reduction="avg"), ValueError, "reduction"),
    ("ce weight shape", lambda: F.cross_entropy(cr.randn(3, 4), cr.tensor([0, 1, 2]),
                                                weight=cr.ones(3)), ValueError, "weight"),
    ("nll float target", lambda: F.nll_loss(cr.randn(3, 4), cr.tensor([0.0, 1.0, 2.0])),
     TypeError, r"nll_loss: expected target of integer dtype .* got .*float32 with shape \(3,\)"),
    ("nll out of range", lambda: F.nll_loss(cr.randn(2, 3), cr.tensor([3, 0])), IndexError,
     "nll_loss: target contains class index 3"),
    ("gauss var", lambda: F.gaussian_nll_loss(cr.randn(4, 3), cr.randn(4, 3), cr.rand(4, 2)),
     ValueError, r"var of shape \(4, 2\)"),
    ("gauss negative", lambda: F.gaussian_nll_loss(cr.randn(2), cr.randn(2),
                                                   cr.tensor([1.0, -1.0])), ValueError,
     "negative"),
    ("huber delta", lambda: F.huber_loss(cr.randn(2), cr.randn(2), delta=0), ValueError, "delta"),
    ("kl reduction", lambda: F.kl_div(cr.randn(2), cr.rand(2), reduction="x"), ValueError,
     "batchmean"),
]


@pytest.mark.parametrize("name,call,exc,match", BAD, ids=[b[0] for b in BAD])
def test_bad_inputs_raise_clear_errors(name, call, exc, match):
    with pytest.raises(exc, match=match):
        call()
