"""cr.onnx.export of RNN (tanh, relu), LSTM, GRU and Embedding, and of sequence models built from
them: each file checked, run by ONNX's reference evaluator and by onnxruntime on batches of 1, 7
and 64 (and other sequence lengths than the example's), within 1e-5 of chainrule in float32.

``PYTHONPATH=. python tests/test_onnx_recurrent.py`` prints the largest differences per layer type (the table
in docs/onnx.md)."""
import numpy as np
import pytest

onnx = pytest.importorskip("onnx")

import chainrule as cr  # noqa: E402
import chainrule.onnx  # noqa: E402,F401
from _onnx_check import ENGINES, max_diffs  # noqa: E402

nn = cr.nn
BATCHES = (1, 7, 64)
TOL = 1e-5
N_IN, HIDDEN, SEQ = 4, 6, 9       # the example has 5 steps; the checks run 9

LAYERS = {"RNN_tanh": (nn.RNN, {}), "RNN_relu": (nn.RNN, {"nonlinearity": "relu"}),
          "LSTM": (nn.LSTM, {}), "GRU": (nn.GRU, {})}
# (num_layers, bidirectional, batch_first, bias, initial state): each option both ways, and
# stacked bidirectional layers (the reshape between layers) with and without a state
CONFIGS = [(1, False, False, True, False), (1, False, True, True, True),
           (2, True, False, True, True), (2, True, True, False, False),
           (3, False, True, False, True), (1, True, False, False, True),
           (2, False, False, True, False)]


def _layer(kind, layers, bidir, batch_first, bias):
    cls, kw = LAYERS[kind]
    cr.manual_seed(3)
    return cls(N_IN, HIDDEN, num_layers=layers, bidirectional=bidir, batch_first=batch_first,
               bias=bias, **kw)


def _args(m, n, steps, state, rng):
    """Positional arguments for layer ``m``: the input, then h_0 (or (h_0, c_0)) if ``state``."""
    shape = (n, steps, N_IN) if m.batch_first else (steps, n, N_IN)
    x = rng.standard_normal(shape).astype(np.float32)
    if not state:
        return (x,)
    def h():
        return rng.standard_normal((m.num_layers * m.num_directions, n, HIDDEN)).astype(
            np.float32)
    return (x, (h(), h())) if isinstance(m, nn.LSTM) else (x, h())


def _layer_diffs(kind, cfg, engines=ENGINES):
    *shape, state = cfg
    m = _layer(kind, *shape)
    rng = np.random.default_rng(1)
    example = _args(m, 1, 5, state, rng)
    return m, max_diffs(m, example, lambda n: _args(m, n, SEQ, state, rng), BATCHES, engines)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: "L{}{}{}{}{}".format(
    c[0], "-bidir" if c[1] else "", "-batch_first" if c[2] else "", "" if c[3] else "-nobias",
    "-h0" if c[4] else ""))
@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_recurrent_layer_matches_chainrule(kind, cfg, engine):
    m, (proto, diffs) = _layer_diffs(kind, cfg, (engine,))
    assert max(diffs.values()) <= TOL, diffs
    op = {"RNN_tanh": "RNN", "RNN_relu": "RNN"}.get(kind, kind)
    nodes = [n for n in proto.graph.node if n.op_type == op]
    assert len(nodes) == m.num_layers           # one node per layer, both directions inside
    outs = [o.name for o in proto.graph.output]
    assert outs == (["output", "output_1", "output_2"] if kind == "LSTM" else
                    ["output", "output_1"])


def test_dims_are_dynamic_batch_and_sequence():
    m = nn.LSTM(N_IN, HIDDEN, num_layers=2)
    p = cr.onnx.build(m, (cr.randn(5, 1, N_IN), (cr.zeros(2, 1, HIDDEN), cr.zeros(2, 1, HIDDEN))),
                      input_names=["x", "h0", "c0"], output_names=["y", "h_n", "c_n"])

    def dims(vi):
        return [d.dim_param or d.dim_value for d in vi.type.tensor_type.shape.dim]
    assert [dims(v) for v in p.graph.input] == [["sequence", "batch", N_IN], [2, "batch", HIDDEN],
                                                [2, "batch", HIDDEN]]
    assert [dims(v) for v in p.graph.output] == [["sequence", "batch", HIDDEN],
                                                 [2, "batch", HIDDEN], [2, "batch", HIDDEN]]
    g = nn.GRU(N_IN, HIDDEN, batch_first=True, bidirectional=True)
    p = cr.onnx.build(g, cr.randn(1, 5, N_IN))
    assert dims(p.graph.input[0]) == ["batch", "sequence", N_IN]
    assert dims(p.graph.output[0]) == ["batch", "sequence", 2 * HIDDEN]
    fixed = cr.onnx.build(g, cr.randn(1, 5, N_IN), dynamic_axes={})
    assert dims(fixed.graph.output[0]) == [1, 5, 2 * HIDDEN]
    lstm = [n for n in cr.onnx.build(m, cr.randn(5, 1, N_IN)).graph.node if n.op_type == "LSTM"]
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in lstm[0].attribute}
    assert attrs["hidden_size"] == HIDDEN and attrs["direction"] == b"forward"
    gru = [n for n in p.graph.node if n.op_type == "GRU"][0]
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in gru.attribute}
    assert attrs["linear_before_reset"] == 1 and attrs["direction"] == b"bidirectional"


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_unbatched_sequence(kind):
    cls, kw = LAYERS[kind]
    m = cls(N_IN, HIDDEN, num_layers=2, bidirectional=True, **kw)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, N_IN)).astype(np.float32)
    # one sequence (L, H_in): the "batch" sizes here are sequence lengths
    _, diffs = max_diffs(m, (x,), lambda n: (rng.standard_normal((n, N_IN)).astype(np.float32),))
    assert max(diffs.values()) <= TOL, diffs


