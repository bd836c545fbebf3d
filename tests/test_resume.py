"""fit's full training-state checkpoints: a resumed run equals an uninterrupted one, bit for bit."""
import os
import signal

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.optim import lr_scheduler
from chainrule.train import (BackupAndRestore, Callback, CSVLogger, EarlyStopping,
                             NonFiniteLossError, TrainingInterrupted, fit)


def _data(n=90, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 5)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1)
    return X, y


class _Crash(Callback):
    """Raises at the given global batch, as a crash would (the checkpoint before it survives)."""

    def __init__(self, at):
        self.at, self.count = at, 0

    def on_batch_end(self, batch, logs=None):
        self.count += 1
        if self.count == self.at:
            raise RuntimeError("crash")


def _setup(seed, use_generator, per_batch):
    cr.manual_seed(seed)
    model = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 3))
    opt = optim.Adam(model.parameters(), lr=0.01)
    sched = (lr_scheduler.OneCycleLR(opt, max_lr=0.05, total_steps=6 * 8) if per_batch
             else lr_scheduler.StepLR(opt, step_size=2, gamma=0.5))
    gen = cr.Generator().manual_seed(seed) if use_generator else None
    return model, opt, sched, gen


def _train(tmp_path, use_generator, per_batch, crash_at=None, resume=False, every=3):
    X, y = _data()
    model, opt, sched, gen = _setup(7, use_generator, per_batch)
    cbs = [EarlyStopping(monitor="val_loss", patience=10, restore_best_weights=True),
           CSVLogger(str(tmp_path / "h.csv"))]
    if crash_at:
        cbs.append(_Crash(crash_at))
    elif resume or crash_at is not None:
        cbs.append(_Crash(0))       # the same callback list as the crashed run
    ckpt = str(tmp_path / "ckpt.npz")
    hist = fit(model, nn.CrossEntropyLoss(), opt, (X, y), epochs=6, val_data=(X[:30], y[:30]),
               scheduler=sched, callbacks=cbs, batch_size=12, verbose=0, generator=gen,
               checkpoint=ckpt, checkpoint_every=every, resume=ckpt if resume else None)
    return model, hist


def _weights(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("use_generator,per_batch", [(True, True), (False, False),
                                                     (True, False)])
@pytest.mark.parametrize("crash_at", [2, 8, 17, 47])
def test_resume_after_a_crash_is_bit_identical(tmp_path, use_generator, per_batch, crash_at):
    ref_dir = tmp_path / "ref"
    ref_dir.mkdir()
    ref, ref_hist = _train(ref_dir, use_generator, per_batch, crash_at=0)
    with pytest.raises(RuntimeError, match="crash"):
        _train(tmp_path, use_generator, per_batch, crash_at=crash_at)
    assert os.path.isfile(tmp_path / "ckpt.npz") or crash_at < 3
    resumed, hist = _train(tmp_path, use_generator, per_batch,
                           resume=os.path.isfile(tmp_path / "ckpt.npz"))
    a, b = _weights(ref), _weights(resumed)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert hist.epoch == ref_hist.epoch == list(range(6))        # each epoch once
    for key in ("loss", "accuracy", "val_loss", "lr"):
        assert hist.history[key] == ref_hist.history[key], key
    ref_rows = (ref_dir / "h.csv").read_text().splitlines()
    rows = (tmp_path / "h.csv").read_text().splitlines()
    assert [r.split(",")[:3] for r in rows] == [r.split(",")[:3] for r in ref_rows]
    assert len(rows) == 7


def test_backup_and_restore_callback(tmp_path):
    X, y = _data()

    def run(crash):
        cr.manual_seed(3)
        model = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3))
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        cbs = [BackupAndRestore(tmp_path / "backup", save_freq=4), _Crash(crash)]
        fit(model, nn.CrossEntropyLoss(), opt, (X, y), epochs=4, batch_size=16, verbose=0,
            callbacks=cbs)
        return _weights(model)

    ref = run(0)
    assert not os.path.exists(tmp_path / "backup" / "checkpoint.npz")   # deleted at the end
    with pytest.raises(RuntimeError):
        run(13)
    assert os.path.isfile(tmp_path / "backup" / "checkpoint.npz")
    (tmp_path / "backup" / ".tmp-leftover").write_bytes(b"x" * 100)
    out = run(0)
    assert not os.path.exists(tmp_path / "backup" / ".tmp-leftover")
    for k in ref:
        np.testing.assert_array_equal(ref[k], out[k])


