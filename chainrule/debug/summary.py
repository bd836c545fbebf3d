"""``cr.debug.summary``: the table Keras' ``model.summary()`` and torchinfo print.

One forward pass on a dummy (or given) batch, with a forward hook on every module, gives each
layer's output shape; parameters are counted per module (its own, not its children's).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["summary", "ModelSummary", "LayerInfo"]


@dataclass
class LayerInfo:
    """One row: the module's dotted name, class, depth, output shape and own parameters."""
    name: str
    kind: str
    depth: int
    output_shape: tuple | None
    params: int
    trainable: int
    output_bytes: int


@dataclass
class ModelSummary:
    """What :func:`summary` found; ``str()`` is the table."""
    model_name: str
    input_shape: tuple
    layers: list = field(default_factory=list)
    total_params: int = 0
    trainable_params: int = 0
    param_bytes: int = 0
    activation_bytes: int = 0
    input_bytes: int = 0

    @property
    def total_bytes(self):
        return self.param_bytes + self.activation_bytes + self.input_bytes

    def __str__(self):
        rows = [(("  " * (li.depth - 1)) + f"{li.name} ({li.kind})",
                 "--" if li.output_shape is None else str(list(li.output_shape)),
                 f"{li.params:,}" if li.params else "--") for li in self.layers]
        head = ("Layer (type)", "Output shape", "Param #")
        w0 = max(len(head[0]), *(len(r[0]) for r in rows)) if rows else len(head[0])
        w1 = max(len(head[1]), *(len(r[1]) for r in rows)) if rows else len(head[1])
        width = w0 + w1 + 16
        line, thick = "-" * width, "=" * width
        out = [thick, f"{self.model_name}  (input {list(self.input_shape)})", thick,
               f"{head[0]:<{w0}}  {head[1]:<{w1}}  {head[2]:>12}", thick]
        out += [f"{a:<{w0}}  {b:<{w1}}  {c:>12}" for a, b, c in rows]
        mb = 1024 * 1024
        out += [thick, f"Total params: {self.total_params:,}",
                f"Trainable params: {self.trainable_params:,}",
                f"Non-trainable params: {self.total_params - self.trainable_params:,}", line,
                f"Input size (MB): {self.input_bytes / mb:.3f}",
                f"Forward pass size (MB): {self.activation_bytes / mb:.3f}",
                f"Params size (MB): {self.param_bytes / mb:.3f}",
                f"Estimated total size (MB): {self.total_bytes / mb:.3f}", thick]
        return "\n".join(out)

    __repr__ = __str__


def _own_params(module):
    own = getattr(module, "_parameters", None)
    if isinstance(own, dict):
        return [p for p in own.values() if p is not None]
    try:
        return [p for _, p in module.named_parameters(recurse=False)]
    except TypeError:
        return []


def _shape_of(out):
    if hasattr(out, "shape") and hasattr(out, "_data"):
        return tuple(out.shape), out._data.nbytes
    if isinstance(out, (tuple, list)) and out:
        return _shape_of(out[0])
    return None, 0


def summary(model, input_size=None, input_data=None, dtype=None, print_fn=print):
    """Print and return a table of the model's layers, output shapes and parameter counts.

    Arguments:
        model: a module.
        input_size: the input shape including the batch dimension, e.g. ``(32, 784)``; a batch of
            zeros of that shape is run through the model (gradients off, eval mode).
        input_data: an actual input batch instead of ``input_size``.
        dtype: dtype of the dummy input (default: the default float dtype).
        print_fn: called with the table; ``None`` prints nothing.

    Returns:
        a :class:`ModelSummary` (``.layers``, ``.total_params``, ``.trainable_params``,
        memory in bytes), whose ``str()`` is the table.

    Example::

        model = cr.nn.Sequential(cr.nn.Linear(784, 128), cr.nn.ReLU(), cr.nn.Linear(128, 10))
        s = cr.debug.summary(model, input_size=(32, 784))
        s.total_params        # 101770
    """
    from ..autograd import no_grad
    from ..tensor import Tensor
    if input_data is None:
        if input_size is None:
            raise ValueError("summary: give input_size (with the batch dimension, e.g. "
                             "(32, 784)) or input_data")
        from ..dtypes import get_default_dtype
        dt = np.dtype(dtype) if dtype is not None else np.dtype(get_default_dtype())
        input_data = Tensor(np.zeros(tuple(input_size), dtype=dt))
    elif not isinstance(input_data, (Tensor, tuple, list)):
        input_data = Tensor(np.asarray(input_data))
    args = tuple(input_data) if isinstance(input_data, (tuple, list)) else (input_data,)
    mods = list(model.named_modules())
    infos, handles = {}, []
    for name, m in mods:
        def hook(module, inp, out, name=name):
            infos.setdefault(name, _shape_of(out))
        handles.append(m.register_forward_hook(hook))
    was_training = getattr(model, "training", False)
    try:
        if hasattr(model, "eval"):
            model.eval()
        with no_grad():
            model(*args)
    finally:
        for h in handles:
            h.remove()
        if was_training and hasattr(model, "train"):
            model.train()
    s = ModelSummary(type(model).__name__, tuple(args[0].shape),
                     input_bytes=sum(a._data.nbytes for a in args if hasattr(a, "_data")))
    for name, m in mods:
        own = _own_params(m)
        n = sum(p.numel() for p in own)
        tr = sum(p.numel() for p in own if p.requires_grad)
        shape, nbytes = infos.get(name, (None, 0))
        if name:
            s.layers.append(LayerInfo(name, type(m).__name__, name.count(".") + 1, shape, n, tr,
                                      nbytes))
            s.activation_bytes += nbytes if next(iter(m.children()), None) is None else 0
        s.total_params += n
        s.trainable_params += tr
        s.param_bytes += sum(p._data.nbytes for p in own)
    if print_fn is not None:
        print_fn(str(s))
    return s
