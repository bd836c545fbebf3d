"""The fused sequence ops (gradcheck), the cells (PyTorch, gradgradcheck, equal to the fused ops),
embeddings and the sequence utilities."""
import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd.gradcheck import gradcheck, gradgradcheck
from chainrule.ops.recurrent import gru_sequence, lstm_sequence, rnn_sequence

cru = cr.nn.utils.rnn
GATES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}


def _op_inputs(kind, T=4, B=3, I=2, H=3, seed=0):
    rng = np.random.default_rng(seed)
    g = GATES[kind] * H
    arrs = [rng.standard_normal((T, B, I)), rng.standard_normal((B, H))]
    if kind == "lstm":
        arrs.append(rng.standard_normal((B, H)))
    arrs += [rng.standard_normal((g, I)) * 0.6, rng.standard_normal((g, H)) * 0.6,
             rng.standard_normal(g), rng.standard_normal(g)]
    return [cr.tensor(a, requires_grad=True) for a in arrs]


def _op(kind, **kw):
    if kind == "lstm":
        return lambda *t: lstm_sequence(*t, **kw)
    if kind == "gru":
        return lambda *t: gru_sequence(*t, **kw)
    return lambda *t: rnn_sequence(*t, nonlinearity=kind[4:], **kw)


@pytest.mark.parametrize("kind", list(GATES))
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("lengths", [None, [4, 2, 1]])
def test_fused_op_gradcheck(kind, reverse, lengths):
    ins = _op_inputs(kind)
    assert gradcheck(_op(kind, reverse=reverse, lengths=lengths), ins, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn_tanh"])
def test_fused_op_without_bias_gradcheck(kind):
    ins = _op_inputs(kind)[:-2]
    assert gradcheck(_op(kind), ins, atol=1e-6, rtol=1e-5)


def _cell_for(kind, I, H):
    if kind == "lstm":
        return cr.nn.LSTMCell(I, H, dtype=cr.float64)
    if kind == "gru":
        return cr.nn.GRUCell(I, H, dtype=cr.float64)
    return cr.nn.RNNCell(I, H, nonlinearity=kind[4:], dtype=cr.float64)


@pytest.mark.parametrize("kind", list(GATES))
def test_cells_against_pytorch_and_gradgradcheck(kind):
    torch = pytest.importorskip("torch")
    cell = _cell_for(kind, 2, 3)
    tname = {"lstm": "LSTMCell", "gru": "GRUCell"}.get(kind, "RNNCell")
    extra = {} if kind in ("lstm", "gru") else {"nonlinearity": kind[4:]}
    tcell = getattr(torch.nn, tname)(2, 3, **extra).double()
    cell.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in
                          tcell.state_dict().items()})
    rng = np.random.default_rng(4)
    x, h, c = (rng.standard_normal(s) for s in [(5, 2), (5, 3), (5, 3)])
    st = (h, c) if kind == "lstm" else h
    tst = tuple(map(torch.tensor, st)) if kind == "lstm" else torch.tensor(st)
    cst = tuple(map(cr.tensor, st)) if kind == "lstm" else cr.tensor(st)
    tout, cout = tcell(torch.tensor(x), tst), cell(cr.tensor(x), cst)
    if kind != "lstm":
        tout, cout = (tout,), (cout,)
    for a, b in zip(tout, cout):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-7, atol=1e-12)
    xs = cr.tensor(x[:2], requires_grad=True)
    hs = cr.tensor(h[:2], requires_grad=True)

    def f(a, b):
        out = cell(a, (b, b * 0.5) if kind == "lstm" else b)
        return out[1] if kind == "lstm" else out
    assert gradcheck(f, (xs, hs))
    assert gradgradcheck(f, (xs, hs))


