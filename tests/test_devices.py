"""Devices the CPU way, cr.Size, Tensor.type() names, legacy types, Variable, __format__."""
import numpy as np
import pytest

import chainrule as cr

FACTORIES = [
    ("tensor", lambda d: cr.tensor([1.0, 2.0], device=d)),
    ("as_tensor", lambda d: cr.as_tensor([1.0], device=d)),
    ("zeros", lambda d: cr.zeros(2, 3, device=d)),
    ("ones", lambda d: cr.ones(2, device=d)),
    ("empty", lambda d: cr.empty(2, device=d)),
    ("full", lambda d: cr.full((2,), 3.0, device=d)),
    ("eye", lambda d: cr.eye(2, device=d)),
    ("arange", lambda d: cr.arange(4, device=d)),
    ("linspace", lambda d: cr.linspace(0, 1, 5, device=d)),
    ("randn", lambda d: cr.randn(2, device=d)),
    ("rand", lambda d: cr.rand(2, device=d)),
    ("randint", lambda d: cr.randint(0, 5, (3,), device=d)),
    ("randperm", lambda d: cr.randperm(4, device=d)),
    ("zeros_like", lambda d: cr.zeros_like(cr.ones(2), device=d)),
    ("ones_like", lambda d: cr.ones_like(cr.ones(2), device=d)),
    ("randn_like", lambda d: cr.randn_like(cr.ones(2), device=d)),
    ("full_like", lambda d: cr.full_like(cr.ones(2), 7.0, device=d)),
    ("FloatTensor", lambda d: cr.FloatTensor([1, 2], device=d)),
]


def test_device_object_matches_torch_device():
    d = cr.device("cpu")
    assert (d.type, d.index, str(d), repr(d)) == ("cpu", None, "cpu", "device(type='cpu')")
    d0 = cr.device("cpu:0")
    assert (d0.type, d0.index, str(d0), repr(d0)) == ("cpu", 0, "cpu:0",
                                                       "device(type='cpu', index=0)")
    assert cr.device("cpu", 0) == d0 and cr.device(type="cpu") == d and d != d0
    assert d == "cpu" and "cpu" == d and d != "cuda" and d0 == "cpu:0"
    assert len({cr.device("cpu"), cr.device("cpu")}) == 1
    # a device object may name a device that is missing here, as torch.device('cuda') may
    assert cr.device("cuda:1").type == "cuda" and cr.device("cuda:1").index == 1


@pytest.mark.parametrize("bad, err, fragment", [
    ("tpu", ValueError, "Invalid device string: 'tpu'"),
    ("cpu:x", ValueError, "Invalid device string"),
    (3.0, TypeError, "expects a string"),
])
def test_bad_device_strings(bad, err, fragment):
    with pytest.raises(err, match=fragment):
        cr.device(bad)


def test_answers_of_a_machine_without_accelerators():
    assert cr.cuda.is_available() is False and cr.cuda.device_count() == 0
    assert cr.backends.mps.is_available() is False and cr.backends.mps.is_built() is False
    assert cr.accelerator.is_available() is False
    assert cr.accelerator.current_accelerator() is None
    cr.cuda.manual_seed_all(0)    # does nothing, as in torch without CUDA
    cr.backends.cudnn.deterministic = True
    assert cr.backends.cudnn.deterministic is True
    cr.backends.cudnn.deterministic = False
    with pytest.raises(RuntimeError, match="devices that exist: cpu"):
        cr.cuda.current_device()


@pytest.mark.parametrize("name, make", FACTORIES, ids=[n for n, _ in FACTORIES])
def test_every_factory_takes_device(name, make):
    for d in (None, "cpu", "cpu:0", cr.device("cpu")):
        t = make(d)
        assert t.device == cr.device("cpu") and t.device.type == "cpu"
        assert isinstance(t.device, cr.device)
    for d in ("cuda", "mps", cr.device("cuda:0")):
        with pytest.raises(RuntimeError, match=rf"no '{cr.device(d).type}' device.*devices "
                                               "that exist: cpu"):
            make(d)


def test_to_device_and_dtype_forms():
    t = cr.ones(2, 3)
    assert t.to("cpu") is t and t.to(cr.device("cpu")) is t and t.cpu() is t
    assert t.to("cpu", cr.float64).dtype == cr.float64
    assert t.to(device="cpu", dtype=cr.float64).dtype == cr.float64
    assert t.to(cr.zeros(1, dtype=cr.int64)).dtype == cr.int64
    assert t.to(cr.float32) is t and t.to("float64").dtype == cr.float64
    c = t.to("cpu", copy=True)
    assert c is not t and np.array_equal(c.numpy(), t.numpy())
    c.numpy()[0, 0] = 5
    assert t.numpy()[0, 0] == 1
    with pytest.raises(RuntimeError, match="no 'cuda' device"):
        t.to("cuda")
    with pytest.raises(RuntimeError, match="no 'cuda' device"):
        t.cuda()
    with pytest.raises(RuntimeError, match="device=0 means accelerator 0"):
        t.to(0)
    with pytest.raises(TypeError, match="unexpected keyword argument 'devce'"):
        t.to(devce="cpu")


def test_to_keeps_the_graph():
    x = cr.ones(3, requires_grad=True)
    (x.to("cpu", cr.float64) * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2, 2, 2])
    assert x.grad.dtype == cr.float32


