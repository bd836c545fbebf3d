"""Debugging tools: anomaly mode, model gradcheck, summary, CLI."""
from __future__ import annotations

import inspect
import json

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.debug import check_model_gradients, summary

HERE = __file__


def line_after():
    """The line number just after the caller's line (where the op under test is created)."""
    return inspect.currentframe().f_back.f_lineno + 1


# ---------------------------------------------------------------------------------------------
# anomaly mode
# ---------------------------------------------------------------------------------------------
def test_anomaly_catches_log_of_zero_in_forward_naming_op_shapes_ranges_and_line():
    x = cr.tensor([0.0, 1.0, 2.0], requires_grad=True)
    with pytest.raises(cr.autograd.AnomalyError) as err, cr.autograd.detect_anomaly():
        line = line_after()
        cr.log(x)
    msg = str(err.value)
    assert "Log produced Inf in its forward" in msg
    assert "(3,) range [0, 2]" in msg                       # input shape and value range
    assert f"{HERE}:{line}" in msg                            # this file and line, not chainrule's


def test_anomaly_catches_nan_born_in_backward_at_the_line_that_created_the_op():
    x = cr.tensor([0.0, 4.0], requires_grad=True)
    with cr.autograd.detect_anomaly():
        line = line_after()
        r = cr.sqrt(x)                # forward is finite: sqrt(0) = 0
        y = (r * cr.tensor([0.0, 1.0])).sum()
        with pytest.raises(cr.autograd.AnomalyError) as err, \
                np.errstate(divide="ignore", invalid="ignore"):
            y.backward()              # d sqrt / dx at 0 is 1 / 0, times an upstream 0: NaN
    msg = str(err.value)
    assert "Sqrt produced NaN in its backward" in msg
    assert "inputs: (2,) range [0, 4]" in msg                # input shape and value range
    assert f"{HERE}:{line}" in msg


class _NanBackward(cr.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, g):
        return cr.tensor(np.full(g.shape, np.nan))   # NaN made without any chainrule op


def test_anomaly_names_a_user_function_and_where_it_was_applied():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with cr.autograd.detect_anomaly():
        line = line_after()
        y = _NanBackward.apply(x).sum()
        with pytest.raises(cr.autograd.AnomalyError) as err:
            y.backward()
    msg = str(err.value)
    assert "_NanBackward produced NaN in its backward" in msg and f"{HERE}:{line}" in msg


def test_anomaly_off_by_default_and_warn_mode_and_global_switch():
    x = cr.tensor([0.0])
    assert not np.isfinite(cr.log(x).numpy()).all()          # off: no error
    with pytest.warns(RuntimeWarning, match="Log produced Inf") as rec:
        with cr.debug.detect_anomaly(warn=True):
            line = line_after()
            y = cr.log(x)
    assert (rec[0].filename, rec[0].lineno) == (HERE, line)   # the warning points at our line
    assert np.isneginf(y.numpy()[0])                          # warn mode keeps going
    cr.autograd.set_detect_anomaly(True)
    try:
        assert cr.autograd.is_anomaly_enabled()
        with pytest.raises(cr.debug.AnomalyError, match="Div produced"):
            cr.tensor([1.0]) / cr.tensor([0.0])
    finally:
        cr.autograd.set_detect_anomaly(False)
    assert not cr.autograd.is_anomaly_enabled()


# ---------------------------------------------------------------------------------------------
# model gradient check
# ---------------------------------------------------------------------------------------------
ACTIVATIONS = ["ReLU", "Sigmoid", "Tanh", "LeakyReLU", "ELU", "GELU", "Softplus", "SiLU"]


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_model_gradcheck_passes_for_an_mlp_with_each_activation(act):
    cr.manual_seed(1)
    model = nn.Sequential(nn.Linear(3, 5), getattr(nn, act)(), nn.Linear(5, 4))
    x = cr.randn(6, 3)
    w_before = model[0].weight.detach().numpy().copy()
    report = check_model_gradients(model, x, loss_fn=nn.functional.cross_entropy,
                                   targets=cr.tensor([0, 1, 2, 3, 0, 1]), sample=None)
    assert report.passed, str(report)
    assert [p.name for p in report.params] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert [p.checked for p in report.params] == [15, 5, 20, 4]
    assert max(p.max_rel_error for p in report.params) < 1e-5
    # the model itself is untouched: still float32, same values
    assert model[0].weight.dtype == np.float32
    np.testing.assert_array_equal(model[0].weight.detach().numpy(), w_before)


class _LinearWrongBackward(cr.autograd.Function):
    """Test double: x @ w.T whose backward doubles the weight gradient (a factor-2 bug)."""

    @staticmethod
    def forward(ctx, x, w):
        ctx.save_for_backward(x, w)
        return x @ w.T

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        return g @ w, 2 * (g.T @ x)


class _Broken(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(cr.randn(2, 4))

    def forward(self, x):
        return _LinearWrongBackward.apply(x, self.weight)


class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 4)
        self.broken = _Broken()

    def forward(self, x):
        return self.broken(cr.tanh(self.fc1(x)))