@pytest.mark.parametrize("at", [4, 8])     # 8: the epoch's last batch (9 batches of 10)
def test_sigterm_saves_the_state_then_stops(tmp_path, at):
    X, y = _data()
    ckpt = str(tmp_path / "c.npz")

    class Term(Callback):
        def __init__(self, fire):
            self.fire = fire

        def on_batch_end(self, batch, logs=None):
            if batch == at and self.fire:
                self.fire = False
                os.kill(os.getpid(), signal.SIGTERM)

    def run(resume, fire=False):
        cr.manual_seed(1)
        model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3))
        opt = optim.Adam(model.parameters(), lr=0.01)
        fit(model, nn.CrossEntropyLoss(), opt, (X, y), epochs=3, batch_size=10, verbose=0,
            callbacks=[Term(fire)], checkpoint=ckpt, resume=resume,
            generator=cr.Generator().manual_seed(1))
        return _weights(model)

    handler = signal.getsignal(signal.SIGTERM)
    with pytest.raises(TrainingInterrupted, match=f"SIGTERM in epoch 1, after step {at + 1}") as exc:
        run(None, fire=True)
    assert exc.value.signum == signal.SIGTERM and exc.value.path == ckpt
    assert signal.getsignal(signal.SIGTERM) is handler              # handlers restored
    assert cr.load(ckpt)["step"] == at + 1
    resumed = run(ckpt)
    os.unlink(ckpt)
    ref = run(None)
    for k in ref:
        np.testing.assert_array_equal(ref[k], resumed[k])


def test_resume_refuses_another_run(tmp_path):
    X, y = _data()
    model = nn.Linear(5, 3)
    opt = optim.SGD(model.parameters(), lr=0.1)
    ckpt = str(tmp_path / "c.npz")
    fit(model, nn.CrossEntropyLoss(), opt, (X, y), epochs=1, verbose=0, checkpoint=ckpt,
        checkpoint_extra={"run": 1})
    with pytest.raises(ValueError, match="written for another run"):
        fit(model, nn.CrossEntropyLoss(), opt, (X, y), epochs=2, verbose=0, resume=ckpt,
            checkpoint_extra={"run": 2})
    with pytest.raises(ValueError, match="callbacks"):
        fit(model, nn.CrossEntropyLoss(), opt, (X, y), epochs=2, verbose=0, resume=ckpt,
            checkpoint_extra={"run": 1}, callbacks=[EarlyStopping(monitor="loss")])
    cr.save(model.state_dict(), ckpt)
    with pytest.raises(ValueError, match="not a training checkpoint"):
        fit(model, nn.CrossEntropyLoss(), opt, (X, y), epochs=2, verbose=0, resume=ckpt)
    with pytest.raises(ValueError, match="checkpoint_every needs a checkpoint"):
        fit(model, nn.CrossEntropyLoss(), opt, (X, y), checkpoint_every=3, verbose=0)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_nonfinite_loss_stops_before_the_step(tmp_path):
    X, y = _data()
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3))
    opt = optim.SGD(model.parameters(), lr=1e30)
    ckpt = str(tmp_path / "c.npz")
    with pytest.raises(NonFiniteLossError, match=r"loss became (nan|inf) in epoch 1, step \d+; "
                       r"the last finite loss was .*lower the learning rate \(now 1e\+30\)"):
        fit(model, nn.CrossEntropyLoss(), opt, (X, y), epochs=3, verbose=0, checkpoint=ckpt,
            batch_size=8)
    assert not os.path.exists(ckpt)          # no checkpoint of a broken state
    Xn = X.copy()
    Xn[40, 2] = np.nan
    model = nn.Linear(5, 3)
    with pytest.raises(NonFiniteLossError, match="no finite loss before it|last finite"):
        fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), (Xn, y),
            epochs=1, verbose=0, shuffle=False, batch_size=90)


