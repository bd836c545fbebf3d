"""Drawing the computation graph behind a tensor, as the notes draw it.

The lecture draws ``f = (x + y) z`` as circles for the operations, the inputs on the left, and on
every edge the forward value (above, green) and the gradient of the output with respect to that
value (below, red).  :func:`to_dot` produces exactly that picture as Graphviz DOT text;
:func:`draw_graph` renders it to SVG/PNG when the ``dot`` program is installed.

    x, y, z = (cr.tensor(v, requires_grad=True) for v in (-2.0, 5.0, -4.0))
    f = (x + y) * z
    print(cr.viz.to_dot(f, names={"x": x, "y": y, "z": z, "f": f}))

Gradients of intermediate values are computed with :func:`chainrule.grad` and
``retain_graph=True``: nothing's ``.grad`` is touched, and the graph can still be used afterwards.
Call it before ``backward()`` (which frees the graph) or after ``backward(retain_graph=True)``.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import warnings
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Graph", "GraphNode", "GraphEdge", "build_graph", "to_dot", "draw_graph"]

VALUE_COLOR = "#1a7f37"   # the slides' green
GRAD_COLOR = "#cf222e"    # the slides' red


@dataclass
class GraphNode:
    """One drawn node: ``kind`` is ``"input"`` (a named or parameter leaf), ``"leaf"`` (an
    unnamed tensor that requires grad), ``"const"`` (a constant), ``"op"`` or ``"output"``."""
    id: str
    kind: str
    label: str
    shape: tuple = ()


@dataclass
class GraphEdge:
    """An edge carries one tensor from its producer to a consumer: its value and its gradient."""
    src: str
    dst: str
    value: np.ndarray
    grad: np.ndarray | None = None


@dataclass
class Graph:
    """The nodes and edges of a computation graph (what :func:`to_dot` renders)."""
    nodes: list = field(default_factory=list)
    edges: list = field(default_factory=list)

    def node(self, label):
        """The first node whose label's first line is ``label`` (for tests and notebooks)."""
        for n in self.nodes:
            if n.label.split("\n")[0] == label:
                return n
        raise KeyError(f"no node labelled {label!r}; labels: "
                       f"{[n.label.split(chr(10))[0] for n in self.nodes]}")


def _name_map(names, params):
    out = {}
    if params is not None:
        for name, p in (params.items() if isinstance(params, dict) else params):
            out[id(p)] = name
    if names:
        for name, t in names.items():
            out[id(t)] = name
    return out


def _walk(root):
    """Tensors of the graph behind ``root``, inputs before the ops that use them (iterative)."""
    order, seen = [], set()
    stack = [(root, False)]
    while stack:
        t, done = stack.pop()
        if done:
            order.append(t)
            continue
        if id(t) in seen:
            continue
        seen.add(id(t))
        stack.append((t, True))
        node = t._node
        if node is not None:
            if node.inputs is None:
                raise RuntimeError(
                    "the graph behind this tensor was freed by backward(); draw it before calling "
                    "backward(), or call backward(retain_graph=True)")
            for inp in reversed(node.inputs):
                if id(inp) not in seen:
                    stack.append((inp, False))
    return order


def _grads(root, tensors):
    """d root / d t for every tensor t of the graph that requires grad (``.grad`` untouched)."""
    from ..autograd import grad
    from ..tensor import _new
    if not root.requires_grad:
        return {}
    need = [t for t in tensors if t.requires_grad]
    seed = np.ones_like(root._data)
    gs = grad([root], need, grad_outputs=[_new(seed, False, None)], retain_graph=True,
              allow_unused=True)
    return {id(t): g._data for t, g in zip(need, gs) if g is not None}


