"""Stochastic gradient descent, with momentum, Nesterov momentum and weight decay."""
from __future__ import annotations

import numpy as np

from ._flat import flat_for
from .optimizer import scratch, Optimizer, _buffer, _check_nonneg, _check_supported

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
        maximize: maximize the objective instead of minimizing it.
        foreach, fused, capturable: accepted for PyTorch compatibility (no effect here).

    Returns:
        ``step(closure)`` returns the closure's loss (``None`` without a closure).

    Example::

        w = cr.tensor([1.0, -2.0], requires_grad=True)
        opt = cr.optim.SGD([w], lr=0.1, momentum=0.9)
        for _ in range(100):
            opt.zero_grad(); (w * w).sum().backward(); opt.step()
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, *, maximize=False, foreach=None, differentiable=False,
                 fused=None):
        _check_supported("SGD", differentiable)
        _check_nonneg("SGD", lr=lr, momentum=momentum, weight_decay=weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum and zero dampening "
                             f"(got momentum={momentum}, dampening={dampening})")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure_loss(closure) if closure is not None else None
        state = self.state
        for group in self.param_groups:
            lr = float(group["lr"])
            momentum = float(group["momentum"])
            wd = float(group["weight_decay"])
            maximize = group["maximize"]
            if momentum == 0.0 and wd == 0.0 and not maximize:
                flat = flat_for(self, group)
                if flat is not None and flat.ready():     # one update over the whole group
                    d = flat.data
                    d -= np.multiply(flat.grad, lr, out=flat.scratch())
                    flat.bump_versions()
                    continue
            keep = 1.0 - float(group["dampening"])
            nesterov = group["nesterov"]
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                g = g._data
                d = p._data
                if maximize:
                    g = -g
                if wd != 0.0:
                    g = g + wd * d
                if momentum != 0.0:
                    st = state[p]
                    buf = st.get("momentum_buffer")
                    if buf is None:
                        b = g.copy(order="K")     # keep the parameter's memory layout
                        st["momentum_buffer"] = _buffer(b)
                    else:
                        b = buf._data
                        b *= momentum
                        if keep != 1.0:
                            s = scratch(self, d)
                            b += np.multiply(g, keep, out=s)
                        else:
                            b += g
                    g = g + momentum * b if nesterov else b
                # d <- d - lr g, through a reused buffer rather than a new temporary
                d -= np.multiply(g, lr, out=scratch(self, d))
                p._version += 1
        return loss
