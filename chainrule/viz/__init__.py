"""Seeing inside networks: computation-graph drawings and training plots.

* :func:`to_dot`, :func:`draw_graph`, :func:`build_graph`: the graph behind a tensor, with forward
  values and gradients on the edges, as the lecture slides draw ``f = (x + y) z``.
* :mod:`chainrule.viz.plots` (needs matplotlib, ``pip install chainrule[plot]``): training curves,
  activation heatmaps and bar views, weight/gradient histograms, decision boundaries;
  :mod:`chainrule.viz.cnn`: a CNN's first-layer filters and its feature maps.
"""
from .graph import Graph, GraphEdge, GraphNode, build_graph, draw_graph, to_dot

_PLOTS = ("plot_history", "plot_activations", "plot_weight_histograms", "plot_layer_stats",
          "plot_decision_boundary", "decision_boundary_over_epochs", "BoundarySnapshots",
          "write_all_plots")
_CNN = ("plot_filters", "plot_feature_maps")

__all__ = ["Graph", "GraphNode", "GraphEdge", "build_graph", "to_dot", "draw_graph", *_PLOTS, *_CNN]


def __getattr__(name):
    # plots import matplotlib lazily: importing chainrule.viz must not need it
    if name in _PLOTS or name == "plots":
        import importlib
        plots = importlib.import_module(".plots", __name__)
        return plots if name == "plots" else getattr(plots, name)
    if name in _CNN:
        import importlib
        return getattr(importlib.import_module(".cnn", __name__), name)
    raise AttributeError(f"module 'chainrule.viz' has no attribute {name!r}")
