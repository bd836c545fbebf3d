"""``NeuralNetClassifier`` / ``NeuralNetRegressor``: any chainrule module as a scikit-learn
estimator, in skorch's spirit.

Example::

    >>> from chainrule.sklearn import NeuralNetClassifier
    >>> class Net(cr.nn.Module):
    ...     def __init__(self, n_in=20, hidden=32, n_out=2):
    ...         super().__init__()
    ...         self.body = cr.nn.Sequential(cr.nn.Linear(n_in, hidden), cr.nn.ReLU(),
    ...                                      cr.nn.Linear(hidden, n_out))
    ...     def forward(self, x):
    ...         return self.body(x)
    >>> net = NeuralNetClassifier(Net, module__hidden=64, max_epochs=20, lr=1e-2,
    ...                           patience=5, random_state=0)
    >>> GridSearchCV(net, {"module__hidden": [16, 64], "lr": [1e-3, 1e-2]}, cv=3).fit(X, y)
"""
from __future__ import annotations

import copy

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.model_selection import train_test_split
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .. import nn
from ..train import EarlyStopping, predict as _predict
from . import _base as B

__all__ = ["NeuralNet", "NeuralNetClassifier", "NeuralNetRegressor"]

PREFIXES = ("module__", "criterion__", "optimizer__")


