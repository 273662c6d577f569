"""What a network sees: first-layer filters, feature maps, RNN hidden states over time."""
from __future__ import annotations

import math

import numpy as np

from ._mpl import new_figure, save, to_numpy

__all__ = ["plot_filters", "plot_feature_maps", "plot_hidden_states", "conv_layers",
           "conv_outputs"]


def conv_layers(model) -> list:
    """``[(name, module)]`` of the convolution layers (a ``weight`` with 4 dims), in order."""
    out = []
    for name, m in model.named_modules():
        w = m._parameters.get("weight")
        if w is not None and w.ndim == 4:
            out.append((name, m))
    return out


def _integer_ticks():
    from matplotlib.ticker import MaxNLocator
    return MaxNLocator(integer=True)


def _grid(n: int, max_cols: int = 8):
    cols = min(n, max_cols)
    return math.ceil(n / cols), cols


def _norm01(a: np.ndarray) -> np.ndarray:
    lo, hi = float(a.min()), float(a.max())
    return (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)


def plot_filters(model_or_weight, path=None, *, max_filters: int = 64, size=(6.0, 6.0),
                 dpi: int = 100):
    """The first convolution layer's filters as an image grid.

    With 3 input channels each filter is shown in colour (RGB); otherwise the mean over
    input channels is shown in grey. Each filter is scaled to its own range.

    Args:
        model_or_weight: a model (its first layer with a 4-D ``weight`` is used) or a weight
            array (C_out, C_in, kH, kW).
        path: the PNG to write; ``None`` returns the matplotlib Figure instead.
        max_filters: show at most this many filters.

    Example:
        >>> gn.viz.plot_filters(cnn, "filters.png")
    """
    if hasattr(model_or_weight, "named_modules"):
        convs = conv_layers(model_or_weight)
        if not convs:
            raise ValueError("plot_filters: the model has no convolution layer (a 4-D weight)")
        w = convs[0][1].weight.array
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


def plot_feature_maps(model, x, path=None, *, max_channels: int = 64, cols: int = 8,
                      size=None, dpi: int = 100):
    """The input and the feature maps of every convolution layer for ONE input.

    The first row is the input image; then each convolution layer shows ALL its channels
    (up to ``max_channels``), wrapped over rows of ``cols`` maps.

    Args:
        model: a model with convolution layers.
        x: one input (C, H, W) or a batch whose first sample is used (1, C, H, W).
        path: the PNG to write; ``None`` returns the matplotlib Figure instead.
        max_channels: show at most this many channels per layer.
        cols: maps per row.

    Example:
        >>> gn.viz.plot_feature_maps(cnn, test_images[:1], "maps.png")
    """
    arr = np.asarray(to_numpy(x), dtype=np.float32)
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4:
        raise ValueError(f"plot_feature_maps(x): expected one image (C, H, W) or a batch "
                         f"(N, C, H, W), got shape {arr.shape}")
    maps = conv_outputs(model, arr[:1])
    rows = [("input", arr[0], 1)]
    for name, fmap in maps:
        n = min(fmap.shape[0], max_channels)
        rows += [(name, fmap[:n], -(-n // cols))]
    ncols = min(cols, max(fmap.shape[0] for _, fmap, _ in rows))
    nrows = sum(r for _, _, r in rows)
    size = size or (1.1 * ncols + 0.9, 1.15 * nrows + 0.3)
    fig, axes = new_figure(size, nrows, ncols)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_frame_on(False)
    r0 = 0
    for name, fmap, nrow in rows:
        if name == "input":
            img = fmap[0] if fmap.shape[0] == 1 else np.transpose(_norm01(fmap), (1, 2, 0))
            axes[r0, 0].imshow(img, cmap="gray", interpolation="nearest")
            axes[r0, 0].set_ylabel(f"input\n{tuple(fmap.shape)}", fontsize=7)
            r0 += 1
            continue
        for c in range(fmap.shape[0]):
            ax = axes[r0 + c // ncols, c % ncols]
            ax.imshow(fmap[c], cmap="viridis", interpolation="nearest")
            ax.set_title(f"ch {c}", fontsize=6, pad=2)
        axes[r0, 0].set_ylabel(f"layer {name}\n{tuple(fmap.shape)}", fontsize=7)
        r0 += nrow
    return save(fig, path, dpi)


def conv_outputs(model, x: np.ndarray) -> list:
    """``[(layer name, output (C, H, W))]`` of every convolution layer for the first sample
    of ``x`` (eval mode, no gradients)."""
    from ..inspect import watch_forward
    from ..tensor import Tensor, no_grad
    convs = {id(m) for _, m in conv_layers(model)}
    if not convs:
        raise ValueError("plot_feature_maps: the model has no convolution layer")
    maps = []

    def grab(name, module, args, out):
        if id(module) in convs:
            maps.append((name, np.asarray(out.array[0])))

    was_training = model.training
    model.eval()
    try:
        with no_grad(), watch_forward(model, grab):
            model(Tensor(np.asarray(x, dtype=np.float32)[:1]))
    finally:
        model.train(was_training)
    return maps


def plot_hidden_states(states, path=None, *, model=None, size=(8.0, 3.5), dpi: int = 100):
    """RNN hidden state over time as a heatmap (time steps across, hidden units down).

    Args:
        states: the hidden states (L, H) of one sequence, or a batch (N, L, H) / (L, N, H)
            whose first sequence is used; or, with ``model``, the input sequence to run.
        path: the PNG to write; ``None`` returns the matplotlib Figure instead.
        model: optional; a model whose first recurrent layer's output is recorded while it
            runs on ``states`` (then an input of shape (N, L, H_in) or (L, N, H_in)).

    Example:
        >>> out, h_n = rnn(x)                       # out: (L, N, H)
        >>> gn.viz.plot_hidden_states(out.array[:, 0], "hidden.png")
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
    steps = h.shape[0]
    im = ax.imshow(h.T, aspect="auto", cmap="coolwarm", vmin=-lim, vmax=lim,
                   interpolation="nearest", extent=(0.5, steps + 0.5, h.shape[1] - 0.5, -0.5))
    ticks = range(1, steps + 1) if steps <= 25 else range(1, steps + 1, -(-steps // 20))
    ax.set_xticks(list(ticks))
    ax.yaxis.set_major_locator(_integer_ticks())
    ax.set_xlabel(f"time step t (1 … {steps})")
    ax.set_ylabel("hidden unit")
    ax.set_title("hidden state h_t")
    fig.colorbar(im, ax=ax)
    return save(fig, path, dpi)


def _record_recurrent(model, x) -> np.ndarray:
    from ..inspect import tensors_in, watch_forward
    from ..tensor import Tensor, no_grad
    found = []

    def grab(name, module, args, out):
        if not found and any(n.startswith("weight_hh") for n in module._parameters):
            seq = tensors_in(out)[0].array
            first = getattr(module, "batch_first", False)
            found.append(seq if seq.ndim == 2 else (seq[0] if first else seq[:, 0]))

    with no_grad(), watch_forward(model, grab):
        model(x if isinstance(x, Tensor) else Tensor(np.asarray(x, dtype=np.float32)))
    if not found:
        raise ValueError("plot_hidden_states(model=...): the model has no recurrent layer")
    return found[0]
