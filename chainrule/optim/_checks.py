"""Hyperparameter checks shared by the optimizers (PyTorch's messages, naming the optimizer)."""
from __future__ import annotations


class _RequiredParameter:
    """Marks a hyperparameter that has no default and must be given per group."""
    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


def _check_nonneg(opt, **values):
    """Raise ``ValueError`` naming the optimizer for any hyperparameter below zero."""
    for key, value in values.items():
        if not 0.0 <= value:
            label = "learning rate" if key == "lr" else f"{key} value"
            raise ValueError(f"{opt}: Invalid {label}: {value} (expected >= 0)")


def _check_betas(opt, betas):
    """``betas`` as a pair of floats in [0, 1), or ``ValueError`` naming the optimizer."""
    if len(betas) != 2:
        raise ValueError(f"{opt}: betas must be a pair (beta1, beta2), got {betas!r}")
    for i, beta in enumerate(betas):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"{opt}: Invalid beta parameter at index {i}: {beta} "
                             "(expected 0 <= beta < 1)")
    return float(betas[0]), float(betas[1])


def _check_supported(opt, differentiable):
    """``differentiable=True`` is refused (``fused`` is read by the step loop)."""
    if differentiable:
        raise NotImplementedError(f"{opt}: differentiable=True (backprop through the update) is "
                                  "not supported")


def _defaults(opt, nonneg, **group):
    """A group's defaults after PyTorch's checks: ``differentiable=True`` refused, the
    hyperparameters named in ``nonneg`` at least 0, ``betas`` a pair in [0, 1)."""
    _check_supported(opt, group.get("differentiable", False))
    _check_nonneg(opt, **{k: group[k] for k in nonneg})
    if "betas" in group:
        group["betas"] = _check_betas(opt, group["betas"])
    return group
