"""cr.train: fit / evaluate / predict, metrics and callbacks."""
import io
import json
import math
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule import serialization
from chainrule.train import (CSVLogger, Callback, EarlyStopping, JSONLogger, LRSchedulerCallback,
                             ModelCheckpoint, ProgressBar, TerminateOnNaN, evaluate, fit,
                             get_metric, predict)
from chainrule.utils.data import DataLoader, TensorDataset

nn = pytest.importorskip("chainrule.nn")
optim = pytest.importorskip("chainrule.optim")


def _blobs(n=240, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    centers = np.array([[0.0, 3.0], [3.0, -2.0], [-3.0, -2.0]])
    X = centers[y] + rng.normal(size=(n, 2))     # float64 on purpose: fit casts to float32
    return X, y


def _model(seed=0, hidden=16):
    cr.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, hidden), nn.ReLU(), nn.Linear(hidden, 3))


def _weights(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


class Script(Callback):
    """Overwrites the monitored value with scripted numbers and records weights per epoch."""

    def __init__(self, values, key="val_loss"):
        self.values, self.key, self.seen = values, key, []

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]
        self.seen.append(_weights(self.model))


def test_fit_history_and_learning():
    X, y = _blobs()
    model = _model()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    h = fit(model, nn.CrossEntropyLoss(), opt, (X, y), epochs=6, val_data=(X[:60], y[:60]),
            batch_size=16, verbose=0, generator=cr.Generator().manual_seed(0))
    assert set(h.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr", "time"}
    assert all(len(v) == 6 for v in h.history.values()) and h.epoch == list(range(6))
    assert h.history["loss"][-1] < h.history["loss"][0] / 3
    assert h.history["accuracy"][-1] > 0.9 > h.history["accuracy"][0] - 0.3
    assert h.history["val_accuracy"][-1] >= 0.95
    assert h.history["lr"] == [0.1] * 6 and all(t > 0 for t in h.history["time"])
    assert model.training                     # mode is restored
    # the last val metrics are exactly what evaluate reports
    ev = evaluate(model, nn.CrossEntropyLoss(), (X[:60], y[:60]))
    assert ev["loss"] == pytest.approx(h.history["val_loss"][-1], rel=1e-6)
    assert ev["accuracy"] == h.history["val_accuracy"][-1]


def test_fit_seeded_runs_are_identical_and_accept_all_data_kinds():
    X, y = _blobs(96)
    runs = []
    for data in ((X, y), TensorDataset(cr.tensor(X, dtype=cr.float32), cr.tensor(y)),
                 DataLoader(TensorDataset(cr.tensor(X, dtype=cr.float32), cr.tensor(y)),
                            batch_size=32, shuffle=True,
                            generator=cr.Generator().manual_seed(5))):
        model = _model()
        opt = optim.Adam(model.parameters(), lr=0.01)
        h = fit(model, nn.CrossEntropyLoss(), opt, data, epochs=3, verbose=0,
                generator=cr.Generator().manual_seed(5))
        runs.append(h.history["loss"])
    assert runs[0] == runs[1] == runs[2]


def test_evaluate_matches_closed_form():
    X, y = _blobs(50)
    model = _model()
    logits = model(cr.tensor(X, dtype=cr.float32)).detach().numpy().astype(np.float64)
    logp = logits - logits.max(1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(1, keepdims=True))
    res = evaluate(model, nn.CrossEntropyLoss(), (X, y), metrics=("accuracy", "top2"),
                   batch_size=7)
    assert res["loss"] == pytest.approx(-logp[np.arange(50), y].mean(), rel=1e-5)
    assert res["accuracy"] == np.mean(logits.argmax(1) == y)
    top2 = np.argsort(-logits, 1)[:, :2]
    assert res["top2_accuracy"] == np.mean((top2 == y[:, None]).any(1))


@pytest.mark.parametrize("training", [True, False])
def test_predict_eval_mode_no_grad_and_restores(training):
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.Dropout(0.5), nn.Linear(8, 3))
    model.train(training)
    X = np.random.default_rng(0).normal(size=(10, 2)).astype(np.float32)
    out = predict(model, X, batch_size=3)
    assert out.shape == (10, 3) and not out.requires_grad
    assert model.training == training
    model.eval()
    np.testing.assert_allclose(out.numpy(), model(cr.tensor(X)).detach().numpy(), rtol=1e-6)
    out2 = predict(model, TensorDataset(cr.tensor(X), cr.zeros(10)))
    np.testing.assert_allclose(out2.numpy(), out.numpy(), rtol=1e-6)


