"""The lecture notes' worked examples: autograd against the notes' closed forms.

Expected values are computed here from the formulas in the notes (decks 000 and 002), never
copied from chainrule's own output.
"""
from __future__ import annotations

import math
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from _helpers import assert_close, leaf

import chainrule as cr

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "examples", "notes_worked_examples.py")


def sig(s):
    return 1.0 / (1.0 + math.exp(-s))


# ---------------------------------------------------------------------------------------------
# closed forms from the notes
# ---------------------------------------------------------------------------------------------
def graph_expected(x=-2.0, y=5.0, z=-4.0):
    # q = x + y, f = q z: df/dx = df/dy = z, df/dz = q
    return {"q": x + y, "f": (x + y) * z, "df/dx": z, "df/dy": z, "df/dz": x + y}


NEURON_W, NEURON_W0, NEURON_X = (2.0, -3.0), -3.0, (-1.0, -2.0)


def neuron_expected():
    s = NEURON_W0 + NEURON_W[0] * NEURON_X[0] + NEURON_W[1] * NEURON_X[1]
    o = sig(s)
    local = o * (1 - o)                      # the notes' sigma (1 - sigma)
    return {"s": s, "output": o, "df/dw0": local, "df/dw1": local * NEURON_X[0],
            "df/dw2": local * NEURON_X[1], "df/dx1": local * NEURON_W[0],
            "df/dx2": local * NEURON_W[1]}


HW = {"w03": 1.0, "w04": -1.0, "w05": 1.0, "w13": 2.0, "w14": 4.0, "w23": 3.0, "w24": 1.0,
      "w35": 2.0, "w45": 3.0}
X1, X2, Y = 5.0, -3.0, 1.0


def homework_expected():
    in3 = HW["w03"] + HW["w13"] * X1 + HW["w23"] * X2
    in4 = HW["w04"] + HW["w14"] * X1 + HW["w24"] * X2
    a3, a4 = sig(in3), sig(in4)
    in5 = HW["w05"] + HW["w35"] * a3 + HW["w45"] * a4
    yhat = sig(in5)

    def gprime(v):
        return sig(v) * (1 - sig(v))

    d5 = 2 * (yhat - Y) * gprime(in5)        # Delta5 = 2 (yhat - y) g'(in5)
    d3 = d5 * HW["w35"] * gprime(in3)        # Delta3 = Delta5 w35 g'(in3)
    d4 = d5 * HW["w45"] * gprime(in4)        # Delta4 = Delta5 w45 g'(in4)
    grads = {"w05": d5, "w35": d5 * a3, "w45": d5 * a4, "w03": d3, "w13": d3 * X1,
             "w23": d3 * X2, "w04": d4, "w14": d4 * X1, "w24": d4 * X2}
    return yhat, (Y - yhat) ** 2, grads


# ---------------------------------------------------------------------------------------------
# the examples, built here with chainrule
# ---------------------------------------------------------------------------------------------
def test_graph_example_f_equals_x_plus_y_times_z():
    x, y, z = leaf(-2.0), leaf(5.0), leaf(-4.0)
    q = x + y
    f = q * z
    f.backward()
    exp = graph_expected()
    assert f.item() == exp["f"] == -12.0
    assert (x.grad.item(), y.grad.item(), z.grad.item()) == (-4.0, -4.0, 3.0)
    assert (exp["df/dx"], exp["df/dy"], exp["df/dz"]) == (-4.0, -4.0, 3.0)


def test_sigmoid_neuron():
    w, w0, x = leaf(list(NEURON_W)), leaf(NEURON_W0), leaf(list(NEURON_X))
    out = cr.sigmoid(w @ x + w0)
    out.backward()
    exp = neuron_expected()
    assert round(out.item(), 2) == 0.73                  # the value on the slide
    assert_close(out, exp["output"], rtol=1e-14)
    assert_close(w0.grad, exp["df/dw0"], rtol=1e-14)
    assert_close(w.grad, [exp["df/dw1"], exp["df/dw2"]], rtol=1e-14)
    assert_close(x.grad, [exp["df/dx1"], exp["df/dx2"]], rtol=1e-14)
    # the slide's two-decimal gradients: w: (-0.20, -0.39), x: (0.39, -0.59), bias 0.20
    assert np.allclose(w.grad.numpy(), [-0.20, -0.39], atol=0.01)
    assert np.allclose(x.grad.numpy(), [0.39, -0.59], atol=0.01)


def test_sigmoid_neuron_staged_like_the_slides():
    """The slide's circuit: *-1, exp, +1, 1/x; each local gradient multiplied backwards."""
    w, w0, x = leaf(list(NEURON_W)), leaf(NEURON_W0), leaf(list(NEURON_X))
    s = w[0] * x[0] + w[1] * x[1] + w0
    out = 1.0 / (1.0 + cr.exp(-s))
    out.backward()
    exp = neuron_expected()
    assert_close(w.grad, [exp["df/dw1"], exp["df/dw2"]], rtol=1e-14)
    assert_close(w0.grad, exp["df/dw0"], rtol=1e-14)


