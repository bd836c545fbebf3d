"""CNN models, `chainrule train --model cnn`, the CNN plots and the monitor on conv layers."""
import json

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
from chainrule.cli import main
from chainrule.datasets import write_idx


def test_lenet5_shapes_adapt_to_the_input():
    m = cr.models.lenet5()
    assert m(cr.randn(2, 1, 28, 28)).shape == (2, 10)
    assert m[7].in_features == 256
    small = cr.models.lenet5(input_size=8, num_classes=4)
    assert small(cr.randn(3, 1, 8, 8)).shape == (3, 4) and small[7].in_features == 64
    with pytest.raises(ValueError, match="too small"):
        cr.models.lenet5(input_size=2)


def test_vgg_small_and_model_from_spec():
    v = cr.models.vgg_small(num_classes=5)
    assert v(cr.randn(2, 3, 16, 16)).shape == (2, 5)
    assert any(isinstance(m, nn.BatchNorm2d) for m in v.modules())
    m = cr.models.model_from_spec({"type": "lenet5", "n_features": 64, "num_classes": 10})
    assert m(cr.randn(2, 64)).shape == (2, 10)
    with pytest.raises(ValueError, match="square"):
        cr.models.model_from_spec({"type": "lenet5", "n_features": 60})


def test_train_cnn_on_digits_then_evaluate(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--model", "cnn", "--epochs", "3", "--samples", "600", "--quiet",
                 "--optimizer", "sgd", "--lr", "0.05", "--out", str(out)]) == 0
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["model"]["type"] == "lenet5" and cfg["options"]["model"] == "cnn"
    acc = json.loads((out / "metrics.json").read_text())["test"]["accuracy"]
    assert acc > 0.3                     # 3 short epochs: far above chance (0.1)
    capsys.readouterr()
    assert main(["evaluate", str(out)]) == 0
    assert f"accuracy {acc:.4f}" in capsys.readouterr().out


def test_train_cnn_on_mnist_idx_files(tmp_path):
    rng = np.random.default_rng(0)
    d = tmp_path / "mnist"
    d.mkdir()
    y = np.arange(200) % 10
    X = (rng.random((200, 28, 28)) * 60).astype(np.uint8)
    for k in range(10):                          # a learnable bright bar per class
        X[y == k, 2 + 2 * k:4 + 2 * k, 4:24] = 255
    write_idx(d / "t10k-images-idx3-ubyte", X)
    write_idx(d / "t10k-labels-idx1-ubyte", y.astype(np.uint8))
    out = tmp_path / "run"
    assert main(["train", "--model", "cnn", "--dataset", "mnist", "--data-dir", str(d),
                 "--samples", "200", "--epochs", "2", "--quiet", "--out", str(out)]) == 0
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["n_features"] == 784


def test_cnn_plots(tmp_path):
    pytest.importorskip("matplotlib")
    m = cr.models.lenet5(input_size=8)
    cr.viz.plot_filters(m, tmp_path / "f.png")
    cr.viz.plot_feature_maps(m, cr.randn(1, 1, 8, 8), tmp_path / "m.png")
    for f in ("f.png", "m.png"):
        assert (tmp_path / f).read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="no Conv2d"):
        cr.viz.plot_filters(nn.Sequential(nn.Linear(2, 2)))


def test_monitor_finds_a_dead_conv_channel():
    from chainrule.debug import TrainingMonitor
    cr.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                          nn.Linear(4 * 6 * 6, 3))
    with cr.no_grad():
        model[1].bias.data[...] = np.array([0.0, -100.0, 0.0, 0.0], dtype=np.float32)
    mon = TrainingMonitor(warn=False)
    mon.attach(model)
    opt = cr.optim.SGD(model.parameters(), lr=0.01)
    for step in range(3):
        opt.zero_grad()
        loss = cr.nn.functional.cross_entropy(model(cr.randn(8, 1, 8, 8)),
                                              cr.randint(0, 3, (8,)))
        loss.backward()
        opt.step()
    stats = mon.layer_stats()
    assert stats["2"]["dead_frac"] == pytest.approx(0.25)      # one channel of four
    assert stats["0"]["grad_norm"] > 0 and stats["1"]["grad_norm"] > 0   # conv and BN