def test_binary_with_logits():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 2)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.float32)[:, None]
    cr.manual_seed(0)
    model = nn.Linear(2, 1)
    h = fit(model, nn.BCEWithLogitsLoss(), optim.Adam(model.parameters(), lr=0.1), (X, y),
            epochs=10, verbose=0)
    assert h.history["accuracy"][-1] > 0.95
    assert evaluate(model, nn.BCEWithLogitsLoss(), (X, y))["accuracy"] > 0.95


@pytest.mark.parametrize("out,target,expected", [
    ([[2., 1.], [0., 3.], [1., 0.]], [0, 0, 0], 2),                     # class indices
    ([[2., 1.], [0., 3.]], [[1., 0.], [0., 1.]], 2),                     # one-hot
    ([[-2.], [3.], [0.5]], [[0.], [1.], [0.]], 2),                       # binary logits
    ([0.2, 0.7, 0.4], [0., 1., 1.], 2),                                  # binary probabilities
])
def test_accuracy_metric(out, target, expected):
    assert get_metric("accuracy").batch_sum(np.array(out), np.array(target)) == expected


def test_accuracy_metric_from_logits_and_errors():
    acc = get_metric("acc", loss_fn=nn.BCEWithLogitsLoss())
    assert acc.batch_sum(np.array([0.2, 0.7]), np.array([1.0, 1.0])) == 2   # logits > 0
    with pytest.raises(ValueError, match="class indices"):
        acc.batch_sum(np.zeros((3, 4)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="unknown metric"):
        get_metric("f1")


def test_early_stopping_stops_and_restores_best_weights():
    X, y = _blobs(64)
    model = _model()
    script = Script([1.0, 0.5, 0.6, 0.7, 0.8, 0.1, 0.1])
    stop = EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    h = fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), (X, y),
            epochs=7, val_data=(X, y), callbacks=[script, stop], verbose=0)
    assert len(h.epoch) == 4 and stop.stopped_epoch == 3 and stop.best_epoch == 1
    assert stop.best == 0.5
    for k, v in _weights(model).items():
        np.testing.assert_array_equal(v, script.seen[1][k])


def test_early_stopping_max_mode_min_delta_and_missing_monitor():
    X, y = _blobs(32)
    model = _model()
    script = Script([0.5, 0.505, 0.52, 0.6, 0.6], key="val_accuracy")
    stop = EarlyStopping(monitor="val_accuracy", patience=2, min_delta=0.05)
    h = fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), (X, y),
            epochs=5, val_data=(X, y), callbacks=[script, stop], verbose=0)
    assert stop.mode == "max" and len(h.epoch) == 3
    with pytest.warns(RuntimeWarning, match="'val_loss' is not in the logs"):
        fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), (X, y),
            epochs=2, callbacks=[EarlyStopping()], verbose=0)


def test_model_checkpoint_best_and_last(tmp_path):
    X, y = _blobs(64)
    model = _model()
    script = Script([0.9, 0.3, 0.4, 0.2, 0.6])
    ckpt = ModelCheckpoint(tmp_path / "ck", monitor="val_loss")
    fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), (X, y), epochs=5,
        val_data=(X, y), callbacks=[script, ckpt], verbose=0)
    best, last = cr.load(tmp_path / "ck" / "best.npz"), cr.load(tmp_path / "ck" / "last.npz")
    assert ckpt.best_epoch == 3
    for k in script.seen[3]:
        np.testing.assert_array_equal(best[k].numpy(), script.seen[3][k])
        np.testing.assert_array_equal(last[k].numpy(), script.seen[4][k])
    fresh = _model(seed=1)
    fresh.load_state_dict(best)


