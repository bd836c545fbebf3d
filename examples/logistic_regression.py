"""Logistic regression as a one-neuron network, checked against scikit-learn.

A single ``nn.Linear(d, 1)`` unit whose output is a logit, trained with ``BCEWithLogitsLoss``
(sigmoid + binary cross-entropy in one numerically stable step), is logistic regression.  With
the same L2 penalty as scikit-learn's default (``C=1``: ``||w||^2 / (2 C N)`` added to the mean
loss, the intercept not penalised) and enough full-batch steps, it reaches the same weights as
``sklearn.linear_model.LogisticRegression`` (when scikit-learn is installed).

Task: tell handwritten 3s from 8s in the embedded 8x8 digits.

    python examples/logistic_regression.py
"""
import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.datasets import load_digits, train_test_split

X, y = load_digits()
keep = (y == 3) | (y == 8)
X, y = X[keep].astype(np.float64), (y[keep] == 8).astype(np.float64)
Xtr, Xte, ytr, yte = train_test_split(X, y.astype(np.int64), test_size=0.3, seed=0)
mean, std = Xtr.mean(0), Xtr.std(0) + 1e-8              # standardize with training statistics
Xtr, Xte = (Xtr - mean) / std, (Xte - mean) / std
C, N = 1.0, len(Xtr)
print(f"3 vs 8: {N} training and {len(Xte)} test images, {X.shape[1]} features")

cr.manual_seed(0)
neuron = nn.Linear(X.shape[1], 1).double()               # float64, to compare closely
loss_fn = nn.BCEWithLogitsLoss()
opt = cr.optim.Adam(neuron.parameters(), lr=0.05)
Xt, yt = cr.tensor(Xtr), cr.tensor(ytr[:, None], dtype=cr.float64)
for step in range(3001):
    opt.zero_grad()
    loss = loss_fn(neuron(Xt), yt) + (neuron.weight ** 2).sum() / (2 * C * N)
    loss.backward()
    opt.step()
    if step % 1000 == 0:
        print(f"step {step:4d}  penalised loss {loss.item():.6f}")

with cr.no_grad():
    test_pred = (neuron(cr.tensor(Xte)) > 0).numpy().ravel()
acc = np.mean(test_pred == yte)
w = np.append(neuron.weight.detach().numpy().ravel(), neuron.bias.detach().numpy())
print(f"chainrule one-neuron network: test accuracy {acc:.4f}")

try:
    from sklearn.linear_model import LogisticRegression
except ImportError:
    print("scikit-learn is not installed: comparison skipped")
else:
    sk = LogisticRegression(C=C, tol=1e-10, max_iter=10000).fit(Xtr, ytr)
    w_sk = np.append(sk.coef_.ravel(), sk.intercept_)
    print(f"scikit-learn LogisticRegression: test accuracy {sk.score(Xte, yte):.4f}")
    print(f"max |w_chainrule - w_sklearn| = {np.abs(w - w_sk).max():.2e} "
          f"(largest |w| = {np.abs(w_sk).max():.2f})")
    print(f"predictions agree on {np.mean(sk.predict(Xte) == test_pred):.4f} of the test set")
