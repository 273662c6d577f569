"""What a network sees: first-layer filters, feature maps, RNN hidden states over time."""
from __future__ import annotations

import math

import numpy as np

from ._mpl import new_figure, save, to_numpy

__all__ = ["plot_filters", "plot_feature_maps", "plot_hidden_states", "conv_layers"]


def conv_layers(model) -> list:
    """``[(name, module)]`` of the convolution layers (a ``weight`` with 4 dims), in order."""
    out = []
    for name, m in model.named_modules():
        w = m._parameters.get("weight")
        if w is not None and w.ndim == 4:
            out.append((name, m))
    return out


def _grid(n: int, max_cols: int = 8):
    cols = min(n, max_cols)
    return math.ceil(n / cols), cols


def _norm01(a: np.ndarray) -> np.ndarray:
    lo, hi = float(a.min()), float(a.max())
    return (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)


def plot_filters(model_or_weight, path, *, max_filters: int = 64, size=(6.0, 6.0),
                 dpi: int = 100):
    """The first convolution layer's filters as an image grid.

    With 3 input channels each filter is shown in colour (RGB); otherwise the mean over
    input channels is shown in grey. Each filter is scaled to its own range.

    Args:
        model_or_weight: a model (its first layer with a 4-D ``weight`` is used) or a weight
            array (C_out, C_in, kH, kW).
        path: the PNG to write.
        max_filters: show at most this many filters.

    Example:
        >>> gn.viz.plot_filters(cnn, "filters.png")
    """
    if hasattr(model_or_weight, "named_modules"):
        convs = conv_layers(model_or_weight)
        if not convs:
            raise ValueError("plot_filters: the model has no convolution layer (a 4-D weight)")
        w = convs[0][1].weight.data
    else:
        w = to_numpy(model_or_weight)
    if w.ndim != 4:
        raise ValueError(f"plot_filters: expected a weight (C_out, C_in, kH, kW), got {w.shape}")
    n = min(w.shape[0], max_filters)
    rows, cols = _grid(n)
    fig, axes = new_figure(size, rows, cols)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        f = w[i]
        if f.shape[0] == 3:
            ax.imshow(_norm01(np.transpose(f, (1, 2, 0))), interpolation="nearest")
        else:
            ax.imshow(f.mean(axis=0), cmap="gray", interpolation="nearest")
        ax.set_title(str(i), fontsize=7)
    fig.suptitle(f"first-layer filters {tuple(w.shape)}", fontsize=9)
    return save(fig, path, dpi)


def plot_feature_maps(model, x, path, *, max_channels: int = 8, size=None, dpi: int = 100):
    """Feature maps of every convolution layer for ONE input: a row per layer, a column per
    channel (the first ``max_channels``).

    Args:
        model: a model with convolution layers.
        x: one input (C, H, W) or a batch whose first sample is used (1, C, H, W).
        path: the PNG to write.

    Example:
        >>> gn.viz.plot_feature_maps(cnn, test_images[:1], "maps.png")
    """
    from ..inspect._hooks import watch_forward
    from ..tensor import Tensor, no_grad
    arr = np.asarray(to_numpy(x), dtype=np.float32)
    if arr.ndim == 3:
        arr = arr[None]
    arr = arr[:1]
    convs = {id(m) for _, m in conv_layers(model)}
    if not convs:
        raise ValueError("plot_feature_maps: the model has no convolution layer")
    maps = []

    def grab(name, module, args, out):
        if id(module) in convs:
            maps.append((name, np.asarray(out.data[0])))

    was_training = model.training
    model.eval()
    try:
        with no_grad(), watch_forward(model, grab):
            model(Tensor(arr))
    finally:
        model.train(was_training)
    cols = min(max_channels, max(m.shape[0] for _, m in maps))
    size = size or (1.2 * cols + 0.6, 1.3 * len(maps) + 0.4)
    fig, axes = new_figure(size, len(maps), cols)
    for r, (name, fmap) in enumerate(maps):
        for c in range(cols):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c < fmap.shape[0]:
                ax.imshow(fmap[c], cmap="viridis", interpolation="nearest")
            if c == 0:
                ax.set_ylabel(f"layer {name}\n{tuple(fmap.shape)}", fontsize=7)
            if r == 0:
                ax.set_title(f"ch {c}", fontsize=7)
    return save(fig, path, dpi)


def plot_hidden_states(states, path, *, model=None, size=(8.0, 3.5), dpi: int = 100):
    """RNN hidden state over time as a heatmap (time steps across, hidden units down).

    Args:
        states: the hidden states (L, H) of one sequence, or a batch (N, L, H) / (L, N, H)
            whose first sequence is used; or, with ``model``, the input sequence to run.
        path: the PNG to write.
        model: optional; a model whose first recurrent layer's output is recorded while it
            runs on ``states`` (then an input of shape (N, L, H_in) or (L, N, H_in)).

    Example:
        >>> out, h_n = rnn(x)                       # out: (L, N, H)
        >>> gn.viz.plot_hidden_states(out.data[:, 0], "hidden.png")
    """
    if model is not None:
        states = _record_recurrent(model, states)
    h = np.asarray(to_numpy(states), dtype=np.float64)
    if h.ndim == 3:
        h = h[0]
    if h.ndim != 2:
        raise ValueError(f"plot_hidden_states: expected states (L, H), got shape {h.shape}")
    fig, axes = new_figure(size)
    ax = axes[0, 0]
    lim = float(np.abs(h).max()) or 1.0
    im = ax.imshow(h.T, aspect="auto", cmap="coolwarm", vmin=-lim, vmax=lim,
                   interpolation="nearest")
    ax.set_xlabel("time step t")
    ax.set_ylabel("hidden unit")
    ax.set_title("hidden state h_t")
    fig.colorbar(im, ax=ax)
    return save(fig, path, dpi)


def _record_recurrent(model, x) -> np.ndarray:
    from ..inspect._hooks import tensors_in, watch_forward
    from ..tensor import Tensor, no_grad
    found = []

    def grab(name, module, args, out):
        if not found and any(n.startswith("weight_hh") for n in module._parameters):
            seq = tensors_in(out)[0].data
            first = getattr(module, "batch_first", False)
            found.append(seq if seq.ndim == 2 else (seq[0] if first else seq[:, 0]))

    with no_grad(), watch_forward(model, grab):
        model(x if isinstance(x, Tensor) else Tensor(np.asarray(x, dtype=np.float32)))
    if not found:
        raise ValueError("plot_hidden_states(model=...): the model has no recurrent layer")
    return found[0]
