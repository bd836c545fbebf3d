"""Run folders: the one place that reads and writes what ``chainrule train`` leaves behind.

A run folder holds::

    config.json      what the run was asked to do (written first, so a killed run can resume)
    model.npz        the finished weights, with the architecture they belong to and a checksum
    checkpoint.npz   the full training state while the run is unfinished (see chainrule.train)
    metrics.json     history, test metrics and timings of the finished run
    history.csv      one row per finished epoch

Every file is written atomically (a temp file ``.tmp-*`` next to it, then ``os.replace``), so a
reader sees the old file or the new one, never half of one; temp files left by a killed writer
are removed the next time the folder is opened for writing.  ``model.npz`` carries the part of
``config.json`` that decides what the weights mean (:data:`BOUND`: the architecture, the loss,
the data set and its split), and :func:`load_run` refuses a folder whose ``config.json`` says
otherwise, or whose weights do not match their checksum or are not finite.

Example::

    >>> out = claim_run_dir("runs", "digits")          # runs/digits-20260101-120000
    >>> write_json(os.path.join(out, CONFIG), config)
    >>> save_model(out, model, config)
    >>> config, model = load_run(out)
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import time

import numpy as np

from .utils.io import atomic_write, remove_temp_files

__all__ = ["RUN_FORMAT", "CONFIG", "MODEL", "METRICS", "HISTORY", "CHECKPOINT", "BOUND",
           "claim_run_dir", "open_run_dir", "remove_temp_files", "write_json", "read_config",
           "save_model", "load_run", "state_checksum", "loss_and_targets", "LOSSES"]

RUN_FORMAT = "chainrule-run/2"
MODEL_FORMAT = "chainrule-model/1"
CONFIG, MODEL, METRICS = "config.json", "model.npz", "metrics.json"
HISTORY, CHECKPOINT = "history.csv", "checkpoint.npz"
RUN_FILES = (CONFIG, MODEL, METRICS, HISTORY, CHECKPOINT, "curves.png")
#: config.json entries (and entries of its "options") that model.npz repeats and load_run compares
BOUND = ("model", "loss", "dataset", "n_features", "n_classes")
BOUND_OPTIONS = ("samples", "seed", "test_split", "val_split")
#: --loss name -> (chainrule.nn loss class, the output activation it needs)
LOSSES = {"cross_entropy": ("CrossEntropyLoss", None), "nll": ("NLLLoss", "log_softmax"),
          "mse": ("MSELoss", "sigmoid")}
#: the largest MLP a run config may describe (parameters), checked before anything is allocated
MAX_PARAMETERS = 2 ** 31


def claim_run_dir(base, prefix):
    """Create and return a new folder ``base/prefix-<timestamp>[-k]`` that no other run has.

    ``os.mkdir`` either creates the folder or fails because it exists, so two runs started in
    the same second get different folders (no check-then-create race).
    """
    os.makedirs(base, exist_ok=True)
    stem = os.path.join(base, f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}")
    for k in range(10_000):
        path = stem if k == 0 else f"{stem}-{k}"
        try:
            os.mkdir(path)
            return path
        except FileExistsError:
            continue
    raise OSError(f"could not claim a new run folder under {base!r} (10000 names taken)")


def open_run_dir(path, overwrite=False):
    """Make ``path`` ready for a new run: refuse a folder that already holds a run.

    Arguments:
        path: the ``--out`` folder (created when missing).
        overwrite: delete the run files found there instead of refusing.
    """
    if os.path.exists(path) and not os.path.isdir(path):
        raise FileExistsError(f"--out {path!r} exists and is not a folder")
    os.makedirs(path, exist_ok=True)
    remove_temp_files(path)
    found = [f for f in RUN_FILES if os.path.exists(os.path.join(path, f))]
    if found and not overwrite:
        raise FileExistsError(f"--out {path!r} already holds a run ({', '.join(found)}); pass "
                              f"--resume {path} to continue it, --overwrite to replace it, or "
                              "another --out")
    for f in found:
        os.unlink(os.path.join(path, f))
    return path


def write_json(path, obj):
    """Write ``obj`` as JSON atomically (NaN refused: a run file never holds a broken number)."""
    text = json.dumps(obj, indent=2, default=float, allow_nan=False).encode("utf-8")
    atomic_write(path, lambda fh: fh.write(text))


def _read_json(path, what):
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"{path!r} is not valid JSON ({type(exc).__name__}: {exc})") from None


def read_config(run_dir):
    """The run's ``config.json`` as a dict, checked for the entries the commands read."""
    if not os.path.isdir(run_dir):
        raise FileNotFoundError(f"run folder {run_dir!r} does not exist")
    path = os.path.join(run_dir, CONFIG)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path!r} not found: is {run_dir!r} a folder written by "
                                "'chainrule train'?")
    cfg = _read_json(path, "config")
    fmt = cfg.get("format") if isinstance(cfg, dict) else None
    if fmt != RUN_FORMAT:
        raise ValueError(f"{path!r} is not a chainrule run config (format {fmt!r}, expected "
                         f"{RUN_FORMAT!r})")
    if not isinstance(cfg.get("loss"), str) or cfg["loss"] not in LOSSES:
        raise ValueError(f"{path!r}: unknown loss {cfg.get('loss')!r} (one of "
                         f"{', '.join(sorted(LOSSES))})")
    for key, kind in (("model", dict), ("loss", str), ("dataset", str), ("n_features", int),
                      ("n_classes", int), ("options", dict)):
        if not isinstance(cfg.get(key), kind) or isinstance(cfg.get(key), bool):
            raise ValueError(f"{path!r}: entry {key!r} is missing or not a {kind.__name__} "
                             f"(got {cfg.get(key)!r})")
    check_spec(cfg["model"], path)
    sizes = cfg["model"]["sizes"]
    if (sizes[0], sizes[-1]) != (cfg["n_features"], cfg["n_classes"]):
        raise ValueError(f"{path!r}: model sizes {sizes} do not start with n_features "
                         f"{cfg['n_features']} and end with n_classes {cfg['n_classes']}")
    return cfg


