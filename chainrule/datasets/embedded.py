"""The 8x8 handwritten digits, shipped inside the package (no download needed).

Origin: "Optical Recognition of Handwritten Digits" (optdigits) from the UCI
Machine Learning Repository, by E. Alpaydin and C. Kaynak (1998),
https://archive.ics.uci.edu/dataset/80/optical+recognition+of+handwritten+digits,
licensed under CC BY 4.0. The copy stored in
``chainrule/datasets/data/digits.npz`` was produced once from the copy bundled
with scikit-learn (``sklearn.datasets.load_digits``: the 1,797 test-set
samples); scikit-learn is not needed at run time.

Each image is 8x8 with integer values 0..16 (counts of set pixels in 4x4
blocks of the original 32x32 bitmaps); there are 10 classes, ~180 per class.
The file holds ``images`` (uint8, (1797, 8, 8)) and ``labels`` (int64, (1797,)).

Example:
    >>> X, y = load_digits()
    >>> X.shape, X.dtype, y.dtype
    ((1797, 64), dtype('float32'), dtype('int64'))
"""

from __future__ import annotations

import os

import numpy as np

__all__ = ["load_digits", "DIGITS_PATH"]

DIGITS_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "digits.npz")
_N, _MAX = 1797, 16


def load_digits(flatten: bool = True, dtype=np.float32, normalize: bool = True):
    """Return the embedded 8x8 digits as ``(X, y)`` numpy arrays.

    Arguments:
        flatten: ``True`` -> ``X`` has shape ``(1797, 64)``;
            ``False`` -> ``(1797, 1, 8, 8)`` (NCHW, ready for a conv net).
        dtype: floating dtype of ``X`` (default ``np.float32``).
        normalize: divide by 16 so that ``X`` lies in ``[0, 1]``; ``False``
            keeps the original 0..16 values (still cast to ``dtype``).

    Returns:
        ``(X, y)`` with ``y`` int64 labels 0..9 of shape ``(1797,)``.

    Example:
        >>> X, y = load_digits(flatten=False)
        >>> X.shape, float(X.max()), int(y[0])
        ((1797, 1, 8, 8), 1.0, 0)
    """
    with np.load(DIGITS_PATH, allow_pickle=False) as data:
        images = data["images"]
        labels = data["labels"]
    if images.shape != (_N, 8, 8) or labels.shape != (_N,):
        raise ValueError(f"embedded digits file {DIGITS_PATH!r} is corrupt: "
                         f"images {images.shape}, labels {labels.shape}")
    dtype = np.dtype(dtype)
    if normalize and dtype.kind != "f":
        raise ValueError(f"load_digits: normalize=True needs a floating dtype, got {dtype}")
    X = images.astype(dtype)
    if normalize:
        X /= X.dtype.type(_MAX)
    X = X.reshape(_N, 64) if flatten else X.reshape(_N, 1, 8, 8)
    return X, labels.astype(np.int64)
