"""Primitives that move data without arithmetic: reshape, permute, expand, index, cat, pad."""
from __future__ import annotations

import math

import numpy as np

from ..autograd.op import Op, export
from ..dtypes import result_type
from ..tensor import Tensor, _new
from .cast import cast


def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return tuple(int(s) for s in shape)


class Reshape(Op):
    view = True

    def forward(ctx, xp, x, *, shape):
        ctx.shape = x.shape
        return xp.reshape(x, shape)

    def backward(ctx, xp, g):
        return xp.reshape(g, ctx.shape)


class Permute(Op):
    name = "transpose"
    view = True

    def forward(ctx, xp, x, *, axes):
        ctx.inv = tuple(int(i) for i in xp.argsort(axes))
        return xp.transpose(x, axes)

    def backward(ctx, xp, g):
        return xp.transpose(g, ctx.inv)


class Expand(Op):
    """Broadcast to a larger shape; the engine sums the gradient back (one place for that)."""
    name = "broadcast_to"
    view = True

    def forward(ctx, xp, x, *, shape):
        return xp.broadcast_to(x, shape)

    def backward(ctx, xp, g):
        return g


@export(method=True)
def reshape(input, *shape):
    """``input`` with a new shape of the same size; one dimension may be -1 (inferred)."""
    x = input
    shape = _shape_arg(shape)
    if shape.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred (-1)")
    n = x._data.size
    known = math.prod(s for s in shape if s != -1)
    if (known == 0 or n % known) if -1 in shape else known != n:
        raise RuntimeError(f"shape {list(shape)} is invalid for input of size {n} "
                           f"(shape {tuple(x.shape)})")
    if shape == x.shape:
        return x
    return Reshape.apply(x, shape=shape)


export(reshape, name="view", method=True, function=False)


@export(method=True, function=False)
def view_as(self, other):
    return reshape(self, *other.shape)


@export(method=True)
def flatten(input, start_dim=0, end_dim=-1):
    x = input
    if x.ndim == 0:
        return reshape(x, 1)
    s, e = start_dim % x.ndim, end_dim % x.ndim
    if s > e:
        raise RuntimeError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    shp = x.shape
    return reshape(x, shp[:s] + (math.prod(shp[s:e + 1]),) + shp[e + 1:])


def axis(d, ndim, opname):
    n = max(ndim, 1)
    if not -n <= d < n:
        raise IndexError(f"{opname}: dimension {d} out of range (expected in [{-n}, {n - 1}] "
                         f"for a {ndim}-d tensor)")
    return d % n


@export(method=True)
def permute(input, *dims):
    x = input
    dims = _shape_arg(dims)
    if len(dims) != x.ndim or sorted(d % max(x.ndim, 1) for d in dims) != list(range(x.ndim)):
        raise RuntimeError(f"permute: dims {dims} is not a permutation of the {x.ndim} "
                           f"dimensions of a tensor of shape {tuple(x.shape)}")
    dims = tuple(d % x.ndim for d in dims)
    if dims == tuple(range(x.ndim)):
        return x
    return Permute.apply(x, axes=dims)


@export(method=True)
def transpose(input, dim0, dim1):
    x = input
    if x.ndim < 2 and dim0 in (0, -1) and dim1 in (0, -1):
        return x
    a, b = axis(dim0, x.ndim, "transpose"), axis(dim1, x.ndim, "transpose")
    axes = list(range(x.ndim))
    axes[a], axes[b] = axes[b], axes[a]
    return permute(x, *axes)


@export(method="T", prop=True, function=False)
def _T(self):
    return permute(self, *reversed(range(self.ndim))) if self.ndim > 1 else self


@export(method="mT", prop=True, function=False)
def _mT(self):
    return transpose(self, -2, -1)


@export(method=True)
def squeeze(input, dim=None):
    x = input
    if dim is None:
        return reshape(x, tuple(s for s in x.shape if s != 1))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    dims = {axis(d, x.ndim, "squeeze") for d in dims}
    return reshape(x, tuple(s for i, s in enumerate(x.shape) if not (i in dims and s == 1)))


