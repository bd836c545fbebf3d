"""Cross-entropy and NLL against PyTorch in float64: weights, ignore_index, smoothing, no samples."""
import numpy as np
import pytest
from _helpers import assert_close
from test_losses import REDUCTIONS, _compare, _rng

import chainrule as cr
import chainrule.nn.functional as F

pytestmark = pytest.mark.filterwarnings("ignore:reduction.*mean.*divides:UserWarning")


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
