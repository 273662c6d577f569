"""RNN, LSTM, GRU and their cells as ONNX ``RNN`` / ``LSTM`` / ``GRU`` nodes.

What differs between glassnet (PyTorch's layout) and ONNX, and how it is bridged:

- Gate order. LSTM rows i, f, g, o become ONNX i, o, f, c; GRU rows r, z, n become ONNX
  z, r, h; the weights are re-stacked once at export.
- GRU's candidate ``n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))`` applies r after the
  recurrent product: ONNX ``linear_before_reset=1``.
- Biases: ONNX takes ``B = [b_ih, b_hh]`` per direction, shape (D, 2·G·H).
- Layout: ONNX is time-major with a direction axis, ``Y`` (L, D, N, H). A batch_first input
  is transposed to (L, N, H_in) and the output back; ``Y`` becomes (L, N, D·H) by a
  transpose and reshape (forward and backward halves side by side, as in glassnet).
- Stacked layers: one ONNX node per layer; h_n (and c_n) concatenate the layers' final states
  along axis 0, so the order is glassnet's (layer-major, then direction).
- Initial states: none (or a tensor of zeros made in ``forward``) is left out (ONNX's default
  is zeros); a traced ``hx`` is sliced per layer; a learned one (``learn_initial_state``) is
  expanded to the batch size read from the input's shape at run time.
"""
from __future__ import annotations

import numpy as np

from .. import nn
from ..backend import to_host
from .errors import ExportError

__all__ = ["LAYERS"]

_ORDER = {"LSTM": (0, 3, 1, 2), "GRU": (1, 0, 2)}     # glassnet's gate blocks, in ONNX order
_ONNX_OP = {"LSTM": "LSTM", "GRU": "GRU", "RNN_TANH": "RNN", "RNN_RELU": "RNN"}


def _reorder(mode: str, a: np.ndarray) -> np.ndarray:
    order = _ORDER.get(mode)
    if order is None:
        return a
    blocks = np.split(a, len(order), axis=0)
    return np.concatenate([blocks[i] for i in order], axis=0)


def _zero_state(t) -> bool:
    """A state that no op made and that is all zeros (``gn.zeros(...)`` in forward)."""
    return not t._parents and not isinstance(t, nn.Parameter) and not np.any(to_host(t.array))


def _states(call, lstm: bool) -> list:
    """The traced initial states [h_0] or [h_0, c_0]; None for a missing or zero state."""
    args, kw = call.args, call.kwargs
    hx = args[1] if len(args) > 1 else kw.get("hx")
    states = [None] * (2 if lstm else 1) if hx is None else (list(hx) if lstm else [hx])
    return [None if s is None or _zero_state(s) else s for s in states]


def _deps(call):
    lstm = call.module.mode == "LSTM"
    return [call.x] + [s for s in _states(call, lstm) if s is not None]


def _attrs(m, D: int) -> dict:
    attrs = {"hidden_size": m.hidden_size,
             "direction": "bidirectional" if D == 2 else "forward"}
    if m.mode == "GRU":
        attrs["linear_before_reset"] = 1
    elif m.mode.startswith("RNN"):
        attrs["activations"] = ["Tanh" if m.mode == "RNN_TANH" else "Relu"] * D
    return attrs


def _packed(ex, m, weights, hint):
    """W (D, G·H, ·), R (D, G·H, H) and B (D, 2·G·H) (or None) for one layer."""
    W = np.stack([_reorder(m.mode, to_host(w[0].array)) for w in weights])
    R = np.stack([_reorder(m.mode, to_host(w[1].array)) for w in weights])
    names = [ex.g.weight(W, hint + ".W"), ex.g.weight(R, hint + ".R")]
    if weights[0][2] is not None:
        B = np.stack([np.concatenate([_reorder(m.mode, to_host(w[2].array)),
                                      _reorder(m.mode, to_host(w[3].array))]) for w in weights])
        names.append(ex.g.weight(B, hint + ".B"))
    else:
        names.append("")
    return names


def _node(ex, m, x, weights, h0, c0, hint):
    """One ONNX recurrent node; returns (Y, Y_h, Y_c or None)."""
    lstm = m.mode == "LSTM"
    inputs = [x] + _packed(ex, m, weights, hint) + ["", h0 or ""] + (
        [c0 or ""] if lstm else [])
    while inputs[-1] == "":
        inputs.pop()
    outs = ex.g.node(_ONNX_OP[m.mode], inputs, hint, n_out=3 if lstm else 2,
                     **_attrs(m, len(weights)))
    return outs[0], outs[1], outs[2] if lstm else None


def _layer_weights(m, layer: int, sfx: str) -> tuple:
    """(weight_ih, weight_hh, bias_ih, bias_hh) of one layer and direction (biases: None)."""
    return tuple(getattr(m, f"{k}_l{layer}{sfx}", None)
                 for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))


