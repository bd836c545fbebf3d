"""Reading ``chainrule predict --input FILE``: a 2-D table of finite numbers, or one message.

``.npy`` files are memory-mapped first, so a header that declares more data than the file holds
is refused before anything is allocated.  A ``.csv``/``.txt`` file has a header line exactly when
one of the first line's fields is not a number (``nan`` and ``inf`` are numbers: such a row is
data, and is then refused as non-finite).
"""
from __future__ import annotations

import os

import numpy as np

__all__ = ["read_inputs"]


def _is_number(field):
    try:
        float(field)
        return True
    except ValueError:
        return False


def _read_text(path, delimiter):
    with open(path, encoding="utf-8", errors="strict") as fh:
        first = fh.readline()
    fields = [f.strip() for f in (first.split(delimiter) if delimiter else first.split())]
    skip = 1 if fields and not all(_is_number(f) for f in fields if f) else 0
    with open(path, encoding="utf-8") as fh:
        if not any(line.strip() for i, line in enumerate(fh) if i >= skip):
            return np.zeros((0, 0))
    try:
        return np.loadtxt(path, delimiter=delimiter, skiprows=skip, ndmin=2, dtype=np.float64)
    except ValueError as exc:
        raise ValueError(f"--input {path!r}: not a table of numbers ({exc})") from None


def _read_npy(path):
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError, SyntaxError, TypeError) as exc:
        raise ValueError(f"--input {path!r}: not a valid .npy file of numbers "
                         f"({type(exc).__name__}: {exc})") from None
    if not isinstance(arr, np.ndarray):
        raise ValueError(f"--input {path!r}: expected one array (.npy), got an archive")
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"--input {path!r}: expected numbers, got dtype {arr.dtype}")
    return arr


def read_inputs(path, n_features):
    """``(N, n_features)`` float32 rows from ``path``, all finite, ``N >= 1``.

    Raises:
        FileNotFoundError: no such file.
        ValueError: unknown extension, unreadable file, wrong rank or width, no rows, or
            non-finite values (the message names the rows).
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"--input {path!r}: no such file")
    if path.endswith(".npy"):
        X = _read_npy(path)
    elif path.endswith((".csv", ".txt")):
        try:
            X = _read_text(path, "," if path.endswith(".csv") else None)
        except UnicodeDecodeError:
            raise ValueError(f"--input {path!r}: not a UTF-8 text file") from None
    else:
        raise ValueError(f"--input {path!r}: expected a .npy, .csv or .txt file")
    expected = f"(N, {n_features}): one sample of {n_features} values per row"
    if X.size == 0:
        raise ValueError(f"--input {path!r}: no rows (expected shape {expected})")
    if X.ndim != 2:
        raise ValueError(f"--input {path!r}: expected shape {expected}; got shape {X.shape}")
    if X.shape[1] != n_features:
        raise ValueError(f"--input {path!r}: rows have {X.shape[1]} values but the model "
                         f"expects {n_features} (shape {expected}); got shape {X.shape}")
    if X.shape[0] == 0:
        raise ValueError(f"--input {path!r}: no rows (expected shape {expected})")
    with np.errstate(over="ignore"):
        X = np.asarray(X, dtype=np.float32)
    bad = np.flatnonzero(~np.isfinite(X).all(axis=1))
    if bad.size:
        rows = ", ".join(str(i) for i in bad[:5]) + (", ..." if bad.size > 5 else "")
        raise ValueError(f"--input {path!r}: {bad.size} row(s) hold NaN or Inf (or values too "
                         f"large for float32): rows {rows} (counted from 0)")
    return X
