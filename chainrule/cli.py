"""The ``chainrule`` command (also ``python -m chainrule``).

    chainrule train                                  # MLP on the embedded 8x8 digits
    chainrule train --dataset mnist --data-dir DIR --hidden 256 128 --epochs 20
    chainrule train --resume runs/digits-20260101-120000     # continue a killed run exactly
    chainrule evaluate runs/digits-20260101-120000
    chainrule predict runs/digits-20260101-120000 --input samples.npy
    chainrule train --model lstm --dataset text      # recurrent models: see cli_seq.py
    chainrule sample runs/text-20260101-120000 --length 200 --temperature 0.8

``train`` writes into its output folder (see :mod:`chainrule.runs`): ``config.json`` first,
``checkpoint.npz`` (the full training state) at every epoch end and every ``--checkpoint-every``
steps, then ``model.npz`` (weights bound to their config by a checksum), ``metrics.json``,
``history.csv`` and ``curves.png``.  Expected failures (a missing or corrupt file, a bad value, a
loss that became NaN) print one ``chainrule: error:`` line on stderr and exit with status 1; usage
errors exit with status 2; an interrupted run (SIGINT, SIGTERM) saves a checkpoint and exits with
130 or 143.

To add an option, add it in the ``_add_*`` function of its command (``build_parser`` calls them);
a new command is one ``_add_*`` function and one row in ``build_parser``.  Options of ``train`` are
stored in the run's ``config.json``; ``--resume`` takes them from there, and refuses any other
option given with it unless it is listed in ``cli_train.RESUME_OPTIONS``.
"""
from __future__ import annotations

import argparse
import math
import os
import sys

from .cli_train import DATASETS, OPTIMIZERS, SCHEDULES
from .runs import LOSSES, RUN_FORMAT  # noqa: F401  (RUN_FORMAT: kept importable from here)

SEQUENCE_DATASETS = ("text", "sine", "adding")     # handled by cli_seq.py


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


def _number(kind, ok, expected):
    """An argparse type: a finite ``kind`` for which ``ok(v)`` holds, else ``must be <expected>``."""
    def conv(text):
        try:
            v = kind(text)
        except (ValueError, OverflowError):
            raise argparse.ArgumentTypeError(f"{text!r} is not a valid {kind.__name__}") from None
        if not math.isfinite(v):
            raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
        if not ok(v):
            raise argparse.ArgumentTypeError(f"must be {expected}, got {text}")
        return v
    conv.__name__ = f"{expected} {kind.__name__}"
    return conv


def _positive(kind):
    return _number(kind, lambda v: v > 0, "positive")


_fraction = _number(float, lambda v: 0 <= v < 1, "in [0, 1)")
_open_fraction = _number(float, lambda v: 0 < v < 1, "in (0, 1)")
_nonneg = _number(float, lambda v: v >= 0, ">= 0")
# PyTorch's manual_seed accepts [-2**63, 2**64); a negative seed wraps modulo 2**64
_seed = _number(int, lambda v: -2 ** 63 <= v < 2 ** 64, "in [-2**63, 2**64)")


def build_parser():
    """The whole command line: one sub-parser per command, built by the ``_add_*`` functions."""
    from . import __version__
    p = _Parser(prog="chainrule", description="Train, evaluate and use small neural networks.")
    p.add_argument("--version", action="version", version=f"chainrule {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    _add_train(sub.add_parser("train", help="train an MLP classifier and save the run",
                              formatter_class=_Help))
    for name, helptext, add in (
            ("evaluate", "print the test metrics of a saved run", _add_evaluate),
            ("predict", "predict classes for new inputs with a saved run", _add_predict),
            ("check", "gradient-check a saved run's model (numeric vs analytic)", _add_check)):
        e = sub.add_parser(name, help=helptext)
        e.add_argument("run_dir", metavar="RUN_DIR", help="a folder written by chainrule train")
        add(e)
    _add_sample(sub.add_parser("sample", help="generate text from a character model",
                               formatter_class=_Help))
    x = sub.add_parser("export", help="write a saved run's model in another format (ONNX)",
                       formatter_class=_Help)
    x.add_argument("run_dir", metavar="RUN_DIR", help="a folder written by chainrule train")
    _add_export(x)
    return p


