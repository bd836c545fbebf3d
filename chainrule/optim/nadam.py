"""NAdam: Adam with Nesterov momentum and a momentum schedule."""
from __future__ import annotations

import numpy as np

from .optimizer import (Optimizer, _add_squared_, _check_betas, _check_nonneg, _check_supported,
                        _lerp_)

__all__ = ["NAdam"]


class NAdam(Optimizer):
    r"""NAdam (Dozat, 2016), as ``torch.optim.NAdam``.

    Each step ``t``, with the momentum schedule ``μ_t = β1 (1 - ½ · 0.96^(t ψ))`` (ψ the
    ``momentum_decay``) and ``Π_t = μ_1 ⋯ μ_t`` (``state[p]['mu_product']``)::

        m = β1 m + (1 - β1) g          v = β2 v + (1 - β2) g²
        p -= lr · ((1 - μ_t) / (1 - Π_t) · g + μ_{t+1} / (1 - Π_t μ_{t+1}) · m)
                / (√(v / (1 - β2^t)) + eps)

    ``weight_decay`` λ adds ``λ p`` to ``g``, or with ``decoupled_weight_decay=True`` multiplies
    ``p`` by ``1 - lr λ`` first (NAdamW).

    Arguments:
        params: Tensors or parameter groups (see :class:`Optimizer`).
        lr: learning rate (default 2e-3).
        betas: ``(β1, β2)``, each in [0, 1) (default (0.9, 0.999)).
        eps: added to the denominator (default 1e-8).
        weight_decay: float >= 0 (default 0).
        momentum_decay: ψ (default 4e-3).
        decoupled_weight_decay: decay the weights directly instead of through the gradient.
        foreach: ``True`` updates the whole group over flat buffers, ``False`` one parameter at
            a time, ``None`` (default: flat); the numbers are the same.
        maximize: maximize the objective instead of minimizing it.
        capturable, differentiable: accepted for PyTorch compatibility
            (``differentiable=True`` is refused).

    Example::

        opt = cr.optim.NAdam(model.parameters(), lr=2e-3)
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False):
        _check_supported("NAdam", differentiable)
        _check_nonneg("NAdam", lr=lr, eps=eps, weight_decay=weight_decay,
                      momentum_decay=momentum_decay)
        super().__init__(params, dict(lr=lr, betas=_check_betas("NAdam", betas), eps=eps,
                                      weight_decay=weight_decay, momentum_decay=momentum_decay,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize, foreach=foreach, capturable=capturable,
                                      differentiable=differentiable))

    _numbers = ("step", "mu_product")

    def _hyper(self, group):
        beta1, beta2 = group["betas"]
        return (float(group["lr"]), float(beta1), float(beta2), float(group["eps"]),
                float(group["momentum_decay"]))

    def _buffers(self, group):
        return ("exp_avg", "exp_avg_sq")

    def _init_scalars(self, st, group):
        st["step"] = 0
        st["mu_product"] = 1.0

    def _scalars(self, h, st, fresh):
        beta1, psi = h[1], h[4]
        st["step"] = step = st["step"] + 1
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * psi))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * psi))
        st["mu_product"] = product = st["mu_product"] * mu
        return step, mu, mu_next, product

    def _update(self, h, c, g, bufs, out):
        lr, beta1, beta2, eps, _ = h
        step, mu, mu_next, product = c
        m, v = bufs["exp_avg"], bufs["exp_avg_sq"]
        _lerp_(m, g, 1.0 - beta1, out)
        v *= beta2
        _add_squared_(v, g, 1.0 - beta2, out)
        denom = np.divide(v, 1.0 - beta2 ** step)
        np.sqrt(denom, out=denom)
        denom += eps
        np.divide(g, denom, out=out)
        out *= lr * (1.0 - mu) / (1.0 - product)
        np.divide(m, denom, out=denom)
        denom *= lr * mu_next / (1.0 - product * mu_next)
        out += denom
