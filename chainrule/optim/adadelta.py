"""Adadelta: step sizes from running averages of squared gradients and squared updates."""
from __future__ import annotations

import numpy as np

from ._arrays import _add_squared_
from ._checks import _defaults
from .optimizer import Optimizer

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler, 2012), as ``torch.optim.Adadelta``.

    Each step, with ``v`` the running average of ``g²`` and ``u`` that of the squared updates::

        v = ρ v + (1 - ρ) g²          Δ = √(u + eps) / √(v + eps) · g
        u = ρ u + (1 - ρ) Δ²          p -= lr · Δ

    Arguments:
        params: Tensors or parameter groups (see :class:`Optimizer`).
        lr: scale of the update (default 1.0).
        rho: smoothing constant of both averages, in [0, 1] (default 0.9).
        eps: keeps the square roots away from zero (default 1e-6).
        weight_decay: L2 penalty added to the gradient (default 0).
        maximize, foreach, capturable, differentiable: the options of every optimizer (see
            :class:`~chainrule.optim.Optimizer`).

    Example::

        opt = cr.optim.Adadelta(model.parameters())
        opt.zero_grad(); loss.backward(); opt.step()
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 capturable=False, maximize=False, differentiable=False):
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Adadelta: Invalid rho value: {rho} (expected 0 <= rho <= 1)")
        super().__init__(params, _defaults(
            "Adadelta", ("lr", "eps", "weight_decay"), lr=lr, rho=rho, eps=eps,
            weight_decay=weight_decay, maximize=maximize, capturable=capturable, foreach=foreach,
            differentiable=differentiable))

    def _hyper(self, group):
        return float(group["lr"]), float(group["rho"]), float(group["eps"])

    def _buffers(self, group):
        return ("square_avg", "acc_delta")

    def _update(self, h, step, g, bufs, out):
        lr, rho, eps = h
        v, u = bufs["square_avg"], bufs["acc_delta"]
        v *= rho
        _add_squared_(v, g, 1.0 - rho, out)
        std = np.add(v, eps)
        np.sqrt(std, out=std)
        np.add(u, eps, out=out)
        np.sqrt(out, out=out)
        out /= std
        out *= g                                  # out is the update Δ
        u *= rho
        _add_squared_(u, out, 1.0 - rho, std)
        out *= lr
