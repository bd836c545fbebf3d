"""RAdam: Adam whose adaptive step is switched on once its variance estimate is reliable."""
from __future__ import annotations

import numpy as np

from .adam import _Moments
from ._checks import _defaults

__all__ = ["RAdam"]


class RAdam(_Moments):
    r"""Rectified Adam (Liu et al., 2020), as ``torch.optim.RAdam``.

    Each step ``t``: ``m`` and ``v`` as in Adam; with ``ρ∞ = 2 / (1 - β2) - 1`` and
    ``ρ_t = ρ∞ - 2 t β2^t / (1 - β2^t)``, while ``ρ_t <= 5`` the step is momentum SGD with
    bias correction, ``p -= lr · m / (1 - β1^t)``; after that it is Adam's step times the
    rectification ``r_t = √((ρ_t - 4)(ρ_t - 2) ρ∞ / ((ρ∞ - 4)(ρ∞ - 2) ρ_t))``.

    ``weight_decay`` λ adds ``λ p`` to ``g``, or with ``decoupled_weight_decay=True`` multiplies
    ``p`` by ``1 - lr λ`` first (RAdamW).

    Arguments:
        params, lr, betas, eps, weight_decay, decoupled_weight_decay: as for
            :class:`~chainrule.optim.Adam` (``decoupled_weight_decay=True`` is RAdamW).
        maximize, foreach, capturable, differentiable: the options of every optimizer (see
            :class:`~chainrule.optim.Optimizer`).

    Example::

        opt = cr.optim.RAdam(model.parameters(), lr=1e-3)
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False,
                 capturable=False, differentiable=False):
        super().__init__(params, _defaults(
            "RAdam", ("lr", "eps", "weight_decay"), lr=lr, betas=betas, eps=eps,
            weight_decay=weight_decay, maximize=maximize, foreach=foreach, capturable=capturable,
            decoupled_weight_decay=decoupled_weight_decay, differentiable=differentiable))

    def _update(self, h, step, g, bufs, out):
        lr, beta1, beta2, eps = h
        m, v = self._moments(h, g, bufs, out)
        bc1 = 1.0 - beta1 ** step
        bc2 = 1.0 - beta2 ** step
        rho_inf = 2.0 / (1.0 - beta2) - 1.0
        rho_t = rho_inf - 2.0 * step * beta2 ** step / bc2
        if rho_t <= 5.0:
            np.multiply(m, lr / bc1, out=out)
            return
        rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
        np.sqrt(v, out=out)
        out += eps
        np.divide(bc2 ** 0.5, out, out=out)
        out *= m
        out *= lr * rect / bc1
