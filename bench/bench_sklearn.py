"""Per-epoch overhead of the scikit-learn wrappers: chainrule.sklearn against skorch.

Each wrapper's overhead is its epoch time minus the epoch time of a hand-written loop in its own
framework on the same MLP, data, batch size and optimizer (shuffle, zero_grad, forward, loss,
backward, step): what the wrapper adds, not how fast the framework's arithmetic is.

    python bench/bench_sklearn.py                  # 5 interleaved rounds of 10 epochs
    python bench/bench_sklearn.py --rounds 9 --n 4000 --batch-size 32

Needs scikit-learn, torch and skorch. Rounds are interleaved (each round runs the four systems
in turn); minimums and medians of wall time and of process CPU time are reported, because the
machine is shared (CPU time leaves out the time other processes had the cores).
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def data(n, d, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    y = (X[:, :2].sum(1) > 0).astype(np.int64)
    return X, y


def torch_module(d, h, torch):
    nn = torch.nn
    return nn.Sequential(nn.Linear(d, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU(), nn.Linear(h, 2))


class CrNet:
    """chainrule's module, built the same way (a class, as the wrapper builds it in fit)."""

    def __new__(cls, d=20, h=64):
        import chainrule as cr
        nn = cr.nn
        return nn.Sequential(nn.Linear(d, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU(),
                             nn.Linear(h, 2))


def torch_loop(X, y, epochs, bs, lr, d, h):
    import torch
    torch.manual_seed(0)
    model = torch_module(d, h, torch)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    for _ in range(epochs):
        perm = torch.randperm(len(Xt))
        for s in range(0, len(Xt), bs):
            idx = perm[s:s + bs]
            opt.zero_grad()
            loss = loss_fn(model(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()
    return loss.item()


def skorch_fit(X, y, epochs, bs, lr, d, h):
    import torch
    from skorch import NeuralNetClassifier
    torch.manual_seed(0)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.body = torch_module(d, h, torch)

        def forward(self, x):
            return self.body(x)
    net = NeuralNetClassifier(Net, criterion=torch.nn.CrossEntropyLoss,
                              optimizer=torch.optim.Adam, lr=lr, max_epochs=epochs,
                              batch_size=bs, train_split=None, verbose=0)
    net.fit(X, y)
    return float(net.history[-1, "train_loss"])


def chainrule_loop(X, y, epochs, bs, lr, d, h):
    import chainrule as cr
    cr.manual_seed(0)
    model = CrNet(d, h)
    opt = cr.optim.Adam(model.parameters(), lr=lr)
    loss_fn = cr.nn.CrossEntropyLoss()
    rng = np.random.default_rng(0)
    for _ in range(epochs):
        perm = rng.permutation(len(X))
        for s in range(0, len(X), bs):
            idx = perm[s:s + bs]
            opt.zero_grad()
            loss = loss_fn(model(cr.tensor(X[idx])), cr.tensor(y[idx]))
            loss.backward()
            opt.step()
    return loss.item()


def chainrule_fit(X, y, epochs, bs, lr, d, h):
    from chainrule.sklearn import NeuralNetClassifier
    net = NeuralNetClassifier(CrNet, module__d=d, module__h=h, optimizer="adam", lr=lr,
                              max_epochs=epochs, batch_size=bs, train_split=None,
                              random_state=0, verbose=0)
    net.fit(X, y)
    return net.history_[-1]["loss"]


SYSTEMS = {"torch loop": torch_loop, "skorch": skorch_fit, "chainrule loop": chainrule_loop,
           "chainrule.sklearn": chainrule_fit}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--features", type=int, default=20)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--lr", type=float, default=1e-3)
    a = p.parse_args()
    import torch
    torch.set_num_threads(1)
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(1)
    except ImportError:
        pass
    X, y = data(a.n, a.features)
    args = (X, y, a.epochs, a.batch_size, a.lr, a.features, a.hidden)
    for fn in SYSTEMS.values():          # warm-up: imports, first-call costs
        fn(X[:256], y[:256], 1, a.batch_size, a.lr, a.features, a.hidden)
    wall, cpu = {k: [] for k in SYSTEMS}, {k: [] for k in SYSTEMS}
    final = {}
    for _ in range(a.rounds):
        for name, fn in SYSTEMS.items():
            t, c = time.perf_counter(), time.process_time()
            final[name] = fn(*args)
            cpu[name].append((time.process_time() - c) / a.epochs)
            wall[name].append((time.perf_counter() - t) / a.epochs)
    steps = -(-a.n // a.batch_size)
    print(f"MLP {a.features}-{a.hidden}-{a.hidden}-2, N={a.n}, batch {a.batch_size} "
          f"({steps} steps/epoch), Adam lr {a.lr}, {a.epochs} epochs per fit, {a.rounds} "
          f"interleaved rounds, 1 thread")
    for clock, times in (("wall", wall), ("cpu", cpu)):
        print(f"{clock} time (process CPU time: what each system computed, without the time "
              "other processes took)" if clock == "cpu" else "wall time")
        for k in SYSTEMS:
            print(f"  {k:18s} min {min(times[k]) * 1e3:8.2f}  median "
                  f"{statistics.median(times[k]) * 1e3:8.2f} ms/epoch   final loss "
                  f"{final[k]:.4f}")
        # contention on a shared machine only adds time: the minimum is the steadier estimate
        for label, stat in (("min", min), ("median", statistics.median)):
            sk = stat(times["skorch"]) - stat(times["torch loop"])
            cr_ = stat(times["chainrule.sklearn"]) - stat(times["chainrule loop"])
            ratio = f"{sk / cr_:.1f}x" if cr_ > 0 else "n/a (chainrule overhead <= 0: noise)"
            print(f"  overhead per epoch ({clock}, {label}s): skorch {sk * 1e3:.2f} ms "
                  f"({sk / steps * 1e6:.0f} us/step), chainrule.sklearn {cr_ * 1e3:.2f} ms "
                  f"({cr_ / steps * 1e6:.0f} us/step); skorch / chainrule: {ratio}")


if __name__ == "__main__":
    main()
