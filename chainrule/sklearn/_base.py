"""What the scikit-learn estimators share: seeding, names to classes, the training call.

Training is :func:`chainrule.train.fit` (one call per ``fit``, ``max_epochs`` epochs), so the
estimators add no per-batch work of their own to the loop.
"""
from __future__ import annotations

import contextlib
import inspect

import numpy as np

from .. import nn, optim
from ..random import default_generator
from ..tensor import Tensor

__all__ = ["seeded", "resolve_optimizer", "build", "run_fit", "to_numpy", "int_seed"]


def int_seed(random_state):
    """An int seed from ``random_state`` (None, an int or a ``np.random.RandomState``)."""
    if random_state is None:
        return None
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        return int(random_state)
    if isinstance(random_state, (np.random.RandomState, np.random.Generator)):
        return int(random_state.integers(2 ** 31) if isinstance(random_state, np.random.Generator)
                   else random_state.randint(2 ** 31))
    raise ValueError(f"random_state must be None, an int or a numpy RandomState, got "
                     f"{random_state!r}")


@contextlib.contextmanager
def seeded(seed):
    """Run with chainrule's global generator seeded by ``seed``, then put the old one back.

    Yields a separate :class:`chainrule.Generator` for the batch order (``None`` unseeded).
    Weight init and dropout masks draw from the global generator; restoring it afterwards means
    a seeded ``fit`` neither depends on nor changes the randomness of the code around it.
    """
    if seed is None:
        yield None
        return
    from ..random import Generator
    old_rng, old_seed = default_generator.rng, default_generator._seed
    default_generator.manual_seed(seed)
    try:
        yield Generator().manual_seed(seed + 1)
    finally:
        default_generator.rng, default_generator._seed = old_rng, old_seed


def resolve_optimizer(optimizer, who):
    """An optimizer class from a name (``'adam'``, ``'SGD'``...) or the class itself."""
    if isinstance(optimizer, str):
        # LBFGS needs a closure that re-evaluates the whole loss: not a mini-batch fit's optimizer
        names = {n.lower(): n for n in optim.__all__
                 if n not in ("Optimizer", "lr_scheduler", "LBFGS")}
        key = optimizer.lower()
        if key == "lbfgs":
            raise ValueError(f"{who}: solver 'lbfgs' (chainrule.optim.LBFGS) needs a closure "
                             "over the whole loss, which mini-batch training does not give; "
                             f"choose one of {', '.join(sorted(names))}")
        if key not in names:
            raise ValueError(f"{who}: unknown optimizer {optimizer!r}; choose one of "
                             f"{', '.join(sorted(names))} or pass a chainrule.optim class")
        return getattr(optim, names[key])
    if inspect.isclass(optimizer) and issubclass(optimizer, optim.Optimizer):
        return optimizer
    if callable(optimizer) and not isinstance(optimizer, optim.Optimizer):
        return optimizer
    raise TypeError(f"{who}: optimizer must be a name or a chainrule.optim.Optimizer class, got "
                    f"{optimizer!r} (an optimizer instance cannot be cloned for a new fit)")


def build(what, spec, kwargs, who):
    """``spec(**kwargs)`` for a class or factory; an instance is returned as is (no kwargs)."""
    if isinstance(spec, nn.Module):
        if kwargs:
            raise ValueError(f"{who}: {what}__ parameters ({', '.join(sorted(kwargs))}) need "
                             f"{what} to be a class, not an instance")
        return spec
    if callable(spec):
        try:
            return spec(**kwargs)
        except TypeError as exc:
            name = getattr(spec, "__name__", repr(spec))
            raise TypeError(f"{who}: could not build {what} {name}({', '.join(kwargs)}): "
                            f"{exc}") from None
    raise TypeError(f"{who}: {what} must be a chainrule.nn.Module class or instance, got "
                    f"{type(spec).__name__}")


def to_numpy(a):
    """Arrays for validation: a chainrule tensor becomes its NumPy array (no copy)."""
    if isinstance(a, Tensor):
        return a.detach().numpy()
    return a


def run_fit(module, criterion, optimizer, X, y, epochs, batch_size, val, callbacks, metrics,
            verbose, generator, shuffle=True):
    """Train with :func:`chainrule.train.fit`; returns the epoch logs as a list of dicts."""
    from ..train import fit
    hist = fit(module, criterion, optimizer, (X, y), epochs=epochs, val_data=val,
               callbacks=list(callbacks), metrics=metrics, batch_size=batch_size,
               shuffle=shuffle, verbose=int(verbose), generator=generator)
    keys = list(hist.history)
    return [{k: hist.history[k][i] for k in keys if i < len(hist.history[k])}
            for i in range(len(hist.epoch))]


def softmax64(out):
    """Row-wise softmax in float64 (probabilities are reported in float64)."""
    z = np.asarray(out, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def sigmoid64(out):
    z = np.asarray(out, dtype=np.float64)
    return np.exp(-np.logaddexp(0.0, -z))


class PicklableOptimizer:
    """Pickling (and deep copies) of a fitted estimator: the optimizer is stored as its class,
    hyperparameters and ``state_dict`` and rebuilt over the unpickled module's parameters (its
    flat buffers are tied to the live parameter objects)."""

    _module_attr = "module_"

    def __getstate__(self):
        state = dict(self.__dict__)
        opt = state.get("optimizer_")
        if isinstance(opt, optim.Optimizer):
            state["optimizer_"] = ("chainrule-optimizer", type(opt), dict(opt.defaults),
                                   opt.state_dict())
        return state

    def __setstate__(self, state):
        opt = state.get("optimizer_")
        if isinstance(opt, tuple) and opt and opt[0] == "chainrule-optimizer":
            _, cls, defaults, sd = opt
            module = state[self._module_attr]
            rebuilt = cls(module.parameters(), **defaults)
            rebuilt.load_state_dict(sd)
            state["optimizer_"] = rebuilt
        self.__dict__.update(state)
