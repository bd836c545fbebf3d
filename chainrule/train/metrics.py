"""Metrics for the training loop: each adds up a per-batch sum; the loop divides by the count.

A metric is an object with a ``name`` and ``batch_sum(output, target) -> float``, working on the
NumPy arrays of a batch (no graph, no tensors).  :func:`get_metric` turns names into metrics:
``'accuracy'`` (alias ``'acc'``), ``'top3_accuracy'`` / ``'top5'`` (top-k), ``'mae'``, ``'mse'``.

Accuracy reads the output the usual way: class scores ``(N, C)`` against class indices ``(N,)`` or
one-hot/probability targets ``(N, C)`` (argmax of both); a single output column ``(N,)`` or
``(N, 1)`` is binary, thresholded at 0 for logits and at 0.5 for probabilities.  Whether outputs
are logits is told by the loss (``BCEWithLogitsLoss``) or guessed from the range of the values.

Example::

    >>> acc = get_metric("accuracy")
    >>> acc.batch_sum(np.array([[2., 1.], [0., 3.]]), np.array([0, 0]))
    1.0
"""
from __future__ import annotations

import re

import numpy as np

__all__ = ["Metric", "Accuracy", "TopKAccuracy", "MeanAbsoluteError", "MeanSquaredError",
           "get_metric"]


class Metric:
    """Base class: ``batch_sum(output, target)`` returns the sum of the metric over the batch."""
    name = "metric"

    def batch_sum(self, output, target):
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r})"


class Accuracy(Metric):
    """Fraction of correct predictions (multi-class or binary, see the module docstring).

    Arguments:
        from_logits: for a single output column, whether it holds logits (threshold 0) or
            probabilities (threshold 0.5); ``None`` guesses from the values' range.
    """
    name = "accuracy"

    def __init__(self, from_logits=None):
        self.from_logits = from_logits

    def batch_sum(self, output, target):
        if output.ndim >= 2 and output.shape[-1] > 1:
            pred = output.argmax(-1)
            if target.ndim == output.ndim and target.shape[-1] == output.shape[-1]:
                target = target.argmax(-1)          # one-hot / soft targets
            if pred.shape != target.shape:
                raise ValueError(f"accuracy: output of shape {tuple(output.shape)} (class scores) "
                                 f"needs targets of shape {tuple(output.shape[:-1])} (class indices) or "
                                 f"{tuple(output.shape)} (one-hot), got {tuple(target.shape)}")
            return float(np.count_nonzero(pred == target))
        out = output.reshape(-1)
        tgt = target.reshape(-1)
        if out.shape != tgt.shape:
            raise ValueError(f"accuracy: binary output of shape {tuple(output.shape)} needs one "
                             f"target per sample, got shape {tuple(target.shape)}")
        logits = self.from_logits
        if logits is None:
            logits = out.size > 0 and (out.min() < 0 or out.max() > 1)
        pred = out > (0 if logits else 0.5)
        return float(np.count_nonzero(pred == (tgt > 0.5)))


class TopKAccuracy(Metric):
    """Fraction of samples whose target class is among the ``k`` highest scores."""

    def __init__(self, k=5):
        self.k = int(k)
        self.name = f"top{self.k}_accuracy"

    def batch_sum(self, output, target):
        if output.ndim != 2:
            raise ValueError(f"{self.name}: needs (N, C) class scores, got shape "
                             f"{tuple(output.shape)}")
        if target.ndim == 2:
            target = target.argmax(-1)
        k = min(self.k, output.shape[1])
        top = np.argpartition(output, -k, axis=1)[:, -k:]
        return float(np.count_nonzero((top == target[:, None]).any(axis=1)))


class MeanAbsoluteError(Metric):
    """Mean absolute error per sample (averaged over each sample's elements)."""
    name = "mae"

    def batch_sum(self, output, target):
        diff = np.abs(output.reshape(output.shape[0], -1) - target.reshape(target.shape[0], -1))
        return float(diff.mean(axis=1).sum())


class MeanSquaredError(Metric):
    """Mean squared error per sample (averaged over each sample's elements)."""
    name = "mse"

    def batch_sum(self, output, target):
        diff = output.reshape(output.shape[0], -1) - target.reshape(target.shape[0], -1)
        return float((diff * diff).mean(axis=1).sum())


_NAMES = {"accuracy": Accuracy, "acc": Accuracy, "mae": MeanAbsoluteError,
          "mse": MeanSquaredError}


def get_metric(spec, loss_fn=None):
    """A :class:`Metric` from a name, a metric object or a function ``f(output, target)``.

    Arguments:
        spec: ``'accuracy'``, ``'acc'``, ``'topK_accuracy'`` / ``'topK'``, ``'mae'``, ``'mse'``,
            a :class:`Metric`, or a callable returning the batch *mean* as a float.
        loss_fn: the loss in use; ``BCEWithLogitsLoss`` tells accuracy that outputs are logits.

    Returns:
        A :class:`Metric`.
    """
    if isinstance(spec, Metric):
        return spec
    if isinstance(spec, str):
        key = spec.lower()
        m = re.fullmatch(r"top_?(\d+)(_acc(uracy)?)?", key)
        if m:
            return TopKAccuracy(int(m.group(1)))
        if key in _NAMES:
            cls = _NAMES[key]
            if cls is Accuracy:
                lname = type(loss_fn).__name__ if loss_fn is not None else ""
                return Accuracy(from_logits=True if "WithLogits" in lname else None)
            return cls()
        raise ValueError(f"unknown metric {spec!r}; known: accuracy, acc, top5 (any k), "
                         "mae, mse, or pass a Metric / function")
    if callable(spec):
        return _FunctionMetric(spec)
    raise TypeError(f"a metric must be a name, a Metric or a function, got {type(spec).__name__}")


class _FunctionMetric(Metric):
    def __init__(self, fn):
        self.fn = fn
        self.name = getattr(fn, "__name__", "metric")

    def batch_sum(self, output, target):
        return float(self.fn(output, target)) * output.shape[0]
