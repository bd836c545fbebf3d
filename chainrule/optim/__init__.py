"""Optimizers and learning-rate schedules, with PyTorch's names, defaults and update rules.

    import chainrule as cr
    opt = cr.optim.SGD(params, lr=0.1, momentum=0.9)
    sched = cr.optim.lr_scheduler.StepLR(opt, step_size=10)

Every optimizer updates ``p._data`` in place (float32 stays float32); ``CoordinateDescent`` is
the lecture's derivative-free "adjust one variable at a time" method, for teaching.
"""
from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .coordinate import CoordinateDescent
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "CoordinateDescent",
           "lr_scheduler"]
