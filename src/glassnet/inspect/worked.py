"""Worked examples: every number of one convolution, pooling or recurrent step, written out.

A :class:`~glassnet.inspect.Trace` of a small network keeps its arrays
(``show_values``); :func:`worked_steps` turns the convolution, pooling and recurrent records
into the course's hand calculation:

* **filter scanning**: the zero-padded input, the output size
  ``H_out = ⌊(H + 2p − k)/s⌋ + 1``, the first windows of filter 0 expanded term by term
  (the window moves ``s`` pixels at a time), and one weight gradient
  ``∂L/∂W[0,0,0,0] = Σ_{i,j} δ[0,i,j]·x_pad[0, i·s, j·s]`` as a sum;
* **ReLU on feature maps**: how many values were negative and became 0;
* **2×2 max pooling**: each window of sample 0, its maximum and where; and in
  backpropagation, which position each ∂L/∂a value is routed to (the other three get 0);
* **the hidden-state update** ``h_t = tanh(W_ih·x_t + b_ih + W_hh·h_{t−1} + b_hh)`` step by
  step with its numbers, and **BPTT** back through the steps:
  ``δh_t = ∂L/∂h_t + W_hhᵀ·δz_{t+1}``, ``δz_t = δh_t ⊙ (1 − h_t²)``,
  ``∂L/∂W_hh = Σ_t δz_t·h_{t−1}ᵀ`` — checked against the gradient ``backward()`` gave.

Only sample 0 of the batch is written out. :func:`tiny_cnn_example` and
:func:`tiny_rnn_example` are the hand-sized networks of ``glassnet explain --model tiny-cnn``
and ``--model tiny-rnn``.
"""
from __future__ import annotations

import numpy as np

from .. import nn
from .notation import layer_role
from .render import format_array

__all__ = ["worked_steps", "tiny_cnn_example", "tiny_rnn_example", "TinyRNN"]


def _n(v) -> str:
    return f"{float(v) + 0.0:.4g}"


def _p(v) -> str:
    """A number, in parentheses when negative (for a product)."""
    return _n(v) if float(v) + 0.0 >= 0 else f"({_n(v)})"


def _term(w, x) -> str:
    return f"{_p(w)}·{_p(x)}"


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def worked_steps(trace, model, *, windows: int = 2) -> str:
    """The hand calculation of the conv, pooling and recurrent records of ``trace`` (text).

    Args:
        trace: a Trace with values (``show_values=True``).
        model: the traced model (for layer hyper-parameters: stride, padding).
        windows: how many output positions of filter 0 to expand term by term.

    Returns:
        Text with one section per layer; empty when nothing applies or no values were kept.
    """
    if not trace.show_values:
        return ""
    modules = dict(model.named_modules())
    fwd = {r.layer: r for r in trace.phase("forward")}
    back = {r.layer: r for r in trace.phase("backward")}
    order = [r.layer for r in trace.phase("forward")]
    out = []
    for k, name in enumerate(order):
        m, r = modules.get(name), fwd[name]
        if m is None:
            continue
        role = layer_role(m)
        if role == "conv" and r.values.get("W") is not None and r.values["W"].ndim == 4:
            out += _conv(name, m, r, back.get(name), windows)
            nxt = fwd.get(order[k + 1]) if k + 1 < len(order) else None
            if nxt is not None and nxt.kind == "ReLU" and "z" in nxt.values:
                z = nxt.values["z"][0]
                out += [f"ReLU on the feature maps [{nxt.layer}]: a = max(0, z); "
                        f"{int((z < 0).sum())} of {z.size} values of sample 0 were negative "
                        "and became 0 (their gradient is 0 too)", ""]
        elif role == "pool" and "Max" in r.kind and "z" in r.values:
            out += _pool(name, m, r, back.get(name))
        elif role == "recurrent" and type(m).__name__ == "RNN":
            out += _rnn(name, m, r, back.get(name))
    if not out:
        return ""
    return "── Worked by hand (sample 0) " + "─" * 33 + "\n" + "\n".join(out) + "\n"


