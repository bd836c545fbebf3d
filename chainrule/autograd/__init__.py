"""The autograd engine (see ``function.py`` for the node mechanism, ``engine.py`` for traversal)."""
from .function import (AnomalyError, Function, FunctionCtx, Op, detect_anomaly, enable_grad,
                       is_anomaly_enabled, is_grad_enabled, no_grad, set_detect_anomaly,
                       set_grad_enabled)
from .grad import grad
from .gradcheck import GradcheckError, gradcheck, gradgradcheck

__all__ = ["Function", "FunctionCtx", "Op", "grad", "gradcheck", "gradgradcheck",
           "GradcheckError", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled",
           "detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled", "AnomalyError"]


def __getattr__(name):
    # cr.autograd.Variable, the legacy wrapper (lives above the engine, so it loads on use)
    if name == "Variable":
        from ..compat import Variable
        return Variable
    raise AttributeError(f"module 'chainrule.autograd' has no attribute {name!r}")