@export(method=True)
def unsqueeze(input, dim):
    d = axis(dim, input.ndim + 1, "unsqueeze")
    return reshape(input, input.shape[:d] + (1,) + input.shape[d:])


@export(method=True)
def expand(input, *shape):
    x = input
    shape = _shape_arg(shape)
    if len(shape) < x.ndim:
        raise RuntimeError(f"expand: the number of sizes provided ({len(shape)}) must be at least "
                           f"the number of dimensions of the tensor ({x.ndim})")
    lead = len(shape) - x.ndim
    shape = tuple(x.shape[i - lead] if (s == -1 and i >= lead) else s
                  for i, s in enumerate(shape))
    for i, s in enumerate(x.shape):
        if s != 1 and s != shape[i + lead]:
            raise RuntimeError(f"expand: the expanded size {shape[i + lead]} must match the "
                               f"existing size {s} at non-singleton dimension {i}; tensor shape "
                               f"{tuple(x.shape)}, target {shape}")
    if shape == x.shape:
        return x
    return Expand.apply(x, shape=shape)


@export(method=True, function=False)
def expand_as(self, other):
    return expand(self, *other.shape)


@export
def broadcast_to(input, shape):
    return expand(input, *shape)


# ---------------------------------------------------------------------------------------------
# indexing
# ---------------------------------------------------------------------------------------------
def norm_key(key):
    """Tensors inside an index become arrays; lists become integer/bool arrays."""
    if isinstance(key, Tensor):
        return key._data
    if isinstance(key, list):
        return np.asarray(key)
    if isinstance(key, tuple):
        return tuple(norm_key(k) for k in key)
    return key


def basic_key(key):
    """True when ``key`` has no integer or boolean arrays: the result is a view, and no
    position can repeat."""
    if not isinstance(key, tuple):
        key = (key,)
    return all(k is None or k is Ellipsis or isinstance(k, (int, slice, np.integer))
               for k in key)


class Index(Op):
    """``x[key]``; the backward scatters with accumulation, so repeated indices add up."""
    name = "getitem"

    def forward(ctx, xp, x, *, key):
        ctx.shape, ctx.key = x.shape, key
        return x[key]

    def backward(ctx, xp, g):
        return xp.index_add(g, shape=ctx.shape, key=ctx.key)


class IndexView(Index):
    """``x[key]`` for a basic key (ints, slices): a view of ``x``."""
    name = "getitem_view"
    view = True


class IndexAdd(Op):
    """Zeros of ``shape`` with ``g`` added at ``key``: the adjoint of :class:`Index`."""
    name = "index_add"

    def forward(ctx, xp, g, *, shape, key):
        ctx.key = key
        out = xp.zeros(shape, dtype=g.dtype)
        if basic_key(key):
            out[key] = g
        else:
            xp.add.at(out, key, g)
        return out

    def backward(ctx, xp, gg):
        return gg[ctx.key]


class IndexPut(Op):
    """``x[key] = v`` out of place: x's gradient is zero at ``key``, v's is the gradient there."""

    def forward(ctx, xp, x, v, *, key):
        ctx.key = key
        out = x.copy()
        out[key] = v
        keep = xp.ones(x.shape, dtype=bool)    # a constant: where x's values survive
        keep[key] = False
        ctx.keep = keep
        return out

    def backward(ctx, xp, g):
        n = ctx.needs_input_grad
        return (g * ctx.keep if n[0] else None), (g[ctx.key] if n[1] else None)


@export(method="__getitem__", function=False)
def getitem(self, key):
    k = norm_key(key)
    try:
        return (IndexView if basic_key(k) else Index).apply(self, key=k)
    except IndexError as e:
        raise IndexError(f"index {key!r} is invalid for a tensor of shape {tuple(self.shape)}: "
                         f"{e}") from None


def index_put(x, key, value):
    k = norm_key(key)
    if not isinstance(value, Tensor):
        value = _new(np.asarray(value, dtype=x.dtype))
    elif value.dtype != x.dtype:
        value = cast(value, x.dtype)
    target = x._data[k].shape
    if value.shape != target:
        value = expand(value, *target)
    return IndexPut.apply(x, value, key=k)


