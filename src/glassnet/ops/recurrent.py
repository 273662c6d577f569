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

``ops/recurrent_ref.py`` holds a plain step-by-step version built from primitive ops; the tests
check that both agree in values and gradients.
"""
import functools
from typing import NamedTuple

import numpy as np

from ..backend import device_of, to_device, to_host, xp_of
from ..tensor import Tensor, is_grad_enabled, make
from ._util import same_device

__all__ = ["recurrent_layer", "EmbeddedInput"]

MODES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}   # gate blocks per mode


class EmbeddedInput(NamedTuple):
    """A layer input given as an embedding lookup, x = weight[ids] (see the module docstring).

    ids: int array (L, N), time-major like x. weight: the (V, H_in) table Tensor; its gradient
    comes out of the recurrent op directly. padding_idx: a row whose gradient stays zero.
    """
    ids: np.ndarray
    weight: Tensor
    padding_idx: int | None = None


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
    core, mask = _core(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths, reverse)
    L = x.ids.shape[0] if isinstance(x, EmbeddedInput) else x.shape[0]
    seq = slice(0, L) if reverse else slice(1, L + 1)
    last = 0 if reverse else L
    out = _take(core, (0, seq), mask)
    h_n = _take(core, (0, last))
    c_n = _take(core, (1, last)) if mode == "LSTM" else None
    return out, h_n, c_n


def _take(core: Tensor, key, mask=None) -> Tensor:
    """A slice of the kernel's state buffer (optionally masked) as its own graph node."""
    out = core.data[key]
    xp = xp_of(out)
    if mask is not None:
        out = out * mask

    def backward(g):
        grad = xp.zeros(core.data.shape, core.data.dtype)  # calloc: no pass over S
        if mask is None:
            grad[key] = g
        else:
            xp.multiply(g, mask, out=grad[key])
        return (grad,)
    return make(out, (core,), backward, "RecurrentOutBackward")


def _make_gate_scale(xp, mode, H, dt):
    """Per-row factors folded into the gate pre-activations (see ``_core``); None for RNNs."""
    if mode == "LSTM":
        scale = xp.full((4 * H, 1), -1, dt)
        scale[2 * H:3 * H] = -2
    elif mode == "GRU":
        scale = xp.ones((3 * H, 1), dt)
        scale[:2 * H] = -1
    else:
        return None
    return scale


@functools.lru_cache(maxsize=16)
def _gate_scale(mode, H, dt):
    """Host copy of ``_make_gate_scale``, made once per (mode, H, dtype) and never written."""
    scale = _make_gate_scale(np, mode, H, dt)
    if scale is not None:
        scale.flags.writeable = False
    return scale