def build_graph(tensor, names=None, params=None, show_grads=True):
    """Collect the nodes and edges behind ``tensor`` (see :func:`to_dot` for the arguments).

    Returns:
        a :class:`Graph`: one node per input, constant and op plus an output node; one edge per
        use of a tensor, with its value and (when ``show_grads``) its gradient.
    """
    from ..tensor import Tensor
    if not isinstance(tensor, Tensor):
        raise TypeError(f"build_graph: expected a Tensor, got {type(tensor).__name__}")
    label_of = _name_map(names, params)
    order = _walk(tensor)
    grads = _grads(tensor, order) if show_grads else {}
    g = Graph()
    producer = {}   # id(tensor) -> node id that produced it
    for t in order:
        nid = f"n{len(g.nodes)}"
        shape = tuple(t.shape)
        if t._node is None:
            if id(t) in label_of:
                kind, label = "input", label_of[id(t)]
            elif t.requires_grad:
                kind, label = "leaf", "leaf"
            else:
                kind, label = "const", (_fmt(t._data) if t._data.size == 1 else "const")
            if shape and not (kind == "const" and t._data.size == 1):
                label += f"\n{_shape(shape)}"
            g.nodes.append(GraphNode(nid, kind, label, shape))
        else:
            label = _op_label(t)
            if shape:
                label += f"\n{_shape(shape)}"
            g.nodes.append(GraphNode(nid, "op", label, shape))
            for inp in t._node.inputs:
                g.edges.append(GraphEdge(producer[id(inp)], nid, inp._data, grads.get(id(inp))))
        producer[id(t)] = nid
    out_id = f"n{len(g.nodes)}"
    g.nodes.append(GraphNode(out_id, "output", label_of.get(id(tensor), "output"),
                             tuple(tensor.shape)))
    g.edges.append(GraphEdge(producer[id(tensor)], out_id, tensor._data, grads.get(id(tensor))))
    return g


# ops that fold a Python number into the node: drawn as the slides draw them ("+1", "*-1")
_SCALAR_OPS = {"AddScalar": ("Add", "+"), "MulScalar": ("Mul", "*"), "DivScalar": ("Div", "/"),
               "PowScalar": ("Pow", "^")}


def _op_label(t):
    node = t._node
    name = node.label
    if name not in _SCALAR_OPS:
        return name
    base, sym = _SCALAR_OPS[name]
    c = getattr(node, "c", None)
    if c is None and name == "AddScalar" and t._data.size:   # x + c keeps no c: read it back
        c = float(t._data.flat[0] - node.inputs[0]._data.flat[0])
    if c is None:
        return base
    if sym == "+" and c < 0:
        sym = ""   # x + (-3) reads "-3"
    return f"{base}\n{sym}{float(c):.4g}"


def _shape(shape):
    return "(" + ", ".join(str(s) for s in shape) + ")"


def _fmt(a, precision=2, max_elems=4):
    """A value as the slides write it: ``-12.00``; small arrays in full, big ones as a range."""
    a = np.asarray(a)
    if a.dtype.kind == "b":
        a = a.astype(np.int8)
    if a.size == 1:
        v = a.reshape(()).item()
        return f"{v:.{precision}f}" if a.dtype.kind in "fc" else str(v)
    if a.size <= max_elems:
        return "[" + ", ".join(f"{v:.{precision}f}" for v in a.ravel().tolist()) + "]"
    if a.dtype.kind in "fc" and not np.isfinite(a).all():
        return f"{_shape(a.shape)} non-finite"
    return f"[{a.min():.{precision}f} .. {a.max():.{precision}f}]"


def _esc(s):
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


_NODE_STYLE = {
    "input": 'shape=plaintext, fontsize=14',
    "leaf": 'shape=plaintext, fontsize=14',
    "const": 'shape=plaintext, fontcolor="#555555"',
    "op": 'shape=circle, style=filled, fillcolor="#eef2f7", fontsize=11',
    "output": 'shape=plaintext, fontsize=14',
}


