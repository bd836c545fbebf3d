"""Adagrad: per-coordinate learning rates shrunk by the running sum of squared gradients."""
from __future__ import annotations

import numpy as np

from ._arrays import _add_squared_
from ._checks import _defaults
from .optimizer import Optimizer

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al., 2011), as ``torch.optim.Adagrad``.

    Each step: ``sum += g²``; ``p -= clr · g / (√sum + eps)`` with
    ``clr = lr / (1 + (step - 1) · lr_decay)``; ``weight_decay`` λ adds ``λ p`` to ``g`` first.

    Arguments:
        params: Tensors or parameter groups (see :class:`Optimizer`).
        lr: learning rate (default 1e-2).
        lr_decay: decay of the learning rate per step (default 0).
        weight_decay: L2 penalty added to the gradient (default 0).
        initial_accumulator_value: starting value of ``sum`` (default 0).
        eps: added to the denominator (default 1e-10).
        maximize, foreach, differentiable, fused: the options of every optimizer (see
            :class:`~chainrule.optim.Optimizer`).

    Example::

        opt = cr.optim.Adagrad([w], lr=0.1)
        opt.zero_grad(); loss.backward(); opt.step()
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, foreach=None, *, maximize=False, differentiable=False, fused=None):
        super().__init__(params, _defaults(
            "Adagrad", ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"),
            lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value, foreach=foreach,
            maximize=maximize, differentiable=differentiable, fused=fused))
        # as torch: the state exists from construction on, so state_dict() lists every parameter
        for group in self.param_groups:
            for p in group["params"]:
                self._state(p, group, self._buffers(group))

    def _hyper(self, group):
        return float(group["lr"]), float(group["lr_decay"]), float(group["eps"])

    def _buffers(self, group):
        return ("sum",)

    def _fill(self, group, key):
        return float(group["initial_accumulator_value"])

    def _update(self, h, step, g, bufs, out):
        lr, lr_decay, eps = h
        s = bufs["sum"]
        _add_squared_(s, g, 1.0, out)
        np.sqrt(s, out=out)
        out += eps
        np.divide(g, out, out=out)
        out *= lr / (1 + (step - 1) * lr_decay)
