"""Plots and run reports (``glassnet.viz``); matplotlib is imported only when a plot is drawn.

Every plot function writes one PNG of ``size × dpi`` pixels and returns its ``Path``; with
no path (``path=None``) it returns the matplotlib ``Figure`` instead (a notebook shows it).
Install the optional dependency with ``pip install 'glassnet[plot]'``.

* training: :func:`plot_history`, :func:`plot_lr`, :func:`plot_grad_norms`
* features: :func:`plot_filters`, :func:`plot_feature_maps`, :func:`plot_hidden_states`
* results: :func:`plot_confusion_matrix`, :func:`plot_predictions`, :func:`plot_forecast`
* reports: :func:`write_report` (``glassnet report RUN_DIR``)
* pictures of the network: :func:`diagram` (SVG text: neurons and weights, CNN stages, an
  RNN unrolled over time)
"""
from .curves import history_dict, plot_grad_norms, plot_history, plot_lr
from .diagram import diagram
from .features import plot_feature_maps, plot_filters, plot_hidden_states
from .predictions import (confusion_matrix, plot_confusion_matrix, plot_forecast,
                          plot_predictions)
from .report import write_report
from ._mpl import new_figure, save as save_figure  # for apps drawing their own pictures

__all__ = ["plot_history", "plot_lr", "plot_grad_norms", "history_dict", "plot_filters",
           "plot_feature_maps", "plot_hidden_states", "confusion_matrix",
           "plot_confusion_matrix", "plot_predictions", "plot_forecast", "write_report", "diagram",
           "new_figure", "save_figure"]

from .notebook import install as _install_notebook_displays  # noqa: E402

_install_notebook_displays()
