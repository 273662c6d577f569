"""The end of every cell's backward: weight, bias, input and initial-state gradients.

After the time loop a cell hands over the gate gradients of all steps (hidden side ``dAh``,
(L·N, G·H), and the input-side column ``blocks``); here they become single GEMMs over all
L·N rows: dW_hh = dAᵀ·H_prev, dW_ih = dAᵀ·X (or V-row GEMMs for an embedding input) and
dx = dA·W_ih.
"""
import numpy as np

from ...backend import device_of, to_device, xp_of
from ...blas import matmul as gemm


def finish(run, dAh2, blocks, dh, dc, summed=False):
    """(dx, dh0, dc0, dW_ih, dW_hh, db_ih, db_hh), each None unless its input wants it.

    dAh2: (L·N, G·H) hidden-side gate gradients; blocks: the input-side ones split by
    columns in W_ih's row order (see ``input_grads``; ``summed``: already summed per
    embedding id); dh, dc: the gradients reaching h0, c0.
    """
    L, N, H = run.L, run.N, run.H
    w_ih, w_hh, b_ih, b_hh = run.w_ih, run.w_hh, run.b_ih, run.b_hh
    gru = run.mode == "GRU"
    b_ih_g = b_ih is not None and b_ih.requires_grad
    b_hh_g = b_hh is not None and b_hh.requires_grad
    gx, gwih, gb = input_grads(blocks, w_ih.array, run.X, run.emb, run.src.requires_grad,
                               w_ih.requires_grad, b_ih_g or (b_hh_g and not gru), summed)
    gbih = gb if b_ih_g else None
    gwhh = gbhh = None
    prev = slice(1, L + 1) if run.reverse else slice(0, L)      # S index of h_{t-1}
    Hp2 = run.S[0, prev].reshape(L * N, H)
    if w_hh.requires_grad:                  # rows with h_{t-1} = h0 = 0 add nothing: skipped
        rows = slice(None) if not run.zero_h0 else slice(N, None) if not run.reverse else \
            slice(0, (L - 1) * N)
        gwhh = gemm(dAh2[rows].T, Hp2[rows])
    if b_hh_g:                              # the same sum as gbih unless GRU
        gbhh = dAh2.sum(0) if gru else (gb.copy() if b_ih_g else gb)
    gh0 = dh if run.h0.requires_grad else None
    gc0 = dc if run.mode == "LSTM" and run.c0.requires_grad else None
    return gx, gh0, gc0, gwih, gwhh, gbih, gbhh


def input_grads(blocks, Wih, X, emb, want_x, want_w, want_b, summed=False):
    """Gradients of the input projection XW = x·W_ihᵀ + b_ih, given dXW (L·N, G·H).

    ``blocks`` split dXW by columns, in W_ih's row order; each is (L·N, C) and covers C rows of
    W_ih. Returns (dx, dW_ih, db_ih), each None unless wanted; with an embedding input dx is
    the table's gradient (V, H_in). ``summed``: the blocks are already (V, C), summed per id.
    """
    Hin = Wih.shape[1]
    xp = xp_of(Wih)
    rows = X.reshape(-1, Hin) if emb is None else emb.weight.array
    if emb is not None and not summed:      # x = E[ids]: sum the rows per id, then V-row GEMMs
        V = rows.shape[0]
        if xp is np:                        # host ids: sorted once, then per-id sums in cache
            ids = np.asarray(emb.ids).reshape(-1)
            order = np.argsort(ids, kind="stable")
            uniq, starts = np.unique(ids[order], return_index=True)
            bounds = list(zip(uniq, starts, np.append(starts[1:], ids.size)))
            blocks = [segment_sum(d, order, bounds, V) for d in blocks]
        else:                               # on a device: one scatter-add per block
            ids = to_device(emb.ids, device_of(rows)).reshape(-1)
            blocks = [scatter_sum(xp, d, ids, V) for d in blocks]
    gx, gws, gbs, r0 = None, [], [], 0
    for d in blocks:
        C = d.shape[1]
        if want_x:
            part = gemm(d, Wih[r0:r0 + C])
            gx = part if gx is None else gx + part
        if want_w:
            gws.append(gemm(d.T, rows))
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


def segment_sum(d, order, bounds, V):
    """(V, C): row v is the sum of the rows of d (R, C) whose id is v (zero if none). Host."""
    out = np.zeros((V, d.shape[1]), d.dtype)
    for v, a, b in bounds:                  # gather one id's rows at a time: stays in cache
        np.add.reduce(d[order[a:b]], axis=0, out=out[v])
    return out


def scatter_sum(xp, d, ids, V):
    """``segment_sum`` on a device: ``xp.add.at`` of the rows of d (R, C) at their ids."""
    out = xp.zeros((V, d.shape[1]), d.dtype)
    xp.add.at(out, ids, d)
    return out
