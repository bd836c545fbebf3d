"""cr.nn.init: bounds, statistics, gains, fans, generators, in-place semantics."""
import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.nn import init


def _gen(seed=0):
    return cr.Generator().manual_seed(seed)


@pytest.mark.parametrize("nl,param,gain", [
    ("linear", None, 1.0), ("conv2d", None, 1.0), ("sigmoid", None, 1.0), ("tanh", None, 5 / 3),
    ("relu", None, math.sqrt(2)), ("leaky_relu", None, math.sqrt(2 / (1 + 0.01 ** 2))),
    ("leaky_relu", 0.2, math.sqrt(2 / 1.04)), ("selu", None, 0.75),
])
def test_calculate_gain(nl, param, gain):
    assert init.calculate_gain(nl, param) == pytest.approx(gain, rel=1e-15)


def test_calculate_gain_matches_torch():
    torch = pytest.importorskip("torch")
    for nl in ("linear", "sigmoid", "tanh", "relu", "leaky_relu", "selu"):
        assert init.calculate_gain(nl) == torch.nn.init.calculate_gain(nl)


@pytest.mark.parametrize("shape,fans", [((5, 3), (3, 5)), ((4, 2, 3, 3), (18, 36)),
                                        ((7, 1), (1, 7))])
def test_fan_in_and_fan_out(shape, fans):
    assert init._calculate_fan_in_and_fan_out(cr.empty(*shape)) == fans


def test_fan_needs_two_dims():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(cr.empty(5))


# name, call(tensor, generator), kind, bound-or-std for a (400, 300) tensor
FAN_IN, FAN_OUT = 300, 400
SCHEMES = [
    ("uniform_default", lambda t, g: init.uniform_(t, generator=g), "uniform", (0.0, 1.0)),
    ("notes_uniform", lambda t, g: init.notes_uniform_(t, generator=g), "uniform", (-1.0, 1.0)),
    ("uniform_ab", lambda t, g: init.uniform_(t, -0.3, 0.5, generator=g), "uniform", (-0.3, 0.5)),
    ("normal", lambda t, g: init.normal_(t, 0.5, 2.0, generator=g), "normal", (0.5, 2.0)),
    ("xavier_uniform", lambda t, g: init.xavier_uniform_(t, generator=g), "uniform",
     (-math.sqrt(6 / 700), math.sqrt(6 / 700))),
    ("xavier_normal_gain", lambda t, g: init.xavier_normal_(t, gain=2.0, generator=g), "normal",
     (0.0, 2.0 * math.sqrt(2 / 700))),
    ("kaiming_uniform_relu", lambda t, g: init.kaiming_uniform_(t, nonlinearity="relu",
                                                                generator=g), "uniform",
     (-math.sqrt(6 / FAN_IN), math.sqrt(6 / FAN_IN))),
    ("kaiming_uniform_linear_default", lambda t, g: init.kaiming_uniform_(t, a=math.sqrt(5),
                                                                          generator=g), "uniform",
     (-1 / math.sqrt(FAN_IN), 1 / math.sqrt(FAN_IN))),
    ("kaiming_normal_fan_out", lambda t, g: init.kaiming_normal_(t, mode="fan_out",
                                                                 nonlinearity="relu",
                                                                 generator=g), "normal",
     (0.0, math.sqrt(2 / FAN_OUT))),
    ("trunc_normal", lambda t, g: init.trunc_normal_(t, std=1.0, a=-1.0, b=1.0, generator=g),
     "bounded", (-1.0, 1.0)),
]


@pytest.mark.parametrize("dtype", [cr.float32, cr.float64], ids=str)
@pytest.mark.parametrize("name,call,kind,params", SCHEMES, ids=[s[0] for s in SCHEMES])
def test_scheme_statistics(name, call, kind, params, dtype):
    t = cr.empty(FAN_OUT, FAN_IN, dtype=dtype)
    out = call(t, _gen())
    assert out is t and t.dtype == dtype
    a = t.numpy().astype(np.float64)
    if kind == "uniform":
        lo, hi = params
        assert a.min() >= lo and a.max() <= hi
        assert a.min() < lo + 0.01 * (hi - lo) and a.max() > hi - 0.01 * (hi - lo)
        assert a.mean() == pytest.approx((lo + hi) / 2, abs=0.01 * (hi - lo))
        assert a.std() == pytest.approx((hi - lo) / math.sqrt(12), rel=0.01)
    elif kind == "normal":
        mean, std = params
        assert a.mean() == pytest.approx(mean, abs=0.01 * std)
        assert a.std() == pytest.approx(std, rel=0.01)
    else:
        assert a.min() >= params[0] and a.max() <= params[1]


@pytest.mark.parametrize("name,call,kind,params", SCHEMES, ids=[s[0] for s in SCHEMES])
def test_same_generator_seed_same_values(name, call, kind, params):
    a, b, c = (cr.empty(20, 10) for _ in range(3))
    call(a, _gen(5))
    call(b, _gen(5))
    call(c, _gen(6))
    assert np.array_equal(a.numpy(), b.numpy())
    assert not np.array_equal(a.numpy(), c.numpy())


def test_global_seed_reproduces_and_generator_leaves_it_alone():
    cr.manual_seed(3)
    a = init.normal_(cr.empty(5))
    cr.manual_seed(3)
    init.normal_(cr.empty(5), generator=_gen(1))      # must not consume the global stream
    b = init.normal_(cr.empty(5))
    assert np.array_equal(a.numpy(), b.numpy())


def test_constant_zeros_ones_eye_and_notes_relu_bias():
    b = cr.empty(4)
    init.constant_(b, 0.01)
    assert b.tolist() == pytest.approx([0.01] * 4)
    assert init.zeros_(cr.empty(2, 2)).tolist() == [[0, 0], [0, 0]]
    assert init.ones_(cr.empty(3)).tolist() == [1, 1, 1]
    assert init.eye_(cr.empty(2, 3)).tolist() == [[1, 0, 0], [0, 1, 0]]


def test_init_is_in_place_on_parameters_and_bumps_version():
    lin = cr.nn.Linear(3, 2)
    w = lin.weight
    v = w._version
    init.xavier_uniform_(lin.weight)
    assert lin.weight is w and w.requires_grad and w.is_leaf and w._version == v + 1
    y = lin(cr.randn(4, 3))                       # version bump does not break a new graph
    y.sum().backward()
    assert w.grad.shape == (2, 3)


def test_init_of_parameter_used_in_graph_is_detected():
    lin = cr.nn.Linear(3, 2)
    y = (lin(cr.randn(4, 3, requires_grad=True)) ** 2).sum()
    init.zeros_(lin.weight)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_bad_mode_and_nonlinearity():
    with pytest.raises(ValueError, match="fan_avg"):
        init.kaiming_uniform_(cr.empty(3, 3), mode="fan_avg")
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")