def test_module_to_device():
    m = cr.nn.Linear(3, 2, device="cpu")
    w = m.weight
    assert m.to(cr.device("cpu")) is m and m.weight is w
    assert m.to("cpu", cr.float64).weight.dtype == cr.float64 and m.weight is w
    m.to(dtype=cr.float32)
    assert m.weight.dtype == cr.float32
    with pytest.raises(RuntimeError, match="no 'cuda' device"):
        m.to("cuda")
    with pytest.raises(RuntimeError, match="no 'cuda' device"):
        m.cuda()
    with pytest.raises(RuntimeError, match="nn.Linear: no 'mps' device"):
        cr.nn.Linear(2, 2, device="mps")


def test_default_device():
    assert cr.get_default_device() == "cpu"
    cr.set_default_device("cpu")
    assert cr.zeros(1).device == "cpu"
    with pytest.raises(RuntimeError, match="set_default_device: no 'cuda' device"):
        cr.set_default_device("cuda")
    assert cr.get_default_device() == cr.device("cpu")
    cr.set_default_device(None)


def test_size_is_a_tuple_as_torch_size():
    s = cr.zeros(2, 3, 4).shape
    assert isinstance(s, cr.Size) and isinstance(s, tuple) and s == (2, 3, 4)
    assert cr.zeros(2, 3).size() == cr.Size([2, 3]) and cr.zeros(2, 3).size(1) == 3
    assert type(cr.zeros(2, 3).size(1)) is int
    assert repr(s) == "chainrule.Size([2, 3, 4])" and str(s) == repr(s)
    assert isinstance(s[1:], cr.Size) and s[1:] == (3, 4) and s[-1] == 4
    assert isinstance(s + (5,), cr.Size) and s + (5,) == (2, 3, 4, 5)
    assert s.numel() == 24 and cr.Size([]).numel() == 1 and cr.zeros(()).shape == ()
    assert cr.zeros(s).shape == s


def test_type_names_and_legacy_types():
    assert cr.zeros(2).type() == "chainrule.FloatTensor"
    names = {cr.float64: "Double", cr.int64: "Long", cr.int32: "Int", cr.bool: "Bool",
             cr.float16: "Half", cr.uint8: "Byte", cr.int8: "Char", cr.int16: "Short"}
    for dt, n in names.items():
        assert cr.zeros(2, dtype=dt).type() == f"chainrule.{n}Tensor"
    t = cr.ones(2)
    for target in (cr.float64, "torch.DoubleTensor", "chainrule.DoubleTensor", cr.DoubleTensor):
        assert t.type(target).dtype == cr.float64
    with pytest.raises(ValueError, match="invalid type"):
        t.type("numpy.DoubleTensor")
    f = cr.FloatTensor([1, 2])
    assert f.dtype == cr.float32 and f.tolist() == [1.0, 2.0]
    assert cr.LongTensor([1, 2]).dtype == cr.int64 and cr.BoolTensor([1, 0]).dtype == cr.bool
    assert cr.IntTensor(2, 3).shape == (2, 3) and cr.IntTensor(2, 3).dtype == cr.int32
    assert cr.DoubleTensor(cr.Size([2])).shape == (2,)
    assert isinstance(cr.zeros(2), cr.FloatTensor) and not isinstance(cr.zeros(2), cr.LongTensor)
    assert isinstance(cr.arange(3), cr.LongTensor) and not isinstance([1.0], cr.FloatTensor)
    assert repr(cr.FloatTensor) == "<class 'chainrule.FloatTensor'>"
    with pytest.raises(TypeError, match=r"FloatTensor\(\) expects data"):
        cr.FloatTensor("abc")


def test_variable_is_a_no_op_wrapper():
    base = cr.ones(2)
    v = cr.autograd.Variable(base, requires_grad=True)
    assert isinstance(v, cr.Tensor) and v.requires_grad and v.is_leaf
    (v * 3).sum().backward()
    np.testing.assert_array_equal(v.grad.numpy(), [3, 3])
    with cr.no_grad():
        v[0] = 5.0
    assert base[0].item() == 5.0        # shares memory, as torch.autograd.Variable(x) does
    assert not cr.autograd.Variable(cr.ones(1)).requires_grad


def test_format_of_a_zero_dim_tensor():
    x = cr.tensor(3.14159)
    assert "{:+.2f}".format(x) == "+3.14" and f"{x:f}" == "3.141590"
    assert f"{cr.tensor(2, dtype=cr.int64):03d}" == "002"
    assert format(cr.tensor([1.0, 2.0])) == str(cr.tensor([1.0, 2.0]))
    with pytest.raises(TypeError, match=r"only a 0-d tensor formats as a number"):
        "{:.2f}".format(cr.tensor([1.0, 2.0]))


def test_format_and_type_agree_with_torch():
    torch = pytest.importorskip("torch")
    for v in (3.14159, -0.5, 1e-7, 12345.678):
        for spec in ("+.2f", "f", ".3e", "", "10.4g"):
            assert format(cr.tensor(v), spec) == format(torch.tensor(v), spec)
    for dt in ("float32", "float64", "int64", "int32", "bool", "float16", "uint8"):
        ours = cr.zeros(1, dtype=getattr(cr, dt)).type()
        theirs = torch.zeros(1, dtype=getattr(torch, dt)).type()
        assert ours.replace("chainrule.", "torch.") == theirs
    assert tuple(cr.zeros(2, 3).shape) == tuple(torch.zeros(2, 3).shape)
