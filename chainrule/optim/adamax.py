"""Adamax: Adam with the infinity norm in place of the root mean square."""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, _check_betas, _check_nonneg, _check_supported, _lerp_

__all__ = ["Adamax"]


class Adamax(Optimizer):
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
        foreach: ``True`` updates the whole group over flat buffers, ``False`` one parameter at
            a time, ``None`` (default: flat); the numbers are the same.
        maximize: maximize the objective instead of minimizing it.
        differentiable, capturable: accepted for PyTorch compatibility
            (``differentiable=True`` is refused).

    Example::

        opt = cr.optim.Adamax(model.parameters(), lr=2e-3)
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 foreach=None, *, maximize=False, differentiable=False, capturable=False):
        _check_supported("Adamax", differentiable)
        _check_nonneg("Adamax", lr=lr, eps=eps, weight_decay=weight_decay)
        super().__init__(params, dict(lr=lr, betas=_check_betas("Adamax", betas), eps=eps,
                                      weight_decay=weight_decay, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable,
                                      capturable=capturable))

    def _hyper(self, group):
        beta1, beta2 = group["betas"]
        return float(group["lr"]), float(beta1), float(beta2), float(group["eps"])

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