def check_spec(spec, where):
    """Refuse an MLP spec that is malformed or too large, before any weight is allocated."""
    from .models import _OUTPUTS, ACTIVATIONS
    sizes = spec.get("sizes")
    if spec.get("type") != "mlp" or not isinstance(sizes, list) or len(sizes) < 2 or any(
            isinstance(s, bool) or not isinstance(s, int) or s <= 0 for s in sizes):
        raise ValueError(f"{where}: model must be {{'type': 'mlp', 'sizes': [positive ints, at "
                         f"least two], ...}}, got {spec!r}"[:400])
    if str(spec.get("activation")).lower() not in ACTIVATIONS:
        raise ValueError(f"{where}: unknown activation {spec.get('activation')!r} (one of "
                         f"{', '.join(sorted(ACTIVATIONS))})")
    if not isinstance(spec.get("output_activation"), (str, type(None))) or \
            spec.get("output_activation") not in _OUTPUTS:
        raise ValueError(f"{where}: unknown output_activation {spec.get('output_activation')!r}")
    n = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    if n > MAX_PARAMETERS:
        raise ValueError(f"{where}: sizes {sizes} give {n:,} parameters, more than the "
                         f"{MAX_PARAMETERS:,} a run may have")
    return n


def bound_config(config):
    """The part of a run config that the weights file repeats (what the weights mean)."""
    out = {k: config[k] for k in BOUND}
    out["options"] = {k: config["options"].get(k) for k in BOUND_OPTIONS}
    return out


def state_checksum(state, bound):
    """SHA-256 over the bound config and every array's name, dtype, shape and bytes."""
    h = hashlib.sha256(json.dumps(bound, sort_keys=True).encode("utf-8"))
    for name in sorted(state):
        arr = np.ascontiguousarray(state[name].numpy() if hasattr(state[name], "numpy")
                                   else state[name])
        h.update(f"{name}|{arr.dtype.str}|{arr.shape}|".encode("utf-8"))
        h.update(arr.tobytes())
    return h.hexdigest()


def save_model(run_dir, model, config, name=MODEL):
    """Write ``model``'s weights with the bound config and their checksum, atomically."""
    from .serialization import save
    state = model.state_dict()
    bound = bound_config(config)
    save({"format": MODEL_FORMAT, "config": bound, "sha256": state_checksum(state, bound),
          "state_dict": state}, os.path.join(run_dir, name))


