"""Tests for chainrule.datasets (IDX I/O, MNIST loader, embedded digits, synthetic sets)."""

import gzip
import hashlib
import os
import pathlib

import numpy as np
import pytest

from chainrule.datasets import (
    DIGITS_PATH, MNIST_CHECKSUMS, download, load_digits, load_mnist, make_blobs,
    make_moons, make_spirals, make_xor, read_idx, train_test_split, write_idx,
)
from chainrule.datasets import idx as idx_module

SHARED_MNIST = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "datasets", "mnist-test")


# --------------------------------------------------------------------------- IDX
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
def test_idx_round_trip(tmp_path, dtype, name):
    rng = np.random.default_rng(1)
    arr = (rng.normal(size=(3, 4, 5)) * 50).astype(dtype)
    path = tmp_path / name
    write_idx(path, arr)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.shape == (3, 4, 5)
    np.testing.assert_array_equal(back, arr)
    head = path.read_bytes()[:2]
    assert (head == b"\x1f\x8b") == name.endswith(".gz")


def test_idx_header_bytes(tmp_path):
    path = tmp_path / "x"
    write_idx(path, np.arange(6, dtype=np.uint8).reshape(2, 3))
    data = path.read_bytes()
    assert data[:4] == bytes([0, 0, 0x08, 2])
    assert data[4:12] == (2).to_bytes(4, "big") + (3).to_bytes(4, "big")
    assert data[12:] == bytes(range(6))
    write_idx(path, np.array([1, -2], dtype=np.int32))
    assert path.read_bytes() == bytes([0, 0, 0x0C, 1, 0, 0, 0, 2]) + b"\x00\x00\x00\x01\xff\xff\xff\xfe"


def test_gzip_detected_by_content_not_extension(tmp_path):
    arr = np.arange(10, dtype=np.uint8)
    gz_no_ext = tmp_path / "labels-idx1-ubyte"
    raw_with_ext = tmp_path / "labels-idx1-ubyte.gz"
    write_idx(gz_no_ext, arr, compress=True)
    write_idx(raw_with_ext, arr, compress=False)
    assert gz_no_ext.read_bytes()[:2] == b"\x1f\x8b"
    assert raw_with_ext.read_bytes()[:2] == b"\x00\x00"
    np.testing.assert_array_equal(read_idx(gz_no_ext), arr)
    np.testing.assert_array_equal(read_idx(raw_with_ext), arr)


def test_truncated_raw_payload(tmp_path):
    path = tmp_path / "imgs-idx3-ubyte"
    write_idx(path, np.zeros((4, 2, 2), np.uint8))
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(ValueError, match=r"imgs-idx3-ubyte.*truncated.*need 16 bytes.*has 13"):
        read_idx(path)


def test_truncated_header_and_trailing_data(tmp_path):
    path = tmp_path / "h"
    path.write_bytes(bytes([0, 0, 8, 3, 0, 0, 0, 4]))  # 3 dims declared, only 1 given
    with pytest.raises(ValueError, match=r"'.*h'.*truncated header"):
        read_idx(path)
    path.write_bytes(b"\x00\x00")
    with pytest.raises(ValueError, match="truncated header"):
        read_idx(path)
    write_idx(path, np.zeros(3, np.uint8))
    path.write_bytes(path.read_bytes() + b"\x07")
    with pytest.raises(ValueError, match="trailing data"):
        read_idx(path)


def test_truncated_gzip_stream(tmp_path):
    path = tmp_path / "t.gz"
    write_idx(path, np.random.default_rng(0).integers(0, 255, (50, 28, 28), dtype=np.uint8))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"t\.gz.*gzip"):
        read_idx(path)


def test_truncated_payload_inside_valid_gzip(tmp_path):
    path = tmp_path / "short.gz"
    raw = bytes([0, 0, 8, 1, 0, 0, 0, 10]) + bytes(range(7))
    path.write_bytes(gzip.compress(raw))
    with pytest.raises(ValueError, match=r"short\.gz.*truncated.*need 10 bytes.*has 7"):
        read_idx(path)


