"""Perceptron and Adaline on linearly separable data; Adaline versus least squares.

* The perceptron (hard threshold, Rosenblatt's rule) stops after the first epoch without a
  mistake, which on separable data happens after finitely many updates.
* Adaline (a linear unit trained on the squared error by gradient descent) converges to the
  least-squares solution of ``[X, 1] @ [w; b] = t`` with targets t = -1/+1, the same weights as
  ``np.linalg.lstsq`` -- and as a one-neuron chainrule network trained with MSELoss.

    python examples/perceptron_adaline.py
"""
import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.classic import Adaline, Perceptron

rng = np.random.default_rng(0)
n = 100
X = np.vstack([rng.normal([2.0, 2.0], 0.6, size=(n, 2)), rng.normal([-2.0, -1.0], 0.6, (n, 2))])
y = np.repeat([1, 0], n)
X = (X - X.mean(0)) / X.std(0)                   # standardize (Adaline's step size depends on it)

perc = Perceptron(lr=0.1, epochs=100, seed=0).fit(X, y)
print(f"perceptron: converged after {perc.n_iter_} epochs, mistakes per epoch {perc.errors_}")
print(f"perceptron: training accuracy {perc.score(X, y):.3f}")

ada = Adaline(lr=1.0 / len(X), epochs=2000, mode="batch", init_scale=0.0).fit(X, y)
print(f"adaline: training accuracy {ada.score(X, y):.3f}, final cost {ada.cost_[-1]:.4f}")

t = 2.0 * y - 1.0                                # Adaline's targets: -1 / +1
A = np.hstack([X, np.ones((len(X), 1))])
lstsq, *_ = np.linalg.lstsq(A, t, rcond=None)
ada_w = np.append(ada.coef_, ada.intercept_)

cr.manual_seed(0)
neuron = nn.Linear(2, 1)                         # Adaline as a one-neuron network
opt = cr.optim.SGD(neuron.parameters(), lr=0.5)
Xt, tt = cr.tensor(X), cr.tensor(t[:, None])     # float64 throughout, to compare closely
neuron.double()
for _ in range(500):
    opt.zero_grad()
    nn.MSELoss()(neuron(Xt), tt).backward()
    opt.step()
net_w = np.append(neuron.weight.detach().numpy().ravel(), neuron.bias.detach().numpy())

np.set_printoptions(precision=6, suppress=True)
print(f"least squares  [w1, w2, b] = {lstsq}")
print(f"adaline        [w1, w2, b] = {ada_w}")
print(f"chainrule MSE  [w1, w2, b] = {net_w}")
print(f"max |adaline - lstsq| = {np.abs(ada_w - lstsq).max():.2e}")
print(f"max |network - lstsq| = {np.abs(net_w - lstsq).max():.2e}")
