"""RMSprop: divide the gradient by a running root-mean-square of recent gradients."""
from __future__ import annotations

import numpy as np

from .optimizer import (Optimizer, _buffer, _check_nonneg, _check_supported, _lerp_,
                        _state_buffer)

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
        maximize: maximize the objective instead of minimizing it.
        foreach, fused, capturable: accepted for PyTorch compatibility (no effect here).

    Returns:
        ``step(closure)`` returns the closure's loss (``None`` without a closure).

    Example::

        opt = cr.optim.RMSprop([w], lr=0.01, momentum=0.9)
        opt.zero_grad(); loss.backward(); opt.step()
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        _check_supported("RMSprop", differentiable)
        _check_nonneg("RMSprop", lr=lr, eps=eps, momentum=momentum, weight_decay=weight_decay,
                      alpha=alpha)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure_loss(closure) if closure is not None else None
        state = self.state
        for group in self.param_groups:
            lr = float(group["lr"])
            alpha = float(group["alpha"])
            eps = float(group["eps"])
            wd = float(group["weight_decay"])
            momentum = float(group["momentum"])
            centered = group["centered"]
            maximize = group["maximize"]
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                g = g._data
                d = p._data
                st = state[p]
                if not st:
                    st["step"] = 0
                    st["square_avg"] = _buffer(np.zeros_like(d))
                st["step"] += 1
                if maximize:
                    g = -g
                if wd != 0.0:
                    g = g + wd * d
                sq = st["square_avg"]._data
                sq *= alpha
                sq += (1.0 - alpha) * g * g
                if centered:
                    ga = _state_buffer(st, "grad_avg", d)
                    _lerp_(ga, g, 1.0 - alpha)
                    avg = sq - ga * ga
                    np.sqrt(avg, out=avg)
                else:
                    avg = np.sqrt(sq)
                avg += eps
                np.divide(g, avg, out=avg)
                if momentum > 0:
                    buf = _state_buffer(st, "momentum_buffer", d)
                    buf *= momentum
                    buf += avg
                    d -= lr * buf
                else:
                    avg *= lr
                    d -= avg
                p._version += 1
        return loss