def test_model_checkpoint_failed_save_keeps_previous(tmp_path, monkeypatch):
    X, y = _blobs(64)
    model = _model()
    script = Script([0.9, 0.3, 0.2])
    real, calls = serialization._write_npz, []

    def flaky(fh, arrays):
        calls.append(1)
        if len(calls) == 4:           # epoch 1: best written, then "last" fails halfway
            fh.write(b"partial garbage")
            raise OSError("interrupted (simulated)")
        return real(fh, arrays)

    monkeypatch.setattr(serialization, "_write_npz", flaky)
    with pytest.raises(OSError, match="simulated"):
        fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), (X, y),
            epochs=3, val_data=(X, y), verbose=0,
            callbacks=[script, ModelCheckpoint(tmp_path, monitor="val_loss")])
    last = cr.load(tmp_path / "last.npz")            # still epoch 0's, and readable
    best = cr.load(tmp_path / "best.npz")            # epoch 1's
    for k in script.seen[0]:
        np.testing.assert_array_equal(last[k].numpy(), script.seen[0][k])
        np.testing.assert_array_equal(best[k].numpy(), script.seen[1][k])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.npz", "last.npz"]


def test_csv_and_json_loggers(tmp_path):
    X, y = _blobs(48)
    model = _model()
    h = fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), (X, y),
            epochs=3, val_data=(X, y), verbose=0,
            callbacks=[CSVLogger(tmp_path / "log.csv"), JSONLogger(tmp_path / "log.json")])
    lines = (tmp_path / "log.csv").read_text().splitlines()
    header = lines[0].split(",")
    assert header[0] == "epoch" and set(header[1:]) == set(h.history) and len(lines) == 4
    for i, line in enumerate(lines[1:]):
        row = dict(zip(header, line.split(",")))
        assert int(row["epoch"]) == i and float(row["val_loss"]) == h.history["val_loss"][i]
    records = json.loads((tmp_path / "log.json").read_text())
    assert [r["epoch"] for r in records] == [0, 1, 2]
    assert [r["loss"] for r in records] == h.history["loss"]


def test_lr_schedulers_per_epoch_per_batch_and_plateau():
    S = optim.lr_scheduler
    X, y = _blobs(64)
    model = _model()
    opt = optim.SGD(model.parameters(), lr=0.1)
    h = fit(model, nn.CrossEntropyLoss(), opt, (X, y), epochs=4, verbose=0, batch_size=16,
            scheduler=S.StepLR(opt, step_size=2, gamma=0.1))
    assert h.history["lr"] == pytest.approx([0.1, 0.1, 0.01, 0.01])
    opt = optim.SGD(model.parameters(), lr=0.1)
    one = S.OneCycleLR(opt, max_lr=0.1, total_steps=4 * 4)
    assert LRSchedulerCallback(one).per_batch
    fit(model, nn.CrossEntropyLoss(), opt, (X, y), epochs=4, verbose=0, batch_size=16,
        scheduler=one)
    assert one.last_epoch == 16
    opt = optim.SGD(model.parameters(), lr=0.1)
    plateau = S.ReduceLROnPlateau(opt, factor=0.5, patience=0)
    script = Script([1.0, 1.0, 1.0, 1.0])
    h = fit(model, nn.CrossEntropyLoss(), opt, (X, y), epochs=4, verbose=0,
            val_data=(X, y), callbacks=[script], scheduler=plateau)
    assert h.history["lr"] == pytest.approx([0.1, 0.1, 0.05, 0.025])


