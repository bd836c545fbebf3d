"""``export(model, example_input, f)``: a chainrule model as an ONNX file, as ``torch.onnx.export``.

How: the model runs once on the example input in eval mode with a forward hook on every layer
that has a converter (:mod:`chainrule.onnx.converters`; containers such as ``Sequential`` and
modules without a converter are looked into; :mod:`chainrule.onnx._trace`). The hooks record
which layer read which tensor, so any model whose forward is a chain (or tree) of convertible
layers exports, whether it is a ``Sequential`` or a module of your own; basic indexing between
layers (``out[:, -1]``) is read from the autograd graph of that run. Other arithmetic done in a
forward outside any layer (``x + h``) is reported as an error naming the layer whose input came
from nowhere. The output shapes are ONNX's shape inference from the inputs' (dynamic) dims.
"""
from __future__ import annotations

import numpy as np

from . import converters as C
from ._graph import Graph
from ._trace import ExportError, Names, default_axes, examples, leaves, structure, record_calls

__all__ = ["ExportError", "build", "export"]

MIN_OPSET = 13


def _onnx():
    try:
        import onnx
    except ImportError as exc:
        raise ImportError("chainrule.onnx.export needs the onnx package: pip install "
                          "'chainrule[onnx]'") from exc
    return onnx


def _axes(spec, name):
    if isinstance(spec, dict):
        return {int(k): str(v) for k, v in spec.items()}
    if isinstance(spec, (list, tuple)):
        return {int(k): f"{name}_dim{k}" for k in spec}
    raise TypeError(f"export: dynamic_axes[{name!r}] must be a dict or a list of dims, got "
                    f"{type(spec).__name__}")


def _names(given, n, base, what):
    """``n`` graph input or output names: the given ones, then ``base``, ``base_1``, ..."""
    given = list(given or [])
    if len(given) > n:
        raise ValueError(f"export: {len(given)} {what}_names for a model with {n} {what}s")
    names = given + [base if i == 0 else f"{base}_{i}" for i in range(len(given), n)]
    if len(set(names)) != n:
        raise ValueError(f"export: {what} names must be distinct, got {names}")
    return names


def _float_dtype(model, inputs):
    for t in inputs + [p for p in model.parameters()]:
        if t.dtype.kind == "f":
            return t.dtype
    return np.dtype(np.float32)


def _convert(g, nm, path, m, args, y):
    """Nodes of one layer call; returns the names of its outputs (flat, in order)."""
    where = f"layer {path!r} ({type(m).__name__})"
    fn = C.find(m)
    g.scope = path
    try:
        if getattr(fn, "several", False):
            res = fn(g, m, structure(args, lambda t: nm.get(t, where)),
                     structure(args, lambda t: t._data), structure(y, lambda t: t._data))
        else:
            if len(args) != 1 or len(leaves(args)) != 1:
                raise ExportError(f"cannot export {where}: it got several inputs (the forward "
                                  "computes outside its layers; only chains of layers can be "
                                  "exported)")
            res = fn(g, m, nm.get(args[0], where), args[0]._data, y._data)
    except ExportError:
        raise
    except (ValueError, TypeError, NotImplementedError) as exc:
        raise ExportError(f"cannot export {where}: {exc}") from None
    finally:
        g.scope = ""
    ys, names = leaves(y), leaves(res)
    if len(ys) != len(names):
        raise ExportError(f"cannot export {where}: its converter gave {len(names)} outputs for "
                          f"the layer's {len(ys)}")
    return ys, names


def _output_info(onnx, inferred, name, value, dyn):
    """The value info of output ``name``: shape inference's dims (a fixed dim checked against
    the example's), renamed where ``dynamic_axes`` names them."""
    dims = None
    for vi in inferred.graph.output:
        if vi.name == name and vi.type.tensor_type.HasField("shape"):
            dims = list(vi.type.tensor_type.shape.dim)
    shape = []
    for i, s in enumerate(value.shape):
        d = dims[i] if dims is not None and len(dims) == value.ndim else None
        if i in dyn:
            shape.append(dyn[i])
        elif d is not None and d.HasField("dim_value"):
            if d.dim_value != s:
                raise ExportError(f"export: shape inference gives output {name!r} dim {i} = "
                                  f"{d.dim_value}, but the model's output has {s}")
            shape.append(int(s))
        else:
            shape.append(d.dim_param if d is not None and d.dim_param else None)
    elem = onnx.helper.np_dtype_to_tensor_dtype(value.dtype)
    return onnx.helper.make_tensor_value_info(name, elem, shape)