def test_wrong_magic_and_dtype_code(tmp_path):
    path = tmp_path / "bad"
    path.write_bytes(bytes([0x12, 0x34, 8, 1, 0, 0, 0, 1, 5]))
    with pytest.raises(ValueError, match=r"bad.*wrong magic number 0x12340801"):
        read_idx(path)
    path.write_bytes(bytes([0, 0, 0x0A, 1, 0, 0, 0, 1, 5]))
    with pytest.raises(ValueError, match="unknown dtype code 0x0A"):
        read_idx(path)


def test_write_idx_rejects_int64_and_is_atomic(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="int64"):
        write_idx(tmp_path / "x", np.zeros(3, np.int64))
    path = tmp_path / "keep"
    write_idx(path, np.array([1, 2, 3], np.uint8))
    before = path.read_bytes()

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(idx_module.os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        write_idx(path, np.array([9, 9], np.uint8))
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["keep"]  # no temp file left behind


# --------------------------------------------------------------------------- MNIST
def _fake_mnist(folder, split="test", n=6, gz=True, n_labels=None):
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = (np.arange(n if n_labels is None else n_labels) % 10).astype(np.uint8)
    prefix = "t10k" if split == "test" else "train"
    ext = ".gz" if gz else ""
    write_idx(folder / f"{prefix}-images-idx3-ubyte{ext}", images)
    write_idx(folder / f"{prefix}-labels-idx1-ubyte{ext}", labels)
    return images, labels


@pytest.mark.parametrize("split,gz", [("test", True), ("train", False)])
def test_load_mnist_from_small_files(tmp_path, split, gz):
    images, labels = _fake_mnist(tmp_path, split, gz=gz)
    X, y = load_mnist(tmp_path, split=split)
    assert X.shape == (6, 784) and X.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_allclose(X, images.reshape(6, -1) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y, labels)
    assert X.min() >= 0.0 and X.max() <= 1.0
    X4, _ = load_mnist(tmp_path, split=split, flatten=False, normalize=False)
    assert X4.shape == (6, 1, 28, 28) and X4.dtype == np.uint8
    np.testing.assert_array_equal(X4[:, 0], images)


def test_load_mnist_count_mismatch(tmp_path):
    _fake_mnist(tmp_path, n=6, n_labels=5)
    with pytest.raises(ValueError, match=r"count mismatch.*6 images.*5 labels"):
        load_mnist(tmp_path)


def test_load_mnist_bad_label_file_shape_and_range(tmp_path):
    _fake_mnist(tmp_path, n=3)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.array([1, 2, 12], np.uint8))
    with pytest.raises(ValueError, match="outside 0..9"):
        load_mnist(tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros((3, 1), np.uint8))
    with pytest.raises(ValueError, match=r"expected 1 dimension.*\(3, 1\)"):
        load_mnist(tmp_path)


def test_load_mnist_missing_files_and_bad_split(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"train-images-idx3-ubyte\[\.gz\].*train-labels"):
        load_mnist(tmp_path, split="train")
    _fake_mnist(tmp_path, "test")
    os.remove(tmp_path / "t10k-labels-idx1-ubyte.gz")
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte"):
        load_mnist(tmp_path, split="test")
    with pytest.raises(ValueError, match="'train' or 'test'"):
        load_mnist(tmp_path, split="valid")


def test_download_verifies_checksum_and_writes_atomically(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    _fake_mnist(mirror, "test")
    sums = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in mirror.iterdir()}
    url = mirror.as_uri() + "/"
    dest = tmp_path / "dest"
    paths = download(dest, "test", mirrors=[url], checksums=sums)
    assert sorted(os.path.basename(p) for p in paths) == sorted(sums)
    assert sorted(os.listdir(dest)) == sorted(sums)
    X, y = load_mnist(dest)
    assert X.shape == (6, 784)

    bad = dict(sums, **{"t10k-images-idx3-ubyte.gz": "0" * 64})
    dest2 = tmp_path / "dest2"
    with pytest.raises(ValueError, match="checksum mismatch"):
        download(dest2, "test", mirrors=[url], checksums=bad)
    assert "t10k-images-idx3-ubyte.gz" not in os.listdir(dest2)
    assert not [f for f in os.listdir(dest2) if f.startswith(".tmp")]


