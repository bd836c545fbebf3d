"""PyTorch's reordering and indexing functions, composed from indexing, concatenation and
reshaping primitives: ``flip``, ``roll``, ``repeat``, ``tile``, ``tensor_split``, ``unbind``,
``meshgrid``, ``index_select``, ``gather``, ``scatter``/``scatter_add``, ``sort``, ``argsort``,
``topk``.  Index computations (argsort, the index grids) are constants; values move through
differentiable indexing, so gradients flow back to where each value came from.
"""
from __future__ import annotations

import collections

import numpy as np

from ..autograd.op import export
from ..tensor import Tensor, _new
from .movement import IndexAdd, cat, expand, getitem, index_put, reshape

__all__ = ["flip", "roll", "repeat", "tile", "tensor_split", "unbind", "meshgrid",
           "index_select", "gather", "scatter", "scatter_add", "sort", "argsort", "topk"]

# PyTorch returns named tuples (torch.return_types.sort / topk): values, indices
SortResult = collections.namedtuple("sort", ["values", "indices"])
TopkResult = collections.namedtuple("topk", ["values", "indices"])


def _tensor(x, fn, arg="input"):
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument '{arg}' must be a Tensor, got {type(x).__name__}")
    return x


def _dim(d, ndim, fn):
    n = max(ndim, 1)
    if not isinstance(d, (int, np.integer)) or not -n <= d < n:
        raise IndexError(f"{fn}: dim {d!r} is out of range for a tensor with {ndim} dims "
                         f"(expected an int in [{-n}, {n - 1}])")
    return int(d) % n


def _along(ndim, dim, key):
    return (slice(None),) * dim + (key,) + (slice(None),) * (ndim - dim - 1)


def _index_array(index, fn):
    if not isinstance(index, Tensor) or index.dtype.kind not in "iu":
        raise TypeError(f"{fn}: index must be an integer (int64) tensor, got "
                        f"{getattr(index, 'dtype', type(index).__name__)}")
    return index._data


@export(method=True)
def flip(input, dims):   # noqa: A002  (PyTorch's argument names throughout)
    """Reverse the order along each of ``dims`` (as ``torch.flip``)."""
    x = _tensor(input, "flip")
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    key = [slice(None)] * x.ndim
    for d in dims:
        key[_dim(d, x.ndim, "flip")] = slice(None, None, -1)
    return getitem(x, tuple(key)) if x.ndim else x.clone()


@export(method=True)
def roll(input, shifts, dims=None):   # noqa: A002
    """Shift elements along ``dims`` cyclically (flattened when ``dims`` is None), as
    ``torch.roll``."""
    x = _tensor(input, "roll")
    if dims is None:
        if not isinstance(shifts, int):
            (shifts,) = shifts
        return reshape(roll(reshape(x, -1), shifts, 0), *x.shape)
    shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(f"roll: shifts {shifts} and dims {dims} must have the same length")
    for s, d in zip(shifts, dims):
        d = _dim(d, x.ndim, "roll")
        n = x.shape[d]
        s = int(s) % n if n else 0
        if s:
            x = cat([getitem(x, _along(x.ndim, d, slice(n - s, None))),
                     getitem(x, _along(x.ndim, d, slice(0, n - s)))], d)
    return x


@export(method=True, function=False)
def repeat(input, *sizes):   # noqa: A002
    """Tile ``input`` ``sizes[i]`` times along dim i (as ``Tensor.repeat``; ``sizes`` may have
    more entries than ``input`` has dims, adding leading dims)."""
    x = _tensor(input, "repeat")
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    if len(sizes) < x.ndim:
        raise RuntimeError(f"repeat: number of repeat dims ({len(sizes)}) can not be smaller "
                           f"than the number of tensor dims ({x.ndim})")
    shape = (1,) * (len(sizes) - x.ndim) + tuple(x.shape)
    y = reshape(x, *[v for n in shape for v in (1, n)])
    y = expand(y, *[v for r, n in zip(sizes, shape) for v in (r, n)])
    return reshape(y, *[r * n for r, n in zip(sizes, shape)])


