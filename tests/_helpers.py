"""Helpers shared by the core test files (imported, never copied).

Inputs are NumPy float64 arrays drawn from a per-row domain; the same arrays feed chainrule and,
when installed, PyTorch, so the two can be compared number for number.
"""
from __future__ import annotations

import numpy as np

import chainrule as cr

RTOL = 1e-7
ATOL = 1e-10

# input domains: name -> function(rng, shape) -> float64 array
DOMAINS = {
    "real": lambda rng, s: rng.standard_normal(s),
    "positive": lambda rng, s: rng.uniform(0.5, 2.0, s),
    # values away from 0 and from each other: abs/relu/sign/max have a kink or a tie otherwise
    "nonzero": lambda rng, s: rng.choice([-1, 1], s) * rng.uniform(0.3, 1.5, s)
    + rng.permutation(np.prod(s, dtype=int)).reshape(s) * 1e-3,
    "distinct": lambda rng, s: rng.permutation(np.prod(s, dtype=int)).reshape(s) * 0.37 - 1.0
    + rng.uniform(0, 0.05, s),
    "unit": lambda rng, s: rng.uniform(-0.9, 0.9, s),
}


def make_arrays(shapes, domain="real", seed=0):
    """One float64 array per shape; ``domain`` is a name or a list of names (one per input)."""
    rng = np.random.default_rng(seed)
    doms = [domain] * len(shapes) if isinstance(domain, str) else list(domain)
    return [DOMAINS[d](rng, s).astype(np.float64) for d, s in zip(doms, shapes)]


def cr_inputs(arrays, dtype=cr.float64, requires_grad=True):
    return [cr.tensor(a, dtype=dtype, requires_grad=requires_grad) for a in arrays]


def leaf(values):
    """A float64 leaf that requires grad (the dtype gradcheck and closed forms want)."""
    return cr.tensor(values, dtype=cr.float64, requires_grad=True)


def torch_inputs(torch, arrays, requires_grad=True):
    return [torch.tensor(a, dtype=torch.float64, requires_grad=requires_grad) for a in arrays]


def as_list(out):
    """An op's result as a flat list of tensors (ops like split and max(dim) return tuples)."""
    if isinstance(out, (tuple, list)):
        return [o for item in out for o in as_list(item)]
    return [out]


def to_numpy(t):
    """A chainrule or torch tensor (or a number) as a NumPy array."""
    if isinstance(t, cr.Tensor):
        return t.detach().numpy()
    if hasattr(t, "detach"):
        return t.detach().cpu().numpy()
    return np.asarray(t)


def assert_close(actual, expected, rtol=RTOL, atol=ATOL, what=""):
    a, e = to_numpy(actual), to_numpy(expected)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != expected {e.shape}"
    if e.dtype == np.bool_ or e.dtype.kind in "iu":
        np.testing.assert_array_equal(a, e, err_msg=what)
    else:
        np.testing.assert_allclose(a, e, rtol=rtol, atol=atol, err_msg=what)


def float_outputs(outs):
    return [o for o in outs if o.dtype.kind == "f"]


def cotangents(outs, seed=1):
    """A fixed random ``grad_output`` for each float output (float64 arrays)."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(tuple(o.shape)) for o in outs]


def live_tensors():
    """Number of live :class:`chainrule.Tensor` objects (for graph-freeing checks)."""
    import gc
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is cr.Tensor)
