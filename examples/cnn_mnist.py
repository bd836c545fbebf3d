"""LeNet-5 on real MNIST digits: train on the first 8,000 test-set images, test on the last 2,000.

The network of issue 13 (conv 1->6 5x5, ReLU, max-pool 2, conv 6->16 5x5, ReLU, max-pool 2,
256 -> 120 -> 84 -> 10), the plain PyTorch-style loop, SGD with momentum, batch 64.

    python examples/cnn_mnist.py [--data-dir ../shared/datasets/mnist-test] [--epochs 8]
                                 [--plots docs/images]

Needs the MNIST IDX files (``t10k-images-idx3-ubyte.gz``, ``t10k-labels-idx1-ubyte.gz``) in
``--data-dir``; without them it says so and exits (status 0: nothing to run).  ``--plots DIR``
also writes the first layer's filters and the feature maps of one test digit (matplotlib).
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.datasets import load_mnist

DEFAULT_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets" / \
    "mnist-test"


def accuracy(model, X, y, batch=500):
    model.eval()
    right = 0
    with cr.no_grad():
        for i in range(0, len(X), batch):
            right += int((model(cr.tensor(X[i:i + batch])).argmax(1).numpy() ==
                          y[i:i + batch]).sum())
    model.train()
    return right / len(X)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=str(DEFAULT_DIR))
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--plots", metavar="DIR", help="write filters.png and feature_maps.png")
    a = ap.parse_args(argv)
    try:
        X, y = load_mnist(a.data_dir, "test", flatten=False)
    except FileNotFoundError as e:
        print(f"cnn_mnist: MNIST not found ({e}); pass --data-dir. Nothing to do.")
        return 0
    Xtr, ytr, Xte, yte = X[:8000], y[:8000], X[8000:], y[8000:]
    cr.manual_seed(a.seed)
    model = cr.models.lenet5()
    opt = cr.optim.SGD(model.parameters(), lr=a.lr, momentum=0.9)
    rng = np.random.default_rng(a.seed)
    print(f"LeNet-5, {sum(p.numel() for p in model.parameters()):,} parameters; "
          f"{len(Xtr)} train / {len(Xte)} test digits")
    t0 = time.perf_counter()
    for epoch in range(1, a.epochs + 1):
        perm, total = rng.permutation(len(Xtr)), 0.0
        for i in range(0, len(perm), 64):
            idx = perm[i:i + 64]
            opt.zero_grad()
            loss = F.cross_entropy(model(cr.tensor(Xtr[idx])), cr.tensor(ytr[idx]))
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        print(f"epoch {epoch}: train loss {total / len(Xtr):.4f}  test accuracy "
              f"{accuracy(model, Xte, yte):.4f}  ({time.perf_counter() - t0:.0f} s)")
    acc = accuracy(model, Xte, yte)
    print(f"test accuracy on the last 2,000 digits: {acc:.4f}")
    if a.plots:
        out = Path(a.plots)
        cr.viz.plot_filters(model, out / "cnn_filters.png")
        cr.viz.plot_feature_maps(model, Xte[:1], out / "cnn_feature_maps.png")
        print(f"wrote {out / 'cnn_filters.png'} and {out / 'cnn_feature_maps.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
