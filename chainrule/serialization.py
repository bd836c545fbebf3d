"""``cr.save`` / ``cr.load``: state dicts on disk in a safe format (no pickle).

The default file is a NumPy ``.npz`` archive: every tensor or array is one entry, named after its
place in the object (``fc1.weight``, ``state.0.exp_avg``), and the structure around them (nested
dicts, lists, tuples, numbers, strings, ``None``) is one JSON document stored as a uint8 entry named
``__chainrule__``.  Loading uses ``np.load(..., allow_pickle=False)``, so a file cannot run code.
A path ending in ``.safetensors`` is written with the ``safetensors`` package (when installed),
with the JSON structure in its metadata.  Writes go to a temporary file in the same folder that
replaces the target with ``os.replace``: an interrupted or failed save leaves the old file intact.

Example::

    >>> cr.save(model.state_dict(), "model.npz")
    >>> model.load_state_dict(cr.load("model.npz"))
"""
from __future__ import annotations

import json
import math
import os
import pickle  # noqa: F401  (only its error types: chainrule never unpickles with code)
import struct
import zipfile

import numpy as np

from .utils.io import atomic_write

__all__ = ["save", "load", "peek"]

_META = "__chainrule__"
_FORMAT = "chainrule-state/1"
_MARKERS = ("__tensor__", "__array__", "__scalar__", "__tuple__", "__dict__")


def _encode(obj, path, arrays):
    """The JSON-able skeleton of ``obj``; its arrays go into ``arrays`` under dotted names."""
    from .tensor import Tensor

    def put(kind, arr):
        name = ".".join(path) or "value"
        base, k = name, 1
        while name in arrays or name == _META:
            name, k = f"{base}~{k}", k + 1
        # (np.ascontiguousarray would turn a 0-d array into shape (1,))
        arrays[name] = arr if arr.flags.c_contiguous else np.ascontiguousarray(arr)
        return {kind: name}

    if isinstance(obj, Tensor):
        return put("__tensor__", obj._data)
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind in "OV":
            raise TypeError(f"cr.save: array at {'.'.join(path) or 'top level'} has dtype "
                            f"{obj.dtype}, which cannot be stored without pickle")
        return put("__array__", obj)
    if isinstance(obj, np.generic):
        return put("__scalar__", np.asarray(obj))
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (list, tuple)):
        items = [_encode(v, path + [str(i)], arrays) for i, v in enumerate(obj)]
        return {"__tuple__": items} if isinstance(obj, tuple) else items
    if isinstance(obj, dict):
        plain = all(isinstance(k, str) and k not in _MARKERS for k in obj)
        if plain:
            return {k: _encode(v, path + [k], arrays) for k, v in obj.items()}
        for k in obj:
            if not isinstance(k, (str, int, float, bool)) and k is not None:
                raise TypeError(f"cr.save: dict key {k!r} of type {type(k).__name__} is not "
                                "supported (use str, int, float, bool or None)")
        return {"__dict__": [[k, _encode(v, path + [str(k)], arrays)] for k, v in obj.items()]}
    if hasattr(obj, "state_dict") and hasattr(obj, "load_state_dict"):
        raise TypeError(f"cr.save: {type(obj).__name__} at {'.'.join(path) or 'top level'} is a "
                        "whole module or optimizer; chainrule never pickles objects (loading a "
                        "pickle can run code). Save its state instead: cr.save(model.state_dict(),"
                        " 'model.npz'), then model.load_state_dict(cr.load('model.npz')) on a "
                        "freshly built model")
    raise TypeError(f"cr.save: cannot store an object of type {type(obj).__name__} at "
                    f"{'.'.join(path) or 'top level'}: only tensors, arrays, numbers, strings, "
                    "None and dicts/lists/tuples of them are saved (no pickle)")


