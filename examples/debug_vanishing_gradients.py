"""Diagnosing a network that does not learn, and fixing it (the notes' "Debugging ANNs").

    python examples/debug_vanishing_gradients.py                 # writes docs/img/debugging/
    python examples/debug_vanishing_gradients.py --out /tmp/dbg --epochs 30
    python examples/debug_vanishing_gradients.py --overhead      # also time the monitor

The walk-through:

0. the chain rule, drawn: the notes' f = (x + y) z and the sigmoid neuron, with forward values
   (green) and gradients (red) on every edge (needs Graphviz's ``dot`` for PNGs);
1. a deep sigmoid network with the notes' init w ~ U(-1, 1) and a large learning rate, on the two
   spirals: the gradient check says the gradients are *correct*, yet it does not learn; the
   training-health monitor says why (vanishing gradients, saturated units, steps too big);
2. ReLU + He initialisation, same learning rate: the gradients flow now, but units die;
3. ReLU + He initialisation + a lower learning rate: it learns.

Every step writes its pictures into ``--out``; docs/debugging.md shows them.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

import chainrule as cr
import chainrule.datasets as ds
from chainrule import nn
from chainrule.models import mlp
from chainrule.viz import plots

RUNS = [  # name, activation, init, learning rate
    ("sigmoid, U(-1,1), lr 2", "sigmoid", "notes", 2.0),
    ("ReLU, He, lr 2", "relu", "he", 2.0),
    ("ReLU, He, lr 0.1", "relu", "he", 0.1),
]


def draw_slide_graphs(out):
    """Step 0: the two computation graphs of the notes, as the slides draw them."""
    x, y, z = (cr.tensor(v, requires_grad=True) for v in (-2.0, 5.0, -4.0))
    f = (x + y) * z
    paths = [cr.viz.draw_graph(f, os.path.join(out, "graph_xyz.png"),
                               names={"x": x, "y": y, "z": z, "f": f})]
    t = {k: cr.tensor(v, requires_grad=True)
         for k, v in dict(w1=2.0, x1=-1.0, w2=-3.0, x2=-2.0, w0=-3.0).items()}
    f = 1 / (1 + cr.exp(-(t["w1"] * t["x1"] + t["w2"] * t["x2"] + t["w0"])))
    paths.append(cr.viz.draw_graph(f, os.path.join(out, "graph_neuron.png"),
                                   names=dict(t, f=f)))
    return paths


def build(activation, init, depth=8, width=32):
    model = mlp([2] + [width] * depth + [2], activation=activation)
    for m in model.modules():
        if isinstance(m, nn.Linear):
            if init == "notes":      # the notes' w = 2 * rand - 1
                nn.init.uniform_(m.weight, -1.0, 1.0)
                nn.init.uniform_(m.bias, -1.0, 1.0)
            else:                    # He: variance 2 / fan_in keeps ReLU activations' scale
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.constant_(m.bias, 0.01)
    return model


def train(name, activation, init, lr, data, epochs, seed=0):
    Xtr, Xte, ytr, yte = data
    cr.manual_seed(seed)
    model = build(activation, init)
    monitor = cr.debug.TrainingMonitor(warn=False)
    snaps = plots.BoundarySnapshots(epochs=sorted({0, epochs // 4, epochs // 2, epochs - 1}))
    opt = cr.optim.SGD(model.parameters(), lr=lr)
    with np.errstate(all="ignore"):   # a run that blows up overflows; the monitor says so
        hist = cr.train.fit(model, nn.functional.cross_entropy, opt, (Xtr, ytr), epochs=epochs,
                            batch_size=32, val_data=(Xte, yte), callbacks=[monitor, snaps],
                            verbose=0, generator=cr.Generator().manual_seed(seed))
    acc = hist.history["val_accuracy"][-1]
    print(f"\n== {name}: test accuracy {acc:.1%} after {epochs} epochs")
    seen = set()
    for epoch, kind, layer, msg in monitor.findings:   # each problem once, when first seen
        if (kind, layer) not in seen and len(seen) < 4:
            seen.add((kind, layer))
            print(f"   monitor, epoch {epoch}: {msg}")
    if not monitor.findings:
        print("   monitor: no problem found")
    return model, hist, monitor, snaps


def compare_histories(results, path):
    plt = plots._plt()
    fig, axes = plt.subplots(1, 2, figsize=(8.4, 3.1))
    for name, (_, hist, _, _) in results.items():
        h = hist.history
        ep = np.arange(1, len(h["loss"]) + 1)
        axes[0].plot(ep, h["loss"], label=name)
        axes[1].plot(ep, h["val_accuracy"], label=name)
    axes[0].set_yscale("log")
    for ax, title in zip(axes, ("training loss", "test accuracy")):
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    return plots._finish(fig, path)


def overhead(epochs=3, repeats=5):
    """Seconds per epoch without and with the monitor, for a small and a mid-sized MLP."""
    Xd, yd = ds.load_digits()
    rng = np.random.default_rng(0)
    Xm = rng.random((6000, 784), dtype=np.float32)    # MNIST-shaped inputs (speed only)
    ym = rng.integers(0, 10, 6000)
    setups = [("digits, MLP 64-128-64-10, batch 32", [64, 128, 64, 10], Xd, yd, 32),
              ("784-256-128-10, batch 128", [784, 256, 128, 10], Xm, ym, 128)]

    def run(sizes, X, y, bs, callbacks):
        cr.manual_seed(0)
        model = mlp(sizes)
        opt = cr.optim.SGD(model.parameters(), lr=0.05)
        t = time.process_time()   # CPU time: less disturbed by other programs than wall time
        cr.train.fit(model, nn.functional.cross_entropy, opt, (X, y), epochs=epochs,
                     batch_size=bs, callbacks=callbacks, verbose=0,
                     generator=cr.Generator().manual_seed(0))
        return (time.process_time() - t) / epochs

    variants = (("off", lambda: []),
                ("on", lambda: [cr.debug.TrainingMonitor(warn=False)]),
                ("on, every=10", lambda: [cr.debug.TrainingMonitor(warn=False, every=10)]))
    print(f"\nmonitor overhead (CPU time per epoch, best of {repeats}):")
    res = {}
    for title, sizes, X, y, bs in setups:
        times = {label: float("inf") for label, _ in variants}
        for _ in range(repeats):   # interleaved, so that a busy machine slows every variant
            for label, make in variants:
                times[label] = min(times[label], run(sizes, X, y, bs, make()))
        res[title] = times
        print(f"   {title}:")
        for label, s in times.items():
            print(f"      monitor {label:<13} {s * 1000:7.1f} ms   "
                  f"({(s / times['off'] - 1) * 100:+.0f}%)")
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join("docs", "img", "debugging"))
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--overhead", action="store_true", help="also time the monitor")
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    written = draw_slide_graphs(args.out)

    X, y = ds.make_spirals(600, seed=0)
    data = ds.train_test_split(X, y, test_size=0.25, seed=0)

    # a gradient check first: is backprop itself right for this architecture?
    cr.manual_seed(0)
    report = cr.debug.check_model_gradients(build("sigmoid", "notes"), data[0][:16],
                                            loss_fn=nn.functional.cross_entropy,
                                            targets=data[2][:16], sample=10)
    print(f"gradient check of the sigmoid net: "
          f"{'all parameters agree' if report.passed else 'FAILED ' + str(report.failed)}; "
          f"largest relative error {max(p.max_rel_error for p in report.params):.1e}")
    cr.debug.summary(build("relu", "he"), input_size=(32, 2))

    results = {name: train(name, act, init, lr, data, args.epochs)
               for name, act, init, lr in RUNS}
    out = lambda f: os.path.join(args.out, f)   # noqa: E731
    bad, fixed = results[RUNS[0][0]], results[RUNS[-1][0]]
    written.append(compare_histories(results, out("history.png")) and out("history.png"))
    plots.plot_layer_stats({n: r[2] for n, r in results.items()}, out("layer_stats.png"),
                           metrics=("grad_norm", "update_ratio", "act_std"))
    for tag, (model, _, monitor, snaps) in (("bad", bad), ("fixed", fixed)):
        plots.plot_activations(model, data[1][:32], out(f"activations_{tag}.png"),
                               max_units=32)
        plots.plot_weight_histograms(monitor, out(f"weights_{tag}.png"), max_epochs=4,
                                     max_layers=4)
        plots.decision_boundary_over_epochs(model, data[1], data[3], snaps.states,
                                            out(f"boundary_{tag}.png"), resolution=80)
        written += [out(f"activations_{tag}.png"), out(f"weights_{tag}.png"),
                    out(f"boundary_{tag}.png")]
    written.append(out("layer_stats.png"))
    if args.overhead:
        overhead()
    print("\nwrote " + ", ".join(sorted(os.path.basename(p) for p in written if p)))


if __name__ == "__main__":
    main()
