# The fit with torch.nn and torch.optim: Sequential(Linear, Flatten), MSELoss(sum), RMSprop.
import math

import torch

x = torch.linspace(-math.pi, math.pi, 2000)
y = 0.5 * x - 0.08 * x ** 3 + 0.2
p = torch.tensor([1, 2, 3])
xx = x.unsqueeze(-1).pow(p)
print("features:", xx.shape, xx.dtype == torch.float32)

model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))
with torch.no_grad():                       # a fixed start instead of the random init
    model[0].weight.copy_(torch.tensor([[0.1, -0.2, 0.05]]))
    model[0].bias.fill_(0.3)
loss_fn = torch.nn.MSELoss(reduction="sum")
optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3)

for t in range(800):
    y_pred = model(xx)
    loss = loss_fn(y_pred, y)
    if t % 200 == 199:
        print(t, f"{loss.item():.4f}")
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

linear_layer = model[0]
print(f"Result: y = {linear_layer.bias.item():.4f} + {linear_layer.weight[:, 0].item():.4f} x + "
      f"{linear_layer.weight[:, 1].item():.4f} x^2 + {linear_layer.weight[:, 2].item():.4f} x^3")
print("parameters:", sum(q.numel() for q in model.parameters()))
