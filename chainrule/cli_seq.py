"""The sequence side of the ``chainrule`` command: recurrent models on sequence data.

    chainrule train --model lstm --dataset text         # character model of the embedded text
    chainrule train --model gru --dataset sine          # forecast the next value of a sine wave
    chainrule train --model rnn --dataset adding --seq-len 30
    chainrule sample runs/text-20260101-120000 --length 200 --temperature 0.8

``cli.py`` hands these over (``--model lstm|gru|rnn`` or a sequence ``--dataset``); the run folder
is the one ``train`` always writes (model.npz, config.json, metrics.json, history.csv,
curves.png).  ``--hidden 128 128`` means two recurrent layers of 128 units.
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np

from .train.metrics import Metric

SEQ_DATASETS = ("text", "sine", "adding")
SEQ_MODELS = ("lstm", "gru", "rnn")
DEFAULT_SEQ_LEN = {"text": 64, "sine": 40, "adding": 50}


def load_sequence_data(name, samples, seq_len, seed, test_split, val_split=0.0):
    """``(spec fields, train, val or None, test)``, each an ``(X, y)`` pair.

    The text is cut into 40 segments; a seeded shuffle of the segments picks the test and
    validation ones, so every part of the text (prose and verse) is in each split, and no window
    crosses from one split into another."""
    from . import datasets as ds
    if name == "text":
        text = ds.load_text()
        vocab = "".join(sorted(set(text)))
        bounds = np.linspace(0, len(text), 41).astype(int)
        order = np.random.default_rng(seed).permutation(40)
        k_test, k_val = int(round(40 * test_split)), int(round(40 * val_split))
        parts = [order[:k_test], order[k_test:k_test + k_val], order[k_test + k_val:]]

        def windows(segs):
            pieces = [ds.char_windows(text[bounds[i]:bounds[i + 1]], seq_len, vocab=vocab)[1:]
                      for i in sorted(segs)]
            if not pieces:
                return None
            return np.concatenate([p[0] for p in pieces]), np.concatenate([p[1] for p in pieces])
        test, val, train = (windows(p) for p in parts)
        return {"type": "char", "vocab": vocab}, train, val, test
    maker = ds.make_sine if name == "sine" else ds.make_adding
    X, y = maker(samples, seq_len, seed=seed)
    train, test = _split_last(X, y, test_split)
    val = None
    if val_split > 0:
        train, val = _split_last(*train, val_split)
    return {"type": "regressor", "n_features": int(X.shape[2]), "n_out": 1}, train, val, test


def _split_last(X, y, frac):
    k = int(round(len(X) * (1 - frac)))
    return (X[:k], y[:k]), (X[k:], y[k:])


class _CharAccuracy(Metric):
    """Fraction of characters predicted right (the metric fit reports as ``accuracy``)."""
    name = "accuracy"

    def batch_sum(self, output, target):
        return float((output.argmax(-1) == target).mean(axis=1).sum())


def _loss_and_metrics(spec):
    from . import nn
    from .seqmodels import SequenceCrossEntropy
    if spec["type"] == "char":
        return SequenceCrossEntropy(), [_CharAccuracy()]
    return nn.MSELoss(), ["mae"]


def cmd_train_seq(args):
    t_start = time.perf_counter()
    import chainrule as cr

    from . import train as T
    from . import runs
    from .cli_train import OPTIMIZERS, _plot_callbacks
    RUN_FORMAT, _write_json = runs.RUN_FORMAT, runs.write_json
    from .seqmodels import seq_model_from_spec
    if args.dataset not in SEQ_DATASETS:
        raise ValueError(f"--model {args.model} needs a sequence data set (--dataset "
                         f"{'|'.join(SEQ_DATASETS)}), got --dataset {args.dataset}")
    cell = args.model if args.model in SEQ_MODELS else "lstm"
    if len(set(args.hidden)) != 1:
        raise ValueError(f"--hidden {' '.join(map(str, args.hidden))}: recurrent layers share "
                         "one size (--hidden 128 128 = two layers of 128)")
    seq_len = args.seq_len or DEFAULT_SEQ_LEN[args.dataset]
    if args.dataset == "text" and seq_len > 300:
        raise ValueError(f"--seq-len {seq_len}: the text's segments are about 320 characters; "
                         "use at most 300")
    fields, (Xtr, ytr), val, (Xte, yte) = load_sequence_data(
        args.dataset, args.samples, seq_len, args.seed, args.test_split, args.val_split)
    spec = dict(fields, cell=cell, hidden=args.hidden[0], layers=len(args.hidden))
    if spec["type"] == "char":
        spec.update(embed=32, dropout=0.2)
    cr.manual_seed(args.seed)
    model = seq_model_from_spec(spec)
    loss_fn, metrics = _loss_and_metrics(spec)
    name, default_lr = OPTIMIZERS[args.optimizer]
    lr = args.lr if args.lr is not None else (3 * default_lr if args.optimizer == "adam"
                                              else default_lr)
    kw = {"lr": lr, "weight_decay": args.weight_decay}
    if args.optimizer in ("sgd", "rmsprop"):
        kw["momentum"] = (0.9 if args.optimizer == "sgd" else 0.0) if args.momentum is None \
            else args.momentum
    opt = getattr(cr.optim, name)(model.parameters(), **kw)
    if args.out:
        out = args.out
        runs.open_run_dir(out, overwrite=getattr(args, "overwrite", False))
    else:
        out = runs.claim_run_dir("runs", args.dataset)
    callbacks = [T.CSVLogger(os.path.join(out, "history.csv"))]
    # the text is small: a character model overfits it, so by default stop when the
    # validation loss has not improved for 5 epochs and keep the best weights
    patience = args.patience or (5 if spec["type"] == "char" and val is not None else None)
    if patience:
        callbacks.append(T.EarlyStopping(monitor="val_loss" if val else "loss",
                                         patience=patience, restore_best_weights=True))
    monitor = None
    if args.plots:
        monitor = _plot_callbacks(0, args.epochs)[0]
        if monitor is not None:
            callbacks.append(monitor)
    if not args.quiet:
        print(f"chainrule train: {args.dataset} (sequences of {seq_len})  {len(Xtr)} train / "
              f"{0 if val is None else len(val[0])} val / {len(Xte)} test  model {cell} "
              f"{len(args.hidden)} x {args.hidden[0]}  {args.optimizer} lr {lr:g}",
              file=sys.stderr)
    t_fit = time.perf_counter()
    hist = T.fit(model, loss_fn, _Clipped(opt, model.parameters(), 1.0), (Xtr, ytr),
                 epochs=args.epochs, val_data=val,
                 callbacks=callbacks, metrics=metrics, batch_size=args.batch_size,
                 verbose=0 if args.quiet else 1, generator=cr.Generator().manual_seed(args.seed),
                 compile=False)   # cr.compile does not replay the multi-output recurrent ops
    fit_s = time.perf_counter() - t_fit
    test = T.evaluate(model, loss_fn, (Xte, yte), metrics=metrics)
    cr.save(model.state_dict(), os.path.join(out, "model.npz"))
    options = {k: v for k, v in vars(args).items() if k != "func"}
    options.update(lr=lr, out=out, seq_len=seq_len)
    _write_json(os.path.join(out, "config.json"),
                {"format": RUN_FORMAT, "model": spec, "loss": "sequence", "dataset": args.dataset,
                 "options": options, "chainrule_version": cr.__version__})
    note = T.plot_curves(hist.history, os.path.join(out, "curves.png"))
    metrics_out = {"test": test, "history": hist.history, "epochs_run": len(hist.epoch),
                   "samples": {"train": len(Xtr), "val": 0 if val is None else len(val[0]),
                               "test": len(Xte)},
                   "fit_time_s": fit_s, "wall_time_s": time.perf_counter() - t_start}
    if monitor is not None:
        metrics_out["health"] = monitor.report()
    _write_json(os.path.join(out, "metrics.json"), metrics_out)
    extra = "  accuracy" if spec["type"] == "char" else "  mae"
    key = "accuracy" if spec["type"] == "char" else "mae"
    vl = hist.history.get("val_loss")
    print(f"test loss {test['loss']:.4f}{extra} {test[key]:.4f}"
          + (f"  (final val loss {vl[-1]:.4f})" if vl else "")
          + f"  ({len(hist.epoch)} epochs, training {fit_s:.1f} s)")
    print(f"saved model.npz, config.json, metrics.json, history.csv"
          f"{', curves.png' if note is None else ''} in {out}")
    if note:
        print(note, file=sys.stderr)
    if monitor is not None and monitor.report():
        print("training health:\n" + monitor.report(), file=sys.stderr)
    return 0


class _Clipped:
    """The optimizer with the gradient norm clipped to ``max_norm`` before each step (the usual
    guard against exploding gradients through time)."""

    def __init__(self, opt, params, max_norm):
        self.opt, self.params, self.max_norm = opt, list(params), max_norm
        self.param_groups = opt.param_groups

    def zero_grad(self, set_to_none=True):
        self.opt.zero_grad(set_to_none)

    def step(self):
        from .nn.utils import clip_grad_norm_
        clip_grad_norm_(self.params, self.max_norm)
        self.opt.step()

    def state_dict(self):
        return self.opt.state_dict()


def load_seq_run(run_dir, cfg):
    from . import load
    from .seqmodels import seq_model_from_spec
    model = seq_model_from_spec(cfg["model"])
    model.load_state_dict(load(os.path.join(run_dir, "model.npz")))
    return model


def sequence_config(run_dir):
    """The run's config when it holds a sequence model, else ``None`` (an MLP run, or no run:
    the caller's own reader then says what is wrong)."""
    import json

    from .runs import RUN_FORMAT
    path = os.path.join(run_dir, "config.json")
    try:
        with open(path, encoding="utf-8") as fh:
            cfg = json.load(fh)
    except (OSError, ValueError):
        return None
    if isinstance(cfg, dict) and cfg.get("format") == RUN_FORMAT and \
            isinstance(cfg.get("model"), dict) and cfg["model"].get("type") in ("char",
                                                                             "regressor"):
        return cfg
    return None


