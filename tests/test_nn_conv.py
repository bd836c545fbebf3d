"""Convolution, pooling and normalisation layers against PyTorch (weights via state_dict)."""
import copy
import math

import numpy as np
import pytest
from _helpers import assert_close

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F

torch = pytest.importorskip("torch")
tnn = torch.nn

LAYERS = [
    ("Conv2d", dict(in_channels=3, out_channels=4, kernel_size=3), (2, 3, 7, 6)),
    ("Conv2d", dict(in_channels=4, out_channels=6, kernel_size=(3, 2), stride=2, padding=1,
                    dilation=(1, 2), groups=2, bias=False), (2, 4, 8, 7)),
    ("Conv2d", dict(in_channels=3, out_channels=3, kernel_size=4, padding="same", groups=3),
     (2, 3, 6, 5)),
    ("Conv1d", dict(in_channels=3, out_channels=5, kernel_size=3, padding=2, stride=2),
     (2, 3, 9)),
    ("ConvTranspose2d", dict(in_channels=3, out_channels=4, kernel_size=3, stride=2,
                             padding=1, output_padding=1), (2, 3, 4, 5)),
    ("MaxPool2d", dict(kernel_size=3, stride=2, padding=1, ceil_mode=True), (2, 3, 7, 6)),
    ("MaxPool1d", dict(kernel_size=2), (2, 3, 9)),
    ("AvgPool2d", dict(kernel_size=2, padding=1, count_include_pad=False), (2, 3, 7, 6)),
    ("AvgPool1d", dict(kernel_size=3, stride=1), (2, 3, 9)),
    ("AdaptiveAvgPool2d", dict(output_size=(3, 4)), (2, 3, 7, 6)),
    ("AdaptiveAvgPool1d", dict(output_size=4), (2, 3, 9)),
    ("AdaptiveMaxPool2d", dict(output_size=(3, 4)), (2, 3, 7, 6)),
    ("BatchNorm2d", dict(num_features=3), (4, 3, 5, 5)),
    ("BatchNorm1d", dict(num_features=3, affine=False, momentum=None), (6, 3)),
    ("BatchNorm1d", dict(num_features=3, track_running_stats=False), (4, 3, 5)),
    ("LayerNorm", dict(normalized_shape=(5, 4)), (3, 2, 5, 4)),
    ("GroupNorm", dict(num_groups=2, num_channels=4), (3, 4, 5)),
    ("Unflatten", dict(dim=1, unflattened_size=(2, 6)), (3, 12)),
]


def _pair(name, kw, dtype=cr.float64):
    m = getattr(nn, name)(**kw).to(dtype)
    t = getattr(tnn, name)(**kw).to(getattr(torch, str(np.dtype(dtype))))
    sd = m.state_dict()
    assert list(sd) == list(t.state_dict()), f"{name}: state_dict keys"
    t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in sd.items()})
    return m, t


@pytest.mark.filterwarnings("ignore:Using padding='same'")    # PyTorch's own performance note
@pytest.mark.parametrize("name,kw,shape", LAYERS, ids=[f"{n}-{i}" for i, (n, _, _) in
                                                        enumerate(LAYERS)])
def test_layer_matches_torch(name, kw, shape):
    m, t = _pair(name, kw)
    rng = np.random.default_rng(0)
    for step in range(3):                     # several steps: running statistics move too
        a = rng.standard_normal(shape) * 2 + 0.5
        x = cr.tensor(a, requires_grad=True)
        tx = torch.tensor(a, requires_grad=True)
        y, ty = m(x), t(tx)
        g = rng.standard_normal(ty.shape)
        y.backward(cr.tensor(g))
        ty.backward(torch.tensor(g))
        assert_close(y, ty, what=f"{name} output")
        assert_close(x.grad, tx.grad, what=f"{name} input grad")
    for (k, p), (_, tp) in zip(m.named_parameters(), t.named_parameters()):
        assert_close(p.grad, tp.grad, what=f"{name}.{k} grad")
    for (k, b), (_, tb) in zip(m.state_dict().items(), t.state_dict().items()):
        assert_close(b, tb, what=f"{name} state {k}")
    m.eval(), t.eval()
    a = rng.standard_normal(shape)
    assert_close(m(cr.tensor(a)), t(torch.tensor(a)), what=f"{name} eval output")


def test_batch_norm_running_stats_then_eval_float32():
    m, t = _pair("BatchNorm2d", dict(num_features=4, momentum=0.3), cr.float32)
    rng = np.random.default_rng(1)
    for _ in range(5):
        a = (rng.standard_normal((8, 4, 3, 3)) * 3 + 1).astype(np.float32)
        m(cr.tensor(a)), t(torch.tensor(a))
    assert m.running_mean.dtype == cr.float32 and m.num_batches_tracked.item() == 5
    assert_close(m.running_mean, t.running_mean, rtol=1e-6, atol=1e-6)
    assert_close(m.running_var, t.running_var, rtol=1e-6, atol=1e-6)
    m.eval(), t.eval()
    a = rng.standard_normal((2, 4, 3, 3)).astype(np.float32)
    y = m(cr.tensor(a))
    assert y.dtype == cr.float32
    assert_close(y, t(torch.tensor(a)), rtol=1e-5, atol=1e-6)


