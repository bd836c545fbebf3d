"""The kernel switch (``cr.ops.kernels``) and the numba kernels against the NumPy reference.

The op table (tests/test_ops_table.py) checks the convolution and pooling rows with gradcheck,
gradgradcheck and PyTorch under the default kernels; here every one of those rows runs under
both kernels, on NCHW and on channels-last inputs (the layout the compiled pooling kernels
take), and the values, first and second derivatives must be the same arrays bit for bit, with
the same dtypes, shapes and layouts.
"""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import _conv_rows
from _helpers import make_arrays

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.nn._functional_conv import _pool_geometry
from chainrule.ops import kernels, pool

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def numba_kernels():
    pytest.importorskip("numba")
    return "numba"


@pytest.fixture(autouse=True)
def _restore_choice():
    before = kernels.active()
    yield
    kernels.use("auto" if before == "numba" else "numpy")


def _channels_last(a):
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


def _run(fn, arrays, dtype, which, layout):
    """Value, first and second derivatives of ``sum(fn(...) * cot)`` under kernels ``which``."""
    with kernels.using(which):
        ins = []
        for k, a in enumerate(arrays):
            a = a.astype(dtype)
            if k == 0 and a.ndim == 4 and layout == "nhwc":
                a = _channels_last(a)
            ins.append(cr.tensor(a, requires_grad=True))
        out = fn(cr, *ins)
        cot = cr.tensor(np.linspace(-1, 1, out.numel(), dtype=dtype).reshape(out.shape))
        grads = cr.autograd.grad((out * cot).sum(), ins, create_graph=True)
        total = sum((g * g).sum() for g in grads)
        second = cr.autograd.grad(total, ins, allow_unused=True) if total.requires_grad else []
    return [out] + list(grads) + [s for s in second if s is not None]


ROWS = [r for r in _conv_rows.rows(lambda *a: a) if r[0].split("_")[0] in
        ("conv2d", "conv1d", "conv", "max", "avg", "adaptive")]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
@pytest.mark.parametrize("row", ROWS, ids=[r[0] for r in ROWS])
def test_numba_kernels_equal_the_numpy_reference_bit_for_bit(row, layout, dtype, numba_kernels):
    name, fn, shapes = row[:3]
    domain = row[3] if len(row) > 3 else "real"
    for case in shapes:
        arrays = make_arrays(case, domain)
        ref = _run(fn, arrays, dtype, "numpy", layout)
        got = _run(fn, arrays, dtype, numba_kernels, layout)
        assert len(ref) == len(got)
        for r, g in zip(ref, got):
            r, g = r.detach().numpy(), g.detach().numpy()
            assert r.dtype == g.dtype == dtype and r.shape == g.shape
            assert np.array_equal(r, g), f"{name} {case}: max diff {np.abs(r - g).max()}"


