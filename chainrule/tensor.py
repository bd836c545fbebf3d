"""The Tensor: a NumPy array, a ``requires_grad`` flag, a ``.grad`` and the node that made it.

This class holds the data and the autograd fields.  Its operator methods (``+``, ``@``,
``reshape``, ``sum``, ``exp``, in-place ``add_`` ...) are defined next to their ops in
:mod:`chainrule.ops` and attached from there by ``@export(method=True)``: an op's forward, its
backward, its ``cr.`` function and its ``Tensor`` method are one entry in one file.  Nothing here
computes a derivative.
"""
from __future__ import annotations

import functools

import numpy as np

from .compat import Size, format_tensor
from .devices import CPU as _CPU, placement
from .dtypes import default_float, dtype_repr, infer_array
from .graph.engine import run_backward
from .graph.hooks import PostAccumulateGradHook, RemovableHandle
from .graph.modes import STATE, observe_read, observe_write


_shape = functools.partial(tuple.__new__, Size)   # Size from a NumPy shape, fast (C calls)


class Version:
    """A tensor's version counter, shared with its views: in-place writes bump it, and a
    backward that saved a value at another version refuses to run."""
    __slots__ = ("n",)

    def __init__(self, n=0):
        self.n = n


_object_new = object.__new__


def _fill(t, data, requires_grad, node):
    """Set every field of a Tensor (or subclass) ``t``; the one place that lists them."""
    t._data = data
    t.requires_grad = requires_grad
    t._node = node
    t.grad = None
    t._vc = None
    t._base = None
    t._hooks = None
    t._retain = False
    return t


def _new(data, requires_grad=False, node=None):
    """Fast internal constructor of a Tensor around ``data`` (no copy, no checks)."""
    return _fill(_object_new(Tensor), data, requires_grad, node)


