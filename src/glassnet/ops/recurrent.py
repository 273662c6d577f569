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

from ..tensor import Tensor, is_grad_enabled, make

__all__ = ["recurrent_layer"]

MODES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}   # gate blocks per mode


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

    # Sigmoid gates are computed as 1/(1 + exp(−a)): their rows of W_ih, W_hh and the biases
    # are negated up front, so a step needs exp, +1, 1/x. LSTM's g = tanh(a) = 2σ(2a) − 1 uses
    # a scale of −2 on its rows. GRU's n rows keep tanh (it needs r·(W_hn h + b_hn) unscaled).
    scale = None
    if lstm:
        scale = np.full((GH, 1), -1, dt)
        scale[2 * H:3 * H] = -2
    elif gru:
        scale = np.ones((GH, 1), dt)
        scale[:2 * H] = -1
    Wih = w_ih.data if scale is None else w_ih.data * scale
    WT = np.empty((H, GH), dt)
    np.copyto(WT, (Whh if scale is None else Whh * scale).T)
    bias = None                                 # b_ih + b_hh where they commute (not GRU's n)
    if b_ih is not None or b_hh is not None:
        bias = np.zeros(GH, dt)
        if b_ih is not None:
            bias += b_ih.data
        if b_hh is not None:
            bias[:2 * H if gru else GH] += b_hh.data[:2 * H if gru else GH]
        if scale is not None:
            bias *= scale[:, 0]
    bhn = b_hh.data[2 * H:] if gru and b_hh is not None else None
    # input projection of all steps: one GEMM (LSTM: one per gate, see below)
    if lstm:
        # LSTM works gate-major, (4, N, H) per step: a gate is then one contiguous block, and
        # element-wise ufuncs on contiguous blocks run ~3x faster than on column slices of an
        # (N, 4H) array. The four per-gate GEMMs of a step cost what one (N, 4H) GEMM does.
        WT = WT.reshape(H, 4, H).transpose(1, 0, 2)          # (4, H, H): h·WT[k] = gate k
        XW = np.matmul(X.reshape(L * N, Hin), Wih.reshape(4, H, Hin).transpose(0, 2, 1))
        if bias is not None:
            XW += bias.reshape(4, 1, H)
        XW = XW.reshape(4, L, N, H)
    else:
        XW = X.reshape(L * N, Hin) @ Wih.T
        if bias is not None:
            XW += bias
        XW = XW.reshape(L, N, GH)

    S = np.empty((2 if lstm else 1, L + 1, N, H), dt)
    i0 = L if reverse else 0
    S[0, i0] = h0.data
    if lstm:
        S[1, i0] = c0.data
    acts = np.empty((L, 4, N, H) if lstm else (L, N, GH), dt) if (lstm or gru) else None
    ig = np.empty((N, H), dt)
    aux = np.empty((L, N, H), dt) if (lstm or gru) else None       # tanh(c_t) / W_hn h + b_hn
    # LSTM backward factors (see _bptt), filled in the time loop while the step's gates are
    # still in cache; only when a gradient will be asked for.
    need = is_grad_enabled() and any(p is not None and p.requires_grad
                                     for p in (x, h0, c0, w_ih, w_hh, b_ih, b_hh))
    M = np.empty((L, 4, N, H), dt) if lstm and need else None
    P = np.empty((L, N, H), dt) if lstm and need else None
    mask = keep = None
    if lengths is not None:
        lens = np.asarray(lengths).reshape(1, N)
        mask = (np.arange(L).reshape(L, 1) < lens).astype(dt)[:, :, None]   # (L, N, 1)
        keep = mask == 0
    tmp = np.empty((N, GH), dt)
    with np.errstate(over="ignore"):            # exp(−a) → inf gives σ = 0, as it should
        for t in (range(L - 1, -1, -1) if reverse else range(L)):
            p, q = (t + 1, t) if reverse else (t, t + 1)
            h_prev, h = S[0, p], S[0, q]
            if lstm:
                A = acts[t]                                 # (4, N, H)
                np.matmul(h_prev, WT, out=A)
                A += XW[:, t]
                np.exp(A, out=A)
                A += 1
                np.divide(1, A, out=A)                      # i, f, σ(2a_g), o
                if M is not None:
                    Mt = M[t]
                    np.subtract(1, A, out=Mt)
                    Mt *= A                                 # s(1 − s) of every gate
                gi, gf, g, go = A
                g *= 2
                g -= 1                                      # g = tanh(a_g)
                c, c_prev, tc = S[1, q], S[1, p], aux[t]
                np.multiply(gf, c_prev, out=c)
                np.multiply(gi, g, out=ig)
                c += ig
                np.tanh(c, out=tc)
                np.multiply(go, tc, out=h)
                if M is not None:
                    Mt[0] *= g                              # di = dc·g·σ'(i)
                    Mt[1] *= c_prev                         # df = dc·c_{t-1}·σ'(f)
                    Mt[2] *= gi                             # tanh'(a_g) = 4·s(1 − s), s = σ(2a_g)
                    Mt[2] *= 4                              # dg = dc·i·tanh'
                    Mt[3] *= tc                             # do = dh·tanh(c)·σ'(o)
                    Pt = P[t]
                    np.multiply(tc, tc, out=Pt)
                    np.subtract(1, Pt, out=Pt)
                    Pt *= go                                # o(1 − tanh²c)
                if keep is not None:
                    np.copyto(c, S[1, p], where=keep[t])
            elif gru:
                A, hn = acts[t], aux[t]
                np.matmul(h_prev, WT, out=tmp)
                rz = A[:, :2 * H]
                np.add(tmp[:, :2 * H], XW[t, :, :2 * H], out=rz)
                np.exp(rz, out=rz)
                rz += 1
                np.reciprocal(rz, out=rz)                   # r, z
                if bhn is not None:
                    np.add(tmp[:, 2 * H:], bhn, out=hn)
                else:
                    hn[...] = tmp[:, 2 * H:]
                n = A[:, 2 * H:]
                np.multiply(A[:, :H], hn, out=n)
                n += XW[t, :, 2 * H:]
                np.tanh(n, out=n)
                np.subtract(h_prev, n, out=h)               # h = n + z·(h_prev − n)
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
                     reverse, M, P)
    core = make(S, (x, h0, c0, w_ih, w_hh, b_ih, b_hh), backward, mode + "Backward")
    return core, mask


