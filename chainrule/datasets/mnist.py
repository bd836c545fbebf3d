"""MNIST loading from local IDX files, with an optional checksum-verified download.

The expected file names are the original ones (``.gz`` optional; compression
is detected from the content)::

    test : t10k-images-idx3-ubyte[.gz]   t10k-labels-idx1-ubyte[.gz]
    train: train-images-idx3-ubyte[.gz]  train-labels-idx1-ubyte[.gz]

MNIST is by Yann LeCun, Corinna Cortes and Christopher J.C. Burges.

Example:
    >>> X, y = load_mnist("/work/shared/datasets/mnist-test", split="test")  # doctest: +SKIP
    >>> X.shape, X.dtype, y.dtype                                            # doctest: +SKIP
    ((10000, 784), dtype('float32'), dtype('int64'))
"""

from __future__ import annotations

import gzip
import hashlib
import os
import urllib.error
import urllib.request

import numpy as np

from .idx import atomic_write_bytes, read_idx

__all__ = ["load_mnist", "download", "MNIST_FILES", "MNIST_CHECKSUMS", "MNIST_MIRRORS"]

#: split -> (images file, labels file), without the optional ``.gz``.
MNIST_FILES = {
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
}

#: Download mirrors, tried in order (the original yann.lecun.com host is gone).
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

#: Accepted digests per downloaded ``.gz`` file. A download is accepted when
#: any listed digest matches:
#:   ``md5``        - md5 of the .gz bytes as published (torchvision's table);
#:   ``sha256``     - sha256 of the .gz bytes of the copy in ../shared/datasets
#:                    (a re-compressed copy, so its gz digest differs from md5);
#:   ``raw_sha256`` - sha256 of the *decompressed* IDX bytes, which is
#:                    independent of how the file was gzip-compressed.
#: The test-split sha256 values were computed from /work/shared/datasets/mnist-test.
#: For the train split only the widely published md5 digests are listed.
MNIST_CHECKSUMS = {
    "t10k-images-idx3-ubyte.gz": {
        "md5": "9fb629c4189551a2d022fa330f9573f3",
        "sha256": "167310007f03058885c7e95e6c0b19c20de5c7fd3031f4cbdadc9014a523d80b",
        "raw_sha256": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    },
    "t10k-labels-idx1-ubyte.gz": {
        "md5": "ec29112dd5afa0611ce80d1b7f02629c",
        "sha256": "fc607395669ec21321ea83e4b82c0544b7e8e63ff5b34337c06bc0a17cc0da3c",
        "raw_sha256": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
    "train-images-idx3-ubyte.gz": {"md5": "f68b3c2dcbeaaa9fbdd348bbdeb94873"},
    "train-labels-idx1-ubyte.gz": {"md5": "d53e105ee54ea40749a09fcbcd1e9432"},
}


def _check_split(split: str) -> None:
    if split not in MNIST_FILES:
        raise ValueError(f"MNIST split must be 'train' or 'test', got {split!r}")


def _find(data_dir, base: str) -> str | None:
    for candidate in (base, base + ".gz"):
        path = os.path.join(os.fspath(data_dir), candidate)
        if os.path.isfile(path):
            return path
    return None


def split_files_present(data_dir, split: str) -> bool:
    """Whether any file of ``split`` (images or labels, raw or ``.gz``) is in ``data_dir``."""
    _check_split(split)
    return any(_find(data_dir, base) is not None for base in MNIST_FILES[split])


def load_mnist(data_dir, split: str = "test", flatten: bool = True,
               normalize: bool = True, download: bool = False):
    """Load one MNIST split from IDX files in ``data_dir``.

    Arguments:
        data_dir: folder holding the IDX files (``.gz`` or uncompressed).
        split: ``'test'`` (10,000 samples) or ``'train'`` (60,000 samples).
        flatten: return images as ``(N, rows*cols)``; else ``(N, 1, rows, cols)``.
        normalize: scale pixels to float32 in ``[0, 1]``; else keep ``uint8`` 0..255.
        download: fetch missing files with :func:`download` first.

    Returns:
        ``(X, y)``: ``X`` float32 (or uint8 when ``normalize=False``),
        ``y`` int64 labels of shape ``(N,)``.

    Raises:
        FileNotFoundError: a file is missing; the message lists every name tried.
        ValueError: malformed IDX file or images/labels count mismatch.

    Example:
        >>> X, y = load_mnist("data/mnist", split="test", flatten=False)  # doctest: +SKIP
        >>> X.shape                                                      # doctest: +SKIP
        (10000, 1, 28, 28)
    """
    _check_split(split)
    if download:
        _download(data_dir, split)
    paths = []
    for base in MNIST_FILES[split]:
        path = _find(data_dir, base)
        if path is None:
            raise FileNotFoundError(
                f"MNIST {split} split: neither {base!r} nor {base + '.gz'!r} found in "
                f"{os.path.abspath(os.fspath(data_dir))!r} (looked for "
                f"{', '.join(b + '[.gz]' for b in MNIST_FILES[split])}); "
                "pass download=True or call chainrule.datasets.download()"
            )
        paths.append(path)
    img_path, lbl_path = paths
    images = read_idx(img_path)
    labels = read_idx(lbl_path)
    if images.ndim != 3:
        raise ValueError(f"MNIST images file {img_path!r}: expected 3 dimensions "
                         f"(N, rows, cols), got shape {images.shape}")
    if labels.ndim != 1:
        raise ValueError(f"MNIST labels file {lbl_path!r}: expected 1 dimension (N,), "
                         f"got shape {labels.shape}")
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"MNIST {split} split: images/labels count mismatch: {img_path!r} has "
            f"{images.shape[0]} images but {lbl_path!r} has {labels.shape[0]} labels"
        )
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise ValueError(f"MNIST labels file {lbl_path!r}: labels outside 0..9 "
                         f"(min {labels.min()}, max {labels.max()})")
    n, rows, cols = images.shape
    X = images.reshape(n, rows * cols) if flatten else images.reshape(n, 1, rows, cols)
    if normalize:
        X = X.astype(np.float32) / np.float32(255.0)
    return X, labels.astype(np.int64)


