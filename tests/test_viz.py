"""Graph drawing (DOT text checked exactly, rendering when `dot` exists) and the plots (Agg)."""
from __future__ import annotations

import re
import shutil

import numpy as np
import pytest

import chainrule as cr
from chainrule.viz import build_graph, draw_graph, to_dot

EDGE = re.compile(r'^\s*(n\d+) -> (n\d+)(?: \[label=<(.*)>\])?;$')
NODE = re.compile(r'^\s*(n\d+) \[label="([^"]*)", .*\];$')
FONT = re.compile(r'<font color="[^"]+">([^<]*)</font>')


def parse_dot(text):
    """{node id: name} and [(src name, dst name, [value, grad])] from to_dot's output."""
    nodes, edges = {}, []
    for line in text.splitlines():
        m = NODE.match(line)
        if m:
            nodes[m.group(1)] = m.group(2).split("\\n")[0]   # first line: the name
            continue
        m = EDGE.match(line)
        if m:
            edges.append((nodes[m.group(1)], nodes[m.group(2)], FONT.findall(m.group(3) or "")))
    return nodes, edges


def xyz():
    x, y, z = (cr.tensor(v, dtype=cr.float64, requires_grad=True) for v in (-2.0, 5.0, -4.0))
    return x, y, z, (x + y) * z


def test_dot_of_f_equals_x_plus_y_times_z_matches_the_slide():
    x, y, z, f = xyz()
    nodes, edges = parse_dot(to_dot(f, names={"x": x, "y": y, "z": z, "f": f}))
    assert sorted(nodes.values()) == ["Add", "Mul", "f", "x", "y", "z"]
    # (producer, consumer, [forward value, gradient of f]) exactly as the notes' backward pass
    assert sorted(edges) == sorted([
        ("x", "Add", ["-2.00", "-4.00"]),
        ("y", "Add", ["5.00", "-4.00"]),
        ("Add", "Mul", ["3.00", "-4.00"]),
        ("z", "Mul", ["-4.00", "3.00"]),
        ("Mul", "f", ["-12.00", "1.00"]),
    ])


def test_to_dot_leaves_grad_untouched_and_graph_usable():
    x, y, z, f = xyz()
    to_dot(f)
    assert x.grad is None and y.grad is None and z.grad is None
    f.backward()   # the graph was retained: backward still works and gives the same numbers
    assert (x.grad.item(), y.grad.item(), z.grad.item()) == (-4.0, -4.0, 3.0)


def test_sigmoid_neuron_from_primitives_matches_the_slide():
    # the notes: w1=2, x1=-1, w2=-3, x2=-2, w0=-3; f = 1 / (1 + exp(-(w1 x1 + w2 x2 + w0)))
    vals = dict(w1=2.0, x1=-1.0, w2=-3.0, x2=-2.0, w0=-3.0)
    t = {k: cr.tensor(v, dtype=cr.float64, requires_grad=True) for k, v in vals.items()}
    s = t["w1"] * t["x1"] + t["w2"] * t["x2"] + t["w0"]
    f = 1 / (1 + cr.exp(-s))
    g = build_graph(f, names=t)
    ops = sorted(n.label.split("\n")[0] for n in g.nodes if n.kind == "op")
    assert ops == ["Add", "Add", "Add", "Div", "Exp", "Mul", "Mul", "Neg"]
    by_src = {g.nodes[int(e.src[1:])].label: e for e in g.edges}
    sig = 1 / (1 + np.exp(-1.0))
    # gradient on w_i is sigma (1 - sigma) x_i, on x_i it is sigma (1 - sigma) w_i
    for name, expected in dict(w1=-1, x1=2, w2=-2, x2=-3, w0=1).items():
        assert by_src[name].grad == pytest.approx(sig * (1 - sig) * expected, rel=1e-12)
    assert by_src["Exp"].value == pytest.approx(np.exp(-1.0))
    assert by_src["Div"].value == pytest.approx(sig)
    nodes, edges = parse_dot(to_dot(f, names=t))
    # the slide's rounded numbers: 0.37 into +1, 1.37 into 1/x, 0.73 out, -0.53 back through 1/x
    assert ("Exp", "Add", ["0.37", "-0.53"]) in edges
    assert ("Add", "Div", ["1.37", "-0.53"]) in edges
    assert ("Div", "output", ["0.73", "1.00"]) in edges
    assert ("w0", "Add", ["-3.00", "0.20"]) in edges


