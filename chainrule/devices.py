"""Devices, the CPU way: ``cr.device`` and the checks behind every ``device=`` argument.

chainrule computes on NumPy arrays, so there is one device today, ``cpu``.  The names PyTorch
programs use for other devices (``cuda``, ``mps``, ...) still make :class:`device` objects, as
``torch.device('cuda')`` does on a machine without a GPU; putting a tensor there is what fails,
with an error that lists the devices that exist.  :func:`placement` is the one place that
decides, so a GPU array library can later plug in here.

Example::

    >>> dev = cr.device("cuda" if cr.cuda.is_available() else "cpu")
    >>> cr.zeros(2, 3, device=dev).device
    device(type='cpu')
"""
from __future__ import annotations

import builtins as _b

__all__ = ["device", "get_default_device", "set_default_device", "placement", "parse_to"]

# Device types PyTorch knows by name; a device object may name them, only "cpu" holds tensors.
_KNOWN = ("cpu", "cuda", "mps", "xpu", "hip", "meta", "mtia", "hpu", "xla", "ipu", "lazy",
          "vulkan", "privateuseone")
_AVAILABLE = ("cpu",)


class device:   # noqa: N801  (torch.device)
    """A device name, as ``torch.device``: ``device('cpu')``, ``device('cpu:0')``,
    ``device('cpu', 0)``, ``device(type='cpu')``.

    ``.type`` is the kind (``'cpu'``), ``.index`` the ordinal or ``None``.  Unlike
    ``torch.device``, a device also equals its string form (``device('cpu') == 'cpu'``).
    """
    __slots__ = ("_type", "_index")

    def __init__(self, type, index=None):   # noqa: A002  (torch's argument name)
        if isinstance(type, device):
            if index is not None:
                raise TypeError("device(device, index): give the index inside the string, "
                                "e.g. device('cpu:0'), or device('cpu', 0)")
            type, index = type._type, type._index
        if not isinstance(type, str):
            raise TypeError(f"device() expects a string such as 'cpu' or 'cpu:0', got "
                            f"{_b.type(type).__name__}")
        kind, sep, rest = type.partition(":")
        if sep:
            if index is not None:
                raise ValueError(f"device({type!r}, {index!r}): the string already holds an "
                                 "index")
            if not rest.isdigit():
                raise ValueError(f"Invalid device string: {type!r} (expected 'cpu' or "
                                 "'cpu:<index>')")
            index = _b.int(rest)
        if kind not in _KNOWN:
            raise ValueError(f"Invalid device string: {type!r}; expected one of "
                             f"{', '.join(_KNOWN)} (this machine's chainrule has: "
                             f"{', '.join(_AVAILABLE)})")
        if index is not None and (not isinstance(index, _b.int) or isinstance(index, _b.bool)
                                  or index < 0):
            raise ValueError(f"device index must be a non-negative int, got {index!r}")
        self._type, self._index = kind, index

    @property
    def type(self):
        return self._type

    @property
    def index(self):
        return self._index

    def __str__(self):
        return self._type if self._index is None else f"{self._type}:{self._index}"

    def __repr__(self):
        if self._index is None:
            return f"device(type={self._type!r})"
        return f"device(type={self._type!r}, index={self._index})"

    def __eq__(self, other):
        if isinstance(other, str):
            try:
                other = device(other)
            except (TypeError, ValueError):
                return False
        if not isinstance(other, device):
            return NotImplemented
        return self._type == other._type and self._index == other._index

    def __hash__(self):
        return hash((self._type, self._index))

    def __reduce__(self):
        return (device, (self._type, self._index))


CPU = device("cpu")
_default = [CPU]


