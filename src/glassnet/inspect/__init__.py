"""Glass-box tools (``glassnet.inspect``): watch one training step, check gradients, guard
against NaN/Inf.

* :func:`trace` runs one real training step and records it layer by layer in the course's
  notation (``z = W·x + b``, ``δ = ∂L/∂z``, ``W ← W − η·∂L/∂W``), as records, text, Markdown
  or HTML.
* :func:`gradcheck` compares every analytic gradient with central differences on a float64
  copy of the model.
* :func:`detect_anomaly` names the first layer and step where a NaN or Inf appears;
  :class:`AnomalyGuard` is the same as a ``fit`` callback.
* :class:`GradientNormHistory` / :func:`gradient_norms`: per-layer ‖∂L/∂W‖ over training.
* :func:`watch_forward`, :func:`recorded_modules`, :func:`tensors_in`, :func:`layer_role`,
  :func:`describe`:
  the building blocks the diagrams and plots of :mod:`glassnet.viz` watch a model with.
"""
from ._anomaly import AnomalyError, detect_anomaly
from ._gradcheck import GradcheckRecord, GradcheckResult, gradcheck
from ._hooks import describe, recorded_modules, tensors_in, watch_forward
from ._trace import Trace, TraceRecord, trace
from .notation import layer_role

__all__ = ["trace", "Trace", "TraceRecord", "gradcheck", "GradcheckResult", "GradcheckRecord",
           "detect_anomaly", "AnomalyError", "AnomalyGuard", "GradientNormHistory",
           "gradient_norms", "watch_forward", "recorded_modules", "tensors_in", "layer_role",
           "describe"]

_CALLBACKS = ("AnomalyGuard", "GradientNormHistory", "gradient_norms")


def __getattr__(name):
    if name in _CALLBACKS:                 # imports glassnet.train, so only on first use
        from . import callbacks
        return getattr(callbacks, name)
    raise AttributeError(f"module 'glassnet.inspect' has no attribute {name!r}")
