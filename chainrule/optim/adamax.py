"""Adamax: Adam with the infinity norm in place of the root mean square."""
from __future__ import annotations

import numpy as np

from ._arrays import _lerp_
from .adam import _Moments
from ._checks import _defaults

__all__ = ["Adamax"]


class Adamax(_Moments):
    r"""Adamax (Kingma & Ba, 2015, section 7), as ``torch.optim.Adamax``.

    Each step ``t``::

        m = β1 m + (1 - β1) g          u = max(β2 u, |g| + eps)
        p -= lr / (1 - β1^t) · m / u

    Arguments:
        params: Tensors or parameter groups (see :class:`Optimizer`).
        lr: learning rate (default 2e-3).
        betas: ``(β1, β2)``, each in [0, 1) (default (0.9, 0.999)).
        eps: added to ``|g|`` (default 1e-8).
        weight_decay: L2 penalty added to the gradient (default 0).
        maximize, foreach, differentiable, capturable: the options of every optimizer (see
            :class:`~chainrule.optim.Optimizer`).

    Example::

        opt = cr.optim.Adamax(model.parameters(), lr=2e-3)
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 foreach=None, *, maximize=False, differentiable=False, capturable=False):
        super().__init__(params, _defaults(
            "Adamax", ("lr", "eps", "weight_decay"), lr=lr, betas=betas, eps=eps,
            weight_decay=weight_decay, foreach=foreach, maximize=maximize,
            differentiable=differentiable, capturable=capturable))

    def _buffers(self, group):
        return ("exp_avg", "exp_inf")

    def _update(self, h, step, g, bufs, out):
        lr, beta1, beta2, eps = h
        m, u = bufs["exp_avg"], bufs["exp_inf"]
        _lerp_(m, g, 1.0 - beta1, out)
        u *= beta2
        np.abs(g, out=out)
        out += eps
        np.maximum(u, out, out=u)
        np.divide(m, u, out=out)
        out *= lr / (1.0 - beta1 ** step)
