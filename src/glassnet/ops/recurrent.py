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

``ops/recurrent_ref.py`` holds a plain step-by-step version built from primitive ops; the tests
check that both agree in values and gradients.
"""
import numpy as np

from ..tensor import Tensor, make

__all__ = ["recurrent_layer"]

MODES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}   # gate blocks per mode


def _sigmoid_(a: np.ndarray) -> np.ndarray:
    """In-place σ(a) = ½·tanh(a/2) + ½ (no overflow for large |a|)."""
    a *= 0.5
    np.tanh(a, out=a)
    a *= 0.5
    a += 0.5
    return a


def recurrent_layer(mode: str, x: Tensor, h0: Tensor, c0, w_ih: Tensor, w_hh: Tensor,
                    b_ih=None, b_hh=None, lengths=None, reverse: bool = False):
    """Run one recurrent layer in one direction over a whole time-major sequence.

    Args:
        mode: ``"RNN_TANH"``, ``"RNN_RELU"``, ``"LSTM"`` or ``"GRU"``.
        x: input (L, N, H_in). h0: initial hidden state (N, H). c0: initial cell (LSTM only).
        w_ih: (G·H, H_in), w_hh: (G·H, H), b_ih, b_hh: (G·H,) or None; G = 1, 4, 3.
        lengths: optional int array (N,) of valid lengths (1 ≤ len ≤ L).
        reverse: process t = L−1 … 0 (the backward direction of a bidirectional layer).

    Returns:
        ``(out, h_n, c_n)``: out (L, N, H) (zero past each length), h_n (N, H), c_n (N, H) for
        LSTM else None. All three are differentiable with respect to every input.
    """
    if mode not in MODES:
        raise ValueError(f"recurrent_layer(mode={mode!r}): expected one of {list(MODES)}")
    core, mask = _core(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths, reverse)
    L = x.shape[0]
    seq = slice(0, L) if reverse else slice(1, L + 1)
    last = 0 if reverse else L
    out = _take(core, (0, seq), mask)
    h_n = _take(core, (0, last))
    c_n = _take(core, (1, last)) if mode == "LSTM" else None
    return out, h_n, c_n


def _take(core: Tensor, key, mask=None) -> Tensor:
    """A slice of the kernel's state buffer (optionally masked) as its own graph node."""
    out = core.data[key]
    if mask is not None:
        out = out * mask

    def backward(g):
        grad = np.zeros_like(core.data)
        if mask is None:
            grad[key] = g
        else:
            np.multiply(g, mask, out=grad[key])
        return (grad,)
    return make(out, (core,), backward, "RecurrentOutBackward")


