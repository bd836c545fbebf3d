"""Module API (PyTorch's names and key paths), layers, containers, state dicts and dropout."""
import copy

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from _helpers import assert_close

nn = cr.nn


class MLP(nn.Module):
    def __init__(self, lib):
        super().__init__()
        self.fc1 = lib.nn.Linear(4, 8)
        self.act = lib.nn.Tanh()
        self.body = lib.nn.Sequential(lib.nn.Linear(8, 6), lib.nn.ReLU(), lib.nn.Linear(6, 3))

    def forward(self, x):
        return self.body(self.act(self.fc1(x)))


class TorchMLP:   # built lazily so that torch stays optional
    @staticmethod
    def make(torch):
        class M(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = torch.nn.Linear(4, 8)
                self.act = torch.nn.Tanh()
                self.body = torch.nn.Sequential(torch.nn.Linear(8, 6), torch.nn.ReLU(),
                                                torch.nn.Linear(6, 3))

            def forward(self, x):
                return self.body(self.act(self.fc1(x)))
        return M()


def _seq(lib, **kw):
    n = lib.nn
    return n.Sequential(n.Linear(784, 256, **kw), n.ReLU(), n.Linear(256, 10, **kw))


# ------------------------------------------------------------------ against PyTorch
def test_state_dict_keys_repr_and_numbers_match_torch():
    torch = pytest.importorskip("torch")
    tm = TorchMLP.make(torch).double()
    m = MLP(cr).double()
    assert list(m.state_dict()) == list(tm.state_dict())
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in tm.named_parameters()]
    assert [n for n, _ in m.named_modules()] == [n for n, _ in tm.named_modules()]
    assert repr(m).replace("MLP", "M") == repr(tm)
    res = m.load_state_dict(tm.state_dict())             # torch tensors load via np.asarray
    assert repr(res) == "<All keys matched successfully>"
    x = np.random.default_rng(0).standard_normal((5, 4))
    out = m(cr.tensor(x, dtype=cr.float64))
    tout = tm(torch.tensor(x))
    assert_close(out, tout)
    g = np.random.default_rng(1).standard_normal((5, 3))
    out.backward(cr.tensor(g))
    tout.backward(torch.tensor(g))
    tparams = dict(tm.named_parameters())
    for name, p in m.named_parameters():
        assert_close(p.grad, tparams[name].grad, what=name)


def test_sequential_repr_matches_torch():
    torch = pytest.importorskip("torch")
    assert repr(_seq(cr)) == repr(_seq(torch))
    assert repr(nn.Sequential(nn.Flatten(), nn.Dropout(0.2), nn.Linear(3, 2, bias=False))) == \
        repr(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Dropout(0.2),
                                 torch.nn.Linear(3, 2, bias=False)))
    assert repr(nn.Sequential(nn.Linear(2, 2), nn.ReLU())) == \
        "Sequential(\n  (0): Linear(in_features=2, out_features=2, bias=True)\n  (1): ReLU()\n)"


def test_linear_default_init_bounds_and_dtype():
    lin = nn.Linear(400, 30)
    w, b = lin.weight.detach().numpy(), lin.bias.detach().numpy()
    assert w.shape == (30, 400) and b.shape == (30,) and w.dtype == np.float32
    bound = 1 / np.sqrt(400)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert np.abs(b).max() <= bound
    assert abs(w.std() - bound / np.sqrt(3)) < 0.03 * bound
    assert nn.Linear(3, 2, dtype=cr.float64).weight.dtype == np.float64


def test_linear_same_seed_same_weights():
    cr.manual_seed(7)
    a = nn.Linear(5, 3)
    cr.manual_seed(7)
    b = nn.Linear(5, 3)
    assert np.array_equal(a.weight.detach().numpy(), b.weight.detach().numpy())


# ------------------------------------------------------------------ state dicts
def test_load_state_dict_missing_unexpected_and_shape_errors():
    m = _seq(cr)
    sd = m.state_dict()
    assert list(sd) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert np.shares_memory(sd["0.weight"].detach().numpy(), m[0].weight.detach().numpy())
    partial = {k: v for k, v in sd.items() if k != "2.bias"}
    partial["extra.weight"] = cr.zeros(1)
    with pytest.raises(RuntimeError, match=r'Missing key\(s\) in state_dict: "2.bias"'):
        m.load_state_dict(partial)
    res = m.load_state_dict(partial, strict=False)
    assert res.missing_keys == ["2.bias"] and res.unexpected_keys == ["extra.weight"]
    bad = dict(sd)
    bad["0.weight"] = np.zeros((256, 785), dtype=np.float32)
    with pytest.raises(RuntimeError, match=r"size mismatch for 0.weight: copying a param with "
                       r"shape \(256, 785\) from checkpoint, the shape in current model is "
                       r"\(256, 784\)"):
        m.load_state_dict(bad, strict=False)


