"""The ``chainrule`` command (also ``python -m chainrule``).

    chainrule train                                  # MLP on the embedded 8x8 digits
    chainrule train --dataset mnist --data-dir DIR --hidden 256 128 --epochs 20
    chainrule evaluate runs/digits-20260101-120000
    chainrule predict runs/digits-20260101-120000 --input samples.npy
    chainrule train --model lstm --dataset text      # recurrent models: see cli_seq.py
    chainrule sample runs/text-20260101-120000 --length 200 --temperature 0.8

``train`` writes into its output folder: ``model.npz`` (the state dict, safe format),
``config.json`` (architecture and options, enough to rebuild the model), ``metrics.json``
(per-epoch history, final test metrics, timings), ``history.csv`` and ``curves.png``.
Expected failures (a missing or corrupt file, a bad value) print one ``chainrule: error:`` line on
stderr and exit with status 1; usage errors exit with status 2.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

from .models import mlp_from_spec

DATASETS = ("digits", "mnist", "xor", "moons", "spirals", "blobs", "text", "sine", "adding")
OPTIMIZERS = {"sgd": ("SGD", 0.1), "adam": ("Adam", 1e-3), "adamw": ("AdamW", 1e-3),
              "rmsprop": ("RMSprop", 1e-3), "adagrad": ("Adagrad", 1e-2)}
LOSSES = {"cross_entropy": ("CrossEntropyLoss", None), "nll": ("NLLLoss", "log_softmax"),
          "mse": ("MSELoss", "sigmoid")}
SCHEDULES = ("none", "step", "cosine", "onecycle", "exponential", "plateau")
RUN_FORMAT = "chainrule-run/1"


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error message (no usage dump) and exit status 2."""

    def error(self, message):
        sys.stderr.write(f"{self.prog}: error: {message} (see --help)\n")
        raise SystemExit(2)


class _Help(argparse.HelpFormatter):
    """Appends the default to an option's help when there is one."""

    def _get_help_string(self, action):
        d = action.default
        if d is None or d is False or d is argparse.SUPPRESS or not action.option_strings:
            return action.help
        return f"{action.help} (default: {' '.join(map(str, d)) if isinstance(d, list) else d})"


def _positive(kind):
    def conv(text):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a valid {kind.__name__}") from None
        if not v > 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return v
    conv.__name__ = f"positive {kind.__name__}"
    return conv


def _float_in(ok, expected):
    """An argparse type: a float for which ``ok(v)`` holds, else ``must be <expected>``."""
    def conv(text):
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not ok(v):
            raise argparse.ArgumentTypeError(f"must be {expected}, got {text}")
        return v
    return conv


_fraction = _float_in(lambda v: 0 <= v < 1, "in [0, 1)")
_nonneg = _float_in(lambda v: v >= 0, ">= 0")


