"""``Tensor.register_post_accumulate_grad_hook``: called with the leaf as soon as its ``.grad`` is
complete, in the middle of backward (what DistributedDataParallel overlaps its allreduce with)."""
import numpy as np
import pytest

import chainrule as cr


def _net():
    cr.manual_seed(0)
    return cr.nn.Sequential(cr.nn.Linear(4, 5), cr.nn.Tanh(), cr.nn.Linear(5, 3)).double()


def test_fires_once_per_leaf_with_the_total_gradient_as_pytorch():
    torch = pytest.importorskip("torch")
    m = _net()
    x = cr.randn(6, 4, generator=cr.Generator().manual_seed(1)).double()
    seen = []
    for n, p in m.named_parameters():
        p.register_post_accumulate_grad_hook(
            lambda t, n=n: seen.append((n, t.grad.numpy().copy())))
    for _ in range(2):                                   # the second backward accumulates
        m(x).sum().backward()
    tm = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Tanh(),
                             torch.nn.Linear(5, 3)).double()
    with torch.no_grad():
        for tp, p in zip(tm.parameters(), m.parameters()):
            tp.copy_(torch.tensor(p.detach().numpy()))
    order = []
    for n, p in tm.named_parameters():
        p.register_post_accumulate_grad_hook(
            lambda t, n=n: order.append((n, t.grad.numpy().copy())))
    for _ in range(2):
        tm(torch.tensor(x.numpy())).sum().backward()
    assert len(seen) == len(order) == 8
    # the same gradients at each call (PyTorch's order within a layer differs: bias first)
    for k in (slice(0, 2), slice(2, 4), slice(4, 6), slice(6, 8)):
        ours = dict(seen[k])
        for n, g in order[k]:
            np.testing.assert_allclose(ours[n], g, rtol=1e-12, atol=1e-15)
    assert [n for n, _ in seen[:4]] == ["2.weight", "2.bias", "0.weight", "0.bias"]


def test_runs_before_backward_reaches_the_earlier_layers():
    m = _net()
    first = m[0].weight
    when = {}
    m[2].weight.register_post_accumulate_grad_hook(
        lambda t: when.setdefault("first_layer_grad", first.grad))
    m(cr.ones(2, 4, dtype=cr.float64)).sum().backward()
    assert when["first_layer_grad"] is None              # not computed yet when it ran
    assert first.grad is not None


def test_writing_grad_in_the_hook_cannot_change_another_gradient():
    # add hands one array to both inputs; the leaf's .grad must be its own copy
    w = cr.tensor(np.ones(3), requires_grad=True)
    x = cr.tensor(np.ones(3), requires_grad=True)

    def scribble(t):
        t.grad._data[...] = 99.0
    w.register_post_accumulate_grad_hook(scribble)
    ((x + w) * 2.0).sum().backward()
    assert w.grad.tolist() == [99.0] * 3 and x.grad.tolist() == [2.0] * 3


def test_not_called_by_autograd_grad_and_removable():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    calls = []
    h = w.register_post_accumulate_grad_hook(calls.append)
    (g,) = cr.autograd.grad((w * w).sum(), [w])
    assert g.tolist() == [2.0, 4.0] and calls == [] and w.grad is None
    (w * w).sum().backward()
    assert calls == [w]
    h.remove()
    (w * w).sum().backward()
    assert calls == [w] and w.grad.tolist() == [4.0, 8.0]


def test_errors():
    w = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="non-leaf"):
        (w * 2).register_post_accumulate_grad_hook(print)
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        cr.tensor([1.0]).register_post_accumulate_grad_hook(print)


def test_compiled_model_still_calls_the_hooks():
    m = _net()
    calls = []
    for p in m.parameters():
        p.register_post_accumulate_grad_hook(lambda t: calls.append(1))
    cm = cr.compile(m)
    x = cr.ones(3, 4, dtype=cr.float64)

    def three_steps():
        for _ in range(3):
            cm(x).sum().backward()
    with pytest.warns(RuntimeWarning, match="tensor hooks"):    # it stays eager, says why
        three_steps()
    assert len(calls) == 12
