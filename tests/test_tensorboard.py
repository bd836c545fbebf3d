"""TensorBoard logging: event files read back with TensorBoard's own EventAccumulator."""
import numpy as np
import pytest

pytest.importorskip("tensorboardX")
ea = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")

import chainrule as cr  # noqa: E402
from chainrule.train import fit  # noqa: E402
from chainrule.utils.tensorboard import SummaryWriter  # noqa: E402

nn = cr.nn


def _read(path):
    acc = ea.EventAccumulator(str(path), size_guidance={ea.SCALARS: 0, ea.HISTOGRAMS: 0,
                                                        ea.IMAGES: 0, ea.TENSORS: 0})
    acc.Reload()
    return acc


def _scalars(acc, tag):
    return [(e.step, e.value) for e in acc.Scalars(tag)]


def test_summary_writer_scalars_histograms_images_take_chainrule_tensors(tmp_path):
    w = SummaryWriter(tmp_path)
    for step in range(3):
        w.add_scalar("loss", cr.tensor(1.5 - step), step)
        w.add_scalar("plain", 0.25 * step, step)
    values = cr.tensor(np.arange(10, dtype=np.float32))
    w.add_histogram("w", values, 7)
    w.add_image("img", cr.tensor(np.full((3, 4, 5), 0.5, dtype=np.float32)), 1)
    w.add_scalars("pair", {"a": 1.0, "b": cr.tensor(2.0)}, 4)
    w.close()
    acc = _read(tmp_path)
    assert _scalars(acc, "loss") == [(0, 1.5), (1, 0.5), (2, -0.5)]
    assert _scalars(acc, "plain") == [(0, 0.0), (1, 0.25), (2, 0.5)]
    (h,) = acc.Histograms("w")
    assert h.step == 7 and h.histogram_value.num == 10 and h.histogram_value.sum == 45
    assert h.histogram_value.min == 0 and h.histogram_value.max == 9
    (im,) = acc.Images("img")
    assert (im.step, im.width, im.height) == (1, 5, 4)
    sub = _read(tmp_path / "pair" / "b")   # tensorboardX: one folder per curve
    assert _scalars(sub, "pair") == [(4, 2.0)]


def test_summary_writer_errors(tmp_path):
    assert cr.utils.tensorboard.SummaryWriter is SummaryWriter     # reachable as in PyTorch
    with SummaryWriter(tmp_path) as w:
        with pytest.raises(ValueError, match="expected a scalar, got an array of shape"):
            w.add_scalar("x", cr.randn(3), 0)
        with pytest.raises(TypeError, match="expected a number, got str"):
            w.add_scalar("x", "high", 0)
        with pytest.raises(ValueError, match="no values"):
            w.add_histogram("h", np.array([]), 0)


def _data(n=96):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 4)).astype(np.float32)
    return X, (X[:, 0] > 0).astype(np.int64)


def test_fit_callback_logs_losses_metrics_lr_and_health(tmp_path):
    from chainrule.train import TensorBoard
    X, y = _data()
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    hist = fit(model, nn.CrossEntropyLoss(), opt, (X[:64], y[:64]), epochs=3,
               val_data=(X[64:], y[64:]), batch_size=16, verbose=0,
               callbacks=[TensorBoard(tmp_path, histogram_freq=2, update_freq="batch",
                                      hparams={"lr": 0.1, "opt": "sgd"})])
    train, val = _read(tmp_path / "train"), _read(tmp_path / "validation")
    h = hist.history
    assert _scalars(train, "epoch_loss") == [(e, pytest.approx(v)) for e, v in
                                            enumerate(h["loss"])]
    assert _scalars(val, "epoch_loss") == [(e, pytest.approx(v)) for e, v in
                                          enumerate(h["val_loss"])]
    assert [v for _, v in _scalars(val, "epoch_accuracy")] == pytest.approx(h["val_accuracy"])
    assert [v for _, v in _scalars(train, "epoch_lr")] == pytest.approx([0.1] * 3)
    assert [s for s, _ in _scalars(train, "batch_loss")] == list(range(12))
    tags = set(train.Tags()["scalars"])
    for layer in ("0", "2"):
        assert f"health/grad_norm/{layer}" in tags and f"health/update_ratio/{layer}" in tags
    assert "health/dead_frac/1" in tags
    dead = [v for _, v in _scalars(train, "health/dead_frac/1")]
    assert all(0.0 <= v <= 1.0 for v in dead) and len(dead) == 3
    gn = _scalars(train, "health/grad_norm/0")
    assert len(gn) == 3 and all(v > 0 for _, v in gn)
    hists = set(train.Tags()["histograms"])
    assert {"weights/0.weight", "gradients/0.weight", "weights/2.bias"} <= hists
    assert [e.step for e in train.Histograms("weights/0.weight")] == [0, 2]
    last_w = train.Histograms("weights/0.weight")[-1].histogram_value
    assert last_w.num == 32 and last_w.sum == pytest.approx(
        float(model[0].weight.detach().numpy().sum()), abs=1e-4)
    hp = train.SummaryMetadata("_hparams_/experiment")
    assert hp.plugin_data.plugin_name == "hparams"
    assert [v for _, v in _scalars(train, "hparam/val_loss")] == pytest.approx(h["val_loss"][-1:])
    # the callback's monitor is gone: the model has no hooks left
    assert not model._forward_hooks and not model[1]._forward_hooks


def test_write_graph_and_cli_flag(tmp_path, capsys):
    pytest.importorskip("onnx")
    from chainrule.cli import main
    from chainrule.train import TensorBoard
    X, y = _data()
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    fit(model, nn.CrossEntropyLoss(), cr.optim.Adam(model.parameters()), (X, y), epochs=1,
        verbose=0, callbacks=[TensorBoard(tmp_path / "g", write_graph=True, health=False)])
    assert _read(tmp_path / "g" / "train").Graph() is not None
    assert capsys.readouterr().out == ""       # tensorboardX's node listing is kept quiet

    tb = tmp_path / "tb"
    assert main(["train", "--dataset", "xor", "--samples", "80", "--epochs", "2", "--hidden",
                 "4", "--out", str(tmp_path / "run"), "--tensorboard", str(tb)]) == 0
    train, val = _read(tb / "train"), _read(tb / "validation")
    assert [s for s, _ in _scalars(train, "epoch_loss")] == [0, 1]
    assert "epoch_accuracy" in val.Tags()["scalars"]
    assert any(t.startswith("health/grad_norm/") for t in train.Tags()["scalars"])
    assert "tensorboard --logdir" in capsys.readouterr().err
