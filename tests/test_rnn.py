"""nn.RNN / LSTM / GRU against PyTorch with weights copied through state_dict (float64, rtol 1e-7):
outputs, final states, input, initial-state and parameter gradients; padded and packed."""
import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")
tru = torch.nn.utils.rnn
cru = cr.nn.utils.rnn

RTOL, ATOL = 1e-7, 1e-10
KINDS = {"rnn_tanh": ("RNN", {"nonlinearity": "tanh"}),
         "rnn_relu": ("RNN", {"nonlinearity": "relu"}), "lstm": ("LSTM", {}), "gru": ("GRU", {})}


def _pair(kind, I=3, H=4, **kw):
    name, extra = KINDS[kind]
    tm = getattr(torch.nn, name)(I, H, **extra, **kw).double()
    cm = getattr(cr.nn, name)(I, H, **extra, dtype=cr.float64, **kw)
    cm.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    return tm, cm


def _close(a, b):
    np.testing.assert_allclose(np.asarray(a), b.detach().numpy(), rtol=RTOL, atol=ATOL)


def _states(kind, shape, rng):
    h = rng.standard_normal(shape)
    return (h, rng.standard_normal(shape)) if kind == "lstm" else (h,)


def _run_both(kind, tm, cm, x, states, packed_lengths=None, enforce_sorted=True, batch_first=False):
    tx = torch.tensor(x, requires_grad=True)
    cx = cr.tensor(x, requires_grad=True)
    ts = [torch.tensor(s, requires_grad=True) for s in states]
    cs = [cr.tensor(s, requires_grad=True) for s in states]
    if packed_lengths is not None:
        tin = tru.pack_padded_sequence(tx, packed_lengths, batch_first=batch_first,
                                       enforce_sorted=enforce_sorted)
        cin = cru.pack_padded_sequence(cx, packed_lengths, batch_first=batch_first,
                                       enforce_sorted=enforce_sorted)
    else:
        tin, cin = tx, cx
    thx = None if not ts else (tuple(ts) if kind == "lstm" else ts[0])
    chx = None if not cs else (tuple(cs) if kind == "lstm" else cs[0])
    tout, th = tm(tin, thx)
    cout, ch = cm(cin, chx)
    if packed_lengths is not None:
        _close(tout.data.detach().numpy(), cout.data)
        np.testing.assert_array_equal(tout.batch_sizes.numpy(), cout.batch_sizes.numpy())
        tout = tru.pad_packed_sequence(tout, batch_first=batch_first)[0]
        cout, lens = cru.pad_packed_sequence(cout, batch_first=batch_first)
        np.testing.assert_array_equal(lens.numpy(), np.asarray(packed_lengths))
    th = list(th) if kind == "lstm" else [th]
    ch = list(ch) if kind == "lstm" else [ch]
    _close(tout.detach().numpy(), cout)
    for a, b in zip(th, ch):
        _close(a.detach().numpy(), b)
    rng = np.random.default_rng(1)
    ws = [rng.standard_normal(tuple(o.shape)) for o in [tout] + th]
    sum((o * torch.tensor(w)).sum() for o, w in zip([tout] + th, ws)).backward()
    sum((o * cr.tensor(w)).sum() for o, w in zip([cout] + ch, ws)).backward()
    _close(tx.grad.numpy(), cx.grad)
    for a, b in zip(ts, cs):
        _close(a.grad.numpy(), b.grad)
    tp = dict(tm.named_parameters())
    for k, p in cm.named_parameters():
        _close(tp[k].grad.numpy(), p.grad)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("layers,bidir,bias,batch_first,with_h0", [
    (1, False, True, False, False), (1, False, True, False, True), (2, True, True, False, True),
    (2, False, False, True, True), (3, True, True, True, False), (1, True, False, False, True)])
def test_padded_against_pytorch(kind, layers, bidir, bias, batch_first, with_h0):
    tm, cm = _pair(kind, num_layers=layers, bidirectional=bidir, bias=bias,
                   batch_first=batch_first)
    rng = np.random.default_rng(0)
    T, B = 6, 3
    x = rng.standard_normal((B, T, 3) if batch_first else (T, B, 3))
    states = _states(kind, (layers * (2 if bidir else 1), B, 4), rng) if with_h0 else ()
    _run_both(kind, tm, cm, x, states)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("layers,bidir,enforce_sorted,batch_first", [
    (1, False, True, False), (2, True, True, False), (1, True, False, False),
    (2, True, False, True)])
def test_packed_against_pytorch(kind, layers, bidir, enforce_sorted, batch_first):
    tm, cm = _pair(kind, num_layers=layers, bidirectional=bidir, batch_first=batch_first)
    rng = np.random.default_rng(2)
    T, B = 7, 4
    lengths = [7, 5, 5, 2] if enforce_sorted else [3, 7, 1, 5]
    x = rng.standard_normal((B, T, 3) if batch_first else (T, B, 3))
    states = _states(kind, (layers * (2 if bidir else 1), B, 4), rng)
    _run_both(kind, tm, cm, x, states, packed_lengths=lengths, enforce_sorted=enforce_sorted,
              batch_first=batch_first)


