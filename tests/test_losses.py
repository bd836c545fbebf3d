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


def test_cross_entropy_closed_form_with_weight_ignore_and_smoothing():
    rng = _rng(12)
    x = rng.standard_normal((6, 4))
    t = np.array([0, 3, 1, 1, 2, 3])
    w = np.array([0.5, 1.0, 2.0, 1.5])
    logp = x - np.log(np.exp(x).sum(1, keepdims=True))
    keep = t != 1
    nll = -(w[t] * logp[np.arange(6), t])[keep].sum() / w[t][keep].sum()
    smooth = -((logp * w).sum(1))[keep].sum() / w[t][keep].sum()
    expected = 0.9 * nll + 0.1 / 4 * smooth
    out = F.cross_entropy(cr.tensor(x), cr.tensor(t), weight=cr.tensor(w), ignore_index=1,
                          label_smoothing=0.1)
    assert_close(out, expected, rtol=1e-12)


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


# ------------------------------------------------------------------ cross-entropy and NLL
def _ce_case(rng, shape, c=5):
    n = shape[0]
    logits = rng.standard_normal((n, c) + shape[1:]) * 2
    target = rng.integers(0, c, shape)
    return logits, target


CE_KW = [
    {},
    {"weight": "w"},
    {"ignore_index": 2},
    {"label_smoothing": 0.15},
    {"weight": "w", "ignore_index": 1, "label_smoothing": 0.1},
]


def _kw(kw, cr_side, torch, w):
    out = dict(kw)
    if out.get("weight") == "w":
        out["weight"] = cr.tensor(w) if cr_side else torch.tensor(w)
    return out


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("kw", CE_KW, ids=lambda k: ",".join(k) or "plain")
@pytest.mark.parametrize("shape", [(8,), (3, 4), (2, 2, 3)], ids=str)
def test_cross_entropy_and_nll_match_torch(shape, kw, reduction):
    torch = pytest.importorskip("torch")
    rng = _rng(len(shape))
    logits, target = _ce_case(rng, shape)
    w = rng.uniform(0.5, 2, 5)
    tt = torch.tensor(target)
    _compare(torch, [logits],
             lambda x, r: F.cross_entropy(x, cr.tensor(target), reduction=r,
                                          **_kw(kw, True, torch, w)),
             lambda tf, x, r: tf.cross_entropy(x, tt, reduction=r, **_kw(kw, False, torch, w)),
             reduction, f"cross_entropy {kw}")
    if "label_smoothing" not in kw:
        _compare(torch, [logits],
                 lambda x, r: F.nll_loss(F.log_softmax(x, 1), cr.tensor(target), reduction=r,
                                         **_kw(kw, True, torch, w)),
                 lambda tf, x, r: tf.nll_loss(tf.log_softmax(x, 1), tt, reduction=r,
                                              **_kw(kw, False, torch, w)),
                 reduction, f"nll {kw}")


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("kw", [{}, {"label_smoothing": 0.2}, {"weight": "w"}], ids=str)
def test_cross_entropy_probability_targets(kw, reduction):
    torch = pytest.importorskip("torch")
    rng = _rng(4)
    logits = rng.standard_normal((4, 5, 2))
    p = rng.uniform(0, 1, (4, 5, 2))
    p /= p.sum(1, keepdims=True)
    w = rng.uniform(0.5, 2, 5)
    _compare(torch, [logits, p],
             lambda x, y, r: F.cross_entropy(x, y, reduction=r, **_kw(kw, True, torch, w)),
             lambda tf, x, y, r: tf.cross_entropy(x, y, reduction=r, **_kw(kw, False, torch, w)),
             reduction, "cross_entropy probabilities")


def test_cross_entropy_unbatched():
    torch = pytest.importorskip("torch")
    x = _rng().standard_normal(6)
    for r in REDUCTIONS:
        _compare(torch, [x], lambda a, r: F.cross_entropy(a, cr.tensor(3), reduction=r),
                 lambda tf, a, r: tf.cross_entropy(a, torch.tensor(3), reduction=r), r,
                 "unbatched")


