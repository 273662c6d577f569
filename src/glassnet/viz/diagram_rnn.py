"""An RNN unrolled over time as SVG, with the hidden-state values.

Called by :func:`glassnet.viz.diagram` for a model with a recurrent layer (the first one is
drawn). One column per time step t = 1 … L: the input x_t below (``<circle class="neuron"
data-role="x">``), the hidden state h_t above (``data-role="h"``), an arrow ``W_ih`` from
x_t to h_t and an arrow ``W_hh`` from h_{t−1} to h_t (the same weights at every step). The
column h_0 = 0 comes first; the model's output ŷ for the first sample last
(``data-role="y"``). With an input ``x`` every neuron is coloured and labelled by its value
for the first sample; without one, three steps are drawn without values.

Caps: at most ``max_neurons`` units per block and ``max_steps`` time steps (the first and
last ones, an ``class="ellipsis"`` column for the rest).
"""
from __future__ import annotations

import numpy as np

from .diagram import host, run_recorded, shown_indices
from .svg import esc, signed_colour, svg_document

__all__ = ["rnn_diagram"]

_DX, _DY, _R, _TOP = 92, 26, 9, 40


def _recurrent(model):
    from ..inspect import layer_role, recorded_modules
    for name, m in recorded_modules(model):
        if layer_role(m) == "recurrent":
            return name, m
    raise ValueError(f"diagram: {type(model).__name__} has no recurrent layer")


def _values(model, rnn, x):
    """``(x_seq (L, H_in), h_seq (L, H), y (K,))`` of the first sample."""
    from ..inspect import tensors_in
    calls = run_recorded(model, x)
    first = getattr(rnn, "batch_first", False)
    for _, m, args, out in calls:
        if m is rnn:
            xs = host(tensors_in(list(args))[0])
            hs = host(tensors_in(out)[0])
            if xs.ndim == 2:                              # unbatched (L, H_in)
                xs, hs = xs[None], hs[None]
            elif not first:
                xs, hs = np.swapaxes(xs, 0, 1), np.swapaxes(hs, 0, 1)
            y = host(tensors_in(calls[-1][3])[0])
            y = y[0] if y.ndim > 1 else y
            return xs[0], hs[0], None if calls[-1][1] is rnn else y.ravel()
    raise ValueError("diagram: the recurrent layer did not run on x")


def rnn_diagram(model, x=None, *, max_neurons: int = 10, max_steps: int = 8) -> str:
    """SVG text of the first recurrent layer unrolled over time (see the module docstring)."""
    from ..inspect.notation import forward_notation
    name, rnn = _recurrent(model)
    h_in, h_size = int(rnn.input_size), int(rnn.hidden_size)
    if x is not None:
        xs, hs, y = _values(model, rnn, x)
    else:
        xs, hs, y = None, None, None
    steps = hs.shape[0] if hs is not None else 3
    times = shown_indices(steps, max_steps)
    hid, inp = shown_indices(h_size, max_neurons), shown_indices(h_in, max_neurons)
    out_idx = shown_indices(len(y), max_neurons) if y is not None else []
    h_top = _TOP + 20
    x_top = h_top + len(hid) * _DY + 50
    height = x_top + len(inp) * _DY + 40
    width = 60 + (len(times) + 1) * _DX + (_DX if y is not None else 0) + 40
    hscale = float(np.abs(hs).max()) if hs is not None else 0.0
    xscale = float(np.abs(xs).max()) if xs is not None else 0.0
    body = [f'<text x="10" y="16" font-size="11">{esc(name or type(rnn).__name__)}: '
            f"{esc(forward_notation(rnn))}</text>",
            '<defs><marker id="rarrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" '
            'markerHeight="6" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#888"/>'
            "</marker></defs>"]

    def block(xc, top, idx, vals, scale, role, t, label):
        body.append(f'<text x="{xc:.0f}" y="{top - 10:.0f}" text-anchor="middle">'
                    f"{esc(label)}</text>")
        for s, i in enumerate(idx):
            yc = top + s * _DY + _R
            if i is None:
                body.append(f'<text class="ellipsis" x="{xc:.0f}" y="{yc + 6:.0f}" '
                            f'text-anchor="middle" font-size="16">⋮</text>')
                continue
            v = None if vals is None else float(vals[i])
            tip = f"{label}[{i}]" + (f" = {v:.4g}" if v is not None else "")
            fill = signed_colour(v, scale) if v is not None else "#fff"
            body.append(f'<circle class="neuron" data-role="{role}" data-t="{t}" '
                        f'data-index="{i}" cx="{xc:.1f}" cy="{yc:.1f}" r="{_R}" '
                        f'fill="{fill}" stroke="#333"><title>{esc(tip)}</title></circle>')
            if v is not None:
                body.append(f'<text x="{xc + _R + 2:.1f}" y="{yc + 3:.1f}" font-size="8">'
                            f"{v:.2f}</text>")

    def arrow(x1, y1, x2, y2, label):
        body.append(f'<line class="arrow" x1="{x1:.0f}" y1="{y1:.0f}" x2="{x2:.0f}" '
                    f'y2="{y2:.0f}" stroke="#888" stroke-width="1.5" '
                    f'marker-end="url(#rarrow)"><title>{label}</title></line>')
        body.append(f'<text x="{(x1 + x2) / 2:.0f}" y="{(y1 + y2) / 2 - 4:.0f}" '
                    f'font-size="8" fill="#666" text-anchor="middle">{label}</text>')

    hmid = h_top + len(hid) * _DY / 2
    xc = 60
    block(xc, h_top, hid, np.zeros(h_size) if hs is not None else None, 1.0, "h", 0, "h_0")
    for c, t in enumerate(times, start=1):
        prev, xc = xc, 60 + c * _DX
        if t is None:
            body.append(f'<text class="ellipsis" x="{xc:.0f}" y="{hmid:.0f}" '
                        f'text-anchor="middle" font-size="22">⋯<title>'
                        f"{steps - len(times) + 1} time steps not drawn</title></text>")
            continue
        arrow(prev + 16, hmid, xc - 16, hmid, "W_hh")
        arrow(xc, x_top - 22, xc, h_top + len(hid) * _DY + 4, "W_ih")
        block(xc, h_top, hid, hs[t] if hs is not None else None, hscale, "h", t + 1,
              f"h_{t + 1}")
        block(xc, x_top, inp, xs[t] if xs is not None else None, xscale, "x", t + 1,
              f"x_{t + 1}")
    if y is not None:
        yc = xc + _DX
        arrow(xc + 16, hmid, yc - 16, hmid, "head")
        block(yc, h_top, out_idx, y, float(np.abs(y).max()), "y", steps, "ŷ")
    body.append(f'<text x="10" y="{height - 10:.0f}" fill="#555">same W_ih, W_hh at every '
                "step; blue + / orange −" + (", values of sample 0" if hs is not None else "")
                + "</text>")
    return svg_document(body, width, height, f"{type(model).__name__} unrolled over time")