def build(model, example_input, opset_version=17, input_names=None, output_names=None,
          dynamic_axes=None, doc_string=""):
    """The ``onnx.ModelProto`` of ``model`` (see :func:`export`), checked, not written."""
    onnx = _onnx()
    if not MIN_OPSET <= int(opset_version) <= onnx.defs.onnx_opset_version():
        raise ValueError(f"export: opset_version must be in [{MIN_OPSET}, "
                         f"{onnx.defs.onnx_opset_version()}], got {opset_version}")
    args = examples(example_input)
    ins = leaves(args)
    if not ins:
        raise ExportError("export: the example has no input tensor")
    in_names = _names(input_names, len(ins), "input", "input")
    calls, out = record_calls(model, args)
    try:
        outs = leaves(out)
    except ValueError as exc:
        raise ExportError(f"cannot export {type(model).__name__}: its output: {exc}") from None
    if not outs or not all(hasattr(t, "_data") for t in outs):
        raise ExportError(f"cannot export {type(model).__name__}: its output is not a tensor or "
                          "a tuple of tensors")
    out_names = _names(output_names, len(outs), "output", "output")
    if set(in_names) & set(out_names):
        raise ValueError(f"export: {sorted(set(in_names) & set(out_names))} named both an "
                         "input and an output")
    g = Graph(onnx, opset_version, _float_dtype(model, ins))
    g.reserve(in_names + out_names)
    nm = Names(g)
    for t, name in zip(ins, in_names):
        nm.add(t, name)
    for path, m, a, y in calls:
        for t, name in zip(*_convert(g, nm, path, m, a, y)):
            nm.add(t, name)
    finals = [nm.get(t, f"{type(model).__name__}'s output") for t in outs]
    for final, name in zip(finals, out_names):
        g.nodes.append(onnx.helper.make_node("Identity", [final], [name], name=f"{name}_node"))
    g.prune(out_names)
    if dynamic_axes is None:
        dyn = {n: default_axes(t, calls) for n, t in zip(in_names, ins)}
    else:
        unknown = set(dynamic_axes) - set(in_names) - set(out_names)
        if unknown:
            raise ValueError(f"export: dynamic_axes names {sorted(unknown)} are neither inputs "
                             f"({in_names}) nor outputs ({out_names})")
        dyn = {n: _axes(v, n) for n, v in dynamic_axes.items()}
    inputs = [onnx.helper.make_tensor_value_info(
        n, onnx.helper.np_dtype_to_tensor_dtype(t.dtype),
        [dyn.get(n, {}).get(i, int(s)) for i, s in enumerate(t.shape)])
        for n, t in zip(in_names, ins)]
    opset = [onnx.helper.make_opsetid("", int(opset_version))]

    def model_of(outputs):
        graph = onnx.helper.make_graph(g.nodes, type(model).__name__, inputs, outputs,
                                       initializer=g.initializers)
        return onnx.helper.make_model(graph, opset_imports=opset, producer_name="chainrule",
                                      doc_string=doc_string,
                                      ir_version=onnx.helper.find_min_ir_version_for(opset))
    bare = model_of([onnx.helper.make_tensor_value_info(n, onnx.helper.np_dtype_to_tensor_dtype(
        t.dtype), None) for n, t in zip(out_names, outs)])
    inferred = onnx.shape_inference.infer_shapes(bare, strict_mode=True)
    proto = model_of([_output_info(onnx, inferred, n, t._data, dyn.get(n, {}))
                      for n, t in zip(out_names, outs)])
    from .. import __version__
    proto.producer_version = __version__
    onnx.checker.check_model(proto, full_check=True)
    return proto


def export(model, args, f, export_params=True, verbose=False, input_names=None,
           output_names=None, opset_version=17, dynamic_axes=None, do_constant_folding=True):
    """Write ``model`` as an ONNX file (PyTorch's ``torch.onnx.export`` arguments).

    Arguments:
        model: a chainrule module (exported in eval mode: dropout is the identity).
        args: an example input (Tensor or NumPy array), or a tuple of the model's positional
            arguments, nested as the model takes them (``(x, (h0, c0))`` for an LSTM); float
            inputs fix the graph's dtype, integer ones (token indices) stay integer, and the
            shapes fix every dimension that is not dynamic.
        f: a path (written atomically) or a binary file object.
        input_names, output_names: names of the (flattened) inputs and outputs; default
            ``input``, ``input_1``, ... and ``output``, ``output_1``, ... (an LSTM's outputs
            are ``output``, ``h_n``, ``c_n`` in that order).
        opset_version: ONNX opset, 13 to the newest the installed ``onnx`` knows (default 17).
        dynamic_axes: ``{name: {dim: label}}`` or ``{name: [dim, ...]}``; default: each input's
            batch dim (found from the layer that reads it) is ``"batch"``, and its sequence dim
            ``"sequence"`` when it reaches a recurrent layer; the outputs' dims follow by
            shape inference (``{}`` makes every dim fixed).
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
