"""ONNX export (optional extra ``chainrule[onnx]``): ``cr.onnx.export(model, x, "model.onnx")``.

Every layer with an entry in :data:`CONVERTERS` exports (Linear -> Gemm, the activation zoo,
Softmax/LogSoftmax, Dropout and Identity as pass-through, Flatten, Maxout, PReLU); containers and
modules of your own whose forward chains such layers are followed through. ``onnx`` is imported
only when ``export`` runs.
"""
from . import converters_spatial  # noqa: F401  (registers the layers chainrule has)
from .converters import CONVERTERS, converter
from .export import ExportError, build, export

__all__ = ["export", "build", "converter", "CONVERTERS", "ExportError"]
