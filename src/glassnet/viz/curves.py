"""Training curves: loss and metrics per epoch, learning-rate schedule, gradient norms."""
from __future__ import annotations

import numpy as np

from ._mpl import new_figure, save

__all__ = ["plot_history", "plot_lr", "plot_grad_norms", "history_dict"]


def _integer_ticks():
    from matplotlib.ticker import MaxNLocator
    return MaxNLocator(integer=True)


def _key(name: str) -> str:
    """``train_x`` -> ``x`` and ``valid_x`` / ``validation_x`` -> ``val_x`` (the apps' names
    for training and validation values), so each pair shares a panel with the right legend."""
    for prefix, to in (("train_", ""), ("valid_", "val_"), ("validation_", "val_")):
        if name.startswith(prefix) and len(name) > len(prefix):
            return to + name[len(prefix):]
    return name


def history_dict(history) -> dict:
    """``{key: [value per epoch]}`` from a History, a dict of lists, or a list of per-epoch
    dicts (the rows of ``metrics.jsonl``); ``train_x`` / ``valid_x`` become ``x`` / ``val_x``."""
    if hasattr(history, "history") and isinstance(history.history, dict):
        history = history.history
    if isinstance(history, dict):
        return {_key(k): [float(v) for v in vals] for k, vals in history.items()
                if isinstance(vals, (list, tuple, np.ndarray))}
    out = {}
    for row in history:
        for k, v in row.items():
            if k != "epoch" and isinstance(v, (int, float)):
                out.setdefault(_key(k), []).append(float(v))
    return out


def plot_history(history, path=None, *, keys=None, size=(8.0, 3.5), dpi: int = 100):
    """Loss and metric curves: one panel per quantity, training and validation together.

    Args:
        history: a ``History``, ``{"loss": [...], "val_loss": [...], "accuracy": [...]}``,
            or a list of per-epoch dicts.
        path: the PNG to write; ``None`` returns the matplotlib Figure instead.
        keys: the base names to plot (default: every key except ``lr``; ``val_x`` joins
            ``x``).
        size, dpi: figure size in inches and resolution; the PNG is size × dpi pixels.

    Returns:
        The ``Path`` written.

    Example:
        >>> gn.viz.plot_history({"loss": [1.0, .5], "val_loss": [1.1, .7]}, "curves.png")
    """
    h = history_dict(history)
    if not h:
        raise ValueError("plot_history(history): no per-epoch values to plot")
    bases = keys or list(dict.fromkeys(k[4:] if k.startswith("val_") else k for k in h
                                       if k != "lr"))
    fig, axes = new_figure(size, 1, max(1, len(bases)))
    for ax, base in zip(axes[0], bases):
        for key, style in ((base, "-o"), (f"val_{base}", "--s")):
            if key in h:
                ys = h[key]
                ax.plot(range(1, len(ys) + 1), ys, style, ms=3,
                        label="validation" if key.startswith("val_") else "training")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(_integer_ticks())
        ax.set_title(base)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return save(fig, path, dpi)


def plot_lr(lrs, path=None, *, size=(6.0, 3.0), dpi: int = 100, xlabel: str = "epoch"):
    """The learning-rate schedule: η per epoch (or per step).

    Args:
        lrs: the learning rates in order (e.g. ``history["lr"]``), or a History/dict with
            an ``lr`` key.
        path: the PNG to write; ``None`` returns the matplotlib Figure instead.

    Example:
        >>> gn.viz.plot_lr([0.1 * 0.5 ** (e // 10) for e in range(30)], "lr.png")
    """
    if not isinstance(lrs, (list, tuple, np.ndarray)):
        lrs = history_dict(lrs).get("lr")
        if lrs is None:
            raise ValueError("plot_lr(lrs): the history has no 'lr' key")
    fig, axes = new_figure(size)
    ax = axes[0, 0]
    ax.plot(range(1, len(lrs) + 1), lrs, "-o", ms=3)
    ax.set_xlabel(xlabel)
    ax.xaxis.set_major_locator(_integer_ticks())
    ax.set_ylabel("learning rate η")
    ax.set_title("learning-rate schedule")
    ax.grid(alpha=0.3)
    return save(fig, path, dpi)


def plot_grad_norms(norms: dict, path=None, *, steps=None, size=(7.0, 4.0),
                    dpi: int = 100):
    """Per-layer gradient-norm history ‖∂L/∂W‖ on a log scale (vanishing/exploding gradients).

    Args:
        norms: ``{layer name: [norm per step or epoch]}``.
        path: the PNG to write; ``None`` returns the matplotlib Figure instead.
        steps: the step number of each value (default 1, 2, …).

    Example:
        >>> gn.viz.plot_grad_norms({"0.weight": [1.0, .5], "2.weight": [.1, .05]}, "g.png")
    """
    if not norms:
        raise ValueError("plot_grad_norms(norms): empty")
    fig, axes = new_figure(size)
    ax = axes[0, 0]
    for name, vals in norms.items():
        vals = np.maximum(np.asarray(vals, dtype=float), 1e-30)
        xs = steps if steps is not None and len(steps) == len(vals) else range(1, len(vals) + 1)
        ax.plot(xs, vals, label=name)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("‖∂L/∂W‖")
    ax.set_title("gradient norm per layer")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, ncol=2)
    return save(fig, path, dpi)