def to_dot(tensor, names=None, params=None, show_values=True, show_grads=True, precision=2,
           rankdir="LR", title=None):
    """The graph behind ``tensor`` as Graphviz DOT text, drawn as in the lecture slides.

    Arguments:
        tensor: the result of a computation (usually a scalar loss or output).
        names: ``{"x": x, ...}``: labels for tensors (inputs, and the output itself).
        params: ``model.named_parameters()`` (or a dict): labels parameters by their names.
        show_values: write each edge's forward value (green, above).
        show_grads: write the gradient of ``tensor`` w.r.t. each edge's value (red, below); a
            non-scalar ``tensor`` is seeded with ones.
        precision: digits after the decimal point.
        rankdir: ``"LR"`` (left to right, as the slides) or ``"TB"``.
        title: an optional caption.

    Returns:
        the DOT text (a ``str``); edges read ``label=<<font color="...">-2.00</font><br/>
        <font color="...">-4.00</font>>``.

    Example::

        x, y, z = (cr.tensor(v, requires_grad=True) for v in (-2.0, 5.0, -4.0))
        f = (x + y) * z
        dot = cr.viz.to_dot(f, names={"x": x, "y": y, "z": z, "f": f})
    """
    g = build_graph(tensor, names, params, show_grads)
    lines = ["digraph G {", f"  rankdir={rankdir};",
             '  node [fontname="Helvetica"]; edge [fontname="Helvetica", fontsize=11];']
    if title:
        lines.append(f'  label="{_esc(title)}"; labelloc=t;')
    for n in g.nodes:
        label = _esc(n.label).replace("\n", "\\n")
        lines.append(f'  {n.id} [label="{label}", {_NODE_STYLE[n.kind]}];')
    for e in g.edges:
        parts = []
        if show_values:
            parts.append(f'<font color="{VALUE_COLOR}">{_esc(_fmt(e.value, precision))}</font>')
        if show_grads and e.grad is not None:
            parts.append(f'<font color="{GRAD_COLOR}">{_esc(_fmt(e.grad, precision))}</font>')
        attr = f" [label=<{'<br/>'.join(parts)}>]" if parts else ""
        lines.append(f"  {e.src} -> {e.dst}{attr};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def draw_graph(tensor, path, format=None, **kwargs):  # noqa: A002  (graphviz's own word)
    """Write the graph behind ``tensor`` to ``path`` as SVG, PNG or DOT.

    Arguments:
        tensor: as :func:`to_dot`; ``kwargs`` go to :func:`to_dot`.
        path: output file; ``format`` defaults to its suffix (``.svg``, ``.png``, ``.dot``).

    Returns:
        the path written.  SVG/PNG need the Graphviz ``dot`` program (``apt install graphviz``,
        ``brew install graphviz`` or ``conda install graphviz``); without it the DOT text is
        written to ``path`` with the suffix ``.dot``, a warning says so, and that path is returned.

    Example::

        cr.viz.draw_graph(loss, "graph.svg", params=model.named_parameters())
    """
    path = os.fspath(path)
    fmt = (format or os.path.splitext(path)[1].lstrip(".") or "svg").lower()
    if fmt not in ("svg", "png", "pdf", "dot"):
        raise ValueError(f"draw_graph: format must be 'svg', 'png', 'pdf' or 'dot', got {fmt!r}")
    text = to_dot(tensor, **kwargs)
    if fmt == "dot":
        with open(path, "w") as f:
            f.write(text)
        return path
    exe = shutil.which("dot")
    if exe is None:
        dot_path = os.path.splitext(path)[0] + ".dot"
        with open(dot_path, "w") as f:
            f.write(text)
        warnings.warn(f"draw_graph: the Graphviz 'dot' program is not installed, so {path} was "
                      f"not rendered; the DOT text is in {dot_path} (install graphviz, then run "
                      f"dot -T{fmt} {dot_path} -o {path})", RuntimeWarning, stacklevel=2)
        return dot_path
    proc = subprocess.run([exe, f"-T{fmt}", "-o", path], input=text.encode(), capture_output=True)
    if proc.returncode != 0:
        raise RuntimeError(f"draw_graph: dot failed ({proc.returncode}): "
                           f"{proc.stderr.decode(errors='replace').strip()}")
    return path
