r"""Recurrent layers: RNN, LSTM, GRU (whole sequences) and RNNCell, LSTMCell, GRUCell (one step).

A recurrent layer keeps a hidden state h, the network's memory. At every time step t it reads
x_t and h_{t-1} and writes h_t; h_t is also the layer's output y_t at that step.

Shape letters used in every docstring here:

    N = batch size           L = sequence length       D = 2 if bidirectional else 1
    H_in = input_size        H_out = hidden_size

Each layer runs as one fused graph op per layer and direction (``glassnet.ops.recurrent``):
one GEMM for the input projection of all steps, fused gate weights, and a hand-written
backward through time. Parameter names, shapes, gate order (LSTM ``i,f,g,o``; GRU ``r,z,n``)
and default initialisation U(−1/√H_out, 1/√H_out) follow PyTorch, so a ``torch.nn.LSTM``
state dict loads unchanged.

Variable-length batches: pass ``lengths`` (N,) to ``forward``. Sequence n only updates the state
for t < lengths[n]; later (padding) steps carry the state unchanged, so padding does not leak
into the final state h_n, and outputs past each length are zero — the same final states as
``torch.nn.utils.rnn.pack_padded_sequence``. Truncated BPTT: feed ``h_n.detach()`` back as the
next batch's initial state.
"""
import math

import numpy as np

from .. import ops
from ..backend import to_host, xp_of
from ..ops.recurrent import EmbeddedInput, recurrent_layer
from ..tensor import Tensor
from . import functional as F
from . import init
from .embedding import embedding_source
from .linear import check_positive_int
from .module import Module, Parameter

__all__ = ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"]


def _stack(states):
    """(D·num_layers, N, H) from per-layer (N, H) states (one layer: a view, no copy)."""
    return ops.unsqueeze(states[0], 0) if len(states) == 1 else ops.stack(states, 0)


