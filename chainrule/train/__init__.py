"""Training: a Keras-style ``fit`` loop on PyTorch-style modules and optimizers.

Example::

    >>> from chainrule.train import fit, evaluate, EarlyStopping
    >>> hist = fit(model, cr.nn.CrossEntropyLoss(), opt, (X, y), epochs=20,
    ...            val_data=(Xv, yv), callbacks=[EarlyStopping(patience=3)])
    >>> evaluate(model, cr.nn.CrossEntropyLoss(), (Xt, yt))["accuracy"]
"""
from .callbacks import (CSVLogger, Callback, EarlyStopping, History, JSONLogger, LambdaCallback,
                        LRSchedulerCallback, ModelCheckpoint, TerminateOnNaN)
from .loop import evaluate, fit, predict
from .metrics import Accuracy, Metric, TopKAccuracy, get_metric
from .plots import plot_curves
from .progress import ProgressBar
from .state import BackupAndRestore, NonFiniteLossError, TrainingInterrupted

__all__ = ["fit", "evaluate", "predict", "History", "Callback", "ProgressBar", "EarlyStopping",
           "ModelCheckpoint", "CSVLogger", "JSONLogger", "LRSchedulerCallback", "TerminateOnNaN",
           "LambdaCallback", "BackupAndRestore", "TrainingInterrupted", "NonFiniteLossError",
           "Metric", "Accuracy", "TopKAccuracy", "get_metric", "plot_curves"]



def __getattr__(name):
    # TensorBoard logs the training-health monitor (chainrule.debug, which builds on this
    # package), so it lives there and is looked up only when asked for
    if name == "TensorBoard":
        from ..debug.tensorboard import TensorBoard
        return TensorBoard
    raise AttributeError(f"module 'chainrule.train' has no attribute {name!r}")