def test_load_state_dict_copies_in_place_and_converts_dtype():
    a, b = _seq(cr), _seq(cr)
    w = b[0].weight
    b.load_state_dict({k: v.detach().numpy().astype(np.float64) for k, v in a.state_dict().items()})
    assert b[0].weight is w and w.dtype == np.float32
    assert np.array_equal(w.detach().numpy(), a[0].weight.detach().numpy())


def test_buffers_in_state_dict_and_non_persistent():
    m = nn.Linear(2, 2)
    m.register_buffer("running", cr.zeros(2))
    m.register_buffer("scratch", cr.ones(2), persistent=False)
    assert list(m.state_dict()) == ["weight", "bias", "running"]
    assert [n for n, _ in m.named_buffers()] == ["running", "scratch"]
    assert m.running is m._buffers["running"]
    m.double()
    assert m.running.dtype == np.float64


# ------------------------------------------------------------------ module API
def test_to_double_keeps_parameter_identity_and_grad():
    m = _seq(cr)
    params = list(m.parameters())
    m(cr.randn(2, 784)).sum().backward()
    assert m.to(cr.float64) is m
    assert all(a is b for a, b in zip(params, m.parameters()))
    assert all(p.dtype == np.float64 and p.grad.dtype == np.float64 for p in params)
    assert isinstance(params[0], nn.Parameter) and params[0].requires_grad
    m.float()
    assert all(p.dtype == np.float32 for p in params)
    with pytest.raises(TypeError, match="floating point"):
        m.to(cr.int64)


def test_train_eval_controls_dropout():
    m = nn.Sequential(nn.Linear(50, 50), nn.Dropout(0.5))
    x = cr.randn(20, 50)
    assert m.training and m[1].training
    y1 = m(x).detach().numpy()
    zero_frac = (y1 == 0).mean()
    assert 0.35 < zero_frac < 0.65
    m.eval()
    assert not m[1].training
    with cr.no_grad():
        assert np.array_equal(m(x).detach().numpy(), m[0](x).detach().numpy())
    m.train()
    assert m[1].training


def test_dropout_scales_and_uses_generator():
    x = cr.ones(1000, 100)
    y = F.dropout(x, 0.2, generator=cr.Generator().manual_seed(1)).detach().numpy()
    assert set(np.unique(y)) == {0.0, np.float32(1.25)} and y.dtype == np.float32
    assert abs(y.mean() - 1.0) < 0.02
    y2 = nn.Dropout(0.2, generator=cr.Generator().manual_seed(1))(x).detach().numpy()
    assert np.array_equal(y, y2)
    assert F.dropout(x, 0.5, training=False) is x
    xg = cr.randn(4, 5, dtype=cr.float64, requires_grad=True)
    yg = F.dropout(xg, 0.5, generator=cr.Generator().manual_seed(2))
    yg.sum().backward()
    assert_close(xg.grad, (yg.detach().numpy() != 0) * 2.0)
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)


def test_linear_bad_input_errors():
    lin = nn.Linear(784, 256)
    with pytest.raises(RuntimeError, match=r"Linear\(784 -> 256\) got input of shape \(32, 785\); "
                       r"expected \(\.\.\., 784\)"):
        lin(cr.randn(32, 785))
    with pytest.raises(RuntimeError, match=r"Linear\(784 -> 256\): input has dtype .*float64 but "
                       r"the layer's weight is .*float32.*\.double\(\) on the model.*\.float\(\) "
                       "on the input"):
        lin(cr.randn(2, 784, dtype=cr.float64))
    assert lin(cr.randn(3, 5, 784)).shape == (3, 5, 256)


def test_every_layer_keeps_float32():
    m = nn.Sequential(nn.Flatten(), nn.Linear(12, 8), nn.PReLU(), nn.Maxout(8, 4, 2),
                      nn.Dropout(0.1), nn.ELU(), nn.Linear(4, 3), nn.Identity(), nn.LogSoftmax(1))
    x = cr.randn(5, 3, 4)
    y = m(x)
    assert y.dtype == np.float32
    F.nll_loss(y, cr.tensor([0, 1, 2, 0, 1])).backward()
    assert all(p.grad.dtype == np.float32 for p in m.parameters())