def test_homework_network_of_deck_000():
    w = {k: leaf(v) for k, v in HW.items()}
    a3 = cr.sigmoid(w["w03"] + w["w13"] * X1 + w["w23"] * X2)
    a4 = cr.sigmoid(w["w04"] + w["w14"] * X1 + w["w24"] * X2)
    yhat = cr.sigmoid(w["w05"] + w["w35"] * a3 + w["w45"] * a4)
    loss = (Y - yhat) ** 2
    loss.backward()
    e_yhat, e_loss, e_grads = homework_expected()
    assert_close(yhat, e_yhat, rtol=1e-14)
    assert_close(loss, e_loss, rtol=1e-12)
    assert len(e_grads) == 9
    for k, g in e_grads.items():
        assert_close(w[k].grad, g, rtol=1e-10, atol=0, what=k)
    # the notes' sign argument: yhat is too big, so increasing w35 (a3 > 0) hurts
    assert yhat.item() < Y and w["w35"].grad.item() < 0


@pytest.mark.parametrize("sizes,n", [((20, 16, 12, 10), 8), ((7, 5, 4, 3), 1)])
def test_vectorized_network_of_deck_002(sizes, n):
    rng = np.random.default_rng(1)
    X = rng.random((sizes[0], n))                                 # features x samples
    T = np.eye(sizes[-1])[:, rng.integers(0, sizes[-1], n)]
    Ws = [2 * rng.random((a, b)).T - 1 for a, b in zip(sizes[:-1], sizes[1:])]
    W1, W2, W3 = (cr.tensor(W, requires_grad=True) for W in Ws)
    L1 = cr.sigmoid(W1.matmul(cr.tensor(X)))
    L2 = cr.sigmoid(W2 @ L1)
    L3 = cr.sigmoid(W3 @ L2)
    (0.5 * ((L3 - cr.tensor(T)) ** 2).sum()).backward()

    # the slides' code, verbatim apart from the names of the NumPy arrays
    l1 = 1.0 / (1.0 + np.exp(-Ws[0].dot(X)))
    l2 = 1.0 / (1.0 + np.exp(-Ws[1].dot(l1)))
    l3 = 1.0 / (1.0 + np.exp(-Ws[2].dot(l2)))
    dW3 = (l3 - T) * l3 * (1 - l3)
    dW2 = Ws[2].T.dot(dW3) * (l2 * (1 - l2))
    dW1 = Ws[1].T.dot(dW2) * (l1 * (1 - l1))
    assert W3.grad.shape == (sizes[3], sizes[2]) and W1.grad.shape == (sizes[1], sizes[0])
    assert_close(W3.grad, np.dot(dW3, l2.T), rtol=1e-10, atol=1e-14)
    assert_close(W2.grad, np.dot(dW2, l1.T), rtol=1e-10, atol=1e-14)
    assert_close(W1.grad, np.dot(dW1, X.T), rtol=1e-10, atol=1e-14)


# ---------------------------------------------------------------------------------------------
# the example script prints the same values
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def script_values():
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    res = subprocess.run([sys.executable, SCRIPT], capture_output=True, text=True, env=env,
                         timeout=120, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    sections, cur = [], None
    for line in res.stdout.splitlines():
        if re.match(r"^\d\. ", line):
            cur = {}
            sections.append(cur)
        elif (m := re.match(r"^\s+(.+?) = (\S+)$", line)) and cur is not None:
            cur[m.group(1)] = m.group(2)
    assert len(sections) == 4, res.stdout
    return sections


def _check(printed, expected, rtol):
    for k, v in expected.items():
        assert k in printed, f"{k} not printed"
        assert math.isclose(float(printed[k]), v, rel_tol=rtol, abs_tol=1e-15), \
            f"{k}: printed {printed[k]}, expected {v}"


def test_script_graph_and_neuron(script_values):
    _check(script_values[0], graph_expected(), 1e-9)
    _check(script_values[1], neuron_expected(), 1e-9)
    assert script_values[1]["output"].startswith("0.73")


def test_script_homework(script_values):
    yhat, loss, grads = homework_expected()
    printed = script_values[2]
    _check(printed, {"yhat": yhat, "loss": loss}, 1e-9)
    _check(printed, {f"dL/d{k}": g for k, g in grads.items()}, 1e-8)
    assert float(printed["max |autograd - Delta formulas|"]) < 1e-15


def test_script_vectorized(script_values):
    printed = script_values[3]
    for name, shape in (("W1", "16x20"), ("W2", "12x16"), ("W3", "10x12")):
        assert printed[f"grad {name} shape"] == shape
        assert float(printed[f"max |slides| d{name}"]) > 1e-3           # not trivially zero
        assert float(printed[f"max |autograd - slides| d{name}"]) < 1e-12
