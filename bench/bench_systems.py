"""The systems compared by bench_mlp.py.

Every system exposes ``setup(X, y, batch_size, optimizer, width) -> epoch``
where all model/optimizer/data-structure construction happens in ``setup``
(untimed) and ``epoch()`` trains one epoch and returns its wall-clock seconds.
``epoch.steps()`` is the same epoch as a generator that yields after every
training step (sklearn: after its one ``partial_fit``), so that the benchmark
can interleave systems a few steps at a time (``bench_mlp.py --interleave``).
``run_epoch(X, y, batch_size, optimizer, width)`` is ``setup(...)()``.

Frameworks are imported lazily inside the functions, so this module imports
neither torch, sklearn nor chainrule at top level.

Inference systems expose ``infer_setup(Xtest, batch_size, width) -> run``,
``run()`` doing one timed forward pass over Xtest (returns seconds).
"""
import time
import warnings

import bench_arrays_mlp
import bench_numpy_mlp
from bench_common import timed

TORCH_THREADS = 2


def _lr(optimizer):
    return 0.1 if optimizer == "sgd" else 1e-3


# --------------------------------------------------------------------- torch
def _torch():
    import torch
    torch.set_num_threads(TORCH_THREADS)
    return torch


def _torch_model(torch, width, seed=0):
    torch.manual_seed(seed)
    nn = torch.nn
    return nn.Sequential(nn.Linear(784, width), nn.ReLU(),
                         nn.Linear(width, width // 2), nn.ReLU(),
                         nn.Linear(width // 2, 10))


def _torch_opt(torch, model, optimizer):
    if optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=0.1)
    return torch.optim.Adam(model.parameters(), lr=1e-3)


def torch_setup(X, y, batch_size, optimizer, width=256, seed=0):
    """PyTorch eager; batches = one index of a shuffled randperm per step."""
    torch = _torch()
    F = torch.nn.functional
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y).long()
    model = _torch_model(torch, width, seed)
    opt = _torch_opt(torch, model, optimizer)
    n = Xt.shape[0]
    gen = torch.Generator().manual_seed(seed)

    def steps():
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n, batch_size):
            idx = perm[i:i + batch_size]
            xb, yb = Xt[idx], yt[idx]
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            loss.item()
            yield

    return timed(steps)


def torch_dataloader_setup(X, y, batch_size, optimizer, width=256, seed=0):
    """PyTorch eager with DataLoader(TensorDataset, shuffle=True)."""
    torch = _torch()
    F = torch.nn.functional
    ds = torch.utils.data.TensorDataset(torch.from_numpy(X), torch.from_numpy(y).long())
    loader = torch.utils.data.DataLoader(ds, batch_size=batch_size, shuffle=True,
                                         generator=torch.Generator().manual_seed(seed))
    model = _torch_model(torch, width, seed)
    opt = _torch_opt(torch, model, optimizer)

    def steps():
        for xb, yb in loader:
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            loss.item()
            yield

    return timed(steps)


def torch_infer_setup(Xtest, batch_size, width=256):
    torch = _torch()
    model = _torch_model(torch, width).eval()
    Xt = torch.from_numpy(Xtest)
    n = Xt.shape[0]

    def run():
        t0 = time.perf_counter()
        with torch.no_grad():
            for i in range(0, n, batch_size):
                model(Xt[i:i + batch_size])
        return time.perf_counter() - t0

    return run


