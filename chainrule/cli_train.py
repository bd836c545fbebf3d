"""``chainrule train``: data, model and optimizer from the options, the run folder, resume."""
from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time

from . import runs
from .models import model_from_spec
from .runs import LOSSES

__all__ = ["cmd_train", "load_dataset", "DATASETS", "OPTIMIZERS", "SCHEDULES"]

DATASETS = ("digits", "mnist", "xor", "moons", "spirals", "blobs")
OPTIMIZERS = {"sgd": ("SGD", 0.1), "adam": ("Adam", 1e-3), "adamw": ("AdamW", 1e-3),
              "rmsprop": ("RMSprop", 1e-3), "adagrad": ("Adagrad", 1e-2)}
SCHEDULES = ("none", "step", "cosine", "onecycle", "exponential", "plateau")

#: options that may be given together with --resume (they do not change the numbers); a new
#: option of that kind (say, where to log) belongs here, one that changes the run does not
RESUME_OPTIONS = {"resume", "quiet", "func", "command"}


def _memory_bytes():
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return 2 ** 36


def _check_fits(nbytes, what):
    """Refuse work that cannot fit in memory before allocating it (no MemoryError)."""
    mem = _memory_bytes()
    if nbytes > mem:
        raise ValueError(f"{what} needs about {nbytes / 2**30:,.1f} GiB, more than this "
                         f"machine's {mem / 2**30:,.1f} GiB of memory")


def load_dataset(name, data_dir=None, samples=1000, seed=0, test_split=0.2):
    """``(X_train, X_test, y_train, y_test)`` as float32 / int64 arrays."""
    import numpy as np

    from . import datasets as ds
    seed = int(seed) % 2 ** 64
    if name == "mnist":
        return _load_mnist(ds, data_dir, seed, test_split)
    if name == "digits":
        X, y = ds.load_digits()
    else:
        _check_fits(int(samples) * 64, f"--samples {samples}")
        maker = {"xor": ds.make_xor, "moons": ds.make_moons, "spirals": ds.make_spirals,
                 "blobs": ds.make_blobs}[name]
        X, y = maker(samples, seed=seed)
    X = np.asarray(X, dtype=np.float32)
    return _split(X, np.asarray(y, dtype=np.int64), test_split, seed, "--test-split",
                  "the data set")


def _load_mnist(ds, data_dir, seed, test_split):
    if not data_dir:
        raise ValueError("--dataset mnist needs --data-dir DIR (a folder with the MNIST IDX "
                         "files, e.g. t10k-images-idx3-ubyte.gz)")
    if not os.path.isdir(data_dir):
        raise FileNotFoundError(f"--data-dir {data_dir!r} is not a folder")
    splits, missing = {}, {}
    for split in ("train", "test"):
        try:
            splits[split] = ds.load_mnist(data_dir, split)
        except FileNotFoundError as exc:
            missing[split] = exc
    if len(splits) == 2:
        (Xtr, ytr), (Xte, yte) = splits["train"], splits["test"]
        return Xtr, Xte, ytr, yte
    if not splits:
        # blame the split of which some file is present; else say both are missing
        partial = [s for s in ("test", "train") if ds.mnist.split_files_present(data_dir, s)]
        raise missing[partial[0]] if partial else FileNotFoundError(
            f"--data-dir {data_dir!r}: no MNIST files found (need "
            "t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz] for the test split, "
            "and/or train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz])")
    (split, (X, y)), = splits.items()   # one split only (e.g. just the test set): split it
    return _split(X, y, test_split, seed, "--test-split", f"the MNIST {split} split")


def _split(X, y, fraction, seed, option, what):
    import numpy as np

    from . import datasets as ds
    n = len(y)
    n_test = int(np.ceil(fraction * n))        # as train_test_split counts them
    if not 0 < n_test < n:
        raise ValueError(f"{option} {fraction:g} of {what} ({n} samples) leaves {n_test} "
                         f"held-out and {n - n_test} other samples; both must be at least 1")
    return ds.train_test_split(X, y, test_size=fraction, seed=seed)


