"""chainrule models as scikit-learn estimators (optional extra ``chainrule[sklearn]``).

* :class:`NeuralNetClassifier`, :class:`NeuralNetRegressor`: any :class:`chainrule.nn.Module`
  (class or instance) with ``module__*``/``optimizer__*``/``criterion__*`` parameters, early
  stopping that restores the best weights, ``warm_start``, ``partial_fit`` and ``history_``.
* :class:`MLPClassifier`, :class:`MLPRegressor`: the notes' MLP built from the data, with
  scikit-learn's argument names; they pass ``sklearn.utils.estimator_checks``.

Importing this package imports scikit-learn; ``import chainrule`` does not.
"""
try:
    import sklearn  # noqa: F401
except ImportError as exc:   # pragma: no cover - depends on the environment
    raise ImportError("chainrule.sklearn needs scikit-learn: pip install 'chainrule[sklearn]'"
                      ) from exc

from .mlp import MLPClassifier, MLPRegressor
from .net import NeuralNet, NeuralNetClassifier, NeuralNetRegressor

__all__ = ["NeuralNet", "NeuralNetClassifier", "NeuralNetRegressor", "MLPClassifier",
           "MLPRegressor"]
