"""Fuzzing (hypothesis): corrupt model files, IDX files, CSV/NPY inputs and configs.

Every property asserts a clean outcome: the documented exception type (or, through a command,
exit status 0 or 1 with exactly one ``chainrule:`` line and no traceback), and no file left behind
in the run folder.  Example counts are set per property (``FUZZ_EXAMPLES`` scales them all) so the
file runs in well under a minute; docs/reliability.md lists them.
"""
import contextlib
import gzip
import io
import json
import os
import shutil
import zipfile

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import chainrule as cr  # noqa: E402
from chainrule import runs  # noqa: E402
from chainrule.cli import main  # noqa: E402
from chainrule.datasets import read_idx, write_idx  # noqa: E402

SCALE = float(os.environ.get("FUZZ_EXAMPLES", "1"))


def _settings(n):
    return settings(max_examples=max(1, int(n * SCALE)), deadline=None, derandomize=True,
                    suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """A finished run (built directly, no training) and a scratch folder."""
    root = tmp_path_factory.mktemp("fuzz")
    run = root / "run"
    run.mkdir()
    spec = {"type": "mlp", "sizes": [4, 5, 3], "activation": "relu", "output_activation": None}
    cr.manual_seed(0)
    from chainrule.models import mlp_from_spec
    model = mlp_from_spec(spec)
    cfg = {"format": runs.RUN_FORMAT, "model": spec, "loss": "cross_entropy",
           "dataset": "blobs", "data_dir": None, "n_features": 4, "n_classes": 3,
           "options": {"samples": 60, "seed": 0, "test_split": 0.2, "val_split": 0.1}}
    runs.write_json(str(run / "config.json"), cfg)
    runs.save_model(str(run), model, cfg)
    scratch = root / "scratch"
    scratch.mkdir()
    return run, scratch, cfg


def _command(argv):
    """``(status, stderr)`` of one command; asserts the clean-outcome contract."""
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            status = main(argv)
        except SystemExit as exc:         # usage errors
            status = exc.code
    text = err.getvalue()
    assert "Traceback" not in text and "internal error" not in text, text
    assert status in (0, 1, 2), (status, text)
    if status:
        lines = [ln for ln in text.splitlines() if ln.strip()]
        assert len(lines) == 1 and "error:" in lines[0], text
    return status, text


def _listing(folder):
    return sorted(os.listdir(folder))


# ---------------------------------------------------------------------------------------------
# model files: cr.load and the commands
# ---------------------------------------------------------------------------------------------
mutation = st.lists(st.tuples(st.sampled_from(["flip", "cut", "insert", "zero"]),
                              st.floats(0, 1), st.integers(0, 255)), min_size=1, max_size=4)


def _mutate(data, ops):
    data = bytearray(data)
    for kind, where, byte in ops:
        i = min(int(where * len(data)), len(data) - 1)
        if kind == "flip":
            data[i] ^= byte or 1
        elif kind == "cut":
            del data[i:]
        elif kind == "insert":
            data[i:i] = bytes([byte]) * 8
        else:
            data[i:i + 16] = bytes(len(data[i:i + 16]))
        if not data:
            break
    return bytes(data)


@_settings(100)
@given(ops=mutation)
def test_fuzz_corrupt_model_file_through_load_and_commands(work, ops):
    run, scratch, _ = work
    good = (run / "model.npz").read_bytes()
    bad = _mutate(good, ops)
    d = scratch / "model_fuzz"
    shutil.rmtree(d, ignore_errors=True)
    shutil.copytree(run, d)
    (d / "model.npz").write_bytes(bad)
    try:
        cr.load(d / "model.npz")
    except ValueError:
        pass
    before = _listing(d)
    np.save(scratch / "x.npy", np.zeros((2, 4), np.float32))
    for argv in (["evaluate", str(d)], ["predict", str(d), "--input", str(scratch / "x.npy")],
                 ["check", str(d)]):
        status, _ = _command(argv)
        assert status == 0 or status == 1
        if bad != good and status == 0:      # a changed file can only pass with equal content
            loaded = cr.load(d / "model.npz")
            ref = cr.load(run / "model.npz")
            assert loaded["sha256"] == ref["sha256"]
    assert _listing(d) == before             # nothing written, nothing left behind


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-2 ** 70, 2 ** 70) | st.floats()
    | st.sampled_from(["__tensor__", "__array__", "__scalar__", "__tuple__", "__dict__",
                       "value", "w", "chainrule-state/1", ""]),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(
        st.sampled_from(["__tensor__", "__array__", "__scalar__", "__tuple__", "__dict__",
                         "root", "format", "w", "a"]), kids, max_size=3),
    max_leaves=12)


