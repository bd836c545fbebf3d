"""The scripts in examples/ run and print the results the lecture notes lead to."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("chainrule.nn")
pytest.importorskip("chainrule.optim")

ROOT = Path(__file__).resolve().parents[1]
MNIST = ROOT.parent / "shared/datasets/mnist-test"


def run_example(name, *args, timeout=120):
    # one BLAS thread: these tiny matrices gain nothing from threads, and on a shared machine
    # (tests run in parallel) OpenBLAS's thread hand-offs can make them many times slower
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / name), *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def floats(pattern, text):
    """The numbers captured by ``pattern`` (all groups of all matches, in order)."""
    out = []
    for m in re.finditer(pattern, text, re.M):
        out.extend(float(v) for v in m.groups())
    return out


def test_mnist_sigmoid_mse_on_embedded_digits():
    out = run_example("mnist_sigmoid_mse.py", "--digits")
    assert "embedded 8x8 digits" in out
    losses = floats(r"\] MSE Loss: ([\d.]+)", out)
    assert len(losses) == 8 and losses[-1] < 0.5 * losses[0]
    assert all(b < a for a, b in zip(losses, losses[1:]))
    assert floats(r"test accuracy: ([\d.]+)", out)[0] >= 0.7


@pytest.mark.skipif(not MNIST.is_dir(), reason="MNIST test set not present")
def test_mnist_sigmoid_mse_on_mnist():
    out = run_example("mnist_sigmoid_mse.py", "--epochs", "2", "--data-dir", str(MNIST))
    assert "MNIST test images" in out and "8000 train, 2000 test, 784 inputs" in out
    losses = floats(r"\] MSE Loss: ([\d.]+)", out)
    assert len(losses) == 2 and losses[1] < losses[0]
    assert floats(r"test accuracy: ([\d.]+)", out)[0] >= 0.5


def test_xor():
    out = run_example("xor.py")
    assert "correct: 4/4" in out
    for a, b in ((0, 0), (0, 1), (1, 0), (1, 1)):
        assert f"{a} xor {b} = {a ^ b}" in out


def test_perceptron_adaline():
    out = run_example("perceptron_adaline.py")
    assert "perceptron: training accuracy 1.000" in out
    assert "adaline: training accuracy 1.000" in out
    assert floats(r"max \|adaline - lstsq\| = ([\d.e+-]+)", out)[0] < 1e-6
    assert floats(r"max \|network - lstsq\| = ([\d.e+-]+)", out)[0] < 1e-6


def test_gradient_descent_variants():
    out = run_example("gradient_descent_variants.py")
    final = dict(zip(re.findall(r"^(\w[\w -]*?\(\w+\))\s+\d+ updates", out, re.M),
                     floats(r"final loss ([\d.]+)", out)))
    assert set(final) == {"batch (N)", "mini-batch (32)", "stochastic (1)"}
    assert final["stochastic (1)"] < final["mini-batch (32)"] < final["batch (N)"]
    per_epoch = [float(v) for v in re.search(r"batch \(N\)\s+loss per epoch: ([\d. ]+)",
                                             out).group(1).split()]
    assert len(per_epoch) == 15 and per_epoch[-1] < per_epoch[0]
    assert "15 updates" in out and "6000 updates" in out
    import chainrule as cr
    if hasattr(cr.optim, "CoordinateDescent"):
        assert "coordinate descent" in out


def test_cost_functions():
    out = run_example("cost_functions.py")
    g_mse, cf_mse = floats(
        r"dMSE/dz = ([+-][\d.]+)\s+\(closed form 2\(y-t\)y\(1-y\) = ([+-][\d.]+)", out)
    g_ce, cf_ce = floats(r"dCE/dz  = ([+-][\d.]+)\s+\(closed form y-t = ([+-][\d.]+)", out)
    assert g_mse == cf_mse and g_ce == cf_ce and abs(g_ce) > 100 * abs(g_mse)
    mse_loss, mse_acc = floats(r"final MSE: loss ([\d.]+), accuracy ([\d.]+)", out)
    ce_loss, ce_acc = floats(r"final cross-entropy: loss ([\d.]+), accuracy ([\d.]+)", out)
    assert ce_acc == 1.0 and mse_acc < 0.5


def test_logistic_regression():
    out = run_example("logistic_regression.py")
    assert floats(r"network: test accuracy ([\d.]+)", out)[0] >= 0.95
    try:
        import sklearn  # noqa: F401
    except ImportError:
        assert "comparison skipped" in out
    else:
        assert floats(r"max \|w_chainrule - w_sklearn\| = ([\d.e+-]+)", out)[0] < 1e-4