def test_cross_entropy_fast_path_is_one_node_and_closed_form():
    x = cr.tensor(_rng().standard_normal((5, 4)), dtype=cr.float64, requires_grad=True)
    t = cr.tensor([0, 3, 1, 1, 2])
    loss = F.cross_entropy(x, t)
    from chainrule.ops.loss import CrossEntropyIndex
    assert isinstance(loss.grad_fn, CrossEntropyIndex) and loss.grad_fn.inputs[0] is x
    a = x.detach().numpy()
    p = np.exp(a) / np.exp(a).sum(1, keepdims=True)
    assert_close(loss, -np.log(p[np.arange(5), t.numpy()]).mean())
    loss.backward()
    onehot = np.eye(4)[t.numpy()]
    assert_close(x.grad, (p - onehot) / 5)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("kw", [{}, {"weight": "w", "ignore_index": 0}], ids=str)
def test_cross_entropy_gradcheck_and_gradgradcheck(kw, reduction):
    rng = _rng(2)
    x = cr.tensor(rng.standard_normal((4, 3)), dtype=cr.float64, requires_grad=True)
    t = cr.tensor([0, 2, 1, 2])
    w = rng.uniform(0.5, 2, 3)
    kw = _kw(kw, True, None, w)
    fn = lambda a: F.cross_entropy(a, t, reduction=reduction, **kw)  # noqa: E731
    assert cr.autograd.gradcheck(fn, (x,))
    assert cr.autograd.gradgradcheck(fn, (x,))


def test_cross_entropy_retain_graph_backward_twice():
    x = cr.randn(3, 4, dtype=cr.float64, requires_grad=True)
    loss = F.cross_entropy(x, cr.tensor([0, 1, 3]))
    loss.backward(retain_graph=True)
    g1 = x.grad.numpy().copy()
    loss.backward()
    assert_close(x.grad, 2 * g1)


def test_cross_entropy_stable_for_huge_logits():
    x = cr.tensor([[1000.0, -1000.0, 0.0], [-5e4, 5e4, 1.0]], requires_grad=True)
    loss = F.cross_entropy(x, cr.tensor([0, 0]), reduction="none")
    assert np.allclose(loss.detach().numpy(), [0.0, 1e5])
    loss.sum().backward()
    assert np.all(np.isfinite(x.grad.numpy()))


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


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("target, weight", [
    ([-100, -100, -100], None),                     # every sample ignored: the gradient is 0
    ([0, 1, 1], [0.0, 0.0, 1.0, 1.0]),              # the weights sum to 0: NaN, as PyTorch
    ([0, -100, 1], [0.0, 0.0, 1.0, 1.0]),           # both: NaN rows, the ignored row 0
    ([0, -100, 2], [0.5, 0.0, 1.0, 1.0]),
    ([], None),                                     # an empty batch
], ids=["all-ignored", "zero-weights", "zero-weights-and-ignored", "weighted-ignored", "empty"])
def test_cross_entropy_nothing_to_average_matches_torch(target, weight):
    """The mean over no samples: PyTorch's loss (NaN) and gradient (0 for an ignored sample,
    NaN for a kept one of weight 0), with no NumPy warning."""
    torch = pytest.importorskip("torch")
    x = _rng(3).standard_normal((len(target), 4))
    t = np.array(target, dtype=np.int64)
    xt = torch.tensor(x, requires_grad=True)
    w = None if weight is None else np.array(weight)
    kw_t = {} if w is None else {"weight": torch.from_numpy(w)}
    lt = torch.nn.functional.cross_entropy(xt, torch.tensor(t), **kw_t)
    lt.backward()
    xc = cr.tensor(x, requires_grad=True)
    kw_c = {} if w is None else {"weight": cr.tensor(w)}
    lc = F.cross_entropy(xc, cr.tensor(t), **kw_c)
    lc.backward()
    np.testing.assert_array_equal(np.isnan(lc.item()), np.isnan(lt.item()))
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=0)
