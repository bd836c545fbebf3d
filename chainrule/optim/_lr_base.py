"""The learning-rate scheduler base class (import it from :mod:`chainrule.optim.lr_scheduler`)."""
from __future__ import annotations

from .optimizer import Optimizer


def _lrs(optimizer, key="lr"):
    return [group[key] for group in optimizer.param_groups]


class LRScheduler:
    """Base class: subclasses write ``get_lr()`` (the next lrs, often from the current ones).

    Arguments:
        optimizer: the :class:`~chainrule.optim.Optimizer` whose ``'lr'`` values are scheduled.
        last_epoch: index of the last epoch; -1 (default) starts a new schedule and records
            each group's ``'initial_lr'``.

    Attributes:
        base_lrs: the groups' ``'initial_lr'``;  last_epoch: epochs stepped so far.
    """

    _is_initial = False

    def __init__(self, optimizer, last_epoch=-1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: {type(optimizer).__name__} is not an "
                            "Optimizer")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"{type(self).__name__}: param 'initial_lr' is not specified "
                                   f"in param_groups[{i}] when resuming with last_epoch="
                                   f"{last_epoch}: load the optimizer's state first")
        self.base_lrs = _lrs(optimizer, "initial_lr")
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self):
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    _apart = None       # the name of an attribute a subclass saves its own way (_save/_load)

    def state_dict(self):
        """Every attribute but the optimizer."""
        sd = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", self._apart)}
        if self._apart is not None:
            sd[self._apart] = self._save()
        return sd

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        saved = state_dict.pop(self._apart) if self._apart is not None else None
        self.__dict__.update(state_dict)
        if self._apart is not None:
            self._load(saved)

    def get_last_lr(self):
        """The learning rates (one per group) set by the last ``step()``."""
        return self._last_lr

    def get_lr(self):
        raise NotImplementedError

    def step(self, epoch=None):
        """Advance one epoch (call after ``optimizer.step()``) and set the groups' ``'lr'``."""
        self._step_count += 1
        self._update_lr(epoch)

    def _update_lr(self, epoch=None):
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = epoch
            values = (self._get_closed_form_lr() if hasattr(self, "_get_closed_form_lr")
                      else self.get_lr())
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = lr
        self._last_lr = _lrs(self.optimizer)
