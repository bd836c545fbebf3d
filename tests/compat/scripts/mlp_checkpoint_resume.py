# A classifier as an nn.Module subclass with F.relu / log_softmax / nll_loss, Adam, a StepLR
# schedule, a checkpoint dict (model + optimizer + epoch) and a resumed run that matches.
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.optim.lr_scheduler import StepLR

rng = np.random.default_rng(3)
X = torch.tensor(rng.standard_normal((256, 10)), dtype=torch.float32)
Y = torch.tensor((rng.standard_normal((256, 10)) @ rng.standard_normal(10) > 0).astype(np.int64))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(10, 32)
        self.fc2 = nn.Linear(32, 2)
        self.dropout = nn.Dropout(0.0)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = self.dropout(x)
        return F.log_softmax(self.fc2(x), dim=1)


def make():
    model = Net()
    with torch.no_grad():
        for i, p in enumerate(model.parameters()):
            p.copy_(torch.linspace(-0.5, 0.5, p.numel()).reshape(p.shape) * (i + 1) / 4)
    return model


def run_epoch(model, optimizer):
    model.train()
    total = 0.0
    for i in range(0, 256, 64):
        optimizer.zero_grad()
        loss = F.nll_loss(model(X[i:i + 64]), Y[i:i + 64])
        loss.backward()
        optimizer.step()
        total += loss.item()
    return total / 4


model = make()
optimizer = optim.Adam(model.parameters(), lr=0.01)
scheduler = StepLR(optimizer, step_size=2, gamma=0.5)
for epoch in range(1, 4):
    print(f"epoch {epoch} loss {run_epoch(model, optimizer):.6f} lr {scheduler.get_last_lr()[0]}")
    scheduler.step()
torch.save({"epoch": 3, "model_state_dict": model.state_dict(),
            "optimizer_state_dict": optimizer.state_dict()}, "checkpoint.pt")

resumed = make()
opt2 = optim.Adam(resumed.parameters(), lr=0.01)
ckpt = torch.load("checkpoint.pt")
resumed.load_state_dict(ckpt["model_state_dict"])
opt2.load_state_dict(ckpt["optimizer_state_dict"])
print("resumed at epoch", ckpt["epoch"], "lr", opt2.param_groups[0]["lr"])
a, b = run_epoch(model, optimizer), run_epoch(resumed, opt2)
print(f"next epoch: {a:.6f} {b:.6f} same: {abs(a - b) < 1e-12}")
model.eval()
with torch.no_grad():
    acc = (model(X).argmax(dim=1) == Y).float().mean().item()
print(f"train accuracy {acc:.4f}")