def test_embedding_is_gather_with_negative_indices_and_padding():
    emb = nn.Embedding(11, 5, padding_idx=0)
    rng = np.random.default_rng(0)
    # an Embedding not followed by a recurrent layer: only the batch is dynamic by default
    fixed = cr.onnx.build(nn.Sequential(emb), np.array([[1, 2, 0]]))
    assert fixed.graph.input[0].type.tensor_type.shape.dim[1].dim_value == 3
    proto, diffs = max_diffs(nn.Sequential(emb), (np.array([[1, 2, 0]]),),
                             lambda n: (rng.integers(-11, 11, (n, 4)),),
                             dynamic_axes={"input": {0: "batch", 1: "length"}})
    out_dims = [d.dim_param or d.dim_value for d in proto.graph.output[0].type.tensor_type.shape.dim]
    assert out_dims == ["batch", "length", 5]
    assert max(diffs.values()) == 0.0, diffs         # a gather copies the rows
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.INT64
    assert [n.op_type for n in proto.graph.node] == ["Gather", "Identity"]


class LastStep(nn.Module):
    """The usual sequence classifier: Embedding -> LSTM -> last step's output -> Linear."""

    def __init__(self, vocab=20, bidirectional=False, use_h_n=False):
        super().__init__()
        self.use_h_n = use_h_n
        self.embed = nn.Embedding(vocab, 8)
        self.lstm = nn.LSTM(8, 12, num_layers=2, batch_first=True, bidirectional=bidirectional)
        self.fc = nn.Linear(12 * (2 if bidirectional else 1), 3)

    def forward(self, x):
        out, (h, _) = self.lstm(self.embed(x))
        return self.fc(h[-1] if self.use_h_n else out[:, -1])


@pytest.mark.parametrize("kw", [{}, {"bidirectional": True}, {"use_h_n": True}],
                         ids=["last_step", "bidirectional", "h_n[-1]"])