def test_download_unreachable_mirror_gives_clear_error(tmp_path):
    missing = (tmp_path / "nowhere").as_uri() + "/"
    with pytest.raises(ConnectionError, match=r"could not download MNIST file 't10k-images"):
        download(tmp_path / "d", "test", mirrors=[missing])


def test_download_skips_present_files(tmp_path):
    _fake_mnist(tmp_path, "train", gz=False)
    paths = download(tmp_path, "train", mirrors=["http://127.0.0.1:9/"], timeout=1)
    assert [os.path.basename(p) for p in paths] == ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"]


@pytest.mark.skipif(not os.path.isdir(SHARED_MNIST), reason="../shared MNIST test set not present")
def test_real_mnist_test_split_and_checksum_table(tmp_path):
    X, y = load_mnist(SHARED_MNIST, split="test")
    assert X.shape == (10000, 784) and X.dtype == np.float32
    assert float(X.min()) == 0.0 and float(X.max()) == 1.0
    assert np.bincount(y).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert y[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    # the built-in checksum table accepts the shared copy
    download(tmp_path, "test", mirrors=[pathlib.Path(SHARED_MNIST).resolve().as_uri() + "/"])
    assert sorted(os.listdir(tmp_path)) == sorted(k for k in MNIST_CHECKSUMS if k.startswith("t10k"))


# --------------------------------------------------------------------------- digits
def test_embedded_digits():
    X, y = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64
    assert float(X.min()) == 0.0 and float(X.max()) == 1.0
    assert np.bincount(y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    assert y[:10].tolist() == list(range(10))
    np.testing.assert_array_equal(X * 16, np.round(X * 16))  # 17 grey levels
    X4, _ = load_digits(flatten=False, dtype=np.float64, normalize=False)
    assert X4.shape == (1797, 1, 8, 8) and X4.dtype == np.float64 and X4.max() == 16.0
    np.testing.assert_allclose(X4.reshape(1797, 64) / 16, X, rtol=1e-6)
    assert os.path.getsize(DIGITS_PATH) < 100_000
    with pytest.raises(ValueError, match="floating dtype"):
        load_digits(dtype=np.int32)


def test_embedded_digits_match_sklearn():
    sk = pytest.importorskip("sklearn.datasets")
    ref = sk.load_digits()
    X, y = load_digits(dtype=np.float64, normalize=False)
    np.testing.assert_array_equal(X, ref.data)
    np.testing.assert_array_equal(y, ref.target)


# --------------------------------------------------------------------------- synthetic
GENERATORS = [
    (make_xor, {}, 2),
    (make_moons, {}, 2),
    (make_spirals, {"n_classes": 2}, 2),
    (make_spirals, {"n_classes": 3}, 3),
    (make_blobs, {"centers": 4}, 4),
]


@pytest.mark.parametrize("fn,kw,k", GENERATORS)
def test_synthetic_shapes_and_determinism(fn, kw, k):
    X, y = fn(120, seed=7, **kw)
    assert X.shape == (120, 2) and X.dtype == np.float32
    assert y.shape == (120,) and y.dtype == np.int64
    assert np.bincount(y).tolist() == [120 // k + (i < 120 % k) for i in range(k)]
    X2, y2 = fn(120, seed=7, **kw)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    X3, _ = fn(120, seed=8, **kw)
    assert not np.array_equal(X, X3)
    Xg, yg = fn(120, generator=np.random.default_rng(7), **kw)
    np.testing.assert_array_equal(X, Xg)
    np.testing.assert_array_equal(y, yg)


def test_xor_truth_table_and_labels():
    X, y = make_xor(4, noise=0.0, shuffle=False)
    assert X.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]] and y.tolist() == [0, 1, 1, 0]
    X, y = make_xor(400, noise=0.05, seed=1)
    corner = np.round(X).astype(int)
    np.testing.assert_array_equal(y, corner[:, 0] ^ corner[:, 1])


def test_moons_and_spirals_geometry_without_noise():
    X, y = make_moons(50, noise=0.0)
    np.testing.assert_allclose(np.hypot(X[y == 0, 0], X[y == 0, 1]), 1.0, atol=1e-6)
    np.testing.assert_allclose(np.hypot(X[y == 1, 0] - 1, X[y == 1, 1] - 0.5), 1.0, atol=1e-6)
    X, y = make_spirals(90, n_classes=3, noise=0.0, shuffle=False)
    r = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(r[:30], np.linspace(0, 1, 30), atol=1e-6)
    assert y.tolist() == [0] * 30 + [1] * 30 + [2] * 30


def test_blobs_centers_and_std():
    centers = np.array([[0.0, 0.0], [10.0, 0.0]])
    X, y = make_blobs(4000, centers=centers, cluster_std=[0.5, 2.0], seed=2)
    for c in range(2):
        np.testing.assert_allclose(X[y == c].mean(0), centers[c], atol=0.15)
    np.testing.assert_allclose(X[y == 0].std(0), 0.5, rtol=0.1)
    np.testing.assert_allclose(X[y == 1].std(0), 2.0, rtol=0.1)


def test_synthetic_bad_arguments():
    with pytest.raises(ValueError, match="n_samples"):
        make_moons(0)
    with pytest.raises(ValueError, match="noise"):
        make_xor(10, noise=-1)
    with pytest.raises(ValueError, match="n_classes"):
        make_spirals(10, n_classes=1)
    with pytest.raises(ValueError, match=r"shape \(k, 2\)"):
        make_blobs(10, centers=np.zeros((2, 3)))
    with pytest.raises(TypeError, match="Generator"):
        make_moons(10, generator=42)


# --------------------------------------------------------------------------- split
def test_train_test_split_stratified():
    X, y = load_digits()
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, seed=0)
    assert len(yte) == 360 and len(ytr) == 1437
    counts, test_counts = np.bincount(y), np.bincount(yte, minlength=10)
    assert np.all(np.abs(test_counts - counts * 0.2) < 1)
    # largest-remainder rounding of counts * 0.2 (fractions .8,.8,.6,.6,.4 get the 5 extras)
    assert test_counts.tolist() == [36, 37, 35, 37, 36, 36, 36, 36, 35, 36]
    assert test_counts.sum() == 360
    rows = {r.tobytes() for r in Xtr} | {r.tobytes() for r in Xte}
    assert len(rows) == len({r.tobytes() for r in X})  # train and test cover the data
    again = train_test_split(X, y, test_size=0.2, seed=0)
    np.testing.assert_array_equal(again[1], Xte)
    other = train_test_split(X, y, test_size=0.2, seed=1)
    assert not np.array_equal(other[1], Xte)


def test_train_test_split_plain_and_errors():
    X = np.arange(20).reshape(10, 2)
    y = np.arange(10)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=3, stratify=False, seed=0)
    assert sorted(ytr.tolist() + yte.tolist()) == list(range(10)) and len(yte) == 3
    np.testing.assert_array_equal(Xte[:, 0] // 2, yte)
    _, Xte, _, yte = train_test_split(X, y, test_size=0.3, stratify=False, shuffle=False)
    assert yte.tolist() == [7, 8, 9]
    with pytest.raises(ValueError, match="same number of rows"):
        train_test_split(X, y[:5])
    with pytest.raises(ValueError, match="non-empty"):
        train_test_split(X, y, test_size=10)
    with pytest.raises(ValueError, match=r"\(0, 1\)"):
        train_test_split(X, y, test_size=1.5)
