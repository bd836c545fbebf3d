"""ONNX export (optional extra ``chainrule[onnx]``): ``cr.onnx.export(model, x, "model.onnx")``.

Every layer with an entry in :data:`CONVERTERS` exports (Linear -> Gemm, the activation zoo,
Softmax/LogSoftmax, Dropout and Identity as pass-through, Flatten, Maxout, PReLU, the
convolution/pooling/normalization layers, RNN/LSTM/GRU and Embedding); containers and modules of
your own whose forward chains such layers (with indexing such as ``out[:, -1]`` between them) are
followed through. ``onnx`` is imported
only when ``export`` runs.
"""
from . import converters_recurrent, converters_spatial  # noqa: F401  (register the layers)
from .converters import CONVERTERS, converter
from .export import ExportError, build, export

__all__ = ["export", "build", "converter", "CONVERTERS", "ExportError"]
