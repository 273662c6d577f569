"""Network diagrams as SVG text: ``gn.viz.diagram(model, x=None)``.

What is drawn depends on the model (no new dependency; the SVG is plain text a notebook,
a browser or report.html shows):

* a **dense network** (Linear layers and activations): one ``<circle class="neuron">`` per
  neuron and one ``<line class="weight">`` per weight drawn. A weight's colour is its sign
  (blue +, orange −) and its width and opacity its size, relative to the largest |w| of its
  layer; ``show="grad"`` draws ``∂L/∂w`` instead (after ``loss.backward()``). With an input
  ``x`` each neuron is filled by its activation for the first sample (same colours) and
  labelled with it.
* a **CNN** (a layer with a 4-D weight): input → filters → feature maps (after the
  activation) → pooled maps → classifier, one ``<g class="map">`` per map and one
  ``<g class="filter">`` per filter, then the dense classifier as above (see
  :mod:`glassnet.viz.diagram_cnn`).
* an **RNN** (a layer with ``weight_hh``): unrolled over time, the input x_t and the hidden
  state h_t of every drawn step as neurons with their values (see
  :mod:`glassnet.viz.diagram_rnn`).

**Caps.** A layer with more than ``max_neurons`` neurons shows its first and last
``max_neurons // 2`` (rounded so the total is ``max_neurons``) with one
``<text class="ellipsis">⋮</text>`` standing for the rest; weights are drawn only between
drawn neurons. At most ``max_channels`` maps/filters per CNN stage and ``max_steps`` RNN
time steps are drawn, with the same marker. Every drawn element carries a ``<title>`` with
its numbers (a tooltip in a browser).
"""
from __future__ import annotations

import numpy as np

from ..backend import to_host
from .svg import esc, signed_colour, svg_document

__all__ = ["diagram", "shown_indices", "dense_layers", "host"]

SHOWS = ("weight", "grad")
_DX, _DY, _R, _TOP = 170, 34, 11, 46


def host(a) -> np.ndarray:
    """A Tensor's data or an array, on the host as float64 (copied from a device)."""
    from ..tensor import Tensor
    return np.asarray(to_host(a.array if isinstance(a, Tensor) else a), dtype=np.float64)


def shown_indices(n: int, cap: int) -> list:
    """The indices drawn for ``n`` neurons under a cap: all, or the first and last ones with
    ``None`` where the ellipsis marker goes."""
    if n <= cap:
        return list(range(n))
    head = (cap + 1) // 2
    tail = cap - head
    return list(range(head)) + [None] + list(range(n - tail, n))


def dense_layers(model) -> list:
    """``[(name, Linear-like module, activation module or None)]`` in registration order."""
    from ..inspect import layer_role, recorded_modules
    layers, out = recorded_modules(model), []
    for k, (name, m) in enumerate(layers):
        if layer_role(m) == "dense":
            nxt = layers[k + 1][1] if k + 1 < len(layers) else None
            act = nxt if nxt is not None and _is_activation(nxt) else None
            out.append((name, m, act))
    return out


def _is_activation(m) -> bool:
    """A known activation, or a parameter-free custom layer (e.g. a step function)."""
    from ..inspect import layer_role
    role = layer_role(m)
    return role == "activation" or (role == "other" and not m._parameters and not m._modules)


