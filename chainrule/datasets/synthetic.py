"""Small synthetic 2-D classification sets (XOR, moons, spirals, blobs) and a
deterministic, optionally stratified train/test split.

Every generator returns ``(X, y)`` with ``X`` float32 of shape ``(N, 2)`` and
``y`` int64 of shape ``(N,)``, and is deterministic given ``seed`` (an int fed
to ``np.random.default_rng``) or an explicit ``generator=np.random.Generator``
(which then takes precedence and is advanced).

Example:
    >>> X, y = make_moons(100, noise=0.1, seed=0)
    >>> X.shape, X.dtype, sorted(set(y.tolist()))
    ((100, 2), dtype('float32'), [0, 1])
"""

from __future__ import annotations

import numpy as np

__all__ = ["make_xor", "make_moons", "make_spirals", "make_blobs", "train_test_split"]


def _rng(seed, generator) -> np.random.Generator:
    if generator is not None:
        if not isinstance(generator, np.random.Generator):
            raise TypeError(f"generator must be a numpy.random.Generator, got {type(generator).__name__}")
        return generator
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def _check_n(name: str, n_samples, minimum: int = 1) -> int:
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < minimum:
        raise ValueError(f"{name}: n_samples must be an int >= {minimum}, got {n_samples!r}")
    return int(n_samples)


def _check_noise(name: str, noise) -> float:
    if not np.isfinite(noise) or noise < 0:
        raise ValueError(f"{name}: noise must be a finite number >= 0, got {noise!r}")
    return float(noise)


