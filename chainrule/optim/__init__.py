"""Optimizers and learning-rate schedules, with PyTorch's names, defaults and update rules.

    import chainrule as cr
    opt = cr.optim.SGD(params, lr=0.1, momentum=0.9)
    sched = cr.optim.lr_scheduler.StepLR(opt, step_size=10)

Every optimizer updates ``p._data`` in place (float32 stays float32); ``CoordinateDescent`` is
the lecture's derivative-free "adjust one variable at a time" method, for teaching.
"""
from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .coordinate import CoordinateDescent
from .lbfgs import LBFGS
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adagrad", "Adadelta", "RMSprop", "Adam", "AdamW", "Adamax",
           "NAdam", "RAdam", "LBFGS", "CoordinateDescent", "lr_scheduler"]