def test_max_pool_edge_values_match_the_reference(numba_kernels):
    """Ties (the first offset wins, as PyTorch), NaN, -inf and padding in channels-last."""
    x = np.random.default_rng(1).standard_normal((2, 3, 7, 6)).astype(np.float32)
    x[0, 0, :2, :2] = 1.0
    x[0, 1, 0, 0] = np.nan
    x[1, 0] = -np.inf
    x[1, 2, :3, :3] = 0.0
    xl = _channels_last(x)
    for k, s, p, d, ceil in [(2, 2, 0, 1, False), (3, 2, 1, 1, True), (3, 1, 1, 2, False)]:
        geo = _pool_geometry(cr.tensor(xl), k, s, p, d, ceil, "test")
        kk, ss, pads, dd, out_hw, _ = geo
        res = {}
        for which in ("numpy", numba_kernels):
            with kernels.using(which):
                out, idx = pool.max_with_offsets(np, xl, kk, ss, pads, dd, out_hw)
                g = _channels_last(np.arange(out.size, dtype=np.float32).reshape(out.shape))
                res[which] = out, idx, pool.max_scatter(np, g, idx, xl.shape, kk, ss, pads, dd)
        for r, q in zip(res["numpy"], res[numba_kernels]):
            # the same memory order (the reference's padded gradient is a cropped view)
            assert r.dtype == q.dtype
            assert list(np.argsort(r.strides)) == list(np.argsort(q.strides))
            assert np.array_equal(r, q, equal_nan=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_kernels_equal_the_reference_bit_for_bit(dtype, numba_kernels):
    """NaN, infinities, signed zeros; C-contiguous arrays above the size where numba runs, and
    the others (small, transposed, tensors) left to the reference."""
    from chainrule.ops import elementwise as E
    rng = np.random.default_rng(3)
    x = rng.standard_normal((160, 129)).astype(dtype)      # above min_size (16,384)
    x[0, :5] = [np.nan, -0.0, 0.0, np.inf, -np.inf]
    g = rng.standard_normal(x.shape).astype(dtype)
    g[1, :4] = [np.inf, -np.inf, np.nan, -0.0]
    bits = np.int32 if dtype == np.float32 else np.int64
    from chainrule.ops import _kernels_numba as twins
    assert twins.positive_part(x) is not NotImplemented     # the big C-contiguous case is numba's
    assert twins.positive_part(x.T) is NotImplemented
    for a, b in [(x, g), (x.T, g.T), (x[:3], g[:3])]:
        y = E.positive_part.reference(np, a)
        with np.errstate(invalid="ignore"):
            ref = (y, E.grad_where_positive.reference(np, b, y))
            with kernels.using(numba_kernels):
                got = (E.positive_part(np, a), E.grad_where_positive(np, b, y))
        for r, q in zip(ref, got):
            assert q.dtype == dtype and q.shape == r.shape
            assert np.array_equal(np.ascontiguousarray(r).view(bits),
                                  np.ascontiguousarray(q).view(bits))
    with kernels.using(numba_kernels):             # a tensor (create_graph) takes the reference
        t = cr.tensor(x.astype(np.float64), requires_grad=True)
        u = cr.relu(t)
        gx, = cr.grad((u * u).sum(), t, create_graph=True)
        gg, = cr.grad(gx.sum(), t)
    np.testing.assert_array_equal(gg.numpy()[1:], 2.0 * (x[1:] > 0))


def test_a_small_model_trains_without_importing_numba(numba_kernels):
    """The fused optimizers start at 65,536 elements, and ReLU's kernels (from 16,384) load
    numba themselves only from 65,536: a small model, or a 30,000-element ReLU before anything
    else needs numba, leaves numba (77 MiB, about a second to load) out of the process."""
    code = ("import sys, numpy as np, chainrule as cr\n"
            "m = cr.nn.Sequential(cr.nn.Linear(64, 64), cr.nn.ReLU(), cr.nn.Linear(64, 10))\n"
            "o = cr.optim.SGD(m.parameters(), lr=0.1)\n"
            "x = cr.randn(64, 64); y = cr.from_numpy(np.arange(64) % 10)\n"
            "for _ in range(2):\n"
            "    o.zero_grad(); cr.nn.functional.cross_entropy(m(x), y).backward(); o.step()\n"
            "cr.relu(cr.randn(300, 100, requires_grad=True)).sum().backward()\n"
            "print('numba' in sys.modules)\n"
            "cr.relu(cr.randn(300, 300))\n"         # 90,000 elements: worth loading numba
            "print(cr.ops.kernels._choice is not None)\n")
    env = {k: v for k, v in os.environ.items() if k != "CHAINRULE_KERNELS"}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True).stdout
    assert out.split() == ["False", "True"]


def test_max_pool_ties_send_the_gradient_to_the_first_maximum_as_torch():
    torch = pytest.importorskip("torch")
    a = np.zeros((1, 2, 4, 4))
    a[0, 1, 2:, 2:] = 1.0
    for which in ("numpy", "auto"):
        with kernels.using(which):
            x = cr.tensor(_channels_last(a), requires_grad=True)
            F.max_pool2d(x, 2).sum().backward()
        t = torch.tensor(a, requires_grad=True)
        torch.nn.functional.max_pool2d(t, 2).sum().backward()
        assert np.array_equal(x.grad.numpy(), t.grad.numpy())