def diagram(model, x=None, *, show: str = "weight", max_neurons: int = 10,
            max_channels: int = 6, max_steps: int = 8) -> str:
    """The network as SVG text: neurons and weights, CNN stages, or an RNN over time.

    Args:
        model: a ``gn.nn.Module``.
        x: optional input batch; the first sample's activations colour the neurons (and,
            for a CNN, draw its feature maps; for an RNN, its hidden states). The model runs
            once in eval mode without gradients; its weights are not changed.
        show: ``"weight"`` (default) or ``"grad"``: colour and size the edges by ∂L/∂w
            (the gradients of the last ``backward()``).
        max_neurons: neurons drawn per layer at most (see the module docstring).
        max_channels: maps or filters drawn per CNN stage at most.
        max_steps: time steps drawn at most for an RNN.

    Returns:
        The ``<svg>…</svg>`` text.

    Raises:
        ValueError: an unknown ``show``, caps below 2, ``show="grad"`` before any
            ``backward()``, or a model with nothing to draw.

    Example:
        >>> svg = gn.viz.diagram(nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)))
        >>> open("net.svg", "w").write(svg)
    """
    from ..inspect import layer_role
    if show not in SHOWS:
        raise ValueError(f"diagram(show={show!r}): expected one of {list(SHOWS)}")
    for arg, v in (("max_neurons", max_neurons), ("max_channels", max_channels),
                   ("max_steps", max_steps)):
        if not isinstance(v, int) or v < 2:
            raise ValueError(f"diagram({arg}={v!r}): expected an integer >= 2")
    roles = {layer_role(m) for _, m in model.named_modules()}
    if show == "grad" and not any(p.grad is not None for p in model.parameters()):
        raise ValueError("diagram(show='grad'): the model has no gradients yet; run "
                         "loss.backward() first")
    if "conv" in roles:
        from .diagram_cnn import cnn_diagram
        return cnn_diagram(model, x, show=show, max_neurons=max_neurons,
                           max_channels=max_channels)
    if "recurrent" in roles:
        from .diagram_rnn import rnn_diagram
        return rnn_diagram(model, x, max_neurons=max_neurons, max_steps=max_steps)
    dense = dense_layers(model)
    if not dense:
        raise ValueError(f"diagram: {type(model).__name__} has no Linear, convolution or "
                         "recurrent layer to draw")
    columns = dense_activations(model, dense, x) if x is not None else None
    body, width, height = dense_svg(dense, columns, show=show, max_neurons=max_neurons)
    return svg_document(body, width, height, f"{type(model).__name__}: neurons and weights")


def run_recorded(model, x) -> list:
    """``[(name, module, args, output)]`` of one forward pass on ``x`` (eval, no grad)."""
    from ..inspect import watch_forward
    from ..tensor import Tensor, no_grad
    from ..train.device import model_device
    calls = []
    x = x if isinstance(x, Tensor) else Tensor(np.asarray(x, dtype=np.float32))
    was_training = model.training
    model.eval()
    try:
        with no_grad(), watch_forward(model, lambda n, m, a, o: calls.append((n, m, a, o))):
            model(x.to(model_device(model)))
    finally:
        model.train(was_training)
    return calls


def dense_activations(model, dense, x, calls=None) -> list:
    """The values of each drawn column for the first sample: the input of the first dense
    layer, then each dense layer's output after its activation (if any)."""
    from ..inspect import tensors_in
    calls = calls if calls is not None else run_recorded(model, x)
    index = {id(m): k for k, (_, m, _a, _o) in enumerate(calls)}
    cols = []
    for j, (_, m, act) in enumerate(dense):
        k = index.get(id(m))
        if k is None:
            return None
        _, _, args, out = calls[k]
        if j == 0:
            cols.append(host(tensors_in(list(args))[0])[0].ravel())
        after = out
        if act is not None and k + 1 < len(calls) and calls[k + 1][1] is act:   # a = f(z)
            after = calls[k + 1][3]
        cols.append(host(tensors_in(after)[0])[0].ravel())
    return cols


def _neuron_y(slot: int, slots: int, height: float) -> float:
    return _TOP + (height - _TOP - 20) / 2 + (slot - (slots - 1) / 2) * _DY