def _bptt(mode, G, S, acts, aux, mask, X, x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse,
          M=None, P=None):
    """Backward through time; G is the gradient on the state buffer S.

    Per step only the products that involve the incoming dh, dc are left in the loop; every
    factor that depends on forward values alone is precomputed (LSTM: M, P, filled by the
    forward loop; GRU: for all steps at once).
    """
    L, N, Hin = X.shape
    Whh = w_hh.data
    GH, H = Whh.shape
    dt = Whh.dtype
    lstm, gru = mode == "LSTM", mode == "GRU"
    prev = slice(1, L + 1) if reverse else slice(0, L)      # S index of h_{t-1} for step t
    Hprev = S[0, prev]
    dh = np.zeros((N, H), dt)
    dh_new = np.empty((N, H), dt)
    t1 = np.empty((N, H), dt)
    dc = None
    if lstm:
        # dc_t += dh·P with P = o(1 − tanh²c);  d(i,f,g) = dc·M;  d(o) = dh·M_o
        A = acts
        dc = np.zeros((N, H), dt)
        last = 0 if reverse else L
        dc += G[1, last]
        dA = np.empty((4, L, N, H), dt)                     # gate-major, as the forward
        Whh4 = Whh.reshape(4, H, H)
        dh4 = np.empty((4, N, H), dt)
        dAh = None
    elif gru:
        A, hn = acts, aux
        r, z, n = A[..., :H], A[..., H:2 * H], A[..., 2 * H:]
        Nn = np.multiply(n, n)                              # dn_pre = dh·(1 − z)(1 − n²)
        np.subtract(1, Nn, out=Nn)
        Nn *= np.subtract(1, z)
        Rr = np.subtract(1, r)                              # dr_pre = dn_pre·hn·r(1 − r)
        Rr *= r
        Rr *= hn
        Zz = np.subtract(Hprev, n)                          # dz_pre = dh·(h_prev − n)·z(1 − z)
        Zz *= z
        Zz *= np.subtract(1, z)
        dAh = np.empty((L, N, GH), dt)      # hidden side: [dr, dz, dn_pre·r]
        dAn = np.empty((L, N, H), dt)       # input side n block: dn_pre
    else:
        hs = S[0, 1:] if not reverse else S[0, :L]
        Dv = np.multiply(hs, hs) if mode == "RNN_TANH" else (hs > 0).astype(dt)
        if mode == "RNN_TANH":
            np.subtract(1, Dv, out=Dv)
        dA = np.empty((L, N, GH), dt)
        dAh = dA
    for t in (range(L) if reverse else range(L - 1, -1, -1)):
        q = t if reverse else t + 1
        dh += G[0, q]
        if mask is not None:                    # padded step: the state passes through
            m = mask[t]
            dh_pass = dh * (1 - m)
            dh *= m
            if lstm:
                dc_pass = dc * (1 - m)
                dc *= m
        if lstm:
            D, Mt = dA[:, t], M[t]
            np.multiply(dh, P[t], out=t1)
            dc += t1
            np.multiply(Mt[0], dc, out=D[0])
            np.multiply(Mt[1], dc, out=D[1])
            np.multiply(Mt[2], dc, out=D[2])
            np.multiply(dh, Mt[3], out=D[3])
            dc *= A[t, 1]                                   # dc_{t-1} = dc·f
            np.matmul(D, Whh4, out=dh4)                     # Σ_k D_k·W_hh[k]
            np.add.reduce(dh4, axis=0, out=dh_new)
        elif gru:
            Dh, Dn = dAh[t], dAn[t]
            np.multiply(dh, Nn[t], out=Dn)
            np.multiply(Dn, Rr[t], out=Dh[:, :H])
            np.multiply(dh, Zz[t], out=Dh[:, H:2 * H])
            np.multiply(Dn, r[t], out=Dh[:, 2 * H:])
            np.matmul(Dh, Whh, out=dh_new)
            np.multiply(dh, z[t], out=t1)
            dh_new += t1
        else:
            D = dA[t]
            np.multiply(dh, Dv[t], out=D)
            np.matmul(D, Whh, out=dh_new)
        if mask is not None:
            dh_new += dh_pass
            if lstm:
                dc += dc_pass
        dh, dh_new = dh_new, dh
    # weight and input gradients: single GEMMs over all L·N rows
    X2, Hp2 = X.reshape(L * N, Hin), Hprev.reshape(L * N, H)
    Wih = w_ih.data
    gx = gwih = gbih = gwhh = None
    if lstm:                                # gate-major dA (4, L·N, H): per-gate GEMMs
        dA3 = dA.reshape(4, L * N, H)
        if x.requires_grad:
            gx = np.add.reduce(np.matmul(dA3, Wih.reshape(4, H, Hin)), axis=0).reshape(X.shape)
        if w_ih.requires_grad:
            gwih = np.matmul(dA3.transpose(0, 2, 1), X2).reshape(GH, Hin)
        if w_hh.requires_grad:
            gwhh = np.matmul(dA3.transpose(0, 2, 1), Hp2).reshape(GH, H)
        gb = dA3.sum(1).reshape(GH) if (b_ih is not None and b_ih.requires_grad) or (
            b_hh is not None and b_hh.requires_grad) else None
        gbih = gb if b_ih is not None and b_ih.requires_grad else None
        gbhh = None
        if b_hh is not None and b_hh.requires_grad:
            gbhh = gb.copy() if gbih is not None else gb
        gh0 = dh if h0.requires_grad else None
        gc0 = dc if c0.requires_grad else None
        return gx, gh0, gc0, gwih, gwhh, gbih, gbhh
    dAh2 = dAh.reshape(L * N, GH)
    if gru:                                 # input side = [dr, dz] of dAh, then dn_pre
        rz, dn2 = dAh2[:, :2 * H], dAn.reshape(L * N, H)
        if x.requires_grad:
            gx = rz @ Wih[:2 * H]
            gx += dn2 @ Wih[2 * H:]
            gx = gx.reshape(X.shape)
        if w_ih.requires_grad:
            gwih = np.concatenate([rz.T @ X2, dn2.T @ X2])
        if b_ih is not None and b_ih.requires_grad:
            gbih = np.concatenate([rz.sum(0), dn2.sum(0)])
    else:
        dA2 = dA.reshape(L * N, GH)
        gx = (dA2 @ Wih).reshape(X.shape) if x.requires_grad else None
        gwih = dA2.T @ X2 if w_ih.requires_grad else None
        gbih = dA2.sum(0) if b_ih is not None and b_ih.requires_grad else None
    if w_hh.requires_grad:
        gwhh = dAh2.T @ Hp2
    gbhh = None
    if b_hh is not None and b_hh.requires_grad:     # same sum as gbih unless GRU
        gbhh = gbih.copy() if gbih is not None and not gru else dAh2.sum(0)
    gh0 = dh if h0.requires_grad else None
    gc0 = dc if lstm and c0.requires_grad else None
    return gx, gh0, gc0, gwih, gwhh, gbih, gbhh
