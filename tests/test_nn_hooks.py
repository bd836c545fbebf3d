"""Module hooks: full backward hooks (against PyTorch, under create_graph), forward and pre-hooks."""
import numpy as np
import pytest
from _helpers import assert_close

import chainrule as cr

nn = cr.nn


def test_full_backward_hook_matches_torch_for_linear():
    torch = pytest.importorskip("torch")
    m = nn.Linear(4, 3).double()
    tm = torch.nn.Linear(4, 3).double()
    m.load_state_dict(tm.state_dict())
    got, tgot = [], []
    m.register_full_backward_hook(lambda mod, gi, go: got.append((mod, gi, go)))
    tm.register_full_backward_hook(lambda mod, gi, go: tgot.append((gi, go)))
    x = np.random.default_rng(0).standard_normal((2, 4))
    xc = cr.tensor(x, dtype=cr.float64, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    (m(xc) ** 2).sum().backward()
    (tm(xt) ** 2).sum().backward()
    assert len(got) == 1 and got[0][0] is m
    (_, gi, go), (tgi, tgo) = got[0], tgot[0]
    assert len(gi) == len(tgi) == 1 and len(go) == len(tgo) == 1
    assert_close(gi[0], tgi[0])
    assert_close(go[0], tgo[0])
    assert_close(xc.grad, xt.grad)


def test_full_backward_hook_can_replace_grad_input_and_be_removed():
    m = nn.Linear(3, 2).double()
    h = m.register_full_backward_hook(lambda mod, gi, go: (gi[0] * 0 + 1,))
    x = cr.randn(4, 3, dtype=cr.float64, requires_grad=True)
    m(x).sum().backward()
    assert x.grad.tolist() == [[1.0] * 3] * 4
    h.remove()
    x.grad = None
    m(x).sum().backward()
    assert_close(x.grad, np.tile(m.weight.detach().numpy().sum(0), (4, 1)))


def test_full_backward_hook_input_without_grad_and_two_inputs():
    calls = []
    m = nn.Linear(3, 2)
    m.register_full_backward_hook(lambda mod, gi, go: calls.append((gi, go)))
    m(cr.randn(4, 3)).sum().backward()          # data input: grad_input is (None,)
    assert calls[0][0] == (None,) and calls[0][1][0].shape == (4, 2)

    class Bilinear(nn.Module):
        def forward(self, a, b):
            return a * b

    mb, seen = Bilinear(), []
    mb.register_full_backward_hook(lambda mod, gi, go: seen.append(gi))
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    b = cr.tensor([3.0, 5.0], requires_grad=True)
    (mb(a, b) * cr.tensor([1.0, 10.0])).sum().backward()
    assert seen[0][0].tolist() == [3.0, 50.0] and seen[0][1].tolist() == [1.0, 20.0]
    assert a.grad.tolist() == [3.0, 50.0] and b.grad.tolist() == [1.0, 20.0]


def test_forward_and_pre_hooks():
    m = nn.Linear(2, 2)
    log = []
    h1 = m.register_forward_pre_hook(lambda mod, args: (args[0] * 0,))
    h2 = m.register_forward_hook(lambda mod, args, out: log.append(args[0].tolist()) or out + 1)
    y = m(cr.ones(1, 2))
    assert log == [[[0.0, 0.0]]]
    assert_close(y, m.bias.detach().numpy()[None] + 1)
    h1.remove()
    h2.remove()
    assert_close(m(cr.ones(1, 2)), m.weight.detach().numpy().sum(1)[None] +
                 m.bias.detach().numpy(), rtol=1e-6)


def test_backward_hook_works_under_create_graph():
    m = nn.Linear(3, 1).double()
    seen = []
    m.register_full_backward_hook(lambda mod, gi, go: seen.append(gi[0]))
    x = cr.randn(2, 3, dtype=cr.float64, requires_grad=True)
    (gx,) = cr.grad((m(x) ** 2).sum(), [x], create_graph=True)
    assert len(seen) == 1 and seen[0].shape == (2, 3)
    gx.sum().backward()                     # second order through the hook's identity nodes
    w = m.weight.detach().numpy()
    assert_close(x.grad, 2 * np.tile(w.sum() * w, (2, 1)))
