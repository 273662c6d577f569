"""A CNN as SVG: input → filters → feature maps → pooled maps → classifier.

Called by :func:`glassnet.viz.diagram` for a model with a convolution layer. Columns, left
to right, in the order the layers are registered:

* ``input`` (with ``x``): each channel of the first sample, ``<g class="map">``;
* per convolution layer: its filters (``<g class="filter">``, the mean over input channels
  when there are several; ``show="grad"`` draws ∂L/∂W) and, with ``x``, its feature maps
  after the activation that follows it (``<g class="map">``);
* per pooling layer (with ``x``): the pooled maps (``<g class="map">``);
* the dense classifier after the last of them, neurons and weights as for a dense network
  (its first column is the flattened input, capped like any layer).

At most ``max_channels`` maps or filters per column; a ``⋮`` (``class="ellipsis"``) stands
for the others.
"""
from __future__ import annotations

import numpy as np

from .diagram import (dense_activations, dense_layers, dense_svg, host, run_recorded,
                      shown_indices)
from .svg import esc, svg_document

__all__ = ["cnn_diagram"]

_BOX, _GAP, _COL, _TOP = 46, 16, 84, 46


def _stages(model, x, show: str) -> tuple:
    """``([(label, kind, [(title, 2-D array)])], calls)`` — the columns to draw."""
    from ..inspect import layer_role, recorded_modules, tensors_in
    calls = run_recorded(model, x) if x is not None else None
    outputs = {id(m): (k, o) for k, (_, m, _a, o) in enumerate(calls)} if calls else {}
    stages = []
    if x is not None:
        img = host(tensors_in(list(calls[0][2]))[0])[0]
        stages.append((f"input {tuple(img.shape)}", "map",
                       [(f"input channel {c}", img[c]) for c in range(img.shape[0])]))
    for name, m in recorded_modules(model):
        role = layer_role(m)
        if role == "conv" and m.weight.ndim == 4:
            w = m.weight.grad if show == "grad" else m.weight
            w = host(w) if w is not None else np.zeros(m.weight.shape)
            sym = "∂L/∂W" if show == "grad" else "W"
            how = f" (mean over {w.shape[1]} input channels)" if w.shape[1] > 1 else ""
            stages.append((f"{name}: {w.shape[0]} filters {w.shape[2]}×{w.shape[3]}", "filter",
                           [(f"filter {c}: {sym}[{c}]{how}", w[c].mean(axis=0))
                            for c in range(w.shape[0])]))
            if id(m) in outputs:
                at, out = outputs[id(m)]
                label = f"{name}: feature maps W ⊛ x + b"
                nxt = calls[at + 1] if at + 1 < len(calls) else None
                if nxt is not None and layer_role(nxt[1]) == "activation":
                    out, label = nxt[3], f"{name}→{nxt[0]}: {type(nxt[1]).__name__}(W ⊛ x + b)"
                fm = host(tensors_in(out)[0])[0]
                stride, pad = getattr(m, "stride", 1), getattr(m, "padding", 0)
                stages.append((label, "map",
                               [(f"feature map {c} {fm.shape[1:]} (stride {stride}, "
                                 f"padding {pad})", fm[c]) for c in range(fm.shape[0])]))
        elif role == "pool" and id(m) in outputs:
            pm = host(tensors_in(outputs[id(m)][1])[0])[0]
            if pm.ndim == 3:
                stages.append((f"{name}: {type(m).__name__} → {pm.shape[1]}×{pm.shape[2]}", "map",
                               [(f"pooled map {c}", pm[c]) for c in range(pm.shape[0])]))
    return stages, calls


def cnn_diagram(model, x=None, *, show: str = "weight", max_neurons: int = 10,
                max_channels: int = 6) -> str:
    """SVG text of a CNN (see the module docstring); ``x`` adds the input and the maps."""
    from .diagram import _DY
    from .diagram import _TOP as DENSE_TOP
    from .svg import heatmap
    stages, calls = _stages(model, x, show)
    dense = [d for d in dense_layers(model) if d[1].weight.ndim == 2]
    rows = max(len(shown_indices(len(items), max_channels)) for _, _, items in stages)
    height = _TOP + rows * (_BOX + _GAP) + 30
    if dense:
        sizes = [dense[0][1].weight.shape[1]] + [m.weight.shape[0] for _, m, _ in dense]
        slots = max(len(shown_indices(n, max_neurons)) for n in sizes)
        height = max(height, DENSE_TOP + slots * _DY + 30)
    mid = _TOP + (height - _TOP - 30) / 2
    body = ['<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" '
            'markerHeight="6" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#999"/>'
            "</marker></defs>"]
    for c, (label, kind, items) in enumerate(stages):
        xc = 20 + c * (_BOX + _COL)
        body.append(f'<text class="stage-label" x="{xc:.0f}" y="{_TOP - 26 + 12 * (c % 2)}" '
                    f'font-size="10">{esc(label)}</text>')
        idx = shown_indices(len(items), max_channels)
        y0 = mid - (len(idx) * (_BOX + _GAP) - _GAP) / 2
        scale = max(float(np.abs(a).max()) for _, a in items) or 1.0
        for s, i in enumerate(idx):
            y = y0 + s * (_BOX + _GAP)
            if i is None:
                body.append(f'<text class="ellipsis" x="{xc + _BOX / 2:.0f}" y="{y + 28:.0f}" '
                            f'text-anchor="middle" font-size="18">⋮<title>'
                            f"{len(items) - len(idx) + 1} not drawn</title></text>")
                continue
            title, a = items[i]
            body.append(heatmap(a, xc, y, _BOX, cls=kind, title=title, scale=scale,
                                attrs=f'data-stage="{c}" data-index="{i}"'))
        body.append(f'<line class="arrow" x1="{xc + _BOX + 8:.0f}" y1="{mid:.0f}" '
                    f'x2="{xc + _BOX + _COL - 8:.0f}" y2="{mid:.0f}" stroke="#999" '
                    'stroke-width="2" marker-end="url(#arrow)"/>')
    x0 = 20 + len(stages) * (_BOX + _COL) + 20
    width = x0 + 40
    if dense:
        cols = dense_activations(model, dense, x, calls) if calls is not None else None
        part, width, _ = dense_svg(dense, cols, show=show, max_neurons=max_neurons, x0=x0,
                                   height=height, first_label="flattened")
        body += part
    return svg_document(body, width, height,
                        f"{type(model).__name__}: input → filters → feature maps → pooled "
                        "maps → classifier")
