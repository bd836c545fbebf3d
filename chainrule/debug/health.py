"""Turning the monitor's numbers into advice a student can act on.

Each check reads one epoch's per-layer statistics and returns ``(kind, layer, message)`` tuples.
The thresholds are rules of thumb (cs231n's "update / weight ratio about 1e-3"; a gradient that
shrinks a thousandfold from the last layer to the first is vanishing) and can be changed through
``TrainingMonitor(thresholds={...})``.
"""
from __future__ import annotations

import math

DEFAULTS = {
    "vanishing_ratio": 1e-3,    # first-layer grad norm / last-layer grad norm below this
    "vanishing_abs": 1e-7,      # or a layer's gradient norm below this
    "exploding_ratio": 1e3,     # first / last above this
    "exploding_abs": 1e4,       # or a gradient norm above this
    "dead": 0.5,                # fraction of ReLU units never active over the epoch
    "saturated": 0.5,           # fraction of sigmoid/tanh outputs stuck near their limits
    "lr_high": 0.1,             # median update / weight ratio above this
    "lr_low": 1e-6,             # largest update / weight ratio below this
    "loss_up": 3,               # epochs before a loss above the first epoch's counts
}


class TrainingHealthWarning(UserWarning):
    """A training-health problem found by :class:`~chainrule.debug.TrainingMonitor`."""


def _fmt(v):
    return f"{v:.1e}" if v != 0 and (abs(v) < 1e-2 or abs(v) >= 1e4) else f"{v:.3g}"


def check_gradients(layers, th):
    """Vanishing or exploding gradients, from the per-layer gradient norms."""
    found = []
    with_grad = [(n, s) for n, s in layers.items() if s.get("grad_norm") is not None]
    if not with_grad:
        return found
    for name, s in with_grad:
        g = s["grad_norm"]
        if not math.isfinite(g):
            found.append(("exploding", name,
                          f"the gradient of layer '{name}' is not finite (NaN or Inf): training "
                          "has blown up. Lower the learning rate, clip gradients "
                          "(cr.nn.utils.clip_grad_norm_), and check for log(0) or division by 0 "
                          "(run one step under cr.autograd.detect_anomaly() to find the line)."))
            return found
    (first, fs), (last, ls) = with_grad[0], with_grad[-1]
    g0, g1 = fs["grad_norm"], ls["grad_norm"]
    if len(with_grad) > 1 and g1 > 0 and (g0 / g1 < th["vanishing_ratio"]
                                          or g0 < th["vanishing_abs"]):
        found.append(("vanishing", first,
                      f"vanishing gradients: the gradient reaching the first layer '{first}' "
                      f"(norm {_fmt(g0)}) is {_fmt(g0 / g1)} times the one at the last layer "
                      f"'{last}' (norm {_fmt(g1)}), so the early layers barely learn. Each "
                      "sigmoid/tanh layer multiplies the gradient by its slope (at most 0.25 for "
                      "the sigmoid) and by the weights. Use ReLU with He (kaiming) "
                      "initialisation, or fewer layers."))
    elif len(with_grad) > 1 and g1 > 0 and (g0 / g1 > th["exploding_ratio"]
                                            or g0 > th["exploding_abs"]):
        found.append(("exploding", first,
                      f"exploding gradients: the gradient at the first layer '{first}' (norm "
                      f"{_fmt(g0)}) is {_fmt(g0 / g1)} times the one at the last layer '{last}'; "
                      "the weights will jump around. Use a smaller initialisation (Xavier/He), "
                      "a lower learning rate, or clip gradients."))
    return found


def check_units(layers, th):
    """Dead ReLU units and saturated sigmoid/tanh units, from the activation statistics."""
    found = []
    for name, s in layers.items():
        dead = s.get("dead_frac")
        if dead is not None and dead >= th["dead"]:
            found.append(("dead", name,
                          f"{dead:.0%} of the ReLU units in layer '{name}' never fired in this "
                          "epoch (output 0 for every example): they are dead, pass no gradient, "
                          "and stop learning. Usual causes: a learning rate that is too high or "
                          "large negative biases. Lower the learning rate, use He "
                          "initialisation, or try LeakyReLU."))
        sat = s.get("saturated_frac")
        if sat is not None and sat >= th["saturated"]:
            kind = s.get("kind", "sigmoid/tanh")
            found.append(("saturated", name,
                          f"{sat:.0%} of the {kind} outputs in layer '{name}' are stuck near "
                          "their limits (saturated): there the slope is almost 0, so almost no "
                          "gradient flows back through them. Scale the inputs, use smaller "
                          "initial weights (Xavier/Glorot), or use ReLU."))
    return found


def check_learning_rate(layers, losses, th):
    """A learning rate too high or too low, from update/weight ratios and the loss curve."""
    found = []
    ratios = sorted(s["update_ratio"] for s in layers.values()
                    if s.get("update_ratio") is not None)
    if losses and not math.isfinite(losses[-1]):
        found.append(("lr_high", "",
                      "the loss is NaN or infinite: the learning rate is almost certainly too "
                      "high (or the data contain NaN). Lower it by 10x and try again."))
        return found
    if ratios:
        med = ratios[len(ratios) // 2]
        if med > th["lr_high"]:
            found.append(("lr_high", "",
                          f"each step changes the weights by {med:.0%} of their size (a healthy "
                          "value is about 0.1%): the learning rate is probably too high. Try "
                          "dividing it by 10."))
            return found
        if ratios[-1] < th["lr_low"]:
            found.append(("lr_low", "",
                          f"each step changes the weights by only {_fmt(ratios[-1])} of their "
                          "size (a healthy value is about 1e-3): the learning rate is probably "
                          "too low and training will crawl. Try multiplying it by 10."))
            return found
    # a noisy loss goes up now and then; a loss that rose back above where training started
    # after a few epochs means the steps overshoot
    k = th["loss_up"]
    if len(losses) > k and losses[-1] > losses[0] and losses[-1] > losses[-2]:
        found.append(("lr_high", "",
                      f"the training loss is rising and is now higher than after the first "
                      f"epoch ({_fmt(losses[0])} -> {_fmt(losses[-1])}): the steps overshoot, "
                      "the learning rate is probably too high. Try dividing it by 10."))
    return found


def diagnose(layers, losses, thresholds=None):
    """All checks for one epoch: a list of ``(kind, layer, message)``."""
    th = dict(DEFAULTS, **(thresholds or {}))
    return (check_gradients(layers, th) + check_units(layers, th)
            + check_learning_rate(layers, losses, th))