@pytest.mark.parametrize("kind", list(KINDS))
def test_unbatched_input(kind):
    tm, cm = _pair(kind, num_layers=2)
    x = np.random.default_rng(3).standard_normal((5, 3))
    tout, _ = tm(torch.tensor(x))
    cout, _ = cm(cr.tensor(x))
    _close(tout.detach().numpy(), cout)


def test_dropout_between_layers_in_training_only():
    cr.manual_seed(0)
    m = cr.nn.LSTM(3, 4, num_layers=2, dropout=0.5, dtype=cr.float64)
    x = cr.randn(5, 2, 3, dtype=cr.float64)
    m.eval()
    a, b = m(x)[0].detach(), m(x)[0].detach()
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    m.train()
    c = m(x)[0].detach()
    assert not np.allclose(a.numpy(), c.numpy())
    tm = torch.nn.LSTM(3, 4, num_layers=2, dropout=0.5).double()   # eval equals PyTorch's eval
    m.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    m.eval()
    _close(tm.eval()(torch.tensor(x.numpy()))[0].detach().numpy(), m(x)[0])


@pytest.mark.parametrize("kind", list(KINDS))
def test_init_and_names_as_pytorch(kind):
    tm, _ = _pair(kind, num_layers=2, bidirectional=True)
    name, extra = KINDS[kind]
    cm = getattr(cr.nn, name)(3, 4, num_layers=2, bidirectional=True, **extra)
    sd = cm.state_dict()
    assert list(sd) == list(tm.state_dict())
    for k, v in tm.state_dict().items():
        assert tuple(sd[k].shape) == tuple(v.shape)
        assert sd[k].dtype == cr.float32
        assert np.abs(sd[k].numpy()).max() <= 0.5          # U(-1/sqrt(4), 1/sqrt(4))
    assert np.abs(cm.weight_ih_l0.detach().numpy()).max() > 0.3     # really spread over the range


@pytest.mark.parametrize("kind", list(KINDS))
def test_float32_stays_float32(kind):
    name, extra = KINDS[kind]
    m = getattr(cr.nn, name)(3, 4, **extra)
    x = cr.randn(5, 2, 3, requires_grad=True)
    out, h = m(x)
    assert out.dtype == cr.float32
    assert (h[0] if kind == "lstm" else h).dtype == cr.float32
    out.sum().backward()
    assert x.grad.dtype == cr.float32 and m.weight_hh_l0.grad.dtype == cr.float32


def test_bad_input_errors_name_module_and_shapes():
    m = cr.nn.LSTM(3, 4, num_layers=2)
    with pytest.raises(RuntimeError, match=r"LSTM\(3, 4\).*Expected 3, got 5"):
        m(cr.randn(6, 2, 5))
    with pytest.raises(RuntimeError, match=r"LSTM\(3, 4\): expected h_0 of shape \(2, 2, 4\), "
                                           r"got \(1, 2, 4\)"):
        m(cr.randn(6, 2, 3), (cr.zeros(1, 2, 4), cr.zeros(2, 2, 4)))
    with pytest.raises(RuntimeError, match=r"GRU\(3, 4\): expected h_0 of shape \(1, 2, 4\)"):
        cr.nn.GRU(3, 4)(cr.randn(6, 2, 3), cr.zeros(1, 3, 4))
    with pytest.raises(ValueError, match=r"RNN\(3, 4\): expected input of shape"):
        cr.nn.RNN(3, 4)(cr.randn(2, 6, 2, 3))
    with pytest.raises(RuntimeError, match=r"length 9 of sequence 1 is longer than the padded "
                                           r"input's 6 steps"):
        cru.pack_padded_sequence(cr.randn(6, 2, 3), [6, 9], enforce_sorted=False)
    with pytest.raises(RuntimeError, match="sorted in decreasing order"):
        cru.pack_padded_sequence(cr.randn(6, 2, 3), [3, 6])
    with pytest.raises(RuntimeError, match="dtype"):
        m(cr.randn(6, 2, 3, dtype=cr.float64))


def test_double_backward_raises_clearly():
    m = cr.nn.LSTM(3, 4, dtype=cr.float64)
    x = cr.randn(4, 2, 3, dtype=cr.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match="double backward through LSTM's fused sequence op is "
                                           "not supported; use the LSTMCell composite"):
        cr.grad(m(x)[0].sum(), [x], create_graph=True)   # refused while building the graph
    (gx,) = cr.grad(m(x)[0].sum(), [x])                  # first order works
    assert gx.shape == x.shape and np.abs(gx.numpy()).sum() > 0
