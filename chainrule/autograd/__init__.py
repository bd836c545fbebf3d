"""The user-facing autograd API: ``Function``, ``grad``, ``gradcheck``, the modes, and ``Op``
(the protocol of the built-in primitives, ``op.py``).  The traversal itself is in
``chainrule/graph``."""
from ..graph.anomaly import AnomalyError, detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from ..graph.modes import (enable_grad, inference_mode, is_grad_enabled,
                           is_inference_mode_enabled, no_grad, set_grad_enabled)
from .function import Function, FunctionCtx, once_differentiable
from .grad import grad
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .op import Op

__all__ = ["Function", "FunctionCtx", "once_differentiable", "Op", "grad", "gradcheck",
           "gradgradcheck", "GradcheckError", "no_grad", "enable_grad", "set_grad_enabled",
           "is_grad_enabled", "inference_mode", "is_inference_mode_enabled", "detect_anomaly",
           "set_detect_anomaly", "is_anomaly_enabled", "AnomalyError"]


def __getattr__(name):
    # cr.autograd.Variable, the legacy wrapper (lives above the engine, so it loads on use)
    if name == "Variable":
        from ..legacy import Variable
        return Variable
    raise AttributeError(f"module 'chainrule.autograd' has no attribute {name!r}")