def _split_counts(n: int, k: int) -> np.ndarray:
    """``n`` items over ``k`` groups as evenly as possible (first groups get the extra)."""
    return np.full(k, n // k) + (np.arange(k) < n % k)


def _finish(X, y, rng, shuffle: bool):
    if shuffle:
        perm = rng.permutation(len(y))
        X, y = X[perm], y[perm]
    return np.ascontiguousarray(X, dtype=np.float32), np.ascontiguousarray(y, dtype=np.int64)


def make_xor(n_samples: int = 200, noise: float = 0.1, seed=0, generator=None, shuffle: bool = True):
    """The XOR problem: the corners of the unit square with label ``x0 xor x1``.

    Corners are used in turn (balanced classes) and jittered with Gaussian
    noise of standard deviation ``noise``; the label is that of the corner.

    Arguments:
        n_samples: number of points (``4`` with ``noise=0, shuffle=False`` is
            the truth table (0,0)->0, (0,1)->1, (1,0)->1, (1,1)->0).
        noise: standard deviation of the Gaussian jitter.
        seed: int seed (or Generator) for ``np.random.default_rng``.
        generator: optional ``np.random.Generator`` overriding ``seed``.
        shuffle: shuffle the sample order.

    Returns:
        ``(X float32 (N, 2), y int64 (N,))`` with labels in {0, 1}.

    Example:
        >>> X, y = make_xor(4, noise=0.0, shuffle=False)
        >>> y.tolist()
        [0, 1, 1, 0]
    """
    n = _check_n("make_xor", n_samples)
    noise = _check_noise("make_xor", noise)
    rng = _rng(seed, generator)
    corners = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    idx = np.arange(n) % 4
    X = corners[idx] + rng.normal(0.0, noise, size=(n, 2))
    y = np.array([0, 1, 1, 0])[idx]
    return _finish(X, y, rng, shuffle)


def make_moons(n_samples: int = 200, noise: float = 0.1, seed=0, generator=None, shuffle: bool = True):
    """Two interleaving half circles (class 0 on top, class 1 below, shifted).

    Arguments:
        n_samples: number of points (``n // 2`` in class 0, the rest in class 1).
        noise: standard deviation of Gaussian noise added to the coordinates.
        seed, generator, shuffle: see :func:`make_xor`.

    Returns:
        ``(X float32 (N, 2), y int64 (N,))`` with labels in {0, 1}.

    Example:
        >>> X, y = make_moons(10, noise=0.0)
        >>> int((y == 0).sum()), int((y == 1).sum())
        (5, 5)
    """
    n = _check_n("make_moons", n_samples, 2)
    noise = _check_noise("make_moons", noise)
    rng = _rng(seed, generator)
    n_out = n // 2
    n_in = n - n_out
    t_out = np.linspace(0.0, np.pi, n_out)
    t_in = np.linspace(0.0, np.pi, n_in)
    X = np.concatenate([
        np.stack([np.cos(t_out), np.sin(t_out)], axis=1),
        np.stack([1.0 - np.cos(t_in), 0.5 - np.sin(t_in)], axis=1),
    ])
    y = np.concatenate([np.zeros(n_out, np.int64), np.ones(n_in, np.int64)])
    X = X + rng.normal(0.0, noise, size=X.shape)
    return _finish(X, y, rng, shuffle)


def make_spirals(n_samples: int = 300, n_classes: int = 2, noise: float = 0.05,
                 turns: float = 1.0, seed=0, generator=None, shuffle: bool = True):
    """Interleaved Archimedean spiral arms, one per class.

    Arm ``k`` has radius ``r`` growing linearly from 0 to 1 and angle
    ``2*pi*(turns*r + k/n_classes)``; Gaussian noise of standard deviation
    ``noise`` is added to the coordinates.

    Arguments:
        n_samples: total number of points, split as evenly as possible.
        n_classes: number of arms / classes (>= 2; 2 and 3 are the classics).
        noise: coordinate noise standard deviation.
        turns: number of full turns of each arm.
        seed, generator, shuffle: see :func:`make_xor`.

    Returns:
        ``(X float32 (N, 2), y int64 (N,))`` with labels ``0..n_classes-1``.

    Example:
        >>> X, y = make_spirals(300, n_classes=3, seed=1)
        >>> X.shape, sorted(set(y.tolist()))
        ((300, 2), [0, 1, 2])
    """
    if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) or n_classes < 2:
        raise ValueError(f"make_spirals: n_classes must be an int >= 2, got {n_classes!r}")
    n = _check_n("make_spirals", n_samples, int(n_classes))
    noise = _check_noise("make_spirals", noise)
    rng = _rng(seed, generator)
    Xs, ys = [], []
    for k, n_k in enumerate(_split_counts(n, int(n_classes))):
        r = np.linspace(0.0, 1.0, int(n_k))
        theta = 2.0 * np.pi * (turns * r + k / n_classes)
        Xs.append(np.stack([r * np.sin(theta), r * np.cos(theta)], axis=1))
        ys.append(np.full(int(n_k), k, np.int64))
    X = np.concatenate(Xs)
    X = X + rng.normal(0.0, noise, size=X.shape)
    return _finish(X, np.concatenate(ys), rng, shuffle)


def make_blobs(n_samples: int = 200, centers=3, cluster_std=1.0, center_box=(-10.0, 10.0),
               seed=0, generator=None, shuffle: bool = True):
    """Isotropic Gaussian blobs, one per center (balanced classes).

    Arguments:
        n_samples: total number of points, split as evenly as possible.
        centers: number of centers (drawn uniformly in ``center_box`` squared)
            or an array of shape ``(k, 2)`` with the centers themselves.
        cluster_std: standard deviation, a scalar or one value per center.
        center_box: ``(low, high)`` range for random centers.
        seed, generator, shuffle: see :func:`make_xor`.

    Returns:
        ``(X float32 (N, 2), y int64 (N,))`` with labels ``0..k-1``.

    Example:
        >>> X, y = make_blobs(90, centers=[[0, 0], [5, 5], [-5, 5]], cluster_std=0.5)
        >>> np.bincount(y).tolist()
        [30, 30, 30]
    """
    rng = _rng(seed, generator)
    if np.ndim(centers) == 0:
        k = int(centers)
        if k < 1:
            raise ValueError(f"make_blobs: centers must be >= 1, got {centers!r}")
        C = rng.uniform(center_box[0], center_box[1], size=(k, 2))
    else:
        C = np.asarray(centers, dtype=np.float64)
        if C.ndim != 2 or C.shape[1] != 2 or C.shape[0] < 1:
            raise ValueError(f"make_blobs: centers array must have shape (k, 2), got {C.shape}")
        k = C.shape[0]
    std = np.broadcast_to(np.asarray(cluster_std, dtype=np.float64), (k,))
    if np.any(std < 0):
        raise ValueError(f"make_blobs: cluster_std must be >= 0, got {cluster_std!r}")
    n = _check_n("make_blobs", n_samples, k)
    counts = _split_counts(n, k)
    y = np.repeat(np.arange(k), counts)
    X = C[y] + rng.normal(size=(n, 2)) * std[y, None]
    return _finish(X, y, rng, shuffle)


