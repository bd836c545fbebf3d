"""``MLPClassifier`` / ``MLPRegressor``: the notes' multilayer perceptron, sized from the data.

Arguments follow scikit-learn's own ``MLPClassifier`` where they mean the same thing
(``hidden_layer_sizes``, ``alpha``, ``batch_size='auto'``, ``learning_rate_init``, ``max_iter``,
``tol``, ``n_iter_no_change``, ``early_stopping``, ``validation_fraction``); ``activation`` is
any unit of the notes' zoo (:data:`chainrule.models.ACTIVATIONS`) and ``solver`` any chainrule
optimizer. Both pass scikit-learn's ``parametrize_with_checks`` (``tests/test_sklearn.py``).

Example::

    >>> from chainrule.sklearn import MLPClassifier
    >>> clf = MLPClassifier(hidden_layer_sizes=(64,), activation="tanh", random_state=0)
    >>> make_pipeline(StandardScaler(), clf).fit(X, y).score(X_test, y_test)
"""
from __future__ import annotations

import copy

import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.model_selection import train_test_split
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .. import nn
from ..models import ACTIVATIONS, mlp
from ..train import EarlyStopping, predict as _predict
from . import _base as B

__all__ = ["MLPClassifier", "MLPRegressor"]


class _MLP(B.PicklableOptimizer, BaseEstimator):
    _module_attr = "model_"
    _criterion = nn.MSELoss

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", solver="adam", alpha=1e-4,
                 batch_size="auto", learning_rate_init=1e-3, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 early_stopping=False, validation_fraction=0.1, n_iter_no_change=10):
        self.hidden_layer_sizes, self.activation, self.solver = (hidden_layer_sizes, activation,
                                                                 solver)
        self.alpha, self.batch_size, self.learning_rate_init = alpha, batch_size, learning_rate_init
        self.max_iter, self.shuffle, self.random_state = max_iter, shuffle, random_state
        self.tol, self.verbose, self.warm_start = tol, verbose, warm_start
        self.early_stopping, self.validation_fraction = early_stopping, validation_fraction
        self.n_iter_no_change = n_iter_no_change

    def _check_params(self):
        who = type(self).__name__
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if isinstance(sizes, numbers.Integral) else list(sizes)
        if any(not isinstance(s, numbers.Integral) or s <= 0 for s in sizes):
            raise ValueError(f"{who}: hidden_layer_sizes must be positive ints, got "
                             f"{self.hidden_layer_sizes!r}")
        if str(self.activation).lower() not in ACTIVATIONS:
            raise ValueError(f"{who}: unknown activation {self.activation!r}; choose one of "
                             f"{', '.join(sorted(ACTIVATIONS))}")
        for name in ("max_iter", "n_iter_no_change"):
            v = getattr(self, name)
            if not isinstance(v, numbers.Integral) or v <= 0:
                raise ValueError(f"{who}: {name} must be a positive int, got {v!r}")
        if not (isinstance(self.validation_fraction, numbers.Real)
                and 0 < self.validation_fraction < 1):
            raise ValueError(f"{who}: validation_fraction must be in (0, 1), got "
                             f"{self.validation_fraction!r}")
        if self.batch_size != "auto" and not (isinstance(self.batch_size, numbers.Integral)
                                              and self.batch_size > 0):
            raise ValueError(f"{who}: batch_size must be 'auto' or a positive int, got "
                             f"{self.batch_size!r}")
        for name in ("alpha", "tol", "learning_rate_init"):
            if not isinstance(getattr(self, name), numbers.Real) or getattr(self, name) < 0:
                raise ValueError(f"{who}: {name} must be a non-negative number, got "
                                 f"{getattr(self, name)!r}")
        return sizes

    def _build(self, n_in, n_out, sizes):
        self.model_ = mlp([n_in, *sizes, n_out], activation=self.activation)
        opt = B.resolve_optimizer(self.solver, type(self).__name__)
        kw = {"lr": self.learning_rate_init}
        if self.alpha:
            kw["weight_decay"] = self.alpha
        self.optimizer_ = opt(self.model_.parameters(), **kw)
        self.loss_curve_, self.n_iter_ = [], 0

    def _fit(self, X, y, epochs, fresh, n_out, stratify=None):
        sizes = self._check_params()
        seed = B.int_seed(self.random_state)
        if self.early_stopping and len(X) >= 4:
            X, Xv, y, yv = train_test_split(X, y, test_size=self.validation_fraction,
                                            random_state=seed, stratify=stratify)
            val, monitor = (Xv, yv), "val_loss"
        else:
            val, monitor = None, "loss"
        n = len(X)
        batch = min(200, n) if self.batch_size == "auto" else min(int(self.batch_size), n)
        with B.seeded(None if seed is None else seed + self.n_iter_ if not fresh else seed) as g:
            if fresh:
                self._build(X.shape[1], n_out, sizes)
            stop = [EarlyStopping(monitor=monitor, min_delta=self.tol,
                                  patience=self.n_iter_no_change, restore_best_weights=True)]
            logs = B.run_fit(self.model_, self._criterion(), self.optimizer_, X, y, epochs, batch,
                             val, stop if epochs > 1 else [], (), 1 if self.verbose else 0, g,
                             shuffle=self.shuffle)
        self.loss_curve_ += [row["loss"] for row in logs]
        self.n_iter_ += len(logs)
        self.loss_ = self.loss_curve_[-1]
        return self

    def _outputs(self, X):
        check_is_fitted(self, "model_")
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32))
        # evaluated in float64: a float32 GEMM's rounding depends on how many rows it gets, and
        # scikit-learn asks that a row's prediction not depend on the other rows (to 1e-7)
        model = copy.deepcopy(self.model_).double()
        return _predict(model, X.astype(np.float64, copy=False), batch_size=256).numpy()