class _RNNBase(Module):
    _gates = 1

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, *,
                 learn_initial_state=False, dtype=np.float32):
        super().__init__()
        name = type(self).__name__
        check_positive_int(name, input_size=input_size, hidden_size=hidden_size,
                           num_layers=num_layers)
        if not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1:
            raise ValueError(f"{name}(dropout={dropout!r}): dropout must be in [0, 1]")
        self.mode, self.input_size, self.hidden_size = mode, int(input_size), int(hidden_size)
        self.num_layers, self.bias, self.batch_first = int(num_layers), bool(bias), batch_first
        self.dropout, self.bidirectional = float(dropout), bool(bidirectional)
        self.learn_initial_state = bool(learn_initial_state)
        D, G, H = 2 if bidirectional else 1, self._gates * hidden_size, hidden_size
        for layer in range(num_layers):
            fan_in = input_size if layer == 0 else H * D
            for sfx in ("", "_reverse")[:D]:
                s = f"_l{layer}{sfx}"
                setattr(self, "weight_ih" + s, Parameter(np.empty((G, fan_in), dtype)))
                setattr(self, "weight_hh" + s, Parameter(np.empty((G, H), dtype)))
                if bias:
                    setattr(self, "bias_ih" + s, Parameter(np.empty(G, dtype)))
                    setattr(self, "bias_hh" + s, Parameter(np.empty(G, dtype)))
        if learn_initial_state:         # extra keys: load a torch state dict with strict=False
            self.initial_h = Parameter(np.zeros((D * num_layers, H), dtype))
            if mode == "LSTM":
                self.initial_c = Parameter(np.zeros((D * num_layers, H), dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """U(−1/√H_out, 1/√H_out) for every weight and bias, as PyTorch."""
        k = 1 / math.sqrt(self.hidden_size)
        for name, p in self.named_parameters():
            if not name.startswith("initial_"):
                init.uniform_(p, -k, k)

    def _weights(self, layer, sfx):
        s = f"_l{layer}{sfx}"
        return (getattr(self, "weight_ih" + s), getattr(self, "weight_hh" + s),
                getattr(self, "bias_ih" + s, None), getattr(self, "bias_hh" + s, None))

    def forward(self, input: Tensor, hx=None, lengths=None):
        name = type(self).__name__
        D = 2 if self.bidirectional else 1
        lstm = self.mode == "LSTM"
        if not isinstance(input, Tensor):
            input = Tensor(input)
        if input.ndim not in (2, 3) or input.shape[-1] != self.input_size:
            want = "(N, L, H_in)" if self.batch_first else "(L, N, H_in)"
            raise ValueError(f"{name}(input_size={self.input_size}): expected input {want} "
                             f"or (L, H_in) with H_in={self.input_size}, got "
                             f"{tuple(input.shape)}")
        emb = self._embedded(input)
        if input.array.dtype != self.weight_ih_l0.array.dtype:
            input = input.to(self.weight_ih_l0.array.dtype)
        unbatched = input.ndim == 2
        x = ops.unsqueeze(input, 1) if unbatched else (
            ops.transpose(input, 0, 1) if self.batch_first else input)
        L, N = x.shape[0], x.shape[1]
        h0, c0 = self._initial_state(hx, N, unbatched, xp_of(x.array))
        if lengths is not None:
            lengths = _check_lengths(name, lengths, L, N)
        hs, cs = [], []
        for layer in range(self.num_layers):
            if layer > 0 and self.dropout > 0 and self.training:
                x = F.dropout(x, self.dropout, True)
            outs = []
            for d, sfx in enumerate(("", "_reverse")[:D]):
                k = layer * D + d
                inp = emb if layer == 0 and emb is not None else x
                out, h, c = recurrent_layer(self.mode, inp, h0[k], c0[k] if lstm else None,
                                            *self._weights(layer, sfx), lengths=lengths,
                                            reverse=d == 1)
                outs.append(out)
                hs.append(h)
                cs.append(c)
            x = outs[0] if D == 1 else ops.cat(outs, 2)
        out = x
        h_n = _stack(hs)
        c_n = _stack(cs) if lstm else None
        if unbatched:
            out, h_n = ops.squeeze(out, 1), ops.squeeze(h_n, 1)
            c_n = ops.squeeze(c_n, 1) if lstm else None
        elif self.batch_first:
            out = ops.transpose(out, 0, 1)
        return (out, (h_n, c_n)) if lstm else (out, h_n)

    def _embedded(self, input):
        """An ``EmbeddedInput`` (time-major ids) when ``input`` is an embedding lookup of a small
        table (V·4 ≤ L·N rows, same dtype): layer 0 then projects the table rows instead."""
        src = embedding_source(input)
        if src is None or input.array.dtype != self.weight_ih_l0.array.dtype:
            return None
        ids, weight, padding_idx = src
        if ids.shape != input.shape[:-1] or 4 * weight.shape[0] > ids.size:
            return None
        ids = ids[:, None] if ids.ndim == 1 else (ids.T if self.batch_first else ids)
        return EmbeddedInput(ids, weight, padding_idx)

    def _initial_state(self, hx, N, unbatched, xp=np):
        """Per (layer, direction) initial states as lists of (N, H) tensors (zeros: made by
        ``xp``, the input's array module, so they live on the input's device)."""
        name, H = type(self).__name__, self.hidden_size
        K = self.num_layers * (2 if self.bidirectional else 1)
        lstm = self.mode == "LSTM"
        dt = self.weight_hh_l0.array.dtype
        if hx is None:
            if self.learn_initial_state:
                hs = [ops.expand(self.initial_h[k], (N, H)) for k in range(K)]
                cs = [ops.expand(self.initial_c[k], (N, H)) for k in range(K)] if lstm \
                    else None
                return hs, cs
            z = Tensor(xp.zeros((N, H), dt))
            return [z] * K, ([z] * K if lstm else None)
        if lstm:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(f"{name}: expected hx as a tuple (h_0, c_0), got "
                                f"{type(hx).__name__}")
            states = list(hx)
        else:
            states = [hx]
        want = (K, H) if unbatched else (K, N, H)
        out = []
        for s, label in zip(states, ("h_0", "c_0")):
            s = s if isinstance(s, Tensor) else Tensor(s)
            if tuple(s.shape) != want:
                raise ValueError(f"{name}(hidden_size={H}, num_layers={self.num_layers}): "
                                 f"expected {label} of shape {want} (D·num_layers, "
                                 f"{'' if unbatched else 'N, '}H_out), got {tuple(s.shape)}")
            if s.array.dtype != dt:
                s = s.to(dt)
            if unbatched:
                s = ops.unsqueeze(s, 1)
            out.append([ops.reshape(s, s.shape[1:])] if K == 1 else [s[k] for k in range(K)])
        return out[0], (out[1] if lstm else None)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        for k, default in (("bias", True), ("batch_first", False), ("dropout", 0.0),
                           ("bidirectional", False), ("learn_initial_state", False)):
            if getattr(self, k) != default:
                s += f", {k}={getattr(self, k)}"
        return s


def _check_lengths(name, lengths, L, N):
    lens = to_host(lengths.array if isinstance(lengths, Tensor) else lengths)   # host ints
    if lens.shape != (N,) or lens.dtype.kind not in "iu":
        raise ValueError(f"{name}: expected lengths as {N} integers (one per sequence), got "
                         f"shape {lens.shape} dtype {lens.dtype}")
    if lens.min() < 1 or lens.max() > L:
        raise ValueError(f"{name}: lengths must be in [1, {L}] (L = sequence length), got "
                         f"range [{lens.min()}, {lens.max()}]")
    return lens if lens.min() < L else None       # all full: the unmasked fast path


_DOC = r"""
    Args:
        input_size: H_in, features of x_t.
        hidden_size: H_out, features of h_t.
        num_layers: stacked layers; layer k>0 reads the outputs of layer k−1 (default 1).
        bias: learn b_ih and b_hh (default True).
        batch_first: input and output are (N, L, ·) instead of (L, N, ·) (default False;
            h_n keeps (D·num_layers, N, H_out) either way).
        dropout: dropout on the outputs of every layer but the last, in training (default 0).
        bidirectional: also run the sequence backwards; outputs concatenate both (default False).
        learn_initial_state: keyword-only; learn h_0 (and c_0 for LSTM: parameters
            ``initial_h``, ``initial_c``, shape (D·num_layers, H_out)) used when no state is
            passed, instead of zeros. These
            keys are not in PyTorch's state dict: load one with ``strict=False``.

    Forward: ``layer(input, hx=None, lengths=None)``
        input: (L, N, H_in), or (N, L, H_in) with batch_first, or unbatched (L, H_in).
        hx: initial state{hx_shape}; zeros (or the learned state) when None.
        lengths: optional (N,) ints: valid length of each sequence (see the module docstring).

    Returns:
        output (L, N, D·H_out) (or (N, L, D·H_out) with batch_first): the last layer's h_t for
        every t; {returns}

    Attributes:
        weight_ih_l[k]: (G·H_out, H_in) for k = 0, else (G·H_out, D·H_out); weight_hh_l[k]:
        (G·H_out, H_out); bias_ih_l[k], bias_hh_l[k]: (G·H_out,); ``_reverse`` suffix for the
        backward direction. {gates}
"""


class RNN(_RNNBase):
    __doc__ = r"""Elman RNN: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh) (or relu).

    nonlinearity: ``"tanh"`` (default) or ``"relu"`` (keyword, as in PyTorch).
    """ + _DOC.format(hx_shape=" (D·num_layers, N, H_out)", returns="h_n (D·num_layers, N, "
                      "H_out): the final state of every layer and direction.",
                      gates="G = 1.") + r"""
    Example:
        >>> rnn = gn.nn.RNN(10, 20, num_layers=2, batch_first=True)
        >>> out, h_n = rnn(gn.randn(3, 5, 10))     # out (3, 5, 20), h_n (2, 3, 20)
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, **kw):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN(nonlinearity={nonlinearity!r}): expected 'tanh' or 'relu'")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional, **kw)
        self.nonlinearity = nonlinearity


class LSTM(_RNNBase):
    __doc__ = r"""Long short-term memory: gates decide what the cell state c keeps and adds.

    i, f, g, o = σ, σ, tanh, σ (W_ih x_t + b_ih + W_hh h_{t-1} + b_hh);
    c_t = f ⊙ c_{t-1} + i ⊙ g;   h_t = o ⊙ tanh(c_t).
    """ + _DOC.format(hx_shape=" as a tuple (h_0, c_0), each (D·num_layers, N, H_out)",
                      returns="(h_n, c_n), each (D·num_layers, N, H_out).",
                      gates="G = 4, row blocks in the order i, f, g, o.") + r"""
    Example:
        >>> lstm = gn.nn.LSTM(10, 20, batch_first=True)
        >>> out, (h_n, c_n) = lstm(gn.randn(3, 5, 10))   # out (3, 5, 20), h_n (1, 3, 20)
    """
    _gates = 4

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, **kw):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, **kw)


class GRU(_RNNBase):
    __doc__ = r"""Gated recurrent unit: an update gate z mixes the old state with a candidate n.

    r, z = σ(W_i{r,z} x_t + b_i{r,z} + W_h{r,z} h_{t-1} + b_h{r,z});
    n = tanh(W_in x_t + b_in + r ⊙ (W_hn h_{t-1} + b_hn));  h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}.
    """ + _DOC.format(hx_shape=" (D·num_layers, N, H_out)", returns="h_n (D·num_layers, N, "
                      "H_out).", gates="G = 3, row blocks in the order r, z, n.") + r"""
    Example:
        >>> gru = gn.nn.GRU(10, 20, bidirectional=True)
        >>> out, h_n = gru(gn.randn(5, 3, 10))      # out (5, 3, 40), h_n (2, 3, 20)
    """
    _gates = 3

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, **kw):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, **kw)


# -- cells: one time step, for hand-written loops ----------------------------------------------
class _CellBase(Module):
    _gates = 1

    def __init__(self, mode, input_size, hidden_size, bias=True, *, dtype=np.float32):
        super().__init__()
        name = type(self).__name__
        check_positive_int(name, input_size=input_size, hidden_size=hidden_size)
        self.mode, self.input_size, self.hidden_size = mode, int(input_size), int(hidden_size)
        self.bias = bool(bias)
        G = self._gates * hidden_size
        self.weight_ih = Parameter(np.empty((G, input_size), dtype))
        self.weight_hh = Parameter(np.empty((G, hidden_size), dtype))
        if bias:
            self.bias_ih = Parameter(np.empty(G, dtype))
            self.bias_hh = Parameter(np.empty(G, dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        k = 1 / math.sqrt(hidden_size)
        for p in self.parameters():
            init.uniform_(p, -k, k)

    def _step(self, input, hx):
        name, H = type(self).__name__, self.hidden_size
        if not isinstance(input, Tensor):
            input = Tensor(input)
        if input.ndim not in (1, 2) or input.shape[-1] != self.input_size:
            raise ValueError(f"{name}(input_size={self.input_size}): expected input "
                             f"(N, {self.input_size}) or ({self.input_size},), got "
                             f"{tuple(input.shape)}")
        dt = self.weight_hh.array.dtype
        if input.array.dtype != dt:
            input = input.to(dt)
        unbatched = input.ndim == 1
        x = ops.reshape(input, (1, 1, self.input_size)) if unbatched else ops.unsqueeze(input, 0)
        N = x.shape[1]
        states = []
        for s, label in zip(hx if self.mode == "LSTM" else (hx,), ("h", "c")):
            if s is None:
                s = Tensor(xp_of(x.array).zeros((N, H), dt))
            else:
                s = s if isinstance(s, Tensor) else Tensor(s)
                want = (H,) if unbatched else (N, H)
                if tuple(s.shape) != want:
                    raise ValueError(f"{name}(hidden_size={H}): expected {label} of shape "
                                     f"{want}, got {tuple(s.shape)}")
                s = ops.reshape(s, (1, H)) if unbatched else s
            states.append(s)
        c0 = states[1] if self.mode == "LSTM" else None
        _, h, c = recurrent_layer(self.mode, x, states[0], c0,
                                  self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        if unbatched:
            h = ops.reshape(h, (H,))
            c = ops.reshape(c, (H,)) if c is not None else None
        return (h, c) if self.mode == "LSTM" else h

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


_CELL_DOC = r"""
    Args:
        input_size: H_in. hidden_size: H_out. bias: learn b_ih, b_hh (default True).

    Shape:
        input (N, H_in) or (H_in,); {state} → {ret}.

    Attributes: weight_ih (G·H_out, H_in), weight_hh (G·H_out, H_out), bias_ih, bias_hh
    (G·H_out,), {gates}; same names and init as PyTorch.
"""


class RNNCell(_CellBase):
    __doc__ = r"""One Elman RNN step: h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (or relu).
    """ + _CELL_DOC.format(state="hx (N, H_out) or None (zeros)", ret="h' (N, H_out)",
                           gates="G = 1") + r"""
    Example:
        >>> cell = gn.nn.RNNCell(10, 20); h = None
        >>> for x_t in xs: h = cell(x_t, h)
    """

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", **kw):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell(nonlinearity={nonlinearity!r}): expected 'tanh' or "
                             f"'relu'")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, bias, **kw)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        return self._step(input, hx)


class LSTMCell(_CellBase):
    __doc__ = r"""One LSTM step (gate order i, f, g, o); returns (h', c').
    """ + _CELL_DOC.format(state="hx = (h, c), each (N, H_out), or None", ret="(h', c')",
                           gates="G = 4") + r"""
    Example:
        >>> cell = gn.nn.LSTMCell(10, 20); h, c = cell(gn.randn(3, 10))
    """
    _gates = 4

    def __init__(self, input_size, hidden_size, bias=True, **kw):
        super().__init__("LSTM", input_size, hidden_size, bias, **kw)

    def forward(self, input, hx=None):
        return self._step(input, (None, None) if hx is None else tuple(hx))


class GRUCell(_CellBase):
    __doc__ = r"""One GRU step (gate order r, z, n).
    """ + _CELL_DOC.format(state="hx (N, H_out) or None", ret="h' (N, H_out)",
                           gates="G = 3") + r"""
    Example:
        >>> cell = gn.nn.GRUCell(10, 20); h = cell(gn.randn(3, 10))
    """
    _gates = 3

    def __init__(self, input_size, hidden_size, bias=True, **kw):
        super().__init__("GRU", input_size, hidden_size, bias, **kw)

    def forward(self, input, hx=None):
        return self._step(input, hx)
