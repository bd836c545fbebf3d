"""Models come across: PyTorch .pt files (read without torch, never running their code),
safetensors both ways, memory shared with NumPy and through DLPack."""
import collections
import io
import os
import pickle
import struct
import zipfile

import numpy as np
import pytest

import chainrule as cr
from chainrule import torchfile


def _mlp_pair(torch):
    torch.manual_seed(0)
    tm = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    cm = cr.nn.Sequential(cr.nn.Linear(4, 8), cr.nn.Tanh(), cr.nn.Linear(8, 3))
    return tm, cm


@pytest.mark.parametrize("zipped", [True, False], ids=["zip", "legacy"])
def test_state_dict_saved_by_torch_loads_into_a_chainrule_model(tmp_path, zipped):
    torch = pytest.importorskip("torch")
    tm, cm = _mlp_pair(torch)
    path = tmp_path / "model.pt"
    torch.save(tm.state_dict(), path, _use_new_zipfile_serialization=zipped)
    sd = cr.load(path)
    assert list(sd) == list(tm.state_dict())
    cm.load_state_dict(sd)
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    with torch.no_grad():
        want = tm(torch.from_numpy(x)).numpy()
    got = cm(cr.tensor(x))
    assert got.dtype == cr.float32
    np.testing.assert_allclose(got.detach().numpy(), want, rtol=1e-6, atol=1e-7)


def test_checkpoint_with_optimizer_and_odd_tensors(tmp_path):
    torch = pytest.importorskip("torch")
    tm, _ = _mlp_pair(torch)
    opt = torch.optim.Adam(tm.parameters(), lr=0.01)
    tm(torch.randn(2, 4)).sum().backward()
    opt.step()
    base = torch.arange(24, dtype=torch.float64).reshape(4, 6)
    ckpt = {"model": tm.state_dict(), "optimizer": opt.state_dict(), "epoch": 7,
            "strided": base[::2, 1::3], "shared_a": base, "shared_b": base[1],
            "half": torch.ones(3, dtype=torch.float16), "long": torch.tensor([1, -2]),
            "flag": torch.tensor([True, False]), "param": torch.nn.Parameter(torch.ones(2)),
            "shape": torch.Size([2, 3]), "dtype": torch.float64, "where": torch.device("cpu"),
            "scalar": torch.tensor(2.5), "empty": torch.zeros(0, 3), "names": ["a", ("b", 1)]}
    for zipped in (True, False):
        path = tmp_path / f"ckpt{zipped}.pt"
        torch.save(ckpt, path, _use_new_zipfile_serialization=zipped)
        got = cr.load(path)
        assert got["epoch"] == 7 and got["names"] == ["a", ("b", 1)]
        for k in ("strided", "shared_a", "shared_b", "half", "long", "flag", "scalar", "empty"):
            assert got[k].dtype == np.dtype(str(ckpt[k].dtype).replace("torch.", ""))
            np.testing.assert_array_equal(got[k].numpy(), ckpt[k].numpy())
        got["shared_a"].numpy()[1, 0] = -1.0    # tensors that shared a storage still do
        assert got["shared_b"][0].item() == -1.0
        assert got["param"].requires_grad and got["param"].is_leaf
        assert got["shape"] == (2, 3) and isinstance(got["shape"], cr.Size)
        assert got["dtype"] == cr.float64 and got["where"] == cr.device("cpu")
        groups = got["optimizer"]["param_groups"]
        assert groups[0]["lr"] == 0.01 and groups[0]["betas"] == (0.9, 0.999)
        st = got["optimizer"]["state"][0]
        np.testing.assert_array_equal(st["exp_avg"].numpy(),
                                      opt.state_dict()["state"][0]["exp_avg"].numpy())
        assert st["step"].item() == 1.0
        with open(path, "rb") as fh:   # a file object works too
            assert cr.load(fh)["epoch"] == 7


def test_a_pickled_module_is_refused_and_never_run(tmp_path):
    torch = pytest.importorskip("torch")
    tm, _ = _mlp_pair(torch)
    path = tmp_path / "whole.pt"
    torch.save(tm, path)
    with pytest.raises(ValueError, match=r"asks to import torch\.nn\.modules\.container"
                                         r"\.Sequential.*torch\.save\(model\.state_dict\(\)"):
        cr.load(path)


