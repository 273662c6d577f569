"""Plots and run reports (``glassnet.viz``); matplotlib is imported only when a plot is drawn.

Every plot function writes one PNG of ``size × dpi`` pixels and returns its ``Path``.
Install the optional dependency with ``pip install 'glassnet[plot]'``.

* training: :func:`plot_history`, :func:`plot_lr`, :func:`plot_grad_norms`
* features: :func:`plot_filters`, :func:`plot_feature_maps`, :func:`plot_hidden_states`
* results: :func:`plot_confusion_matrix`, :func:`plot_predictions`, :func:`plot_forecast`
* reports: :func:`write_report` (``glassnet report RUN_DIR``)
"""
from .curves import history_dict, plot_grad_norms, plot_history, plot_lr
from .features import plot_feature_maps, plot_filters, plot_hidden_states
from .predictions import (confusion_matrix, plot_confusion_matrix, plot_forecast,
                          plot_predictions)
from .report import write_report

__all__ = ["plot_history", "plot_lr", "plot_grad_norms", "history_dict", "plot_filters",
           "plot_feature_maps", "plot_hidden_states", "confusion_matrix",
           "plot_confusion_matrix", "plot_predictions", "plot_forecast", "write_report"]
