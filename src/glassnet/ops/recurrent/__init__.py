"""Fused recurrent kernels: one graph op runs a whole RNN/LSTM/GRU layer over a sequence.

The fast path for ``nn.RNN``/``nn.LSTM``/``nn.GRU``. One call does:

* the input projection of *all* time steps as one GEMM, ``XW = X·W_ihᵀ + b`` (L·N rows);
* the time loop, one small GEMM ``h_{t-1}·W_hhᵀ`` per step into a preallocated gate buffer,
  with the gates fused in one weight matrix (PyTorch layout and gate order: LSTM ``i,f,g,o``
  in 4H rows, GRU ``r,z,n`` in 3H rows, RNN one block of H rows);
* a hand-written backward through time that produces the gate gradients of every step in one
  buffer ``dA`` (L, N, G) and then the weight gradients as single GEMMs (``dAᵀ·X``,
  ``dAᵀ·H_prev``) and the input gradient ``dA·W_ih``.

The equations (PyTorch's, σ = logistic sigmoid, ⊙ = element-wise product)::

    RNN : h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)          (or relu)
    LSTM: i,f,g,o = σ,σ,tanh,σ (W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)
          c_t = f ⊙ c_{t-1} + i ⊙ g,   h_t = o ⊙ tanh(c_t)
    GRU : r,z = σ(W_i{r,z} x_t + b_i{r,z} + W_h{r,z} h_{t-1} + b_h{r,z})
          n = tanh(W_in x_t + b_in + r ⊙ (W_hn h_{t-1} + b_hn))
          h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}

Variable lengths: with ``lengths`` (N,), step t of sequence n only updates the state when
``t < lengths[n]``; otherwise the state is carried unchanged, so padding never leaks into the
final state, and the output there is zero. Run in reverse, a sequence starts at its own last
valid step (as PyTorch's packed sequences do).

Embedding input: when x is the lookup ``weight[ids]`` of a small table (V rows, V ≪ L·N),
pass ``EmbeddedInput(ids, weight)`` instead. The projection is then made once per table row,
``T = weight·W_ihᵀ + b`` (V rows), and gathered, ``XW = T[ids]``; backward sums the rows of the
input-side gate gradient per id (dT, V rows) and needs only V-row GEMMs: ``dweight = dT·W_ih``,
``dW_ih = dTᵀ·weight``. The same sums as through x, with three L·N-row GEMMs fewer.

Files: ``rnn.py``, ``lstm.py``, ``gru.py`` each hold one cell's time loop and its backward
through time side by side; ``_common.py`` the preparation shared by all three (checks, gate
scaling, input projection, state buffer, mask) and ``LayerRun``, the one record a forward
fills in and its backward reads; ``_grads.py`` the weight/input gradients every backward
ends with. ``ops/recurrent_ref.py`` holds a plain step-by-step version built from primitive
ops (the readable spec); the tests check that both agree in values and gradients.
"""
import numpy as np

from ...backend import xp_of
from ...tensor import Tensor, make
from . import gru, lstm, rnn
from ._common import MODES, EmbeddedInput, prepare

__all__ = ["recurrent_layer", "EmbeddedInput"]

_CELLS = {"RNN_TANH": rnn, "RNN_RELU": rnn, "LSTM": lstm, "GRU": gru}


def recurrent_layer(mode: str, x: Tensor, h0: Tensor, c0, w_ih: Tensor, w_hh: Tensor,
                    b_ih=None, b_hh=None, lengths=None, reverse: bool = False):
    """Run one recurrent layer in one direction over a whole time-major sequence.

    Args:
        mode: ``"RNN_TANH"``, ``"RNN_RELU"``, ``"LSTM"`` or ``"GRU"``.
        x: input (L, N, H_in), or an :class:`EmbeddedInput` (ids (L, N)).
        h0: initial hidden state (N, H). c0: initial cell (LSTM only).
        w_ih: (G·H, H_in), w_hh: (G·H, H), b_ih, b_hh: (G·H,) or None; G = 1, 4, 3.
        lengths: optional int array (N,) of valid lengths (1 ≤ len ≤ L).
        reverse: process t = L−1 … 0 (the backward direction of a bidirectional layer).

    Returns:
        ``(out, h_n, c_n)``: out (L, N, H) (zero past each length), h_n (N, H), c_n (N, H) for
        LSTM else None. All three are differentiable with respect to every input (for an
        EmbeddedInput: its weight).
    """
    if mode not in MODES:
        raise ValueError(f"recurrent_layer(mode={mode!r}): expected one of {list(MODES)}")
    run = prepare(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths, reverse)
    cell = _CELLS[mode]
    with np.errstate(over="ignore"):            # exp(−a) → inf gives σ = 0, as it should
        cell.forward(run)
    run.release()
    L = run.L
    seq = slice(0, L) if reverse else slice(1, L + 1)
    last = 0 if reverse else L
    if not run.need_grad:                       # no graph: the state buffer's views as they are
        S = run.S
        out = S[0, seq] if run.mask is None else S[0, seq] * run.mask
        return make(out, (), None), make(S[0, last], (), None), \
            make(S[1, last], (), None) if mode == "LSTM" else None

    def backward(G):
        return cell.backward(run, G)
    core = make(run.S, (run.src, h0, c0, w_ih, w_hh, b_ih, b_hh), backward, mode + "Backward")
    out = _take(core, (0, seq), run.mask)
    h_n = _take(core, (0, last))
    c_n = _take(core, (1, last)) if mode == "LSTM" else None
    return out, h_n, c_n


def _take(core: Tensor, key, mask=None) -> Tensor:
    """A slice of the kernel's state buffer (optionally masked) as its own graph node."""
    out = core.array[key]
    xp = xp_of(out)
    if mask is not None:
        out = out * mask

    def backward(g):
        grad = xp.zeros(core.array.shape, core.array.dtype)  # calloc: no pass over S
        if mask is None:
            grad[key] = g
        else:
            xp.multiply(g, mask, out=grad[key])
        return (grad,)
    return make(out, (core,), backward, "RecurrentOutBackward")
