# nn.Module with hand-written parameter updates (param -= lr * param.grad) and zero_grad().
import math

import torch

x = torch.linspace(-math.pi, math.pi, 500)
y = 0.5 * x - 0.08 * x ** 3 + 0.2
xx = x.unsqueeze(-1).pow(torch.tensor([1, 2, 3]))


class Polynomial3(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Parameter(torch.tensor(0.1))
        self.b = torch.nn.Parameter(torch.tensor(-0.2))
        self.c = torch.nn.Parameter(torch.tensor(0.3))
        self.d = torch.nn.Parameter(torch.tensor(-0.05))

    def forward(self, x):
        return self.a + self.b * x + self.c * x ** 2 + self.d * x ** 3

    def string(self):
        return (f"y = {self.a.item():.4f} + {self.b.item():.4f} x + {self.c.item():.4f} x^2 + "
                f"{self.d.item():.4f} x^3")


model = Polynomial3()
criterion = torch.nn.MSELoss(reduction="sum")
learning_rate = 4e-6
for t in range(800):
    loss = criterion(model(x), y)
    if t % 200 == 199:
        print(t, round(loss.item(), 3))
    model.zero_grad()
    loss.backward()
    with torch.no_grad():
        for param in model.parameters():
            param -= learning_rate * param.grad
print("Result:", model.string())
print(sorted(name for name, _ in model.named_parameters()))