def _differences(a, b, prefix=""):
    """``['model.activation: 'tanh' in config.json, 'relu' in model.npz', ...]``."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b), key=str):
            out += _differences(a.get(k, _MISSING), b.get(k, _MISSING), f"{prefix}{k}.")
        return out
    if a == b and type(a) is type(b):
        return []
    return [f"{prefix[:-1]}: {a!r} in config.json, {b!r} in model.npz"]


class _Missing:
    def __repr__(self):
        return "nothing"


_MISSING = _Missing()


def load_model_file(path, expected=None):
    """``(bound_config, state_dict)`` of a model file, its structure and checksum verified."""
    from .serialization import load, peek
    if expected is not None:     # refuse entries of the wrong size before reading any data
        declared = peek(path)
        if set(expected) <= set(declared):
            raise ValueError(f"{path!r} is a plain state dict, not a chainrule run model (it "
                             "has no config to check)")
        for key, shape in expected.items():
            got = declared.pop(f"state_dict.{key}", None)
            if got is not None and tuple(got[0]) != tuple(shape):
                raise ValueError(f"{path!r}: entry {key!r} declares shape {tuple(got[0])}, "
                                 f"the config's model needs {tuple(shape)}")
        meta = declared.pop("__chainrule__", ((0,), None))
        if declared or math.prod(meta[0]) > 2 ** 20:
            raise ValueError(f"{path!r}: entries that the config's model does not have: "
                             f"{sorted(declared)[:5] or ['metadata over 1 MiB']}")
    obj = load(path)
    if not isinstance(obj, dict) or obj.get("format") != MODEL_FORMAT:
        raise ValueError(f"{path!r} is not a chainrule run model (expected format "
                         f"{MODEL_FORMAT!r}; a plain state dict has no config to check)")
    bound, state, digest = obj.get("config"), obj.get("state_dict"), obj.get("sha256")
    if not isinstance(bound, dict) or not isinstance(state, dict) or not isinstance(digest, str):
        raise ValueError(f"{path!r}: model file lacks its config, state_dict or sha256")
    from .tensor import Tensor
    bad = [k for k, v in state.items() if not isinstance(v, Tensor)]
    if bad:
        raise ValueError(f"{path!r}: state_dict entries {bad[:5]} are not tensors")
    if state_checksum(state, bound) != digest:
        raise ValueError(f"{path!r}: checksum mismatch: the weights or their config were changed "
                         "after saving (or the file is damaged)")
    return bound, state


def nonfinite_report(state):
    bad = []
    for k, v in state.items():
        a = v.numpy()
        if a.dtype.kind in "fc" and not np.isfinite(a).all():
            bad.append(f"{k} ({int(np.isnan(a).sum())} NaN, {int(np.isinf(a).sum())} Inf of "
                       f"{a.size})")
    return bad


def load_run(run_dir, allow_nonfinite=False):
    """``(config, model)`` of a finished run, after checking that the folder tells the truth.

    Raises:
        FileNotFoundError: no such folder, or no config.json / model.npz in it.
        ValueError: a malformed file, a config that disagrees with the weights, a checksum
            mismatch or non-finite weights.  The message names the file and the difference.
    """
    from .models import mlp_from_spec
    cfg = read_config(run_dir)
    path = os.path.join(run_dir, MODEL)
    if not os.path.isfile(path):
        hint = (" (the run is unfinished: continue it with chainrule train --resume "
                f"{run_dir})") if os.path.isfile(os.path.join(run_dir, CHECKPOINT)) else ""
        raise FileNotFoundError(f"{path!r} not found{hint}")
    sizes = cfg["model"]["sizes"]
    expected = {}
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        expected[f"{2 * i}.weight"], expected[f"{2 * i}.bias"] = (b, a), (b,)
    bound, state = load_model_file(path, expected)
    diff = _differences(bound_config(cfg), bound)
    if diff:
        raise ValueError(f"{os.path.join(run_dir, CONFIG)!r} disagrees with the weights in "
                         f"{path!r}: " + "; ".join(diff))
    if not allow_nonfinite:
        bad = nonfinite_report(state)
        if bad:
            raise ValueError(f"{path!r} holds non-finite weights: {', '.join(bad)}")
    model = mlp_from_spec(cfg["model"])
    model.load_state_dict(state)
    return cfg, model


def loss_and_targets(loss_name, y, n_classes):
    """The run's loss module and the targets it wants (one-hot float32 for MSE)."""
    from . import nn
    if loss_name not in LOSSES:
        raise ValueError(f"unknown loss {loss_name!r} in the run config (one of "
                         f"{', '.join(sorted(LOSSES))})")
    loss = getattr(nn, LOSSES[loss_name][0])()
    if loss_name == "mse":
        y = np.eye(n_classes, dtype=np.float32)[y]
    return loss, y


def is_finite(x):
    """Whether ``x`` is a finite number."""
    return isinstance(x, (int, float)) and math.isfinite(x)
