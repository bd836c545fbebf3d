"""The training-health monitor: vanishing gradients, dead units, saturation, learning rate, logs."""
from __future__ import annotations

import csv
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.debug import TrainingHealthWarning, watch


# ---------------------------------------------------------------------------------------------
# training-health monitor
# ---------------------------------------------------------------------------------------------
def _mlp(act, depth, width, init, d_in=16, d_out=4):
    layers, d = [], d_in
    for _ in range(depth - 1):
        layers += [nn.Linear(d, width), act()]
        d = width
    model = nn.Sequential(*layers, nn.Linear(d, d_out))
    for m in model.modules():
        if isinstance(m, nn.Linear):
            init(m)
    return model


def _notes_init(lin):
    nn.init.uniform_(lin.weight, -1.0, 1.0)
    nn.init.uniform_(lin.bias, -1.0, 1.0)


def _he_init(lin):
    nn.init.kaiming_normal_(lin.weight, nonlinearity="relu")
    nn.init.zeros_(lin.bias)


def _train(model, steps=3, lr=0.05, n=256, seed=0, **kw):
    rng = np.random.default_rng(seed)
    X = cr.tensor(rng.standard_normal((n, 16)).astype(np.float32))
    y = cr.tensor(rng.integers(0, 4, n))
    opt = cr.optim.SGD(model.parameters(), lr=lr)
    mon = watch(model, warn=False, **kw)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(X), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    stats = mon.end_epoch(loss=losses[-1])
    mon.detach()
    return mon, stats


def test_monitor_flags_vanishing_gradients_in_deep_sigmoid_net_with_notes_init():
    cr.manual_seed(0)
    mon, stats = _train(_mlp(nn.Sigmoid, 20, 32, _notes_init), steps=1)
    kinds = {k for _, k, _, _ in mon.findings}
    assert "vanishing" in kinds
    assert stats["0"]["grad_norm"] < 1e-3 * stats["38"]["grad_norm"]
    msg = [m for _, k, _, m in mon.findings if k == "vanishing"][0]
    assert "first layer '0'" in msg and "ReLU" in msg


def test_monitor_does_not_flag_relu_net_with_he_init():
    cr.manual_seed(0)
    mon, stats = _train(_mlp(nn.ReLU, 20, 64, _he_init))
    assert mon.findings == []
    g = [s["grad_norm"] for s in stats.values() if "grad_norm" in s]
    assert len(g) == 20 and 1e-2 < g[0] / g[-1] < 1e2
    assert all(1e-4 < s["update_ratio"] < 1e-1 for s in stats.values() if "update_ratio" in s)


def test_monitor_reports_dead_relu_units_when_bias_is_minus_ten():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4))
    nn.init.constant_(model[0].bias, -10.0)
    mon, stats = _train(model, steps=2)
    assert stats["1"]["dead_frac"] >= 0.5
    assert stats["1"]["dead_frac"] == 1.0       # -10 + w.x stays below 0 for unit-scale inputs
    assert any(k == "dead" and layer == "1" for _, k, layer, _ in mon.findings)


def test_monitor_saturation_and_learning_rate_warnings():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 32), nn.Sigmoid(), nn.Linear(32, 4))
    nn.init.normal_(model[0].weight, 0.0, 10.0)
    mon, stats = _train(model, steps=1)
    assert stats["1"]["saturated_frac"] > 0.5
    assert ("saturated", "1") in {(k, layer) for _, k, layer, _ in mon.findings}
    cr.manual_seed(0)
    mon, _ = _train(nn.Sequential(nn.Linear(16, 8), nn.Tanh(), nn.Linear(8, 4)), lr=50.0)
    assert "lr_high" in {k for _, k, _, _ in mon.findings}
    cr.manual_seed(0)
    mon, stats = _train(nn.Sequential(nn.Linear(16, 8), nn.Tanh(), nn.Linear(8, 4)), lr=1e-9)
    assert "lr_low" in {k for _, k, _, _ in mon.findings}
    assert stats["0"]["update_ratio"] < 1e-6


def test_monitor_records_exact_norms_and_writes_csv_and_logs(tmp_path):
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 2), nn.Tanh())
    x = cr.randn(5, 3)
    path = tmp_path / "health.csv"
    mon = watch(model, csv_path=str(path), warn=False)
    w0 = model[0].weight.detach().numpy().copy()
    out = model(x)
    out.sum().backward()
    g = model[0].weight.grad.numpy().copy()
    gb = model[0].bias.grad.numpy().copy()
    with cr.no_grad():
        model[0].weight -= 0.1 * model[0].weight.grad
    logs = {}
    stats = mon.end_epoch(loss=1.0, logs=logs)
    a = out.detach().numpy()
    s0, s1 = stats["0"], stats["1"]
    assert s0["grad_norm"] == pytest.approx(np.sqrt((g ** 2).sum() + (gb ** 2).sum()), rel=1e-6)
    upd = 0.1 * np.linalg.norm(g)
    assert s0["update_ratio"] == pytest.approx(
        upd / np.sqrt((w0 ** 2).sum() + (model[0].bias.detach().numpy() ** 2).sum()), rel=1e-5)
    assert s1["act_mean"] == pytest.approx(a.mean(), rel=1e-5)
    assert s1["act_std"] == pytest.approx(a.std(), rel=1e-4)
    assert s1["saturated_frac"] == pytest.approx(np.mean(np.abs(a) > 0.99))
    assert logs["0/grad_norm"] == s0["grad_norm"] and logs["1/act_std"] == s1["act_std"]
    mon.end_epoch()
    rows = list(csv.DictReader(open(path)))
    assert [(r["epoch"], r["layer"], r["kind"]) for r in rows] == [
        ("0", "0", "Linear"), ("0", "1", "tanh"), ("1", "0", "Linear"), ("1", "1", "tanh")]
    assert float(rows[0]["grad_norm"]) == pytest.approx(s0["grad_norm"], rel=1e-5)
    assert rows[2]["grad_norm"] == ""       # nothing recorded in the second epoch
    assert mon.series("0", "grad_norm")[0] == s0["grad_norm"]
    mon.detach()
    # detached: no hook left anywhere, so an unwatched model pays nothing
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())
    assert not any(p._hooks for p in model.parameters())


def test_monitor_as_fit_callback_warns_and_fills_history():
    cr.manual_seed(0)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 16)).astype(np.float32)
    y = rng.integers(0, 4, 64)
    model = _mlp(nn.Sigmoid, 12, 16, _notes_init)
    mon = cr.debug.TrainingMonitor()
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    with pytest.warns(TrainingHealthWarning, match="vanishing gradients"):
        hist = cr.train.fit(model, nn.functional.cross_entropy, opt, (X, y), epochs=2,
                            batch_size=32, callbacks=[mon], verbose=0)
    assert len(mon.history) == 2 and mon.history[1]["epoch"] == 1
    assert not model[0]._forward_hooks               # detached at the end of training
    assert hist.history["0/grad_norm"] == mon.series("0", "grad_norm")


def test_monitor_warns_once_per_problem():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 4))
    nn.init.constant_(model[0].bias, -10.0)
    mon = watch(model)
    x = cr.randn(8, 16)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        for _ in range(3):
            model(x).sum().backward()
            mon.end_epoch()
    dead = [w for w in rec if issubclass(w.category, TrainingHealthWarning)
            and "never fired" in str(w.message)]
    assert len(dead) == 1 and len([f for f in mon.findings if f[1] == "dead"]) == 3
    mon.detach()
