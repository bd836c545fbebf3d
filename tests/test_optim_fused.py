"""The one-pass optimizer kernels (``fused=``, numba) against the NumPy update, bit for bit."""
import numpy as np
import pytest

import chainrule as cr

pytest.importorskip("numba")

CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True)),
    ("SGD", dict(lr=0.05, momentum=0.9, weight_decay=1e-2, maximize=True)),
    ("Adam", dict(lr=1e-2)),
    ("Adam", dict(lr=1e-2, betas=(0.3, 0.99), eps=1e-6, weight_decay=1e-3)),   # lerp's 2nd form
    ("Adam", dict(lr=1e-2, amsgrad=True)),                                     # NumPy path
    ("AdamW", dict(lr=1e-2, weight_decay=0.1)),
]


def _train(name, kw, fused, dtype, steps=6):
    rng = np.random.default_rng(0)
    ws = [cr.tensor(rng.standard_normal(s).astype(dtype), requires_grad=True)
          for s in ((7, 5), (5,), (3, 4, 2))]
    opt = getattr(cr.optim, name)(ws, fused=fused, **kw)
    for _ in range(steps):
        opt.zero_grad()
        loss = sum(((w * w).sum() * 0.5 + w.sin().sum()) for w in ws)
        loss.backward()
        opt.step()
    return [w.detach().numpy().copy() for w in ws], opt


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,kw", CASES)
def test_fused_equals_numpy_update_bit_for_bit(name, kw, dtype):
    with cr.ops.kernels.using("numba"):
        fused, opt = _train(name, kw, True, dtype)     # amsgrad: the kernel hands back to NumPy
    plain, _ = _train(name, kw, False, dtype)
    for a, b in zip(fused, plain):
        assert a.dtype == dtype
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(fused[0], _train(name, kw, False, dtype, steps=1)[0][0])  # it moved


def test_fused_state_matches_numpy_state():
    with cr.ops.kernels.using("numba"):
        _, a = _train("Adam", dict(lr=1e-2), True, np.float32)
    _, b = _train("Adam", dict(lr=1e-2), False, np.float32)
    sa, sb = a.state_dict()["state"], b.state_dict()["state"]
    for k in sa:
        assert sa[k]["step"] == sb[k]["step"]
        for key in ("exp_avg", "exp_avg_sq"):
            np.testing.assert_array_equal(sa[k][key].numpy(), sb[k][key].numpy())


def test_kernel_used_only_where_it_is_the_rule():
    w = [cr.zeros(3, requires_grad=True)]
    big = [cr.zeros((256, 256), requires_grad=True)]
    with cr.ops.kernels.using("numba"):
        opt = cr.optim.SGD(big, lr=0.1)
        assert opt._kernel(opt.param_groups[0]) is not None       # fused=None, a large group
        opt = cr.optim.SGD(w, lr=0.1)
        assert opt._kernel(opt.param_groups[0]) is None           # small: the NumPy update
        opt = cr.optim.SGD(w, lr=0.1, fused=True)
        assert opt._kernel(opt.param_groups[0]) is not None
        assert cr.optim.SGD(w, lr=0.1, fused=False)._kernel({"fused": False}) is None
        opt = cr.optim.RMSprop(big)
        assert opt._kernel(opt.param_groups[0]) is None

        class MySGD(cr.optim.SGD):          # a changed rule must not take SGD's kernel
            def _update(self, h, fresh, g, bufs, out):
                np.multiply(g, 2 * h[0], out=out)
        opt = MySGD(big, lr=0.1)
        assert opt._kernel(opt.param_groups[0]) is None
        with pytest.raises(RuntimeError, match="no fused kernel"):
            MySGD(w, lr=0.1, fused=True)._kernel({"fused": True})
    with cr.ops.kernels.using("numpy"):
        opt = cr.optim.Adam(w, fused=True)
        with pytest.raises(RuntimeError, match="needs the numba kernels"):
            opt._kernel(opt.param_groups[0])
        opt = cr.optim.Adam(big)
        assert opt._kernel(opt.param_groups[0]) is None


def test_non_contiguous_parameter_takes_the_numpy_update():
    base = np.arange(12, dtype=np.float32).reshape(3, 4)
    outs = []
    for fused in (True, False):
        w = cr.from_numpy(base.T.copy(order="F").T.copy().T)     # F-ordered view data
        w.requires_grad = True
        opt = cr.optim.Adam([w], lr=0.1, fused=fused)
        with cr.ops.kernels.using("numba"):
            for _ in range(3):
                opt.zero_grad()
                (w * w).sum().backward()
                opt.step()
        outs.append(w.detach().numpy().copy())
    np.testing.assert_array_equal(outs[0], outs[1])


@pytest.mark.parametrize("name,kw", [("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(lr=1e-2)),
                                     ("AdamW", dict(lr=1e-2, weight_decay=0.1))])
def test_a_group_kernel_equals_numpy_with_uneven_steps_and_mixed_groups(name, kw):
    """One compiled call per group: parameters that start at different steps (step counts and
    first momentum steps differ within the group), and groups it hands back whole to NumPy (two
    dtypes, a transposed parameter)."""
    def run(fused, make):
        rng = np.random.default_rng(1)
        ws = make(rng)
        opt = getattr(cr.optim, name)(ws, fused=fused, **kw)
        for step in range(5):
            opt.zero_grad()
            used = ws if step % 2 else ws[:1]           # the others get no gradient every step
            sum(((w * w).sum() + w.cos().sum()) for w in used).backward()
            opt.step()
        return [w.detach().numpy().copy() for w in ws]

    layouts = [
        lambda r: [cr.tensor(r.standard_normal((6, 4)).astype(np.float32), requires_grad=True),
                   cr.tensor(r.standard_normal(9).astype(np.float32), requires_grad=True)],
        lambda r: [cr.tensor(r.standard_normal((6, 4)).astype(np.float32), requires_grad=True),
                   cr.tensor(r.standard_normal(9), requires_grad=True)],          # float64
        lambda r: [cr.tensor(r.standard_normal((6, 4)).astype(np.float32), requires_grad=True),
                   cr.tensor(r.standard_normal((5, 3)).astype(np.float32).T, requires_grad=True)],
    ]
    for make in layouts:
        with cr.ops.kernels.using("numba"):
            fused = run(True, make)
        plain = run(False, make)
        for a, b in zip(fused, plain):
            np.testing.assert_array_equal(a, b)
