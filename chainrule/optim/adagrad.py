"""Adagrad: per-coordinate learning rates shrunk by the running sum of squared gradients."""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, _buffer, _check_nonneg, _check_supported

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
        maximize: maximize the objective instead of minimizing it.
        foreach, fused, capturable: accepted for PyTorch compatibility (no effect here).

    Returns:
        ``step(closure)`` returns the closure's loss (``None`` without a closure).

    Example::

        opt = cr.optim.Adagrad([w], lr=0.1)
        opt.zero_grad(); loss.backward(); opt.step()
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, foreach=None, *, maximize=False, differentiable=False, fused=None):
        _check_supported("Adagrad", differentiable)
        _check_nonneg("Adagrad", lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                      initial_accumulator_value=initial_accumulator_value, eps=eps)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, maximize=maximize)
        super().__init__(params, defaults)
        # as torch: the state exists from construction on, so state_dict() lists every parameter
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, group)

    def _init_state(self, p, group):
        st = self.state[p]
        st["step"] = 0
        st["sum"] = _buffer(np.full_like(p._data, float(group["initial_accumulator_value"])))
        return st

    def step(self, closure=None):
        loss = self._closure_loss(closure) if closure is not None else None
        state = self.state
        for group in self.param_groups:
            lr = float(group["lr"])
            lr_decay = float(group["lr_decay"])
            wd = float(group["weight_decay"])
            eps = float(group["eps"])
            maximize = group["maximize"]
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                g = g._data
                d = p._data
                st = state[p]
                if "sum" not in st:
                    st = self._init_state(p, group)
                st["step"] += 1
                step = st["step"]
                if maximize:
                    g = -g
                if wd != 0.0:
                    g = g + wd * d
                clr = lr / (1 + (step - 1) * lr_decay)
                s = st["sum"]._data
                s += g * g
                std = np.sqrt(s)
                std += eps
                np.divide(g, std, out=std)
                std *= clr
                d -= std
                p._version += 1
        return loss
