"""Mean squared error versus cross-entropy on a sigmoid output.

With ``y = sigmoid(z)`` and target ``t``, the gradient with respect to ``z`` is

* MSE ``(y - t)**2``:            ``2 (y - t) * y (1 - y)``  -- multiplied by sigmoid'(z), which is
  nearly 0 when the unit saturates, even when the output is completely wrong;
* cross-entropy ``-t log y - (1 - t) log(1 - y)``:  ``y - t``  -- sigmoid' cancels out, so a
  confidently wrong unit gets a large gradient.

Part 1 computes both gradients with autograd at a saturated wrong output; part 2 trains the
same sigmoid unit from the same badly saturated start with both costs.

    python examples/cost_functions.py
"""
import numpy as np

import chainrule as cr
from chainrule import nn

# -- part 1: the gradient at a saturated, wrong output ------------------------------------------
z = cr.tensor([-6.0], dtype=cr.float64, requires_grad=True)
t = cr.tensor([1.0], dtype=cr.float64)
y = cr.sigmoid(z)
mse = ((y - t) ** 2).sum()
(g_mse,) = cr.grad(mse, z)
ce = nn.functional.binary_cross_entropy(cr.sigmoid(z), t)
(g_ce,) = cr.grad(ce, z)
s = 1 / (1 + np.exp(6.0))
print(f"output sigmoid(-6) = {y.item():.5f}, target 1")
closed_mse = 2 * (s - 1) * s * (1 - s)
print(f"dMSE/dz = {g_mse.item():+.5f}   (closed form 2(y-t)y(1-y) = {closed_mse:+.5f})")
print(f"dCE/dz  = {g_ce.item():+.5f}   (closed form y-t = {s - 1:+.5f})")
print(f"cross-entropy gradient is {abs(g_ce.item() / g_mse.item()):.0f}x larger")

# -- part 2: train the same unit both ways --------------------------------------------------------
rng = np.random.default_rng(0)
n = 200
X = np.vstack([rng.normal([1.5, 1.5], 0.7, (n // 2, 2)),
               rng.normal([-1.5, -1.5], 0.7, (n // 2, 2))])
labels = np.repeat([1.0, 0.0], n // 2)
X, T = cr.tensor(X, dtype=cr.float32), cr.tensor(labels[:, None], dtype=cr.float32)

results = {}
for name, loss_fn in (("MSE", nn.MSELoss()), ("cross-entropy", nn.BCELoss())):
    unit = nn.Sequential(nn.Linear(2, 1), nn.Sigmoid())
    with cr.no_grad():                           # start saturated and wrong: w points backwards
        unit[0].weight.copy_(cr.tensor([[-2.0, -2.0]]))
        unit[0].bias.fill_(0.0)
    opt = cr.optim.SGD(unit.parameters(), lr=0.5)
    history = []
    for step in range(61):
        out = unit(X)
        loss = loss_fn(out, T)
        acc = ((out > 0.5).float() == T).float().mean().item()
        if step % 10 == 0:
            history.append(f"{step}: loss {loss.item():.3f} acc {acc:.2f}")
        opt.zero_grad()
        loss.backward()
        opt.step()
    results[name] = (loss.item(), acc)
    print(f"{name:13s} " + " | ".join(history))

for name, (loss, acc) in results.items():
    print(f"final {name}: loss {loss:.4f}, accuracy {acc:.3f}")
