"""cr.save / cr.load: safe .npz (and .safetensors) round trips, atomic writes, clear errors."""
import json
import os
import zipfile

import numpy as np
import pytest

import chainrule as cr
from chainrule import serialization


def _same(a, b):
    """Deep equality for loaded objects (tensors compared by value, dtype and type)."""
    if isinstance(a, cr.Tensor):
        assert isinstance(b, cr.Tensor) and a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a.numpy(), b.numpy())
        assert not b.requires_grad
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b)
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b)
    else:
        assert type(a) is type(b) and a == b


OBJECTS = {
    "flat_state_dict": {"fc1.weight": cr.randn(4, 3), "fc1.bias": cr.zeros(4),
                        "bn.num_batches_tracked": cr.tensor(7)},
    "optimizer_like": {"state": {0: {"step": cr.tensor(3.0), "exp_avg": cr.ones(2, 2)}, 1: {}},
                       "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8,
                                         "amsgrad": False, "params": [0, 1], "name": None}]},
    "mixed": {"model": {"w": cr.randn(2, dtype=cr.float64)}, "epoch": 3,
              "arr": np.arange(6, dtype=np.int32).reshape(2, 3), "scalar": np.float32(2.5),
              "nan": float("nan"), "inf": float("-inf"), "text": "héllo",
              "__tensor__": "a key that looks like a marker", "nested": [[1, 2], (3, [4.0])]},
    "bare_tensor": cr.arange(5),
    "transposed": {"t": cr.randn(3, 4).T},
}


@pytest.mark.parametrize("name", list(OBJECTS))
def test_npz_round_trip(tmp_path, name):
    path = tmp_path / "x.npz"
    cr.save(OBJECTS[name], path)
    _same(OBJECTS[name], cr.load(path))
    _same(OBJECTS[name], cr.load(str(path)))


def test_file_object_round_trip():
    import io
    buf = io.BytesIO()
    cr.save(OBJECTS["optimizer_like"], buf)
    buf.seek(0)
    _same(OBJECTS["optimizer_like"], cr.load(buf))


def test_no_pickle_in_file(tmp_path):
    path = tmp_path / "x.npz"
    cr.save(OBJECTS["mixed"], path)
    with np.load(path, allow_pickle=False) as z:       # would raise if any entry needed pickle
        assert "model.w" in z.files and "arr" in z.files
        meta = json.loads(z["__chainrule__"].tobytes())
    assert meta["format"] == "chainrule-state/1"


@pytest.mark.parametrize("name", ["flat_state_dict", "optimizer_like", "mixed"])
def test_safetensors_round_trip(tmp_path, name):
    pytest.importorskip("safetensors")
    path = tmp_path / "x.safetensors"
    cr.save(OBJECTS[name], path)
    assert open(path, "rb").read(2) != b"PK"
    _same(OBJECTS[name], cr.load(path))


def test_plain_safetensors_file_loads_as_flat_dict(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    path = str(tmp_path / "plain.safetensors")
    st.save_file({"a": np.ones((2, 2), dtype=np.float32)}, path)
    out = cr.load(path)
    assert list(out) == ["a"] and out["a"].shape == (2, 2)


def test_model_and_optimizer_state_dict_round_trip(tmp_path):
    nn, optim = pytest.importorskip("chainrule.nn"), pytest.importorskip("chainrule.optim")
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    opt = optim.Adam(model.parameters(), lr=0.01)
    x, y = cr.randn(8, 3), cr.tensor([0, 1] * 4)
    for _ in range(3):
        opt.zero_grad()
        nn.CrossEntropyLoss()(model(x), y).backward()
        opt.step()
    cr.save({"model": model.state_dict(), "opt": opt.state_dict()}, tmp_path / "ck.npz")
    ck = cr.load(tmp_path / "ck.npz")
    model2 = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    model2.load_state_dict(ck["model"])
    opt2 = optim.Adam(model2.parameters(), lr=0.5)
    opt2.load_state_dict(ck["opt"])
    assert opt2.param_groups[0]["lr"] == 0.01
    np.testing.assert_array_equal(model2(x).detach().numpy(), model(x).detach().numpy())
    for o in (opt, opt2):           # one more identical step on both
        o.zero_grad()
    nn.CrossEntropyLoss()(model(x), y).backward()
    nn.CrossEntropyLoss()(model2(x), y).backward()
    opt.step()
    opt2.step()
    for p, q in zip(model.parameters(), model2.parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


def test_failed_write_leaves_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "ck.npz"
    cr.save({"w": cr.ones(3)}, path)
    before = path.read_bytes()
    real = np.lib.format.write_array
    calls = []

    def fail_midway(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full (simulated)")
        return real(*args, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", fail_midway)
    with pytest.raises(OSError, match="simulated"):
        cr.save({"w": cr.zeros(3), "v": cr.zeros(1000)}, path)
    assert len(calls) == 2
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["ck.npz"]          # no temp file left behind
    np.testing.assert_array_equal(cr.load(path)["w"].numpy(), np.ones(3, dtype=np.float32))


def test_unsupported_objects_raise_before_writing(tmp_path):
    path = tmp_path / "x.npz"
    with pytest.raises(TypeError, match="cannot store an object of type object at a.b"):
        cr.save({"a": {"b": object()}}, path)
    with pytest.raises(TypeError, match="dtype object"):
        cr.save({"a": np.array([object()])}, path)
    with pytest.raises(TypeError, match="dict key"):
        cr.save({(1, 2): 3}, path)
    assert not path.exists()


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        cr.load(tmp_path / "missing.npz")
    with pytest.raises(IsADirectoryError):
        cr.load(tmp_path)
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a checkpoint at all")
    with pytest.raises(ValueError, match="not a chainrule checkpoint"):
        cr.load(bad)
    good = tmp_path / "good.npz"
    cr.save({"w": cr.ones(1000)}, good)
    truncated = tmp_path / "trunc.npz"
    truncated.write_bytes(good.read_bytes()[:300])
    with pytest.raises(ValueError, match="corrupt or truncated"):
        cr.load(truncated)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, a=np.ones(2))
    with pytest.raises(ValueError, match="not one written by cr.save"):
        cr.load(foreign)
    pickled = tmp_path / "pickled.npz"
    with zipfile.ZipFile(pickled, "w") as z:
        z.writestr("__chainrule__.npy", b"junk")
    with pytest.raises(ValueError, match="trunc|corrupt|safely"):
        cr.load(pickled)
    if serialization.__name__:      # safetensors path with a bad file
        st = tmp_path / "bad.safetensors"
        st.write_bytes(b"\x00" * 20)
        with pytest.raises((ValueError, ImportError)):
            cr.load(st)