def _core(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths, reverse):
    """Forward over time. Returns the state buffer S (k, L+1, N, H) as a Tensor, and the mask.

    S[0] holds hidden states, S[1] cell states (LSTM). Forward: S[:, 0] = initial state and
    S[:, t+1] = state after step t. Reverse: S[:, L] = initial, S[:, t] = state after step t.
    """
    X = x.data
    L, N, Hin = X.shape
    Whh, dt = w_hh.data, w_hh.data.dtype
    GH, H = Whh.shape
    lstm, gru = mode == "LSTM", mode == "GRU"

    # input projection of all steps: one GEMM; hidden biases folded in where they commute
    XW = X.reshape(L * N, Hin) @ w_ih.data.T
    if b_ih is not None:
        XW += b_ih.data
    bhn = None
    if b_hh is not None:
        if gru:
            XW[:, :2 * H] += b_hh.data[:2 * H]
            bhn = b_hh.data[2 * H:]
        else:
            XW += b_hh.data
    XW = XW.reshape(L, N, GH)

    S = np.empty((2 if lstm else 1, L + 1, N, H), dt)
    i0 = L if reverse else 0
    S[0, i0] = h0.data
    if lstm:
        S[1, i0] = c0.data
    acts = np.empty((L, N, GH), dt) if mode != "RNN_TANH" and mode != "RNN_RELU" else None
    aux = np.empty((L, N, H), dt) if (lstm or gru) else None   # tanh(c_t) / W_hn h + b_hn
    mask = keep = None
    if lengths is not None:
        lens = np.asarray(lengths).reshape(1, N)
        mask = (np.arange(L).reshape(L, 1) < lens).astype(dt)[:, :, None]   # (L, N, 1)
        keep = mask == 0
    WT = Whh.T
    tmp = np.empty((N, GH), dt)
    for t in (range(L - 1, -1, -1) if reverse else range(L)):
        p, q = (t + 1, t) if reverse else (t, t + 1)
        h_prev, h = S[0, p], S[0, q]
        if lstm:
            A = acts[t]
            np.matmul(h_prev, WT, out=A)
            A += XW[t]
            np.tanh(A[:, 2 * H:3 * H], out=A[:, 2 * H:3 * H])
            _sigmoid_(A[:, :2 * H])
            _sigmoid_(A[:, 3 * H:])
            c = S[1, q]
            np.multiply(A[:, H:2 * H], S[1, p], out=c)
            np.multiply(A[:, :H], A[:, 2 * H:3 * H], out=tmp[:, :H])
            c += tmp[:, :H]
            np.tanh(c, out=aux[t])
            np.multiply(A[:, 3 * H:], aux[t], out=h)
            if keep is not None:
                np.copyto(c, S[1, p], where=keep[t])
        elif gru:
            A = acts[t]
            np.matmul(h_prev, WT, out=tmp)
            np.add(tmp[:, :2 * H], XW[t, :, :2 * H], out=A[:, :2 * H])
            _sigmoid_(A[:, :2 * H])
            hn = aux[t]
            if bhn is not None:
                np.add(tmp[:, 2 * H:], bhn, out=hn)
            else:
                hn[...] = tmp[:, 2 * H:]
            n = A[:, 2 * H:]
            np.multiply(A[:, :H], hn, out=n)
            n += XW[t, :, 2 * H:]
            np.tanh(n, out=n)
            np.subtract(h_prev, n, out=h)            # h = n + z·(h_prev − n)
            h *= A[:, H:2 * H]
            h += n
        else:
            np.matmul(h_prev, WT, out=h)
            h += XW[t]
            if mode == "RNN_TANH":
                np.tanh(h, out=h)
            else:
                np.maximum(h, 0, out=h)
        if keep is not None:
            np.copyto(h, h_prev, where=keep[t])

    def backward(G):
        return _bptt(mode, G, S, acts, aux, mask, X, x, h0, c0, w_ih, w_hh, b_ih, b_hh,
                     reverse)
    core = make(S, (x, h0, c0, w_ih, w_hh, b_ih, b_hh), backward, mode + "Backward")
    return core, mask


