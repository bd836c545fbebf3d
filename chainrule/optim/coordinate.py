"""Coordinate descent: the lecture's "method 1", a derivative-free teaching optimizer."""
from __future__ import annotations

import numpy as np

from ..graph.modes import no_grad
from ..random import get_rng
from .optimizer import Optimizer, _buffer

__all__ = ["CoordinateDescent"]


class CoordinateDescent(Optimizer):
    r"""Fix every variable but one and adjust that single variable (a teaching tool).

    Each :meth:`step` does what the lecture slide says: choose a coordinate (at random, or in
    turn with ``order='cyclic'``), try a step of ``±step_size`` along that axis, and keep the
    move if it lowers the loss.  If neither direction helps, that coordinate's step is
    multiplied by ``shrink`` (so it can home in on the minimum along its axis).

    It uses no derivatives, only loss evaluations (three per step), which is why it is slow:
    it moves one direction at a time, a move along one axis can undo gains along another, and
    it may stop at a point where no single-axis move helps.  Gradient descent (:class:`SGD`)
    is the improvement the lecture goes on to.

    Arguments:
        params: Tensors or parameter groups (see :class:`Optimizer`); coordinates are numbered
            across all of them in order (flattened, row-major).
        step_size: the initial step along an axis (stored as the group's ``'lr'``, so
            learning-rate schedulers apply to it; default 0.1).
        shrink: factor in (0, 1] applied to a coordinate's step when neither direction lowers
            the loss (default 0.5; 1 keeps steps fixed).
        order: ``'random'`` (default) or ``'cyclic'``.
        generator: a :class:`chainrule.Generator` for the random choice (default: global).

    Returns:
        ``step(closure, coordinate=None)`` returns the loss before the step (as PyTorch's
        optimizers do); the closure must return the loss and need not call ``backward()``
        (it is evaluated under ``no_grad``).

    Example (the lecture's worked example: adjusting w1 of ``w = [-1, 0.5, 0.1]`` so that
    ``y = w0 + 3 w1 + 2 w2`` hits the target 1)::

        w = cr.tensor([-1.0, 0.5, 0.1])
        x, t = cr.tensor([1.0, 3.0, 2.0]), 1.0
        opt = cr.optim.CoordinateDescent([w], step_size=0.1)
        opt.step(lambda: ((x @ w - t) ** 2), coordinate=1)
        w            # tensor([-1.0000, 0.6000, 0.1000])
    """

    def __init__(self, params, step_size=0.1, shrink=0.5, order="random", generator=None):
        if not step_size > 0:
            raise ValueError(f"CoordinateDescent: step_size must be > 0, got {step_size}")
        if not 0 < shrink <= 1:
            raise ValueError(f"CoordinateDescent: shrink must be in (0, 1], got {shrink}")
        if order not in ("random", "cyclic"):
            raise ValueError(f"CoordinateDescent: order must be 'random' or 'cyclic', got "
                             f"{order!r}")
        super().__init__(params, dict(lr=step_size, shrink=shrink))
        self.order = order
        self.generator = generator
        self._cursor = 0

    def state_dict(self):
        """As :meth:`Optimizer.state_dict`, plus the cyclic cursor."""
        sd = super().state_dict()
        sd["cursor"] = self._cursor
        return sd

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        self._cursor = state_dict.get("cursor", 0)

    def _locate(self, coordinate):
        """The (group, parameter, index tuple) of global coordinate number ``coordinate``."""
        slots = [(g, p) for g in self.param_groups for p in g["params"]]
        total = sum(p._data.size for _, p in slots)
        if coordinate is None:
            if self.order == "random":
                coordinate = int(get_rng(self.generator).integers(total))
            else:
                coordinate = self._cursor % total
                self._cursor = coordinate + 1
        elif not 0 <= coordinate < total:
            raise IndexError(f"CoordinateDescent.step: coordinate {coordinate} out of range: "
                             f"the parameters have {total} coordinates")
        k = int(coordinate)
        for group, p in slots:
            if k < p._data.size:
                return group, p, np.unravel_index(k, p._data.shape)
            k -= p._data.size

    def step(self, closure=None, coordinate=None):
        """Try ``±step`` along one coordinate and keep the better move if it lowers the loss.

        Arguments:
            closure: a callable returning the loss at the current parameter values (required).
            coordinate: which coordinate to adjust (global index); default chosen by ``order``.

        Returns:
            the closure's value before the step.
        """
        if closure is None:
            raise RuntimeError("CoordinateDescent.step needs a closure that returns the loss, "
                               "e.g. opt.step(lambda: loss_fn(model(x), t)): it compares loss "
                               "values instead of using gradients")
        group, p, idx = self._locate(coordinate)
        d = p._data
        st = self.state[p]
        if "step_scale" not in st:
            st["step_scale"] = _buffer(np.ones_like(d))
        scale = st["step_scale"]._data
        h = float(group["lr"]) * float(scale[idx])
        old = d[idx]
        try:
            with no_grad():
                loss = closure()
                base = float(loss)
                d[idx] = old + h
                p._version += 1
                plus = float(closure())
                d[idx] = old - h
                p._version += 1
                minus = float(closure())
        except BaseException:
            d[idx] = old            # leave the parameter as it was
            raise
        if plus <= minus and plus < base:
            d[idx] = old + h
        elif not minus < base:
            d[idx] = old
            scale[idx] *= float(group["shrink"])
        p._version += 1
        return loss