def build_parser():
    from .models import ACTIVATIONS
    from . import __version__
    p = _Parser(prog="chainrule", description="Train, evaluate and use small neural networks.")
    p.add_argument("--version", action="version", version=f"chainrule {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    t = sub.add_parser("train", help="train an MLP classifier and save the run",
                       formatter_class=_Help)
    t.add_argument("--dataset", choices=DATASETS, default="digits",
                   help="data set (digits: the embedded 8x8 digits)")
    t.add_argument("--data-dir", help="folder with MNIST IDX files (for --dataset mnist)")
    t.add_argument("--model", choices=("mlp", "lstm", "gru", "rnn"), default=None,
                   help="mlp, or a recurrent model for text|sine|adding (default: mlp, lstm "
                        "for sequence data)")
    t.add_argument("--seq-len", type=_positive(int), default=None,
                   help="sequence length for text|sine|adding (default 64, 40, 50)")
    t.add_argument("--samples", type=_positive(int), default=1000,
                   help="samples to generate for the synthetic sets")
    t.add_argument("--hidden", type=_positive(int), nargs="+", default=[128], metavar="N",
                   help="hidden layer sizes")
    t.add_argument("--activation", choices=sorted(ACTIVATIONS), default="relu",
                   help="hidden-layer activation")
    t.add_argument("--loss", choices=sorted(LOSSES), default="cross_entropy",
                   help="cost (mse: sigmoid outputs against one-hot targets)")
    t.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="adam", help="optimizer")
    t.add_argument("--lr", type=_positive(float),
                   help="learning rate (default: 0.1 sgd, 1e-2 adagrad, 1e-3 otherwise)")
    t.add_argument("--momentum", type=_nonneg,
                   help="momentum for sgd (default 0.9) and rmsprop (default 0)")
    t.add_argument("--weight-decay", type=_nonneg, default=0.0, help="L2 weight decay")
    t.add_argument("--schedule", choices=SCHEDULES, default="none",
                   help="learning-rate schedule")
    t.add_argument("--epochs", type=_positive(int), default=None,
                   help="passes over the data (default 40; 80 for --dataset text)")
    t.add_argument("--batch-size", type=_positive(int), default=32, help="samples per step")
    t.add_argument("--seed", type=int, default=0, help="seed of the split, weights and order")
    t.add_argument("--test-split", type=_fraction, default=0.2,
                   help="fraction held out for the final test")
    t.add_argument("--val-split", type=_fraction, default=0.1,
                   help="fraction of the training part used for validation")
    t.add_argument("--patience", type=_positive(int),
                   help="early stopping after this many epochs without val_loss improvement "
                        "(best weights restored)")
    t.add_argument("--out", help="output folder (default: runs/<dataset>-<timestamp>)")
    t.add_argument("--quiet", action="store_true", help="no progress output")
    t.add_argument("--nproc", type=_positive(int), default=1, metavar="N",
                   help="train data-parallel on N local processes through MPI (mpiexec); "
                        "mpirun -n N chainrule train ... works too (docs/distributed.md)")
    t.add_argument("--plots", action="store_true",
                   help="extra diagnostic plots (chainrule.viz, matplotlib)")
    t.add_argument("--tensorboard", metavar="DIR",
                   help="log the run for TensorBoard in DIR (losses, metrics, lr, per-layer "
                        "training health, histograms; needs tensorboardX)")
    t.set_defaults(func=cmd_train)
    for name, helptext in (("evaluate", "print the test metrics of a saved run"),
                           ("predict", "predict classes for new inputs with a saved run"),
                           ("check", "gradient-check a saved run's model (numeric vs analytic)")):
        e = sub.add_parser(name, help=helptext)
        e.add_argument("run_dir", metavar="RUN_DIR", help="a folder written by chainrule train")
        if name == "evaluate":
            e.add_argument("--dataset", choices=DATASETS,
                           help="data set (default: the one the run was trained on)")
            e.add_argument("--data-dir", help="folder with MNIST IDX files")
            e.add_argument("--all", action="store_true",
                           help="evaluate on the whole data set, not only the test split")
            e.set_defaults(func=cmd_evaluate)
        elif name == "check":
            e.set_defaults(func=lambda a: __import__("chainrule.debug").debug.cli_check(a.run_dir))
        else:
            e.add_argument("--input", required=True, metavar="FILE",
                           help="inputs, one sample per row (.npy or .csv)")
            e.add_argument("--output", metavar="FILE", help="write classes here (.npy or .csv)")
            e.add_argument("--proba", action="store_true", help="print class probabilities too")
            e.set_defaults(func=cmd_predict)
    _add_export_parser(sub)
    sm = sub.add_parser("sample", help="generate text from a character model",
                        formatter_class=_Help)
    sm.add_argument("run_dir", metavar="RUN_DIR", help="a run of train --dataset text")
    sm.add_argument("--length", type=_positive(int), default=200, help="characters to draw")
    sm.add_argument("--temperature", type=_positive(float), default=0.8,
                    help="softmax temperature (lower: safer, higher: more varied)")
    sm.add_argument("--prime", default=None, help="text to start from (default: one random "
                                                  "character)")
    sm.add_argument("--seed", type=int, default=None, help="seed of the draws")
    sm.set_defaults(func=_cmd_sample)
    return p


def _add_export_parser(sub):
    x = sub.add_parser("export", help="write a saved run's model in another format (ONNX)",
                       formatter_class=_Help)
    x.add_argument("run_dir", metavar="RUN_DIR", help="a folder written by chainrule train")
    x.add_argument("--format", choices=("onnx",), default="onnx", help="file format")
    x.add_argument("--output", metavar="FILE", help="file to write (default: RUN_DIR/model.onnx)")
    x.add_argument("--opset", type=_positive(int), default=17, help="ONNX opset version")
    x.set_defaults(func=cmd_export)


