# The "Automatic differentiation" tutorial: a one-layer net, BCE-with-logits, gradients,
# no_grad / detach, and vector-Jacobian products with backward(gradient, retain_graph).
import torch

x = torch.ones(5)
y = torch.zeros(3)
w = torch.linspace(-1.0, 1.0, 15).reshape(5, 3).requires_grad_()
b = torch.tensor([0.1, -0.2, 0.3], requires_grad=True)
z = torch.matmul(x, w) + b
loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
print("loss:", round(loss.item(), 6))
print("has grad_fn:", z.grad_fn is not None, loss.grad_fn is not None)
loss.backward()
print([round(v, 6) for v in w.grad.flatten().tolist()])
print([round(v, 6) for v in b.grad.tolist()])

z = torch.matmul(x, w) + b
print(z.requires_grad)
with torch.no_grad():
    z = torch.matmul(x, w) + b
print(z.requires_grad)
z = torch.matmul(x, w) + b
z_det = z.detach()
print(z_det.requires_grad)

inp = torch.eye(4, 5, requires_grad=True)
out = (inp + 1).pow(2)
out.backward(torch.ones_like(out), retain_graph=True)
print(f"First call\n{inp.grad}")
out.backward(torch.ones_like(out), retain_graph=True)
print(f"\nSecond call\n{inp.grad}")
inp.grad.zero_()
out.backward(torch.ones_like(out), retain_graph=True)
print(f"\nCall after zeroing gradients\n{inp.grad}")

a = torch.tensor([2.0, 3.0], requires_grad=True)
(g,) = torch.autograd.grad((a ** 3).sum(), a, create_graph=True)
(gg,) = torch.autograd.grad(g.sum(), a)
print("grad:", g.tolist(), "second:", gg.tolist())
