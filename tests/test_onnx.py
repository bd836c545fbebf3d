"""cr.onnx.export: checked models whose outputs match chainrule's (reference evaluator and
onnxruntime), dynamic batch, errors that name the layer, and ``chainrule export``."""
import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx.reference import ReferenceEvaluator  # noqa: E402

import chainrule as cr  # noqa: E402
import chainrule.onnx  # noqa: E402,F401
from _onnx_check import ENGINES, max_diffs  # noqa: E402

nn = cr.nn
BATCHES = (1, 7, 64)
TOL = 1e-5


def _zoo():
    return [
        nn.Sigmoid(), nn.Tanh(), nn.ReLU(), nn.LeakyReLU(0.1), nn.ELU(0.7), nn.SELU(), nn.GELU(),
        nn.GELU(approximate="tanh"), nn.SiLU(), nn.Softplus(), nn.Softplus(beta=2.0, threshold=3),
        nn.LogSigmoid(), nn.Hardtanh(-0.5, 0.8), nn.AbsReLU(), nn.Step(), nn.Threshold(0.1, -2.0),
        nn.PReLU(), nn.PReLU(8), nn.Identity(), nn.Dropout(0.3)]


MODELS = {
    "mlp": lambda: nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 3)),
    # the whole zoo in one chain, and each unit on its own (a Step early in the chain would
    # hide the differences of the units before it)
    "zoo": lambda: nn.Sequential(nn.Linear(5, 8),
                                 *[m for a in _zoo() for m in (a, nn.Linear(8, 8))]),
    **{f"unit{i}": (lambda i=i: nn.Sequential(nn.Linear(5, 8), _zoo()[i]))
       for i in range(len(_zoo()))},
    "softmax": lambda: nn.Sequential(nn.Linear(5, 4), nn.Softmax(dim=1)),
    "log_softmax": lambda: nn.Sequential(nn.Linear(5, 4), nn.LogSoftmax(dim=-1)),
    "maxout": lambda: nn.Sequential(nn.Maxout(5, 6, pieces=3), nn.Linear(6, 2, bias=False)),
    "models.mlp": lambda: cr.models.mlp([5, 12, 12, 3], activation="tanh",
                                        output_activation="log_softmax"),
}


def _max_diffs(model, in_shape, dtype=np.float32, opset=17):
    """Export on a batch of 1, compare on batches of 1, 7 and 64 N(0, 4) inputs."""
    cr.manual_seed(0)
    example = cr.randn(1, *in_shape).to(dtype)
    rng = np.random.default_rng(1)
    return max_diffs(model, example,
                     lambda n: ((rng.standard_normal((n, *in_shape)) * 2).astype(dtype),),
                     BATCHES, ENGINES if _has_ort() else ("reference",), opset_version=opset)


def _has_ort():
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.parametrize("name", sorted(MODELS))
def test_export_matches_chainrule_for_batches_1_7_64(name):
    _, diffs = _max_diffs(MODELS[name](), (5,))
    assert max(diffs.values()) <= TOL, diffs


def test_flatten_of_3d_input_and_partial_flatten():
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 4))
    proto, diffs = _max_diffs(model, (3, 4))
    assert max(diffs.values()) <= TOL and "Flatten" in {n.op_type for n in proto.graph.node}
    # start_dim=2 keeps (batch, 2); a 3-D input to Linear becomes MatMul + Add
    model = nn.Sequential(nn.Flatten(start_dim=2), nn.Linear(6, 3), nn.Softmax(dim=2))
    _, diffs = _max_diffs(model, (2, 3, 2))
    assert max(diffs.values()) <= TOL


def test_linear_is_gemm_and_the_batch_is_dynamic():
    model = nn.Sequential(nn.Linear(5, 3))
    proto = cr.onnx.build(model, cr.randn(2, 5))
    assert [n.op_type for n in proto.graph.node] == ["Gemm", "Identity"]
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and dims[1].dim_value == 5
    fixed = cr.onnx.build(model, cr.randn(2, 5), dynamic_axes={})
    assert fixed.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 2
    named = cr.onnx.build(model, cr.randn(2, 5), input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": [0], "y": {0: "n"}})
    assert named.graph.input[0].name == "x" and named.graph.output[0].name == "y"
    assert named.graph.output[0].type.tensor_type.shape.dim[0].dim_param == "n"


def test_custom_module_chaining_layers_exports():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(5, 8), nn.Tanh())
            self.head = nn.Linear(8, 2)

        def forward(self, x):
            return self.head(self.body(x))

    _, diffs = _max_diffs(Net(), (5,))
    assert max(diffs.values()) <= TOL


def test_float64_model_and_other_opsets():
    # (onnxruntime has no float64 Erf kernel, so no exact GELU here)
    model = nn.Sequential(nn.Maxout(5, 4, 2), nn.SiLU(), nn.Linear(4, 2)).double()
    proto, diffs = _max_diffs(model, (5,), dtype=np.float64)
    assert max(diffs.values()) <= 1e-12
    assert proto.graph.initializer[0].data_type == onnx.TensorProto.DOUBLE
    assert proto.opset_import[0].version == 17
    for opset in (13, 18):
        p, diffs = _max_diffs(MODELS["maxout"](), (5,), opset=opset)
        assert max(diffs.values()) <= TOL and p.opset_import[0].version == opset


