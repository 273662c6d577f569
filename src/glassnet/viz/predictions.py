"""Results: confusion matrix, sample predictions with probabilities, forecast vs actual."""
from __future__ import annotations

import numpy as np

from ._mpl import new_figure, save, to_numpy

__all__ = ["confusion_matrix", "plot_confusion_matrix", "plot_predictions", "plot_forecast"]


def confusion_matrix(y_true, y_pred, num_classes: int | None = None) -> np.ndarray:
    """Counts C[i, j] = number of samples of true class i predicted as class j.

    Example:
        >>> confusion_matrix([0, 1, 1], [0, 1, 0])
        array([[1, 0],
               [1, 1]])
    """
    t = np.asarray(to_numpy(y_true)).astype(np.int64).ravel()
    p = np.asarray(to_numpy(y_pred)).astype(np.int64).ravel()
    if t.shape != p.shape:
        raise ValueError(f"confusion_matrix: y_true has {t.size} labels, y_pred {p.size}")
    k = num_classes or int(max(t.max(initial=-1), p.max(initial=-1))) + 1
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (t, p), 1)
    return cm


def plot_confusion_matrix(y_true, y_pred, path=None, *, class_names=None, normalize: bool = False,
                          size=(5.5, 5.0), dpi: int = 100):
    """The confusion matrix as a heatmap with counts (or row fractions when ``normalize``).

    Args:
        y_true, y_pred: class indices (N,).
        path: the PNG to write; ``None`` returns the matplotlib Figure instead.
        class_names: labels for the axes (default 0..K−1).
        normalize: show each row as fractions of that true class.

    Example:
        >>> gn.viz.plot_confusion_matrix(y_test, logits.argmax(1), "confusion.png")
    """
    cm = confusion_matrix(y_true, y_pred,
                          len(class_names) if class_names is not None else None)
    shown = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalize else cm
    k = cm.shape[0]
    names = [str(c) for c in (class_names if class_names is not None else range(k))]
    fig, axes = new_figure(size)
    ax = axes[0, 0]
    im = ax.imshow(shown, cmap="Blues")
    ax.set_xticks(range(k), names, rotation=45 if k > 10 else 0, fontsize=8)
    ax.set_yticks(range(k), names, fontsize=8)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    acc = np.trace(cm) / max(cm.sum(), 1)
    ax.set_title(f"confusion matrix (accuracy {acc:.3f})")
    if k <= 15:
        top = shown.max() or 1
        for i in range(k):
            for j in range(k):
                ax.text(j, i, f"{shown[i, j]:.2f}" if normalize else str(cm[i, j]),
                        ha="center", va="center", fontsize=7,
                        color="white" if shown[i, j] > top / 2 else "black")
    fig.colorbar(im, ax=ax)
    return save(fig, path, dpi)


def plot_predictions(images, probs, path=None, *, labels=None, class_names=None, top_k: int = 3,
                     max_samples: int = 8, size=None, dpi: int = 100):
    """Sample inputs with the model's top-k class probabilities as bars beneath each.

    Args:
        images: (N, H, W), (N, 1, H, W), (N, 3, H, W) or flat (N, H·W) with a square H·W.
        probs: (N, K) probabilities (e.g. ``softmax(logits)``).
        path: the PNG to write; ``None`` returns the matplotlib Figure instead.
        labels: optional true classes (N,); a wrong top prediction is drawn in red.
        class_names: optional names for the K classes.
        top_k: how many classes to show per sample.

    Example:
        >>> p = gn.softmax(model(x[:8]), -1).array
        >>> gn.viz.plot_predictions(x[:8], p, "predictions.png", labels=y[:8])
    """
    imgs = np.asarray(to_numpy(images), dtype=np.float32)
    p = np.asarray(to_numpy(probs), dtype=np.float64)
    n = min(len(imgs), len(p), max_samples)
    if imgs.ndim == 2:
        side = int(round(np.sqrt(imgs.shape[1])))
        if side * side != imgs.shape[1]:
            raise ValueError(f"plot_predictions(images): flat inputs of {imgs.shape[1]} "
                             f"values are not a square image")
        imgs = imgs.reshape(-1, side, side)
    names = [str(c) for c in (class_names if class_names is not None else range(p.shape[1]))]
    k = min(top_k, p.shape[1])
    size = size or (max(2.0 * n, 4.0), 4.4)
    fig, axes = new_figure(size, 2, n, height_ratios=[3, 2])
    true = np.asarray(to_numpy(labels)).astype(np.int64).ravel() if labels is not None else None
    for i in range(n):
        img = imgs[i]
        if img.ndim == 3 and img.shape[0] in (1, 3):
            img = img[0] if img.shape[0] == 1 else np.transpose(img, (1, 2, 0))
        ax = axes[0, i]
        ax.imshow(img, cmap="gray" if img.ndim == 2 else None)
        ax.axis("off")
        order = np.argsort(-p[i])[:k]
        wrong = true is not None and int(true[i]) != order[0]
        title = f"pred {names[order[0]]}"
        if true is not None:
            title += f"\ntrue {names[int(true[i])]}"
        ax.set_title(title, fontsize=10, color="red" if wrong else "black")
        bx = axes[1, i]
        ys = np.arange(k)[::-1]
        bx.barh(ys, p[i][order], height=0.75,
                color=["tab:red" if wrong else "tab:blue"] + ["tab:gray"] * (k - 1))
        for yy, j in zip(ys, order):
            bx.text(min(p[i][j], 0.98) + 0.02, yy, f"{100 * p[i][j]:.0f}%", va="center",
                    fontsize=8)
        bx.set_yticks(ys, [names[j] for j in order], fontsize=9)
        bx.set_xlim(0, 1.3)
        bx.set_xticks([])
        for side in ("top", "right", "bottom"):
            bx.spines[side].set_visible(False)
    return save(fig, path, dpi)


def plot_forecast(actual, forecast, path=None, *, history=None, size=(8.0, 3.5), dpi: int = 100,
                  title: str = "forecast vs actual"):
    """Forecasts against actual values of a time series.

    Args:
        actual: the true values over the forecast horizon (T,).
        forecast: the predicted values (T,), aligned with ``actual``.
        path: the PNG to write; ``None`` returns the matplotlib Figure instead.
        history: optional values before the horizon, drawn first for context.

    Example:
        >>> gn.viz.plot_forecast(y_test, model(x_test).array.ravel(), "forecast.png",
        ...                      history=y_train[-100:])
    """
    a = np.asarray(to_numpy(actual), dtype=np.float64).ravel()
    f = np.asarray(to_numpy(forecast), dtype=np.float64).ravel()
    if a.shape != f.shape:
        raise ValueError(f"plot_forecast: actual has {a.size} values, forecast {f.size}")
    fig, axes = new_figure(size)
    ax = axes[0, 0]
    start = 0
    if history is not None:
        hist = np.asarray(to_numpy(history), dtype=np.float64).ravel()
        ax.plot(range(len(hist)), hist, color="gray", label="history")
        start = len(hist)
    t = np.arange(start, start + len(a))
    ax.plot(t, a, color="black", label="actual")
    ax.plot(t, f, "--", color="tab:orange", label="forecast")
    mae = float(np.abs(a - f).mean()) if a.size else float("nan")
    ax.set_title(f"{title} (MAE {mae:.4g})")
    ax.set_xlabel("time step")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save(fig, path, dpi)
