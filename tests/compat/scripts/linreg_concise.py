# Linear regression the concise way: TensorDataset, DataLoader, nn.Linear, MSELoss, optim.SGD.
import numpy as np
import torch
from torch import nn
from torch.utils import data

rng = np.random.default_rng(7)
true_w = torch.tensor([2, -3.4])
true_b = 4.2
features = torch.tensor(rng.standard_normal((1000, 2)), dtype=torch.float32)
labels = (torch.matmul(features, true_w) + true_b).reshape(-1, 1)
labels += torch.tensor(rng.standard_normal((1000, 1)) * 0.01, dtype=torch.float32)


def load_array(data_arrays, batch_size, is_train=True):
    dataset = data.TensorDataset(*data_arrays)
    return data.DataLoader(dataset, batch_size, shuffle=False)


data_iter = load_array((features, labels), 10)
print(type(next(iter(data_iter))).__name__, len(next(iter(data_iter))))

net = nn.Sequential(nn.Linear(2, 1))
net[0].weight.data.fill_(0.01)
net[0].bias.data.fill_(0)
loss = nn.MSELoss()
trainer = torch.optim.SGD(net.parameters(), lr=0.03)

num_epochs = 3
for epoch in range(num_epochs):
    for X, y in data_iter:
        l = loss(net(X), y)
        trainer.zero_grad()
        l.backward()
        trainer.step()
    l = loss(net(features), labels)
    print(f"epoch {epoch + 1}, loss {l:f}")

w = net[0].weight.data
print("error in estimating w:", (true_w - w.reshape(true_w.shape)).tolist())
b = net[0].bias.data
print("error in estimating b:", true_b - b.item())
print("state_dict keys:", list(net.state_dict().keys()))