def _core(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths, reverse):
    """Forward over time. Returns the state buffer S (k, L+1, N, H) as a Tensor, and the mask.

    S[0] holds hidden states, S[1] cell states (LSTM). Forward: S[:, 0] = initial state and
    S[:, t+1] = state after step t. Reverse: S[:, L] = initial, S[:, t] = state after step t.
    """
    emb = x if isinstance(x, EmbeddedInput) else None
    src = emb.weight if emb is not None else x          # the graph parent in x's place
    same_device(mode.lower(), src, h0, c0, w_ih, w_hh, b_ih, b_hh)
    xp = xp_of(src.data)                                # the array module, once per call
    if emb is not None:                                 # ids on the table's device
        X, ids = None, emb.ids if xp is np else to_device(emb.ids, device_of(src.data))
        (L, N), Hin = ids.shape, src.shape[1]
    else:
        X = x.data
        L, N, Hin = X.shape
    Whh, dt = w_hh.data, w_hh.data.dtype
    GH, H = Whh.shape
    lstm, gru = mode == "LSTM", mode == "GRU"

    # Sigmoid gates are computed as 1/(1 + exp(−a)): their rows of W_ih, W_hh and the biases
    # are negated up front, so a step needs exp, +1, 1/x. LSTM's g = tanh(a) = 2σ(2a) − 1 uses
    # a scale of −2 on its rows. GRU's n rows keep tanh (it needs r·(W_hn h + b_hn) unscaled).
    scale = _gate_scale(mode, H, dt) if xp is np else _make_gate_scale(xp, mode, H, dt)
    # Few rows (generation: L = N = 1) make scaling the products cheaper than scaling and
    # copying the weights: then W_hhᵀ stays a view and each step's (N, G·H) product is scaled.
    n_rows = L * N + (src.shape[0] if emb is not None else L * N)
    row_scale = scale[:, 0] if scale is not None and n_rows < H + Hin else None
    if row_scale is not None:
        Wih, WT = w_ih.data, Whh.T
    else:
        Wih = w_ih.data if scale is None else w_ih.data * scale
        WT = xp.empty((H, GH), dt)
        xp.copyto(WT, (Whh if scale is None else Whh * scale).T)
    bias = None                                 # b_ih + b_hh where they commute (not GRU's n)
    if b_ih is not None or b_hh is not None:
        bias = xp.zeros(GH, dt)
        if b_ih is not None:
            bias += b_ih.data
        if b_hh is not None:
            bias[:2 * H if gru else GH] += b_hh.data[:2 * H if gru else GH]
        if scale is not None and row_scale is None:
            bias *= scale[:, 0]
    bhn = b_hh.data[2 * H:] if gru and b_hh is not None else None
    # input projection of all steps: one GEMM (LSTM: one per gate, see below), or with an
    # embedding input one GEMM over the V table rows and a gather
    rows = src.data if emb is not None else X.reshape(L * N, Hin)
    if lstm:
        # LSTM works gate-major, (4, N, H) per step: a gate is then one contiguous block, and
        # element-wise ufuncs on contiguous blocks run ~3x faster than on column slices of an
        # (N, 4H) array. The step's GEMM stays one (N, H)·(H, 4H) product (one threaded BLAS
        # call, not four: fewer thread syncs), and adding XW moves it to the gate-major A.
        XW = xp.matmul(rows, Wih.reshape(4, H, Hin).transpose(0, 2, 1))
        if bias is not None:
            XW += bias.reshape(4, 1, H)
        if row_scale is not None:
            XW *= row_scale.reshape(4, 1, H)
        if emb is not None:
            XW = xp.take(XW, ids.reshape(-1), axis=1)
        XW = XW.reshape(4, L, N, H)
    else:
        XW = xp.matmul(rows, Wih.T)
        if bias is not None:
            XW += bias
        if row_scale is not None:
            XW *= row_scale
        if emb is not None:
            XW = xp.take(XW, ids.reshape(-1), axis=0)
        XW = XW.reshape(L, N, GH)

    S = xp.empty((2 if lstm else 1, L + 1, N, H), dt)
    i0 = L if reverse else 0
    S[0, i0] = h0.data
    if lstm:
        S[1, i0] = c0.data
    acts = xp.empty((L, 4, N, H) if lstm else (L, N, GH), dt) if (lstm or gru) else None
    ig = xp.empty((N, H), dt)
    aux = xp.empty((L, N, H), dt) if (lstm or gru) else None       # tanh(c_t) / W_hn h + b_hn
    # LSTM backward factors (see _bptt), filled in the time loop while the step's gates are
    # still in cache; only when a gradient will be asked for.
    need = is_grad_enabled() and any(p is not None and p.requires_grad
                                     for p in (src, h0, c0, w_ih, w_hh, b_ih, b_hh))
    M = xp.empty((L, 4, N, H), dt) if lstm and need else None
    P = xp.empty((L, N, H), dt) if lstm and need else None
    mask = keep = None
    if lengths is not None:
        lens = to_host(lengths).reshape(1, N)           # the mask is made on the host
        mask = (np.arange(L).reshape(L, 1) < lens).astype(dt)[:, :, None]   # (L, N, 1)
        if xp is not np:
            mask = to_device(mask, device_of(src.data))
        keep = mask == 0
    tmp = xp.empty((N, GH), dt)
    first = L - 1 if reverse else 0
    zero_h0 = L > 1 and not h0.data.any()       # the usual h0 = 0: step `first` needs no GEMM

    def recur(h_prev, out, t):                  # out = h_{t-1}·W_hhᵀ (scaled)
        if zero_h0 and t == first:
            out.fill(0)
        else:
            xp.matmul(h_prev, WT, out=out)
            if row_scale is not None:
                out *= row_scale
    with np.errstate(over="ignore"):            # exp(−a) → inf gives σ = 0, as it should
        for t in (range(L - 1, -1, -1) if reverse else range(L)):
            p, q = (t + 1, t) if reverse else (t, t + 1)
            h_prev, h = S[0, p], S[0, q]
            if lstm:
                A = acts[t]                                 # (4, N, H)
                recur(h_prev, tmp, t)                       # (N, 4H)
                xp.add(tmp.reshape(N, 4, H).transpose(1, 0, 2), XW[:, t], out=A)
                xp.exp(A, out=A)
                A += 1
                xp.divide(1, A, out=A)                      # i, f, σ(2a_g), o
                if M is not None:
                    Mt = M[t]
                    xp.subtract(1, A, out=Mt)
                    Mt *= A                                 # s(1 − s) of every gate
                gi, gf, g, go = A
                g *= 2
                g -= 1                                      # g = tanh(a_g)
                c, c_prev, tc = S[1, q], S[1, p], aux[t]
                xp.multiply(gf, c_prev, out=c)
                xp.multiply(gi, g, out=ig)
                c += ig
                xp.multiply(c, -2, out=tc)                  # tanh c = 2σ(2c) − 1: exp is
                xp.exp(tc, out=tc)                          # ~2x faster than xp.tanh here
                tc += 1
                xp.divide(2, tc, out=tc)
                tc -= 1
                xp.multiply(go, tc, out=h)
                if M is not None:
                    Mt[0] *= g                              # di = dc·g·σ'(i)
                    Mt[1] *= c_prev                         # df = dc·c_{t-1}·σ'(f)
                    Mt[2] *= gi                             # tanh'(a_g) = 4·s(1 − s), s = σ(2a_g)
                    Mt[2] *= 4                              # dg = dc·i·tanh'
                    Mt[3] *= tc                             # do = dh·tanh(c)·σ'(o)
                    Pt = P[t]
                    xp.multiply(tc, tc, out=Pt)
                    xp.subtract(1, Pt, out=Pt)
                    Pt *= go                                # o(1 − tanh²c)
                if keep is not None:
                    xp.copyto(c, S[1, p], where=keep[t])
            elif gru:
                A, hn = acts[t], aux[t]
                recur(h_prev, tmp, t)
                rz = A[:, :2 * H]
                xp.add(tmp[:, :2 * H], XW[t, :, :2 * H], out=rz)
                xp.exp(rz, out=rz)
                rz += 1
                xp.reciprocal(rz, out=rz)                   # r, z
                if bhn is not None:
                    xp.add(tmp[:, 2 * H:], bhn, out=hn)
                else:
                    hn[...] = tmp[:, 2 * H:]
                n = A[:, 2 * H:]
                xp.multiply(A[:, :H], hn, out=n)
                n += XW[t, :, 2 * H:]
                xp.tanh(n, out=n)
                xp.subtract(h_prev, n, out=h)               # h = n + z·(h_prev − n)
                h *= A[:, H:2 * H]
                h += n
            else:
                recur(h_prev, h, t)
                h += XW[t]
                if mode == "RNN_TANH":
                    xp.tanh(h, out=h)
                else:
                    xp.maximum(h, 0, out=h)
            if keep is not None:
                xp.copyto(h, h_prev, where=keep[t])

    def backward(G):
        return _bptt(mode, G, S, acts, aux, mask, X, emb, src, h0, c0, w_ih, w_hh, b_ih, b_hh,
                     reverse, M, P, zero_h0)
    core = make(S, (src, h0, c0, w_ih, w_hh, b_ih, b_hh), backward, mode + "Backward")
    return core, mask


