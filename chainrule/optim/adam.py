"""Adam and AdamW: momentum plus per-coordinate RMS scaling, with bias correction."""
from __future__ import annotations

import numpy as np

from ._arrays import _add_squared_, _lerp_
from ._checks import _defaults
from .optimizer import Optimizer

__all__ = ["Adam", "AdamW"]

_PLAIN = ("exp_avg", "exp_avg_sq")
_AMSGRAD = _PLAIN + ("max_exp_avg_sq",)


class _Moments(Optimizer):
    """What the Adam family shares: ``(lr, beta1, beta2, eps)`` and the two moving averages
    ``m = lerp(m, g, 1 - beta1)``, ``v = beta2 v + (1 - beta2) g²``."""

    def _hyper(self, group):
        beta1, beta2 = group["betas"]
        return float(group["lr"]), float(beta1), float(beta2), float(group["eps"])

    def _buffers(self, group):
        return _PLAIN

    @staticmethod
    def _moments(h, g, bufs, out):
        m, v = bufs["exp_avg"], bufs["exp_avg_sq"]
        _lerp_(m, g, 1.0 - h[1], out)
        v *= h[2]
        _add_squared_(v, g, 1.0 - h[2], out)
        return m, v


class Adam(_Moments):
    r"""Adam (Kingma & Ba, 2015), as ``torch.optim.Adam`` (same formulas, same eps placement).

    Each step ``t`` (counted per parameter in ``state[p]['step']``)::

        m = β1 m + (1 - β1) g            v = β2 v + (1 - β2) g²
        p -= lr / (1 - β1^t) · m / (√v / √(1 - β2^t) + eps)

    ``amsgrad`` uses the running maximum of ``v``.  ``weight_decay`` λ adds ``λ p`` to ``g``
    (L2 penalty); with ``decoupled_weight_decay=True`` (that is :class:`AdamW`) it instead
    multiplies ``p`` by ``1 - lr λ`` before the update.

    Arguments:
        params: Tensors or parameter groups (see :class:`Optimizer`).
        lr: learning rate (default 1e-3).
        betas: ``(β1, β2)``, each in [0, 1) (default (0.9, 0.999)).
        eps: added to the denominator (default 1e-8).
        weight_decay: float >= 0 (default 0).
        amsgrad: use the AMSGrad variant.
        decoupled_weight_decay: decay the weights directly instead of through the gradient.
        maximize, foreach, capturable, differentiable, fused: the options of every optimizer (see
            :class:`~chainrule.optim.Optimizer`).

    Example::

        opt = cr.optim.Adam(model.parameters(), lr=1e-3)
        opt.zero_grad(); loss.backward(); opt.step()
    """

    _name = "Adam"
    _fused_kernel = "adam"

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False):
        super().__init__(params, _defaults(
            self._name, ("lr", "eps", "weight_decay"), lr=lr, betas=betas, eps=eps,
            weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize, foreach=foreach,
            capturable=capturable, differentiable=differentiable, fused=fused,
            decoupled_weight_decay=decoupled_weight_decay))

    def _buffers(self, group):
        return _AMSGRAD if group["amsgrad"] else _PLAIN

    def _update(self, h, step, g, bufs, out):
        lr, beta1, beta2, eps = h
        m, v = self._moments(h, g, bufs, out)
        step_size = lr / (1.0 - beta1 ** step)
        bc2_sqrt = (1.0 - beta2 ** step) ** 0.5
        vmax = bufs.get("max_exp_avg_sq")
        if vmax is not None:
            np.maximum(vmax, v, out=vmax)
            v = vmax
        # step_size m / (sqrt(v) / c + eps) with c = sqrt(bc2), computed as
        # step_size c m / (sqrt(v) + c eps): the same value (to rounding) with one pass and one
        # division fewer than PyTorch's order
        np.sqrt(v, out=out)
        out += eps * bc2_sqrt
        np.divide(m, out, out=out)
        out *= step_size * bc2_sqrt


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter), as ``torch.optim.AdamW``.

    Same as :class:`Adam` except that ``weight_decay`` (default 1e-2) shrinks the parameters
    directly, ``p *= 1 - lr · weight_decay``, instead of entering the gradient averages.

    Example::

        opt = cr.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    """

    _name = "AdamW"

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, foreach=None, capturable=False,
                 differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable, differentiable=differentiable,
                         fused=fused, decoupled_weight_decay=True)