class _Boom:
    def __reduce__(self):
        return (os.system, ("echo pwned > should_not_exist",))


def _torch_zip(path, payload, storages=()):
    """A file in torch.save's zip layout with a hand-made data.pkl (no torch needed)."""
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", payload)
        z.writestr("archive/byteorder", "little")
        for key, raw in storages:
            z.writestr(f"archive/data/{key}", raw)


class _Ref:
    """Pickles as a reference to the global ``module.name`` without importing it."""
    def __init__(self, module, name):
        self.module, self.name = module, name

    def __call__(self):   # (pickle insists that a reduce function be callable)
        raise AssertionError("never called")


class _Pid:
    def __init__(self, pid):
        self.pid = pid


class _Call:
    """Pickles as the call ``module.name(*args)``."""
    def __init__(self, module, name, *args):
        self.ref, self.args = _Ref(module, name), args


class _Pickler(pickle._Pickler):   # the pure-Python pickler: its dispatch table can be extended
    dispatch = dict(pickle._Pickler.dispatch)
    dispatch[_Ref] = lambda self, obj: self.write(
        pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())

    def reducer_override(self, obj):
        return (obj.ref, obj.args) if isinstance(obj, _Call) else NotImplemented

    def persistent_id(self, obj):
        return obj.pid if isinstance(obj, _Pid) else None


def _dumps(obj):
    buf = io.BytesIO()
    _Pickler(buf, protocol=2).dump(obj)
    return buf.getvalue()


def _fake_tensor(key, offset, size, stride, numel=4, storage="FloatStorage"):
    pid = _Pid(("storage", _Ref("torch", storage), key, "cpu", numel))
    return _Call("torch._utils", "_rebuild_tensor_v2", pid, offset, size, stride, False,
                 collections.OrderedDict())


def test_a_file_that_would_run_code_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _torch_zip(tmp_path / "evil.pt", pickle.dumps({"w": _Boom()}, protocol=2))
    with pytest.raises(ValueError, match=r"asks to import posix\.system|asks to import os"):
        cr.load(tmp_path / "evil.pt")
    assert not (tmp_path / "should_not_exist").exists()


def test_out_of_bounds_geometry_is_refused(tmp_path):
    # a crafted tensor whose strides reach past its 4-element storage would read foreign memory
    raw = np.arange(4, dtype=np.float32).tobytes()
    ok = _dumps({"w": _fake_tensor("0", 1, (3,), (1,))})
    _torch_zip(tmp_path / "ok.pt", ok, [("0", raw)])
    np.testing.assert_array_equal(cr.load(tmp_path / "ok.pt")["w"].numpy(), [1, 2, 3])
    for offset, size, stride in [(2, (3,), (1,)), (0, (2, 2), (4, 1)), (0, (3,), (-1,))]:
        bad = _dumps({"w": _fake_tensor("0", offset, size, stride)})
        _torch_zip(tmp_path / "bad.pt", bad, [("0", raw)])
        with pytest.raises(ValueError, match="beyond its storage|bad geometry"):
            cr.load(tmp_path / "bad.pt")
    short = _dumps({"w": _fake_tensor("0", 0, (4,), (1,), numel=8)})
    _torch_zip(tmp_path / "short.pt", short, [("0", raw)])
    with pytest.raises(ValueError, match=r"declares 16 bytes, its tensors need 32 \(corrupt"):
        cr.load(tmp_path / "short.pt")


def test_bfloat16_is_refused_by_name(tmp_path):
    payload = _dumps({"w": _fake_tensor("0", 0, (2,), (1,), 2, "BFloat16Storage")})
    _torch_zip(tmp_path / "bf.pt", payload, [("0", b"\0" * 4)])
    with pytest.raises(ValueError, match="BFloat16Storage data; chainrule has no such dtype"):
        cr.load(tmp_path / "bf.pt")