def _conv(name, m, r, b, windows) -> list:
    x, w = r.values["x"][0], r.values["W"]
    bias = r.values.get("b")
    z = r.values["z"][0]
    s, p = _pair(getattr(m, "stride", 1)), _pair(getattr(m, "padding", 0))
    kh, kw = w.shape[2:]
    xp = np.pad(x, ((0, 0), (p[0], p[0]), (p[1], p[1])))
    lines = [f"Filter scanning [{name}] {r.label}: kernel {kh}×{kw}, stride {s[0]}, "
             f"padding {p[0]}",
             f"  x is padded with {p[0]} zero(s) on each side: {x.shape[1:]} → {xp.shape[1:]}"]
    head = "  x_pad[0] = "
    lines.append(head + format_array(xp[0]).replace("\n", "\n" + " " * len(head)))
    h = x.shape[1]
    lines.append(f"  H_out = ⌊(H + 2p − k)/s⌋ + 1 = ⌊({h} + 2·{p[0]} − {kh})/{s[0]}⌋ + 1 = "
                 f"{z.shape[1]}")
    positions = [(0, j) for j in range(min(windows, z.shape[2]))]
    for i, j in positions:
        r0, c0 = i * s[0], j * s[1]
        win = xp[:, r0:r0 + kh, c0:c0 + kw]
        terms = " + ".join(_term(a, v) for a, v in zip(w[0].ravel(), win.ravel()))
        bstr = f" + b[0] = ({terms}) + {_n(bias[0])}" if bias is not None else f" = {terms}"
        total = float((w[0].astype(np.float64) * win).sum()
                      + (bias[0] if bias is not None else 0))
        lines.append(f"  z[0,{i},{j}] = Σ W[0] ⊙ x_pad[:, {r0}:{r0 + kh}, {c0}:{c0 + kw}]"
                     f"{bstr} = {_n(total)}")
    lines.append(f"  (the window moves {s[1]} column(s) per output column and {s[0]} row(s) "
                 "per output row; every filter scans the same windows)")
    head = "  z[0] (filter 0) = "
    lines.append(head + format_array(z[0]).replace("\n", "\n" + " " * len(head)))
    if b is not None and "δ = ∂L/∂z" in b.values:
        d = b.values["δ = ∂L/∂z"]                        # (N, C_out, H_out, W_out)
        xs = np.pad(r.values["x"], ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))
        terms, total = [], 0.0
        for n in range(d.shape[0]):
            for i in range(d.shape[2]):
                for j in range(d.shape[3]):
                    v, xv = d[n, 0, i, j], xs[n, 0, i * s[0], j * s[1]]
                    total += float(v) * float(xv)
                    if v != 0 and xv != 0:
                        terms.append(_term(v, xv))
        lines.append(f"  ∂L/∂W[0,0,0,0] = Σ_n,i,j δ[n,0,i,j]·x_pad[n,0,{s[0]}i,{s[1]}j] = "
                     f"{' + '.join(terms) or '0'} = {_n(total)}   (non-zero terms)")
        if "∂L/∂b" in b.values:
            lines.append(f"  ∂L/∂b[0] = Σ_n,i,j δ[n,0,i,j] = {_n(d[:, 0].sum())}")
    return lines + [""]


def _pool(name, m, r, b) -> list:
    z, a = r.values["z"][0], r.values["a"][0]
    k = _pair(getattr(m, "kernel_size", 2))
    s = _pair(getattr(m, "stride", None) or k)
    lines = [f"Max pooling [{name}] {k[0]}×{k[1]}, stride {s[0]}: each window keeps its "
             "largest value"]
    da = b.values.get("∂L/∂a") if b is not None else None
    for c in range(a.shape[0]):
        for i in range(a.shape[1]):
            for j in range(a.shape[2]):
                win = z[c, i * s[0]:i * s[0] + k[0], j * s[1]:j * s[1] + k[1]]
                wi, wj = np.unravel_index(int(np.argmax(win)), win.shape)
                at = (int(i * s[0] + wi), int(j * s[1] + wj))
                line = (f"  channel {c} window rows {i * s[0]}–{i * s[0] + k[0] - 1}, cols "
                        f"{j * s[1]}–{j * s[1] + k[1] - 1}: {format_array(win.ravel())} → max "
                        f"{_n(a[c, i, j])} at {at}")
                if da is not None:
                    line += f";  ∂L/∂a = {_n(da[0, c, i, j])} goes to {at}, the other " \
                            f"{win.size - 1} get 0"
                lines.append(line)
    return lines + [""]


