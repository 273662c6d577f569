"""Metrics: functions ``metric(output, target) -> float`` averaged over a whole epoch.

A metric takes the model's output batch and the target batch (Tensors or arrays) and
returns the batch's mean value. The fit loop weights each batch by its size, so the epoch
value equals the metric over all samples for any metric that is a per-sample mean
(accuracy, MSE, MAE).

Shape glossary: N = batch size, C = number of classes.
"""
from __future__ import annotations

import numpy as np

from ..backend import to_host
from ..tensor import Tensor

__all__ = ["accuracy", "mean_squared_error", "mean_absolute_error", "get_metric",
           "METRICS"]


def _array(x) -> np.ndarray:
    return to_host(x.array if isinstance(x, Tensor) else x)     # metrics run on the host


def accuracy(output, target) -> float:
    """Fraction of samples whose predicted class equals the target.

    Args:
        output: logits or probabilities (N, C), or a single score (N,) / (N, 1) for binary
            problems (class 1 when the score > 0.5 for probabilities in [0, 1], else > 0).
        target: class indices (N,), or one-hot / probabilities (N, C).

    Example:
        >>> accuracy(np.array([[2.0, 1.0], [0.0, 3.0]]), np.array([0, 0]))
        0.5
    """
    out, tgt = _array(output), _array(target)
    if out.ndim >= 2 and out.shape[1] > 1:
        pred = out.argmax(axis=1)
        if tgt.ndim == out.ndim and tgt.shape == out.shape:
            tgt = tgt.argmax(axis=1)
    else:
        out = out.reshape(out.shape[0], -1)[:, 0] if out.ndim > 1 else out
        threshold = 0.5 if out.size and out.min() >= 0 and out.max() <= 1 else 0.0
        pred = (out > threshold).astype(np.int64)
        tgt = tgt.reshape(-1)
    if pred.shape != tgt.shape:
        raise ValueError(f"accuracy: predictions of shape {pred.shape} do not match targets "
                         f"of shape {tgt.shape}")
    return float(np.mean(pred == tgt)) if pred.size else 0.0


def mean_squared_error(output, target) -> float:
    """Mean of ``(output - target)**2`` over all elements."""
    d = _array(output).astype(np.float64) - _array(target)
    return float(np.mean(d * d))


def mean_absolute_error(output, target) -> float:
    """Mean of ``|output - target|`` over all elements."""
    return float(np.mean(np.abs(_array(output).astype(np.float64) - _array(target))))


#: metric names accepted by ``fit(metrics=...)``; the history key is the name.
METRICS = {"accuracy": accuracy, "mse": mean_squared_error, "mae": mean_absolute_error}


def get_metric(metric) -> tuple[str, object]:
    """``(name, function)`` for a metric name from :data:`METRICS` or a callable.

    Example:
        >>> get_metric("accuracy")[0]
        'accuracy'
    """
    if callable(metric):
        return getattr(metric, "__name__", type(metric).__name__), metric
    if metric in METRICS:
        return metric, METRICS[metric]
    raise ValueError(f"fit(metrics): unknown metric {metric!r}; expected one of "
                     f"{sorted(METRICS)} or a callable(output, target) -> float")