def test_chainrule_files_still_load_and_modules_are_refused(tmp_path):
    sd = {"w": cr.randn(2, 2)}
    cr.save(sd, tmp_path / "x.pt")      # a .pt name written by chainrule is chainrule's format
    np.testing.assert_array_equal(cr.load(tmp_path / "x.pt")["w"].numpy(), sd["w"].numpy())
    model = cr.nn.Linear(2, 2)
    with pytest.raises(TypeError, match=r"whole module.*cr\.save\(model\.state_dict\(\)"
                                        r".*model\.load_state_dict\(cr\.load"):
        cr.save(model, tmp_path / "m.pt")
    with pytest.raises(TypeError, match="whole module or optimizer"):
        cr.save({"opt": cr.optim.SGD(model.parameters(), lr=0.1)}, tmp_path / "o.pt")


def test_safetensors_both_ways(tmp_path):
    torch = pytest.importorskip("torch")
    st_torch = pytest.importorskip("safetensors.torch")
    tm, cm = _mlp_pair(torch)
    st_torch.save_file(tm.state_dict(), str(tmp_path / "t.safetensors"))
    cm.load_state_dict(cr.load(tmp_path / "t.safetensors"))
    for (k, a), b in zip(cm.state_dict().items(), tm.state_dict().values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)
    cr.save(cm.state_dict(), tmp_path / "c.safetensors")
    back = st_torch.load_file(str(tmp_path / "c.safetensors"))
    assert sorted(back) == sorted(tm.state_dict())   # safetensors sorts its keys
    for k, v in cm.state_dict().items():
        np.testing.assert_array_equal(back[k].numpy(), v.numpy(), err_msg=k)
        assert back[k].dtype == torch.float32


def test_from_numpy_and_numpy_share_memory():
    arr = np.zeros(3, dtype=np.float32)
    t = cr.from_numpy(arr)
    arr[0] = 4.0
    assert t[0].item() == 4.0
    t.numpy()[1] = 5.0
    assert arr[1] == 5.0 and np.shares_memory(t.numpy(), arr)
    with pytest.raises(TypeError, match="from_numpy expects an np.ndarray"):
        cr.from_numpy([1.0, 2.0])


def test_dlpack_is_zero_copy_both_ways():
    torch = pytest.importorskip("torch")
    t = cr.arange(6, dtype=cr.float32).reshape(2, 3)
    tt = torch.from_dlpack(t)
    tt[0, 0] = 42.0
    assert t[0, 0].item() == 42.0 and tt.dtype == torch.float32 and tuple(tt.shape) == (2, 3)
    arr = np.from_dlpack(t)
    assert np.shares_memory(arr, t.numpy())
    assert t.__dlpack_device__()[0] == 1     # kDLCPU
    src = torch.arange(4, dtype=torch.float64)
    c = cr.from_dlpack(src)
    src[2] = -7.0
    assert c.dtype == cr.float64 and c[2].item() == -7.0
    c2 = cr.from_dlpack(np.ones(2, dtype=np.int64))
    assert c2.dtype == cr.int64
    with pytest.raises(RuntimeError, match="require gradient"):
        np.from_dlpack(cr.ones(2, requires_grad=True))
    with pytest.raises(TypeError, match="object with __dlpack__"):
        cr.from_dlpack([1, 2])


def test_legacy_stream_without_torch(tmp_path):
    # the legacy layout by hand: magic, protocol, info, object, keys, then each storage's bytes
    raw = np.array([1.5, -2.0, 3.25], dtype=np.float32)
    buf = io.BytesIO()
    for head in (torchfile._MAGIC, 1001, {"protocol_version": 1001, "little_endian": True}):
        pickle.dump(head, buf, protocol=2)
    pid = _Pid(("storage", _Ref("torch", "FloatStorage"), "k0", "cpu", 3, None))
    buf.write(_dumps({"w": _Call("torch._utils", "_rebuild_tensor_v2", pid, 0, (3,), (1,), False,
                                 collections.OrderedDict())}))
    pickle.dump(["k0"], buf, protocol=2)
    buf.write(struct.pack("<q", 3) + raw.tobytes())
    (tmp_path / "old.pt").write_bytes(buf.getvalue())
    np.testing.assert_array_equal(cr.load(tmp_path / "old.pt")["w"].numpy(), raw)
    (tmp_path / "cut.pt").write_bytes(buf.getvalue()[:-4])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        cr.load(tmp_path / "cut.pt")