def _learned(ex, param, x: str, K: int, H: int) -> str:
    """A learned initial state (K, H) broadcast to (K, N, H), N read from the time-major input
    at run time (so the batch size stays free)."""
    g = ex.g
    n = g.node("Gather", [g.node("Shape", [x]), g.ints([1], "axis1")], "batch_size", axis=0)
    shape = g.node("Concat", [g.ints([K], "K"), n, g.ints([H], "H")], "state_shape", axis=0)
    state = g.node("Unsqueeze", [ex.weight(param), g.ints([1], "axes")], "state")
    return g.node("Expand", [state, shape], "initial_state")


def _layer_state(ex, state, k0: int, k1: int, K: int):
    if state is None:
        return None
    name = state if isinstance(state, str) else ex.name(state)
    if K == k1 - k0:
        return name
    return ex.g.node("Slice", [name, ex.g.ints([k0]), ex.g.ints([k1]), ex.g.ints([0])], "h0")


def _sequence(ex, call):
    m, t = call.module, call.x
    name, lstm = type(m).__name__, m.mode == "LSTM"
    args, kw = call.args, call.kwargs
    if (len(args) > 2 and args[2] is not None) or kw.get("lengths") is not None:
        raise ExportError(f"onnx.export: {name}(..., lengths=...) (variable-length batches) "
                          f"is not exported")
    if t.ndim != 3:
        raise ExportError(f"onnx.export: {name} is exported for batched input only, got "
                          f"shape {tuple(t.shape)}")
    states = _states(call, lstm)
    g, D, L = ex.g, 2 if m.bidirectional else 1, m.num_layers
    K = D * L
    x = ex.name(t)
    if m.batch_first:
        x = g.node("Transpose", [x], "time_major", perm=[1, 0, 2])
    hx = args[1] if len(args) > 1 else kw.get("hx")
    if hx is None and m.learn_initial_state:
        states = [_learned(ex, m.initial_h, x, K, m.hidden_size)] + (
            [_learned(ex, m.initial_c, x, K, m.hidden_size)] if lstm else [])
    hs, cs = [], []
    for layer in range(L):
        weights = [_layer_weights(m, layer, sfx) for sfx in ("", "_reverse")[:D]]
        key = ex.params.get(id(weights[0][0]), f"{name.lower()}.weight_ih_l{layer}")
        key = key.rsplit(".weight_ih_l", 1)[0] + f".l{layer}"
        h0 = _layer_state(ex, states[0], layer * D, (layer + 1) * D, K)
        c0 = _layer_state(ex, states[1], layer * D, (layer + 1) * D, K) if lstm else None
        y, h, c = _node(ex, m, x, weights, h0, c0, key)
        if D == 1:
            x = g.node("Squeeze", [y, g.ints([1], "axes")], "y")
        else:
            y = g.node("Transpose", [y], "y", perm=[0, 2, 1, 3])
            x = g.node("Reshape", [y, g.ints([0, 0, -1], "shape")], "y")
        hs.append(h)
        cs.append(c)
    out = g.node("Transpose", [x], "output", perm=[1, 0, 2]) if m.batch_first else x
    h_n = hs[0] if L == 1 else g.node("Concat", hs, "h_n", axis=0)
    results = [(out, 0 if m.batch_first else 1), (h_n, 1)]
    if lstm:
        results.append((cs[0] if L == 1 else g.node("Concat", cs, "c_n", axis=0), 1))
    return results


_sequence.deps = _deps


def _cell(ex, call):
    m, t = call.module, call.x
    lstm = m.mode == "LSTM"
    if t.ndim != 2:
        raise ExportError(f"onnx.export: {type(m).__name__} is exported for batched input "
                          f"(N, H_in) only, got shape {tuple(t.shape)}")
    g = ex.g
    states = _states(call, lstm)

    def step_major(s):
        return g.node("Unsqueeze", [ex.name(s), g.ints([0], "axes")], "step")
    h0 = step_major(states[0]) if states[0] is not None else None
    c0 = step_major(states[1]) if lstm and states[1] is not None else None
    weights = [(m.weight_ih, m.weight_hh, m.bias_ih, m.bias_hh)]
    key = ex.params.get(id(m.weight_ih), "cell.weight_ih").rsplit(".weight_ih", 1)[0]
    _, h, c = _node(ex, m, step_major(t), weights, h0, c0, key)
    axis = ex.axis(t)
    results = [(g.node("Squeeze", [h, g.ints([0], "axes")], "h"), axis)]
    if lstm:
        results.append((g.node("Squeeze", [c, g.ints([0], "axes")], "c"), axis))
    return results


_cell.deps = _deps

LAYERS = {nn.RNN: _sequence, nn.LSTM: _sequence, nn.GRU: _sequence,
          nn.RNNCell: _cell, nn.LSTMCell: _cell, nn.GRUCell: _cell}
