"""The lecture's vectorized MNIST network (deck 002), written with chainrule.

784 -> 256 -> 128 -> 10, sigmoid on every layer, no biases, weights drawn as ``2*rand - 1``
(uniform in [-1, 1]) and the mean squared error against one-hot targets, as on the slides::

    L1 = sigmoid(W1.dot(X)); L2 = sigmoid(W2.dot(L1)); L3 = sigmoid(W3.dot(L2))
    loss = sum((L3 - T)**2) / N

The backward pass the slides derive by hand (``dW3 = (L3 - T) * L3*(1 - L3)`` ...) is what
``loss.backward()`` computes here.  Runs on the real MNIST test images (10,000, split 80/20 into
train/test) when ../shared/datasets/mnist-test exists or ``--data-dir`` points to IDX files,
otherwise on the embedded 8x8 digits (64 -> 256 -> 128 -> 10).

    python examples/mnist_sigmoid_mse.py [--data-dir DIR] [--digits] [--epochs N]

Note: uniform(-1, 1) weights with sigmoids start out saturated (a unit sums hundreds of inputs,
so its pre-activation is far from 0 and sigmoid' is tiny) and MSE multiplies the error by that
small sigmoid' again: this network learns slowly.  That is the lesson of the notes, and why
later lectures use scaled initialisations, ReLU and cross-entropy.  A fairly large learning
rate on mini-batches gets it to learn something in a few seconds.
"""
import argparse
import time
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.datasets import load_digits, load_mnist, train_test_split
from chainrule.utils.data import DataLoader, TensorDataset

DEFAULT_MNIST = Path(__file__).resolve().parents[1].parent / "shared/datasets/mnist-test"


def load(args):
    data_dir = Path(args.data_dir) if args.data_dir else DEFAULT_MNIST
    if not args.digits and data_dir.is_dir():
        try:
            X, y = load_mnist(data_dir, split="test")
            name = f"MNIST test images from {data_dir}"
        except (FileNotFoundError, ValueError) as exc:
            print(f"cannot read MNIST ({exc}); using the embedded digits")
            X, y = load_digits()
            name = "embedded 8x8 digits"
    else:
        X, y = load_digits()
        name = "embedded 8x8 digits"
    return name, train_test_split(X, y, test_size=0.2, seed=0)


def sigmoid_net(n_in):
    net = nn.Sequential(nn.Linear(n_in, 256, bias=False), nn.Sigmoid(),
                        nn.Linear(256, 128, bias=False), nn.Sigmoid(),
                        nn.Linear(128, 10, bias=False), nn.Sigmoid())
    for layer in net:
        if isinstance(layer, nn.Linear):
            nn.init.uniform_(layer.weight, -1.0, 1.0)      # W = 2*rand - 1
    return net


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data-dir", help="folder with the MNIST IDX files")
    p.add_argument("--digits", action="store_true", help="use the embedded 8x8 digits")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--lr", type=float, default=0.5)
    p.add_argument("--batch-size", type=int, default=50)
    args = p.parse_args()
    name, (Xtr, Xte, ytr, yte) = load(args)
    print(f"data: {name}: {len(Xtr)} train, {len(Xte)} test, {Xtr.shape[1]} inputs")

    cr.manual_seed(0)
    net = sigmoid_net(Xtr.shape[1])
    T = np.eye(10, dtype=np.float32)[ytr]                  # one-hot targets, as T on the slides
    loader = DataLoader(TensorDataset(cr.from_numpy(Xtr), cr.from_numpy(T)),
                        batch_size=args.batch_size, shuffle=True,
                        generator=cr.Generator().manual_seed(0))
    opt = cr.optim.SGD(net.parameters(), lr=args.lr)
    t0 = time.perf_counter()
    for epoch in range(args.epochs):
        total = 0.0
        for xb, tb in loader:
            out = net(xb)
            loss = ((out - tb) ** 2).sum(1).mean()           # the slides' sum((L3-T)**2)/N
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(xb)
        print(f"[{epoch:04d}] MSE Loss: {total / len(Xtr):0.3f}")
    with cr.no_grad():
        pred = net(cr.from_numpy(Xte)).argmax(1).numpy()
        train_pred = net(cr.from_numpy(Xtr)).argmax(1).numpy()
    print(f"train accuracy: {np.mean(train_pred == ytr):.4f}")
    print(f"test accuracy: {np.mean(pred == yte):.4f}  ({time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