def test_errors_name_the_layer(tmp_path):
    class Odd(nn.Module):
        def forward(self, x):
            return x * 2

    with pytest.raises(cr.onnx.ExportError, match=r"layer '1' \(Odd\).*no ONNX converter"):
        cr.onnx.export(nn.Sequential(nn.Linear(3, 3), Odd()), cr.randn(1, 3), tmp_path / "m")

    class Residual(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc, self.out = nn.Linear(3, 3), nn.Linear(3, 1)

        def forward(self, x):
            return self.out(self.fc(x) + x)

    with pytest.raises(cr.onnx.ExportError, match=r"layer 'out' \(Linear\).*outside its layers"):
        cr.onnx.build(Residual(), cr.randn(1, 3))
    with pytest.raises(cr.onnx.ExportError, match=r"Linear failed on the example \(2 pos"):
        cr.onnx.build(nn.Linear(3, 3), (cr.randn(1, 3), cr.randn(1, 3)))
    with pytest.raises(ValueError, match="opset_version must be in"):
        cr.onnx.build(nn.Linear(3, 3), cr.randn(1, 3), opset_version=9)
    assert not (tmp_path / "m").exists()


def test_registering_a_converter_is_one_entry():
    class Double(nn.Module):
        def forward(self, x):
            return x * 2

    @cr.onnx.converter(Double)
    def _double(g, m, x, xv, yv):
        return g.node("Mul", [x, g.const(2.0, "two")])

    try:
        _, diffs = _max_diffs(nn.Sequential(nn.Linear(5, 3), Double()), (5,))
        assert max(diffs.values()) == 0.0 or max(diffs.values()) <= TOL
    finally:
        del cr.onnx.CONVERTERS[Double]


def test_cli_export(tmp_path, capsys):
    from chainrule.cli import main
    run = tmp_path / "run"
    assert main(["train", "--dataset", "xor", "--samples", "64", "--epochs", "1", "--hidden",
                 "4", "--out", str(run), "--quiet", "--val-split", "0"]) == 0
    assert main(["export", str(run), "--format", "onnx"]) == 0
    path = run / "model.onnx"
    proto = onnx.load(str(path))
    x = np.random.default_rng(0).standard_normal((7, 2)).astype(np.float32)
    from chainrule.runs import load_run
    _, model = load_run(str(run))        # the run's own model, checked against its config
    with cr.no_grad():
        want = model(cr.tensor(x)).numpy()
    got = ReferenceEvaluator(proto).run(None, {"input": x})[0]
    np.testing.assert_allclose(got, want, atol=TOL)
    assert "model.onnx" in capsys.readouterr().out
    assert main(["export", str(tmp_path / "nope"), "--format", "onnx"]) == 1
    assert "does not exist" in capsys.readouterr().err


def _layers(*names):
    """The chainrule.nn classes ``names``, or skip (these layers are added on other branches)."""
    missing = [n for n in names if not hasattr(nn, n)]
    if missing:
        pytest.skip(f"chainrule.nn has no {', '.join(missing)} yet")
    return [getattr(nn, n) for n in names]


def _warm_batch_norm(model, shape):
    """A few training-mode steps so the running statistics are not the initial 0 and 1."""
    rng = np.random.default_rng(5)
    model.train()
    for _ in range(3):
        model(cr.tensor((rng.standard_normal((16, *shape)) * 3 + 1).astype(np.float32)))
    model.eval()
    return model


def test_conv_pool_batchnorm_2d():
    Conv2d, BatchNorm2d, MaxPool2d, AvgPool2d, GAP = _layers(
        "Conv2d", "BatchNorm2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d")
    model = nn.Sequential(Conv2d(3, 4, 3, padding=1), BatchNorm2d(4), nn.ReLU(),
                          MaxPool2d(2), Conv2d(4, 6, 3, stride=1, padding="same", groups=2),
                          AvgPool2d(2), Conv2d(6, 4, 1, bias=False), GAP(1), nn.Flatten(),
                          nn.Linear(4, 3))
    proto, diffs = _max_diffs(_warm_batch_norm(model, (3, 8, 8)), (3, 8, 8))
    ops = {n.op_type for n in proto.graph.node}
    assert {"Conv", "BatchNormalization", "MaxPool", "AveragePool", "GlobalAveragePool"} <= ops
    assert max(diffs.values()) <= TOL, diffs


def test_conv_transpose_conv1d_layernorm_unflatten():
    (ConvT,) = _layers("ConvTranspose2d")
    model = nn.Sequential(ConvT(3, 2, 3, stride=2, padding=1, output_padding=1), nn.Tanh())
    _, diffs = _max_diffs(model, (3, 5, 5))
    assert max(diffs.values()) <= TOL, diffs
    Conv1d, BatchNorm1d, MaxPool1d = _layers("Conv1d", "BatchNorm1d", "MaxPool1d")
    model = nn.Sequential(Conv1d(2, 4, 3, dilation=2), BatchNorm1d(4), MaxPool1d(2), nn.Flatten())
    _, diffs = _max_diffs(_warm_batch_norm(model, (2, 12)), (2, 12))
    assert max(diffs.values()) <= TOL, diffs
    LayerNorm, Unflatten = _layers("LayerNorm", "Unflatten")
    model = nn.Sequential(nn.Linear(5, 12), Unflatten(1, (3, 4)), LayerNorm(4), nn.Flatten())
    _, diffs = _max_diffs(model, (5,))
    assert max(diffs.values()) <= TOL, diffs