class MLPClassifier(ClassifierMixin, _MLP):
    """A multilayer perceptron classifier trained with cross-entropy (softmax outputs).

    Attributes: ``classes_``, ``n_features_in_``, ``model_`` (the :class:`chainrule.nn.Sequential`),
    ``loss_``, ``loss_curve_``, ``n_iter_``.
    """

    _criterion = nn.CrossEntropyLoss

    def _prepare(self, X, y, reset, classes=None):
        X, y = validate_data(self, X, y, reset=reset, dtype=(np.float64, np.float32))
        check_classification_targets(y)
        if reset:
            self.classes_ = np.unique(y if classes is None else classes)
        idx = np.searchsorted(self.classes_, y)
        if np.any(idx >= len(self.classes_)) or np.any(
                self.classes_[np.minimum(idx, len(self.classes_) - 1)] != y):
            raise ValueError(f"{type(self).__name__}: y has labels not in classes_ "
                             f"{self.classes_.tolist()}")
        return X, idx.astype(np.int64)

    def fit(self, X, y):
        """Train from fresh weights (or the current ones with ``warm_start``); returns self."""
        fresh = not (self.warm_start and hasattr(self, "model_"))
        X, t = self._prepare(X, y, reset=fresh)
        _, counts = np.unique(t, return_counts=True)
        strat = t if counts.min() >= 2 and len(t) * self.validation_fraction >= len(counts) \
            else None
        return self._fit(X, t, int(self.max_iter), fresh, len(self.classes_), strat)

    def partial_fit(self, X, y, classes=None):
        """One epoch on ``(X, y)``; the first call needs ``classes`` unless ``y`` has them all."""
        first = not hasattr(self, "model_")
        X, t = self._prepare(X, y, reset=first, classes=classes)
        if first:
            self.n_iter_ = 0
        return self._fit(X, t, 1, first, len(self.classes_))

    def predict_proba(self, X):
        """Class probabilities in float64, ``(n_samples, n_classes)``."""
        return B.softmax64(self._outputs(X))

    def predict(self, X):
        out = self._outputs(X)       # raises NotFittedError before classes_ is read
        return self.classes_[np.argmax(out, axis=1)]


class MLPRegressor(RegressorMixin, _MLP):
    """A multilayer perceptron regressor trained with mean squared error (linear outputs).

    ``y`` may be 2-D for several outputs. Attributes: ``n_features_in_``, ``model_``, ``loss_``,
    ``loss_curve_``, ``n_iter_``.
    """

    _criterion = nn.MSELoss

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _prepare(self, X, y, reset):
        X, y = validate_data(self, X, y, reset=reset, multi_output=True, y_numeric=True,
                             dtype=(np.float64, np.float32))
        if reset:
            self._y_ndim = y.ndim
        return X, y.reshape(len(y), -1).astype(np.float32)

    def fit(self, X, y):
        fresh = not (self.warm_start and hasattr(self, "model_"))
        X, t = self._prepare(X, y, reset=fresh)
        return self._fit(X, t, int(self.max_iter), fresh, t.shape[1])

    def partial_fit(self, X, y):
        first = not hasattr(self, "model_")
        X, t = self._prepare(X, y, reset=first)
        if first:
            self.n_iter_ = 0
        return self._fit(X, t, 1, first, t.shape[1])

    def predict(self, X):
        """Predictions in float64, 1-D when the training ``y`` was 1-D."""
        out = self._outputs(X).astype(np.float64)
        return out[:, 0] if self._y_ndim == 1 else out
