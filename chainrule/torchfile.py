"""Read PyTorch ``.pt`` / ``.pth`` files (``torch.save`` output) without torch and without running
code from the file.

A PyTorch file is a pickle.  Unpickling normally imports and calls whatever the file names, so a
checkpoint from a stranger can run anything.  This reader is a restricted unpickler in the spirit
of PyTorch's ``weights_only=True``: the only globals it resolves are the tensor-rebuilding
functions, the storage and dtype names, ``torch.Size``/``torch.device``, ``collections.OrderedDict``
and a few plain builtins, each mapped to a chainrule or NumPy equivalent; any other name (a
pickled ``nn.Module``, a class from the training script, ``os.system``) is refused with an error
that says what the file wanted and how to save it instead.  Tensor geometry from the file (offset,
sizes, strides) is checked against its storage before any view is made, so a crafted file cannot
read memory outside the bytes it ships.

Both layouts ``torch.save`` writes are read: the zip archive (``<name>/data.pkl`` plus one
``<name>/data/<key>`` member per storage; the default since PyTorch 1.6) and the legacy stream
(``_use_new_zipfile_serialization=False``: magic number, protocol, system info, the object, the
storage keys, then each storage's bytes).  Tensors come back as chainrule tensors; a saved
``nn.Parameter`` comes back as a leaf tensor with ``requires_grad=True``.

Example::

    >>> # in PyTorch: torch.save(model.state_dict(), "model.pt")
    >>> model.load_state_dict(cr.load("model.pt"))
"""
from __future__ import annotations

import collections
import io
import pickle
import struct
import zipfile

import numpy as np

__all__ = ["is_torch_zip", "load_torch_zip", "load_torch_legacy", "is_torch_legacy",
           "UnsafeFileError"]

_MAGIC = 0x1950a86a20f9469cfc6c
_STORAGES = {"FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
             "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
             "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
             "UntypedStorage": np.uint8}
_DTYPES = {"float32": np.float32, "float": np.float32, "float64": np.float64,
           "double": np.float64, "float16": np.float16, "half": np.float16, "int64": np.int64,
           "long": np.int64, "int32": np.int32, "int": np.int32, "int16": np.int16,
           "short": np.int16, "int8": np.int8, "uint8": np.uint8, "bool": np.bool_}
# names PyTorch has that chainrule cannot hold: refused with their own message
_UNSUPPORTED = ("BFloat16Storage", "ComplexFloatStorage", "ComplexDoubleStorage", "bfloat16",
                "complex64", "complex128", "QInt8Storage", "QUInt8Storage", "QInt32Storage")


class UnsafeFileError(pickle.UnpicklingError, ValueError):
    """The file asks for something outside the tensor-and-containers allowlist."""


class _StorageType:
    """A storage class named in the file (``torch.FloatStorage``): a dtype, never called."""

    def __init__(self, name, dtype):
        self.name, self.dtype = name, np.dtype(dtype)

    def __call__(self, *args, **kwargs):
        raise UnsafeFileError(f"the file calls torch.{self.name}(...) directly; only storages "
                              "referenced by tensors are read")


class _TorchDtype:
    def __init__(self, name):
        self.name = name


class _Storage:
    """The bytes of one storage, as a flat writable array of its dtype."""

    def __init__(self, array):
        self.array = array


def _check_ints(name, value, what):
    if not isinstance(value, (tuple, list)) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise UnsafeFileError(f"{what}: {name} must be a tuple of ints, got {value!r}")
    return tuple(value)


def _view(storage, offset, size, stride, what, dtype=None):
    """``as_strided`` on the storage, after proving every element lies inside it."""
    if not isinstance(storage, _Storage):
        raise UnsafeFileError(f"{what}: expected a storage, got {type(storage).__name__}")
    arr = storage.array
    if dtype is not None and np.dtype(dtype) != arr.dtype:   # an untyped (byte) storage
        if arr.nbytes % np.dtype(dtype).itemsize:
            raise UnsafeFileError(f"{what}: storage of {arr.nbytes} bytes is not a whole number "
                                  f"of {np.dtype(dtype).name} elements")
        arr = arr.view(dtype)
    size, stride = _check_ints("size", size, what), _check_ints("stride", stride, what)
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise UnsafeFileError(f"{what}: storage offset must be a non-negative int, got "
                              f"{offset!r}")
    if len(size) != len(stride) or any(s < 0 for s in size) or any(s < 0 for s in stride):
        raise UnsafeFileError(f"{what}: bad geometry size={size} stride={stride}")
    if 0 in size:
        return np.zeros(size, arr.dtype)
    last = offset + sum((n - 1) * s for n, s in zip(size, stride))
    if last >= arr.size:
        raise UnsafeFileError(f"{what}: a tensor of size {size}, stride {stride} at offset "
                              f"{offset} reaches element {last}, beyond its storage of "
                              f"{arr.size} elements (corrupt or crafted file)")
    item = arr.itemsize
    return np.lib.stride_tricks.as_strided(arr[offset:], shape=size,
                                           strides=tuple(s * item for s in stride))