@export(method=True)
def tile(input, dims):   # noqa: A002
    """``repeat`` with ``dims`` padded by leading ones to ``input``'s rank (as ``torch.tile``)."""
    x = _tensor(input, "tile")
    dims = tuple(dims)
    return repeat(x, *((1,) * (x.ndim - len(dims)) + dims))


@export(method=True)
def tensor_split(input, indices_or_sections, dim=0):   # noqa: A002
    """Split into ``n`` nearly equal parts (the first ``size % n`` one longer) or at the given
    indices (as ``torch.tensor_split``); the parts are views into ``input``'s graph."""
    x = _tensor(input, "tensor_split")
    d = _dim(dim, x.ndim, "tensor_split")
    size = x.shape[d]
    if isinstance(indices_or_sections, (int, np.integer)):
        n = int(indices_or_sections)
        if n <= 0:
            raise RuntimeError(f"tensor_split: number of sections must be > 0, got {n}")
        q, r = divmod(size, n)
        bounds, at = [], 0
        for i in range(n):
            at += q + (1 if i < r else 0)
            bounds.append(at)
        bounds = bounds[:-1]
    else:
        bounds = [int(i) for i in indices_or_sections]
    edges = [0] + bounds + [size]
    return tuple(getitem(x, _along(x.ndim, d, slice(a, max(a, b))))
                 for a, b in zip(edges[:-1], edges[1:]))


@export(method=True)
def unbind(input, dim=0):   # noqa: A002
    """The slices along ``dim``, as a tuple of tensors with that dim removed (``torch.unbind``)."""
    x = _tensor(input, "unbind")
    d = _dim(dim, x.ndim, "unbind")
    return tuple(getitem(x, _along(x.ndim, d, i)) for i in range(x.shape[d]))