def test_sequence_classifier_exports(kw):
    model = LastStep(**kw)
    rng = np.random.default_rng(4)
    proto, diffs = max_diffs(model, (rng.integers(0, 20, (1, 5)),),
                             lambda n: (rng.integers(0, 20, (n, 11)),))
    assert max(diffs.values()) <= TOL, diffs
    ops = [n.op_type for n in proto.graph.node]
    assert ops.count("LSTM") == 2 and "Gather" in ops
    dims = [d.dim_param or d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["batch", "sequence"]


@pytest.mark.parametrize("opset", [13, 18])
def test_other_opsets(opset):
    rng = np.random.default_rng(9)
    proto, diffs = max_diffs(LastStep(bidirectional=True), (rng.integers(0, 20, (1, 5)),),
                             lambda n: (rng.integers(0, 20, (n, 6)),), opset_version=opset)
    assert max(diffs.values()) <= TOL and proto.opset_import[0].version == opset


def test_seq_models_char_and_regressor():
    from chainrule.seqmodels import seq_model_from_spec
    rng = np.random.default_rng(5)
    for cell in ("lstm", "gru", "rnn"):
        char = seq_model_from_spec({"type": "char", "cell": cell, "vocab": "abcdefg ",
                                    "embed": 6, "hidden": 10, "layers": 2, "dropout": 0.2})
        _, diffs = max_diffs(char, (np.zeros((1, 4), np.int64),),
                             lambda n: (rng.integers(0, 8, (n, 7)),))
        assert max(diffs.values()) <= TOL, (cell, diffs)
        reg = seq_model_from_spec({"type": "regressor", "cell": cell, "n_features": 2,
                                   "hidden": 10, "layers": 1})
        _, diffs = max_diffs(reg, (np.zeros((1, 4, 2), np.float32),),
                             lambda n: (rng.standard_normal((n, 13, 2)).astype(np.float32),))
        assert max(diffs.values()) <= TOL, (cell, diffs)


def test_indexing_between_layers():
    class Picks(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(3, 4), nn.Tanh()

        def forward(self, x):     # (n, 6, 3) -> slices, steps (negative too), None, ..., ints
            return self.b(self.a(x)[:, 1:-1:2][:, ::-1][..., None, :][:, -2, 0])

    rng = np.random.default_rng(6)
    proto, diffs = max_diffs(Picks(), (np.zeros((1, 6, 3), np.float32),),
                             lambda n: (rng.standard_normal((n, 6, 3)).astype(np.float32),))
    assert max(diffs.values()) <= TOL, diffs
    assert {"Slice", "Gather", "Unsqueeze"} <= {n.op_type for n in proto.graph.node}


def test_errors_name_the_layer():
    class Keyword(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(3, 4)

        def forward(self, x):
            return self.rnn(x, hx=cr.ones(1, x.shape[1], 4))[0]

    with pytest.raises(cr.onnx.ExportError, match=r"layer 'rnn' \(GRU\).*keyword"):
        cr.onnx.build(Keyword(), cr.randn(5, 1, 3))

    class Summed(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn, self.fc = nn.RNN(3, 4), nn.Linear(4, 1)

        def forward(self, x):
            return self.fc(self.rnn(x)[0].sum(0))

    with pytest.raises(cr.onnx.ExportError, match=r"layer 'fc' \(Linear\).*made by 'sum'"):
        cr.onnx.build(Summed(), cr.randn(5, 1, 3))

    class Fancy(Summed):
        def forward(self, x):
            return self.fc(self.rnn(x)[0][[0, 2]])

    with pytest.raises(cr.onnx.ExportError, match="indexing with arrays"):
        cr.onnx.build(Fancy(), cr.randn(5, 1, 3))

    class Packed(Summed):
        def forward(self, x):
            return self.rnn(nn.utils.rnn.pack_padded_sequence(x, [5, 3]))[1]

    with pytest.raises(cr.onnx.ExportError, match=r"layer 'rnn' \(RNN\).*PackedSequence"):
        cr.onnx.build(Packed(), cr.randn(5, 2, 3))


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_float64(kind):
    # the reference evaluator only: onnxruntime 1.32 has float32 RNN/LSTM/GRU kernels only
    m = _layer(kind, 2, True, False, True).double()
    rng = np.random.default_rng(7)
    proto, diffs = max_diffs(m, (np.zeros((5, 1, N_IN)),),
                             lambda n: (rng.standard_normal((SEQ, n, N_IN)),),
                             engines=("reference",))
    assert max(diffs.values()) <= 1e-12, diffs
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE


def test_cli_export_of_sequence_runs(tmp_path, capsys):
    from onnx.reference import ReferenceEvaluator

    from chainrule.cli import main
    from chainrule.cli_seq import load_seq_run, sequence_config
    rng = np.random.default_rng(8)
    for model, dataset, extra in (("lstm", "sine", ["--samples", "64", "--seq-len", "12"]),
                                  ("gru", "text", ["--seq-len", "16"])):
        run = tmp_path / dataset
        assert main(["train", "--model", model, "--dataset", dataset, "--epochs", "1",
                     "--hidden", "8", "--out", str(run), "--quiet", *extra]) == 0
        assert main(["export", str(run), "--format", "onnx"]) == 0
        assert "model.onnx" in capsys.readouterr().out
        proto = onnx.load(str(run / "model.onnx"))
        onnx.checker.check_model(proto, full_check=True)
        net = load_seq_run(str(run), sequence_config(str(run)))
        net.eval()
        # other batch sizes and lengths than the training windows'
        x = (rng.standard_normal((7, 20, 1)).astype(np.float32) if dataset == "sine" else
             rng.integers(0, len(sequence_config(str(run))["model"]["vocab"]), (7, 20)))
        with cr.no_grad():
            want = net(cr.tensor(x)).numpy()
        got = ReferenceEvaluator(proto).run(None, {"input": x})[0]
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, atol=TOL, rtol=0)


def report():
    """Largest difference per layer type, engine and batch size over all CONFIGS."""
    print("| layer | engine | batch 1 | batch 7 | batch 64 |\n|---|---|---|---|---|")
    for kind in sorted(LAYERS):
        worst = {}
        for cfg in CONFIGS:
            for key, d in _layer_diffs(kind, cfg)[1][1].items():
                worst[key] = max(worst.get(key, 0.0), d)
        _row(kind, worst)
    rng = np.random.default_rng(4)
    _, diffs = max_diffs(nn.Sequential(nn.Embedding(11, 5)), (np.zeros((1, 4), np.int64),),
                         lambda n: (rng.integers(-11, 11, (n, 4)),))
    _row("Embedding", diffs)
    worst = {}
    for kw in ({}, {"bidirectional": True}, {"use_h_n": True}):
        for key, d in max_diffs(LastStep(**kw), (rng.integers(0, 20, (1, 5)),),
                                lambda n: (rng.integers(0, 20, (n, 11)),))[1].items():
            worst[key] = max(worst.get(key, 0.0), d)
    _row("Embedding-LSTM-last step-Linear", worst)


def _row(what, diffs):
    for engine in ENGINES:
        print(f"| {what} | {engine} | " + " | ".join(f"{diffs[(engine, n)]:.1e}"
                                                     for n in BATCHES) + " |")


if __name__ == "__main__":
    report()
