"""The ``Optimizer`` base class: parameter groups, the step loop, weight decay, state, checkpoints.

As in PyTorch and tinygrad, an algorithm writes only its array update.  :meth:`step` evaluates
the closure, walks the groups and the parameters that have gradients, negates the gradient for
``maximize``, applies weight decay (L2, or decoupled: ``p *= 1 - lr * weight_decay``), makes and
advances each parameter's state, and subtracts the algorithm's update.  An algorithm says what
it keeps and how it updates through four small methods::

    _hyper(group)            -> the group's constants, read once per step
    _buffers(group)          -> names of the per-parameter arrays it keeps (PyTorch's state keys)
    _scalars(h, st, fresh)   -> per-parameter numbers for this step (default: advance st['step'])
    _update(h, c, g, bufs, out)   writes into ``out`` the amount to subtract from the parameter

Updates work on raw arrays in place, with Python-float constants, so a float32 model stays
float32 and a step creates no Tensors (state buffers are made on a parameter's first step).
"""
from __future__ import annotations

import copy
import warnings
from collections import defaultdict

import numpy as np

from ..graph.modes import enable_grad
from ..tensor import Tensor, _new, count_writes
from ._arrays import _prepare
from ._checks import required
from ._foreach import flat_for
from ._fused import kernel_for

__all__ = ["Optimizer", "required"]

_FLAT_BELOW = 1 << 16     # foreach=None: flat buffers for groups of fewer elements (measured)


def _buffer(array):
    """A state buffer: a Tensor owning ``array`` (outside any graph)."""
    return _new(array, False, None)


