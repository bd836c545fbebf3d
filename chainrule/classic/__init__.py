"""Classic single-unit learning algorithms (not backprop networks), numpy only,
with a scikit-learn-style ``fit`` / ``predict`` / ``score`` interface.

* :class:`Perceptron` - Rosenblatt's rule, online, hard threshold.
* :class:`Adaline` - linear unit, gradient descent on the squared error
  (batch, SGD or mini-batch).

Example:
    >>> import numpy as np
    >>> from chainrule.classic import Perceptron
    >>> X = np.array([[0., 0.], [0., 1.], [1., 0.], [1., 1.]])
    >>> Perceptron(lr=0.1).fit(X, [0, 1, 1, 1]).predict(X).tolist()   # logical OR
    [0, 1, 1, 1]
"""

from .adaline import Adaline
from .perceptron import BinaryLinearClassifier, NotFittedError, Perceptron

__all__ = ["Perceptron", "Adaline", "BinaryLinearClassifier", "NotFittedError"]