def _verify(name: str, payload: bytes, checksums) -> None:
    """Raise ValueError unless ``payload`` matches one of the known digests."""
    known = checksums.get(name)
    if not known:
        return  # nothing published for this file: verification skipped
    if isinstance(known, str):
        known = {"sha256": known}
    got = {
        "md5": hashlib.md5(payload).hexdigest(),
        "sha256": hashlib.sha256(payload).hexdigest(),
    }
    if any(got[k] == v.lower() for k, v in known.items() if k in got):
        return
    if "raw_sha256" in known and payload[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(payload)
        except (EOFError, OSError):
            raw = b""
        if hashlib.sha256(raw).hexdigest() == known["raw_sha256"].lower():
            return
    raise ValueError(
        f"checksum mismatch for downloaded {name!r}: got sha256 {got['sha256']}, "
        f"md5 {got['md5']}; expected one of {known}"
    )


def download(data_dir, split: str = "test", mirrors=MNIST_MIRRORS,
             checksums=None, timeout: float = 30.0, force: bool = False) -> list[str]:
    """Download the ``.gz`` files of one MNIST split into ``data_dir``.

    Each file is fetched with ``urllib``, checked against :data:`MNIST_CHECKSUMS`
    and written atomically (temp file + ``os.replace``), so an interrupted or
    corrupt download never leaves a file under the final name. Files already
    present (raw or ``.gz``) are kept unless ``force=True``.

    Arguments:
        data_dir: destination folder (created if needed).
        split: ``'test'`` or ``'train'``.
        mirrors: base URLs tried in order (any urllib scheme, ``file://`` too).
        checksums: ``{file name: digests}`` overriding :data:`MNIST_CHECKSUMS`;
            a digest may be a dict (``md5``/``sha256``/``raw_sha256``) or a
            sha256 hex string. A file without an entry is not verified.
        timeout: seconds per request.
        force: download even when a file is present.

    Returns:
        List of the paths of the split's files in ``data_dir``.

    Raises:
        ConnectionError: no mirror could be reached (e.g. offline); lists the URLs.
        ValueError: a checksum did not match on any mirror.

    Example:
        >>> download("data/mnist", split="test")  # doctest: +SKIP
    """
    _check_split(split)
    checksums = MNIST_CHECKSUMS if checksums is None else checksums
    os.makedirs(os.fspath(data_dir), exist_ok=True)
    out = []
    for base in MNIST_FILES[split]:
        existing = _find(data_dir, base)
        if existing is not None and not force:
            out.append(existing)
            continue
        name = base + ".gz"
        errors = []
        for mirror in mirrors:
            url = mirror.rstrip("/") + "/" + name
            try:
                with urllib.request.urlopen(url, timeout=timeout) as resp:
                    payload = resp.read()
                _verify(name, payload, checksums)
            except (urllib.error.URLError, OSError, ValueError) as exc:
                errors.append(f"{url}: {exc}")
                continue
            target = os.path.join(os.fspath(data_dir), name)
            atomic_write_bytes(target, payload)
            out.append(target)
            break
        else:
            detail = "; ".join(errors)
            if any("checksum mismatch" in e for e in errors):
                raise ValueError(f"MNIST download of {name!r} failed verification: {detail}")
            raise ConnectionError(
                f"could not download MNIST file {name!r} (offline or mirrors unreachable?). "
                f"Tried: {detail}. Copy the files into {os.fspath(data_dir)!r} by hand instead."
            )
    return out


_download = download  # load_mnist's ``download`` argument shadows the name