def train_test_split(X, y, test_size=0.2, seed=0, stratify: bool = True,
                     generator=None, shuffle: bool = True):
    """Deterministic (optionally stratified) train/test split.

    With ``stratify=True`` each class contributes to the test set in proportion
    to its frequency (largest-remainder rounding, so the total is exact).

    Arguments:
        X: array with ``N`` rows (any trailing shape).
        y: labels of shape ``(N,)``.
        test_size: fraction in ``(0, 1)`` (the count is ``ceil(fraction * N)``)
            or an int number of test samples.
        seed, generator: randomness, as in :func:`make_xor`.
        stratify: keep class proportions in both parts.
        shuffle: shuffle before splitting (``False``: the last rows are the test set;
            only allowed with ``stratify=False``).

    Returns:
        ``(X_train, X_test, y_train, y_test)``.

    Example:
        >>> X, y = make_blobs(100, centers=2)
        >>> Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, seed=0)
        >>> len(Xte), np.bincount(yte).tolist()
        (20, [10, 10])
    """
    X = np.asarray(X)
    y = np.asarray(y)
    if y.ndim != 1 or X.ndim < 1 or X.shape[0] != y.shape[0]:
        raise ValueError(f"train_test_split: X and y must have the same number of rows "
                         f"and y must be 1-D; got X {X.shape}, y {y.shape}")
    n = y.shape[0]
    if isinstance(test_size, (float, np.floating)):
        if not 0.0 < test_size < 1.0:
            raise ValueError(f"train_test_split: test_size fraction must be in (0, 1), got {test_size}")
        n_test = int(np.ceil(test_size * n))
    else:
        n_test = int(test_size)
    if not 0 < n_test < n:
        raise ValueError(f"train_test_split: test_size={test_size!r} gives {n_test} test samples "
                         f"out of {n}; both parts must be non-empty")
    if not shuffle:
        if stratify:
            raise ValueError("train_test_split: stratify=True requires shuffle=True")
        idx_train, idx_test = np.arange(n - n_test), np.arange(n - n_test, n)
    else:
        rng = _rng(seed, generator)
        if stratify:
            classes, inv, counts = np.unique(y, return_inverse=True, return_counts=True)
            quota = counts * (n_test / n)
            take = np.floor(quota).astype(np.int64)
            order = np.argsort(-(quota - take), kind="stable")
            take[order[: n_test - int(take.sum())]] += 1
            test_parts, train_parts = [], []
            for c in range(len(classes)):
                members = rng.permutation(np.flatnonzero(inv == c))
                test_parts.append(members[: take[c]])
                train_parts.append(members[take[c]:])
            idx_test = rng.permutation(np.concatenate(test_parts))
            idx_train = rng.permutation(np.concatenate(train_parts))
        else:
            perm = rng.permutation(n)
            idx_test, idx_train = perm[:n_test], perm[n_test:]
    return X[idx_train], X[idx_test], y[idx_train], y[idx_test]
