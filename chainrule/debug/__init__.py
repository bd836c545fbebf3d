"""Seeing inside and debugging networks.

* :func:`check_model_gradients`: the notes' "use the numeric gradient to double-check the
  analytic gradient", for every parameter of a model (float64 copy, sampled entries for big
  layers), with a per-parameter report; :func:`cli_check` is ``chainrule check RUN_DIR``.
* :class:`TrainingMonitor` / :func:`watch`: per-layer gradient and weight norms, update/weight
  ratios, activation statistics, dead and saturated units, with warnings in plain words.
* :class:`TensorBoard`: a ``fit`` callback logging losses, metrics, the learning rate and the
  monitor's per-layer numbers and histograms to TensorBoard (tensorboardX, imported when used).
* :func:`summary`: layers, output shapes, parameter counts and memory (as Keras / torchinfo).
* anomaly mode, re-exported from :mod:`chainrule.autograd`: :class:`detect_anomaly`,
  :func:`set_detect_anomaly`, :class:`AnomalyError`.

Graph drawings and plots are in :mod:`chainrule.viz`.
"""
from ..autograd import AnomalyError, detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from .cli import cli_check
from .gradcheck import GradcheckReport, ParamCheck, check_model_gradients
from .health import TrainingHealthWarning
from .monitor import TrainingMonitor, watch
from .summary import LayerInfo, ModelSummary, summary
from .tensorboard import TensorBoard

__all__ = ["check_model_gradients", "GradcheckReport", "ParamCheck", "TrainingMonitor", "watch",
           "TrainingHealthWarning", "summary", "ModelSummary", "LayerInfo", "detect_anomaly",
           "set_detect_anomaly", "is_anomaly_enabled", "AnomalyError", "cli_check", "TensorBoard"]
