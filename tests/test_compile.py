"""cr.compile: a captured-and-replayed forward gives exactly eager mode's numbers."""
import copy

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F


def _mlp(dtype=cr.float32, act=nn.ReLU, seed=0):
    cr.manual_seed(seed)
    return nn.Sequential(nn.Linear(12, 16), act(), nn.Linear(16, 8), act(),
                         nn.Linear(8, 3)).to(dtype)


def _batches(n_steps, dtype, sizes=(7,), seed=1):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n_steps):
        b = sizes[i % len(sizes)]
        out.append((cr.tensor(rng.standard_normal((b, 12)), dtype=dtype),
                    cr.tensor(rng.integers(0, 3, b))))
    return out


def _train(model, opt, batches):
    losses = []
    for x, y in batches:
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("dtype", [cr.float32, cr.float64])
@pytest.mark.parametrize("optim", ["sgd", "adam"])
def test_training_matches_eager_bit_for_bit(dtype, optim):
    eager = _mlp(dtype)
    compiled = cr.compile(copy.deepcopy(eager))
    make = (lambda p: cr.optim.SGD(p, lr=0.1, momentum=0.9)) if optim == "sgd" else \
        (lambda p: cr.optim.Adam(p, lr=1e-2))
    oe, oc = make(eager.parameters()), make(compiled.parameters())
    batches = _batches(12, dtype, sizes=(7, 7, 5))     # two signatures: 7 and 5 rows
    le, lc = _train(eager, oe, batches), _train(compiled, oc, batches)
    assert le == lc
    for (name, pe), pc in zip(eager.named_parameters(), compiled.parameters()):
        assert pc.dtype == dtype, name
        np.testing.assert_array_equal(pe._data, pc._data, err_msg=name)
        np.testing.assert_array_equal(pe.grad._data, pc.grad._data, err_msg=name)
    assert len(compiled._compiled.cache) == 2
    assert all(not isinstance(v, str) for v in compiled._compiled.cache.values())


def test_replay_is_one_graph_node_and_frees_it():
    model = cr.compile(_mlp())
    x, y = _batches(1, cr.float32)[0]
    model(x)                                   # trace
    out = model(x)                             # first replay (checked against eager)
    out = model(x)
    assert type(out.grad_fn).__name__ == "_Fused"
    assert out.grad_fn.inputs[0] is model._orig_mod[0].weight
    loss = F.cross_entropy(out, y)
    loss.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        loss.backward()


def test_gradient_with_respect_to_an_input_and_shared_weights():
    lin = nn.Linear(4, 4).double()

    def f(x):
        return (lin(lin(x)).tanh() * x).sum()

    g = cr.compile(f)
    rng = np.random.default_rng(0)
    for _ in range(3):
        a = rng.standard_normal((3, 4))
        xe = cr.tensor(a, requires_grad=True)
        xc = cr.tensor(a, requires_grad=True)
        lin.zero_grad()
        f(xe).backward()
        ge = lin.weight.grad._data.copy()
        lin.zero_grad()
        g(xc).backward()
        np.testing.assert_array_equal(xe.grad._data, xc.grad._data)
        np.testing.assert_array_equal(ge, lin.weight.grad._data)


def test_loss_inside_the_compiled_function_follows_new_targets():
    model = _mlp(cr.float64)
    step = cr.compile(lambda x, y: F.cross_entropy(model(x), y))
    for x, y in _batches(4, cr.float64):
        np.testing.assert_array_equal(step(x, y)._data, F.cross_entropy(model(x), y)._data)
    assert not isinstance(next(iter(step._compiled.cache.values())), str)


def test_inference_under_no_grad_and_eval_mode_retrace():
    cr.manual_seed(3)
    net = nn.Sequential(nn.Linear(12, 32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, 3))
    model = cr.compile(net)
    x, _ = _batches(1, cr.float32)[0]
    model.eval()
    with cr.no_grad():
        for _ in range(3):
            out = model(x)
            assert not out.requires_grad
            np.testing.assert_array_equal(out._data, net(x)._data)
    model.train()
    cr.manual_seed(5)
    a = [model(x)._data for _ in range(3)]     # dropout masks drawn inside the replayed op
    cr.manual_seed(5)
    b = [net(x)._data for _ in range(3)]
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[1], a[2])      # a fresh mask per call
    assert len(model._compiled.cache) == 2     # (eval, no_grad) and (train, grad)


