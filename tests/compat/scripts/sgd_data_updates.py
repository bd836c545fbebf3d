# The old-style training loop: updates through .data and grad.data.zero_().
import numpy as np
import torch
import torch.nn.functional as F

rng = np.random.default_rng(1)
X = torch.tensor(rng.standard_normal((200, 3)), dtype=torch.float32)
true_w = torch.tensor([[2.0], [-3.4], [1.2]])
y = X @ true_w + 4.2 + 0.01 * torch.tensor(rng.standard_normal((200, 1)), dtype=torch.float32)

w = torch.zeros(3, 1, requires_grad=True)
b = torch.zeros(1, requires_grad=True)
lr = 0.05
for epoch in range(60):
    pred = X @ w + b
    loss = F.mse_loss(pred, y)
    loss.backward()
    w.data -= lr * w.grad.data
    b.data -= lr * b.grad.data
    w.grad.data.zero_()
    b.grad.data.zero_()
    if epoch % 15 == 14:
        print(f"epoch {epoch + 1}: loss {loss.item():.6f}")
print("w:", [round(v, 4) for v in w.data.flatten().tolist()], "b:", round(b.item(), 4))
print("grad zeroed:", w.grad.abs().sum().item())