# ---------------------------------------------------------------------------------------------
# data and model
# ---------------------------------------------------------------------------------------------
def load_dataset(name, data_dir=None, samples=1000, seed=0, test_split=0.2):
    """``(X_train, X_test, y_train, y_test)`` as float32 / int64 arrays."""
    import numpy as np

    from . import datasets as ds
    if name == "mnist":
        if not data_dir:
            raise ValueError("--dataset mnist needs --data-dir DIR (a folder with the MNIST IDX "
                             "files, e.g. t10k-images-idx3-ubyte.gz)")
        if not os.path.isdir(data_dir):
            raise FileNotFoundError(f"--data-dir {data_dir!r} is not a folder")
        splits, missing = {}, None
        for split in ("train", "test"):
            try:
                splits[split] = ds.load_mnist(data_dir, split)
            except FileNotFoundError as exc:
                missing = missing or exc
        if len(splits) == 2:
            (Xtr, ytr), (Xte, yte) = splits["train"], splits["test"]
            return Xtr, Xte, ytr, yte
        if not splits:
            raise missing
        (X, y), = splits.values()        # one split only (e.g. just the test set): split it
    elif name == "digits":
        X, y = ds.load_digits()
    else:
        maker = {"xor": ds.make_xor, "moons": ds.make_moons, "spirals": ds.make_spirals,
                 "blobs": ds.make_blobs}[name]
        X, y = maker(samples, seed=seed)
    X = np.asarray(X, dtype=np.float32)
    return ds.train_test_split(X, np.asarray(y, dtype=np.int64), test_size=test_split, seed=seed)


def _loss_and_targets(loss_name, y, n_classes):
    """The loss module and the targets it wants (one-hot float32 for MSE)."""
    import numpy as np

    from . import nn
    loss = getattr(nn, LOSSES[loss_name][0])()
    if loss_name == "mse":
        y = np.eye(n_classes, dtype=np.float32)[y]
    return loss, y


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


def _load_run(run_dir):
    from . import load
    cfg = _load_config(run_dir)
    model = mlp_from_spec(cfg["model"])
    model.load_state_dict(load(os.path.join(run_dir, "model.npz")))
    return cfg, model


def _load_config(run_dir):
    cfg_path = os.path.join(run_dir, "config.json")
    if not os.path.isdir(run_dir):
        raise FileNotFoundError(f"run folder {run_dir!r} does not exist")
    if not os.path.isfile(cfg_path):
        raise FileNotFoundError(f"{cfg_path!r} not found: is {run_dir!r} a folder written by "
                                "'chainrule train'?")
    with open(cfg_path, encoding="utf-8") as fh:
        try:
            cfg = json.load(fh)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{cfg_path!r} is not valid JSON ({exc})") from None
    if not isinstance(cfg, dict) or cfg.get("format") != RUN_FORMAT:
        raise ValueError(f"{cfg_path!r} is not a chainrule run config (format "
                         f"{cfg.get('format') if isinstance(cfg, dict) else None!r})")
    return cfg


def _default_out(dataset):
    base = os.path.join("runs", f"{dataset}-{time.strftime('%Y%m%d-%H%M%S')}")
    out, k = base, 1
    while os.path.exists(out):
        out, k = f"{base}-{k}", k + 1
    return out


# ---------------------------------------------------------------------------------------------
# commands
# ---------------------------------------------------------------------------------------------
def _is_sequence_run(args):
    from .cli_seq import SEQ_DATASETS
    if args.model in ("lstm", "gru", "rnn") or args.dataset in SEQ_DATASETS:
        if args.model == "mlp":
            raise ValueError(f"--dataset {args.dataset} is sequence data: use --model "
                             "lstm|gru|rnn")
        return True
    return False


def _cmd_sample(args):
    from .cli_seq import cmd_sample
    return cmd_sample(args, sys.modules[__name__])