def _bptt(mode, G, S, acts, aux, mask, X, emb, src, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse,
          M=None, P=None, zero_h0=False):
    """Backward through time; G is the gradient on the state buffer S.

    Per step only the products that involve the incoming dh, dc are left in the loop; every
    factor that depends on forward values alone is precomputed (LSTM: M, P, filled by the
    forward loop; GRU: for all steps at once).
    """
    L, N = S.shape[1] - 1, S.shape[2]
    xp = xp_of(S)
    Whh = w_hh.data
    GH, H = Whh.shape
    dt = Whh.dtype
    lstm, gru = mode == "LSTM", mode == "GRU"
    prev = slice(1, L + 1) if reverse else slice(0, L)      # S index of h_{t-1} for step t
    Hprev = S[0, prev]
    dh = xp.zeros((N, H), dt)
    dh_new = xp.empty((N, H), dt)
    t1 = xp.empty((N, H), dt)
    dc = None
    if lstm:
        # dc_t += dh·P with P = o(1 − tanh²c);  d(i,f,g) = dc·M;  d(o) = dh·M_o
        A = acts
        dc = xp.zeros((N, H), dt)
        last = 0 if reverse else L
        dc += G[1, last]
        # dA row-major (L, N, 4H), unlike the gate-major forward: each step's dh is then one
        # (N, 4H)·(4H, H) GEMM (not 4 GEMMs and a sum), dW_hh one GEMM over all L·N rows;
        # measured ~8% faster in the loop than gate-major despite the strided gate writes
        dA = xp.empty((L, N, GH), dt)
        dAh = dA
    elif gru:
        A, hn = acts, aux
        r, z, n = A[..., :H], A[..., H:2 * H], A[..., 2 * H:]
        Nn = xp.multiply(n, n)                              # dn_pre = dh·(1 − z)(1 − n²)
        xp.subtract(1, Nn, out=Nn)
        Nn *= xp.subtract(1, z)
        Rr = xp.subtract(1, r)                              # dr_pre = dn_pre·hn·r(1 − r)
        Rr *= r
        Rr *= hn
        Zz = xp.subtract(Hprev, n)                          # dz_pre = dh·(h_prev − n)·z(1 − z)
        Zz *= z
        Zz *= xp.subtract(1, z)
        dAh = xp.empty((L, N, GH), dt)      # hidden side: [dr, dz, dn_pre·r]
        dAn = xp.empty((L, N, H), dt)       # input side n block: dn_pre
    else:
        hs = S[0, 1:] if not reverse else S[0, :L]
        Dv = xp.multiply(hs, hs) if mode == "RNN_TANH" else (hs > 0).astype(dt)
        if mode == "RNN_TANH":
            xp.subtract(1, Dv, out=Dv)
        dA = xp.empty((L, N, GH), dt)
        dAh = dA
    first = L - 1 if reverse else 0             # the first forward step: dh_new there is dh0
    for t in (range(L) if reverse else range(L - 1, -1, -1)):
        q = t if reverse else t + 1
        to_h = t != first or h0.requires_grad   # else the ·W_hh GEMM below is not needed
        dh += G[0, q]
        if mask is not None:                    # padded step: the state passes through
            m = mask[t]
            dh_pass = dh * (1 - m)
            dh *= m
            if lstm:
                dc_pass = dc * (1 - m)
                dc *= m
        if lstm:
            D, Mt = dA[t].reshape(N, 4, H), M[t]
            xp.multiply(dh, P[t], out=t1)
            dc += t1
            xp.multiply(Mt[:3], dc, out=D[:, :3].transpose(1, 0, 2))   # i, f, g at once
            xp.multiply(dh, Mt[3], out=D[:, 3])
            dc *= A[t, 1]                                   # dc_{t-1} = dc·f
            if to_h:
                xp.matmul(dA[t], Whh, out=dh_new)
        elif gru:
            Dh, Dn = dAh[t], dAn[t]
            xp.multiply(dh, Nn[t], out=Dn)
            xp.multiply(Dn, Rr[t], out=Dh[:, :H])
            xp.multiply(dh, Zz[t], out=Dh[:, H:2 * H])
            xp.multiply(Dn, r[t], out=Dh[:, 2 * H:])
            if to_h:
                xp.matmul(Dh, Whh, out=dh_new)
                xp.multiply(dh, z[t], out=t1)
                dh_new += t1
        else:
            D = dA[t]
            xp.multiply(dh, Dv[t], out=D)
            if to_h:
                xp.matmul(D, Whh, out=dh_new)
        if mask is not None:
            if to_h:
                dh_new += dh_pass
            if lstm:
                dc += dc_pass
        dh, dh_new = dh_new, dh
    # weight and input gradients: single GEMMs over all L·N rows (input side: _input_grads)
    dAh2 = dAh.reshape(L * N, GH)
    blocks = [dAh2[:, :2 * H], dAn.reshape(L * N, H)] if gru else [dAh2]
    b_ih_g = b_ih is not None and b_ih.requires_grad
    b_hh_g = b_hh is not None and b_hh.requires_grad
    gx, gwih, gb = _input_grads(blocks, w_ih.data, X, emb, src.requires_grad,
                                w_ih.requires_grad, b_ih_g or (b_hh_g and not gru))
    gbih = gb if b_ih_g else None
    gwhh = gbhh = None
    Hp2 = Hprev.reshape(L * N, H)
    if w_hh.requires_grad:                  # rows with h_{t-1} = h0 = 0 add nothing: skipped
        rows = slice(None) if not zero_h0 else slice(N, None) if not reverse else \
            slice(0, (L - 1) * N)
        gwhh = xp.matmul(dAh2[rows].T, Hp2[rows])
    if b_hh_g:                              # the same sum as gbih unless GRU
        gbhh = dAh2.sum(0) if gru else (gb.copy() if b_ih_g else gb)
    gh0 = dh if h0.requires_grad else None
    gc0 = dc if lstm and c0.requires_grad else None
    return gx, gh0, gc0, gwih, gwhh, gbih, gbhh


