"""PyTorch's tensor math that composes from existing primitives: ``t``, ``mm``/``bmm``/``mv``,
``rsqrt``, ``log2``/``log10``/``exp2``, ``lerp``, ``logaddexp``, ``nan_to_num``,
``tril``/``triu``/``diag``, ``amax``/``amin`` over several dims and the norms.

No function here writes a derivative: each is built from primitives (matmul, where, sum, sqrt,
indexing, ...) and autodiff does the rest, so gradients and second derivatives come from theirs.
Where a naive composition would give a wrong gradient at a point PyTorch defines (the 2-norm's
gradient at the zero vector is 0 in PyTorch, ``sqrt`` alone gives NaN there), the function keeps
the point out of the differentiated branch with a ``where`` on both sides.
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd.op import export
from ..tensor import Tensor
from .compare import maximum, where
from .elementwise import abs as _abs
from .elementwise import exp, log, sqrt
from .linalg import matmul


def _sum(x, dims, keepdim):
    return x.sum(dims, keepdim)   # Tensor.sum (reduce.sum): no import of reduce, which uses us
from .movement import permute, reshape, transpose

__all__ = ["t", "mm", "bmm", "mv", "rsqrt", "log2", "log10", "exp2",
           "lerp", "logaddexp", "nan_to_num", "tril", "triu", "diag", "amax_dims", "amin", "norm",
           "vector_norm", "matrix_norm", "linalg_norm"]


def _tensor(x, fn, arg="input"):
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument '{arg}' must be a Tensor, got {type(x).__name__}")
    return x


@export(method=True)
def t(input):   # noqa: A002  (PyTorch's argument names throughout)
    """Transpose of a matrix; 0-d and 1-d tensors come back as they are (as ``torch.t``)."""
    _tensor(input, "t")
    if input.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                           f"{input.ndim}D (use transpose(dim0, dim1) or .mT)")
    return transpose(input, 0, 1) if input.ndim == 2 else input


def _check_mat(fn, a, b, na, nb, what):
    _tensor(a, fn)
    _tensor(b, fn, "mat2" if fn != "mv" else "vec")
    if a.ndim != na or b.ndim != nb:
        raise RuntimeError(f"{fn}: expected {what}, got shapes {tuple(a.shape)} and "
                           f"{tuple(b.shape)}")


@export(method=True)
def mm(input, mat2):   # noqa: A002
    """Matrix product of two 2-d tensors (as ``torch.mm``; no broadcasting)."""
    _check_mat("mm", input, mat2, 2, 2, "two 2-D matrices")
    if input.shape[1] != mat2.shape[0]:
        raise RuntimeError(f"mm: mat1 and mat2 shapes cannot be multiplied "
                           f"({input.shape[0]}x{input.shape[1]} and "
                           f"{mat2.shape[0]}x{mat2.shape[1]})")
    return matmul(input, mat2)


@export(method=True)
def bmm(input, mat2):   # noqa: A002
    """Batched matrix product of (b, n, m) and (b, m, p) tensors (as ``torch.bmm``)."""
    _check_mat("bmm", input, mat2, 3, 3, "two 3-D tensors (batch, n, m) and (batch, m, p)")
    if input.shape[0] != mat2.shape[0] or input.shape[2] != mat2.shape[1]:
        raise RuntimeError(f"bmm: shapes {tuple(input.shape)} and {tuple(mat2.shape)} do not "
                           "match (same batch size, inner dimensions equal)")
    return matmul(input, mat2)


@export(method=True)
def mv(input, vec):   # noqa: A002
    """Matrix-vector product of an (n, m) matrix and an (m,) vector (as ``torch.mv``)."""
    _check_mat("mv", input, vec, 2, 1, "a 2-D matrix and a 1-D vector")
    if input.shape[1] != vec.shape[0]:
        raise RuntimeError(f"mv: size mismatch, got input ({input.shape[0]}x{input.shape[1]}) "
                           f"and vec ({vec.shape[0]})")
    return matmul(input, vec)


@export(method=True)
def rsqrt(input):   # noqa: A002
    """``1 / sqrt(input)`` (as ``torch.rsqrt``)."""
    return 1.0 / sqrt(_tensor(input, "rsqrt"))


@export(method=True)
def log2(input):   # noqa: A002
    """Base-2 logarithm (as ``torch.log2``)."""
    return log(_tensor(input, "log2")) * (1.0 / math.log(2.0))


@export(method=True)
def log10(input):   # noqa: A002
    """Base-10 logarithm (as ``torch.log10``)."""
    return log(_tensor(input, "log10")) * (1.0 / math.log(10.0))


@export(method=True)
def exp2(input):   # noqa: A002
    """``2 ** input`` (as ``torch.exp2``)."""
    x = _tensor(input, "exp2")
    if x.dtype.kind != "f":
        x = x.float()
    return 2.0 ** x


@export(method=True)
def lerp(input, end, weight):   # noqa: A002
    """``input + weight * (end - input)`` (as ``torch.lerp``); ``weight`` a number or tensor."""
    _tensor(input, "lerp")
    return input + weight * (end - input)


@export(method=True)
def logaddexp(input, other):   # noqa: A002
    """``log(exp(input) + exp(other))`` without overflow (as ``torch.logaddexp``)."""
    _tensor(input, "logaddexp")
    m = maximum(input, other).detach()
    m = where(m.isfinite(), m, 0.0)     # both -inf, or an inf: the shift must stay finite
    return m + log(exp(input - m) + exp(other - m))


@export(method=True)
def nan_to_num(input, nan=0.0, posinf=None, neginf=None):   # noqa: A002
    """NaN, +inf and -inf replaced by ``nan``, ``posinf`` and ``neginf`` (default: the dtype's
    largest and smallest finite values), as ``torch.nan_to_num``; the gradient passes where the
    value was finite."""
    x = _tensor(input, "nan_to_num")
    if x.dtype.kind != "f":
        return x.clone()
    info = np.finfo(x.dtype)
    posinf = float(info.max) if posinf is None else posinf
    neginf = float(info.min) if neginf is None else neginf
    d = x.detach()
    out = where(d.isnan(), nan, x)
    out = where(d == math.inf, posinf, out)
    return where(d == -math.inf, neginf, out)


def _tri(input, diagonal, fn, lower):
    x = _tensor(input, fn)
    if x.ndim < 2:
        raise RuntimeError(f"{fn}: input tensor must have at least 2 dimensions, got shape "
                           f"{tuple(x.shape)}")
    n, m = x.shape[-2:]
    keep = np.tri(n, m, diagonal, dtype=bool) if lower else ~np.tri(n, m, diagonal - 1,
                                                                      dtype=bool)
    return where(Tensor(keep), x, 0)


@export(method=True)
def tril(input, diagonal=0):   # noqa: A002
    """The lower triangle of the last two dims, the rest zero (as ``torch.tril``)."""
    return _tri(input, diagonal, "tril", True)


@export(method=True)
def triu(input, diagonal=0):   # noqa: A002
    """The upper triangle of the last two dims, the rest zero (as ``torch.triu``)."""
    return _tri(input, diagonal, "triu", False)


@export(method=True)
def diag(input, diagonal=0):   # noqa: A002
    """1-d ``input``: the square matrix with it on diagonal ``diagonal``; 2-d: that diagonal as a
    vector (as ``torch.diag``)."""
    x = _tensor(input, "diag")
    k = int(diagonal)
    if x.ndim == 1:
        n = x.shape[0] + abs(k)
        rows = np.arange(x.shape[0]) + max(-k, 0)
        cols = np.arange(x.shape[0]) + max(k, 0)
        from .movement import index_put
        from ..creation import zeros
        return index_put(zeros(n, n, dtype=x.dtype), (rows, cols), x)
    if x.ndim == 2:
        n = max(0, min(x.shape[0] + min(k, 0), x.shape[1] - max(k, 0)))
        rows = np.arange(n) + max(-k, 0)
        return x[rows, rows + k]
    raise RuntimeError(f"diag: expected a 1-D or 2-D tensor, got shape {tuple(x.shape)}")


def _dims(dim, ndim, fn):
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    out = []
    for d in dims:
        if not -max(ndim, 1) <= d < max(ndim, 1):
            raise IndexError(f"{fn}: dim {d} is out of range for a tensor with {ndim} dims")
        out.append(int(d) % max(ndim, 1))
    if len(set(out)) != len(out):
        raise RuntimeError(f"{fn}: dim {dim} names a dimension twice")
    return tuple(out)


def _over(x, dim, keepdim, fn, reduce1):
    """``reduce1`` (one dim) applied over several dims: moved last, merged, reduced once."""
    if x.ndim == 0:
        return reduce1(x, None, False)
    dims = _dims(dim, x.ndim, fn)
    rest = [d for d in range(x.ndim) if d not in dims]
    y = permute(x, *rest, *dims)
    y = reshape(y, *[x.shape[d] for d in rest], -1)
    y = reduce1(y, -1, False)
    if keepdim:
        y = reshape(y, *[1 if d in dims else x.shape[d] for d in range(x.ndim)])
    return y


def amax_dims(input, dim=(), keepdim=False):   # noqa: A002
    """Largest value over ``dim`` (an int or a tuple; all dims when empty), ties share the
    gradient evenly (``torch.amax`` over several dims; ``cr.amax`` hands those here)."""
    x = _tensor(input, "amax")
    dim = None if dim == () or dim == [] else dim
    if dim is None and not keepdim:
        return x.amax()
    if isinstance(dim, (int, np.integer)):
        return x.amax(dim, keepdim)
    # (Tensor.amax is reduce.amax, which sends several dims here: one dim at a time below)
    return _over(x, dim, keepdim, "amax", lambda y, d, k: y.amax(d, k) if d is not None
                 else y.amax())


@export(method=True)
def amin(input, dim=(), keepdim=False):   # noqa: A002
    """Smallest value over ``dim`` (an int or a tuple), as ``torch.amin``."""
    return -amax_dims(-_tensor(input, "amin"), dim, keepdim)


def _safe_root(s, p):
    """``s ** (1/p)`` with a zero gradient where ``s == 0`` (PyTorch's norm subgradient)."""
    zero = (s == 0).detach()
    s_safe = where(zero, 1.0, s)
    root = sqrt(s_safe) if p == 2 else s_safe ** (1.0 / p)
    return where(zero, 0.0, root)


def vector_norm(x, ord=2, dim=None, keepdim=False, dtype=None):   # noqa: A002
    """The ``ord``-norm of ``x`` over ``dim`` (all elements by default), as
    ``torch.linalg.vector_norm``: ``ord`` is any real number, ``inf`` or ``-inf``."""
    x = _tensor(x, "vector_norm", "x")
    if dtype is not None:
        x = x.to(dtype)
    if x.dtype.kind != "f":
        raise RuntimeError(f"linalg.vector_norm: expected a floating point input, got "
                           f"{x.dtype} (convert with .float())")
    if isinstance(ord, str):
        raise RuntimeError(f"linalg.vector_norm: ord must be a number, got {ord!r} (use "
                           "matrix_norm for 'fro' and 'nuc')")
    a = _abs(x)
    dims = None if dim is None else _dims(dim, x.ndim, "vector_norm")
    if ord == math.inf:
        return amax_dims(a, () if dims is None else dims, keepdim)
    if ord == -math.inf:
        return amin(a, () if dims is None else dims, keepdim)
    if ord == 0:
        return _sum((a != 0).to(x.dtype), dims, keepdim)
    if ord == 1:
        return _sum(a, dims, keepdim)
    s = _sum(a * a if ord == 2 else a ** ord, dims, keepdim)
    if ord < 0:
        return s ** (1.0 / ord)
    return _safe_root(s, ord)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, dtype=None):   # noqa: N803
    """``'fro'``, 1, -1, inf or -inf matrix norm over ``dim`` (as ``torch.linalg.matrix_norm``).
    The spectral and nuclear norms (2, -2, 'nuc') need an SVD chainrule does not have yet."""
    A = _tensor(A, "matrix_norm", "A")
    if A.ndim < 2:
        raise RuntimeError(f"linalg.matrix_norm: A must have at least 2 dims, got shape "
                           f"{tuple(A.shape)}")
    r, c = _dims(dim, A.ndim, "matrix_norm")
    if ord == "fro":
        return vector_norm(A, 2, (r, c), keepdim, dtype)
    if ord in (1, -1, math.inf, -math.inf):
        inner, outer = (r, c) if ord in (1, -1) else (c, r)
        s = _sum(_abs(A if dtype is None else A.to(dtype)), inner, True)
        red = amax_dims if ord > 0 else amin
        out = red(s, outer, True)
        return out if keepdim else reshape(out, *[n for i, n in enumerate(A.shape)
                                                   if i not in (r, c)])
    raise NotImplementedError(f"linalg.matrix_norm: ord={ord!r} needs singular values, which "
                              "chainrule does not compute yet; 'fro', 1, -1, inf, -inf work")


