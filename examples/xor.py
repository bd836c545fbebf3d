"""XOR with one hidden layer: the function a single perceptron cannot learn.

No straight line separates {(0,1), (1,0)} from {(0,0), (1,1)}, so a network needs a hidden layer:
here 2 -> 4 tanh units -> 1 sigmoid output, trained with binary cross-entropy by full-batch Adam.

    python examples/xor.py
"""
import chainrule as cr
from chainrule import nn

X = cr.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
y = cr.tensor([[0.0], [1.0], [1.0], [0.0]])

cr.manual_seed(0)
model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))   # outputs logits
loss_fn = nn.BCEWithLogitsLoss()
opt = cr.optim.Adam(model.parameters(), lr=0.05)

for step in range(501):
    opt.zero_grad()
    loss = loss_fn(model(X), y)
    loss.backward()
    opt.step()
    if step % 100 == 0:
        print(f"step {step:3d}  loss {loss.item():.4f}")

with cr.no_grad():
    prob = cr.sigmoid(model(X))
correct = 0
for (a, b), p, t in zip(X.tolist(), prob.tolist(), y.tolist()):
    pred = int(p[0] > 0.5)
    correct += pred == int(t[0])
    print(f"{int(a)} xor {int(b)} = {pred}  (p={p[0]:.3f}, target {int(t[0])})")
print(f"correct: {correct}/4")