def cmd_train(args):
    if _is_sequence_run(args):
        from .cli_seq import cmd_train_seq
        return cmd_train_seq(args, sys.modules[__name__])
    args.epochs = args.epochs or 40
    from .distributed import launch
    if launch.wanted(args):                  # --nproc N, or started by mpirun -n N
        return launch.train(args, cmd_train)
    t_start = time.perf_counter()
    import numpy as np

    import chainrule as cr
    from . import datasets as ds
    from . import train as T
    Xtr, Xte, ytr, yte = load_dataset(args.dataset, args.data_dir, args.samples, args.seed,
                                      args.test_split)
    n_classes = int(max(ytr.max(), yte.max())) + 1
    Xval = yval = None
    if args.val_split > 0:
        Xtr, Xval, ytr, yval = ds.train_test_split(Xtr, ytr, test_size=args.val_split,
                                                   seed=args.seed + 1)
    cr.manual_seed(args.seed)
    out_act = LOSSES[args.loss][1]
    spec = {"type": "mlp", "sizes": [Xtr.shape[1], *args.hidden, n_classes],
            "activation": args.activation, "output_activation": out_act}
    model = mlp_from_spec(spec)
    loss_fn, ytr_t = _loss_and_targets(args.loss, ytr, n_classes)
    name, default_lr = OPTIMIZERS[args.optimizer]
    lr = args.lr if args.lr is not None else default_lr
    kw = {"lr": lr, "weight_decay": args.weight_decay}
    if args.optimizer in ("sgd", "rmsprop"):
        default_momentum = 0.9 if args.optimizer == "sgd" else 0.0
        kw["momentum"] = default_momentum if args.momentum is None else args.momentum
    opt = getattr(cr.optim, name)(model.parameters(), **kw)
    steps = -(-len(Xtr) // args.batch_size)
    sched = _make_schedule(args.schedule, opt, args.epochs, steps, lr)
    out = args.out or _default_out(args.dataset)
    os.makedirs(out, exist_ok=True)
    callbacks = [T.CSVLogger(os.path.join(out, "history.csv"))]
    if args.patience:
        callbacks.append(T.EarlyStopping(monitor="val_loss" if Xval is not None else "loss",
                                         patience=args.patience, restore_best_weights=True))
    monitor = snapshots = None
    if args.plots:
        monitor, snapshots = _plot_callbacks(Xtr.shape[1], args.epochs)
        callbacks += [cb for cb in (monitor, snapshots) if cb is not None]
    if args.tensorboard:
        callbacks.append(_tensorboard_callback(args))
    val = None
    if Xval is not None:
        val = (Xval, _loss_and_targets(args.loss, yval, n_classes)[1])
    if not args.quiet:
        print(f"chainrule train: {args.dataset}  {len(Xtr)} train / "
              f"{0 if Xval is None else len(Xval)} val / {len(Xte)} test samples  "
              f"model {' -> '.join(map(str, spec['sizes']))} ({args.activation})  "
              f"{args.optimizer} lr {lr:g}", file=sys.stderr)
    t_fit = time.perf_counter()
    hist = T.fit(model, loss_fn, opt, (Xtr, ytr_t), epochs=args.epochs, val_data=val,
                 scheduler=sched, callbacks=callbacks, batch_size=args.batch_size,
                 verbose=0 if args.quiet else 1, generator=cr.Generator().manual_seed(args.seed))
    fit_s = time.perf_counter() - t_fit
    test = T.evaluate(model, loss_fn, (Xte, _loss_and_targets(args.loss, yte, n_classes)[1]))
    cr.save(model.state_dict(), os.path.join(out, "model.npz"))
    options = {k: v for k, v in vars(args).items() if k != "func"}
    options["lr"], options["out"] = lr, out
    config = {"format": RUN_FORMAT, "model": spec, "loss": args.loss, "dataset": args.dataset,
              "data_dir": args.data_dir, "n_features": int(Xtr.shape[1]), "n_classes": n_classes,
              "options": options, "chainrule_version": cr.__version__}
    _write_json(os.path.join(out, "config.json"), config)
    notes = [T.plot_curves(hist.history, os.path.join(out, "curves.png"))]
    if args.plots:
        notes.append(_extra_plots(model, hist, out, Xte, yte, monitor, snapshots))
    wall = time.perf_counter() - t_start
    metrics = {"test": test, "history": hist.history, "epochs_run": len(hist.epoch),
               "samples": {"train": len(Xtr), "val": 0 if Xval is None else len(Xval),
                           "test": len(Xte)},
               "fit_time_s": fit_s, "wall_time_s": wall}
    _write_json(os.path.join(out, "metrics.json"), metrics)
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


def _write_json(path, obj):
    from .utils.io import atomic_write
    text = json.dumps(obj, indent=2, default=float).encode("utf-8")
    atomic_write(path, lambda fh: fh.write(text))


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


def _read_inputs(path):
    import numpy as np
    if not os.path.isfile(path):
        raise FileNotFoundError(f"--input {path!r}: no such file")
    if path.endswith(".npy"):
        X = np.load(path, allow_pickle=False)
    elif path.endswith((".csv", ".txt")):
        with open(path, encoding="utf-8") as fh:
            first = fh.readline()
        skip = 1 if any(c.isalpha() and c not in "eE" for c in first) else 0
        X = np.loadtxt(path, delimiter="," if path.endswith(".csv") else None, skiprows=skip,
                       ndmin=2)
    else:
        raise ValueError(f"--input {path!r}: expected a .npy, .csv or .txt file")
    if X.dtype.kind not in "fiu":
        raise ValueError(f"--input {path!r}: expected numbers, got dtype {X.dtype}")
    return np.atleast_2d(X).astype(np.float32)


def cmd_evaluate(args):
    from . import train as T
    cfg = _load_config(args.run_dir)
    if cfg["model"].get("type") in ("char", "regressor"):
        from .cli_seq import cmd_evaluate_seq
        return cmd_evaluate_seq(args, cfg)
    cfg, model = _load_run(args.run_dir)
    opts = cfg["options"]
    dataset = args.dataset or cfg["dataset"]
    data_dir = args.data_dir or (cfg.get("data_dir") if dataset == cfg["dataset"] else None)
    Xtr, Xte, ytr, yte = load_dataset(dataset, data_dir, opts.get("samples", 1000),
                                      opts.get("seed", 0), opts.get("test_split", 0.2))
    if args.all:
        import numpy as np
        Xte, yte = np.concatenate([Xtr, Xte]), np.concatenate([ytr, yte])
    if Xte.shape[1] != cfg["n_features"]:
        raise ValueError(f"data set {dataset!r} has {Xte.shape[1]} features but the model "
                         f"expects {cfg['n_features']}")
    loss_fn, targets = _loss_and_targets(cfg["loss"], yte, cfg["n_classes"])
    res = T.evaluate(model, loss_fn, (Xte, targets))
    what = "all" if args.all else "test"
    print(f"{dataset} ({what}, {len(Xte)} samples): loss {res['loss']:.4f}  "
          f"accuracy {res['accuracy']:.4f}")
    return 0


def cmd_predict(args):
    import numpy as np

    from . import train as T
    cfg, model = _load_run(args.run_dir)
    X = _read_inputs(args.input)
    if X.shape[1] != cfg["n_features"]:
        raise ValueError(f"--input {args.input!r}: rows have {X.shape[1]} values but the model "
                         f"expects {cfg['n_features']}")
    out = T.predict(model, X).numpy()
    classes = out.argmax(1)
    if args.output:
        if args.output.endswith(".npy"):
            np.save(args.output, classes)
        else:
            np.savetxt(args.output, classes, fmt="%d")
        print(f"wrote {len(classes)} predictions to {args.output}")
    else:
        act = cfg["model"].get("output_activation")
        for c, row in zip(classes, out):
            if args.proba:
                e = np.exp(row - row.max()) if act in (None, "none") else (
                    np.exp(row) if act == "log_softmax" else row)
                p = e / e.sum()
                print(f"{c}  " + " ".join(f"{v:.3f}" for v in p))
            else:
                print(c)
    return 0


def cmd_export(args):
    """``chainrule export RUN --format onnx``: the run's model with a dynamic batch dim."""
    import numpy as np

    from .onnx import export
    cfg, model = _load_run(args.run_dir)
    out = args.output or os.path.join(args.run_dir, "model.onnx")
    example = np.zeros((1, cfg["n_features"]), dtype=np.float32)
    export(model, example, out, opset_version=args.opset)
    print(f"wrote {out} (ONNX opset {args.opset}, input 'input' (batch, {cfg['n_features']}), "
          f"output 'output' (batch, {cfg['n_classes']}))")
    return 0


def main(argv=None):
    """Entry point of the ``chainrule`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("chainrule: interrupted", file=sys.stderr)
        return 130
    except (OSError, ValueError, RuntimeError, KeyError, ImportError) as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if isinstance(exc, KeyError):
            msg = f"missing entry {exc} in the run files"
        print(f"chainrule: error: {msg}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
