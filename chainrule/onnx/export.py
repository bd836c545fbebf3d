"""``export(model, example_input, f)``: a chainrule model as an ONNX file, as ``torch.onnx.export``.

How: the model runs once on the example input in eval mode with a forward hook on every layer
that has a converter (:mod:`chainrule.onnx.converters`; containers such as ``Sequential`` and
modules without a converter are looked into). The hooks record which layer read which tensor, so
any model whose forward is a chain (or tree) of convertible layers exports, whether it is a
``Sequential`` or a module of your own. Arithmetic done in a forward outside any layer (``x + h``)
cannot be seen and is reported as an error naming the layer whose input came from nowhere.
"""
from __future__ import annotations

import numpy as np

from ..autograd.function import no_grad
from ..tensor import Tensor
from . import converters as C
from ._graph import Graph

__all__ = ["export", "ExportError"]

MIN_OPSET = 13


class ExportError(ValueError):
    """The model cannot be written as ONNX (the message names the layer and why)."""


def _onnx():
    try:
        import onnx
    except ImportError as exc:
        raise ImportError("chainrule.onnx.export needs the onnx package: pip install "
                          "'chainrule[onnx]'") from exc
    return onnx


def _units(model):
    """``[(path, module)]`` of the layers that will be converted; error for leaves without one."""
    units, stack = [], [("", model)]
    while stack:
        path, m = stack.pop()
        if C.find(m) is not None:
            units.append((path, m))
            continue
        kids = list(m.named_children())
        if not kids:
            where = f"layer {path!r} " if path else "the model "
            known = ", ".join(sorted({c.__name__ for c in C.CONVERTERS}))
            raise ExportError(f"cannot export {where}({type(m).__name__}): no ONNX converter for "
                              f"{type(m).__name__}. Exportable layers: {known}; add one with "
                              "@chainrule.onnx.converter(YourLayer)")
        stack.extend(((f"{path}.{n}" if path else n), c) for n, c in reversed(kids))
    return units


def _example(args):
    if isinstance(args, (tuple, list)):
        if len(args) != 1:
            raise ExportError(f"export: models with one input are supported, got {len(args)} "
                              "example inputs")
        args = args[0]
    if isinstance(args, np.ndarray):
        from ..autograd.function import _new
        args = _new(args, False, None)
    if not isinstance(args, Tensor):
        raise TypeError(f"export: example_input must be a chainrule Tensor or NumPy array, got "
                        f"{type(args).__name__}")
    return args


def _trace(model, x):
    """Run the model with hooks on its layers; returns the calls in order and the output."""
    calls, handles = [], []
    for path, m in _units(model):
        def hook(mod, args, out, path=path):
            calls.append((path, mod, args, out))
        handles.append(m.register_forward_hook(hook))
    was = model.training
    model.eval()
    try:
        with no_grad():
            out = model(x)
    finally:
        model.train(was)
        for h in handles:
            h.remove()
    return calls, out


def _axes(spec, name):
    if isinstance(spec, dict):
        return {int(k): str(v) for k, v in spec.items()}
    if isinstance(spec, (list, tuple)):
        return {int(k): f"{name}_dim{k}" for k in spec}
    raise TypeError(f"export: dynamic_axes[{name!r}] must be a dict or a list of dims, got "
                    f"{type(spec).__name__}")


def _value_info(onnx, g, name, shape, dyn):
    dims = [dyn.get(i, int(s)) for i, s in enumerate(shape)]
    return onnx.helper.make_tensor_value_info(name, g.elem_type(), dims)