def linalg_norm(A, ord=None, dim=None, keepdim=False, dtype=None):   # noqa: N803
    """``torch.linalg.norm``: a vector norm, or a matrix norm when ``ord`` is a matrix order or
    ``dim`` names two dims; ``ord=None`` is the 2-norm of all elements."""
    A = _tensor(A, "linalg.norm", "A")
    if ord is None:
        return vector_norm(A, 2, dim, keepdim, dtype)
    two = (dim is not None and not isinstance(dim, int) and len(dim) == 2) or \
        (dim is None and A.ndim == 2)
    if isinstance(ord, str) or two:
        return matrix_norm(A, ord, (-2, -1) if dim is None else dim, keepdim, dtype)
    return vector_norm(A, ord, dim, keepdim, dtype)


@export(method=True)
def norm(input, p="fro", dim=None, keepdim=False, dtype=None):   # noqa: A002
    """``torch.norm``: ``p='fro'`` (default) or 2 is the 2-norm over ``dim`` (all elements
    when ``None``), a number ``p`` the p-norm, ``inf``/``-inf`` the largest/smallest ``|x|``."""
    x = _tensor(input, "norm")
    if p == "fro" or p is None:
        p = 2
    if p == "nuc":
        raise NotImplementedError("norm: p='nuc' needs singular values, which chainrule does "
                                  "not compute yet")
    return vector_norm(x, p, dim, keepdim, dtype)
