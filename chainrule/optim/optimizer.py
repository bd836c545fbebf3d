"""The ``Optimizer`` base class: parameter groups, per-parameter state, ``zero_grad``, checkpoints.

Subclasses write only ``step``.  Updates work on the raw arrays (``p._data``) in place, with
Python-float hyperparameters, so a float32 model stays float32 and a step creates no Tensors
(state buffers are made once, on a parameter's first step).
"""
from __future__ import annotations

import copy
import warnings
from collections import defaultdict

import numpy as np

from ..tensor import _new
from ..graph.modes import enable_grad, replayable
from ..tensor import Tensor
from ._flat import _layout_view

__all__ = ["Optimizer", "required"]


class _RequiredParameter:
    """Marks a hyperparameter that has no default and must be given per group."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


def _check_nonneg(opt, **values):
    """Raise ``ValueError`` naming the optimizer for any hyperparameter below zero."""
    for key, value in values.items():
        if not 0.0 <= value:
            label = "learning rate" if key == "lr" else f"{key} value"
            raise ValueError(f"{opt}: Invalid {label}: {value} (expected >= 0)")


def _state_buffer(st, key, like):
    """The array of ``st[key]``, created as zeros shaped like ``like`` on first use."""
    buf = st.get(key)
    if buf is None:
        buf = st[key] = _buffer(np.zeros_like(like))
    return buf._data


def _lerp_(a, b, w):
    """``a <- a + w (b - a)`` in place, in the same two forms as ``torch.lerp_``."""
    if w < 0.5:
        t = b - a
        t *= w
        a += t
    else:
        np.subtract(b, (1.0 - w) * (b - a), out=a)


def _check_supported(opt, differentiable):
    """``foreach``/``fused``/``capturable`` only pick PyTorch kernels: accepted and ignored."""
    if differentiable:
        raise NotImplementedError(f"{opt}: differentiable=True (backprop through the update) is "
                                  "not supported")


def scratch(opt, like):
    """A reusable work array shaped and laid out like ``like`` (no allocation per step), or
    None for small arrays, where a temporary costs less than the bookkeeping.

    One flat buffer per optimizer and dtype, sized for the largest parameter; parameters are
    updated one at a time, so they can share it.  Views are cached by shape and strides.
    """
    if like.size < 4096:
        return None
    views = opt.__dict__.setdefault("_scratch_views", {})
    key = (like.dtype.char, like.shape, like.strides)
    view = views.get(key)
    if view is not None:
        return view
    bufs = opt.__dict__.setdefault("_scratch", {})
    buf = bufs.get(like.dtype)
    if buf is None or buf.size < like.size:
        buf = bufs[like.dtype] = np.empty(like.size, like.dtype)
        views.clear()                     # old views point into the old buffer
    view = views[key] = _layout_view(buf[:like.size], like)
    return view


def _buffer(array):
    """A state buffer: a Tensor owning ``array`` (outside any graph)."""
    return _new(array, False, None)


class Optimizer:
    """Base class of all optimizers (as ``torch.optim.Optimizer``).

    Arguments:
        params: an iterable of Tensors, of ``(name, Tensor)`` pairs, or of dicts (parameter
            groups: a ``'params'`` entry plus any hyperparameters that override ``defaults``).
        defaults: the hyperparameters every group gets unless it sets its own.

    Attributes:
        param_groups: list of dicts, each with ``'params'`` and every hyperparameter (``'lr'``,
            and ``'initial_lr'`` once a learning-rate scheduler is attached).
        state: per-parameter dict (``state[p]['momentum_buffer']`` ...), buffers as Tensors.

    Example::

        opt = cr.optim.SGD([{"params": [w]}, {"params": [b], "lr": 0.1}], lr=0.01)
        opt.zero_grad(); loss_fn().backward(); opt.step()
    """

    def __init__(self, params, defaults):
        self.defaults = defaults
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got a single Tensor: wrap it in a list, "
                            "e.g. SGD([w], lr=0.1)")
        self.state = defaultdict(dict)
        self.param_groups = []
        groups = list(params)
        if len(groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {group[k]}" for k in sorted(group) if k != "params"]
        return "\n".join(lines) + "\n)"

    # -- groups --------------------------------------------------------------------------------
    def add_param_group(self, param_group):
        """Add a group (a dict with ``'params'`` and optional hyperparameters) to optimize."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        name = type(self).__name__
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(f"{name}: parameters need to be an ordered collection (a list), not a "
                            "set: the order of a set changes between runs")
        params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        params = [p[1] if isinstance(p, tuple) else p for p in params]
        if names:
            if len(names) != len(params):
                raise ValueError("all optimizer params should be with/without names. Some param "
                                 "names are missing")
            param_group["param_names"] = names
        param_group["params"] = params
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{name} can only optimize Tensors, but parameter {i} of the group "
                                f"is a {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{name}: can't optimize a non-leaf Tensor (parameter {i} of the "
                                 "group has a grad_fn); optimize the leaf it was computed from")
        for key, default in self.defaults.items():
            if default is required and key not in param_group:
                raise ValueError(f"{name}: parameter group didn't specify a value of required "
                                 f"optimization parameter {key}")
            param_group.setdefault(key, default)
        if len(params) != len(set(params)):
            warnings.warn(f"{name}: a parameter group contains the same parameter twice; it "
                          "will be updated twice per step", stacklevel=3)
        seen = set()
        for group in self.param_groups:
            seen.update(group["params"])
        if not seen.isdisjoint(params):
            raise ValueError(f"{name}: some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # -- gradients and steps -------------------------------------------------------------------
    def __init_subclass__(cls, **kwargs):
        # a step changes parameters outside the graph: cr.compile records it and replays it
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "_replayable", False):
            cls.step = replayable(step)

    @replayable
    def zero_grad(self, set_to_none=True):
        """Reset the gradients: to ``None`` (default), or zero them in place (``False``)."""
        for group in self.param_groups:
            if set_to_none:
                for p in group["params"]:
                    p.grad = None
                continue
            for p in group["params"]:
                g = p.grad
                if g is not None:
                    g._node = None
                    g.requires_grad = False
                    g._data.fill(0)
                    g._version += 1

    def step(self, closure=None):
        """Update every parameter that has a gradient; returns ``closure()`` if one is given."""
        raise NotImplementedError

    @staticmethod
    def _closure_loss(closure):
        if closure is None:
            return None
        with enable_grad():
            return closure()

    # -- checkpoints ---------------------------------------------------------------------------
    def state_dict(self):
        """The optimizer's state in PyTorch's layout (a snapshot: buffers are copied).

        Returns:
            ``{'state': {index: {name: value}}, 'param_groups': [{..., 'params': [index...]}]}``
            where parameters are numbered in the order the groups list them.
        """
        mapping = {}
        start = 0
        groups = []
        for group in self.param_groups:
            packed = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start):
                mapping.setdefault(id(p), i)
            packed["params"] = [mapping[id(p)] for p in group["params"]]
            start += len(packed["params"])
            groups.append(packed)
        state = {}
        for p, s in self.state.items():
            key = mapping[id(p)] if isinstance(p, Tensor) else p
            state[key] = {k: _snapshot(v) for k, v in s.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Load a :meth:`state_dict` (deep-copied; floating buffers cast to each parameter's dtype).

        Arguments:
            state_dict: a dict from :meth:`state_dict` of an optimizer with the same group sizes.
        """
        name = type(self).__name__
        saved = copy.deepcopy(state_dict["param_groups"])
        if len(saved) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: loaded state dict has {len(saved)} "
                             f"parameter groups but the optimizer has {len(self.param_groups)}")
        for i, (g, s) in enumerate(zip(self.param_groups, saved)):
            if len(g["params"]) != len(s["params"]):
                raise ValueError(f"{name}.load_state_dict: loaded state dict contains a parameter "
                                 f"group that doesn't match the size of optimizer's group: group "
                                 f"{i} has {len(s['params'])} parameters in the state dict but "
                                 f"{len(g['params'])} in the optimizer")
        id_map = {}
        for g, s in zip(self.param_groups, saved):
            id_map.update(zip(s["params"], g["params"]))
        state = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                p = id_map[k]
                state[p] = {key: _restore(val, p, key) for key, val in v.items()}
            else:
                state[k] = copy.deepcopy(v)
        for g, s in zip(self.param_groups, saved):
            s["params"] = g["params"]
            if "param_names" in g and "param_names" not in s:
                s["param_names"] = g["param_names"]
        self.state = state
        self.param_groups = saved


def _snapshot(value):
    if isinstance(value, Tensor):
        return _buffer(value._data.copy())
    if isinstance(value, np.ndarray):
        return value.copy()
    return copy.deepcopy(value)


def _restore(value, param, key):
    """Deep-copy one saved state entry for ``param`` (accepts chainrule/NumPy/torch values)."""
    if key == "step":
        return int(float(value)) if float(value) == int(float(value)) else float(value)
    if isinstance(value, Tensor):
        value = value._data
    elif hasattr(value, "detach") and hasattr(value, "numpy"):      # a torch.Tensor
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "fc" and param.dtype.kind in "fc":
            if value.shape == param.shape:   # take the parameter's memory layout (faster updates)
                buf = np.empty_like(param._data)
                np.copyto(buf, value, casting="unsafe")
                return _buffer(buf)
            return _buffer(value.astype(param.dtype, copy=True))
        return _buffer(value.copy())
    return copy.deepcopy(value)