def _add_train(t):
    from .models import ACTIVATIONS
    t.add_argument("--dataset", choices=DATASETS + SEQUENCE_DATASETS, default="digits",
                   help="data set (digits: the embedded 8x8 digits)")
    t.add_argument("--data-dir", help="folder with MNIST IDX files (for --dataset mnist)")
    t.add_argument("--model", choices=("mlp", "cnn", "lstm", "gru", "rnn"), default=None,
                   help="mlp; cnn (LeNet-5 adapted to square images); or a recurrent model for "
                        "text|sine|adding (default: mlp, lstm for sequence data)")
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
    t.add_argument("--epochs", type=_positive(int), default=40, help="passes over the data")
    t.add_argument("--batch-size", type=_positive(int), default=32, help="samples per step")
    t.add_argument("--seed", type=_seed, default=0,
                   help="seed of the split, weights and order (negative seeds as in PyTorch)")
    t.add_argument("--test-split", type=_open_fraction, default=0.2,
                   help="fraction held out for the final test")
    t.add_argument("--val-split", type=_fraction, default=0.1,
                   help="fraction of the training part used for validation")
    t.add_argument("--patience", type=_positive(int),
                   help="early stopping after this many epochs without val_loss improvement "
                        "(best weights restored)")
    t.add_argument("--out", help="output folder (default: runs/<dataset>-<timestamp>)")
    t.add_argument("--overwrite", action="store_true",
                   help="replace the run files in an existing --out folder")
    t.add_argument("--resume", metavar="RUN_DIR",
                   help="continue an interrupted run from its last checkpoint, with its own "
                        "config (bit-identical to an uninterrupted run)")
    t.add_argument("--checkpoint-every", type=_positive(int), metavar="N",
                   help="also save the training state every N steps (always at epoch ends)")
    t.add_argument("--quiet", action="store_true", help="no progress output")
    t.add_argument("--plots", action="store_true",
                   help="extra diagnostic plots (chainrule.viz, matplotlib)")
    t.add_argument("--no-compile", action="store_true",
                   help="train eagerly (by default the forward and backward replay through "
                        "cr.compile: the same numbers, less Python per step)")
    t.add_argument("--tensorboard", metavar="DIR",
                   help="log the run for TensorBoard in DIR (losses, metrics, lr, per-layer "
                        "training health, histograms; needs tensorboardX)")
    t.add_argument("--nproc", type=_positive(int), default=1, metavar="N",
                   help="train data-parallel on N local processes through MPI (mpiexec); "
                        "mpirun -n N chainrule train ... works too (docs/distributed.md)")
    t.set_defaults(func=cmd_train)


def _is_sequence_run(args):
    if getattr(args, "model", None) in ("lstm", "gru", "rnn") or \
            args.dataset in SEQUENCE_DATASETS:
        if args.model in ("mlp", "cnn"):
            raise ValueError(f"--dataset {args.dataset} is sequence data: use --model "
                             f"lstm|gru|rnn, not {args.model}")
        return True
    return False


def _add_sample(s):
    s.add_argument("run_dir", metavar="RUN_DIR", help="a run of train --dataset text")
    s.add_argument("--length", type=_positive(int), default=200, help="characters to draw")
    s.add_argument("--temperature", type=_positive(float), default=0.8,
                   help="softmax temperature (lower: safer, higher: more varied)")
    s.add_argument("--prime", default=None, help="text to start from (default: one random "
                                                 "character)")
    s.add_argument("--seed", type=int, default=None, help="seed of the draws")
    s.set_defaults(func=cmd_sample)


def cmd_sample(args):
    from .cli_seq import cmd_sample as run
    return run(args)


def cmd_train(args):
    if _is_sequence_run(args):
        from .cli_seq import cmd_train_seq
        return cmd_train_seq(args)
    from .distributed import launch
    if args.resume:
        _resume_nproc(args, launch.world_size_from_env())
    if launch.wanted(args):                  # --nproc N, or started by mpirun -n N
        return launch.train(args, cmd_train)
    from .cli_train import cmd_train as run
    return run(args, vars(build_parser().parse_args(["train"])))


def _resume_nproc(args, launched):
    """``--resume`` continues on the run's own number of processes (``--nproc`` of its config):
    another number would shard the data differently."""
    from . import runs
    saved = int(runs.read_config(args.resume)["options"].get("nproc", 1))
    asked = launched or args.nproc
    if asked not in (1, saved) or (launched and launched != saved):
        how = f"mpirun -n {launched}" if launched else f"--nproc {args.nproc}"
        raise ValueError(f"--resume {args.resume!r}: the run was trained on {saved} "
                         f"process(es), not {asked} ({how}); resume it on {saved}")
    args.nproc = saved


def _add_evaluate(e):
    e.add_argument("--dataset", choices=DATASETS,
                   help="data set (default: the one the run was trained on)")
    e.add_argument("--data-dir", help="folder with MNIST IDX files")
    e.add_argument("--all", action="store_true",
                   help="evaluate on the whole data set, not only the test split")
    e.set_defaults(func=cmd_evaluate)