def _decode(node, arrays):
    from .tensor import _new
    if isinstance(node, list):
        return [_decode(v, arrays) for v in node]
    if isinstance(node, dict):
        if len(node) == 1:
            (kind, val), = node.items()
            if kind in ("__tensor__", "__array__", "__scalar__"):
                if not isinstance(val, str) or val not in arrays:
                    raise ValueError(f"{kind} refers to {val!r}, which is not an entry")
                arr = arrays[val]
                if kind == "__tensor__":
                    if arr.dtype.kind not in "biufc":
                        raise ValueError(f"entry {val!r} of dtype {arr.dtype} cannot be a tensor")
                    return _new(arr, False, None)
                return arr if kind == "__array__" else arr[()]
            if kind == "__tuple__":
                if not isinstance(val, list):
                    raise ValueError(f"__tuple__ holds a {type(val).__name__}, not a list")
                return tuple(_decode(v, arrays) for v in val)
            if kind == "__dict__":
                if not isinstance(val, list) or not all(
                        isinstance(kv, list) and len(kv) == 2 and not isinstance(kv[0], (list, dict))
                        for kv in val):
                    raise ValueError("__dict__ must hold [key, value] pairs")
                return {k: _decode(v, arrays) for k, v in val}
        return {k: _decode(v, arrays) for k, v in node.items()}
    return node


#: the most bytes the arrays of one file may declare (physical memory where it can be read)
def _max_bytes():
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return 2 ** 36


def _member_layout(zf, info):
    """``(shape, dtype)`` that an .npy member's header declares, checked against its size."""
    fmt = np.lib.format
    with zf.open(info) as fh:
        version = fmt.read_magic(fh)
        if version == (1, 0):
            shape, _, dtype = fmt.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, _, dtype = fmt.read_array_header_2_0(fh)
        else:
            raise ValueError(f"entry {info.filename!r} has .npy version {version}, expected "
                             "1.0 or 2.0")
        header = fh.tell()
    if dtype.hasobject:
        raise ValueError(f"entry {info.filename!r} holds Python objects (would need pickle)")
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes + header != info.file_size:
        raise ValueError(f"entry {info.filename!r} declares shape {shape} of {dtype} "
                         f"({nbytes:,} bytes) but holds {info.file_size - header:,} bytes")
    return shape, dtype


def peek(path):
    """``{name: (shape, dtype)}`` of the arrays in an .npz file, without reading their data.

    Every entry's declared size is checked against the archive (and all of them together against
    the machine's memory) before anything is decompressed.

    Raises:
        ValueError: the file is not a well-formed .npz archive of plain arrays.
    """
    name = os.fspath(path)
    limit = _max_bytes()
    try:
        with zipfile.ZipFile(name) as zf:
            infos = zf.infolist()
            if len(infos) > 1_000_000:
                raise ValueError(f"{len(infos):,} entries")
            total = sum(i.file_size for i in infos)
            if total > limit:
                raise ValueError(f"its entries declare {total:,} bytes, more than this "
                                 f"machine's memory ({limit:,} bytes)")
            out = {}
            for info in infos:
                if not info.filename.endswith(".npy"):
                    raise ValueError(f"entry {info.filename!r} is not an .npy array")
                out[info.filename[:-4]] = _member_layout(zf, info)
            return out
    except ValueError as exc:
        raise ValueError(f"cr.load: {name!r} is corrupt or not a checkpoint: {exc}") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, KeyError,
            NotImplementedError, RuntimeError, SyntaxError, TypeError) as exc:
        raise ValueError(f"cr.load: {name!r} is corrupt or truncated "
                         f"({type(exc).__name__}: {exc})") from None


def _write_npz(fh, arrays):
    np.savez(fh, **arrays)


