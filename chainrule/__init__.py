"""chainrule: a small deep-learning framework on NumPy with PyTorch's API.

    import chainrule as cr
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    x.grad            # tensor([2., 4.])
"""
from . import dtypes
from .autograd import enable_grad, grad, is_grad_enabled, no_grad, set_grad_enabled
from .dtypes import (bool, double, float, float16, float32, float64, get_default_dtype, half, int,
                     int8, int16, int32, int64, long, set_default_dtype, short, uint8)
from .random import Generator, initial_seed, manual_seed, seed
from .tensor import Tensor, is_tensor
from .creation import (arange, as_tensor, empty, empty_like, eye, from_dlpack, from_numpy, full,
                       full_like, linspace, ones, ones_like, rand, rand_like, randint, randn,
                       randn_like, randperm, tensor, zeros, zeros_like)
from .devices import device, get_default_device, set_default_device
from .compat import (BoolTensor, ByteTensor, CharTensor, DoubleTensor, FloatTensor, HalfTensor,
                     IntTensor, LongTensor, ShortTensor, Size, equal)
from . import accelerator, backends, cuda  # noqa: E402  (CPU-only answers, as torch without GPU)
from .ops.elementwise import (abs, add, clamp, div, eq, exp, ge, gt, isfinite, isnan, le, log,
                              logical_and, logical_not, logical_or, lt, maximum, minimum, mul, ne,
                              neg, pow, relu, sigmoid, sign, sqrt, sub, tanh, where)
from .ops.elementwise import clamp as clip
from .ops.linalg import dot, matmul, outer
from .ops.movement import (broadcast_to, cat, chunk, concat, expand, flatten, permute, reshape,
                           split, squeeze, stack, transpose, unsqueeze)
from .ops.reduce import (all, amax, any, argmax, argmin, log_softmax, logsumexp, max, mean, min,
                         softmax, std, sum, var)
from .ops.api_math import (amax, amin, bmm, diag, exp2, lerp, log2, log10, logaddexp, mm,  # noqa: E402
                           mv, nan_to_num, norm, rsqrt, square, t, tril, triu)
from .ops.api_math import reciprocal  # noqa: E402
from .ops.api_index import (argsort, flip, gather, index_select, meshgrid, roll,  # noqa: E402
                            scatter, scatter_add, sort, tensor_split, tile, topk, unbind)
from .ops.api_misc import (allclose, bernoulli, bincount, isclose, isinf, isneginf,  # noqa: E402
                           isposinf, multinomial, normal, unique)
from .ops import api_methods as _api_methods  # noqa: E402,F401  (their Tensor methods)
from . import linalg  # noqa: E402
from . import autograd  # noqa: E402
from .autograd.capture import compile  # noqa: E402,A004  (cr.compile, as torch.compile)

__version__ = "0.1.0"


def _lazy(name):
    import importlib
    return importlib.import_module(f".{name}", __name__)


def __getattr__(name):
    # subpackages load on first use so that ``import chainrule`` stays fast
    if name in ("nn", "optim", "utils", "datasets", "train", "classic", "debug", "viz",
                "models", "cli"):
        return _lazy(name)
    raise AttributeError(f"module 'chainrule' has no attribute {name!r}")

from .serialization import load, save  # noqa: E402  (cr.save / cr.load: safe .npz state dicts)