def test_containers():
    s = _seq(cr)
    assert len(s) == 3 and isinstance(s[0], nn.Linear) and s[-1] is s[2]
    assert [type(m).__name__ for m in s] == ["Linear", "ReLU", "Linear"]
    tail = s[1:]
    assert isinstance(tail, nn.Sequential) and len(tail) == 2 and tail[1] is s[2]
    assert list(tail.state_dict()) == ["2.weight", "2.bias"]      # keys kept, as in torch
    s.append(nn.Softmax(dim=1))
    assert len(s) == 4 and list(dict(s.named_children())) == ["0", "1", "2", "3"]
    with pytest.raises(IndexError, match="out of range"):
        s[7]
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    ml.append(nn.Linear(2, 1))
    assert len(ml) == 4 and len(list(ml.parameters())) == 8
    assert [k for k in ml.state_dict()][:2] == ["0.weight", "0.bias"]
    md = nn.ModuleDict({"enc": nn.Linear(3, 2), "act": nn.ReLU()})
    md["dec"] = nn.Linear(2, 3)
    assert list(md) == ["enc", "act", "dec"] and "enc" in md
    assert list(md.state_dict()) == ["enc.weight", "enc.bias", "dec.weight", "dec.bias"]
    with pytest.raises(NotImplementedError, match="forward"):
        ml(cr.randn(1, 2))


def test_walkers_zero_grad_apply_submodule():
    m = MLP(cr)
    assert [type(c).__name__ for c in m.children()] == ["Linear", "Tanh", "Sequential"]
    assert m.get_submodule("body.2") is m.body[2]
    with pytest.raises(AttributeError, match="nope"):
        m.get_submodule("body.nope")
    assert m.get_parameter("body.0.bias") is m.body[0].bias
    m(cr.randn(2, 4)).sum().backward()
    m.zero_grad(set_to_none=False)
    assert all(np.all(p.grad.detach().numpy() == 0) for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    seen = []
    m.apply(lambda mod: seen.append(type(mod).__name__))
    assert seen == ["Linear", "Tanh", "Linear", "ReLU", "Linear", "Sequential", "MLP"]
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())


def test_shared_parameters_listed_once_and_attribute_rules():
    m = nn.Module()
    lin = nn.Linear(2, 2)
    m.a, m.b = lin, lin
    assert len(list(m.parameters())) == 2
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'weight'"):
        lin.weight = cr.zeros(2, 2)
    lin.weight = nn.Parameter(cr.zeros(2, 2))
    assert lin.weight.tolist() == [[0, 0], [0, 0]] and lin._parameters["weight"] is lin.weight
    del m.b
    assert list(dict(m.named_children())) == ["a"]
    with pytest.raises(AttributeError, match="before Module.__init__"):
        class Bad(nn.Module):
            def __init__(self):
                self.w = nn.Parameter(cr.zeros(1))
        Bad()


def test_parameter_repr_and_deepcopy():
    p = nn.Parameter(cr.tensor([1.0, 2.0]))
    assert repr(p) == "Parameter containing:\ntensor([1., 2.], requires_grad=True)"
    assert isinstance(p, cr.Tensor) and p.is_leaf
    m = _seq(cr)
    m2 = copy.deepcopy(m)
    assert isinstance(m2[0].weight, nn.Parameter)
    assert m2[0].weight is not m[0].weight
    assert np.array_equal(m2[0].weight.detach().numpy(), m[0].weight.detach().numpy())
    assert list(m2.state_dict()) == list(m.state_dict())


def test_sequential_delete_insert_renumber_and_moduledict_ops():
    s = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Tanh())
    del s[1]
    assert list(dict(s.named_children())) == ["0", "1"] and isinstance(s[1], nn.Tanh)
    s.insert(1, nn.Sigmoid())
    assert [type(m).__name__ for m in s] == ["Linear", "Sigmoid", "Tanh"]
    md = nn.ModuleDict()
    md.update([("a", nn.ReLU()), ("b", nn.Linear(1, 1))])
    assert isinstance(md.pop("a"), nn.ReLU) and list(md.keys()) == ["b"]


def test_dropout_op_gradients_and_dtype():
    # the mask is drawn inside the Dropout primitive; a generator seeded per call fixes it
    def f(x):
        return F.dropout(x, 0.3, generator=cr.Generator().manual_seed(0))

    x = cr.tensor(np.random.default_rng(0).standard_normal((4, 5)), requires_grad=True)
    assert cr.autograd.gradcheck(f, (x,))
    assert cr.autograd.gradgradcheck(f, (x,))
    y = f(x)
    y.sum().backward()
    np.testing.assert_allclose(x.grad._data, y._data / x._data, rtol=1e-12)  # mask / (1 - p)
    assert set(np.unique(np.round(x.grad._data, 12))) <= {0.0, round(1 / 0.7, 12)}
    x32 = cr.tensor(np.ones((3, 3), np.float32), requires_grad=True)
    assert f(x32).dtype == cr.float32