def save(obj, f):
    """Save a state dict (or any nest of tensors, arrays, numbers and strings) to ``f``.

    Arguments:
        obj: e.g. ``model.state_dict()`` or ``optimizer.state_dict()`` or a dict of both.
        f: a path (``.npz`` format unless it ends in ``.safetensors``) or a binary file object.

    Raises:
        TypeError: ``obj`` holds something that cannot be stored without pickle.

    Example::

        >>> cr.save({"model": model.state_dict(), "epoch": 3}, "ckpt.npz")
    """
    arrays = {}
    meta = {"format": _FORMAT, "root": _encode(obj, [], arrays)}
    text = json.dumps(meta, allow_nan=True)
    if isinstance(f, (str, os.PathLike)) and os.fspath(f).endswith(".safetensors"):
        try:
            from safetensors.numpy import save as st_save
        except ImportError:
            raise ImportError("cr.save: a .safetensors path needs the safetensors package "
                              "(pip install safetensors); use a .npz path otherwise") from None
        payload = st_save(arrays, metadata={_META: text})
        atomic_write(os.fspath(f), lambda fh: fh.write(payload))
        return
    arrays[_META] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    if isinstance(f, (str, os.PathLike)):
        atomic_write(os.fspath(f), lambda fh: _write_npz(fh, arrays))
    else:
        _write_npz(f, arrays)


def _load_safetensors(path):
    try:
        from safetensors import safe_open
    except ImportError:
        raise ImportError(f"cr.load: {path!r} is a safetensors file; install the safetensors "
                          "package to read it") from None
    try:
        with safe_open(path, framework="numpy") as st:
            meta = st.metadata() or {}
            arrays = {k: st.get_tensor(k) for k in st.keys()}
    except Exception as exc:   # safetensors raises its own error types
        raise ValueError(f"cr.load: {path!r} is not a readable safetensors file ({exc})") from None
    if _META not in meta:       # a plain safetensors file: a flat dict of tensors
        from .tensor import _new
        return {k: _new(v, False, None) for k, v in arrays.items()}
    try:
        return json.loads(meta[_META]), arrays
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"cr.load: {path!r} has malformed metadata ({exc})") from None


_NOT_TORCH = object()


def _try_torch(f, name):
    """The object in a PyTorch file at ``f``, or ``_NOT_TORCH`` when ``f`` is not one."""
    from . import torchfile
    if isinstance(f, (str, os.PathLike)):
        if not os.path.isfile(name):
            return _NOT_TORCH
        with open(name, "rb") as fh:
            return _try_torch(fh, name)
    if not (hasattr(f, "seek") and hasattr(f, "read")):
        return _NOT_TORCH
    start = f.tell()
    head = f.read(4)
    f.seek(start)
    if not isinstance(head, bytes):
        return _NOT_TORCH
    try:
        if head.startswith(b"PK"):
            zf = torchfile.open_zip(f)
            prefix = torchfile.is_torch_zip(zf) if zf is not None else None
            if prefix is None:
                f.seek(start)
                return _NOT_TORCH
            return torchfile.load_torch_zip(zf, prefix, name)
        if torchfile.is_torch_legacy(head):
            return torchfile.load_torch_legacy(f, name)
    except ValueError:            # UnsafeFileError and the reader's own messages
        raise
    except (pickle.UnpicklingError, EOFError, zipfile.BadZipFile, struct.error, OSError,
            KeyError, TypeError, IndexError, AttributeError, RecursionError, MemoryError,
            UnicodeDecodeError, NotImplementedError, OverflowError) as exc:
        raise ValueError(f"cr.load: {name!r} looks like a PyTorch file but could not be read "
                         f"({type(exc).__name__}: {exc})") from None
    f.seek(start)
    return _NOT_TORCH


