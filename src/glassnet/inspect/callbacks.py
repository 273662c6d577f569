"""Glass-box options for :func:`glassnet.train.fit`, as callbacks.

    fit(model, loss_fn, opt, train, val, epochs=5,
        callbacks=[gn.inspect.AnomalyGuard(), norms := gn.inspect.GradientNormHistory()])
    norms.plot("grad_norms.png")
"""
from __future__ import annotations

import numpy as np

from ..train.callbacks import Callback
from ._anomaly import detect_anomaly

__all__ = ["AnomalyGuard", "GradientNormHistory", "gradient_norms"]


def gradient_norms(model) -> dict:
    """``{parameter name: ‖∂L/∂θ‖₂}`` for every parameter with a gradient (call after
    ``backward()``).

    Example:
        >>> loss.backward(); gn.inspect.gradient_norms(model)
        {'0.weight': 0.81, '0.bias': 0.12, ...}
    """
    out = {}
    for name, p in model.named_parameters():
        if p.grad is not None:
            flat = p.grad.array.reshape(-1)
            out[name] = float(np.sqrt(np.dot(flat, flat)))
    return out


class AnomalyGuard(Callback):
    """Run training under :func:`~glassnet.inspect.detect_anomaly`: the first NaN/Inf in a
    layer's output or gradient stops ``fit`` with an :class:`~glassnet.inspect.AnomalyError`
    naming the layer and the step (1-based, as in ``fit``'s messages).

    Args:
        check_parameters: also test the weights after every update (one more pass over them).

    Example:
        >>> fit(model, loss_fn, opt, loader, epochs=3, callbacks=[AnomalyGuard()])
    """

    order = -100                      # installed before other callbacks run

    def __init__(self, check_parameters: bool = False):
        self.check_parameters = check_parameters
        self.guard = None

    def on_train_begin(self, logs):
        ctx = self.context
        self.guard = detect_anomaly(ctx.model, ctx.optimizer,
                                    check_parameters=self.check_parameters)
        self.guard.__enter__()

    def on_batch_begin(self, step, logs):
        self.guard.step = step        # the model's forward makes it step + 1

    def on_train_end(self, logs):
        if self.guard is not None:
            self.guard.__exit__(None, None, None)
            self.guard = None


class GradientNormHistory(Callback):
    """Record ‖∂L/∂θ‖ of every parameter after each ``every``-th training step.

    Attributes:
        norms: ``{parameter name: [norm, ...]}``.
        steps: the step numbers at which they were recorded.

    Example:
        >>> hist = GradientNormHistory(every=10)
        >>> fit(..., callbacks=[hist]); hist.plot("grad_norms.png")
    """

    def __init__(self, every: int = 1):
        if not isinstance(every, int) or every < 1:
            raise ValueError(f"GradientNormHistory(every={every!r}): expected an int >= 1")
        self.every = every
        self.norms: dict = {}
        self.steps: list = []

    def on_batch_end(self, step, logs):
        if step % self.every:
            return
        self.steps.append(step)
        for name, value in gradient_norms(self.context.model).items():
            self.norms.setdefault(name, []).append(value)

    def state_dict(self) -> dict:
        return {"norms": self.norms, "steps": self.steps}

    def load_state_dict(self, state: dict) -> None:
        self.norms = {k: list(v) for k, v in state.get("norms", {}).items()}
        self.steps = list(state.get("steps", []))

    def plot(self, path=None, **kwargs):
        """Draw the history with :func:`glassnet.viz.plot_grad_norms`; returns the Path, or
        the matplotlib Figure when no path is given (a notebook shows it)."""
        from ..viz import plot_grad_norms
        return plot_grad_norms(self.norms, path, steps=self.steps, **kwargs)