# ------------------------------------------------------------------- sklearn
def sklearn_setup(X, y, batch_size, optimizer, width=256, seed=0):
    """MLPClassifier, one ``partial_fit`` pass (== one shuffled epoch).

    ``setup`` calls partial_fit once on a single batch so that weight
    initialisation, label binarisation and solver construction are untimed.
    sklearn keeps float32 input as float32 (check_array dtype=(f64, f32)).
    """
    import numpy as np
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    clf = MLPClassifier(hidden_layer_sizes=(width, width // 2), activation="relu",
                        solver=optimizer, batch_size=batch_size,
                        learning_rate="constant", learning_rate_init=_lr(optimizer),
                        max_iter=1, momentum=0.0, nesterovs_momentum=False,
                        alpha=0.0, shuffle=True, random_state=seed)
    classes = np.arange(10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.partial_fit(X[:batch_size], y[:batch_size], classes=classes)

    def steps():   # one piece: partial_fit runs the whole epoch
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.partial_fit(X, y)
        yield

    return timed(steps)


# ----------------------------------------------------------------- chainrule
def _cr_model(cr, width):
    nn = cr.nn
    return nn.Sequential(nn.Linear(784, width), nn.ReLU(),
                         nn.Linear(width, width // 2), nn.ReLU(),
                         nn.Linear(width // 2, 10))


def chainrule_setup(X, y, batch_size, optimizer, width=256, seed=0, compile=False):
    """The idiomatic chainrule loop (PyTorch API names).  With ``compile`` the step function is
    wrapped in ``cr.compile`` (PyTorch 2's ``torch.compile`` idiom), which records it once per
    batch shape and replays it."""
    import chainrule as cr
    if hasattr(cr, "manual_seed"):
        cr.manual_seed(seed)
    model = _cr_model(cr, width)
    loader = cr.utils.data.DataLoader(
        cr.utils.data.TensorDataset(cr.from_numpy(X), cr.from_numpy(y)),
        batch_size=batch_size, shuffle=True)
    if optimizer == "sgd":
        opt = cr.optim.SGD(model.parameters(), lr=0.1)
    else:
        opt = cr.optim.Adam(model.parameters(), lr=1e-3)
    cross_entropy = cr.nn.functional.cross_entropy

    def train_step(xb, yb):
        opt.zero_grad()
        loss = cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        return loss

    if compile:
        train_step = cr.compile(train_step)
        # cr.compile records the first two calls of each batch shape (eager, with bookkeeping):
        # like torch.compile's compilation, that happens once per run, so it is done here,
        # untimed, on the epoch's batch shapes (full batches and the last, partial one)
        shapes = {min(batch_size, len(X)), len(X) % batch_size or batch_size}
        for b in sorted(shapes):
            for _ in range(2):
                train_step(cr.from_numpy(X[:b]), cr.from_numpy(y[:b])).item()

    def steps():
        for xb, yb in loader:
            train_step(xb, yb).item()
            yield

    return timed(steps)


def chainrule_compiled_setup(X, y, batch_size, optimizer, width=256, seed=0):
    """The same loop with the step function wrapped in ``cr.compile`` (captured and replayed)."""
    return chainrule_setup(X, y, batch_size, optimizer, width, seed, compile=True)


def chainrule_fit_setup(X, y, batch_size, optimizer, width=256, seed=0):
    """``cr.train.fit`` with its defaults (``compile=True``, shuffling, the accuracy metric, no
    progress bar): one ``fit(..., epochs=1)`` call per epoch.  Each call wraps the model in
    ``cr.compile`` anew, so its two recording steps are inside the timing."""
    import chainrule as cr
    if hasattr(cr, "manual_seed"):
        cr.manual_seed(seed)
    model = _cr_model(cr, width)
    if optimizer == "sgd":
        opt = cr.optim.SGD(model.parameters(), lr=0.1)
    else:
        opt = cr.optim.Adam(model.parameters(), lr=1e-3)
    data = (cr.from_numpy(X), cr.from_numpy(y))
    loss_fn = cr.nn.functional.cross_entropy

    def steps():   # one piece: fit runs the whole epoch
        cr.train.fit(model, loss_fn, opt, data, epochs=1, batch_size=batch_size, verbose=0)
        yield

    return timed(steps)


def chainrule_infer_setup(Xtest, batch_size, width=256, compile=False):
    """``model.eval()`` and ``no_grad``; with ``compile`` the model is wrapped in ``cr.compile``
    (``torch.compile(model)``), whose recording calls (two per batch shape) are made here."""
    import chainrule as cr
    model = _cr_model(cr, width)
    model.eval()
    Xc = cr.from_numpy(Xtest)
    n = Xtest.shape[0]
    if compile:
        model = cr.compile(model)
        with cr.no_grad():
            for b in sorted({min(batch_size, n), n % batch_size or batch_size}):
                for _ in range(2):
                    model(Xc[:b])

    def run():
        t0 = time.perf_counter()
        with cr.no_grad():
            for i in range(0, n, batch_size):
                model(Xc[i:i + batch_size])
        return time.perf_counter() - t0

    return run


def chainrule_compiled_infer_setup(Xtest, batch_size, width=256):
    return chainrule_infer_setup(Xtest, batch_size, width, compile=True)


# --------------------------------------------------------------------- numpy
def numpy_infer_setup(Xtest, batch_size, width=256):
    model = bench_numpy_mlp.NumpyMLP(width)
    n = Xtest.shape[0]

    def run():
        t0 = time.perf_counter()
        for i in range(0, n, batch_size):
            model.forward(Xtest[i:i + batch_size])
        return time.perf_counter() - t0

    return run


TRAIN = {
    "numpy": bench_numpy_mlp.setup,
    "torch": torch_setup,
    "torch-dataloader": torch_dataloader_setup,
    "sklearn": sklearn_setup,
    "chainrule": chainrule_setup,
    "chainrule-compiled": chainrule_compiled_setup,
    "chainrule-fit": chainrule_fit_setup,
    "numpy-again": bench_numpy_mlp.setup,      # the baseline twice: an A/A check of the harness
    "chainrule-arrays": bench_arrays_mlp.setup,   # chainrule's array work without chainrule
}
INFER = {
    "numpy": numpy_infer_setup,
    "torch": torch_infer_setup,
    "chainrule": chainrule_infer_setup,
    "chainrule-compiled": chainrule_compiled_infer_setup,
}
# the thread pool a system computes on: NumPy's OpenBLAS, or torch's own (MKL, OpenMP)
POOL = {"numpy": "numpy", "torch": "torch", "torch-dataloader": "torch", "sklearn": "numpy",
        "chainrule": "numpy", "chainrule-compiled": "numpy", "chainrule-fit": "numpy",
        "numpy-again": "numpy", "chainrule-arrays": "numpy"}
# module to import to measure a system's baseline memory (task memory)
FRAMEWORK_MODULE = {"numpy": "numpy", "torch": "torch", "torch-dataloader": "torch",
                    "sklearn": "sklearn.neural_network", "chainrule": "chainrule",
                    "chainrule-compiled": "chainrule", "chainrule-fit": "chainrule",
                    "numpy-again": "numpy", "chainrule-arrays": "chainrule"}


def run_epoch(system, X, y, batch_size, optimizer, width=256):
    """``run_epoch`` for any system by name: setup (untimed) + one epoch."""
    return TRAIN[system](X, y, batch_size, optimizer, width)()


def run_epoch_fn(system):
    """The system's ``run_epoch(X, y, batch_size, optimizer, width=256) -> seconds``."""
    setup = TRAIN[system]

    def run_epoch(X, y, batch_size, optimizer, width=256):
        return setup(X, y, batch_size, optimizer, width)()

    return run_epoch
