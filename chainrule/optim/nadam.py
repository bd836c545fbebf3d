"""NAdam: Adam with Nesterov momentum and a momentum schedule."""
from __future__ import annotations

import numpy as np

from .adam import _Moments
from ._checks import _defaults

__all__ = ["NAdam"]


class NAdam(_Moments):
    r"""NAdam (Dozat, 2016), as ``torch.optim.NAdam``.

    Each step ``t``, with the momentum schedule ``μ_t = β1 (1 - ½ · 0.96^(t ψ))`` (ψ the
    ``momentum_decay``) and ``Π_t = μ_1 ⋯ μ_t`` (``state[p]['mu_product']``)::

        m = β1 m + (1 - β1) g          v = β2 v + (1 - β2) g²
        p -= lr · ((1 - μ_t) / (1 - Π_t) · g + μ_{t+1} / (1 - Π_t μ_{t+1}) · m)
                / (√(v / (1 - β2^t)) + eps)

    ``weight_decay`` λ adds ``λ p`` to ``g``, or with ``decoupled_weight_decay=True`` multiplies
    ``p`` by ``1 - lr λ`` first (NAdamW).

    Arguments:
        lr: learning rate (default 2e-3).
        momentum_decay: ψ (default 4e-3).
        params, betas, eps, weight_decay, decoupled_weight_decay: as for
            :class:`~chainrule.optim.Adam`.
        maximize, foreach, capturable, differentiable: the options of every optimizer (see
            :class:`~chainrule.optim.Optimizer`).

    Example::

        opt = cr.optim.NAdam(model.parameters(), lr=2e-3)
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False):
        super().__init__(params, _defaults(
            "NAdam", ("lr", "eps", "weight_decay", "momentum_decay"), lr=lr, betas=betas,
            eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay,
            decoupled_weight_decay=decoupled_weight_decay, maximize=maximize, foreach=foreach,
            capturable=capturable, differentiable=differentiable))

    _numbers = ("step", "mu_product")

    def _hyper(self, group):
        return super()._hyper(group) + (float(group["momentum_decay"]),)

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
        m, v = self._moments(h, g, bufs, out)
        denom = np.divide(v, 1.0 - beta2 ** step)
        np.sqrt(denom, out=denom)
        denom += eps
        np.divide(g, denom, out=out)
        out *= lr * (1.0 - mu) / (1.0 - product)
        np.divide(m, denom, out=denom)
        denom *= lr * mu_next / (1.0 - product * mu_next)
        out += denom
