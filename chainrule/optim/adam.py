"""Adam and AdamW: momentum plus per-coordinate RMS scaling, with bias correction."""
from __future__ import annotations

import numpy as np

from ._flat import flat_for
from .optimizer import (Optimizer, scratch, _buffer, _check_nonneg, _check_supported, _lerp_,
                        _state_buffer)

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
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
        maximize: maximize the objective instead of minimizing it.
        foreach, fused, capturable: accepted for PyTorch compatibility (no effect here).

    Returns:
        ``step(closure)`` returns the closure's loss (``None`` without a closure).

    Example::

        opt = cr.optim.Adam(model.parameters(), lr=1e-3)
        opt.zero_grad(); loss.backward(); opt.step()
    """

    _name = "Adam"

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False):
        _check_supported(self._name, differentiable)
        _check_nonneg(self._name, lr=lr, eps=eps, weight_decay=weight_decay)
        if len(betas) != 2:
            raise ValueError(f"{self._name}: betas must be a pair (beta1, beta2), got {betas!r}")
        for i, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"{self._name}: Invalid beta parameter at index {i}: {beta} "
                                 "(expected 0 <= beta < 1)")
        defaults = dict(lr=lr, betas=(float(betas[0]), float(betas[1])), eps=eps,
                        weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure_loss(closure) if closure is not None else None
        state = self.state
        for group in self.param_groups:
            lr = float(group["lr"])
            beta1, beta2 = (float(b) for b in group["betas"])
            eps = float(group["eps"])
            wd = float(group["weight_decay"])
            decoupled = group["decoupled_weight_decay"]
            amsgrad = group["amsgrad"]
            maximize = group["maximize"]
            if not amsgrad:
                flat = flat_for(self, group)
                if flat is not None and flat.ready() and _flat_state(flat, state):
                    step = None
                    for p in flat.params:
                        st = state[p]
                        st["step"] += 1
                        step = st["step"]
                    _update(flat.data, flat.grad, flat.m, flat.v, flat.scratch(), lr, beta1, beta2,
                            eps, wd, decoupled, maximize, step, None)
                    flat.bump_versions()
                    continue
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                d = p._data
                st = state[p]
                if not st:
                    st["step"] = 0
                    st["exp_avg"] = _buffer(np.zeros_like(d))
                    st["exp_avg_sq"] = _buffer(np.zeros_like(d))
                st["step"] += 1
                s = scratch(self, d)          # every step below runs in place: no allocation
                if s is None:
                    s = np.empty_like(d)
                vmax = _state_buffer(st, "max_exp_avg_sq", d) if amsgrad else None
                _update(d, g._data, st["exp_avg"]._data, st["exp_avg_sq"]._data, s, lr, beta1,
                        beta2, eps, wd, decoupled, maximize, st["step"], vmax)
                p._version += 1
        return loss


def _update(d, g, m, v, s, lr, beta1, beta2, eps, wd, decoupled, maximize, step, vmax):
    """One Adam step on arrays (one parameter, or a whole group's flat buffers), in place."""
    if maximize:
        g = -g
    if wd != 0.0:
        if decoupled:
            d *= 1.0 - lr * wd
        else:
            g = g + wd * d
    if beta1 > 0.5:               # m <- lerp(m, g, 1 - beta1), as torch.lerp_
        np.subtract(g, m, out=s)
        s *= 1.0 - beta1
        m += s
    else:
        _lerp_(m, g, 1.0 - beta1)
    v *= beta2                    # v <- v beta2 + (1 - beta2) g g (torch.addcmul_)
    np.multiply(g, 1.0 - beta2, out=s)
    s *= g
    v += s
    step_size = lr / (1.0 - beta1 ** step)
    bc2_sqrt = (1.0 - beta2 ** step) ** 0.5
    if vmax is not None:
        np.maximum(vmax, v, out=vmax)
        np.sqrt(vmax, out=s)
    else:
        np.sqrt(v, out=s)
    # step_size m / (sqrt(v) / c + eps), c = sqrt(bc2), computed as step_size c m / (sqrt(v) + c eps):
    # the same value (to rounding) with one pass and one division fewer than PyTorch's order
    s += eps * bc2_sqrt
    np.divide(m, s, out=s)
    s *= step_size * bc2_sqrt
    d -= s


def _flat_state(flat, state):
    """Give ``flat`` flat moment buffers whose views are every parameter's state; False when the
    parameters' states disagree (different step counts, AMSGrad buffers) and can't be merged."""
    if getattr(flat, "m", None) is not None:     # every step: one pass that checks nothing moved
        step = None
        for p, mv, vv in zip(flat.params, flat.m_views, flat.v_views):
            st = state.get(p)
            if not st or st["exp_avg"]._data is not mv or st["exp_avg_sq"]._data is not vv or \
                    (step is not None and st["step"] != step):
                break
            step = st["step"]
        else:
            return True
    sts = [state.get(p) for p in flat.params]
    if any(sts) and (not all(sts) or len({st["step"] for st in sts}) != 1
                     or any("max_exp_avg_sq" in st for st in sts)):
        return False
    flat.m = np.zeros_like(flat.data)
    flat.v = np.zeros_like(flat.data)
    flat.m_views = flat.like(flat.m)
    flat.v_views = flat.like(flat.v)
    for p, st, mv, vv in zip(flat.params, sts, flat.m_views, flat.v_views):
        st = state[p]
        if st:                        # carry over what the per-parameter path (or a load) made
            mv[...] = st["exp_avg"]._data
            vv[...] = st["exp_avg_sq"]._data
        else:
            st["step"] = 0
        st["exp_avg"] = _buffer(mv)
        st["exp_avg_sq"] = _buffer(vv)
    return True


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
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         differentiable=differentiable, decoupled_weight_decay=True)