def _tensor(array, requires_grad=False):
    from .tensor import _new
    t = _new(array, False, None)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    return _tensor(_view(storage, storage_offset, size, stride, "_rebuild_tensor_v2"),
                   bool(requires_grad))


def _rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks,
                       dtype, metadata=None):
    if not isinstance(dtype, np.dtype):
        raise UnsafeFileError(f"_rebuild_tensor_v3: dtype must be a torch dtype, got {dtype!r}")
    return _tensor(_view(storage, storage_offset, size, stride, "_rebuild_tensor_v3", dtype),
                   bool(requires_grad))


def _rebuild_tensor(storage, storage_offset, size, stride):
    return _tensor(_view(storage, storage_offset, size, stride, "_rebuild_tensor"))


def _rebuild_parameter(data, requires_grad, backward_hooks):
    from .tensor import Tensor
    if not isinstance(data, Tensor):
        raise UnsafeFileError(f"_rebuild_parameter: expected a tensor, got {type(data).__name__}")
    return _tensor(data._data, bool(requires_grad) and data._data.dtype.kind == "f")


def _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    if state:
        raise UnsafeFileError("a Parameter with extra Python attributes cannot be read safely")
    return _rebuild_parameter(data, requires_grad, backward_hooks)


class _TensorClass:   # torch.Tensor / torch.nn.Parameter as named by _rebuild_from_type_v2
    def __init__(self, name):
        self.name = name

    def __call__(self, *a, **k):
        raise UnsafeFileError(f"the file constructs {self.name} directly; only rebuilt tensors "
                              "are read")


def _rebuild_from_type_v2(func, new_type, args, state):
    if not isinstance(new_type, _TensorClass) or not callable(func) or \
            func not in _REBUILD.values():
        raise UnsafeFileError("_rebuild_from_type_v2 with a tensor subclass is not read")
    if state:
        raise UnsafeFileError("a tensor with extra Python attributes cannot be read safely")
    return func(*args)


def _size(sizes=()):
    from .compat import Size
    return Size(_check_ints("size", tuple(sizes), "torch.Size"))


def _device(*args):
    from .devices import device
    return device(*args)


_REBUILD = {"_rebuild_tensor_v2": _rebuild_tensor_v2, "_rebuild_tensor_v3": _rebuild_tensor_v3,
            "_rebuild_tensor": _rebuild_tensor, "_rebuild_parameter": _rebuild_parameter,
            "_rebuild_parameter_with_state": _rebuild_parameter_with_state}
_ALLOWED = {("collections", "OrderedDict"): collections.OrderedDict,
            ("torch", "Size"): _size, ("torch", "device"): _device,
            ("torch._tensor", "_rebuild_from_type_v2"): _rebuild_from_type_v2,
            ("torch", "Tensor"): _TensorClass("torch.Tensor"),
            ("torch.nn.parameter", "Parameter"): _TensorClass("torch.nn.Parameter"),
            ("builtins", "set"): set, ("builtins", "frozenset"): frozenset,
            ("builtins", "complex"): complex, ("builtins", "slice"): slice}
_ALLOWED.update({("torch._utils", k): v for k, v in _REBUILD.items()})
_ALLOWED.update({("torch", k): _StorageType(k, v) for k, v in _STORAGES.items()})
_ALLOWED.update({("torch", k): np.dtype(v) for k, v in _DTYPES.items()})


class _Unpickler(pickle.Unpickler):
    def __init__(self, fh, name, read_storage):
        super().__init__(fh)
        self._name, self._read, self._cache = name, read_storage, {}

    def find_class(self, module, name):
        hit = _ALLOWED.get((module, name))
        if hit is not None:
            return hit
        if module == "torch" and name in _UNSUPPORTED:
            raise UnsafeFileError(f"cr.load: {self._name!r} holds torch.{name} data; chainrule "
                                  "has no such dtype (convert in PyTorch first, e.g. "
                                  "{k: v.float() for k, v in sd.items()})")
        raise UnsafeFileError(
            f"cr.load: {self._name!r} asks to import {module}.{name} while loading; chainrule "
            "reads only tensors, storages, OrderedDict and plain containers from PyTorch files "
            "and never runs code from them (a pickled nn.Module or a custom class is code). In "
            "PyTorch, save the weights instead: torch.save(model.state_dict(), path)")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) in (5, 6) and pid[0] == "storage"
                and isinstance(pid[1], _StorageType) and isinstance(pid[2], str)
                and isinstance(pid[4], int)):
            raise UnsafeFileError(f"cr.load: {self._name!r} has a persistent id this reader does "
                                  f"not know: {pid!r:.120}")
        _, stype, key, _location, numel = pid[:5]
        if self._read is None:
            raise UnsafeFileError(f"cr.load: {self._name!r} has a storage where none belongs")
        if key not in self._cache:
            self._cache[key] = _Storage(self._read(key, stype.dtype, numel))
        return self._cache[key]


