"""RMSprop: divide the gradient by a running root-mean-square of recent gradients."""
from __future__ import annotations

import numpy as np

from ._arrays import _add_squared_, _lerp_
from ._checks import _defaults
from .optimizer import Optimizer

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop (Hinton's lecture 6e), as ``torch.optim.RMSprop``.

    Each step: ``v = α v + (1 - α) g²``; ``avg = √v + eps`` (``centered`` subtracts the squared
    running mean of ``g`` from ``v`` first); ``p -= lr · g / avg``, or with ``momentum`` μ:
    ``b = μ b + g / avg``, ``p -= lr · b``.  ``weight_decay`` λ adds ``λ p`` to ``g`` first.

    Arguments:
        params: Tensors or parameter groups (see :class:`Optimizer`).
        lr: learning rate (default 1e-2).
        alpha: smoothing constant of the squared-gradient average (default 0.99).
        eps: added to the denominator (default 1e-8).
        weight_decay, momentum: floats >= 0 (default 0).
        centered: normalize by an estimate of the gradient's variance instead.
        maximize, foreach, capturable, differentiable: the options of every optimizer (see
            :class:`~chainrule.optim.Optimizer`).

    Example::

        opt = cr.optim.RMSprop([w], lr=0.01, momentum=0.9)
        opt.zero_grad(); loss.backward(); opt.step()
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        super().__init__(params, _defaults(
            "RMSprop", ("lr", "eps", "momentum", "weight_decay", "alpha"), lr=lr,
            momentum=momentum, alpha=alpha, eps=eps, centered=centered, weight_decay=weight_decay,
            capturable=capturable, foreach=foreach, maximize=maximize,
            differentiable=differentiable))

    def _hyper(self, group):
        return (float(group["lr"]), float(group["alpha"]), float(group["eps"]),
                float(group["momentum"]))

    def _buffers(self, group):
        return ("square_avg",) + (("momentum_buffer",) if group["momentum"] > 0 else ()) + \
            (("grad_avg",) if group["centered"] else ())

    def _update(self, h, step, g, bufs, out):
        lr, alpha, eps, momentum = h
        sq = bufs["square_avg"]
        sq *= alpha
        _add_squared_(sq, g, 1.0 - alpha, out)
        ga = bufs.get("grad_avg")
        if ga is not None:                        # centered: sqrt(v - mean(g)²)
            _lerp_(ga, g, 1.0 - alpha, out)
            np.multiply(ga, ga, out=out)
            np.subtract(sq, out, out=out)
            np.sqrt(out, out=out)
        else:
            np.sqrt(sq, out=out)
        out += eps
        np.divide(g, out, out=out)
        buf = bufs.get("momentum_buffer")
        if buf is not None:
            buf *= momentum
            buf += out
            np.multiply(buf, lr, out=out)
        else:
            out *= lr
