"""nn.utils: gradient clipping (against PyTorch), the L2 penalty, parameters to a vector and back."""
import numpy as np
import pytest
from _helpers import assert_close
from test_nn_modules import _seq

import chainrule as cr

nn = cr.nn


# ------------------------------------------------------------------ nn.utils
def _with_grads(lib, seed=0):
    rng = np.random.default_rng(seed)
    ps = [rng.standard_normal(s) for s in [(3, 4), (4,), (2, 2)]]
    if lib is cr:
        out = [nn.Parameter(cr.tensor(a, dtype=cr.float64)) for a in ps]
        for p, a in zip(out, ps):
            p.grad = cr.tensor(a * 3, dtype=cr.float64)
        return out
    out = [lib.nn.Parameter(lib.tensor(a)) for a in ps]
    for p, a in zip(out, ps):
        p.grad = lib.tensor(a * 3)
    return out


@pytest.mark.parametrize("norm_type,max_norm", [(2.0, 1.0), (1.0, 2.5), (float("inf"), 0.5),
                                                (2.0, 1e3)])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    torch = pytest.importorskip("torch")
    ps, tps = _with_grads(cr), _with_grads(torch)
    total = nn.utils.clip_grad_norm_(ps, max_norm, norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(tps, max_norm, norm_type)
    assert_close(total, ttotal)
    for p, t in zip(ps, tps):
        assert_close(p.grad, t.grad)


def test_clip_grad_norm_float32_and_nonfinite():
    m = nn.Linear(3, 2)
    m(cr.randn(4, 3)).sum().backward()
    total = nn.utils.clip_grad_norm_(m.parameters(), 0.1)
    assert total.dtype == np.float32 and m.weight.grad.dtype == np.float32
    norm = np.sqrt(sum((p.grad.detach().numpy().astype(np.float64) ** 2).sum()
                       for p in m.parameters()))
    assert norm == pytest.approx(0.1, rel=1e-4)
    m.weight.grad.detach().numpy()[0, 0] = np.nan
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_(m, 1.0, error_if_nonfinite=True)


def test_clip_grad_value():
    ps = _with_grads(cr)
    nn.utils.clip_grad_value_(ps, 0.5)
    for p in ps:
        g = p.grad.detach().numpy()
        assert g.max() <= 0.5 and g.min() >= -0.5 and np.any(np.abs(g) == 0.5)


def test_l2_penalty_notes_form_and_gradient():
    m = _seq(cr).double()
    pen = nn.utils.l2_penalty(m, 0.1)
    w = [m[0].weight.detach().numpy(), m[2].weight.detach().numpy()]
    assert_close(pen, 0.05 * sum((a ** 2).sum() for a in w))
    pen.backward()
    assert_close(m[0].weight.grad, 0.1 * w[0])
    assert m[0].bias.grad is None                       # biases excluded by default
    with_b = nn.utils.l2_penalty(m.parameters(), 0.1, include_bias=True)
    assert with_b.item() > pen.item()


def test_parameters_to_vector_roundtrip():
    m = nn.Linear(3, 2)
    v = nn.utils.parameters_to_vector(m.parameters())
    assert v.shape == (8,)
    nn.utils.vector_to_parameters(v * 0 + 1, m.parameters())
    assert m.weight.detach().numpy().tolist() == [[1.0] * 3] * 2