def _array(raw, dtype, numel, key, name, big_endian=False):
    dt = np.dtype(dtype).newbyteorder(">") if big_endian else np.dtype(dtype)
    if len(raw) != numel * dt.itemsize:
        raise ValueError(f"cr.load: {name!r}: storage {key} holds {len(raw)} bytes, expected "
                         f"{numel} x {dt.itemsize} (truncated or corrupt file)")
    arr = np.frombuffer(bytearray(raw), dtype=dt)   # bytearray: writable, owned
    return arr.astype(np.dtype(dtype)) if big_endian else arr


def is_torch_zip(zf):
    """The folder prefix of a ``torch.save`` zip archive (``'archive'``), or ``None``."""
    names = zf.namelist()
    for n in names:
        head, sep, tail = n.partition("/")
        if sep and tail == "data.pkl":
            return head
    return None


def load_torch_zip(zf, prefix, name):
    """The object in a ``torch.save`` zip archive ``zf`` (a ``zipfile.ZipFile``)."""
    try:
        order = zf.read(f"{prefix}/byteorder").decode("ascii").strip()
    except KeyError:
        order = "little"
    big = order == "big"

    def read(key, dtype, numel):
        try:
            info = zf.getinfo(f"{prefix}/data/{key}")
        except KeyError:
            raise ValueError(f"cr.load: {name!r} has no storage {key!r} (truncated archive)") \
                from None
        want = numel * np.dtype(dtype).itemsize
        if info.file_size != want:   # checked before anything is read or decompressed
            raise ValueError(f"cr.load: {name!r}: storage {key} declares {info.file_size} "
                             f"bytes, its tensors need {want} (corrupt or crafted file)")
        _no_bomb(info, name)
        return _array(zf.read(info), dtype, numel, key, name, big)

    info = zf.getinfo(f"{prefix}/data.pkl")
    _no_bomb(info, name)
    with zf.open(info) as fh:
        return _Unpickler(io.BytesIO(fh.read()), name, read).load()


def _no_bomb(info, name):
    """Refuse a compressed member that would expand more than 1000-fold (torch.save stores its
    members uncompressed, so a real file never trips this)."""
    if info.compress_type != zipfile.ZIP_STORED and \
            info.file_size > 1000 * max(info.compress_size, 1) + (1 << 20):
        raise ValueError(f"cr.load: {name!r}: member {info.filename!r} expands from "
                         f"{info.compress_size} to {info.file_size} bytes (refused)")


def is_torch_legacy(head):
    """Whether the first bytes of a file look like the legacy (non-zip) ``torch.save`` stream."""
    return head[:2] == b"\x80\x02" and head[2:3] == b"\x8a"   # protocol 2, LONG1 magic number


def load_torch_legacy(fh, name):
    """The object in a legacy ``torch.save`` stream (``_use_new_zipfile_serialization=False``)."""
    def plain(what):
        try:
            return _Unpickler(fh, name, None).load()
        except EOFError:
            raise ValueError(f"cr.load: {name!r} ends before its {what} (truncated)") from None

    if plain("magic") != _MAGIC:
        raise ValueError(f"cr.load: {name!r} is not a PyTorch file (bad magic number)")
    version = plain("protocol")
    if version != 1001:
        raise ValueError(f"cr.load: {name!r} uses PyTorch protocol {version!r}; 1001 is read")
    info = plain("system info")
    big = isinstance(info, dict) and info.get("little_endian") is False
    start = fh.tell()
    size = fh.seek(0, 2)
    fh.seek(start)
    wanted = {}

    def placeholder(key, dtype, numel):
        # the bytes come after the object: tensors are views of zeros filled in place below
        if numel < 0 or numel * np.dtype(dtype).itemsize > size:
            raise ValueError(f"cr.load: {name!r}: storage {key} claims {numel} elements, more "
                             "than the file holds (corrupt or crafted file)")
        wanted[key] = np.zeros(numel, dtype)
        return wanted[key]

    obj = _Unpickler(fh, name, placeholder).load()
    keys = plain("storage keys")
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise UnsafeFileError(f"cr.load: {name!r}: the storage key list is malformed")
    for key in keys:
        head = fh.read(8)
        if len(head) != 8:
            raise ValueError(f"cr.load: {name!r} ends before storage {key} (truncated file)")
        (numel,) = struct.unpack(">q" if big else "<q", head)
        if key not in wanted:
            raise ValueError(f"cr.load: {name!r} stores {key!r}, which no tensor uses")
        arr = wanted.pop(key)
        raw = fh.read(arr.nbytes)
        if numel != arr.size:
            raise ValueError(f"cr.load: {name!r}: storage {key} says {numel} elements, its "
                             f"tensors say {arr.size} (corrupt file)")
        arr[...] = _array(raw, arr.dtype, numel, key, name, big)
    if wanted:
        raise ValueError(f"cr.load: {name!r} lacks storage {sorted(wanted)[0]!r}")
    return obj


def open_zip(f):
    """``zipfile.ZipFile(f)`` or ``None`` when ``f`` is not a zip archive."""
    try:
        return zipfile.ZipFile(f)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError):
        return None     # not a (readable) zip: the caller tries the other formats
