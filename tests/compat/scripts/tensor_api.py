# API breadth the tutorials reach for: elementwise math, mm / t(), norm, torch.normal, out=,
# keyword names input= / other=, sort / topk / gather, and friends.
import math

import torch

x = torch.linspace(-1.0, 1.0, 7, dtype=torch.float64)
print("sin", [round(v, 8) for v in torch.sin(x).tolist()])
print("log1p", [round(v, 8) for v in torch.log1p(x.abs()).tolist()])
print("atan2", round(torch.atan2(x, x + 2).sum().item(), 8))
print("erf", round(torch.erf(x).sum().item(), 8), "rsqrt", round(torch.rsqrt(x + 2).sum().item(), 8))
a = torch.arange(6.0).reshape(2, 3)
print("mm", a.mm(a.t()).tolist(), torch.mm(a, a.T).tolist())
print("norm", round(a.norm().item(), 6), a.norm(p=1, dim=1, keepdim=True).tolist())
print("vector_norm", round(torch.linalg.vector_norm(a, ord=2).item(), 6))
out = torch.empty(2, 2)
torch.matmul(a, a.t(), out=out)
print("out=", out.tolist())
print("keywords", torch.add(input=a, other=a, alpha=2).sum().item(), torch.mul(input=a, other=2.0).sum().item())
torch.manual_seed(0)
s = torch.normal(2.0, 3.0, size=(1000,))
print("normal shape", s.shape, s.dtype == torch.float32)
v, i = torch.sort(torch.tensor([3.0, 1.0, 2.0]), descending=True)
print("sort", v.tolist(), i.tolist(), torch.topk(torch.tensor([1.0, 5.0, 3.0]), 2).values.tolist())
print("gather", torch.gather(a, 1, torch.tensor([[0], [2]])).tolist())
print("cumsum", torch.cumsum(torch.tensor([1, 2, 3]), dim=0).tolist())
print("where", torch.where(a > 2, a, 0.0).tolist(), "clip", a.clip(1, 4).tolist())
print("tril", torch.tril(torch.ones(3, 3)).sum().item(), "flip", torch.flip(a, [1]).tolist())
print("isclose", torch.allclose(a, a + 1e-9), torch.isclose(a, a).all().item())
print("unique", torch.unique(torch.tensor([3, 1, 3, 2])).tolist())
print("einsum", torch.einsum("ij,kj->ik", a, a).tolist())
print("math", math.isclose(torch.exp2(torch.tensor(3.0)).item(), 8.0))
