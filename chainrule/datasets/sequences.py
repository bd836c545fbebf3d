"""Sequence data, offline: a small public-domain text and two generated tasks.

* :func:`load_text` - about 12.8 KB of English shipped in the package
  (``data/text.txt``): the Declaration of Independence (1776), Lincoln's Gettysburg Address
  (1863) and five of Shakespeare's sonnets (1609), all in the public domain, transcribed for
  chainrule.  :func:`char_windows` turns it into next-character prediction examples.
* :func:`make_sine` - forecasting the next value of noisy sine waves of random frequency/phase.
* :func:`make_adding` - the adding problem (Hochreiter & Schmidhuber, 1997): a sequence of
  random values, two of them marked; the target is their sum.  The marks fall anywhere, so the
  model must carry information across the whole sequence (long-range memory).

Example:
    >>> text = load_text()
    >>> vocab, X, Y = char_windows(text, seq_len=64)
    >>> X.shape[1], X.dtype
    (64, dtype('int64'))
"""
from __future__ import annotations

import os

import numpy as np

__all__ = ["TEXT_PATH", "load_text", "char_windows", "make_sine", "make_adding"]

TEXT_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "text.txt")


def load_text() -> str:
    """The embedded public-domain text (see the module docstring) as one string."""
    with open(TEXT_PATH, encoding="utf-8") as fh:
        return fh.read()


def char_windows(text, seq_len=64, stride=None, vocab=None):
    """Next-character examples from ``text``.

    Arguments:
        text: the string.
        seq_len: characters per example.
        stride: step between windows (default ``seq_len // 2``).
        vocab: the characters, in index order (default: the sorted characters of ``text``).

    Returns:
        ``(vocab, X, Y)``: ``vocab`` a string, ``X`` and ``Y`` int64 arrays ``(N, seq_len)``
        with ``Y[:, t]`` the character after ``X[:, t]``.
    """
    if seq_len < 1:
        raise ValueError(f"char_windows: seq_len must be >= 1, got {seq_len}")
    vocab = "".join(sorted(set(text))) if vocab is None else vocab
    lookup = {c: i for i, c in enumerate(vocab)}
    missing = sorted(set(text) - set(lookup))
    if missing:
        raise ValueError(f"char_windows: characters {missing[:5]} are not in the vocabulary")
    ids = np.array([lookup[c] for c in text], dtype=np.int64)
    if len(ids) < seq_len + 1:
        raise ValueError(f"char_windows: the text has {len(ids)} characters, fewer than "
                         f"seq_len + 1 = {seq_len + 1}")
    stride = stride or max(1, seq_len // 2)
    starts = np.arange(0, len(ids) - seq_len, stride)
    X = np.stack([ids[s:s + seq_len] for s in starts])
    Y = np.stack([ids[s + 1:s + seq_len + 1] for s in starts])
    return vocab, X, Y


def make_sine(n_samples=2000, seq_len=50, noise=0.05, seed=0, dtype=np.float32):
    """Windows of noisy sine waves ``(n, seq_len, 1)`` and the next clean value ``(n, 1)``.

    Each sample has its own frequency (0.02-0.1 cycles per step), phase and amplitude
    (0.5-1.0); the target is the wave's noiseless value one step after the window.
    """
    rng = np.random.default_rng(seed)
    f = rng.uniform(0.02, 0.1, (n_samples, 1))
    phase = rng.uniform(0, 2 * np.pi, (n_samples, 1))
    amp = rng.uniform(0.5, 1.0, (n_samples, 1))
    t = np.arange(seq_len + 1)[None, :]
    wave = amp * np.sin(2 * np.pi * f * t + phase)
    X = wave[:, :seq_len] + noise * rng.standard_normal((n_samples, seq_len))
    return X[:, :, None].astype(dtype), wave[:, seq_len:].astype(dtype)


def make_adding(n_samples=2000, seq_len=50, seed=0, dtype=np.float32):
    """The adding problem: ``X (n, seq_len, 2)`` (value in [0, 1), marker 0/1), ``y (n, 1)``.

    One marker lies in the first half of the sequence and one in the second; ``y`` is the sum
    of the two marked values.  Always predicting 1 gives a mean squared error of about 0.167.
    """
    if seq_len < 2:
        raise ValueError(f"make_adding: seq_len must be >= 2, got {seq_len}")
    rng = np.random.default_rng(seed)
    values = rng.random((n_samples, seq_len))
    marks = np.zeros((n_samples, seq_len))
    half = seq_len // 2
    rows = np.arange(n_samples)
    a = rng.integers(0, half, n_samples)
    b = rng.integers(half, seq_len, n_samples)
    marks[rows, a] = 1
    marks[rows, b] = 1
    y = values[rows, a] + values[rows, b]
    return np.stack([values, marks], axis=-1).astype(dtype), y[:, None].astype(dtype)