@pytest.mark.parametrize("kind", list(GATES))
def test_fused_op_equals_cell_loop(kind):
    ins = _op_inputs(kind, T=6, B=2, I=3, H=4, seed=5)
    cell = _cell_for(kind, 3, 4)
    w = ins[3:] if kind == "lstm" else ins[2:]
    for name, t in zip(["weight_ih", "weight_hh", "bias_ih", "bias_hh"], w):
        getattr(cell, name)._data[...] = t._data
    outs = _op(kind)(*ins)
    h = ins[1]
    c = ins[2] if kind == "lstm" else None
    steps = []
    for t in range(6):
        if kind == "lstm":
            h, c = cell(ins[0][t], (h, c))
        else:
            h = cell(ins[0][t], h)
        steps.append(h)
    np.testing.assert_allclose(outs[0].detach().numpy(), cr.stack(steps).detach().numpy(),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(outs[1].detach().numpy(), h.detach().numpy(), rtol=1e-12)


def test_truncated_bptt_by_detach():
    """Gradients stop at the detached state: only the last chunk's inputs get a gradient."""
    lstm = cr.nn.LSTM(2, 3, dtype=cr.float64)
    x = cr.randn(12, 2, 2, dtype=cr.float64, requires_grad=True)
    state = None
    for k in range(3):
        out, state = lstm(x[4 * k:4 * k + 4], state)
        state = tuple(s.detach() for s in state)
    out.sum().backward()
    g = x.grad.numpy()
    assert np.all(g[:8] == 0) and np.abs(g[8:]).min() > 0


def test_embedding_against_pytorch():
    torch = pytest.importorskip("torch")
    te = torch.nn.Embedding(7, 3, padding_idx=2).double()
    ce = cr.nn.Embedding(7, 3, padding_idx=2, dtype=cr.float64)
    ce.load_state_dict({"weight": cr.tensor(te.weight.detach().numpy())})
    idx = np.array([[0, 2, 5], [2, 6, 0]])
    to, co = te(torch.tensor(idx)), ce(cr.tensor(idx))
    np.testing.assert_allclose(to.detach().numpy(), co.detach().numpy(), rtol=1e-12)
    w = np.random.default_rng(0).standard_normal(to.shape)
    (to * torch.tensor(w)).sum().backward()
    (co * cr.tensor(w)).sum().backward()
    np.testing.assert_allclose(te.weight.grad.numpy(), ce.weight.grad.numpy(), rtol=1e-12)
    assert np.all(ce.weight.grad.numpy()[2] == 0)
    assert np.all(cr.nn.Embedding(5, 2, padding_idx=1).weight.detach().numpy()[1] == 0)
    pre = cr.nn.Embedding.from_pretrained(cr.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert not pre.weight.requires_grad
    np.testing.assert_array_equal(pre(cr.tensor([1, 0])).numpy(), [[3, 4], [1, 2]])
    with pytest.raises(IndexError, match="index 9 is out of range for 7 embeddings"):
        ce(cr.tensor([9]))
    with pytest.raises(TypeError, match="integer indices"):
        ce(cr.tensor([1.0]))


@pytest.mark.parametrize("mode", ["sum", "mean"])
def test_embedding_bag_against_pytorch(mode):
    torch = pytest.importorskip("torch")
    tb = torch.nn.EmbeddingBag(6, 3, mode=mode).double()
    cb = cr.nn.EmbeddingBag(6, 3, mode=mode, dtype=cr.float64)
    cb.load_state_dict({"weight": cr.tensor(tb.weight.detach().numpy())})
    idx, offs = np.array([1, 2, 4, 5, 4, 3, 2]), np.array([0, 2, 2, 5])
    to = tb(torch.tensor(idx), torch.tensor(offs))
    co = cb(cr.tensor(idx), cr.tensor(offs))
    np.testing.assert_allclose(to.detach().numpy(), co.detach().numpy(), rtol=1e-12)
    to.sum().backward()
    co.sum().backward()
    np.testing.assert_allclose(tb.weight.grad.numpy(), cb.weight.grad.numpy(), rtol=1e-12)
    two = np.array([[1, 2], [3, 3]])
    np.testing.assert_allclose(tb(torch.tensor(two)).detach().numpy(),
                               cb(cr.tensor(two)).detach().numpy(), rtol=1e-12)


def test_pad_and_pack_utilities_against_pytorch():
    torch = pytest.importorskip("torch")
    tru = torch.nn.utils.rnn
    rng = np.random.default_rng(6)
    arrs = [rng.standard_normal((n, 2)) for n in (3, 5, 1)]
    for bf in (False, True):
        for side in ("right", "left"):
            np.testing.assert_array_equal(
                tru.pad_sequence([torch.tensor(a) for a in arrs], batch_first=bf,
                                 padding_value=-1, padding_side=side).numpy(),
                cru.pad_sequence([cr.tensor(a) for a in arrs], batch_first=bf,
                                 padding_value=-1, padding_side=side).numpy())
    tp = tru.pack_sequence([torch.tensor(a) for a in arrs], enforce_sorted=False)
    cp = cru.pack_sequence([cr.tensor(a) for a in arrs], enforce_sorted=False)
    np.testing.assert_array_equal(tp.data.numpy(), cp.data.numpy())
    for f in ("batch_sizes", "sorted_indices", "unsorted_indices"):
        np.testing.assert_array_equal(getattr(tp, f).numpy(), getattr(cp, f).numpy())
    tpad, tl = tru.pad_packed_sequence(tp, batch_first=True, padding_value=9, total_length=6)
    cpad, cl = cru.pad_packed_sequence(cp, batch_first=True, padding_value=9, total_length=6)
    np.testing.assert_array_equal(tpad.numpy(), cpad.numpy())
    np.testing.assert_array_equal(tl.numpy(), cl.numpy())
    for a, b in zip(cru.unpack_sequence(cp), arrs):
        np.testing.assert_array_equal(a.numpy(), b)
    with pytest.raises(ValueError, match="total_length to be at least"):
        cru.pad_packed_sequence(cp, total_length=2)


def test_saturated_gates_stay_finite_without_warnings():
    import warnings
    m = cr.nn.LSTM(2, 3)
    g = cr.nn.GRU(2, 3)
    x = cr.tensor(np.array([[[1e4, -1e4]], [[-1e4, 1e4]]], dtype=np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for mod in (m, g):
            out = mod(x)[0]
            assert np.isfinite(out.detach().numpy()).all()


def test_training_monitor_reports_each_recurrent_layer():
    class Net(cr.nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = cr.nn.GRU(3, 5, num_layers=2, bidirectional=True)
            self.fc = cr.nn.Linear(10, 2)

        def forward(self, x):
            return self.fc(self.gru(x)[0][-1])
    net = Net()
    mon = cr.debug.watch(net, warn=False)
    loss = cr.nn.functional.cross_entropy(net(cr.randn(6, 4, 3)), cr.tensor(np.array([0, 1, 1, 0])))
    loss.backward()
    stats = mon.end_epoch(loss=loss.item())
    mon.detach()
    assert list(stats) == ["gru.l0", "gru.l0_reverse", "gru.l1", "gru.l1_reverse", "fc"]
    g = net.gru.weight_hh_l1_reverse.grad.numpy()
    parts = [getattr(net.gru, f"{w}_l1_reverse").grad.numpy() for w in
             ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    assert g.shape == (15, 5)
    np.testing.assert_allclose(stats["gru.l1_reverse"]["grad_norm"],
                               np.sqrt(sum((p ** 2).sum() for p in parts)), rtol=1e-5)
    assert stats["gru.l0"]["kind"] == "gru"


def test_weight_changed_in_place_before_backward_is_caught():
    m = cr.nn.LSTM(2, 3)
    out = m(cr.randn(4, 2, 2))[0]
    with cr.no_grad():
        m.weight_hh_l0.mul_(2.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()
