"""GRU cell over a sequence (PyTorch's equations and gate order r, z, n in 3H rows)::

    r, z = σ(W_i{r,z} x_t + b_i{r,z} + W_h{r,z} h_{t-1} + b_h{r,z})
    n = tanh(W_in x_t + b_in + r ⊙ (W_hn h_{t-1} + b_hn))
    h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}

The r, z rows are pre-negated (``prepare``): σ is exp, +1, 1/x. The n rows keep their sign,
and hn_t = W_hn h_{t-1} + b_hn is saved (aux). Backward precomputes, for all steps at once,
every factor that depends on forward values alone (Nn, Rr, Zz below), so the loop only
multiplies them by the incoming dh; the hidden side's gate gradient [dr, dz, dn_pre ⊙ r] and
the input side's n block dn_pre are kept apart, since only the hidden side sees r.

With the compiled kernels (``run.kernels``: float32 on the host, see ``ops/kernels/``) a
step is the GEMM and one kernel call each way; the backward factors
are computed inside the backward kernel from the saved activations.
"""
import numpy as np

from .._fast import step_kernel, threads_for
from ._grads import finish


def forward(run) -> None:
    """The time loop; fills run.S, run.acts (L, N, 3H) = [r, z, n], run.aux = hn_t."""
    if run.kernels is not None:
        return _forward_compiled(run)
    xp, S, XW, keep, L, N, H = run.xp, run.S, run.XW, run.keep, run.L, run.N, run.H
    dt, bhn = S.dtype, run.bhn
    run.acts = acts = xp.empty((L, N, 3 * H), dt)
    run.aux = aux = xp.empty((L, N, H), dt)
    tmp = xp.empty((N, 3 * H), dt)
    for t in run.steps():
        p, q = run.state_index(t)
        h_prev, h = S[0, p], S[0, q]
        A, hn = acts[t], aux[t]
        run.recur(h_prev, tmp, t)
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
        if keep is not None:
            xp.copyto(h, h_prev, where=keep[t])


def backward(run, G):
    """Backward through time; G is the gradient on S. Returns ``finish``'s 7 gradients."""
    if run.kernels is not None:
        return _backward_compiled(run, G)
    xp, S, L, N, H = run.xp, run.S, run.L, run.N, run.H
    Whh, A, hn = run.w_hh.array, run.acts, run.aux
    GH, dt = Whh.shape[0], Whh.dtype
    Hprev = S[0, 1:L + 1] if run.reverse else S[0, 0:L]
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
    dh, dh_new, t1 = xp.zeros((N, H), dt), xp.empty((N, H), dt), xp.empty((N, H), dt)
    recur = run.recur_grad()                        # dA_t·W_hh
    for t, q, to_h in run.backward_steps():
        dh += G[0, q]
        dh_pass = run.hold(dh, t)
        Dh, Dn = dAh[t], dAn[t]
        xp.multiply(dh, Nn[t], out=Dn)
        xp.multiply(Dn, Rr[t], out=Dh[:, :H])
        xp.multiply(dh, Zz[t], out=Dh[:, H:2 * H])
        xp.multiply(Dn, r[t], out=Dh[:, 2 * H:])
        if to_h:
            recur(Dh, dh_new)
            xp.multiply(dh, z[t], out=t1)
            dh_new += t1
            if dh_pass is not None:
                dh_new += dh_pass
        dh, dh_new = dh_new, dh
    dAh2 = dAh.reshape(L * N, GH)
    return finish(run, dAh2, [dAh2[:, :2 * H], dAn.reshape(L * N, H)], dh, None)


def _forward_compiled(run) -> None:
    """``forward`` with the compiled step (the same GEMMs, one kernel call per step)."""
    S, XW, keep, L, N, H = run.S, run.XW, run.keep, run.L, run.N, run.H
    run.acts = acts = np.empty((L, N, 3 * H), S.dtype)
    run.aux = aux = np.empty((L, N, H), S.dtype)
    pre = np.empty((N, 3 * H), S.dtype)
    bhn = np.ascontiguousarray(run.bhn) if run.bhn is not None else np.zeros(H, S.dtype)
    plan = run.loop_product(S[0, 0], pre)
    if plan is not None:                        # the whole loop in one call (kernels/loops.c)
        run.kernels.gru_forward_loop(plan, S[0], pre, XW, run.rows, bhn, acts, aux,
                                     run.reverse, run.zero_h0, threads_for(N * H))
        return
    cell = step_kernel("gru_cell", N * H)
    for t in run.steps():
        p, q = run.state_index(t)
        run.recur(S[0, p], pre, t)
        cell(pre, XW, run.rows[t], bhn, S[0, p], acts[t], aux[t], S[0, q])
        if keep is not None:
            np.copyto(S[0, q], S[0, p], where=keep[t])


def _backward_compiled(run, G):
    """``backward`` with the compiled step; an embedding input's gate gradients are summed
    per id at each step (``kernels.add_rows``). The whole loop is one call into kernels/loops.c
    where MKL takes the product and no lengths mask the steps."""
    S, L, N, H = run.S, run.L, run.N, run.H
    dAh = np.empty((L, N, 3 * H), S.dtype)          # hidden side: [dr, dz, dn_pre·r]
    dAn = np.empty((L, N, H), S.dtype)              # input side n block: dn_pre
    dT = np.zeros((run.src.shape[0], 3 * H), S.dtype) if run.emb is not None else None
    dh, dh_new, dhz = (np.zeros((N, H), S.dtype) for _ in range(3))
    plan = run.loop_product(dAh[0], dh_new, G[0])
    if plan is None:
        dh = _backward_steps(run, G, dAh, dAn, dT, dh, dh_new, dhz)
    elif run.kernels.gru_backward_loop(plan, G[0], S[0], run.acts, run.aux, dAh, dAn, dh,
                                       dh_new, dhz, dT, run.rows, run.reverse,
                                       run.h0.requires_grad, threads_for(N * H)):
        dh = dh_new
    dAh2 = dAh.reshape(L * N, 3 * H)
    if dT is not None:
        return finish(run, dAh2, [dT], dh, None, summed=True)
    return finish(run, dAh2, [dAh2[:, :2 * H], dAn.reshape(L * N, H)], dh, None)


def _backward_steps(run, G, dAh, dAn, dT, dh, dh_new, dhz):
    """The time loop of ``_backward_compiled`` in Python, a kernel call per step; fills dAh,
    dAn (and dT) and returns the gradient on h0."""
    S, acts, aux, k, H = run.S, run.acts, run.aux, run.kernels, run.H
    recur = run.recur_grad()                        # dA_t·W_hh
    cell_backward = step_kernel("gru_cell_backward", run.N * H)
    for t, q, to_h in run.backward_steps():
        dh += G[0, q]
        dh_pass = run.hold(dh, t)
        p = run.state_index(t)[0]                       # S index of the state before step t
        cell_backward(dh, acts[t], aux[t], S[0, p], dAh[t], dAn[t], dhz)
        if dT is not None:
            k.add_rows(dAh[t, :, :2 * H], run.rows[t], dT[:, :2 * H])
            k.add_rows(dAn[t], run.rows[t], dT[:, 2 * H:])
        if to_h:
            recur(dAh[t], dh_new)
            dh_new += dhz
            if dh_pass is not None:
                dh_new += dh_pass
        dh, dh_new = dh_new, dh
    return dh
