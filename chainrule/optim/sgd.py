"""Stochastic gradient descent, with momentum, Nesterov momentum and weight decay."""
from __future__ import annotations

import numpy as np

from ._checks import _defaults
from .optimizer import Optimizer

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Gradient descent: ``p -= lr * g`` (as ``torch.optim.SGD``, same update rule).

    Batch, mini-batch and stochastic gradient descent are this one optimizer: what differs is how
    many examples the loss that produced ``g`` averaged over (the DataLoader's ``batch_size``).

    With ``momentum`` μ the step uses the buffer ``b = μ b + (1 - dampening) g`` (``b = g`` on
    the first step); ``nesterov`` uses ``g + μ b`` instead of ``b``.  ``weight_decay`` λ adds
    ``λ p`` to the gradient first; ``maximize`` ascends instead.

    Arguments:
        params: Tensors or parameter groups (see :class:`Optimizer`).
        lr: learning rate (default 1e-3, as PyTorch).
        momentum, dampening, weight_decay: floats >= 0 (default 0).
        nesterov: Nesterov momentum (needs momentum > 0 and dampening 0).
        maximize, foreach, differentiable, fused: the options of every optimizer (see
            :class:`~chainrule.optim.Optimizer`).

    Example::

        w = cr.tensor([1.0, -2.0], requires_grad=True)
        opt = cr.optim.SGD([w], lr=0.1, momentum=0.9)
        for _ in range(100):
            opt.zero_grad(); (w * w).sum().backward(); opt.step()
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, *, maximize=False, foreach=None, differentiable=False,
                 fused=None):
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum and zero dampening "
                             f"(got momentum={momentum}, dampening={dampening})")
        super().__init__(params, _defaults(
            "SGD", ("lr", "momentum", "weight_decay"), lr=lr, momentum=momentum,
            dampening=dampening, weight_decay=weight_decay, nesterov=nesterov, maximize=maximize,
            foreach=foreach, differentiable=differentiable, fused=fused))

    _keeps_step = False
    _fused_kernel = "sgd"

    def _hyper(self, group):
        return (float(group["lr"]), float(group["momentum"]), 1.0 - float(group["dampening"]),
                group["nesterov"])

    def _buffers(self, group):
        return ("momentum_buffer",) if group["momentum"] != 0 else ()

    def _flat_pays(self, group, params):   # plain SGD is one pass: gathering would double it
        return group["momentum"] != 0 and super()._flat_pays(group, params)

    def _scalars(self, h, st, fresh):
        return fresh

    def _update(self, h, fresh, g, bufs, out):
        lr, momentum, keep, nesterov = h
        if bufs:
            b = bufs["momentum_buffer"]
            if fresh:                             # b = g on the first step, as PyTorch
                np.copyto(b, g)
            else:
                b *= momentum
                if keep != 1.0:
                    np.multiply(g, keep, out=out)
                    b += out
                else:
                    b += g
            if nesterov:                          # g + momentum b
                np.multiply(b, momentum, out=out)
                out += g
                out *= lr
                return
            g = b
        np.multiply(g, lr, out=out)
