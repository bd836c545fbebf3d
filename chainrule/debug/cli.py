"""``chainrule check RUN_DIR``: gradient-check a model saved by ``chainrule train``.

The run folder holds ``config.json`` (``{"format": "chainrule-run/1", "model": {"type": "mlp",
"sizes": [...], "activation": ..., "output_activation": ...}, "loss": ..., "n_features": F,
"n_classes": C, ...}``) and ``model.npz`` (the state dict); both are read by
``chainrule.cli._load_run``.  The check feeds a random batch of ``F`` features (and random labels,
through the run's own loss) to a float64 copy of the model and compares every parameter's
gradient with centered differences.
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
        0 when every parameter passes, 1 when one fails.

    Example::

        $ chainrule check runs/digits-20260101-120000
    """
    from .. import Generator, Tensor
    from ..cli import _load_run, _loss_and_targets
    from .gradcheck import check_model_gradients
    out = out or sys.stdout
    cfg, model = _load_run(run_dir)
    rng = np.random.default_rng(seed)
    n_features = int(cfg.get("n_features") or cfg["model"]["sizes"][0])
    n_classes = int(cfg.get("n_classes") or cfg["model"]["sizes"][-1])
    x = Tensor(rng.standard_normal((batch, n_features)))
    loss_fn, targets = _loss_and_targets(cfg.get("loss", "cross_entropy"),
                                         rng.integers(0, n_classes, batch), n_classes)
    report = check_model_gradients(model, x, loss_fn=loss_fn, targets=Tensor(targets),
                                   sample=sample, generator=Generator().manual_seed(seed))
    print(f"gradient check of {run_dir} ({type(model).__name__}, loss "
          f"{cfg.get('loss', 'cross_entropy')}, random batch of {batch}, float64 copy; "
          f"up to {sample} entries per parameter)", file=out)
    print(report, file=out)
    return 0 if report.passed else 1
