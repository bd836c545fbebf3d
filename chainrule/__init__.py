"""chainrule: a small deep-learning framework on NumPy with PyTorch's API.

    import chainrule as cr
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    x.grad            # tensor([2., 4.])
"""
from . import dtypes
from .dtypes import (bool, double, float, float16, float32, float64, get_default_dtype, half, int,
                     int8, int16, int32, int64, long, set_default_dtype, short, uint8)
from .graph.modes import (enable_grad, inference_mode, is_grad_enabled,
                          is_inference_mode_enabled, no_grad, set_grad_enabled)
from .random import Generator, initial_seed, manual_seed, seed
from .tensor import Tensor, is_tensor
from . import ops as _ops
from .ops import *  # noqa: F401,F403  (every op's cr. function: the list is ops.__all__)
from .creation import (arange, as_tensor, empty, empty_like, eye, from_dlpack, from_numpy, full,
                       full_like, linspace, ones, ones_like, rand, rand_like, randint, randn,
                       randn_like, randperm, tensor, zeros, zeros_like)
from .devices import device, get_default_device, set_default_device
from .compat import Size
from .legacy import (BoolTensor, ByteTensor, CharTensor, DoubleTensor, FloatTensor, HalfTensor,
                     IntTensor, LongTensor, ShortTensor)
from . import accelerator, backends, cuda  # CPU-only answers, as torch's on a machine without GPU
from . import linalg
from . import autograd
from .autograd.grad import grad
from .serialization import load, save

__version__ = "0.1.0"


def compile(model=None, **kwargs):  # noqa: A001
    """``cr.compile``, as ``torch.compile``: see :func:`chainrule.compiler.compile`."""
    from .compiler import compile as _compile
    return _compile(model, **kwargs)


def _lazy(name):
    import importlib
    return importlib.import_module(f".{name}", __name__)


def __getattr__(name):
    # subpackages load on first use so that ``import chainrule`` stays fast
    if name in ("nn", "optim", "utils", "datasets", "train", "classic", "debug", "viz",
                "models", "cli", "runs", "onnx", "sklearn", "distributed", "compiler"):
        return _lazy(name)
    raise AttributeError(f"module 'chainrule' has no attribute {name!r}")
