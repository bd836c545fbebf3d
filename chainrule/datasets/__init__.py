"""Datasets for chainrule (numpy only).

* :func:`load_digits` - the 8x8 handwritten digits shipped in the package
  (UCI optdigits, CC BY 4.0): the default dataset, no download needed.
* :func:`load_mnist` / :func:`download` - MNIST from IDX files
  (:func:`read_idx` / :func:`write_idx` handle the format, gzip or raw).
* :func:`make_xor`, :func:`make_moons`, :func:`make_spirals`,
  :func:`make_blobs` - small synthetic 2-D classification problems.
* :func:`train_test_split` - deterministic, stratified split.
* :func:`load_text` / :func:`char_windows` (a public-domain text for a character model),
  :func:`make_sine`, :func:`make_adding` - sequence data (:mod:`.sequences`).

Example:
    >>> import chainrule.datasets as ds
    >>> X, y = ds.load_digits()
    >>> Xtr, Xte, ytr, yte = ds.train_test_split(X, y, test_size=0.2, seed=0)
    >>> Xtr.shape, Xte.shape
    ((1437, 64), (360, 64))
"""

from .embedded import DIGITS_PATH, load_digits
from .idx import read_idx, write_idx
from .mnist import MNIST_CHECKSUMS, MNIST_FILES, MNIST_MIRRORS, download, load_mnist
from .sequences import TEXT_PATH, char_windows, load_text, make_adding, make_sine
from .synthetic import make_blobs, make_moons, make_spirals, make_xor, train_test_split

__all__ = [
    "load_digits", "DIGITS_PATH",
    "read_idx", "write_idx",
    "load_mnist", "download", "MNIST_FILES", "MNIST_CHECKSUMS", "MNIST_MIRRORS",
    "make_xor", "make_moons", "make_spirals", "make_blobs", "train_test_split",
    "load_text", "TEXT_PATH", "char_windows", "make_sine", "make_adding",
]
