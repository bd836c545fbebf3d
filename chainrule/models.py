"""Ready-made model builders (used by the ``chainrule`` command).

Example::

    >>> from chainrule.models import mlp
    >>> model = mlp([64, 128, 10], activation="relu")
    >>> model
    Sequential(
      (0): Linear(in_features=64, out_features=128, bias=True)
      (1): ReLU()
      (2): Linear(in_features=128, out_features=10, bias=True)
    )
"""
from __future__ import annotations

__all__ = ["mlp", "mlp_from_spec", "lenet5", "vgg_small", "model_from_spec", "ACTIVATIONS"]

#: activation name -> class name in chainrule.nn
ACTIVATIONS = {
    "relu": "ReLU", "sigmoid": "Sigmoid", "tanh": "Tanh", "leaky_relu": "LeakyReLU",
    "elu": "ELU", "selu": "SELU", "gelu": "GELU", "silu": "SiLU", "swish": "SiLU",
    "softplus": "Softplus", "hardtanh": "Hardtanh", "identity": "Identity", "linear": "Identity",
}

_OUTPUTS = {"log_softmax": ("LogSoftmax", {"dim": 1}), "softmax": ("Softmax", {"dim": 1}),
            "sigmoid": ("Sigmoid", {}), "none": None, None: None}


def _activation(nn, name):
    key = str(name).lower()
    if key not in ACTIVATIONS:
        raise ValueError(f"mlp: unknown activation {name!r}; choose one of "
                         f"{', '.join(sorted(ACTIVATIONS))}")
    cls = getattr(nn, ACTIVATIONS[key], None)
    if cls is None:
        raise ValueError(f"mlp: activation {name!r} needs chainrule.nn.{ACTIVATIONS[key]}, "
                         "which this version does not have")
    return cls()


def mlp(sizes, activation="relu", output_activation=None, dropout=0.0, bias=True):
    """A multilayer perceptron: ``Linear`` layers with an activation between them.

    Arguments:
        sizes: layer widths including input and output, e.g. ``[784, 256, 128, 10]``.
        activation: the hidden activation's name (see :data:`ACTIVATIONS`).
        output_activation: ``None`` (raw scores, for ``CrossEntropyLoss``), ``'log_softmax'``
            (for ``NLLLoss``), ``'softmax'`` or ``'sigmoid'``.
        dropout: dropout probability after each hidden activation (0 for none).
        bias: whether the ``Linear`` layers have biases.

    Returns:
        A :class:`chainrule.nn.Sequential`.

    Example::

        >>> mlp([2, 8, 1], activation="tanh", output_activation="sigmoid")
    """
    from . import nn
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2 or any(s <= 0 for s in sizes):
        raise ValueError(f"mlp: sizes must be at least two positive ints (input, ..., output), "
                         f"got {sizes}")
    if not 0 <= dropout < 1:
        raise ValueError(f"mlp: dropout must be in [0, 1), got {dropout}")
    if output_activation not in _OUTPUTS:
        raise ValueError(f"mlp: unknown output_activation {output_activation!r}; choose one of "
                         "log_softmax, softmax, sigmoid, none")
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b, bias=bias))
        if i < len(sizes) - 2:
            layers.append(_activation(nn, activation))
            if dropout:
                layers.append(nn.Dropout(dropout))
    out = _OUTPUTS[output_activation]
    if out is not None:
        layers.append(getattr(nn, out[0])(**out[1]))
    return nn.Sequential(*layers)


def lenet5(in_channels=1, num_classes=10, input_size=28, activation="relu"):
    """LeNet-5 as in issue 13: conv 6 5x5, pool 2, conv 16 5x5, pool 2, 120, 84, classes.

    Arguments:
        in_channels, num_classes: image channels and number of classes.
        input_size: the image side (square).  Below 16 pixels the convolutions pad by 2
            ('same'), so the 8x8 embedded digits fit: 8 -> 4 -> 2, flattened 16*2*2.
        activation: the hidden activation's name (see :data:`ACTIVATIONS`).

    Example::

        >>> lenet5()(cr.randn(2, 1, 28, 28)).shape      # (2, 10); flattened 16*4*4 = 256
    """
    from . import nn
    side = int(input_size)
    pad = 0 if side >= 16 else 2
    f = (side + 2 * pad - 4) // 2
    f = (f + 2 * pad - 4) // 2
    if f < 1:
        raise ValueError(f"lenet5: input_size {input_size} is too small (needs at least 4)")
    return nn.Sequential(
        nn.Conv2d(in_channels, 6, 5, padding=pad), _activation(nn, activation),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5, padding=pad), _activation(nn, activation), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * f * f, 120), _activation(nn, activation),
        nn.Linear(120, 84), _activation(nn, activation), nn.Linear(84, num_classes))


def vgg_small(in_channels=3, num_classes=10, widths=(16, 32, 64), batch_norm=True):
    """A small VGG-style net: per width two 3x3 convolutions (+ batch norm) + ReLU, then a
    2x2 max-pool; global average pooling and a linear classifier.

    Example::

        >>> vgg_small()(cr.randn(2, 3, 32, 32)).shape    # (2, 10)
    """
    from . import nn
    layers, c = [], in_channels
    for w in widths:
        for _ in range(2):
            layers.append(nn.Conv2d(c, w, 3, padding=1, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm2d(w))
            layers.append(nn.ReLU())
            c = w
        layers.append(nn.MaxPool2d(2))
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, num_classes)]
    return nn.Sequential(*layers)


def model_from_spec(spec):
    """Rebuild an ``mlp`` or a ``lenet5`` from the ``"model"`` entry of a run's config.

    A ``lenet5`` spec has ``n_features`` (a square number of pixels, one channel): the model
    starts with ``Unflatten`` so that it takes the flat rows the data sets and ``fit`` use.
    """
    if isinstance(spec, dict) and spec.get("type") == "lenet5":
        from . import nn
        n = int(spec["n_features"])
        side = int(round(n ** 0.5))
        if side * side != n:
            raise ValueError(f"--model cnn needs square images; {n} features is not a square")
        net = lenet5(1, spec.get("num_classes", 10), side, spec.get("activation", "relu"))
        layers = [nn.Unflatten(1, (1, side, side)), *net]
        out = _OUTPUTS.get(spec.get("output_activation"))
        if out is not None:
            layers.append(getattr(nn, out[0])(**out[1]))
        return nn.Sequential(*layers)
    return mlp_from_spec(spec)


def mlp_from_spec(spec):
    """Rebuild a model from the ``"model"`` entry of a run's ``config.json``.

    Arguments:
        spec: ``{"type": "mlp", "sizes": [...], "activation": ..., "output_activation": ...}``.

    Returns:
        The :func:`mlp` it describes (fresh weights: load the state dict next).
    """
    if not isinstance(spec, dict) or spec.get("type") != "mlp":
        raise ValueError(f"unknown model description {spec!r} (expected type 'mlp')")
    return mlp(spec["sizes"], activation=spec["activation"],
               output_activation=spec.get("output_activation"))