@export
def meshgrid(*tensors, indexing="ij"):
    """Coordinate grids from 1-d tensors (as ``torch.meshgrid``; ``indexing='ij'`` is
    PyTorch's default, ``'xy'`` swaps the first two dims as NumPy's default does)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    for t in tensors:
        if not isinstance(t, Tensor) or t.ndim > 1:
            raise TypeError("meshgrid: expects 0-d or 1-d tensors")
    ts = [reshape(t, -1) for t in tensors]
    swap = indexing == "xy" and len(ts) >= 2
    if swap:
        ts[0], ts[1] = ts[1], ts[0]
    shape = [t.shape[0] for t in ts]
    out = []
    for i, t in enumerate(ts):
        view = [1] * len(ts)
        view[i] = shape[i]
        out.append(expand(reshape(t, *view), *shape))
    if swap:   # 'xy': the grids of (y, x, ...) in 'ij' order, handed back as (x, y, ...)
        out[0], out[1] = out[1], out[0]
    return tuple(out)


@export(method=True)
def index_select(input, dim, index):   # noqa: A002
    """The entries of ``input`` at positions ``index`` (1-d) along ``dim`` (as
    ``torch.index_select``)."""
    x = _tensor(input, "index_select")
    idx = _index_array(index, "index_select")
    if idx.ndim > 1:
        raise IndexError(f"index_select: index must be 1-D, got shape {idx.shape}")
    d = _dim(dim, x.ndim, "index_select")
    return getitem(x, _along(x.ndim, d, idx.reshape(-1)))


def _grid(index, dim):
    """The full index tuple of ``gather``/``scatter``: ``index`` along ``dim``, positions else."""
    grids = np.indices(index.shape, sparse=True)
    return tuple(index if i == dim else g for i, g in enumerate(grids))


def _check_gather(x, idx, d, fn):
    if idx.ndim != x.ndim:
        raise RuntimeError(f"{fn}: index has {idx.ndim} dims but input has {x.ndim}; they must "
                           "match")
    for i, (a, b) in enumerate(zip(idx.shape, x.shape)):
        if i != d and a > b:
            raise RuntimeError(f"{fn}: index {tuple(idx.shape)} is larger than input "
                               f"{tuple(x.shape)} in dim {i}")
    n = x.shape[d]
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise IndexError(f"{fn}: index out of range for dim {d} of size {n}")


@export(method=True)
def gather(input, dim, index):   # noqa: A002
    """``out[i][j] = input[index[i][j]][j]`` for ``dim=0`` and so on (as ``torch.gather``)."""
    x = _tensor(input, "gather")
    idx = _index_array(index, "gather")
    d = _dim(dim, x.ndim, "gather")
    _check_gather(x, idx, d, "gather")
    return getitem(x, _grid(idx, d))


def _scatter_src(src, idx, like, fn):
    if isinstance(src, Tensor):
        if src.ndim != idx.ndim or any(a > b for a, b in zip(idx.shape, src.shape)):
            raise RuntimeError(f"{fn}: src {tuple(src.shape)} must have index's rank and be at "
                               f"least index's size {tuple(idx.shape)}")
        return getitem(src, tuple(slice(0, n) for n in idx.shape)).to(like.dtype)
    return _new(np.full(idx.shape, src, dtype=like.dtype), False, None)


@export(method=True)
def scatter(input, dim, index, src=None, value=None):   # noqa: A002
    """``input`` with ``src`` (or the number ``value``) written at ``index`` along ``dim``
    (as ``torch.scatter``; with repeated indices one of the writes wins)."""
    x = _tensor(input, "scatter")
    if (src is None) == (value is None):
        raise TypeError("scatter: give exactly one of src (a tensor) and value (a number)")
    idx = _index_array(index, "scatter")
    d = _dim(dim, x.ndim, "scatter")
    _check_gather(x, idx, d, "scatter")
    return index_put(x, _grid(idx, d), _scatter_src(src if src is not None else value, idx, x,
                                                    "scatter"))


@export(method=True)
def scatter_add(input, dim, index, src):   # noqa: A002
    """``input`` with ``src`` added at ``index`` along ``dim``; repeated indices add up (as
    ``torch.scatter_add``)."""
    x = _tensor(input, "scatter_add")
    idx = _index_array(index, "scatter_add")
    d = _dim(dim, x.ndim, "scatter_add")
    _check_gather(x, idx, d, "scatter_add")
    s = _scatter_src(_tensor(src, "scatter_add", "src"), idx, x, "scatter_add")
    return x + IndexAdd.apply(s, shape=tuple(x.shape), key=_grid(idx, d))


def _argsort(a, axis, descending):
    if not descending:
        return np.argsort(a, axis=axis, kind="stable")
    # stable and descending: sort the reversed array, then map positions back
    r = np.argsort(np.flip(a, axis), axis=axis, kind="stable")
    return a.shape[axis] - 1 - np.flip(r, axis)


@export(method=True)
def argsort(input, dim=-1, descending=False, stable=False):   # noqa: A002
    """The indices that sort ``input`` along ``dim`` (as ``torch.argsort``; ties keep their
    order, NaN sorts as the largest value)."""
    x = _tensor(input, "argsort")
    if x.ndim == 0:
        return _new(np.zeros((), np.int64), False, None)
    d = _dim(dim, x.ndim, "argsort")
    return _new(_argsort(x._data, d, descending).astype(np.int64), False, None)


@export(method=True)
def sort(input, dim=-1, descending=False, stable=False):   # noqa: A002
    """``(values, indices)`` sorted along ``dim`` (as ``torch.sort``); the values carry the
    gradient back to where each came from."""
    x = _tensor(input, "sort")
    idx = argsort(x, dim, descending)
    if x.ndim == 0:
        return SortResult(x.clone(), idx)
    return SortResult(gather(x, dim, idx), idx)


@export(method=True)
def topk(input, k, dim=-1, largest=True, sorted=True):   # noqa: A002
    """The ``k`` largest (or smallest) entries along ``dim`` and their indices (``torch.topk``)."""
    x = _tensor(input, "topk")
    d = _dim(dim, x.ndim, "topk")
    n = x.shape[d] if x.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError(f"topk: k ({k}) is out of range for dim {dim} of size {n}")
    if x.ndim == 0:
        return TopkResult(x.clone(), _new(np.zeros((), np.int64), False, None))
    order = _argsort(x._data, d, largest)
    idx = _new(np.ascontiguousarray(order[_along(x.ndim, d, slice(0, k))]).astype(np.int64),
               False, None)
    return TopkResult(gather(x, d, idx), idx)

