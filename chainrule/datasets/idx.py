"""Reader and writer for the IDX binary format (the format of the MNIST files).

An IDX file is::

    bytes 0-1   zero (0x00 0x00)
    byte  2     dtype code (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                0x0D float32, 0x0E float64)
    byte  3     number of dimensions ``ndim``
    then        ``ndim`` big-endian uint32 dimension sizes
    then        the data, big-endian, C order, ``prod(dims)`` items

Files may be gzip-compressed; compression is detected from the magic bytes
``1f 8b``, never from the file extension.

Example:
    >>> import numpy as np, os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "x.idx.gz")
    >>> write_idx(path, np.arange(6, dtype=np.uint8).reshape(2, 3))
    >>> read_idx(path).tolist()
    [[0, 1, 2], [3, 4, 5]]
"""

from __future__ import annotations

import gzip
import math
import os
import zlib

import numpy as np

from ..utils.io import atomic_write

__all__ = ["read_idx", "write_idx", "IDX_DTYPES"]

#: IDX dtype code -> big-endian numpy dtype.
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODE_OF = {dt.newbyteorder("="): code for code, dt in IDX_DTYPES.items()}

_GZIP_MAGIC = b"\x1f\x8b"


def _max_bytes():
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return 2 ** 36


def _read_exactly(fh, n, name):
    try:
        return fh.read(n)
    except (EOFError, OSError, zlib.error) as exc:
        raise ValueError(f"IDX file {name!r}: gzip stream is corrupt or truncated "
                         f"({type(exc).__name__}: {exc})") from None


def read_idx(path) -> np.ndarray:
    """Read an IDX file (raw or gzip-compressed) into a numpy array.

    The header is read first and the size it declares is checked (against the file for a raw
    file, against the machine's memory for a compressed one) before the data are read, so a
    header that declares too much is refused without allocating it.

    Arguments:
        path: file path (``str`` or ``os.PathLike``).

    Returns:
        ``np.ndarray`` with the shape given by the header and a native-endian
        dtype matching the IDX dtype code (e.g. ``uint8`` for MNIST).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: bad magic number, unknown dtype code, or a payload whose
            size differs from the product of the dimensions (truncated or
            trailing data). The message names the file.

    Example:
        >>> images = read_idx("t10k-images-idx3-ubyte.gz")  # doctest: +SKIP
        >>> images.shape, images.dtype                      # doctest: +SKIP
        ((10000, 28, 28), dtype('uint8'))
    """
    name = os.fspath(path)
    with open(path, "rb") as raw:
        compressed = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        fh = gzip.GzipFile(fileobj=raw, mode="rb") if compressed else raw
        head = _read_exactly(fh, 4, name)
        if len(head) < 4:
            raise ValueError(
                f"IDX file {name!r}: truncated header ({len(head)} bytes, need at least 4)")
        if head[0] != 0 or head[1] != 0:
            raise ValueError(
                f"IDX file {name!r}: wrong magic number 0x{head.hex()} "
                "(the first two bytes must be zero)")
        code, ndim = head[2], head[3]
        if code not in IDX_DTYPES:
            known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
            raise ValueError(
                f"IDX file {name!r}: unknown dtype code 0x{code:02X} (expected one of {known})")
        header_len = 4 + 4 * ndim
        dims_raw = _read_exactly(fh, 4 * ndim, name)
        if len(dims_raw) < 4 * ndim:
            raise ValueError(
                f"IDX file {name!r}: truncated header; {ndim} dimensions need "
                f"{header_len} header bytes but the file has {4 + len(dims_raw)}")
        dims = tuple(int(d) for d in np.frombuffer(dims_raw, dtype=">u4"))
        dtype = IDX_DTYPES[code]
        expected = math.prod(dims) * dtype.itemsize      # Python ints: no overflow
        if compressed:
            limit = _max_bytes()
            if expected > limit:
                raise ValueError(
                    f"IDX file {name!r}: dims {dims} with dtype {dtype.name} declare "
                    f"{expected:,} bytes, more than this machine's memory ({limit:,} bytes)")
            payload = _read_exactly(fh, expected + 1, name)
            got = len(payload)
        else:
            got = os.fstat(raw.fileno()).st_size - header_len
            payload = raw.read(expected) if got == expected else b""
        if got != expected:
            what = "truncated" if got < expected else "has trailing data"
            raise ValueError(
                f"IDX file {name!r}: payload {what}; dims {dims} with dtype {dtype.name} "
                f"need {expected:,} bytes but the file has "
                f"{'more' if compressed and got > expected else f'{got:,}'} after the header")
    arr = np.frombuffer(payload, dtype=dtype, count=math.prod(dims))
    return arr.astype(dtype.newbyteorder("="), copy=True).reshape(dims)


def write_idx(path, array, compress: bool | None = None) -> None:
    """Write ``array`` to ``path`` in IDX format, atomically.

    The data goes to a temporary file in the same directory which then replaces
    ``path`` with ``os.replace``, so readers never see a half-written file.

    Arguments:
        path: destination path.
        array: array-like with a dtype among uint8, int8, int16, int32,
            float32, float64, and at most 255 dimensions.
        compress: gzip the output; ``None`` (default) means "if ``path`` ends
            with ``.gz``".

    Returns:
        None

    Example:
        >>> write_idx("labels-idx1-ubyte", np.array([7, 2, 1], np.uint8))  # doctest: +SKIP
    """
    arr = np.asarray(array)
    native = arr.dtype.newbyteorder("=") if arr.dtype.byteorder not in "=|" else arr.dtype
    if native not in _CODE_OF:
        raise ValueError(
            f"write_idx({os.fspath(path)!r}): dtype {arr.dtype} is not representable in "
            "IDX (use uint8, int8, int16, int32, float32 or float64)"
        )
    if arr.ndim > 255 or any(d >= 2**32 for d in arr.shape):
        raise ValueError(f"write_idx({os.fspath(path)!r}): shape {arr.shape} too large for IDX")
    code = _CODE_OF[native]
    header = bytes([0, 0, code, arr.ndim]) + np.asarray(arr.shape, dtype=">u4").tobytes()
    payload = header + np.ascontiguousarray(arr, dtype=IDX_DTYPES[code]).tobytes()
    if compress is None:
        compress = os.fspath(path).endswith(".gz")
    if compress:
        payload = gzip.compress(payload, mtime=0)
    atomic_write_bytes(path, payload)


def atomic_write_bytes(path, payload: bytes) -> None:
    """Write ``payload`` to ``path`` via a temp file in the same directory + ``os.replace``."""
    atomic_write(os.fspath(path), lambda fh: fh.write(payload))

