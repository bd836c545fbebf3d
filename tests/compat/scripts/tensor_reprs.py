# What a user sees when printing dtypes and tensors of several dtypes.
import torch

print(torch.float32, torch.zeros(2).dtype, torch.arange(3).dtype)
print(torch.tensor([1.5, 2.25], dtype=torch.float64))
print(torch.tensor([True, False]))
x = torch.tensor([1.0, 2.0], requires_grad=True)
print(x * 2)
print(torch.zeros(2, 3).size(), torch.zeros(2, 3).shape)
print(torch.ones(3).type(), torch.device("cpu"))