def build(model, example_input, opset_version=17, input_names=None, output_names=None,
          dynamic_axes=None, doc_string=""):
    """The ``onnx.ModelProto`` of ``model`` (see :func:`export`), checked, not written."""
    onnx = _onnx()
    if not MIN_OPSET <= int(opset_version) <= onnx.defs.onnx_opset_version():
        raise ValueError(f"export: opset_version must be in [{MIN_OPSET}, "
                         f"{onnx.defs.onnx_opset_version()}], got {opset_version}")
    x = _example(example_input)
    if x.dtype.kind != "f":
        raise ExportError(f"export: the example input must be floating, got {x.dtype}")
    in_name = (list(input_names) if input_names else ["input"])[0]
    out_name = (list(output_names) if output_names else ["output"])[0]
    calls, out = _trace(model, x)
    g = Graph(onnx, opset_version, x.dtype)
    names = {id(x): in_name}
    keep = [x]          # holds every traced tensor, so no id is reused while names are looked up
    for path, m, args, y in calls:
        if len(args) != 1 or id(args[0]) not in names:
            what = "several inputs" if len(args) != 1 else "an input no exported layer produced"
            raise ExportError(f"cannot export layer {path!r} ({type(m).__name__}): it got {what} "
                              "(the forward computes outside its layers, e.g. x + h or a "
                              "reshape; only chains of layers can be exported)")
        g.scope = path
        try:
            y_name = C.find(m)(g, m, names[id(args[0])], args[0]._data, y._data)
        except ExportError:
            raise
        except (ValueError, TypeError, NotImplementedError) as exc:
            raise ExportError(f"cannot export layer {path!r} ({type(m).__name__}): {exc}") \
                from None
        g.scope = ""
        names[id(y)] = y_name
        keep += [args[0], y]
    if not isinstance(out, Tensor) or id(out) not in names:
        raise ExportError(f"cannot export {type(model).__name__}: its output is not the output "
                          "of an exported layer (the forward computes outside its layers)")
    final = names[id(out)]
    g.nodes.append(onnx.helper.make_node("Identity", [final], [out_name], name="output_node"))
    if dynamic_axes is None:
        dynamic_axes = {in_name: {0: "batch"}, out_name: {0: "batch"}}
    unknown = set(dynamic_axes) - {in_name, out_name}
    if unknown:
        raise ValueError(f"export: dynamic_axes names {sorted(unknown)} are neither the input "
                         f"({in_name!r}) nor the output ({out_name!r})")
    graph = onnx.helper.make_graph(
        g.nodes, type(model).__name__,
        [_value_info(onnx, g, in_name, x.shape, _axes(dynamic_axes.get(in_name, {}), in_name))],
        [_value_info(onnx, g, out_name, out.shape,
                     _axes(dynamic_axes.get(out_name, {}), out_name))],
        initializer=g.initializers)
    opset = [onnx.helper.make_opsetid("", int(opset_version))]
    proto = onnx.helper.make_model(graph, opset_imports=opset, producer_name="chainrule",
                                   doc_string=doc_string,
                                   ir_version=onnx.helper.find_min_ir_version_for(opset))
    from .. import __version__
    proto.producer_version = __version__
    onnx.checker.check_model(proto, full_check=True)
    return proto


def export(model, args, f, export_params=True, verbose=False, input_names=None,
           output_names=None, opset_version=17, dynamic_axes=None, do_constant_folding=True):
    """Write ``model`` as an ONNX file (PyTorch's ``torch.onnx.export`` arguments).

    Arguments:
        model: a chainrule module (exported in eval mode: dropout is the identity).
        args: an example input (Tensor or NumPy array, or a 1-tuple of one); its dtype is the
            graph's dtype and its shape fixes every dimension that is not dynamic.
        f: a path (written atomically) or a binary file object.
        input_names, output_names: one name each (default ``input``, ``output``).
        opset_version: ONNX opset, 13 to the newest the installed ``onnx`` knows (default 17).
        dynamic_axes: ``{name: {dim: label}}`` or ``{name: [dim, ...]}``; default: dim 0 of the
            input and the output is a dynamic batch dimension (``{}`` makes every dim fixed).
        export_params, do_constant_folding: accepted for compatibility (weights are always
            stored; the graph has nothing to fold).

    Returns:
        The checked ``onnx.ModelProto`` (also written to ``f``).

    Example::

        >>> model = cr.nn.Sequential(cr.nn.Linear(4, 8), cr.nn.ReLU(), cr.nn.Linear(8, 3))
        >>> cr.onnx.export(model, cr.randn(1, 4), "model.onnx")
    """
    if not export_params:
        raise ValueError("export: export_params=False is not supported (weights are stored)")
    proto = build(model, args, opset_version, input_names, output_names, dynamic_axes)
    data = proto.SerializeToString()
    if verbose:
        print(_onnx().helper.printable_graph(proto.graph))
    if hasattr(f, "write"):
        f.write(data)
    else:
        from ..utils.io import atomic_write
        atomic_write(str(f), lambda fh: fh.write(data))
    return proto