class NeuralNet(B.PicklableOptimizer, BaseEstimator):
    """Shared machinery; use :class:`NeuralNetClassifier` or :class:`NeuralNetRegressor`.

    Arguments:
        module: a :class:`chainrule.nn.Module` class (built in ``fit`` with the ``module__*``
            parameters, so ``GridSearchCV`` can tune the architecture) or an instance (copied
            on each fresh ``fit``; the original is never trained).
        criterion: the loss, a class or instance (default: ``CrossEntropyLoss`` for the
            classifier, ``MSELoss`` for the regressor); ``criterion__*`` for its arguments.
        optimizer: a ``chainrule.optim`` class or its name (``'adam'``, ``'sgd'``...);
            ``optimizer__*`` for its arguments (``optimizer__momentum=0.9``).
        lr: learning rate given to the optimizer.
        max_epochs: epochs per ``fit`` (``partial_fit`` runs one).
        batch_size: samples per step.
        train_split: fraction of the data held out for validation (``val_loss`` in
            ``history_``), ``None`` for none, or a callable ``(X, y) -> (X_train, X_val,
            y_train, y_val)``.
        callbacks: :mod:`chainrule.train` callbacks (``TrainingMonitor``, ``TensorBoard``...).
        patience: stop when the monitored loss (``val_loss``, or ``loss`` without a validation
            split) has not improved for this many epochs, and restore the best epoch's weights.
        warm_start: ``fit`` continues from the current weights and optimizer state.
        random_state: seed of the weights, the split, the batch order and dropout.
        verbose: 0 silent, 1 progress bar and a line per epoch, 2 a line per epoch.

    Attributes (after ``fit``): ``module_``, ``criterion_``, ``optimizer_``, ``history_`` (one
    dict per epoch: ``epoch``, ``loss``, ``val_loss``, ``lr``, ``time``...), ``n_features_in_``.
    """

    _default_criterion = nn.MSELoss

    def __init__(self, module, criterion=None, optimizer="adam", lr=1e-3, max_epochs=10,
                 batch_size=128, train_split=0.2, callbacks=None, patience=None,
                 warm_start=False, random_state=None, verbose=0, **kwargs):
        self.module, self.criterion, self.optimizer, self.lr = module, criterion, optimizer, lr
        self.max_epochs, self.batch_size, self.train_split = max_epochs, batch_size, train_split
        self.callbacks, self.patience, self.warm_start = callbacks, patience, warm_start
        self.random_state, self.verbose = random_state, verbose
        for k, v in kwargs.items():
            if not k.startswith(PREFIXES):
                raise TypeError(f"{type(self).__name__}: unexpected argument {k!r} (arguments "
                                f"of the parts start with {', '.join(PREFIXES)})")
            setattr(self, k, v)

    # -- parameters: the declared ones plus module__*, criterion__*, optimizer__* ------------------
    def _prefixed(self, prefix=None):
        return {k: v for k, v in vars(self).items()
                if k.startswith(PREFIXES if prefix is None else prefix)}

    def get_params(self, deep=True):
        params = super().get_params(deep=deep)
        params.update(self._prefixed())
        return params

    def set_params(self, **params):
        extra = {k: params.pop(k) for k in list(params) if k.startswith(PREFIXES)}
        for k, v in extra.items():
            setattr(self, k, v)
        return super().set_params(**params) if params else self

    def _part_kwargs(self, prefix):
        return {k[len(prefix):]: v for k, v in self._prefixed(prefix).items()}

    # -- building ---------------------------------------------------------------------------------
    def _initialize(self, seed):
        who = type(self).__name__
        module = B.build("module", self.module, self._part_kwargs("module__"), who)
        if module is self.module:
            module = copy.deepcopy(module)    # fit never trains the caller's instance
        crit = self.criterion if self.criterion is not None else self._default_criterion
        crit_kw = self._part_kwargs("criterion__")
        self.criterion_ = crit if isinstance(crit, nn.Module) and not crit_kw else B.build(
            "criterion", crit, crit_kw, who)
        opt_cls = B.resolve_optimizer(self.optimizer, who)
        self.optimizer_ = opt_cls(module.parameters(), lr=self.lr,
                                  **self._part_kwargs("optimizer__"))
        self.module_ = module
        self.history_ = []

    def _dtype(self):
        for p in self.module_.parameters():
            return p.dtype
        return np.dtype(np.float32)

    def _validate_X(self, X, reset):
        return validate_data(self, B.to_numpy(X), reset=reset, dtype=(np.float32, np.float64),
                             allow_nd=True)

    def _split(self, X, y, seed):
        split = self.train_split
        if split is None or split == 0:
            return X, y, None
        if callable(split):
            Xtr, Xv, ytr, yv = split(X, y)
            return Xtr, ytr, (Xv, yv)
        if not (isinstance(split, float) and 0 < split < 1):
            raise ValueError(f"{type(self).__name__}: train_split must be a fraction in (0, 1), "
                             f"None or a callable, got {split!r}")
        strat = self._stratify(y, split)
        Xtr, Xv, ytr, yv = train_test_split(X, y, test_size=split, random_state=seed,
                                            stratify=strat)
        return Xtr, ytr, (Xv, yv)

    def _stratify(self, y, split):
        return None

    def _callbacks(self, has_val):
        cbs = list(self.callbacks or ())
        if self.patience is not None:
            cbs.append(EarlyStopping(monitor="val_loss" if has_val else "loss",
                                     patience=int(self.patience), restore_best_weights=True))
        return cbs

    def _train(self, X, y, epochs, seed, fresh, split=True):
        fresh = fresh or not hasattr(self, "module_")
        offset = 0 if fresh else len(self.history_)
        Xtr, ytr, val = self._split(X, y, seed) if split else (X, y, None)
        with B.seeded(None if seed is None else seed + offset) as gen:
            if fresh:
                self._initialize(seed)
            logs = B.run_fit(self.module_, self.criterion_, self.optimizer_, Xtr, ytr, epochs,
                             int(self.batch_size), val, self._callbacks(val is not None),
                             self._metrics(), self.verbose, gen)
        for i, row in enumerate(logs):
            self.history_.append({"epoch": offset + i + 1, **row})
        return self

    def _metrics(self):
        return ()

    def _outputs(self, X):
        check_is_fitted(self, "module_")
        X = self._validate_X(X, reset=False)
        return _predict(self.module_, X.astype(self._dtype(), copy=False),
                        batch_size=max(int(self.batch_size), 256)).numpy()

    def forward(self, X):
        """The module's raw outputs for ``X`` (eval mode, no graph), as a NumPy array."""
        return self._outputs(X)

    def fit(self, X, y):
        """Train for ``max_epochs`` (from fresh weights unless ``warm_start``); returns self."""
        X, y = self._validate_Xy(X, y, reset=True)
        seed = B.int_seed(self.random_state)
        return self._train(X, y, int(self.max_epochs), seed, fresh=not self.warm_start)

    def partial_fit(self, X, y, classes=None):
        """One epoch on ``(X, y)``, continuing from the current weights; returns self."""
        first = not hasattr(self, "module_")
        X, y = self._validate_Xy(X, y, reset=first, classes=classes)
        return self._train(X, y, 1, B.int_seed(self.random_state), fresh=first, split=False)