def placement(dev, where="this call"):
    """The device a tensor made with ``device=dev`` lives on: ``cpu``, or a clear error.

    ``None`` means the default device (see :func:`set_default_device`).
    """
    if dev is None:
        return _default[0]
    if isinstance(dev, device):
        d = dev
    elif isinstance(dev, str):
        d = device(dev)
    elif isinstance(dev, _b.int) and not isinstance(dev, _b.bool):
        raise RuntimeError(f"{where}: device={dev} means accelerator {dev}, but none is "
                           f"available; devices that exist: {', '.join(_AVAILABLE)}")
    else:
        raise TypeError(f"{where}: device= expects a string such as 'cpu' or a cr.device, got "
                        f"{type(dev).__name__}")
    if d.type not in _AVAILABLE:
        hint = ("cr.cuda.is_available() is False: chainrule computes with NumPy on the CPU"
                if d.type == "cuda" else "chainrule computes with NumPy on the CPU")
        raise RuntimeError(f"{where}: no {d.type!r} device ({hint}); devices that exist: "
                           f"{', '.join(_AVAILABLE)}. Write device='cpu', or choose with "
                           "cr.device('cuda' if cr.cuda.is_available() else 'cpu')")
    if d.index not in (None, 0):
        raise RuntimeError(f"{where}: there is one CPU device, 'cpu' (index 0); got {str(d)!r}")
    return CPU


def get_default_device():
    """The device factories use when ``device=`` is not given (as ``torch.get_default_device``)."""
    return _default[0]


def set_default_device(dev):
    """Set the device factories use by default; only ``'cpu'`` exists (as
    ``torch.set_default_device``).  ``None`` resets it."""
    _default[0] = placement(dev, "set_default_device")


def _is_tensor(a):
    # duck-typed: this module sits below the Tensor class (tensor.py imports it)
    return hasattr(a, "_data") and hasattr(a, "requires_grad") and hasattr(a, "dtype")


def _is_device_like(a):
    return isinstance(a, (str, device)) or (isinstance(a, _b.int) and not isinstance(a, _b.bool))


def parse_to(args, kwargs, where="Tensor.to"):
    """Read ``to(...)``'s arguments as PyTorch does: ``to(dtype)``, ``to(device)``,
    ``to(device, dtype)``, ``to(other_tensor)`` and the keywords ``device=``, ``dtype=``,
    ``non_blocking=``, ``copy=``, ``memory_format=``.

    Returns ``(dtype or None, copy)``; the device is checked (and is always the CPU).
    """
    from .dtypes import as_dtype
    kwargs = dict(kwargs)
    dev = kwargs.pop("device", None)
    dtype = kwargs.pop("dtype", None)
    copy = _b.bool(kwargs.pop("copy", False))
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"{where}() got an unexpected keyword argument {next(iter(kwargs))!r}")
    args = list(args)
    if args and _is_tensor(args[0]):   # to(other)
        other = args.pop(0)
        dtype = other.dtype
    elif args and _is_device_like(args[0]) and not (isinstance(args[0], str)
                                                    and args[0] in _DTYPE_NAMES):
        if isinstance(args[0], str) and args[0].partition(":")[0] not in _KNOWN:
            raise TypeError(f"{where}({args[0]!r}): not a dtype (such as 'float64') nor a "
                            f"device (devices that exist: {', '.join(_AVAILABLE)})")
        dev = args.pop(0)
    if args:
        if dtype is not None:
            raise TypeError(f"{where}(): dtype given twice")
        dtype = args.pop(0)
    if args:   # to(dtype, non_blocking, copy) / to(device, dtype, non_blocking, copy)
        args.pop(0)
        if args:
            copy = _b.bool(args.pop(0))
    if args:
        raise TypeError(f"{where}() takes at most 4 positional arguments")
    if dev is not None:
        placement(dev, where)
    return (as_dtype(dtype) if dtype is not None else None), copy


# string dtypes that ``to('float64')`` may be given (they are not device names)
_DTYPE_NAMES = ("float16", "float32", "float64", "int8", "uint8", "int16", "int32", "int64",
                "bool", "half", "float", "double", "long", "int", "short")