def test_sigmoid_op_is_one_node_and_values_or_grads_can_be_hidden():
    w = cr.tensor([2.0, -3.0], dtype=cr.float64, requires_grad=True)
    xin = cr.tensor([-1.0, -2.0], dtype=cr.float64)
    f = cr.sigmoid((w * xin).sum() - 3.0)
    nodes, edges = parse_dot(to_dot(f, names={"w": w}, show_grads=False))
    assert "Sigmoid" in nodes.values() and "w" in nodes.values()
    assert all(len(v) == 1 for _, _, v in edges)          # values only
    assert ("w", "Mul", ["[2.00, -3.00]"]) in edges
    g = build_graph(f, names={"w": w})
    assert g.node("w").label == "w\n(2)"
    # an op that folds a Python number shows it, as the slides' "+1" and "*-1" nodes do
    assert [n.label for n in g.nodes if n.kind == "op"][-2] == "Add\n-3"
    _, edges = parse_dot(to_dot(f, show_values=False))
    assert ("Sigmoid", "output", ["1.00"]) in edges        # gradients only


def test_parameters_named_from_a_model_and_big_tensors_summarised():
    lin = cr.nn.Linear(6, 3)
    x = cr.ones(2, 6)
    loss = lin(x).sum()
    g = build_graph(loss, params=lin.named_parameters())
    assert g.node("weight").label == "weight\n(3, 6)" and g.node("bias").label == "bias\n(3)"
    _, edges = parse_dot(to_dot(loss, params=dict(lin.named_parameters())))
    w_edge = [e for e in edges if e[0] == "weight"][0]
    w = lin.weight._data
    assert w_edge[2][0] == f"[{w.min():.2f} .. {w.max():.2f}]"
    assert w_edge[2][1] == "[2.00 .. 2.00]"   # d sum / dW = column sums of x = 2


def test_freed_graph_and_bad_arguments_raise():
    x, y, z, f = xyz()
    f.backward()
    with pytest.raises(RuntimeError, match="freed by backward"):
        to_dot(f)
    with pytest.raises(TypeError, match="expected a Tensor"):
        to_dot(np.ones(3))
    with pytest.raises(ValueError, match="format"):
        draw_graph(xyz()[3], "g.gif")


def test_constant_tensor_without_graph_is_a_single_input():
    c = cr.tensor(3.0)
    g = build_graph(c, names={"c": c})
    assert [n.kind for n in g.nodes] == ["input", "output"] and len(g.edges) == 1


def test_draw_graph_writes_dot_text_and_falls_back_without_graphviz(tmp_path, monkeypatch):
    x, y, z, f = xyz()
    p = draw_graph(f, tmp_path / "g.dot", names={"x": x})
    assert open(p).read() == to_dot(f, names={"x": x})
    monkeypatch.setattr("chainrule.viz.graph.shutil.which", lambda name: None)
    with pytest.warns(RuntimeWarning, match="'dot' program is not installed"):
        p = draw_graph(f, tmp_path / "g.svg")
    assert p == str(tmp_path / "g.dot") and not (tmp_path / "g.svg").exists()


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' not installed")
def test_draw_graph_renders_svg_and_png_with_graphviz(tmp_path):
    x, y, z, f = xyz()
    names = {"x": x, "y": y, "z": z, "f": f}
    svg = open(draw_graph(f, tmp_path / "g.svg", names=names)).read()
    assert "<svg" in svg and "&#45;12.00" in svg and "Mul" in svg   # dot escapes '-' as &#45;
    png = draw_graph(f, tmp_path / "g.png", names=names)
    assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------------------------------------
# plots (matplotlib's Agg backend, files under tmp_path)
# ---------------------------------------------------------------------------------------------
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def plots():
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg")
    from chainrule.viz import plots
    return plots


def _classifier(seed=0):
    cr.manual_seed(seed)
    return cr.nn.Sequential(cr.nn.Linear(2, 8), cr.nn.Tanh(), cr.nn.Linear(8, 2))


