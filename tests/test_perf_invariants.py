"""Speed-relevant invariants that are not timings (the timings live in bench/)."""
import gc
import weakref

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.autograd.op import Op


def _mlp(dtype=None):
    cr.manual_seed(0)
    m = cr.nn.Sequential(cr.nn.Linear(12, 16), cr.nn.ReLU(), cr.nn.Linear(16, 8), cr.nn.Tanh(),
                         cr.nn.Linear(8, 3))
    return m.double() if dtype is not None and dtype == cr.float64 else m


def _data(n=40):
    rng = np.random.default_rng(0)
    return rng.random((n, 12), dtype=np.float32), rng.integers(0, 3, n)


@pytest.mark.parametrize("opt_name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_float32_stays_float32_through_training(opt_name):
    model = _mlp()
    kw = {"momentum": 0.9, "nesterov": True} if opt_name == "SGD" else {}
    opt = getattr(cr.optim, opt_name)(model.parameters(), lr=0.01, weight_decay=1e-3, **kw)
    X, y = _data()
    loader = cr.utils.data.DataLoader(cr.utils.data.TensorDataset(cr.tensor(X), cr.tensor(y)),
                                      batch_size=8, shuffle=True)
    seen = set()
    hook = model[0].register_forward_hook(lambda m, a, out: seen.add(out.dtype))
    for xb, yb in loader:
        opt.zero_grad()
        out = model(xb)
        loss = F.cross_entropy(out, yb) + 0.5 * (out ** 2).mean() / 3
        seen.add(loss.dtype)
        loss.backward()
        seen.update(p.grad.dtype for p in model.parameters())
        opt.step()
    hook.remove()
    assert seen == {np.dtype(np.float32)}
    assert {p.dtype for p in model.parameters()} == {np.dtype(np.float32)}
    for state in opt.state.values():
        for v in state.values():
            arr = getattr(v, "_data", v)
            if isinstance(arr, np.ndarray) and arr.dtype.kind == "f":
                assert arr.dtype == np.float32, f"{opt_name} state leaked {arr.dtype}"


def test_float64_when_asked():
    model = _mlp(cr.float64)
    X, y = _data(8)
    loss = F.cross_entropy(model(cr.tensor(X, dtype=cr.float64)), cr.tensor(y))
    loss.backward()
    assert loss.dtype == np.float64
    assert all(p.grad.dtype == np.float64 for p in model.parameters())


def _live_nodes():
    gc.collect()
    return sum(1 for o in gc.get_objects() if issubclass(type(o), Op))


def test_no_graph_kept_after_backward():
    model = _mlp()
    X, y = _data(16)
    loss = F.cross_entropy(model(cr.tensor(X)), cr.tensor(y))
    node = loss.grad_fn
    assert node is not None and node.inputs
    hidden = weakref.ref(node.inputs[0])          # the logits tensor, an intermediate
    loss.backward()
    assert node.inputs is None                   # the graph was released ...
    gc.collect()
    assert hidden() is None                      # ... and the intermediates are gone
    with pytest.raises(RuntimeError, match="second time"):
        loss.backward()


def test_graph_nodes_do_not_accumulate_over_steps():
    model = _mlp()
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    X, y = _data(16)
    xb, yb = cr.tensor(X), cr.tensor(y)
    counts = []
    for step in range(60):
        opt.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        if step in (9, 59):
            del loss
            counts.append(_live_nodes())
    assert counts[1] <= counts[0]


def test_no_grad_builds_no_graph():
    model = _mlp()
    X, _ = _data(8)
    before = _live_nodes()
    with cr.no_grad():
        out = model(cr.tensor(X))
        extra = (out * 2).softmax(-1).sum()
    assert out.grad_fn is None and not out.requires_grad
    assert extra.grad_fn is None
    assert _live_nodes() == before


def test_inputs_without_requires_grad_get_no_gradient_work():
    """The first layer's input gradient is not computed when the input needs none."""
    x = cr.randn(5, 4)
    w = cr.randn(3, 4, requires_grad=True)
    out = cr.nn.functional.linear(x, w)
    assert out.grad_fn.needs_input_grad[0] is False
    out.sum().backward()
    assert x.grad is None and w.grad is not None


def test_leaf_gradients_never_share_memory():
    """add passes one gradient array to both inputs; each .grad must still own its memory."""
    a = cr.randn(3, requires_grad=True)
    b = cr.randn(3, requires_grad=True)
    (a + b).backward(cr.ones(3))
    assert not np.shares_memory(a.grad.numpy(), b.grad.numpy())
    cr.nn.utils.clip_grad_value_([a], 0.5)      # in place on a.grad only
    assert np.array_equal(b.grad.numpy(), np.ones(3, np.float32))


def test_weight_gradient_has_the_weights_memory_layout():
    """A layout mismatch between a parameter and its gradient makes updates several times slower."""
    model = _mlp()
    X, y = _data(8)
    F.cross_entropy(model(cr.tensor(X)), cr.tensor(y)).backward()
    for name, p in model.named_parameters():
        assert p.grad.numpy().flags.f_contiguous == p.detach().numpy().flags.f_contiguous, name
        assert p.grad.numpy().flags.c_contiguous == p.detach().numpy().flags.c_contiguous, name


@pytest.mark.parametrize("opt_name", ["SGD", "Adam", "RMSprop", "Adagrad"])
def test_optimizer_state_keeps_the_parameter_layout(opt_name):
    model = _mlp()
    kw = {"momentum": 0.9} if opt_name in ("SGD", "RMSprop") else {}
    opt = getattr(cr.optim, opt_name)(model.parameters(), lr=0.01, **kw)
    X, y = _data(8)
    for _ in range(2):
        opt.zero_grad()
        F.cross_entropy(model(cr.tensor(X)), cr.tensor(y)).backward()
        opt.step()
    fresh = getattr(cr.optim, opt_name)(model.parameters(), lr=0.01, **kw)
    fresh.load_state_dict(opt.state_dict())
    for o in (opt, fresh):
        for p in model.parameters():
            for key, v in o.state[p].items():
                if isinstance(getattr(v, "_data", None), np.ndarray) and v.shape == p.shape:
                    assert v._data.flags.f_contiguous == p._data.flags.f_contiguous, key
                    assert v._data.flags.c_contiguous == p._data.flags.c_contiguous, key


def test_retained_gradient_and_leaf_gradient_do_not_share_memory():
    a = cr.randn(3, requires_grad=True)
    b = cr.randn(3, requires_grad=True)
    y = a + b
    y.retain_grad()
    y.backward(cr.ones(3) * 2)
    assert not np.shares_memory(y.grad.numpy(), a.grad.numpy())
    assert not np.shares_memory(a.grad.numpy(), b.grad.numpy())
    np.testing.assert_array_equal(a.grad.numpy(), np.full(3, 2, np.float32))