# ---------------------------------------------------------------------------------------------
# joining and padding
# ---------------------------------------------------------------------------------------------
class Cat(Op):
    def forward(ctx, xp, *xs, axis):
        ctx.axis = axis
        ctx.bounds = [0]
        for x in xs:
            ctx.bounds.append(ctx.bounds[-1] + x.shape[axis])
        return xp.concatenate(xs, axis=axis)

    def backward(ctx, xp, g):
        ax, b = ctx.axis, ctx.bounds
        pre = (slice(None),) * ax
        return tuple(g[pre + (slice(b[i], b[i + 1]),)] if need else None
                     for i, need in enumerate(ctx.needs_input_grad))


@export
def cat(tensors, dim=0):
    """Concatenate along an existing dimension (as ``torch.cat``)."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat: expected a non-empty list of Tensors")
    dt = tensors[0].dtype
    for t in tensors[1:]:
        dt = result_type(dt, t.dtype)
    tensors = [cast(t, dt) for t in tensors]
    ref = tensors[0]
    ax = axis(dim, ref.ndim, "cat")
    for i, t in enumerate(tensors):
        if t.ndim != ref.ndim or any(a != b for j, (a, b) in enumerate(zip(t.shape, ref.shape))
                                     if j != ax):
            raise RuntimeError(f"cat: sizes of tensors must match except in dimension {ax}; "
                               f"tensor 0 has shape {tuple(ref.shape)}, tensor {i} has shape "
                               f"{tuple(t.shape)}")
    return Cat.apply(*tensors, axis=ax)


export(cat, name="concat")
export(cat, name="concatenate")


@export
def stack(tensors, dim=0):
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{tuple(tensors[0].shape)} at entry 0 and {tuple(t.shape)} at "
                               f"entry {i}")
    d = axis(dim, tensors[0].ndim + 1, "stack")
    return cat([unsqueeze(t, d) for t in tensors], d)


@export(method=True)
def split(tensor, split_size_or_sections, dim=0):
    """Split into chunks of a given size, or of the given list of sizes (as ``torch.split``)."""
    x = tensor
    ax = axis(dim, x.ndim, "split")
    n = x.shape[ax]
    if isinstance(split_size_or_sections, int):
        if split_size_or_sections <= 0:
            raise ValueError(f"split: split_size must be positive, got {split_size_or_sections}")
        sizes = [split_size_or_sections] * (n // split_size_or_sections)
        if n % split_size_or_sections:
            sizes.append(n % split_size_or_sections)
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise RuntimeError(f"split: sections {sizes} sum to {sum(sizes)} but dimension {ax} "
                               f"has size {n}")
    out, start = [], 0
    pre = (slice(None),) * ax
    for s in sizes:
        out.append(getitem(x, pre + (slice(start, start + s),)))
        start += s
    return tuple(out)


@export(method=True)
def chunk(input, chunks, dim=0):
    n = input.shape[axis(dim, input.ndim, "chunk")]
    return split(input, -(-n // chunks), dim)


class Pad(Op):
    name = "pad_constant"

    def forward(ctx, xp, x, *, widths, value):
        ctx.slices = tuple(slice(a, a + s) for (a, _), s in zip(widths, x.shape))
        return xp.pad(x, widths, mode="constant", constant_values=value)

    def backward(ctx, xp, g):
        return g[ctx.slices]


def pad(input, pad, mode="constant", value=0.0):
    """Pad the last dimensions: ``pad = (left_last, right_last, left_prev, right_prev, ...)``."""
    x = input
    if mode != "constant":
        raise NotImplementedError(f"pad: mode {mode!r} (only 'constant' is implemented)")
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad: expected an even number of values covering at most {x.ndim} "
                         f"dimensions, got {pad}")
    if any(p < 0 for p in pad):
        raise NotImplementedError("pad: negative padding (cropping) is not supported")
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    return Pad.apply(x, widths=tuple(widths), value=value)
