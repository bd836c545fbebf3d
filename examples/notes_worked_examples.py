"""The lecture notes' worked examples, reproduced with chainrule's autograd.

    python examples/notes_worked_examples.py

1. f(x, y, z) = (x + y) z at (-2, 5, -4): the computational-graph example (deck 002).
2. The single sigmoid neuron f(w, x) = 1 / (1 + exp(-(w0 + w1 x1 + w2 x2))) with w = (2, -3),
   bias w0 = -3, x = (-1, -2): output 0.73, gradients sigma (1 - sigma) * input (deck 002).
3. The homework network of deck 000: two inputs, hidden units 3 and 4, output unit 5, sigmoid
   everywhere, loss (y - yhat)^2: yhat and the gradients of all nine weights, next to the
   notes' Delta formulas (Delta5 = 2 (yhat - y) g'(in5), Delta3 = Delta5 w35 g'(in3), ...).
4. The vectorized three-layer sigmoid network of deck 002 in its column layout (X is
   features x samples), scaled down from 784-256-128-10 to 20-16-12-10: autograd's weight
   gradients of 1/2 sum (L3 - T)^2 against the slides' hand-written backward pass.

Every printed line ``name = value`` is checked by ``tests/test_notes_examples.py``.
"""
from __future__ import annotations

import numpy as np

import chainrule as cr

F64 = cr.float64


def graph_example():
    """f = (x + y) z and its three partial derivatives."""
    x, y, z = (cr.tensor(v, dtype=F64, requires_grad=True) for v in (-2.0, 5.0, -4.0))
    q = x + y
    f = q * z
    f.backward()
    return {"q": q.item(), "f": f.item(), "df/dx": x.grad.item(), "df/dy": y.grad.item(),
            "df/dz": z.grad.item()}


def sigmoid_neuron():
    """One neuron: s = w0 + w1 x1 + w2 x2, output sigma(s)."""
    w = cr.tensor([2.0, -3.0], dtype=F64, requires_grad=True)
    w0 = cr.tensor(-3.0, dtype=F64, requires_grad=True)
    x = cr.tensor([-1.0, -2.0], dtype=F64, requires_grad=True)
    out = cr.sigmoid(w @ x + w0)
    out.backward()
    return {"s": (w @ x + w0).item(), "output": out.item(),
            "df/dw0": w0.grad.item(), "df/dw1": w.grad[0].item(), "df/dw2": w.grad[1].item(),
            "df/dx1": x.grad[0].item(), "df/dx2": x.grad[1].item()}


HOMEWORK = {"w03": 1.0, "w04": -1.0, "w05": 1.0, "w13": 2.0, "w14": 4.0, "w23": 3.0,
            "w24": 1.0, "w35": 2.0, "w45": 3.0}
X1, X2, Y = 5.0, -3.0, 1.0


def homework_network():
    """Deck 000's homework: yhat and dLoss/dw for its nine weights, by autograd and by Deltas."""
    w = {k: cr.tensor(v, dtype=F64, requires_grad=True) for k, v in HOMEWORK.items()}
    in3 = w["w03"] + w["w13"] * X1 + w["w23"] * X2
    in4 = w["w04"] + w["w14"] * X1 + w["w24"] * X2
    a3, a4 = cr.sigmoid(in3), cr.sigmoid(in4)
    in5 = w["w05"] + w["w35"] * a3 + w["w45"] * a4
    yhat = cr.sigmoid(in5)
    loss = (Y - yhat) ** 2
    loss.backward()
    out = {"yhat": yhat.item(), "loss": loss.item()}
    out.update({f"dL/d{k}": t.grad.item() for k, t in w.items()})

    # the notes' Delta formulas, by hand (g' = g (1 - g) for the sigmoid)
    def gp(a):
        return a * (1 - a)

    a3v, a4v, yv = a3.item(), a4.item(), yhat.item()
    d5 = 2 * (yv - Y) * gp(yv)
    d3 = d5 * HOMEWORK["w35"] * gp(a3v)
    d4 = d5 * HOMEWORK["w45"] * gp(a4v)
    by_hand = {"w05": d5, "w35": d5 * a3v, "w45": d5 * a4v, "w03": d3, "w13": d3 * X1,
               "w23": d3 * X2, "w04": d4, "w14": d4 * X1, "w24": d4 * X2}
    out["max |autograd - Delta formulas|"] = max(abs(out[f"dL/d{k}"] - v)
                                                  for k, v in by_hand.items())
    return out


def vectorized_network(sizes=(20, 16, 12, 10), n=8, seed=0):
    """Deck 002's column-layout network: autograd vs the slides' dW3/dW2/dW1 code."""
    rng = np.random.default_rng(seed)
    X = rng.random((sizes[0], n))
    T = np.eye(sizes[-1])[:, rng.integers(0, sizes[-1], n)]          # one-hot columns
    Ws = [2 * rng.random((a, b)).T - 1 for a, b in zip(sizes[:-1], sizes[1:])]

    W1, W2, W3 = (cr.tensor(W, requires_grad=True) for W in Ws)
    L1 = cr.sigmoid(W1 @ cr.tensor(X))
    L2 = cr.sigmoid(W2 @ L1)
    L3 = cr.sigmoid(W3 @ L2)
    loss = 0.5 * ((L3 - cr.tensor(T)) ** 2).sum()
    loss.backward()

    # the slides' hand-written backward pass, in NumPy
    def sigmoid(x):
        return 1.0 / (1.0 + np.e ** (-x))

    l1 = sigmoid(Ws[0].dot(X))
    l2 = sigmoid(Ws[1].dot(l1))
    l3 = sigmoid(Ws[2].dot(l2))
    dW3 = (l3 - T) * l3 * (1 - l3)
    dW2 = Ws[2].T.dot(dW3) * (l2 * (1 - l2))
    dW1 = Ws[1].T.dot(dW2) * (l1 * (1 - l1))
    slides = {"W3": np.dot(dW3, l2.T), "W2": np.dot(dW2, l1.T), "W1": np.dot(dW1, X.T)}
    out = {"loss": loss.item()}
    for name, t in (("W1", W1), ("W2", W2), ("W3", W3)):
        g, ref = t.grad.numpy(), slides[name]
        out[f"grad {name} shape"] = "x".join(map(str, g.shape))
        out[f"max |autograd - slides| d{name}"] = float(np.abs(g - ref).max())
        out[f"max |slides| d{name}"] = float(np.abs(ref).max())
    return out


def main():
    sections = [("1. f(x, y, z) = (x + y) z at x=-2, y=5, z=-4", graph_example),
                ("2. sigmoid neuron, w=(2, -3), w0=-3, x=(-1, -2)", sigmoid_neuron),
                ("3. deck 000 homework network (sigmoid, loss (y - yhat)^2)", homework_network),
                ("4. deck 002 vectorized network 20-16-12-10, column layout", vectorized_network)]
    for title, fn in sections:
        print(title)
        for k, v in fn().items():
            print(f"  {k} = {v:.10g}" if isinstance(v, float) else f"  {k} = {v}")
        print()


if __name__ == "__main__":
    main()