def test_batch_norm_buffers_move_save_and_load():
    m = nn.BatchNorm2d(3)
    assert [k for k, _ in m.named_buffers()] == ["running_mean", "running_var",
                                                 "num_batches_tracked"]
    m(cr.randn(4, 3, 2, 2) * 2 + 1)
    m.double()
    assert m.running_mean.dtype == cr.float64 and m.num_batches_tracked.dtype == cr.int64
    m2 = nn.BatchNorm2d(3).double()
    m2.load_state_dict(m.state_dict())
    np.testing.assert_array_equal(m2.running_var.numpy(), m.running_var.numpy())
    assert m2.num_batches_tracked.item() == 1


def test_default_init_is_pytorchs():
    cr.manual_seed(0)
    for layer, fan_in in [(nn.Conv2d(16, 32, 3), 16 * 9), (nn.Conv1d(4, 8, 5, groups=2), 10),
                          (nn.ConvTranspose2d(8, 6, 3), 6 * 9)]:
        bound = 1 / math.sqrt(fan_in)
        w = np.abs(layer.weight.detach().numpy())
        assert w.max() <= bound and w.max() > 0.9 * bound
        assert np.abs(layer.bias.detach().numpy()).max() <= bound
        assert layer.weight.dtype == cr.float32


def test_errors_name_the_layer_and_both_shapes():
    with pytest.raises(RuntimeError) as e:
        nn.Conv2d(3, 16, 3)(cr.randn(32, 1, 28, 28))
    assert str(e.value) == ("Conv2d(3 -> 16, kernel 3x3) expects input (N, 3, H, W), got "
                            "(32, 1, 28, 28)")
    net = nn.Sequential(nn.Conv2d(1, 6, 5), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5))
    with pytest.raises(ValueError) as e:
        net(cr.randn(2, 1, 12, 12))
    msg = str(e.value)
    for part in ["Conv2d(6 -> 16, kernel 5x5)", "(2, 6, 4, 4)", "layer 1",
                 "MaxPool2d(kernel 2)", "(2, 6, 8, 8)"]:
        assert part in msg, msg
    with pytest.raises(ValueError, match="MaxPool2d"):
        nn.MaxPool2d(3)(cr.randn(1, 1, 2, 2))
    with pytest.raises(RuntimeError, match=r"BatchNorm2d\(3\) expects input \(N, 3, H, W\)"):
        nn.BatchNorm2d(3)(cr.randn(2, 4, 3, 3))


def test_dropout2d_zeroes_whole_channels():
    cr.manual_seed(0)
    d = nn.Dropout2d(0.5)
    y = d(cr.ones(64, 8, 3, 3)).numpy()
    per_channel = y.reshape(64, 8, -1)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2).all(-1))
    assert 0.35 < (per_channel[..., 0] == 0).mean() < 0.65
    d.eval()
    x = cr.randn(2, 3, 4, 4)
    assert d(x) is x


def test_channels_last_layout_is_kept_through_relu_and_pool():
    x = cr.randn(2, 3, 8, 8)
    y = F.max_pool2d(F.relu(F.conv2d(x, cr.randn(4, 3, 3, 3))), 2)
    assert y.numpy().transpose(0, 2, 3, 1).flags.c_contiguous


def _cnn(seed=0, bn=True):
    cr.manual_seed(seed)
    layers = [nn.Conv2d(1, 4, 3, padding=1)] + ([nn.BatchNorm2d(4)] if bn else []) + [
        nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 6, 3), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 3)]
    return nn.Sequential(*layers)


@pytest.mark.parametrize("bn", [False, True])
def test_compile_matches_eager_bit_for_bit(bn):
    eager = _cnn(bn=bn)
    compiled = cr.compile(copy.deepcopy(eager))
    oe = cr.optim.SGD(eager.parameters(), lr=0.1, momentum=0.9)
    oc = cr.optim.SGD(compiled.parameters(), lr=0.1, momentum=0.9)
    rng = np.random.default_rng(0)
    for _ in range(6):
        x = cr.tensor(rng.standard_normal((5, 1, 8, 8)), dtype=cr.float32)
        y = cr.tensor(rng.integers(0, 3, 5))
        for model, opt in ((eager, oe), (compiled, oc)):
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
    for (k, a), b in zip(eager.state_dict().items(), compiled.state_dict().values()):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy(), err_msg=k)
    assert all(not isinstance(v, str) for v in compiled._compiled.cache.values())
