"""The Tensor: a NumPy array, a ``requires_grad`` flag, a ``.grad`` and the node that made it.

Operator methods hand off to :mod:`chainrule.ops`; nothing here computes a derivative.
"""
from __future__ import annotations

import numpy as np

from .autograd import function as _fn
from .autograd.function import STATE, _new
from .compat import Size, dtype_of_type, format_tensor, type_name
from .devices import CPU as _CPU, parse_to, placement
from .dtypes import default_float, dtype_repr, infer_array

_SCALARS = (int, float, bool, np.number, np.bool_)


class Tensor:
    """A multi-dimensional array that records the operations applied to it.

    Prefer :func:`chainrule.tensor` to build one.  ``Tensor(data)`` behaves the same way.
    """
    __slots__ = ("_data", "requires_grad", "grad", "_node", "_version", "_hooks", "_retain",
                 "__weakref__")
    __array_priority__ = 1000
    __array_ufunc__ = None   # make NumPy defer to our reflected operators (ndarray * Tensor)

    def __init__(self, data, dtype=None, requires_grad=False):
        _fn._fill(self, infer_array(data, dtype), False, None)
        if requires_grad:
            self.requires_grad_(True)

    # -- basic attributes ---------------------------------------------------------------------
    @property
    def data(self):
        """A tensor sharing this one's array but outside the graph (as ``torch.Tensor.data``)."""
        return _new(self._data, False, None)

    @data.setter
    def data(self, value):
        _fn.taint("assignment to .data")
        self._data = value._data if isinstance(value, Tensor) else infer_array(value, None)

    @property
    def shape(self):
        return Size(self._data.shape)

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
            return Size(self._data.shape)
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
        _fn.taint("item()")
        return self._data.item()

    def tolist(self):
        _fn.taint("tolist()")
        return self._data.tolist()

    def numpy(self):
        """The underlying array (shared, as ``torch.Tensor.numpy``)."""
        if self.requires_grad:
            raise RuntimeError("Can't call numpy() on a Tensor that requires grad. "
                               "Use tensor.detach().numpy() instead.")
        _fn.taint("numpy()")
        return self._data

    def __array__(self, dtype=None, copy=None):
        _fn.taint("conversion to a NumPy array")
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
        _fn.taint("bool() of a tensor (Python control flow on a value)")
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
        return _new(self._data, False, None)

    def detach_(self):
        self._node = None
        self.requires_grad = False
        return self

    def retain_grad(self):
        _fn.taint("retain_grad()")
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on a Tensor that has requires_grad=False")
        self._retain = True

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; it may return a new one."""
        from .utils.hooks import RemovableHandle
        _fn.taint("register_hook()")
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._hooks is None:
            self._hooks = {}
        handle = RemovableHandle(self._hooks)
        self._hooks[handle.id] = hook
        return handle

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad`` (as ``torch.Tensor.backward``)."""
        from .autograd.engine import run_backward
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
        if STATE.trace is not None:
            return STATE.trace.backward(self, gradient, retain_graph, create_graph, seed)
        run_backward([self], [seed], retain_graph, create_graph)

    # -- conversions ---------------------------------------------------------------------------
    def to(self, *args, **kwargs):
        """This tensor as ``dtype`` and/or on ``device`` (as ``torch.Tensor.to``): ``to(dtype)``,
        ``to(device)``, ``to(device, dtype)``, ``to(other)``; ``self`` when nothing changes."""
        dtype, copy = parse_to(args, kwargs)
        if dtype is None or dtype == self._data.dtype:
            return self.clone() if copy else self
        from .ops.elementwise import cast
        return cast(self, dtype)

    def type(self, dtype=None, non_blocking=False):
        """With no argument, the type's name (``'chainrule.FloatTensor'``); else ``to(dtype)``,
        where ``dtype`` may also be a legacy type or its name (``'torch.DoubleTensor'``)."""
        if dtype is None:
            return type_name(self._data.dtype)
        return self.to(dtype_of_type(dtype))

    def type_as(self, other):
        return self.to(other.dtype)

    def float(self):
        return self.to(np.float32)

    def double(self):
        return self.to(np.float64)

    def long(self):
        return self.to(np.int64)

    def int(self):
        return self.to(np.int32)

    def bool(self):
        return self.to(np.bool_)

    def half(self):
        return self.to(np.float16)

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
        _fn.taint("DLPack export")
        return self._data.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self._data.__dlpack_device__()

    def contiguous(self):
        return self

    def clone(self):
        from .ops.elementwise import clone
        return clone(self)

    # -- in-place -------------------------------------------------------------------------------
    def _check_inplace(self, other=None):
        if STATE.enabled and (self.requires_grad or
                              (isinstance(other, Tensor) and other.requires_grad)):
            if self._node is None and self.requires_grad:
                raise RuntimeError("a leaf Variable that requires grad is being used in an "
                                   "in-place operation (wrap the update in cr.no_grad())")
            return True
        return False

    def _inplace(self, fn, other=None):
        """Apply ``fn`` in place.  Under autograd the tensor is rebased onto a new node."""
        _fn.taint("an in-place operation")
        if self._check_inplace(other):
            old = _new(self._data, self.requires_grad, self._node)
            old._version = self._version
            res = fn(old, other) if other is not None else fn(old)
            if res.dtype != self.dtype:
                raise RuntimeError(f"result type {dtype_repr(res.dtype)} can't be cast to the "
                                   f"desired output type {dtype_repr(self.dtype)}")
            # keep identity: ``self`` now stands for the result; nodes that saved the old value
            # see a version bump and refuse to use it.
            if res._node is not None and getattr(res._node, "inputs", None):
                res._node.inputs = tuple(old if i is self else i for i in res._node.inputs)
            self._data, self._node, self.requires_grad = res._data, res._node, res.requires_grad
            if getattr(res._node, "out_ref", None) is not None:
                import weakref
                res._node.out_ref = weakref.ref(self)
            self._version += 1
            return self
        od = other._data if isinstance(other, Tensor) else other
        r = fn(self._data, od) if other is not None else fn(self._data)
        if r is not None:
            r = np.asarray(r)
            if r.dtype != self._data.dtype and not np.can_cast(r.dtype, self._data.dtype,
                                                                "same_kind"):
                raise RuntimeError(f"result type {dtype_repr(r.dtype)} can't be cast to the "
                                   f"desired output type {dtype_repr(self.dtype)}")
            self._data[...] = r
        self._version += 1
        return self

    def add_(self, other, alpha=1):
        if alpha != 1:
            other = other * alpha
        return self._inplace(lambda a, b: a + b, other)

    def sub_(self, other, alpha=1):
        if alpha != 1:
            other = other * alpha
        return self._inplace(lambda a, b: a - b, other)

    def mul_(self, other):
        return self._inplace(lambda a, b: a * b, other)

    def div_(self, other):
        return self._inplace(lambda a, b: a / b, other)

    def pow_(self, other):
        return self._inplace(lambda a, b: a ** b, other)

    def clamp_(self, min=None, max=None):
        from .ops.elementwise import clamp
        return self._inplace(lambda a: clamp(a, min, max) if isinstance(a, Tensor)
                             else np.clip(a, min, max))

    def neg_(self):
        return self._inplace(lambda a: -a)

    def zero_(self):
        return self.fill_(0)

    def fill_(self, value):
        _fn.taint("fill_()")
        if self._check_inplace():
            raise RuntimeError("fill_ on a tensor that is part of a graph is not supported")
        self._data[...] = value._data if isinstance(value, Tensor) else value
        self._version += 1
        return self

    def copy_(self, src):
        _fn.taint("copy_()")
        if self._check_inplace(src):
            raise RuntimeError("copy_ into a tensor that requires grad must run under no_grad")
        src = src._data if isinstance(src, Tensor) else np.asarray(src)
        try:
            self._data[...] = np.broadcast_to(src, self._data.shape)
        except ValueError:
            raise RuntimeError(f"copy_: source of shape {src.shape} can't be broadcast to the "
                               f"destination shape {self._data.shape}") from None
        self._version += 1
        return self

    def uniform_(self, a=0.0, b=1.0, generator=None):
        from .random import get_rng
        return self.copy_(get_rng(generator).uniform(a, b, self.shape))

    def normal_(self, mean=0.0, std=1.0, generator=None):
        from .random import get_rng
        return self.copy_(get_rng(generator).normal(mean, std, self.shape))

    def __setitem__(self, key, value):
        from .ops.movement import _norm_key, index_put
        _fn.taint("item assignment (t[...] = v)")
        if self._check_inplace(value):
            res = index_put(_new(self._data, self.requires_grad, self._node), key, value)
            self._data, self._node, self.requires_grad = res._data, res._node, res.requires_grad
        else:
            v = value._data if isinstance(value, Tensor) else value
            self._data[_norm_key(key)] = v
        self._version += 1

    __iadd__ = add_
    __isub__ = sub_
    __imul__ = mul_
    __itruediv__ = div_

    def __ipow__(self, other):
        return self.pow_(other)


_fn._Tensor = Tensor


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


from . import _tensor_methods  # noqa: E402,F401  (attaches the operator methods to Tensor)