class Optimizer:
    """Base class of all optimizers (as ``torch.optim.Optimizer``).

    Arguments:
        params: an iterable of Tensors, of ``(name, Tensor)`` pairs, or of dicts (parameter
            groups: a ``'params'`` entry plus any hyperparameters that override ``defaults``).
        defaults: the hyperparameters every group gets unless it sets its own.

    The options every optimizer takes, as PyTorch's, stored in each group:

    * ``maximize``: ascend the objective (the gradient's sign is flipped before the rule).
    * ``foreach``: ``True`` runs the rule once over flat buffers of the whole group (the
      gradients are copied in at each step), ``False`` once per parameter, ``None`` (default)
      picks flat for groups of fewer than 65,536 elements (plain SGD: never); the numbers are
      the same bit for bit.
    * ``fused``: SGD, Adam and AdamW update each parameter in one pass with a numba kernel
      (``None``, the default: for groups of 65,536 elements or more, when numba is installed and
      ``cr.ops.kernels`` is not switched to NumPy; ``True``: required; ``False``: the NumPy
      update). Same numbers, bit for bit.
    * ``capturable``: picks PyTorch's device kernels; accepted, no effect here.
    * ``differentiable``: backpropagation through the update; ``True`` is refused.

    ``step(closure)`` returns the closure's loss (``None`` without a closure).

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
        """Update every parameter that has a gradient; returns ``closure()`` if one is given
        (evaluated with gradients on, before the update)."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if params:
                self._step_group(group, params)
        return loss

    @staticmethod
    def _closure_loss(closure):
        if closure is None:
            return None
        with enable_grad():
            return closure()

    # what an algorithm writes (see the module docstring) -----------------------------------
    _keeps_step = True          # state[p]['step'] counts the parameter's steps (not SGD's)
    _numbers = ("step",)        # state entries that are numbers (PyTorch keeps 0-d tensors)

    def _hyper(self, group):
        return None

    def _flat_pays(self, group, params):
        """What ``foreach=None`` picks: flat buffers for a small group, where a rule's NumPy calls
        cost more than its passes over memory; per parameter for a large one, where gathering
        the gradients and applying the update are two more passes (docs/performance.md)."""
        return sum(p._data.size for p in params) < _FLAT_BELOW

    def _buffers(self, group):
        return ()

    def _fill(self, group, key):
        """The value a new state buffer starts at (zeros unless the algorithm says otherwise)."""
        return 0.0

    def _init_scalars(self, st, group):
        """Set a new state's numbers (PyTorch's order: ``step`` first)."""
        st["step"] = 0

    def _scalars(self, h, st, fresh):
        st["step"] += 1
        return st["step"]

    def _update(self, h, c, g, bufs, out):
        raise NotImplementedError(f"{type(self).__name__} must define step() (as a PyTorch "
                                  "optimizer does) or the array update _update()")

    # the loop --------------------------------------------------------------------------------
    def _state(self, p, group, keys):
        """``state[p]``, made on first use: its numbers, then each buffer, in ``p``'s layout."""
        st = self.state[p]
        fresh = not st
        if fresh and self._keeps_step:
            self._init_scalars(st, group)
        for k in keys:
            if k not in st:       # new, or an option (amsgrad ...) switched on since
                st[k] = _buffer(np.full_like(p._data, self._fill(group, k)))
        return st, fresh

    def _step_group(self, group, params):
        h = self._hyper(group)
        keys = self._buffers(group)
        lr = float(group["lr"])
        wd = float(group.get("weight_decay", 0.0))
        maximize = group.get("maximize", False)
        decay = None
        if wd != 0.0 and group.get("decoupled_weight_decay", False):
            decay, wd = 1.0 - lr * wd, 0.0
        if keys or self._keeps_step:
            sts, cs = [], []
            for p in params:
                st, fresh = self._state(p, group, keys)
                sts.append(st)
                cs.append(self._scalars(h, st, fresh))
        else:                     # plain SGD keeps no state at all, as PyTorch
            sts = cs = [None] * len(params)
        kernel = self._kernel(group)
        foreach = group.get("foreach")
        if foreach is None:     # flat buffers save NumPy calls; a one-pass kernel saves more
            foreach = kernel is None and self._flat_pays(group, params)
        if foreach and cs.count(cs[0]) == len(cs):
            flat = flat_for(self, params, sts, keys, _buffer)
            if flat is not None:
                for p, gv in zip(params, flat.grads):
                    _prepare(p.grad._data, p._data, wd, maximize, gv)
                    if decay is not None:
                        p._data *= decay
                self._update(h, cs[0], flat.grad, flat.bufs, flat.out)
                for p, o in zip(params, flat.outs):
                    p._data -= o
                count_writes(params, "an in-place write (an optimizer step)")
                return
        empty_like = np.empty_like
        if kernel is not None:      # the algorithm's one-pass kernel (fused=), the whole group
            ds = [p._data for p in params]
            gs = [p.grad._data for p in params]
            if wd != 0.0 or maximize:
                gs = [_prepare(g, d, wd, maximize, empty_like(d)) for g, d in zip(gs, ds)]
            bufs = [[st[k]._data for k in keys] for st in sts] if keys else None
            if kernel(h, cs, ds, gs, bufs, decay) is not NotImplemented:
                count_writes(params, "an in-place write (an optimizer step)")
                return
        # per parameter, the NumPy update into a new array (np.empty_like keeps the layout;
        # measured no slower than kept work arrays, docs/performance.md); counted first, so
        # that an update that fails half-way still shows in the versions
        count_writes(params, "an in-place write (an optimizer step)")
        for p, st, c in zip(params, sts, cs):
            d = p._data
            g = p.grad._data
            if wd != 0.0 or maximize:
                g = _prepare(g, d, wd, maximize, empty_like(d))
            if decay is not None:
                d *= decay
            bufs = {k: st[k]._data for k in keys} if keys else {}
            out = empty_like(d)
            self._update(h, c, g, bufs, out)
            d -= out

    _fused_kernel = None    # the name of the algorithm's one-pass kernel in optim/_fused_numba

    def _kernel(self, group):
        """The one-pass update kernel this group uses, or None (see optim/_fused.py)."""
        return kernel_for(self, group)

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
            if s:
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
                state[p] = {key: _restore(val, p, key, self._numbers)
                            for key, val in v.items()}
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


def _restore(value, param, key, numbers):
    """Deep-copy one saved state entry for ``param`` (accepts chainrule, NumPy and torch values):
    arrays become buffers in the parameter's dtype and layout; the entries named in ``numbers``
    (``step`` ...), and their lists, become Python numbers."""
    if isinstance(value, (list, tuple)):                           # LBFGS's history
        return type(value)(_restore(v, param, key, numbers) for v in value)
    if isinstance(value, Tensor):
        value = value._data
    elif hasattr(value, "detach") and hasattr(value, "numpy"):      # a torch.Tensor
        value = value.detach().cpu().numpy()
    if key in numbers and isinstance(value, (np.ndarray, np.generic)):
        value = value.item()
        return int(value) if key == "step" and float(value).is_integer() else value
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "fc" and param.dtype.kind in "fc":
            if value.shape == param.shape:   # take the parameter's memory layout (faster updates)
                buf = np.empty_like(param._data)
                np.copyto(buf, value, casting="unsafe")
                return _buffer(buf)
            return _buffer(value.astype(param.dtype, copy=True))
        return _buffer(value.copy())
    return copy.deepcopy(value)