def _make_schedule(name, opt, epochs, steps, lr):
    from .optim import lr_scheduler as S
    if name == "none":
        return None
    if name == "step":
        return S.StepLR(opt, step_size=max(1, epochs // 3), gamma=0.1)
    if name == "cosine":
        return S.CosineAnnealingLR(opt, T_max=epochs)
    if name == "exponential":
        return S.ExponentialLR(opt, gamma=0.95)
    if name == "plateau":
        return S.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=3)
    return S.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps)


def _check_finite(Xtr, Xte, dataset):
    import numpy as np
    for part, X in (("training", Xtr), ("test", Xte)):
        bad = np.flatnonzero(~np.isfinite(X).reshape(len(X), -1).all(axis=1))
        if bad.size:
            raise ValueError(f"the {dataset} {part} data hold NaN or Inf in {bad.size} sample(s) "
                             f"(first: sample {int(bad[0])}); fix the data files")


def _fingerprint(*arrays):
    h = hashlib.sha256()
    for a in arrays:
        if a is not None:
            h.update(f"{a.dtype.str}{a.shape}".encode())
            h.update(a.tobytes())
    return h.hexdigest()


def _resume_args(args, defaults):
    """The run's own options (from its config.json) for ``--resume RUN_DIR``."""
    cfg = runs.read_config(args.resume)
    extra = [k for k, v in vars(args).items() if k not in RESUME_OPTIONS and v != defaults[k]
             and not (k == "nproc" and v == cfg["options"].get("nproc", 1))]  # its own --nproc
    if extra:
        raise ValueError(f"--resume continues {args.resume!r} with its own config; drop "
                         + ", ".join("--" + k.replace("_", "-") for k in extra))
    if os.path.isfile(os.path.join(args.resume, runs.MODEL)) and not os.path.isfile(
            os.path.join(args.resume, runs.CHECKPOINT)):
        raise ValueError(f"run {args.resume!r} is already finished (model.npz is there and no "
                         "checkpoint); start a new run instead")
    opts = dict(defaults, **{k: v for k, v in cfg["options"].items() if k in defaults})
    opts.update(resume=args.resume, quiet=args.quiet, func=args.func, out=args.resume)
    return argparse.Namespace(**opts), cfg


def _optimizer(cr, args, model):
    name, default_lr = OPTIMIZERS[args.optimizer]
    lr = args.lr if args.lr is not None else default_lr
    kw = {"lr": lr, "weight_decay": args.weight_decay}
    if args.optimizer in ("sgd", "rmsprop"):
        default_momentum = 0.9 if args.optimizer == "sgd" else 0.0
        kw["momentum"] = default_momentum if args.momentum is None else args.momentum
    return getattr(cr.optim, name)(model.parameters(), **kw), lr