def _bptt(mode, G, S, acts, aux, mask, X, x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse):
    """Backward through time; G is the gradient on the state buffer S."""
    L, N, Hin = X.shape
    Whh = w_hh.data
    GH, H = Whh.shape
    dt = Whh.dtype
    lstm, gru = mode == "LSTM", mode == "GRU"
    dA = np.empty((L, N, GH), dt)               # gradient on the input-side pre-activations
    dAh = np.empty((L, N, GH), dt) if gru else dA   # ... on the hidden-side ones (W_hh h + b_hh)
    dh = np.zeros((N, H), dt)
    dc = np.zeros((N, H), dt) if lstm else None
    t1 = np.empty((N, H), dt)
    t2 = np.empty((N, H), dt)
    for t in (range(L) if reverse else range(L - 1, -1, -1)):
        p, q = (t + 1, t) if reverse else (t, t + 1)
        dh += G[0, q]
        if lstm:
            dc += G[1, q]
        if mask is not None:                    # padded step: the state passes through
            m = mask[t]
            dh_pass = dh * (1 - m)
            dh *= m
            if lstm:
                dc_pass = dc * (1 - m)
                dc *= m
        h_prev = S[0, p]
        D = dA[t]
        if lstm:
            A, tc = acts[t], aux[t]
            i, f, g, o = A[:, :H], A[:, H:2 * H], A[:, 2 * H:3 * H], A[:, 3 * H:]
            # do = dh·tanh(c);  dc += dh·o·(1 − tanh²c)
            np.multiply(dh, o, out=t1)
            np.multiply(tc, tc, out=t2)
            np.subtract(1, t2, out=t2)
            t1 *= t2
            dc += t1
            np.multiply(dh, tc, out=t1)                               # do
            _dsig(t1, o, D[:, 3 * H:])
            np.multiply(dc, g, out=t1)                                # di
            _dsig(t1, i, D[:, :H])
            np.multiply(dc, S[1, p], out=t1)                          # df
            _dsig(t1, f, D[:, H:2 * H])
            np.multiply(dc, i, out=t1)                                # dg
            np.multiply(g, g, out=t2)
            np.subtract(1, t2, out=t2)
            np.multiply(t1, t2, out=D[:, 2 * H:3 * H])
            dc *= f                                                   # dc_{t-1}
            dh_new = D @ Whh
        elif gru:
            A, hn = acts[t], aux[t]
            r, z, n = A[:, :H], A[:, H:2 * H], A[:, 2 * H:]
            Dh = dAh[t]
            np.subtract(h_prev, n, out=t1)                            # dz = dh·(h_prev − n)
            t1 *= dh
            _dsig(t1, z, D[:, H:2 * H])
            np.subtract(1, z, out=t1)                                 # dn = dh·(1 − z)
            t1 *= dh
            np.multiply(n, n, out=t2)
            np.subtract(1, t2, out=t2)
            np.multiply(t1, t2, out=D[:, 2 * H:])                     # da_n
            np.multiply(D[:, 2 * H:], hn, out=t1)                     # dr = da_n·hn
            _dsig(t1, r, D[:, :H])
            Dh[:, :2 * H] = D[:, :2 * H]
            np.multiply(D[:, 2 * H:], r, out=Dh[:, 2 * H:])
            dh_new = Dh @ Whh
            np.multiply(dh, z, out=t1)
            dh_new += t1
        else:
            h = S[0, q]
            if mode == "RNN_TANH":
                np.multiply(h, h, out=t1)
                np.subtract(1, t1, out=t1)
                np.multiply(dh, t1, out=D)
            else:
                np.multiply(dh, h > 0, out=D)
            dh_new = D @ Whh
        if mask is not None:
            dh_new += dh_pass
            if lstm:
                dc += dc_pass
        dh = dh_new
    # weight and input gradients: single GEMMs over all L·N rows
    dA2 = dA.reshape(L * N, GH)
    dAh2 = dAh.reshape(L * N, GH)
    Hprev = S[0, 1:] if reverse else S[0, :L]
    gx = (dA2 @ w_ih.data).reshape(X.shape) if x.requires_grad else None
    gwih = dA2.T @ X.reshape(L * N, Hin) if w_ih.requires_grad else None
    gwhh = dAh2.T @ Hprev.reshape(L * N, H) if w_hh.requires_grad else None
    gbih = dA2.sum(0) if b_ih is not None and b_ih.requires_grad else None
    gbhh = dAh2.sum(0) if b_hh is not None and b_hh.requires_grad else None
    gh0 = dh if h0.requires_grad else None
    gc0 = dc if lstm and c0.requires_grad else None
    return gx, gh0, gc0, gwih, gwhh, gbih, gbhh


def _dsig(d, s, out):
    """out = d·s·(1 − s): gradient through σ given its output s (d is clobbered)."""
    d *= s
    np.subtract(d, d * s, out=out)