def test_lenet_training_is_identical_under_both_kernels(numba_kernels):
    rng = np.random.default_rng(0)
    X = rng.random((16, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, 16)
    losses, params = {}, {}
    for which in ("numpy", numba_kernels):
        with kernels.using(which):
            cr.manual_seed(0)
            model = cr.models.lenet5()
            opt = cr.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

            def step(xb, yb):
                opt.zero_grad()
                loss = F.cross_entropy(model(xb), yb)
                loss.backward()
                opt.step()
                return loss
            run = cr.compile(step)
            losses[which] = [run(cr.tensor(X[i:i + 8]), cr.tensor(y[i:i + 8])).item()
                             for i in (0, 8, 0, 8)]
            params[which] = [p.detach().numpy().copy() for p in model.parameters()]
    assert losses["numpy"] == losses[numba_kernels]
    assert all(np.array_equal(a, b) for a, b in zip(params["numpy"], params[numba_kernels]))


def test_kernels_outside_the_compiled_cases_take_the_reference(numba_kernels):
    """float16 and grouped windows: the numba twins answer NotImplemented, NumPy runs."""
    from chainrule.ops import _kernels_numba as K
    x = np.random.default_rng(0).standard_normal((2, 4, 6, 6)).astype(np.float16)
    geo = ((2, 2), (2, 2), (0, 0, 0, 0), (1, 1), (3, 3))
    assert K.max_with_offsets(_channels_last(x), *geo) is NotImplemented
    assert K.max_with_offsets(x.astype(np.float32), *geo) is NotImplemented   # NCHW memory
    with kernels.using(numba_kernels):
        out, idx = pool.max_with_offsets(np, _channels_last(x), *geo)
    with kernels.using("numpy"):
        ref, ridx = pool.max_with_offsets(np, _channels_last(x), *geo)
    assert out.dtype == np.float16 and np.array_equal(out, ref) and np.array_equal(idx, ridx)
    d = np.ones((2, 2 * 4, 4), np.float32)
    assert K.conv_scatter_windows(d, (2, 4, 3, 3), (1, 1), (1, 1), (0,) * 4, (1, 1),
                                  (2, 2)) is NotImplemented


def test_the_switch_names_and_refuses_bad_choices():
    kernels.use("numpy")
    assert kernels.active() == "numpy"
    with pytest.raises(ValueError, match="numpy, numba"):
        kernels.use("fortran")
    assert kernels.active() == "numpy"        # a refused choice changes nothing
    with kernels.using("auto"):
        assert kernels.active() == ("numba" if kernels.available() else "numpy")
    assert kernels.active() == "numpy"


def _child(code, **env):
    e = dict(os.environ, **env)
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=e, capture_output=True,
                          text=True, timeout=300)


NO_NUMBA = ("import sys; sys.modules['numba'] = None\n"     # numba not importable
            "import chainrule as cr, chainrule.nn.functional as F\n")


def test_without_numba_auto_falls_back_and_numba_is_a_clear_error():
    r = _child(NO_NUMBA + "x = cr.randn(2, 3, 8, 8, requires_grad=True)\n"
               "F.max_pool2d(F.conv2d(x, cr.randn(4, 3, 3, 3)), 2).sum().backward()\n"
               "print(cr.ops.kernels.active(), cr.ops.kernels.available(), x.grad.shape)\n"
               "try:\n    cr.ops.kernels.use('numba')\n"
               "except ImportError as e:\n    print('ERR', e)\n")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "numpy False chainrule.Size([2, 3, 8, 8])"
    assert lines[1].startswith("ERR") and "chainrule[fast]" in lines[1]


def test_environment_variable_chooses_at_first_use():
    r = _child("import chainrule as cr\nprint(cr.ops.kernels.active())",
               CHAINRULE_KERNELS="numpy")
    assert r.returncode == 0 and r.stdout.strip() == "numpy", r.stderr
    r = _child("import chainrule as cr\ncr.ops.kernels.active()", CHAINRULE_KERNELS="gpu")
    assert r.returncode != 0 and "CHAINRULE_KERNELS" in r.stderr and "'gpu'" in r.stderr
    r = _child(NO_NUMBA + "cr.ops.kernels.active()", CHAINRULE_KERNELS="numba")
    assert r.returncode != 0 and "CHAINRULE_KERNELS" in r.stderr and "numba" in r.stderr


def test_an_unwritable_cache_dir_compiles_in_memory_silently(tmp_path, numba_kernels):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    r = _child("import chainrule as cr, chainrule.nn.functional as F\n"
               "x = cr.randn(2, 3, 8, 8).permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)\n"
               "x.requires_grad_(True)\n"
               "F.max_pool2d(x, 2).sum().backward()\n"
               "print(cr.ops.kernels.active(), float(x.grad.sum()))",
               NUMBA_CACHE_DIR=str(blocker / "cache"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["numba", "96.0"]      # 2*3*4*4 windows, one 1 each
    assert "Warning" not in r.stderr