def cmd_sample(args):
    cfg = sequence_config(args.run_dir)
    if cfg is None:
        if not os.path.isfile(os.path.join(args.run_dir, "config.json")):
            raise FileNotFoundError(f"{args.run_dir!r} is not a run folder (no config.json)")
        cfg = {"model": {"type": "mlp"}}
    if cfg["model"].get("type") != "char":
        raise ValueError(f"{args.run_dir!r} holds a {cfg['model'].get('type', 'mlp')} model; "
                         "'chainrule sample' needs a character model (train --dataset text)")
    from .seqmodels import sample
    model = load_seq_run(args.run_dir, cfg)
    rng = np.random.default_rng(args.seed)
    print(sample(model, args.length, args.temperature, args.prime, cfg["model"]["vocab"], rng))
    return 0


def cmd_evaluate_seq(args, cfg):
    from . import train as T
    opts = cfg["options"]
    model = load_seq_run(args.run_dir, cfg)
    *_, (Xte, yte) = load_sequence_data(cfg["dataset"], opts.get("samples", 1000),
                                        opts["seq_len"], opts.get("seed", 0),
                                        opts.get("test_split", 0.2), opts.get("val_split", 0.1))
    loss_fn, metrics = _loss_and_metrics(cfg["model"])
    res = T.evaluate(model, loss_fn, (Xte, yte), metrics=metrics)
    print(f"{cfg['dataset']} (test, {len(Xte)} sequences): " +
          "  ".join(f"{k} {v:.4f}" for k, v in res.items()))
    return 0


def cmd_export_seq(args, cfg):
    """``chainrule export RUN --format onnx`` for a sequence run: batch and sequence length are
    dynamic (a character model takes int64 character indices, a regressor float32 features)."""
    from .onnx import export
    model = load_seq_run(args.run_dir, cfg)
    spec = cfg["model"]
    length = int(cfg.get("options", {}).get("seq_len") or DEFAULT_SEQ_LEN.get(cfg["dataset"], 8))
    if spec["type"] == "char":
        example = np.zeros((1, length), dtype=np.int64)
        shapes = "input 'input' (batch, sequence) int64 character indices, output 'output' " \
                 f"(batch, sequence, {len(spec['vocab'])}) scores"
    else:
        example = np.zeros((1, length, spec["n_features"]), dtype=np.float32)
        shapes = f"input 'input' (batch, sequence, {spec['n_features']}), output 'output' " \
                 f"(batch, {spec.get('n_out', 1)})"
    out = args.output or os.path.join(args.run_dir, "model.onnx")
    export(model, example, out, opset_version=args.opset)
    print(f"wrote {out} (ONNX opset {args.opset}, {spec.get('cell', 'lstm')} {spec['type']} "
          f"model; {shapes})")
    return 0