def dense_svg(dense, columns, *, show: str, max_neurons: int, x0: float = 40,
              height: float | None = None, first_label: str = "input") -> tuple:
    """``(svg parts, width, height)`` of dense layers drawn from ``x0``; ``columns`` are the
    neuron values per column (or None)."""
    sizes = [dense[0][1].weight.shape[1]] + [m.weight.shape[0] for _, m, _ in dense]
    shown = [shown_indices(n, max_neurons) for n in sizes]
    slots = max(len(s) for s in shown)
    height = height or _TOP + slots * _DY + 30
    width = x0 + _DX * (len(sizes) - 1) + 90
    pos = [{i: (x0 + c * _DX, _neuron_y(s, len(idx), height)) for s, i in enumerate(idx)
            if i is not None} for c, idx in enumerate(shown)]
    body = []
    for c, (name, m, _) in enumerate(dense):                # edges first, under the neurons
        grad = m.weight.grad
        w = host(grad if show == "grad" else m.weight) if show != "grad" or grad is not None \
            else np.zeros(m.weight.shape)
        scale = float(np.abs(w).max()) or 1.0
        sym = "∂L/∂w" if show == "grad" else "w"
        for j, (xj, yj) in pos[c + 1].items():
            for i, (xi, yi) in pos[c].items():
                v = w[j, i]
                t = min(abs(v) / scale, 1.0)
                body.append(
                    f'<line class="weight" data-layer="{esc(name)}" data-in="{i}" '
                    f'data-out="{j}" x1="{xi + _R:.1f}" y1="{yi:.1f}" x2="{xj - _R:.1f}" '
                    f'y2="{yj:.1f}" stroke="{signed_colour(v, scale)}" '
                    f'stroke-width="{0.4 + 3.6 * t:.2f}" stroke-opacity="{0.3 + 0.7 * t:.2f}">'
                    f"<title>layer {esc(name)}: {sym}[{j},{i}] = {v:.4g}</title></line>")
    biases = [None] + [host(m.bias) if m.bias is not None else None for _, m, _ in dense]
    for c, idx in enumerate(shown):
        xc = x0 + c * _DX
        if c == 0:
            label = f"{first_label} ({sizes[0]})"
        else:
            name, m, act = dense[c - 1]
            label = f"{name}: Linear {sizes[c - 1]}→{sizes[c]}"
            label += f" + {type(act).__name__}" if act is not None else ""
        body.append(f'<text class="layer-label" x="{xc:.0f}" y="{_TOP - 24}" '
                    f'text-anchor="middle">{esc(label)}</text>')
        vals = columns[c] if columns is not None else None
        vscale = float(np.abs(vals).max()) if vals is not None and vals.size else 0.0
        bias = biases[c]
        for s, i in enumerate(idx):
            y = _neuron_y(s, len(idx), height)
            if i is None:
                body.append(f'<text class="ellipsis" x="{xc:.0f}" y="{y + 5:.0f}" '
                            f'text-anchor="middle" font-size="18">⋮<title>'
                            f"{sizes[c] - len(idx) + 1} neurons not drawn</title></text>")
                continue
            tip = f"column {c}, neuron {i}"
            fill = "#fff"
            if bias is not None:
                tip += f": b = {bias[i]:.4g}"
            if vals is not None:
                fill = signed_colour(vals[i], vscale)
                tip += f", a = {vals[i]:.4g}"
            body.append(f'<circle class="neuron" data-column="{c}" data-index="{i}" '
                        f'cx="{xc:.1f}" cy="{y:.1f}" r="{_R}" fill="{fill}" stroke="#333">'
                        f"<title>{esc(tip)}</title></circle>")
            if vals is not None:
                body.append(f'<text x="{xc + _R + 3:.1f}" y="{y - _R + 2:.1f}" '
                            f'font-size="9">{vals[i]:.3g}</text>')
    what = "∂L/∂w (after backward)" if show == "grad" else "weights"
    body.append(f'<text x="{x0 - 30}" y="{height - 8:.0f}" fill="#555">edges: {what}, blue + / '
                f"orange −, width ∝ |value|"
                + ("; neurons: activation of sample 0" if columns is not None else "")
                + "</text>")
    return body, width, height