def test_model_gradcheck_names_the_parameter_whose_backward_is_broken():
    cr.manual_seed(0)
    report = check_model_gradients(_Net(), cr.randn(5, 3), sample=None)
    assert not report.passed
    assert report.failed == ["broken.weight"]          # fc1 gets a correct gradient through it
    bad = report["broken.weight"]
    assert bad.analytic == pytest.approx(2 * bad.numeric, rel=1e-6)
    assert bad.max_rel_error == pytest.approx(0.5, rel=1e-6)   # |2n - n| / |2n|
    assert "FAILED broken.weight" in str(report)
    with pytest.raises(cr.autograd.GradcheckError, match="broken.weight"):
        check_model_gradients(_Net(), cr.randn(5, 3), raise_exception=True)


def test_model_gradcheck_samples_big_layers():
    model = nn.Sequential(nn.Linear(50, 40), nn.Tanh(), nn.Linear(40, 2))
    report = check_model_gradients(model, cr.randn(4, 50), sample=7,
                                   generator=cr.Generator().manual_seed(3))
    assert [p.checked for p in report.params] == [7, 7, 7, 2]
    assert report.passed


# ---------------------------------------------------------------------------------------------
# summary
# ---------------------------------------------------------------------------------------------
class _Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.fc(x))


def test_summary_counts_parameters_shapes_and_memory():
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    s = summary(model, input_size=(32, 784), print_fn=None)
    assert s.total_params == 784 * 128 + 128 + 128 * 10 + 10 == 101770
    assert s.trainable_params == s.total_params
    assert [(li.name, li.kind, li.output_shape, li.params) for li in s.layers] == [
        ("0", "Linear", (32, 128), 100480), ("1", "ReLU", (32, 128), 0),
        ("2", "Linear", (32, 10), 1290)]
    assert s.param_bytes == 4 * 101770 and s.input_bytes == 4 * 32 * 784
    assert s.activation_bytes == 4 * 32 * (128 + 128 + 10)
    text = str(s)
    assert "Total params: 101,770" in text and "[32, 128]" in text
    model[0].weight.requires_grad_(False)
    assert summary(model, input_size=(1, 784), print_fn=None).trainable_params == 101770 - 100352


def test_summary_of_nested_modules_and_printing(capsys):
    model = nn.Sequential(_Block(), nn.Linear(8, 2))
    s = summary(model, input_data=cr.randn(3, 8))
    assert [(li.name, li.depth, li.output_shape) for li in s.layers] == [
        ("0", 1, (3, 8)), ("0.fc", 2, (3, 8)), ("0.act", 2, (3, 8)), ("1", 1, (3, 2))]
    assert s.total_params == 72 + 18
    assert "0.fc (Linear)" in capsys.readouterr().out
    assert model.training                      # summary restores the mode it found
    with pytest.raises(ValueError, match="input_size"):
        summary(model)


# ---------------------------------------------------------------------------------------------
# chainrule check RUN_DIR
# ---------------------------------------------------------------------------------------------
def test_cli_check_on_a_saved_run(tmp_path, capsys):
    from chainrule import runs
    from chainrule.models import mlp_from_spec
    spec = {"type": "mlp", "sizes": [5, 6, 3], "activation": "tanh", "output_activation": None}
    cr.manual_seed(0)
    model = mlp_from_spec(spec)
    cfg = {"format": runs.RUN_FORMAT, "model": spec, "loss": "cross_entropy", "n_features": 5,
           "n_classes": 3, "dataset": "blobs", "options": {"seed": 0}}
    runs.write_json(str(tmp_path / "config.json"), cfg)
    runs.save_model(str(tmp_path), model, cfg)
    assert cr.debug.cli_check(str(tmp_path), sample=5) == 0
    out = capsys.readouterr().out
    assert "all 4 parameters agree" in out
    with pytest.raises(FileNotFoundError, match="does not exist"):
        cr.debug.cli_check(str(tmp_path / "nope"))
    with cr.no_grad():                          # a NaN weight fails the check
        model[0].weight[0, 0] = float("nan")
    runs.save_model(str(tmp_path), model, cfg)
    assert cr.debug.cli_check(str(tmp_path), sample=5) == 1
    assert "FAILED: non-finite weights in 0.weight (1 NaN, 0 Inf of 30)" in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------
# the walk-through example (its diagnosis part; the full run with plots is in docs/debugging.md)
# ---------------------------------------------------------------------------------------------
def test_walkthrough_example_diagnoses_then_fixes(capsys):
    import importlib.util
    from pathlib import Path
    path = Path(HERE).resolve().parents[1] / "examples" / "debug_vanishing_gradients.py"
    spec = importlib.util.spec_from_file_location("debug_walkthrough", path)
    ex = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ex)
    import chainrule.datasets as ds
    X, y = ds.make_spirals(200, seed=0)
    data = ds.train_test_split(X, y, test_size=0.25, seed=0)
    _, _, bad, _ = ex.train("bad", "sigmoid", "notes", 2.0, data, epochs=2)
    assert ("vanishing", "0") in {(k, layer) for _, k, layer, _ in bad.findings}
    _, hist, good, _ = ex.train("fixed", "relu", "he", 0.1, data, epochs=8)
    assert not [f for f in good.findings if f[1] in ("vanishing", "exploding", "dead")]
    assert hist.history["loss"][-1] < 0.8 * hist.history["loss"][0]
    assert "vanishing gradients" in capsys.readouterr().out