@_settings(100)
@given(root=_json, deep=st.integers(0, 3))
def test_fuzz_crafted_metadata_raises_only_valueerror(work, root, deep):
    _, scratch, _ = work
    meta = {"format": "chainrule-state/1", "root": root}
    text = json.dumps(meta)
    if deep:                                    # nesting deep enough to exhaust recursion
        text = '{"format": "chainrule-state/1", "root": ' + "[" * (10 ** deep * 10) + \
               "]" * (10 ** deep * 10) + "}"
    path = scratch / "meta.npz"
    with open(path, "wb") as fh:
        np.savez(fh, __chainrule__=np.frombuffer(text.encode(), np.uint8), w=np.ones(3),
                 value=np.array(["a"]))
    try:
        cr.load(path)
    except ValueError:
        pass


@_settings(60)
@given(shape=st.lists(st.integers(0, 2 ** 40), min_size=1, max_size=3),
       compress=st.booleans())
def test_fuzz_declared_sizes_are_checked_before_reading(work, shape, compress):
    """An .npz entry whose header declares more than it holds is refused without allocating."""
    _, scratch, _ = work
    path = scratch / "sizes.npz"
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False,
                                                  "shape": tuple(shape)})
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    meta = io.BytesIO()
    np.save(meta, np.frombuffer(b'{"format": "chainrule-state/1", "root": {"__array__": "w"}}',
                                np.uint8))
    with zipfile.ZipFile(path, "w", method) as z:
        z.writestr("w.npy", header.getvalue() + bytes(64))
        z.writestr("__chainrule__.npy", meta.getvalue())
    declared = int(np.prod(shape, dtype=object)) * 8
    if declared == 64:                            # the one honest header: it loads
        assert cr.load(path).shape == tuple(shape)
        return
    with pytest.raises(ValueError, match="declare"):
        cr.load(path)


# ---------------------------------------------------------------------------------------------
# IDX files
# ---------------------------------------------------------------------------------------------
@_settings(150)
@given(head=st.binary(min_size=0, max_size=24), body=st.binary(max_size=64),
       code=st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x07]),
       dims=st.lists(st.integers(0, 2 ** 32 - 1), max_size=4), gz=st.booleans(),
       structured=st.booleans())
def test_fuzz_idx_files(work, head, body, code, dims, gz, structured):
    _, scratch, _ = work
    if structured:
        head = bytes([0, 0, code, len(dims)]) + np.asarray(dims, ">u4").tobytes()
    data = head + body
    if gz:
        data = gzip.compress(data)[: None if len(body) % 3 else -3]   # sometimes truncated
    path = scratch / "x-idx"
    path.write_bytes(data)
    try:
        arr = read_idx(path)
    except ValueError as exc:
        assert "IDX file" in str(exc) and "-" not in str(exc).split("need")[-1][:3]
        return
    assert arr.size * arr.itemsize == len(data if not gz else gzip.decompress(data)) - \
        4 - 4 * arr.ndim


@_settings(40)
@given(arr=st.sampled_from([np.uint8, np.int16, np.float32, np.float64]).flatmap(
    lambda dt: st.lists(st.integers(0, 5), min_size=1, max_size=3).map(
        lambda s: np.arange(int(np.prod(s)), dtype=dt).reshape(s))), gz=st.booleans())
def test_fuzz_idx_round_trip(work, arr, gz):
    _, scratch, _ = work
    path = scratch / ("rt-idx.gz" if gz else "rt-idx")
    write_idx(path, arr)
    out = read_idx(path)
    assert out.dtype == arr.dtype and np.array_equal(out, arr)
    assert not [f for f in os.listdir(scratch) if f.startswith(".tmp-")]


# ---------------------------------------------------------------------------------------------
# predict inputs: CSV and NPY
# ---------------------------------------------------------------------------------------------
field = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr),
                  st.integers(-10 ** 40, 10 ** 40).map(str),
                  st.sampled_from(["nan", "inf", "-inf", "x", "", "1e999", "p0", " ", "1,2"]))


@_settings(100)
@given(rows=st.lists(st.lists(field, min_size=0, max_size=6), max_size=5),
       ext=st.sampled_from([".csv", ".txt"]))
def test_fuzz_csv_inputs(work, rows, ext):
    run, scratch, _ = work
    sep = "," if ext == ".csv" else " "
    path = scratch / f"in{ext}"
    path.write_text("\n".join(sep.join(r) for r in rows))
    before = _listing(run)
    status, _err = _command(["predict", str(run), "--input", str(path)])
    if status == 0:           # only a table of 4 finite float32 values per row gets through
        text = [r for r in rows if any(f.strip() for f in r)]
        assert text and all(len([f for f in r if f.strip()]) in (0, 4) or sep == ","
                            for r in text)
    assert _listing(run) == before


@_settings(80)
@given(shape=st.lists(st.integers(0, 6), max_size=4),
       dtype=st.sampled_from(["<f4", "<f8", ">f8", "<i8", "|u1", "|b1", "<U3", "<c8"]),
       special=st.sampled_from([None, np.nan, np.inf, -np.inf, 1e300]),
       cut=st.integers(0, 40))