class Tensor:
    """A multi-dimensional array that records the operations applied to it.

    Prefer :func:`chainrule.tensor` to build one.  ``Tensor(data)`` behaves the same way.
    """
    __slots__ = ("_data", "requires_grad", "grad", "_node", "_vc", "_base", "_hooks", "_retain",
                 "__weakref__")
    __array_priority__ = 1000
    __array_ufunc__ = None   # make NumPy defer to our reflected operators (ndarray * Tensor)

    def __init__(self, data, dtype=None, requires_grad=False):
        _fill(self, infer_array(data, dtype), False, None)
        if requires_grad:
            self.requires_grad_(True)

    _wrap = staticmethod(_new)   # how the engine makes ``.grad`` (it does not import tensor)

    # -- basic attributes ---------------------------------------------------------------------
    @property
    def data(self):
        """A tensor sharing this one's array but outside the graph (as ``torch.Tensor.data``)."""
        return _new(self._data, False, None)

    @data.setter
    def data(self, value):
        observe_write("assignment to .data")
        self._data = value._data if isinstance(value, Tensor) else infer_array(value, None)

    @property
    def _version(self):
        """How many in-place writes this tensor (or a view sharing its memory) has had."""
        vc = self._vc
        return 0 if vc is None else vc.n

    @_version.setter
    def _version(self, n):
        if self._vc is None:
            self._vc = Version()
        self._vc.n = n
        observe_write("an in-place write to a tensor")

    @property
    def shape(self):
        return _shape(self._data.shape)

    @property
    def ndim(self):
        return self._data.ndim

    @property
    def dtype(self):
        return self._data.dtype

    @property
    def is_leaf(self):
        return self._node is None

    @property
    def grad_fn(self):
        return self._node

    @property
    def device(self):
        return _CPU

    def dim(self):
        return self._data.ndim

    def size(self, dim=None):
        if dim is None:
            return _shape(self._data.shape)
        return self._data.shape[dim]

    def numel(self):
        return self._data.size

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def item(self):
        if self._data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape "
                             f"{self._data.shape}")
        observe_read("item()")
        return self._data.item()

    def tolist(self):
        observe_read("tolist()")
        return self._data.tolist()

    def numpy(self):
        """The underlying array (shared, as ``torch.Tensor.numpy``)."""
        if self.requires_grad:
            raise RuntimeError("Can't call numpy() on a Tensor that requires grad. "
                               "Use tensor.detach().numpy() instead.")
        observe_read("numpy()")
        return self._data

    def __array__(self, dtype=None, copy=None):
        observe_read("conversion to a NumPy array")
        return self._data if dtype is None else self._data.astype(dtype)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self._data.dtype.kind not in "iub":
            raise TypeError("only integer tensors can be used as an index")
        return int(self.item())

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError(f"Boolean value of a Tensor with shape {self._data.shape} is "
                               "ambiguous")
        observe_read("bool() of a tensor (Python control flow on a value)")
        return bool(self._data.item())

    def __hash__(self):
        return id(self)

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __repr__(self):
        body = np.array2string(self._data, separator=", ", prefix="tensor(", precision=4)
        extra = ""
        if self._data.dtype != default_float() and self._data.dtype.kind != "i" \
                and self._data.dtype.kind != "b":
            extra += f", dtype={dtype_repr(self._data.dtype)}"
        elif self._data.dtype.kind in "iu" and self._data.dtype != np.int64:
            extra += f", dtype={dtype_repr(self._data.dtype)}"
        if self._node is not None:
            extra += f", grad_fn={self._node!r}"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    # -- autograd -----------------------------------------------------------------------------
    def requires_grad_(self, requires_grad=True):
        if requires_grad and self._data.dtype.kind not in "fc":
            raise RuntimeError(f"only floating point tensors can require gradients, got dtype "
                               f"{dtype_repr(self._data.dtype)}")
        if not requires_grad and self._node is not None:
            raise RuntimeError("requires_grad can only be turned off on leaf tensors; use "
                               "detach() for a non-leaf")
        self.requires_grad = bool(requires_grad)
        return self

    def detach(self):
        """A new tensor on the same memory, outside the graph (shares the version counter)."""
        t = _new(self._data, False, None)
        if self._vc is None:
            self._vc = Version()
        t._vc = self._vc
        return t

    def detach_(self):
        self._node = None
        self.requires_grad = False
        return self

    def retain_grad(self):
        observe_read("retain_grad()")
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on a Tensor that has requires_grad=False")
        self._retain = True

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; it may return a new one."""
        observe_read("register_hook()")
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._hooks is None:
            self._hooks = {}
        handle = RemovableHandle(self._hooks)
        self._hooks[handle.id] = hook
        return handle

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(tensor)`` in backward as soon as this leaf's ``.grad`` holds its total
        gradient (as PyTorch's); the engine calls it right after the last node that uses the
        leaf, so the rest of backward still runs after it (DDP starts its allreduces there)."""
        observe_read("register_post_accumulate_grad_hook()")
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._node is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf "
                               "tensors")
        if self._hooks is None:
            self._hooks = {}
        handle = RemovableHandle(self._hooks)
        self._hooks[handle.id] = PostAccumulateGradHook(hook)
        return handle

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad`` (as ``torch.Tensor.backward``)."""
        if not self.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a "
                               "grad_fn: nothing to differentiate (did you call it under "
                               "no_grad, or forget requires_grad=True?)")
        if gradient is None:
            if self._data.size != 1:
                raise RuntimeError(f"grad can be implicitly created only for scalar outputs; this "
                                   f"tensor has shape {self._data.shape}: pass gradient= of that "
                                   "shape")
            seed = np.ones(self._data.shape, self._data.dtype)
        else:
            seed = gradient._data if isinstance(gradient, Tensor) else np.asarray(gradient)
            if seed.shape != self._data.shape:
                raise RuntimeError(f"gradient has shape {seed.shape} but the tensor has shape "
                                   f"{self._data.shape}")
            seed = seed.astype(self._data.dtype, copy=False)
        if create_graph:
            seed = _new(seed, False, None) if not isinstance(gradient, Tensor) else gradient
        if retain_graph is None:
            retain_graph = create_graph
        if inputs is not None:
            raise NotImplementedError("backward(inputs=...) is not supported; use cr.grad")
        run_backward([self], [seed], retain_graph, create_graph)

    # -- conversions without arithmetic ---------------------------------------------------------
    def cpu(self):
        return self

    def cuda(self, device=None, non_blocking=False):
        """Raises: chainrule has no CUDA device (the error lists the devices that exist)."""
        placement("cuda" if device is None else device, "Tensor.cuda()")

    def __format__(self, spec):
        return format_tensor(self, spec)

    def __dlpack__(self, *args, **kwargs):
        """Export the array through DLPack, zero-copy (``torch.from_dlpack(t)``,
        ``np.from_dlpack(t)``)."""
        if self.requires_grad:
            raise RuntimeError("Can't export tensors that require gradient, use "
                               "tensor.detach()")
        observe_read("DLPack export")
        return self._data.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self._data.__dlpack_device__()

    def contiguous(self):
        return self

    # -- in-place writes of plain values (no graph) ----------------------------------------------
    def _bump(self, what="an in-place write"):
        """Count an in-place write (shared with views); ``observe_write`` tells an observer."""
        _count_write(self)
        observe_write(what)

    def fill_(self, value):
        self._no_graph_write("fill_")
        self._data[...] = value._data if isinstance(value, Tensor) else value
        self._bump("fill_()")
        return self

    def zero_(self):
        return self.fill_(0)

    def copy_(self, src):
        self._no_graph_write("copy_", src)
        src = src._data if isinstance(src, Tensor) else np.asarray(src)
        try:
            self._data[...] = np.broadcast_to(src, self._data.shape)
        except ValueError:
            raise RuntimeError(f"copy_: source of shape {src.shape} can't be broadcast to the "
                               f"destination shape {self._data.shape}") from None
        self._bump("copy_()")
        return self

    def _no_graph_write(self, what, other=None):
        if STATE.enabled and (self.requires_grad or
                              (isinstance(other, Tensor) and other.requires_grad)):
            raise RuntimeError(f"{what} into a tensor that requires grad (or from one) must run "
                               "under cr.no_grad(); it is not recorded in the graph")

    def uniform_(self, a=0.0, b=1.0, generator=None):
        from .random import get_rng
        return self.copy_(get_rng(generator).uniform(a, b, self.shape))

    def normal_(self, mean=0.0, std=1.0, generator=None):
        from .random import get_rng
        return self.copy_(get_rng(generator).normal(mean, std, self.shape))


def count_writes(tensors, what):
    """Count one in-place write to each of ``tensors`` (an optimizer's update of its parameters)
    and tell an observer once (``t._version += 1`` tells it for each)."""
    for t in tensors:
        _count_write(t)
    observe_write(what)


def _count_write(t):
    """Count an in-place write that an op's forward makes to a buffer it was given (batch norm's
    running statistics): the version moves, and no observer is told, since a replay of the op
    runs that forward, and so the write, again."""
    if t._vc is None:
        t._vc = Version()
    t._vc.n += 1


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)
