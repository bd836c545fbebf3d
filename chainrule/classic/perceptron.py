"""Rosenblatt's perceptron (1958) as a scikit-learn-style estimator (numpy only).

Also holds :class:`BinaryLinearClassifier`, the shared base of the classic
single-unit models (input validation, label mapping, ``net_input``,
``predict``, ``score``).

Example:
    >>> import numpy as np
    >>> X = np.array([[0., 0.], [0., 1.], [1., 0.], [1., 1.]])
    >>> y = np.array([0, 0, 0, 1])                      # logical AND
    >>> clf = Perceptron(lr=0.1, epochs=20).fit(X, y)
    >>> clf.predict(X).tolist(), clf.errors_[-1]
    ([0, 0, 0, 1], 0)
"""

from __future__ import annotations

import inspect

import numpy as np

__all__ = ["BinaryLinearClassifier", "Perceptron", "NotFittedError"]


class NotFittedError(ValueError, AttributeError):
    """Raised when ``predict``/``net_input``/``score`` is called before ``fit``."""


class BinaryLinearClassifier:
    """Base class: a single linear unit ``z = X @ coef_ + intercept_``.

    Subclasses implement ``fit``. Any two distinct labels are accepted;
    ``classes_`` holds them sorted, ``classes_[1]`` is the "positive" class
    (``z >= threshold``).

    Attributes (after ``fit``):
        coef_: ``(n_features,)`` float64 weights.
        intercept_: float bias.
        classes_: the two labels, sorted.
        n_iter_: number of epochs actually run.
        n_features_in_: number of input features.
    """

    _threshold = 0.0

    # -- scikit-learn-style parameter handling ---------------------------------
    @classmethod
    def _param_names(cls):
        sig = inspect.signature(cls.__init__)
        return [p for p in sig.parameters if p != "self"]

    def get_params(self, deep: bool = True) -> dict:
        """Return the constructor parameters as a dict."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        """Set constructor parameters; returns ``self``."""
        for key, value in params.items():
            if key not in self._param_names():
                raise ValueError(f"{type(self).__name__}: unknown parameter {key!r}")
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # -- validation ------------------------------------------------------------
    def _check_hyper(self) -> None:
        name = type(self).__name__
        if not (np.isscalar(self.lr) and np.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"{name}: lr must be a positive finite number, got {self.lr!r}")
        if isinstance(self.epochs, bool) or not isinstance(self.epochs, (int, np.integer)) \
                or self.epochs < 1:
            raise ValueError(f"{name}: epochs must be an int >= 1, got {self.epochs!r}")

    def _check_X(self, X, fitted: bool) -> np.ndarray:
        name = type(self).__name__
        X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(f"{name}: X must be 2-D (n_samples, n_features), got shape {X.shape}")
        if not (np.issubdtype(X.dtype, np.number) or X.dtype == np.bool_):
            raise ValueError(f"{name}: X must be numeric, got dtype {X.dtype}")
        X = X.astype(np.float64)
        if not np.all(np.isfinite(X)):
            raise ValueError(f"{name}: X contains NaN or infinity")
        if fitted and X.shape[1] != self.n_features_in_:
            raise ValueError(f"{name}: X has {X.shape[1]} features (shape {X.shape}) but the "
                             f"model was fitted with {self.n_features_in_}")
        return X

    def _check_Xy(self, X, y):
        """Validate training data; returns ``(X float64, t in {0,1} int64)``."""
        name = type(self).__name__
        X = self._check_X(X, fitted=False)
        y = np.asarray(y)
        if y.ndim != 1:
            raise ValueError(f"{name}: y must be 1-D (n_samples,), got shape {y.shape}")
        if X.shape[0] != y.shape[0]:
            raise ValueError(f"{name}: X and y have different lengths: X {X.shape}, y {y.shape}")
        if X.shape[0] == 0:
            raise ValueError(f"{name}: cannot fit on 0 samples (X shape {X.shape})")
        classes, t = np.unique(y, return_inverse=True)
        if len(classes) != 2:
            raise ValueError(f"{name} is a binary classifier and needs exactly two classes; "
                             f"y (shape {y.shape}) has {len(classes)}: {classes[:10].tolist()}")
        self.classes_ = classes
        self.n_features_in_ = X.shape[1]
        return X, t.reshape(-1).astype(np.int64)

    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet; "
                                 "call fit(X, y) first")

    def _init_weights(self, n_features: int, rng: np.random.Generator) -> None:
        scale = float(getattr(self, "init_scale", 0.0))
        self.coef_ = rng.normal(0.0, scale, size=n_features) if scale > 0 else np.zeros(n_features)
        self.intercept_ = 0.0

    # -- inference -------------------------------------------------------------
    def net_input(self, X) -> np.ndarray:
        """Linear output ``z = X @ coef_ + intercept_``.

        Arguments:
            X: ``(n_samples, n_features)`` array.

        Returns:
            ``(n_samples,)`` float64 array.
        """
        self._check_fitted()
        X = self._check_X(X, fitted=True)
        return X @ self.coef_ + self.intercept_

    decision_function = net_input

    def predict(self, X) -> np.ndarray:
        """Predicted labels (values from ``classes_``) by thresholding ``net_input``.

        Arguments:
            X: ``(n_samples, n_features)`` array.

        Returns:
            ``(n_samples,)`` array with the dtype of ``classes_``.
        """
        z = self.net_input(X)  # checks fitted state and shape first
        return self.classes_[(z >= self._threshold).astype(np.int64)]

    def score(self, X, y) -> float:
        """Accuracy: fraction of ``predict(X)`` equal to ``y``.

        Arguments:
            X: ``(n_samples, n_features)`` array.
            y: ``(n_samples,)`` true labels.

        Returns:
            float in ``[0, 1]``.
        """
        y = np.asarray(y)
        pred = self.predict(X)
        if y.shape != pred.shape:
            raise ValueError(f"{type(self).__name__}.score: y has shape {y.shape}, "
                             f"expected {pred.shape}")
        return float(np.mean(pred == y))


class Perceptron(BinaryLinearClassifier):
    """Rosenblatt perceptron with a hard-threshold unit, trained online.

    For each sample (in shuffled order when ``shuffle=True``)::

        y_hat = 1 if x @ w + b >= 0 else 0
        w += lr * (t - y_hat) * x;   b += lr * (t - y_hat)

    where ``t`` is 0 for ``classes_[0]`` and 1 for ``classes_[1]`` (so labels
    {0, 1}, {-1, 1} or any other pair work). Training stops early after the
    first epoch without a mistake; on linearly separable data this happens in
    finitely many epochs (perceptron convergence theorem).

    Arguments:
        lr: learning rate ``eta`` (> 0).
        epochs: maximum number of passes over the data.
        shuffle: shuffle the samples every epoch.
        seed: seed of ``np.random.default_rng`` (shuffling and initial weights).
        init_scale: std of the Gaussian initial weights (0 -> zeros).

    Attributes (after ``fit``):
        coef_, intercept_, classes_, n_iter_ (see :class:`BinaryLinearClassifier`);
        errors_: list with the number of misclassified samples (= updates) per epoch.

    Example:
        >>> X = np.array([[2., 1.], [3., 2.], [-1., -2.], [-2., -1.]])
        >>> clf = Perceptron(lr=0.01, epochs=50).fit(X, np.array([1, 1, -1, -1]))
        >>> clf.score(X, np.array([1, 1, -1, -1]))
        1.0
    """

    def __init__(self, lr: float = 0.01, epochs: int = 50, shuffle: bool = True,
                 seed=0, init_scale: float = 0.01):
        self.lr = lr
        self.epochs = epochs
        self.shuffle = shuffle
        self.seed = seed
        self.init_scale = init_scale

    def fit(self, X, y) -> "Perceptron":
        """Train with the perceptron rule.

        Arguments:
            X: ``(n_samples, n_features)`` training inputs.
            y: ``(n_samples,)`` labels with exactly two distinct values.

        Returns:
            ``self``.
        """
        self._check_hyper()
        X, t = self._check_Xy(X, y)
        rng = np.random.default_rng(self.seed)
        self._init_weights(X.shape[1], rng)
        w, b, lr = self.coef_, self.intercept_, float(self.lr)
        self.errors_ = []
        self.n_iter_ = 0
        for _ in range(int(self.epochs)):
            order = rng.permutation(len(t)) if self.shuffle else range(len(t))
            errors = 0
            for i in order:
                y_hat = 1 if X[i] @ w + b >= 0.0 else 0
                delta = lr * (t[i] - y_hat)
                if delta != 0.0:
                    w += delta * X[i]
                    b += delta
                    errors += 1
            self.errors_.append(errors)
            self.n_iter_ += 1
            if errors == 0:
                break
        self.coef_, self.intercept_ = w, float(b)
        return self