def test_fuzz_npy_inputs(work, shape, dtype, special, cut):
    run, scratch, _ = work
    arr = np.zeros(shape, dtype=dtype)
    if special is not None and arr.size and arr.dtype.kind in "fc":
        with np.errstate(over="ignore"):              # 1e300 is inf in float32
            arr.reshape(-1)[arr.size // 2] = special
    path = scratch / "in.npy"
    buf = io.BytesIO()
    np.save(buf, arr)
    data = buf.getvalue()
    path.write_bytes(data[:len(data) - cut] if cut < 30 else data)
    status, err = _command(["predict", str(run), "--input", str(path)])
    ok = (cut == 0 or cut >= 30) and len(shape) == 2 and shape[0] > 0 and shape[1] == 4 and \
        arr.dtype.kind in "biuf" and (special is None or arr.dtype.kind not in "f")
    assert (status == 0) == ok, (shape, dtype, special, cut, err)


# ---------------------------------------------------------------------------------------------
# config files through every command
# ---------------------------------------------------------------------------------------------
_value = st.one_of(st.none(), st.booleans(), st.integers(-3, 10 ** 12), st.floats(),
                   st.text(max_size=5), st.lists(st.integers(-2, 70), max_size=4),
                   st.sampled_from(["relu", "tanh", "mlp", "nll", "mse", "cross_entropy",
                                    "digits", "blobs", "log_softmax", "chainrule-run/2"]))
_path = st.sampled_from([("format",), ("model",), ("model", "type"), ("model", "sizes"),
                         ("model", "activation"), ("model", "output_activation"), ("loss",),
                         ("dataset",), ("n_features",), ("n_classes",), ("options",),
                         ("options", "seed"), ("options", "samples"), ("options", "test_split"),
                         ("data_dir",)])


@_settings(120)
@given(edits=st.lists(st.tuples(_path, st.one_of(_value, st.just("<delete>"))), min_size=1,
                      max_size=3), garbage=st.sampled_from([None, b"", b"{", b"\xff\xfe",
                                                            b"[1, 2]", b"null", b"1e999"]))
def test_fuzz_config_files_through_every_command(work, edits, garbage):
    run, scratch, cfg = work
    d = scratch / "cfg_fuzz"
    shutil.rmtree(d, ignore_errors=True)
    shutil.copytree(run, d)
    new = json.loads(json.dumps(cfg))
    for path, value in edits:
        node = new
        for key in path[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict):
            if value == "<delete>":
                node.pop(path[-1], None)
            else:
                node[path[-1]] = value
    data = garbage if garbage is not None else json.dumps(new).encode()
    (d / "config.json").write_bytes(data)
    np.save(scratch / "x.npy", np.zeros((2, 4), np.float32))
    before = _listing(d)
    results = []
    for argv in (["evaluate", str(d)], ["predict", str(d), "--input", str(scratch / "x.npy")],
                 ["check", str(d)], ["train", "--resume", str(d), "--quiet"]):
        results.append(_command(argv)[0])
    bound_same = garbage is None and _bound_equal(new, cfg)
    if not bound_same:        # a config that disagrees with the weights never gets through
        assert results[:3] == [1, 1, 1], (new, results)
    assert results[3] == 1    # a finished run is never resumed
    assert _listing(d) == before


def _bound_equal(new, cfg):
    try:
        return runs.bound_config(new) == runs.bound_config(cfg) and \
            new.get("format") == cfg["format"]
    except (KeyError, TypeError, AttributeError):
        return False


# ---------------------------------------------------------------------------------------------
# training checkpoints through chainrule train --resume
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def unfinished(tmp_path_factory):
    """A run whose training ended but whose model was never saved (as if killed then)."""
    from unittest import mock
    root = tmp_path_factory.mktemp("unfinished")
    run = root / "run"
    with mock.patch("chainrule.runs.save_model", side_effect=OSError("killed")):
        assert main(["train", "--dataset", "blobs", "--samples", "80", "--epochs", "2",
                     "--hidden", "4", "--quiet", "--out", str(run)]) == 1
    assert (run / "checkpoint.npz").is_file() and not (run / "model.npz").exists()
    return run


@_settings(40)
@given(ops=mutation)
def test_fuzz_corrupt_checkpoint_through_resume(unfinished, ops):
    good = (unfinished / "checkpoint.npz").read_bytes()
    d = unfinished.parent / "resume_fuzz"
    shutil.rmtree(d, ignore_errors=True)
    shutil.copytree(unfinished, d)
    (d / "checkpoint.npz").write_bytes(_mutate(good, ops))
    status, _err = _command(["train", "--resume", str(d), "--quiet"])
    if status == 1:           # refused: nothing of the run changed, no model claimed
        assert not (d / "model.npz").exists()
    else:
        assert runs.load_run(str(d))[1] is not None
    assert not [f for f in os.listdir(d) if f.startswith(".tmp-")]
