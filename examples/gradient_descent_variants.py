"""Batch, mini-batch and stochastic gradient descent: the same SGD, three batch sizes.

The same network (2 -> 32 tanh -> 2) from the same initial weights is trained on the same
two-moons data with ``cr.optim.SGD(lr=0.1)`` for the same number of epochs; only the batch size
differs: N (batch gradient descent: one exact-gradient step per epoch), 32 (mini-batch) and 1
(stochastic: one noisy step per sample).  Smaller batches make many more updates per epoch, so
they get further per epoch, at a higher cost per sample.  Last, the lecture's derivative-free
coordinate descent (``cr.optim.CoordinateDescent``) on the same problem, for comparison.

    python examples/gradient_descent_variants.py
"""
import copy
import time

import chainrule as cr
from chainrule import nn
from chainrule.datasets import make_moons
from chainrule.utils.data import DataLoader, TensorDataset

X, y = make_moons(400, noise=0.2, seed=0)
X = cr.tensor(X, dtype=cr.float32)
y = cr.tensor(y)
N, EPOCHS = len(X), 15

cr.manual_seed(0)
initial = nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, 2))
loss_fn = nn.CrossEntropyLoss()


def full_loss_and_accuracy(model):
    with cr.no_grad():
        out = model(X)
        return loss_fn(out, y).item(), (out.argmax(1) == y).float().mean().item()


results = {}
for name, batch_size in (("batch (N)", N), ("mini-batch (32)", 32), ("stochastic (1)", 1)):
    model = copy.deepcopy(initial)
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    loader = DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=True,
                        generator=cr.Generator().manual_seed(0))
    losses, t0 = [], time.perf_counter()
    for epoch in range(EPOCHS):
        for xb, yb in loader:
            opt.zero_grad()
            loss_fn(model(xb), yb).backward()
            opt.step()
        losses.append(full_loss_and_accuracy(model)[0])
    loss, acc = full_loss_and_accuracy(model)
    results[name] = (loss, acc)
    print(f"{name:16s} loss per epoch: " + " ".join(f"{v:.3f}" for v in losses))
    print(f"{name:16s} {len(loader) * EPOCHS:5d} updates, final loss {loss:.4f}, accuracy "
          f"{acc:.3f}, {time.perf_counter() - t0:.2f} s")

if hasattr(cr.optim, "CoordinateDescent"):
    model = copy.deepcopy(initial)
    opt = cr.optim.CoordinateDescent(model.parameters(), step_size=0.5,
                                     generator=cr.Generator().manual_seed(0))
    t0 = time.perf_counter()
    steps = 1500
    for _ in range(steps):
        opt.step(lambda: loss_fn(model(X), y))
    loss, acc = full_loss_and_accuracy(model)
    results["coordinate descent"] = (loss, acc)
    print(f"coordinate descent {steps} single-coordinate steps ({3 * steps} loss evaluations, no "
          f"gradients): final loss {loss:.4f}, accuracy {acc:.3f}, "
          f"{time.perf_counter() - t0:.2f} s")

gd = [k for k in results if k != "coordinate descent"]
best = min(gd, key=lambda k: results[k][0])
print(f"lowest loss of the gradient-descent variants after {EPOCHS} epochs: {best}")