class NeuralNetRegressor(RegressorMixin, NeuralNet):
    """A chainrule module as a scikit-learn regressor (see :class:`NeuralNet` for arguments).

    ``y`` may be 1-D or 2-D (several outputs); predictions have ``y``'s shape, in float64.
    """

    _default_criterion = nn.MSELoss

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _validate_Xy(self, X, y, reset, classes=None):
        X, y = validate_data(self, B.to_numpy(X), B.to_numpy(y), reset=reset, multi_output=True,
                             y_numeric=True, dtype=(np.float32, np.float64), allow_nd=True)
        if reset:
            self._y_ndim = y.ndim
        return X, y.reshape(len(y), -1)     # fit casts it to the module's dtype

    def predict(self, X):
        """Predictions in float64 with the training targets' shape."""
        out = self._outputs(X).astype(np.float64)
        return out.reshape(len(out)) if getattr(self, "_y_ndim", 2) == 1 and out.ndim == 2 \
            and out.shape[1] == 1 else out


class NeuralNetClassifier(ClassifierMixin, NeuralNet):
    """A chainrule module as a scikit-learn classifier (see :class:`NeuralNet` for arguments).

    The module outputs one score per class (``CrossEntropyLoss``, the default), log
    probabilities (``NLLLoss``), or, with ``BCEWithLogitsLoss``, one logit for binary problems.
    ``predict_proba`` gives float64 probabilities of shape ``(n_samples, n_classes)``, two
    columns for binary targets. Labels may be any values ``np.unique`` sorts (``classes_``).
    """

    _default_criterion = nn.CrossEntropyLoss

    def _binary_logit(self):
        c = self.criterion
        return c is nn.BCEWithLogitsLoss or isinstance(c, nn.BCEWithLogitsLoss)

    def _validate_Xy(self, X, y, reset, classes=None):
        X, y = validate_data(self, B.to_numpy(X), B.to_numpy(y), reset=reset,
                             dtype=(np.float32, np.float64), allow_nd=True)
        check_classification_targets(y)
        if reset:
            self.classes_ = np.unique(y if classes is None else np.asarray(classes))
        idx = np.searchsorted(self.classes_, y)
        if np.any(idx >= len(self.classes_)) or np.any(self.classes_[np.minimum(
                idx, len(self.classes_) - 1)] != y):
            raise ValueError(f"{type(self).__name__}: y has labels not in classes_ "
                             f"{self.classes_.tolist()}")
        if self._binary_logit():
            return X, idx.astype(np.float32).reshape(-1, 1)
        return X, idx.astype(np.int64)

    def _stratify(self, y, split):
        _, counts = np.unique(y, return_counts=True)
        return y if counts.min() >= 2 and len(y) * split >= len(counts) else None

    def _metrics(self):
        return () if self._binary_logit() else ("accuracy",)

    def predict_proba(self, X):
        """Class probabilities, float64, ``(n_samples, n_classes)``."""
        out = self._outputs(X)       # raises NotFittedError first
        crit = self.criterion_
        if isinstance(crit, nn.BCEWithLogitsLoss):
            p = B.sigmoid64(out.reshape(len(out), -1)[:, 0])
            return np.stack([1.0 - p, p], axis=1)
        if isinstance(crit, nn.NLLLoss):
            return B.softmax64(out)      # log probabilities in, renormalized in float64
        if isinstance(crit, nn.CrossEntropyLoss):
            return B.softmax64(out)
        return np.asarray(out, dtype=np.float64)

    def predict(self, X):
        """The most probable class label for each sample."""
        proba = self.predict_proba(X)    # raises NotFittedError before classes_ is read
        return self.classes_[np.argmax(proba, axis=1)]
