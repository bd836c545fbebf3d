"""ADALINE (Widrow & Hoff, 1960): a linear unit trained by gradient descent on
the squared error, as a scikit-learn-style estimator (numpy only).

Example:
    >>> import numpy as np
    >>> X = np.array([[-1.5, -1.], [-1., -0.5], [1., 0.5], [1.5, 1.]])
    >>> clf = Adaline(lr=0.05, epochs=100).fit(X, np.array([0, 0, 1, 1]))
    >>> clf.predict(X).tolist(), clf.cost_[-1] < clf.cost_[0]
    ([0, 0, 1, 1], True)
"""

from __future__ import annotations

import warnings

import numpy as np

from .perceptron import BinaryLinearClassifier

__all__ = ["Adaline"]

_MODES = ("batch", "sgd", "minibatch")


class Adaline(BinaryLinearClassifier):
    """Adaptive linear neuron trained on ``J(w, b) = 1/2 * sum_i (t_i - z_i)**2``.

    ``z = X @ w + b`` is the linear activation and ``t`` the target, -1 for
    ``classes_[0]`` and +1 for ``classes_[1]``; ``predict`` thresholds ``z``
    at 0. The gradient step (for the samples of one update) is::

        w += lr * X_batch.T @ (t_batch - z_batch);   b += lr * sum(t_batch - z_batch)

    * ``mode='batch'``: one step per epoch on all samples (classic gradient
      descent). As ``J`` is a *sum*, ``lr`` must shrink with ``n_samples``:
      it converges for ``lr < 2 / lambda_max([X, 1].T @ [X, 1])``; on
      standardized data ``lr`` around ``1 / n_samples`` is a safe choice.
    * ``mode='sgd'``: one step per sample (Widrow-Hoff / LMS rule).
    * ``mode='minibatch'``: one step per batch of ``batch_size`` samples.

    Minimizing ``J`` exactly gives the least-squares solution of
    ``[X, 1] @ [w; b] ~= t``, which batch gradient descent reaches.

    Arguments:
        lr: learning rate (> 0).
        epochs: maximum number of passes over the data.
        mode: ``'batch'``, ``'sgd'`` or ``'minibatch'``.
        batch_size: samples per step in ``'minibatch'`` mode.
        shuffle: shuffle samples each epoch (``'sgd'``/``'minibatch'`` only).
        seed: seed of ``np.random.default_rng`` (shuffling, initial weights).
        init_scale: std of the Gaussian initial weights (0 -> zeros).
        tol: stop when the cost changes by less than ``tol`` between epochs
            (``None``: always run ``epochs`` epochs).

    Attributes (after ``fit``):
        coef_, intercept_, classes_, n_iter_ (see :class:`BinaryLinearClassifier`);
        cost_: list of ``J`` on the whole training set after each epoch.

    Example:
        >>> X = np.array([[0.], [1.], [2.], [3.]])
        >>> m = Adaline(lr=0.05, epochs=2000, init_scale=0).fit(X, [0, 0, 1, 1])
        >>> np.round([m.coef_[0], m.intercept_], 4).tolist()   # lstsq of t=[-1,-1,1,1]
        [0.8, -1.2]
    """

    def __init__(self, lr: float = 0.01, epochs: int = 50, mode: str = "batch",
                 batch_size: int = 32, shuffle: bool = True, seed=0,
                 init_scale: float = 0.01, tol: float | None = None):
        self.lr = lr
        self.epochs = epochs
        self.mode = mode
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.init_scale = init_scale
        self.tol = tol

    def _check_hyper(self) -> None:
        super()._check_hyper()
        if self.mode not in _MODES:
            raise ValueError(f"Adaline: mode must be one of {_MODES}, got {self.mode!r}")
        if self.mode == "minibatch" and (isinstance(self.batch_size, bool)
                                         or not isinstance(self.batch_size, (int, np.integer))
                                         or self.batch_size < 1):
            raise ValueError(f"Adaline: batch_size must be an int >= 1, got {self.batch_size!r}")
        if self.tol is not None and not self.tol >= 0:
            raise ValueError(f"Adaline: tol must be None or >= 0, got {self.tol!r}")

    @staticmethod
    def _cost(X, t, w, b) -> float:
        r = t - (X @ w + b)
        return 0.5 * float(r @ r)

    def fit(self, X, y) -> "Adaline":
        """Train by gradient descent on the squared error.

        Arguments:
            X: ``(n_samples, n_features)`` training inputs (standardize them).
            y: ``(n_samples,)`` labels with exactly two distinct values.

        Returns:
            ``self``.
        """
        self._check_hyper()
        X, t01 = self._check_Xy(X, y)
        t = 2.0 * t01 - 1.0
        n = len(t)
        rng = np.random.default_rng(self.seed)
        self._init_weights(X.shape[1], rng)
        w, b, lr = self.coef_, self.intercept_, float(self.lr)
        step = {"batch": n, "sgd": 1, "minibatch": int(self.batch_size)}[self.mode]
        self.cost_ = []
        self.n_iter_ = 0
        with np.errstate(over="ignore", invalid="ignore"):
            for epoch in range(int(self.epochs)):
                if self.mode != "batch" and self.shuffle:
                    order = rng.permutation(n)
                else:
                    order = np.arange(n)
                for start in range(0, n, step):
                    idx = order[start:start + step]
                    Xb = X[idx]
                    err = t[idx] - (Xb @ w + b)
                    w = w + lr * (Xb.T @ err)
                    b = b + lr * float(err.sum())
                cost = self._cost(X, t, w, b)
                self.cost_.append(cost)
                self.n_iter_ += 1
                if not np.isfinite(cost):
                    warnings.warn(f"Adaline diverged at epoch {epoch + 1} (cost is {cost}); "
                                  f"lower lr (now {lr}; the cost is a sum over {n} samples)",
                                  RuntimeWarning, stacklevel=2)
                    break
                if self.tol is not None and len(self.cost_) > 1 \
                        and abs(self.cost_[-2] - cost) < self.tol:
                    break
        self.coef_, self.intercept_ = w, float(b)
        return self