def _rnn(name, m, r, b) -> list:
    first = getattr(m, "batch_first", False)
    x = r.values["x"]
    hs = r.values["h"]
    x0 = x[0] if first else x[:, 0]                     # (L, H_in)
    h0 = hs[0] if first else hs[:, 0]                   # (L, H)
    w_ih, w_hh = r.values["weight_ih_l0"], r.values["weight_hh_l0"]
    b_ih = r.values.get("bias_ih_l0", np.zeros(w_ih.shape[0]))
    b_hh = r.values.get("bias_hh_l0", np.zeros(w_hh.shape[0]))
    lines = [f"Hidden-state update [{name}] h_t = tanh(W_ih·x_t + b_ih + W_hh·h_{{t−1}} + "
             "b_hh), h_0 = 0, the same weights at every step:"]
    h_prev = np.zeros(w_hh.shape[0])
    for t in range(x0.shape[0]):
        a1, a2 = w_ih @ x0[t] + b_ih, w_hh @ h_prev + b_hh
        z = a1 + a2
        h = np.tanh(z)
        lines.append(f"  t={t + 1}: W_ih·x_{t + 1} + b_ih = {format_array(a1)};  "
                     f"W_hh·h_{t} + b_hh = {format_array(a2)}")
        lines.append(f"       z_{t + 1} = {format_array(z)};  h_{t + 1} = tanh(z_{t + 1}) = "
                     f"{format_array(h)}")
        h_prev = h
    if b is None or "∂L/∂h" not in b.values:
        return lines + [""]
    g = b.values["∂L/∂h"]
    g0 = g[0] if first else g[:, 0]                     # ∂L/∂h_t from the layers above
    steps = x0.shape[0]
    lines.append("BPTT back through the steps (δh_t = ∂L/∂h_t + W_hhᵀ·δz_{t+1}, "
                 "δz_t = δh_t ⊙ (1 − h_t²)):")
    dz_next = np.zeros(w_hh.shape[0])
    gw_hh = np.zeros_like(w_hh, dtype=np.float64)
    gw_ih = np.zeros_like(w_ih, dtype=np.float64)
    for t in reversed(range(steps)):
        dh = g0[t] + w_hh.T @ dz_next
        dz = dh * (1 - h0[t] ** 2)
        back = f" + W_hhᵀ·δz_{t + 2}" if t + 1 < steps else ""
        lines.append(f"  t={t + 1}: δh_{t + 1} = ∂L/∂h_{t + 1}{back} = {format_array(dh)};  "
                     f"δz_{t + 1} = {format_array(dz)}")
        prev = h0[t - 1] if t > 0 else np.zeros_like(h0[0])
        gw_hh += np.outer(dz, prev)
        gw_ih += np.outer(dz, x0[t])
        dz_next = dz
    lines.append("  ∂L/∂W_hh = Σ_t δz_t·h_{t−1}ᵀ = "
                 + format_array(gw_hh).replace("\n", "\n" + " " * 34))
    lines.append("  ∂L/∂W_ih = Σ_t δz_t·x_tᵀ = "
                 + format_array(gw_ih).replace("\n", "\n" + " " * 29))
    got = b.values.get("∂L/∂weight_hh_l0")
    if got is not None and x.shape[1 if not first else 0] == 1:
        same = np.allclose(gw_hh, got, rtol=1e-4, atol=1e-6)
        lines.append(f"  same as backward() gave for ∂L/∂W_hh: {same}")
    return lines + [""]


def tiny_cnn_example():
    """A hand-sized CNN: one 7×7 image → Conv2d(1→2, 3×3, stride 2, padding 1) → ReLU →
    MaxPool2d(2) → Flatten → Linear(8→2), cross-entropy, fixed weights (one decimal).
    Returns ``(model, x, y, loss_fn)``."""
    model = nn.Sequential(nn.Conv2d(1, 2, 3, stride=2, padding=1), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8, 2))
    model.load_state_dict({
        "0.weight": np.array([[[[0.5, -0.2, 0.1], [0.3, 0.8, -0.4], [-0.1, 0.2, 0.6]]],
                              [[[-0.3, 0.4, 0.2], [0.1, -0.5, 0.7], [0.4, 0.1, -0.2]]]],
                             np.float32),
        "0.bias": np.array([0.1, -0.1], np.float32),
        "4.weight": np.array([[0.3, -0.2, 0.5, 0.1, -0.4, 0.2, 0.3, -0.1],
                              [-0.1, 0.4, -0.3, 0.2, 0.5, -0.2, 0.1, 0.3]], np.float32),
        "4.bias": np.array([0.05, -0.05], np.float32)})
    img = np.array([[0, 0, 0, 0, 0, 0, 0],                # a small "7"
                    [0, .9, 1, .8, .9, .7, 0],
                    [0, 0, 0, 0, .6, .2, 0],
                    [0, 0, .3, .7, .9, .4, 0],
                    [0, 0, 0, .5, .6, 0, 0],
                    [0, 0, .1, .8, .2, 0, 0],
                    [0, 0, .4, .3, 0, 0, 0]], np.float32)[None, None]
    return model, img, np.array([1]), nn.CrossEntropyLoss()


class TinyRNN(nn.Module):
    """RNN(1→2, tanh) over the sequence, then Linear(2→1) on the last hidden state h_L.

    Shape: x (N, L, 1) → ŷ (N, 1).

    Example:
        >>> model, x, y, loss_fn = tiny_rnn_example()      # a TinyRNN with fixed weights
    """

    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(1, 2, batch_first=True)
        self.head = nn.Linear(2, 1)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


def tiny_rnn_example():
    """A hand-sized RNN: one sequence x = (1, 0.5, −1) → RNN(1→2, tanh) → Linear(2→1) on h_3,
    MSE against 0.5, fixed weights. Returns ``(model, x, y, loss_fn)``."""
    model = TinyRNN()
    model.load_state_dict({
        "rnn.weight_ih_l0": np.array([[0.8], [-0.5]], np.float32),
        "rnn.weight_hh_l0": np.array([[0.4, -0.6], [0.7, 0.3]], np.float32),
        "rnn.bias_ih_l0": np.array([0.1, 0.0], np.float32),
        "rnn.bias_hh_l0": np.array([0.0, -0.1], np.float32),
        "head.weight": np.array([[1.2, -0.7]], np.float32),
        "head.bias": np.array([0.05], np.float32)})
    x = np.array([[[1.0], [0.5], [-1.0]]], np.float32)
    return model, x, np.array([[0.5]], np.float32), nn.MSELoss()