def test_progress_bar_output(monkeypatch):
    # the built-in bar (tqdm, when installed, draws its own): hide tqdm from the import
    monkeypatch.setitem(sys.modules, "tqdm", None)
    X, y = _blobs(64)

    class TTY(io.StringIO):
        def isatty(self):
            return True

    for stream, verbose in ((io.StringIO(), 1), (TTY(), 1), (TTY(), 2), (io.StringIO(), 0)):
        model = _model()
        fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), (X, y),
            epochs=2, batch_size=8, callbacks=[ProgressBar(verbose, file=stream,
                                                           min_interval=0)])
        text = stream.getvalue()
        if verbose == 0:
            assert text == ""
            continue
        lines = [ln for ln in text.split("\n") if ln]
        assert len(lines) == 2 and "Epoch 2/2" in lines[1] and "accuracy" in lines[1]
        live = isinstance(stream, TTY) and verbose == 1
        assert ("\r" in text) == live
        if live:
            try:
                import tqdm  # noqa: F401  (installed: the bar is tqdm's)
                assert "0/8" in text and "it/s" in text
            except ImportError:
                assert "8/8" in text and "[" + "=" * 24 + "]" in text


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_terminate_on_nan():
    X, y = _blobs(64)
    model = _model()
    h = fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=1e30), (X, y),
            epochs=5, batch_size=8, callbacks=[TerminateOnNaN()], verbose=0)
    assert len(h.epoch) == 1 and not math.isfinite(h.history["loss"][0])


@pytest.mark.parametrize("data,err,match", [
    (np.zeros((4, 2)), TypeError, "single array"),
    ((np.zeros((4, 2)),), ValueError, "pair"),
    ((np.zeros((0, 2), np.float32), np.zeros(0, np.int64)), ValueError, "no batches"),
    ((np.array([["a", "b"]]), np.zeros(1)), TypeError, "numeric"),
])
def test_fit_bad_data(data, err, match):
    model = _model()
    with pytest.raises(err, match=match):
        fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), data,
            verbose=0)


@pytest.mark.parametrize("opt_name", ["SGD", "Adam"])
@pytest.mark.parametrize("dtype", [cr.float32, cr.float64])
def test_fit_compiled_and_eager_are_bit_identical(opt_name, dtype):
    import warnings
    X, y = _blobs(100)
    results = []
    for compile_ in (True, False):
        cr.manual_seed(3)
        model = nn.Sequential(nn.Linear(X.shape[1], 16), nn.Tanh(), nn.Dropout(0.2),
                              nn.Linear(16, 3)).to(dtype)
        kw = {"momentum": 0.9} if opt_name == "SGD" else {}
        opt = getattr(optim, opt_name)(model.parameters(), lr=0.05, **kw)
        with warnings.catch_warnings():
            warnings.simplefilter("error")          # the compiled path needs no fallback here
            hist = fit(model, nn.CrossEntropyLoss(), opt, (X.astype(dtype), y), epochs=3,
                       batch_size=16, verbose=0, generator=cr.Generator().manual_seed(1),
                       compile=compile_)
        results.append(([p.detach().numpy().copy() for p in model.parameters()],
                        hist.history["loss"]))
    (pc, lc), (pe, le) = results
    assert lc == le
    for a, b in zip(pc, pe):
        assert a.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(a, b)


def test_fit_compiled_falls_back_with_one_warning_and_the_same_numbers():
    import warnings
    X, y = _blobs(40)

    class Reads(nn.Module):            # reads a value into Python: a replay can't repeat that
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(X.shape[1], 3)

        def forward(self, x):
            out = self.fc(x)
            return out * 2.0 if out.sum().item() > -1e9 else out

    res = []
    for compile_ in (True, False):
        cr.manual_seed(0)
        model = Reads()
        opt = optim.SGD(model.parameters(), lr=0.1)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            fit(model, nn.CrossEntropyLoss(), opt, (X, y), epochs=2, batch_size=8, verbose=0,
                generator=cr.Generator().manual_seed(1), compile=compile_)
        msgs = [str(x.message) for x in w if "cr.compile" in str(x.message)]
        assert len(msgs) == (1 if compile_ else 0) and (not msgs or "item()" in msgs[0])
        res.append(model.fc.weight.detach().numpy().copy())
    np.testing.assert_array_equal(res[0], res[1])
