"""Run an exported model with ONNX's reference evaluator or onnxruntime and measure the largest
difference from chainrule's own outputs (shared by the ONNX test files)."""
import io

import numpy as np
import pytest

import chainrule as cr

ENGINES = ("reference", "onnxruntime")


def _reference_extras():
    """ONNX's reference RNN knows only the Tanh activation; PyTorch's ``nonlinearity='relu'``
    exports as ``activations=["Relu"]``, so the reference gets Relu added (onnxruntime has it)."""
    from onnx.reference.ops.op_rnn import RNN_14

    class RNN(RNN_14):
        op_domain = ""

        def choose_act(self, name, alpha, beta):
            if name in ("Relu", "relu"):
                return lambda x: np.maximum(x, 0)
            return super().choose_act(name, alpha, beta)
    return [RNN]


def session(proto, engine):
    """``run(feeds) -> list of outputs`` of ``proto`` on ``engine`` (skips when not installed)."""
    if engine == "reference":
        from onnx.reference import ReferenceEvaluator
        ev = ReferenceEvaluator(proto, new_ops=_reference_extras())
        return lambda feeds: ev.run(None, feeds)
    ort = pytest.importorskip("onnxruntime")
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return lambda feeds: sess.run(None, feeds)


def flat(obj):
    """NumPy arrays of the tensors in a (nested) tuple, in order, ``None`` left out."""
    if obj is None:
        return []
    if isinstance(obj, (tuple, list)):
        return [a for o in obj for a in flat(o)]
    return [obj.detach().numpy() if isinstance(obj, cr.Tensor) else np.asarray(obj)]


def _tensors(obj):
    if isinstance(obj, (tuple, list)):
        return tuple(_tensors(o) for o in obj)
    return cr.tensor(obj)


def max_diffs(model, example, inputs_for, batches=(1, 7, 64), engines=ENGINES, **export_kw):
    """Export ``model`` on ``example``, then for each batch size ``n`` run chainrule and each
    engine on ``inputs_for(n)`` (the positional arguments, NumPy arrays, nested as the model
    takes them). Returns ``(proto, {(engine, n): largest abs difference over all outputs})``;
    shapes and dtypes must match exactly."""
    import onnx
    buf = io.BytesIO()
    proto = cr.onnx.export(model, example, buf, **export_kw)
    loaded = onnx.load_from_string(buf.getvalue())
    onnx.checker.check_model(loaded, full_check=True)
    names = [i.name for i in loaded.graph.input]
    runs = {e: session(loaded, e) for e in engines}
    model.eval()
    diffs = {}
    for n in batches:
        args = inputs_for(n)
        with cr.no_grad():
            want = flat(model(*_tensors(args)))
        feeds = dict(zip(names, flat(args)))
        assert len(feeds) == len(names)
        for engine, run in runs.items():
            got = run(feeds)
            assert len(got) == len(want), (engine, n)
            for a, b in zip(got, want):
                assert a.shape == b.shape and a.dtype == b.dtype, (engine, n, a.shape, b.shape)
            diffs[(engine, n)] = max(float(np.max(np.abs(a.astype(np.float64) - b)))
                                     for a, b in zip(got, want))
    return proto, diffs