def _add_predict(e):
    e.add_argument("--input", required=True, metavar="FILE",
                   help="inputs, one sample per row (.npy or .csv)")
    e.add_argument("--output", metavar="FILE", help="write classes here (.npy or .csv)")
    e.add_argument("--proba", action="store_true", help="print class probabilities too")
    e.set_defaults(func=cmd_predict)


def _add_check(e):
    e.set_defaults(func=cmd_check)


def _add_export(x):
    x.add_argument("--format", choices=("onnx",), default="onnx", help="file format")
    x.add_argument("--output", metavar="FILE", help="file to write (default: RUN_DIR/model.onnx)")
    x.add_argument("--opset", type=_positive(int), default=17, help="ONNX opset version")
    x.set_defaults(func=cmd_export)


# ---------------------------------------------------------------------------------------------
# evaluate, predict, check
# ---------------------------------------------------------------------------------------------
def cmd_evaluate(args):
    from . import train as T
    from .cli_train import load_dataset
    from .runs import load_run, loss_and_targets
    from .cli_seq import sequence_config
    seq = sequence_config(args.run_dir)
    if seq is not None:
        from .cli_seq import cmd_evaluate_seq
        return cmd_evaluate_seq(args, seq)
    cfg, model = load_run(args.run_dir)
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
    if int(yte.max()) >= cfg["n_classes"]:
        raise ValueError(f"data set {dataset!r} has labels up to {int(yte.max())} but the model "
                         f"has {cfg['n_classes']} classes")
    loss_fn, targets = loss_and_targets(cfg["loss"], yte, cfg["n_classes"])
    res = T.evaluate(model, loss_fn, (Xte, targets))
    what = "all" if args.all else "test"
    print(f"{dataset} ({what}, {len(Xte)} samples): loss {res['loss']:.4f}  "
          f"accuracy {res['accuracy']:.4f}")
    return 0


def cmd_predict(args):
    import numpy as np

    from . import train as T
    from .cli_inputs import read_inputs
    from .runs import load_run
    cfg, model = load_run(args.run_dir)
    X = read_inputs(args.input, cfg["n_features"])
    out = T.predict(model, X).numpy()
    classes = out.argmax(1)
    if args.output:
        from .utils.io import atomic_write
        if args.output.endswith(".npy"):
            atomic_write(args.output, lambda fh: np.save(fh, classes))
        else:
            atomic_write(args.output, lambda fh: np.savetxt(fh, classes, fmt="%d"))
        print(f"wrote {len(classes)} predictions to {args.output}")
        return 0
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


def cmd_check(args):
    from .debug.cli import cli_check
    return cli_check(args.run_dir)


def cmd_export(args):
    """``chainrule export RUN --format onnx``: the run's model with a dynamic batch dim."""
    import os

    import numpy as np

    from .cli_seq import sequence_config
    seq = sequence_config(args.run_dir)
    if seq is not None:
        from .cli_seq import cmd_export_seq
        return cmd_export_seq(args, seq)
    from .onnx import export
    from .runs import load_run
    cfg, model = load_run(args.run_dir)
    out = args.output or os.path.join(args.run_dir, "model.onnx")
    example = np.zeros((1, cfg["n_features"]), dtype=np.float32)
    export(model, example, out, opset_version=args.opset)
    print(f"wrote {out} (ONNX opset {args.opset}, input 'input' (batch, {cfg['n_features']}), "
          f"output 'output' (batch, {cfg['n_classes']}))")
    return 0


def _message(exc):
    """The whole message of ``exc`` on one line (a state_dict mismatch lists every key)."""
    text = " ".join(line.strip() for line in str(exc).strip().splitlines() if line.strip())
    if isinstance(exc, KeyError):
        return f"missing entry {exc} in the run files"
    if isinstance(exc, MemoryError):
        return "out of memory" + (f" ({text})" if text else "") + ": use a smaller model, " \
            "data set or batch"
    return text or type(exc).__name__


def main(argv=None):
    """Entry point of the ``chainrule`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    from .train import TrainingInterrupted
    try:
        return args.func(args)
    except TrainingInterrupted as exc:
        print(f"chainrule: {exc}; continue with: chainrule train --resume "
              f"{os.path.dirname(exc.path)}", file=sys.stderr)
        return 128 + exc.signum
    except KeyboardInterrupt:
        print("chainrule: interrupted", file=sys.stderr)
        return 130
    except (OSError, ValueError, RuntimeError, KeyError, ImportError, ArithmeticError,
            MemoryError) as exc:
        print(f"chainrule: error: {_message(exc)}", file=sys.stderr)
        return 1
    except Exception as exc:     # a bug: still one line, with the way to see the traceback
        if os.environ.get("CHAINRULE_DEBUG"):
            raise
        print(f"chainrule: internal error: {type(exc).__name__}: {_message(exc)} (set "
              "CHAINRULE_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