class _ReadsValue(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 3)

    def forward(self, x):
        h = self.lin(x)
        return h * 2.0 if h.sum().item() > 0 else h * -1.0


def test_a_forward_that_reads_values_stays_eager_with_a_warning():
    m = _ReadsValue()
    c = cr.compile(m)
    rng = np.random.default_rng(0)
    with pytest.warns(RuntimeWarning, match=r"item\(\)"):
        c(cr.tensor(rng.standard_normal((2, 3)), dtype=cr.float32))
    for _ in range(4):      # both branches are taken; results always equal eager mode
        x = cr.tensor(rng.standard_normal((2, 3)) * 3, dtype=cr.float32)
        np.testing.assert_array_equal(c(x)._data, m(x)._data)
    with pytest.raises(RuntimeError, match="fullgraph=True"):
        cr.compile(_ReadsValue(), fullgraph=True)(x)


class _Frozen(nn.Module):
    """Builds a tensor from the input's values outside the ops: a trace would freeze it."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 3)

    def forward(self, x):
        shift = cr.Tensor(x._data.mean(0))   # not an op: the recording can't see it
        return self.lin(x) + shift


def test_values_built_outside_the_ops_are_caught_by_the_second_trace():
    m = _Frozen()
    c = cr.compile(m)
    rng = np.random.default_rng(0)
    xs = [cr.tensor(rng.standard_normal((2, 3)), dtype=cr.float32) for _ in range(4)]
    c(xs[0])
    with pytest.warns(RuntimeWarning, match="differ from one call to the next"):
        out = c(xs[1])
    np.testing.assert_array_equal(out._data, m(xs[1])._data)
    for x in xs[2:]:
        np.testing.assert_array_equal(c(x)._data, m(x)._data)


def test_hooks_run_on_every_call():
    net = _mlp()
    model = cr.compile(net)
    x, _ = _batches(1, cr.float32)[0]
    model(x), model(x)
    seen = []
    h = net[1].register_forward_hook(lambda mod, inp, out: seen.append(out.shape))
    model(x), model(x)
    assert seen == [(7, 16), (7, 16)]
    h.remove()
    model(x)
    assert len(seen) == 2


def test_in_place_change_of_a_weight_before_backward_is_caught():
    model = cr.compile(_mlp())
    x, y = _batches(1, cr.float32)[0]
    for _ in range(2):
        model(x)
    loss = F.cross_entropy(model(x), y)
    with cr.no_grad():
        model._orig_mod[0].weight.mul_(2.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_parameters_replaced_or_frozen_are_seen():
    net = _mlp(cr.float64)
    model = cr.compile(net)
    x, y = _batches(1, cr.float64)[0]
    model(x), model(x)
    net.load_state_dict({k: v * 0.5 for k, v in net.state_dict().items()})
    np.testing.assert_array_equal(model(x)._data, net(x)._data)
    net[0].weight.requires_grad_(False)         # guard: re-trace without that gradient
    F.cross_entropy(model(x), y).backward()
    assert net[0].weight.grad is None and net[2].weight.grad is not None


def test_module_interface_and_errors():
    net = _mlp()
    model = cr.compile(net)
    assert list(model.state_dict())[0] == "_orig_mod.0.weight"
    assert model._orig_mod is net
    m = _ReadsValue()
    assert cr.compile(m).lin is m.lin           # attributes reach the original module
    assert [id(p) for p in model.parameters()] == [id(p) for p in net.parameters()]
    assert cr.compile(net, disable=True) is net
    assert callable(cr.compile(fullgraph=True)(net))
    with pytest.raises(TypeError, match="Module or a function"):
        cr.compile(3)
    x, y = _batches(1, cr.float32)[0]
    model(x), model(x)
    x.requires_grad_(True)
    model(x), model(x)                          # a new signature: traced, then checked
    out = model(x)
    with pytest.raises(RuntimeError, match="create_graph"):
        cr.grad(out.sum(), x, create_graph=True)