def cmd_train(args, defaults):
    """Run ``chainrule train``; ``defaults`` are the parser's defaults (for ``--resume``)."""
    t_start = time.perf_counter()
    import numpy as np

    import chainrule as cr

    from . import train as T
    old_cfg = None
    if args.resume:
        args, old_cfg = _resume_args(args, defaults)
    seed = args.seed % 2 ** 64
    Xtr, Xte, ytr, yte = load_dataset(args.dataset, args.data_dir, args.samples, seed,
                                      args.test_split)
    _check_finite(Xtr, Xte, args.dataset)
    n_classes = int(max(ytr.max(), yte.max())) + 1
    Xval = yval = None
    if args.val_split > 0:
        n_val = int(np.ceil(args.val_split * len(ytr)))
        if not 0 < n_val < len(ytr):
            by = "" if args.dataset == "mnist" else f" (after --test-split {args.test_split:g})"
            raise ValueError(f"the training part has {len(ytr)} samples{by}: too few for "
                             f"--val-split {args.val_split:g}, which would hold out {n_val} and "
                             f"leave {len(ytr) - n_val} to train on; lower --test-split or "
                             "--val-split")
        Xtr, Xval, ytr, yval = _split(Xtr, ytr, args.val_split, (seed + 1) % 2 ** 64,
                                      "--val-split", "the training part")
    out_act = LOSSES[args.loss][1]
    spec = {"type": "mlp", "sizes": [int(Xtr.shape[1]), *args.hidden, n_classes],
            "activation": args.activation, "output_activation": out_act}
    if getattr(args, "model", "mlp") == "cnn":   # LeNet-5 on square images (models.py)
        spec = {"type": "lenet5", "n_features": int(Xtr.shape[1]), "num_classes": n_classes,
                "activation": args.activation, "output_activation": out_act}
    n_params = runs.check_spec(spec, "--model cnn" if spec["type"] == "lenet5" else
                               f"--hidden {' '.join(map(str, args.hidden))}")
    batch = min(args.batch_size, len(Xtr))
    widest = max(spec["sizes"]) if "sizes" in spec else 6 * int(Xtr.shape[1])
    _check_fits(n_params * 4 * 5 + batch * widest * 4 * 8,
                f"the model {_describe(spec)} ({n_params:,} parameters) "
                f"with --batch-size {args.batch_size}")
    data_sha = _fingerprint(Xtr, ytr, Xval, yval)
    if old_cfg is not None and old_cfg.get("data_sha256") != data_sha:
        raise ValueError(f"--resume {args.resume!r}: the training data differ from those the "
                         "run started with (were the data files replaced?)")
    cr.manual_seed(seed)
    model = model_from_spec(spec)
    loss_fn, ytr_t = runs.loss_and_targets(args.loss, ytr, n_classes)
    opt, lr = _optimizer(cr, args, model)
    steps = -(-len(Xtr) // args.batch_size)
    sched = _make_schedule(args.schedule, opt, args.epochs, steps, lr)
    if args.resume:
        out = args.resume
        runs.remove_temp_files(out)
    else:
        out = runs.open_run_dir(args.out, args.overwrite) if args.out else \
            runs.claim_run_dir("runs", args.dataset)
    options = {k: v for k, v in vars(args).items() if k not in ("func", "resume", "command")}
    options["lr"], options["out"] = lr, out
    config = {"format": runs.RUN_FORMAT, "model": spec, "loss": args.loss,
              "dataset": args.dataset, "data_dir": args.data_dir,
              "n_features": int(Xtr.shape[1]), "n_classes": n_classes, "options": options,
              "data_sha256": data_sha, "chainrule_version": cr.__version__}
    if old_cfg is None:
        runs.write_json(os.path.join(out, runs.CONFIG), config)
    else:
        config = old_cfg
    ckpt = os.path.join(out, runs.CHECKPOINT)
    resume = ckpt if args.resume and os.path.isfile(ckpt) else None
    callbacks = [T.CSVLogger(os.path.join(out, runs.HISTORY))]
    if args.patience:
        callbacks.append(T.EarlyStopping(monitor="val_loss" if Xval is not None else "loss",
                                         patience=args.patience, restore_best_weights=True))
    monitor = snapshots = None
    if args.plots:
        monitor, snapshots = _plot_callbacks(Xtr.shape[1], args.epochs)
        callbacks += [cb for cb in (monitor, snapshots) if cb is not None]
    if getattr(args, "tensorboard", None):
        callbacks.append(_tensorboard_callback(args))
    val = None
    if Xval is not None:
        val = (Xval, runs.loss_and_targets(args.loss, yval, n_classes)[1])
    if not args.quiet:
        print(f"chainrule train: {args.dataset}  {len(Xtr)} train / "
              f"{0 if Xval is None else len(Xval)} val / {len(Xte)} test samples  "
              f"model {_describe(spec)} ({args.activation})  "
              f"{args.optimizer} lr {lr:g}" + (f"  (resuming {out})" if resume else ""),
              file=sys.stderr)
    t_fit = time.perf_counter()
    with np.errstate(all="ignore"):       # fit reports a non-finite loss itself, in words
        hist = T.fit(model, loss_fn, opt, (Xtr, ytr_t), epochs=args.epochs, val_data=val,
                     scheduler=sched, callbacks=callbacks, batch_size=args.batch_size,
                     verbose=0 if args.quiet else 1,
                     generator=cr.Generator().manual_seed(seed), checkpoint=ckpt,
                     checkpoint_every=args.checkpoint_every, resume=resume,
                     compile=not getattr(args, "no_compile", False),
                     checkpoint_extra={"run": runs.bound_config(config)})
    fit_s = time.perf_counter() - t_fit
    test = T.evaluate(model, loss_fn, (Xte, runs.loss_and_targets(args.loss, yte,
                                                                  n_classes)[1]))
    if not all(map(runs.is_finite, test.values())):
        raise FloatingPointError(f"the finished model gives a non-finite test loss "
                                 f"({test['loss']}); the run is not saved as a model (its "
                                 f"checkpoint stays in {out})")
    runs.save_model(out, model, config)
    notes = [T.plot_curves(hist.history, os.path.join(out, "curves.png"))]
    if args.plots:
        notes.append(_extra_plots(model, hist, out, Xte, yte, monitor, snapshots))
    wall = time.perf_counter() - t_start
    metrics = {"test": test, "history": hist.history, "epochs_run": len(hist.epoch),
               "samples": {"train": len(Xtr), "val": 0 if Xval is None else len(Xval),
                           "test": len(Xte)},
               "fit_time_s": fit_s, "wall_time_s": wall, "resumed": bool(resume)}
    runs.write_json(os.path.join(out, runs.METRICS), metrics)
    os.unlink(ckpt)             # the run is complete: model.npz and metrics.json are written
    print(f"test loss {test['loss']:.4f}  test accuracy {test['accuracy']:.4f}  "
          f"({len(hist.epoch)} epochs, training {fit_s:.1f} s, total {wall:.1f} s)")
    print(f"saved model.npz, config.json, metrics.json, history.csv"
          f"{', curves.png' if notes[0] is None else ''} in {out}")
    for note in notes:
        if note:
            print(note, file=sys.stderr)
    return 0


def _tensorboard_callback(args):
    """``--tensorboard DIR``: the fit callback, with the run's options as hyperparameters."""
    from .debug.tensorboard import TensorBoard
    from .utils.tensorboard import _tbx
    _tbx()                                   # fail before training if tensorboardX is missing
    hp = {k: (" ".join(map(str, v)) if isinstance(v, list) else v)
          for k, v in vars(args).items() if k in ("dataset", "hidden", "activation", "optimizer",
                                                 "lr", "batch_size", "epochs", "seed")}
    if not args.quiet:
        print(f"chainrule train: logging to {args.tensorboard} (view with: tensorboard --logdir "
              f"{args.tensorboard})", file=sys.stderr)
    return TensorBoard(args.tensorboard, histogram_freq=1,
                       hparams={k: v for k, v in hp.items() if v is not None})


def _plot_callbacks(n_features, epochs):
    """A training monitor and, for 2-D data, decision-boundary snapshots (when available)."""
    try:
        from .debug import TrainingMonitor
        monitor = TrainingMonitor(warn=False)
    except ImportError:
        monitor = None
    snapshots = None
    if n_features == 2:
        try:
            from .viz import BoundarySnapshots
            snapshots = BoundarySnapshots(every=max(1, epochs // 4))
        except ImportError:
            pass
    return monitor, snapshots


def _extra_plots(model, hist, out, X, y, monitor, snapshots):
    try:
        from .viz import write_all_plots
        files = write_all_plots(model, hist, X=X, y=y, out_dir=out, monitor=monitor,
                                snapshots=snapshots)
    except ImportError as exc:
        return f"note: --plots skipped ({exc})"
    names = ", ".join(os.path.basename(f) for f in files)
    report = monitor.report() if monitor is not None else ""
    return f"extra plots: {names}" + (f"\ntraining health:\n{report}" if report else "")


def _describe(spec):
    return "lenet5" if spec["type"] == "lenet5" else " -> ".join(map(str, spec["sizes"]))
