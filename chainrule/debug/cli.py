"""``chainrule check RUN_DIR``: gradient-check a model saved by ``chainrule train``.

The run folder is read by :func:`chainrule.runs.load_run` (``config.json`` checked against the
config and checksum that ``model.npz`` carries).  The check fails at once on non-finite weights;
otherwise it feeds a random batch of ``n_features`` features (and random labels, through the
run's own loss) to a float64 copy of the model and compares every parameter's gradient with
centered differences (a NaN or Inf on either side fails too).
"""
from __future__ import annotations

import sys

import numpy as np


def cli_check(run_dir, sample=20, batch=8, seed=0, out=None):
    """Print the per-parameter gradient-check report of a saved run; return the exit status.

    Arguments:
        run_dir: a folder written by ``chainrule train``.
        sample: entries checked per parameter (``None``: all).
        batch: size of the random input batch.
        seed: seed of the random batch and of the sampled entries.
        out: a file to print to (default ``sys.stdout``).

    Returns:
        0 when every parameter passes, 1 when one fails or a weight is NaN or infinite.

    Example::

        $ chainrule check runs/digits-20260101-120000
    """
    from .. import Generator, Tensor
    from ..runs import load_run, loss_and_targets, nonfinite_report
    from .gradcheck import check_model_gradients
    out = out or sys.stdout
    cfg, model = load_run(run_dir, allow_nonfinite=True)
    bad = nonfinite_report(model.state_dict())
    if bad:
        print(f"gradient check of {run_dir}: FAILED: non-finite weights in {', '.join(bad)}",
              file=out)
        return 1
    rng = np.random.default_rng(seed)
    n_features, n_classes = cfg["n_features"], cfg["n_classes"]
    x = Tensor(rng.standard_normal((batch, n_features)))
    loss_fn, targets = loss_and_targets(cfg["loss"], rng.integers(0, n_classes, batch),
                                        n_classes)
    report = check_model_gradients(model, x, loss_fn=loss_fn, targets=Tensor(targets),
                                   sample=sample, generator=Generator().manual_seed(seed))
    print(f"gradient check of {run_dir} ({type(model).__name__}, loss {cfg['loss']}, random "
          f"batch of {batch}, float64 copy; up to {sample} entries per parameter)", file=out)
    print(report, file=out)
    return 0 if report.passed else 1
