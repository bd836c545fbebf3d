"""RAdam: Adam whose adaptive step is switched on once its variance estimate is reliable."""
from __future__ import annotations

import numpy as np

from .optimizer import (Optimizer, _add_squared_, _check_betas, _check_nonneg, _check_supported,
                        _lerp_)

__all__ = ["RAdam"]


class RAdam(Optimizer):
    r"""Rectified Adam (Liu et al., 2020), as ``torch.optim.RAdam``.

    Each step ``t``: ``m`` and ``v`` as in Adam; with ``ρ∞ = 2 / (1 - β2) - 1`` and
    ``ρ_t = ρ∞ - 2 t β2^t / (1 - β2^t)``, while ``ρ_t <= 5`` the step is momentum SGD with
    bias correction, ``p -= lr · m / (1 - β1^t)``; after that it is Adam's step times the
    rectification ``r_t = √((ρ_t - 4)(ρ_t - 2) ρ∞ / ((ρ∞ - 4)(ρ∞ - 2) ρ_t))``.

    ``weight_decay`` λ adds ``λ p`` to ``g``, or with ``decoupled_weight_decay=True`` multiplies
    ``p`` by ``1 - lr λ`` first (RAdamW).

    Arguments:
        params: Tensors or parameter groups (see :class:`Optimizer`).
        lr: learning rate (default 1e-3).
        betas: ``(β1, β2)``, each in [0, 1) (default (0.9, 0.999)).
        eps: added to ``√v`` (default 1e-8).
        weight_decay: float >= 0 (default 0).
        decoupled_weight_decay: decay the weights directly instead of through the gradient.
        foreach: ``True`` updates the whole group over flat buffers, ``False`` one parameter at
            a time, ``None`` (default: flat); the numbers are the same.
        maximize: maximize the objective instead of minimizing it.
        capturable, differentiable: accepted for PyTorch compatibility
            (``differentiable=True`` is refused).

    Example::

        opt = cr.optim.RAdam(model.parameters(), lr=1e-3)
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False,
                 capturable=False, differentiable=False):
        _check_supported("RAdam", differentiable)
        _check_nonneg("RAdam", lr=lr, eps=eps, weight_decay=weight_decay)
        super().__init__(params, dict(lr=lr, betas=_check_betas("RAdam", betas), eps=eps,
                                      weight_decay=weight_decay, maximize=maximize,
                                      foreach=foreach, capturable=capturable,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      differentiable=differentiable))

    def _hyper(self, group):
        beta1, beta2 = group["betas"]
        return float(group["lr"]), float(beta1), float(beta2), float(group["eps"])

    def _buffers(self, group):
        return ("exp_avg", "exp_avg_sq")

    def _update(self, h, step, g, bufs, out):
        lr, beta1, beta2, eps = h
        m, v = bufs["exp_avg"], bufs["exp_avg_sq"]
        _lerp_(m, g, 1.0 - beta1, out)
        v *= beta2
        _add_squared_(v, g, 1.0 - beta2, out)
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