def test_plot_history_draws_one_panel_per_metric(plots, tmp_path):
    h = {"loss": [1.0, 0.5, 0.25], "val_loss": [1.1, 0.6, 0.4], "accuracy": [0.5, 0.7, 0.9],
         "lr": [0.1] * 3, "0/grad_norm": [1.0] * 3}
    fig = plots.plot_history(h)
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy"]
    loss_ax = fig.axes[0]
    assert [list(line.get_ydata()) for line in loss_ax.lines] == [h["loss"], h["val_loss"]]
    plots.plot_history([{"loss": 2.0}, {"loss": 1.0}], tmp_path / "h.png")
    assert (tmp_path / "h.png").read_bytes()[:8] == PNG


def test_plot_activations_heatmaps_and_bars_show_the_layer_outputs(plots, tmp_path):
    model = _classifier()
    x = cr.randn(5, 2)
    fig = plots.plot_activations(model, x, sample=3)
    heat, bars = fig.axes[0], fig.axes[1]      # row 0: heatmap, row 1: bars (then colorbars)
    expected = np.tanh(model[0](x).detach().numpy())
    np.testing.assert_allclose(heat.images[0].get_array(), expected, rtol=1e-6)
    np.testing.assert_allclose([p.get_width() for p in bars.patches], expected[3], rtol=1e-6)
    assert "1 (Tanh)" in heat.get_title()
    assert model.training                       # mode restored
    plots.plot_activations(model, x, tmp_path / "a.png")
    assert (tmp_path / "a.png").read_bytes()[:8] == PNG


def test_weight_histograms_from_monitor_over_epochs_and_from_model(plots, tmp_path):
    model = _classifier()
    mon = cr.debug.watch(model, warn=False)
    x, y = cr.randn(16, 2), cr.tensor(np.arange(16) % 2)
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        cr.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        mon.end_epoch()
    mon.detach()
    assert [e for e, _, _ in mon.samples["0"]] == [0, 1, 2]
    fig = plots.plot_weight_histograms(mon, tmp_path / "w.png")
    assert len(fig.axes) == 4                           # 2 layers x (weights, gradients)
    assert (tmp_path / "w.png").read_bytes()[:8] == PNG
    fig = plots.plot_weight_histograms(model)
    assert fig.axes[0].get_title() == "layer 0: weights"


def test_decision_boundary_matches_predictions_and_over_epochs(plots, tmp_path):
    model = _classifier()
    X = np.random.default_rng(0).uniform(-1, 1, (40, 2)).astype(np.float32)
    y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)
    gx, gy, cls = plots._predict_grid(model, X, 20)
    with cr.no_grad():
        pred = model(cr.tensor(np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32)))
    np.testing.assert_array_equal(cls.ravel(), pred.numpy().argmax(1))
    snaps = plots.BoundarySnapshots(every=1)
    snaps.snapshot(0, model)
    w0 = model[0].weight.detach().numpy().copy()
    with cr.no_grad():
        model[0].weight.mul_(-1.0)
    snaps.snapshot(1, model)
    fig = plots.decision_boundary_over_epochs(model, X, y, snaps.states, tmp_path / "b.png")
    assert [ax.get_title() for ax in fig.axes[:2]] == ["epoch 0", "epoch 1"]
    np.testing.assert_array_equal(model[0].weight.detach().numpy(), -w0)   # weights restored
    files = plots.write_all_plots(model, {"loss": [1.0, 0.5]}, X, y, tmp_path / "all",
                                  snapshots=snaps)
    names = sorted(p.rsplit("/", 1)[-1] for p in files)
    assert names == ["activations.png", "decision_boundary.png", "decision_boundary_epochs.png",
                     "history.png", "weights.png"]
    assert all(open(p, "rb").read(8) == PNG for p in files)
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        plots.plot_decision_boundary(model, np.zeros((3, 3)), np.zeros(3))


def test_viz_without_matplotlib_imports_and_plots_say_how_to_install(monkeypatch):
    import subprocess
    import sys
    code = ("import sys, chainrule as cr; cr.viz.to_dot(cr.tensor(1.0)); cr.debug.watch; "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"          # graph drawing and the monitor never need it
    monkeypatch.setitem(sys.modules, "matplotlib", None)   # as if it were not installed
    from chainrule.viz import _mpl
    with pytest.raises(ImportError, match=r"pip install 'chainrule\[plot\]'"):
        _mpl._plt()
