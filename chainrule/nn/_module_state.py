"""What a module holds, copied out and back in (``state_dict``, ``load_state_dict``) and
converted in place (``to``, ``float``, ``double``, ...): the part of :class:`~chainrule.nn.Module`
that checkpoints and dtypes need, kept apart from attribute registration, walking and calling."""
from __future__ import annotations

from collections import OrderedDict, namedtuple

import numpy as np

from ..dtypes import dtype_repr
from ..tensor import Tensor


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


class _ModuleState:
    """Mixed into ``Module``; uses its ``named_modules``, ``parameters`` and ``buffers``."""

    # -- dtype conversion --------------------------------------------------------------------------
    def to(self, *args, **kwargs):
        """Convert floating parameters and buffers to ``dtype`` in place (identity is kept).

        Accepts ``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(tensor)`` and the
        keywords ``device=`` / ``dtype=``; the only device is ``'cpu'``.
        """
        from ..devices import parse_to
        dtype, _ = parse_to(args, kwargs, "Module.to")
        if dtype is None:
            return self
        if dtype.kind != "f":
            raise TypeError(f"nn.Module.to only accepts floating point dtypes, but got desired "
                            f"dtype={dtype_repr(dtype)}")
        for t in list(self.parameters()) + list(self.buffers()):
            if t._data.dtype.kind == "f" and t._data.dtype != dtype:
                t._data = t._data.astype(dtype)
                t._version += 1
                if t.grad is not None:
                    t.grad._data = t.grad._data.astype(dtype)
        return self

    def float(self):
        return self.to(np.float32)

    def double(self):
        return self.to(np.float64)

    def half(self):
        return self.to(np.float16)

    def cpu(self):
        return self

    def cuda(self, device=None):
        """Raises: chainrule has no CUDA device (the error lists the devices that exist)."""
        from ..devices import placement
        placement("cuda" if device is None else device, "Module.cuda()")

    def type(self, dst_type):
        return self.to(dst_type)

    # -- state -----------------------------------------------------------------------------------
    def state_dict(self, destination=None, prefix="", keep_vars=False):
        """Parameters and persistent buffers by dotted name, sharing memory (as in PyTorch)."""
        out = OrderedDict() if destination is None else destination
        for mp, m in self.named_modules(prefix=prefix.rstrip(".")):
            pre = mp + "." if mp else ""
            for k, p in m._parameters.items():
                if p is not None:
                    out[pre + k] = p if keep_vars else p.detach()
            for k, b in m._buffers.items():
                if b is not None and k not in m._non_persistent_buffers_set:
                    out[pre + k] = b if keep_vars else b.detach()
        return out

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copy values into parameters and buffers (in place, converting dtype).

        Returns ``(missing_keys, unexpected_keys)``.  With ``strict=True`` any missing or
        unexpected key raises; a shape mismatch always raises, naming the key and both shapes.
        Values may be chainrule tensors, NumPy arrays or anything ``np.asarray`` accepts.
        """
        expected = self.state_dict(keep_vars=True)
        missing = [k for k in expected if k not in state_dict]
        unexpected = [k for k in state_dict if k not in expected]
        errors = []
        for k, t in expected.items():
            if k not in state_dict:
                continue
            v = state_dict[k]
            arr = v._data if isinstance(v, Tensor) else np.asarray(v)
            if arr.shape != t._data.shape:
                errors.append(f"size mismatch for {k}: copying a param with shape "
                              f"{tuple(arr.shape)} from checkpoint, the shape in current model "
                              f"is {tuple(t._data.shape)}.")
                continue
            if assign:
                t._data = np.array(arr, dtype=t._data.dtype)
            else:
                t._data[...] = arr
            t._version += 1
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in unexpected) + ". ")
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in missing) + ". ")
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                               + "\n\t".join(errors))
        return _IncompatibleKeys(missing, unexpected)
