"""Hidden and output units as modules (each forwards to :mod:`chainrule.nn.functional`).

The lecture notes' units: sigmoid, tanh, ReLU, leaky ReLU (slope 0.01), parametric ReLU
(:class:`~chainrule.nn.layers.PReLU`), absolute-value rectification (:class:`AbsReLU`), maxout
(:class:`~chainrule.nn.layers.Maxout`), softplus, the hard threshold (:class:`Step`) and the linear
unit (:class:`~chainrule.nn.layers.Identity`); plus ELU, SELU, GELU, SiLU, Hardtanh, softmax.
"""
from __future__ import annotations

from ..ops.elementwise import relu, sigmoid, tanh
from . import functional as F
from .module import Module


class Sigmoid(Module):
    """g(s) = 1 / (1 + e^-s)."""

    def forward(self, x):
        return sigmoid(x)


class Tanh(Module):
    """g(s) = tanh(s) = 2 sigmoid(2s) - 1."""

    def forward(self, x):
        return tanh(x)


class ReLU(Module):
    """g(s) = max(0, s).  ``inplace`` is accepted for compatibility (computed out of place)."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        return relu(x)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """g(s) = s for s > 0 else ``negative_slope * s`` (default 0.01, as in the notes)."""

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace
                                                           else "")


class AbsReLU(Module):
    """Absolute-value rectification g(s) = |s| (the gradient at 0 is 0)."""

    def forward(self, x):
        return F.abs_relu(x)


Abs = AbsReLU


class ELU(Module):
    """g(s) = s for s > 0 else alpha (e^s - 1)."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, x):
        return F.elu(x, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class SELU(Module):
    """Scaled ELU with the self-normalizing constants."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        return F.selu(x)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class Softplus(Module):
    """g(s) = (1/beta) log(1 + e^(beta s)), linear where beta s > threshold (the soft ReLU)."""

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class Step(Module):
    """The notes' hard threshold unit: y = 1 if s > 0 else 0.

    Its gradient is zero everywhere (undefined at 0; we use 0), so nothing before it learns by
    gradient descent: the perceptron's unit, kept for demonstrations.  Not ``torch.nn.Threshold``
    (which replaces values below a threshold by a constant).
    """

    def forward(self, x):
        return F.hard_threshold(x)


HardThreshold = Step


class Threshold(Module):
    """PyTorch's ``Threshold``: x where x > threshold, else ``value`` (see :class:`Step` for
    the notes' hard threshold unit)."""

    def __init__(self, threshold, value, inplace=False):
        super().__init__()
        self.threshold, self.value, self.inplace = threshold, value, inplace

    def forward(self, x):
        return F.threshold(x, self.threshold, self.value)

    def extra_repr(self):
        return f"threshold={self.threshold}, value={self.value}" + (
            ", inplace=True" if self.inplace else "")


class GELU(Module):
    """g(s) = s Phi(s); ``approximate='tanh'`` uses the tanh formula."""

    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x):
        return F.gelu(x, self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    """g(s) = s sigmoid(s)."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        return F.silu(x)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class Hardtanh(Module):
    """g(s) = clamp(s, min_val, max_val)."""

    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False):
        super().__init__()
        if min_val > max_val:
            raise ValueError(f"Hardtanh: min_val ({min_val}) cannot be greater than max_val "
                             f"({max_val})")
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def forward(self, x):
        return F.hardtanh(x, self.min_val, self.max_val)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}" + (
            ", inplace=True" if self.inplace else "")


class LogSigmoid(Module):
    def forward(self, x):
        return F.logsigmoid(x)


class Softmax(Module):
    """Softmax over ``dim``: positive outputs summing to 1 (an output unit for classes)."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.softmax(x, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """log(softmax(x)) over ``dim``, computed stably; pair it with ``NLLLoss``."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.log_softmax(x, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"
