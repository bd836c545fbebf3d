"""Gradient checking of whole models: every parameter's analytic gradient against the notes'
centered difference ``(L(w + h) - L(w - h)) / 2h``.

The check runs in float64 on a copy of the model (``copy.deepcopy(model)``, converted to float64),
so the model itself is never touched.  For big layers a random sample of entries is checked: each
entry costs two forward passes.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

__all__ = ["check_model_gradients", "GradcheckReport", "ParamCheck"]


@dataclass
class ParamCheck:
    """The result for one parameter: the worst entry, its numeric and analytic derivative."""
    name: str
    shape: tuple
    checked: int
    max_rel_error: float
    max_abs_error: float
    worst_index: tuple
    analytic: float
    numeric: float
    passed: bool


@dataclass
class GradcheckReport:
    """Per-parameter results of :func:`check_model_gradients`.

    ``passed`` is True when every parameter passed; ``failed`` lists the names that did not;
    ``str(report)`` is a table; ``report["fc1.weight"]`` gives one :class:`ParamCheck`.
    """
    params: list = field(default_factory=list)
    eps: float = 1e-6
    atol: float = 1e-5
    rtol: float = 1e-3

    @property
    def passed(self):
        return all(p.passed for p in self.params)

    @property
    def failed(self):
        return [p.name for p in self.params if not p.passed]

    def __getitem__(self, name):
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(f"no parameter named {name!r}; checked: {[p.name for p in self.params]}")

    def __bool__(self):
        return self.passed

    def __str__(self):
        w = max([len("parameter")] + [len(p.name) for p in self.params])
        rows = [f"{'parameter':<{w}}  {'shape':<14} {'checked':>7}  {'max rel err':>11}  "
                f"{'max abs err':>11}  result"]
        for p in self.params:
            rows.append(f"{p.name:<{w}}  {str(p.shape):<14} {p.checked:>7}  "
                        f"{p.max_rel_error:>11.3e}  {p.max_abs_error:>11.3e}  "
                        f"{'ok' if p.passed else 'FAILED'}")
        if self.passed:
            rows.append(f"all {len(self.params)} parameters agree with centered differences "
                        f"(eps={self.eps:g}, atol={self.atol:g}, rtol={self.rtol:g})")
        else:
            for name in self.failed:
                p = self[name]
                rows.append(f"FAILED {name}{list(p.worst_index)}: analytic {p.analytic:.8g}, "
                            f"numeric {p.numeric:.8g}: the backward of an op used by this "
                            "parameter is wrong")
        return "\n".join(rows)

    __repr__ = __str__

    def raise_if_failed(self):
        """Raise :class:`chainrule.autograd.GradcheckError` naming the failing parameters."""
        if not self.passed:
            from ..autograd import GradcheckError
            raise GradcheckError(str(self))
        return self


def _to_float64(model):
    m = copy.deepcopy(model)
    if hasattr(m, "double"):
        m = m.double() or m
    for _, p in m.named_parameters():
        if p._data.dtype != np.float64:
            p._data = p._data.astype(np.float64)
    if hasattr(m, "eval"):
        m.eval()   # dropout would make the loss random; the check needs a fixed function
    return m


def _as64(x):
    from ..tensor import Tensor
    if isinstance(x, Tensor):
        return x.detach().double() if x.dtype.kind == "f" else x.detach()
    if isinstance(x, (tuple, list)):
        return type(x)(_as64(v) for v in x)
    a = np.asarray(x)
    return Tensor(a.astype(np.float64) if a.dtype.kind == "f" else a)


def _loss_fn(model, inputs, loss_fn, targets, rng):
    from ..tensor import Tensor
    args = inputs if isinstance(inputs, tuple) else (inputs,)
    proj = {}

    def loss():
        out = model(*args)
        if loss_fn is not None:
            return loss_fn(out, targets) if targets is not None else loss_fn(out)
        # a fixed random projection: a plain sum would hide errors (softmax outputs sum to 1)
        if "r" not in proj:
            proj["r"] = Tensor(rng.standard_normal(tuple(out.shape)))
        return (out * proj["r"]).sum()
    return loss


def check_model_gradients(model, inputs, loss_fn=None, targets=None, sample=50, eps=1e-6,
                          atol=1e-5, rtol=1e-3, generator=None, raise_exception=False):
    """Check every parameter's gradient of a model against centered finite differences.

    Arguments:
        model: a module (anything with ``named_parameters()`` and ``__call__``).
        inputs: the input batch (a tensor, an array, or a tuple of them); converted to float64.
        loss_fn: ``loss_fn(output, targets)`` (or ``loss_fn(output)`` without targets); default:
            ``(output * R).sum()`` with a fixed random ``R``.
        targets: passed to ``loss_fn`` (integer class labels stay integers).
        sample: check at most this many randomly chosen entries per parameter (each costs two
            forward passes); ``None`` checks every entry.
        eps, atol, rtol: step and tolerances; an entry fails when
            ``|analytic - numeric| > atol + rtol * |numeric|``.
        generator: a :class:`chainrule.Generator` for the sample and the projection.
        raise_exception: raise :class:`~chainrule.autograd.GradcheckError` naming the failing
            parameters instead of returning a failed report.

    Returns:
        a :class:`GradcheckReport`, one row per parameter with the largest relative error
        ``|a - n| / max(|a|, |n|, atol)`` (about 1e-7 or less is a correct gradient).

    Example::

        model = cr.nn.Sequential(cr.nn.Linear(4, 8), cr.nn.Tanh(), cr.nn.Linear(8, 3))
        report = cr.debug.check_model_gradients(model, cr.randn(5, 4))
        print(report)          # parameter, shape, checked, max rel err, ... ok
        assert report.passed
    """
    from ..autograd import grad, no_grad
    from ..random import get_rng
    rng = get_rng(generator)
    m = _to_float64(model)
    params = [(n, p) for n, p in m.named_parameters() if p.requires_grad]
    if not params:
        raise ValueError(f"check_model_gradients: {type(model).__name__} has no parameter that "
                         "requires grad")
    inputs = _as64(inputs)
    targets = _as64(targets) if targets is not None else None
    loss = _loss_fn(m, inputs, loss_fn, targets, rng)
    out = loss()
    if out.numel() != 1:
        raise ValueError(f"check_model_gradients: the loss must be a scalar, got shape "
                         f"{tuple(out.shape)}")
    analytic = grad(out, [p for _, p in params], allow_unused=True)
    report = GradcheckReport(eps=eps, atol=atol, rtol=rtol)
    for (name, p), ga in zip(params, analytic):
        ga = np.zeros(p.shape) if ga is None else ga._data
        n = p._data.size
        idx = np.arange(n) if sample is None or n <= sample else \
            np.sort(rng.choice(n, size=sample, replace=False))
        p._data = np.ascontiguousarray(p._data)
        flat = p._data.reshape(-1)   # a view: perturbing it perturbs the parameter
        num = np.empty(len(idx))
        with no_grad():
            for k, j in enumerate(idx.tolist()):
                orig = flat[j]
                flat[j] = orig + eps
                plus = float(loss()._data)
                flat[j] = orig - eps
                minus = float(loss()._data)
                flat[j] = orig
                num[k] = (plus - minus) / (2 * eps)
        ana = ga.reshape(-1)[idx]
        diff = np.abs(ana - num)
        # |a - n| / max(|a|, |n|), floored at atol so that two round-off-sized numbers near 0
        # do not read as a 100% error
        rel = diff / np.maximum(np.maximum(np.abs(ana), np.abs(num)), atol)
        bad = ~(diff <= atol + rtol * np.abs(num))     # NaN or Inf on either side fails
        w = int(np.argmax(np.where(bad, diff, -1.0) if bad.any() else rel)) if len(idx) else 0
        where = tuple(int(i) for i in np.unravel_index(int(idx[w]), p.shape)) if len(idx) else ()
        report.params.append(ParamCheck(
            name, tuple(p.shape), len(idx), float(rel.max(initial=0.0)),
            float(diff.max(initial=0.0)), where, float(ana[w]) if len(idx) else 0.0,
            float(num[w]) if len(idx) else 0.0, not bool(bad.any())))
    if raise_exception:
        report.raise_if_failed()
    return report
