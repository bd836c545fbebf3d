"""TensorBoard logging, as ``torch.utils.tensorboard``: a ``SummaryWriter`` on tensorboardX.

The event files are written by tensorboardX (optional extra ``chainrule[tensorboard]``, imported
when the first writer is made); this class only turns chainrule tensors into NumPy arrays and adds
:meth:`SummaryWriter.add_graph` through the ONNX exporter. For logging from ``fit``, use the
:class:`chainrule.debug.TensorBoard` callback (also ``chainrule.train.TensorBoard``).

Example::

    >>> from chainrule.utils.tensorboard import SummaryWriter
    >>> with SummaryWriter("runs/exp1") as w:
    ...     for step in range(100):
    ...         w.add_scalar("loss", loss_value, step)
    ...     w.add_histogram("fc1/weight", model[0].weight, step)
    ...     w.add_graph(model, cr.randn(1, 784))
    $ tensorboard --logdir runs
"""
from __future__ import annotations

import contextlib
import io
import os
import tempfile

import numpy as np

__all__ = ["SummaryWriter"]


def _tbx():
    try:
        import tensorboardX
    except ImportError as exc:
        raise ImportError("chainrule.utils.tensorboard needs tensorboardX: pip install "
                          "'chainrule[tensorboard]'") from exc
    return tensorboardX


def _np(v):
    """A chainrule tensor (or a parameter) as a NumPy array; anything else unchanged."""
    from ..tensor import Tensor
    if isinstance(v, Tensor):
        return v.detach().numpy()
    return v


def _scalar(v, what):
    v = _np(v)
    if isinstance(v, np.ndarray):
        if v.size != 1:
            raise ValueError(f"SummaryWriter.{what}: expected a scalar, got an array of shape "
                             f"{v.shape}")
        v = v.reshape(()).item()
    try:
        return float(v)
    except (TypeError, ValueError):
        raise TypeError(f"SummaryWriter.{what}: expected a number, got "
                        f"{type(v).__name__}") from None


class SummaryWriter:
    """Writes TensorBoard event files to ``log_dir`` (default ``runs/<time>_<host><comment>``).

    Arguments are tensorboardX's (and PyTorch's): ``log_dir``, ``comment``, ``purge_step``,
    ``max_queue``, ``flush_secs``, ``filename_suffix``. Values may be chainrule tensors, NumPy
    arrays or Python numbers. Usable as a context manager (closes on exit).
    """

    def __init__(self, log_dir=None, comment="", purge_step=None, max_queue=10, flush_secs=120,
                 filename_suffix=""):
        self._w = _tbx().SummaryWriter(logdir=None if log_dir is None else os.fspath(log_dir),
                                       comment=comment, purge_step=purge_step,
                                       max_queue=max_queue, flush_secs=flush_secs,
                                       filename_suffix=filename_suffix)

    @property
    def log_dir(self):
        return self._w.logdir

    def get_logdir(self):
        return self._w.logdir

    def add_scalar(self, tag, scalar_value, global_step=None, walltime=None):
        """One point of the curve ``tag``."""
        self._w.add_scalar(tag, _scalar(scalar_value, "add_scalar"), global_step, walltime)

    def add_scalars(self, main_tag, tag_scalar_dict, global_step=None, walltime=None):
        """Several curves on one chart (each in its own subfolder, as PyTorch's)."""
        vals = {k: _scalar(v, "add_scalars") for k, v in tag_scalar_dict.items()}
        self._w.add_scalars(main_tag, vals, global_step, walltime)

    def add_histogram(self, tag, values, global_step=None, bins="tensorflow", walltime=None,
                      max_bins=None):
        """A histogram of ``values`` (a tensor or array, any shape)."""
        arr = np.asarray(_np(values))
        if arr.size == 0:
            raise ValueError(f"SummaryWriter.add_histogram({tag!r}): no values")
        self._w.add_histogram(tag, arr.astype(np.float64, copy=False).ravel(), global_step,
                              bins, walltime, max_bins)

    def add_image(self, tag, img_tensor, global_step=None, walltime=None, dataformats="CHW"):
        """An image: floats in [0, 1] or uint8, laid out as ``dataformats`` (CHW, HWC, HW)."""
        self._w.add_image(tag, np.asarray(_np(img_tensor)), global_step, walltime, dataformats)

    def add_images(self, tag, img_tensor, global_step=None, walltime=None, dataformats="NCHW"):
        self._w.add_images(tag, np.asarray(_np(img_tensor)), global_step, walltime, dataformats)

    def add_text(self, tag, text_string, global_step=None, walltime=None):
        self._w.add_text(tag, text_string, global_step, walltime)

    def add_figure(self, tag, figure, global_step=None, close=True, walltime=None):
        self._w.add_figure(tag, figure, global_step, close, walltime)

    def add_hparams(self, hparam_dict, metric_dict, hparam_domain_discrete=None, run_name=None,
                    global_step=None):
        """Hyperparameters and the metrics they gave, for TensorBoard's HPARAMS tab.

        As PyTorch's, this writes a sub-run of ``log_dir`` (named ``run_name``, default the
        time); ``run_name="."`` writes them into this writer's own run instead.
        """
        hp = {k: (v if isinstance(v, (bool, str, int, float)) else str(v))
              for k, v in hparam_dict.items()}
        metrics = {k: _scalar(v, "add_hparams") for k, v in metric_dict.items()}
        if run_name != ".":
            self._w.add_hparams(hp, metrics, name=run_name, global_step=global_step)
            return
        # a second writer on the same folder could pick this writer's file name and replace it
        from tensorboardX.summary import hparams
        fw = self._w._get_file_writer()
        for summary in hparams(hp, metrics):
            fw.add_summary(summary)
        for k, v in metrics.items():
            self._w.add_scalar(k, v, global_step)

    def add_graph(self, model, input_to_model, verbose=False):
        """The model's graph (GRAPHS tab), exported through :func:`chainrule.onnx.export`."""
        from ..onnx import export
        fd, path = tempfile.mkstemp(suffix=".onnx")
        os.close(fd)
        try:
            export(model, input_to_model, path, verbose=verbose)
            with contextlib.redirect_stdout(io.StringIO()):   # tensorboardX prints each node
                self._w.add_onnx_graph(path)
        finally:
            os.unlink(path)

    def flush(self):
        self._w.flush()

    def close(self):
        self._w.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