def _input_grads(blocks, Wih, X, emb, want_x, want_w, want_b):
    """Gradients of the input projection XW = x·W_ihᵀ + b_ih, given dXW (L·N, G·H).

    ``blocks`` split dXW by columns, in W_ih's row order; each is (L·N, C) and covers C rows of
    W_ih. Returns (dx, dW_ih, db_ih), each None unless wanted; with an embedding input dx is
    the table's gradient (V, H_in).
    """
    Hin = Wih.shape[1]
    xp = xp_of(Wih)
    if emb is not None:                     # x = E[ids]: sum the rows per id, then V-row GEMMs
        E = emb.weight.data
        if xp is np:                        # host ids: sorted once, then per-id sums in cache
            ids = np.asarray(emb.ids).reshape(-1)
            order = np.argsort(ids, kind="stable")
            uniq, starts = np.unique(ids[order], return_index=True)
            bounds = list(zip(uniq, starts, np.append(starts[1:], ids.size)))
            blocks = [_segment_sum(d, order, bounds, E.shape[0]) for d in blocks]
        else:                               # on a device: one scatter-add per block
            ids = to_device(emb.ids, device_of(E)).reshape(-1)
            blocks = [_scatter_sum(xp, d, ids, E.shape[0]) for d in blocks]
        rows = E
    else:
        rows = X.reshape(-1, Hin)
    gx, gws, gbs, r0 = None, [], [], 0
    for d in blocks:
        C = d.shape[1]
        if want_x:
            part = xp.matmul(d, Wih[r0:r0 + C])
            gx = part if gx is None else gx + part
        if want_w:
            gws.append(xp.matmul(d.T, rows))
        if want_b:
            gbs.append(d.sum(0))
        r0 += C
    if gx is not None:
        if emb is None:
            gx = gx.reshape(X.shape)
        elif emb.padding_idx is not None:
            gx[emb.padding_idx] = 0
    gw = None if not want_w else gws[0] if len(gws) == 1 else xp.concatenate(gws)
    gb = None if not want_b else gbs[0] if len(gbs) == 1 else xp.concatenate(gbs)
    return gx, gw, gb


def _segment_sum(d, order, bounds, V):
    """(V, C): row v is the sum of the rows of d (R, C) whose id is v (zero if none). Host."""
    out = np.zeros((V, d.shape[1]), d.dtype)
    for v, a, b in bounds:                  # gather one id's rows at a time: stays in cache
        np.add.reduce(d[order[a:b]], axis=0, out=out[v])
    return out


def _scatter_sum(xp, d, ids, V):
    """``_segment_sum`` on a device: ``xp.add.at`` of the rows of d (R, C) at their ids."""
    out = xp.zeros((V, d.shape[1]), d.dtype)
    xp.add.at(out, ids, d)
    return out