def load(f, map_location=None, weights_only=True, mmap=None):
    """Load what :func:`save` wrote, or a PyTorch ``.pt``/``.pth`` file, or a safetensors file;
    tensors come back as tensors without ``requires_grad``.

    PyTorch files (both ``torch.save`` layouts) are read by a restricted unpickler that admits
    only tensors, storages, ``OrderedDict`` and plain containers and never runs code from the
    file (see :mod:`chainrule.torchfile`); torch need not be installed.

    Arguments:
        f: a path or a binary file object.
        map_location: a device (only the CPU exists), or ``None``.
        weights_only, mmap: accepted for PyTorch compatibility; loading is always weights-only.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is not a checkpoint (corrupt, truncated, another format,
            malformed metadata, or arrays declaring more bytes than they hold or than the
            machine's memory), or a PyTorch file names something other than tensors and
            containers (a pickled module).  These two (and ``IsADirectoryError``, an ``OSError``
            such as ``PermissionError`` from opening the file, and ``ImportError`` for a
            .safetensors file without the package) are the only exceptions it raises.

    Example::

        >>> model.load_state_dict(cr.load("model.npz"))
    """
    name = os.fspath(f) if isinstance(f, (str, os.PathLike)) else getattr(f, "name", "<file>")
    if map_location is not None and not callable(map_location) and \
            not isinstance(map_location, dict):
        from .devices import placement
        placement(map_location, "cr.load(map_location=)")
    torch_obj = _try_torch(f, name)
    if torch_obj is not _NOT_TORCH:
        return torch_obj
    if isinstance(f, (str, os.PathLike)):
        if not os.path.exists(name):
            raise FileNotFoundError(f"cr.load: no such file: {name!r}")
        if os.path.isdir(name):
            raise IsADirectoryError(f"cr.load: {name!r} is a directory, not a checkpoint file")
        with open(name, "rb") as fh:
            magic = fh.read(4)
        if not magic.startswith(b"PK"):
            if name.endswith(".safetensors"):
                out = _load_safetensors(name)
                if isinstance(out, dict):
                    return out
                meta_text, arrays = out
                return _decode_root(meta_text, arrays, name)
            raise ValueError(f"cr.load: {name!r} is not a chainrule checkpoint (expected an .npz "
                             f"archive written by cr.save; the file starts with {magic!r})")
    if isinstance(f, (str, os.PathLike)):
        peek(name)                  # sizes checked before anything is decompressed
    try:
        with np.load(f, allow_pickle=False) as z:
            if _META not in z.files:
                raise ValueError(f"cr.load: {name!r} is an .npz archive but not one written by "
                                 f"cr.save (no {_META!r} entry)")
            arrays = {k: z[k] for k in z.files}
            bad = [k for k, v in arrays.items() if not isinstance(v, np.ndarray)]
            if bad:   # np.load hands back raw bytes for a member that is not an .npy array
                raise ValueError(f"cr.load: {name!r} is corrupt: entry {bad[0]!r} is not an "
                                 "array")
            meta = json.loads(arrays.pop(_META).tobytes().decode("utf-8"))
    except (zipfile.BadZipFile, EOFError, OSError, KeyError, UnicodeDecodeError,
            json.JSONDecodeError, RecursionError, TypeError, MemoryError,
            NotImplementedError, SyntaxError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(f"cr.load: {name!r} is corrupt or truncated "
                         f"({type(exc).__name__}: {exc})") from None
    except ValueError as exc:
        if str(exc).startswith("cr.load"):
            raise
        raise ValueError(f"cr.load: {name!r} could not be read safely ({exc})") from None
    return _decode_root(meta, arrays, name)


def _decode_root(meta, arrays, name):
    if not isinstance(meta, dict) or meta.get("format") != _FORMAT or "root" not in meta:
        raise ValueError(f"cr.load: {name!r} has an unknown format tag "
                         f"{meta.get('format') if isinstance(meta, dict) else meta!r}"[:300])
    try:
        return _decode(meta["root"], arrays)
    except (ValueError, KeyError, TypeError, IndexError, AttributeError, RecursionError) as exc:
        raise ValueError(f"cr.load: {name!r} has malformed metadata "
                         f"({type(exc).__name__}: {exc})"[:500]) from None