def test_resume_with_and_without_batch_callbacks_keeps_epoch_metrics(tmp_path):
    """A run killed on a terminal (live bar: per-batch sums) and resumed without one."""
    from chainrule.train import LambdaCallback
    X, y = _data()
    ckpt = str(tmp_path / "c.npz")

    def run(batch_hook, crash=0, resume=None):
        cr.manual_seed(2)
        model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3))
        opt = optim.SGD(model.parameters(), lr=0.1)
        calls = []

        def loss_fn(out, target):          # crashes at call ``crash`` (no batch hook needed)
            calls.append(1)
            if len(calls) == crash:
                raise RuntimeError("crash")
            return nn.functional.cross_entropy(out, target)

        cbs = [LambdaCallback(on_batch_end=lambda b, logs: None) if batch_hook else
               LambdaCallback(on_epoch_end=lambda e, logs: None)]
        assert cbs[0].wants_batches == batch_hook
        return fit(model, loss_fn, opt, (X, y), epochs=2, batch_size=10, verbose=0,
                   callbacks=cbs, checkpoint=ckpt, checkpoint_every=2, resume=resume,
                   generator=cr.Generator().manual_seed(2), metrics=("accuracy",))

    ref = run(False).history
    for first in (True, False):
        with pytest.raises(RuntimeError):
            run(first, crash=5)
        assert cr.load(ckpt)["step"] == 4
        hist = run(not first, resume=ckpt).history
        assert hist["accuracy"] == ref["accuracy"] and hist["loss"] == ref["loss"]


@pytest.mark.parametrize("opt_name,sched_name", [
    ("SGD", "ReduceLROnPlateau"), ("RMSprop", "CosineAnnealingLR"), ("Adagrad", "ExponentialLR"),
    ("AdamW", "StepLR"), ("SGD", "LinearLR")])
def test_every_optimizer_and_schedule_resume_exactly(tmp_path, opt_name, sched_name):
    X, y = _data()
    ckpt = str(tmp_path / "c.npz")

    def run(crash=0, resume=None):
        cr.manual_seed(4)
        model = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3))
        kw = {"momentum": 0.9} if opt_name in ("SGD", "RMSprop") else {}
        opt = getattr(optim, opt_name)(model.parameters(), lr=0.05, **kw)
        S = lr_scheduler
        sched = {"ReduceLROnPlateau": lambda: S.ReduceLROnPlateau(opt, patience=0, factor=0.5),
                 "CosineAnnealingLR": lambda: S.CosineAnnealingLR(opt, T_max=4),
                 "ExponentialLR": lambda: S.ExponentialLR(opt, gamma=0.9),
                 "StepLR": lambda: S.StepLR(opt, step_size=1, gamma=0.5),
                 "LinearLR": lambda: S.LinearLR(opt, start_factor=0.2,
                                                total_iters=3)}[sched_name]()
        fit(model, nn.CrossEntropyLoss(), opt, (X, y), epochs=4, batch_size=10, verbose=0,
            scheduler=sched, callbacks=[_Crash(crash)], checkpoint=ckpt, checkpoint_every=4,
            resume=resume, generator=cr.Generator().manual_seed(4))
        return _weights(model), [g["lr"] for g in opt.param_groups]

    ref, ref_lr = run()
    with pytest.raises(RuntimeError):
        run(crash=23)
    out, lr = run(resume=ckpt)
    assert lr == ref_lr
    for k in ref:
        np.testing.assert_array_equal(ref[k], out[k])


def test_weights_that_became_nonfinite_stop_the_epoch():
    X, y = _data()
    model = nn.Linear(5, 3)

    class Poison(Callback):                 # the last step leaves an Inf weight, loss finite
        def on_batch_end(self, batch, logs=None):
            if batch == len(X) // 30 - 1:
                with cr.no_grad():
                    model.weight[0, 0] = float("inf")

    with pytest.raises(NonFiniteLossError, match="parameter 'weight' became non-finite in "
                                                 "epoch 1"):
        fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), (X, y),
            epochs=2, batch_size=30, verbose=0, callbacks=[Poison()])
