"""LSTM cell over a sequence (PyTorch's equations and gate order i, f, g, o in 4H rows)::

    i, f, g, o = σ, σ, tanh, σ (W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)
    c_t = f ⊙ c_{t-1} + i ⊙ g,   h_t = o ⊙ tanh(c_t)

Forward works gate-major, A_t (4, N, H), with the sigmoid rows pre-negated and g's rows scaled
by −2 (``prepare``): a gate is then exp, +1, 1/x on one contiguous block. While a step's gates
are still in cache it also stores the backward factors M_t (4, N, H) and P_t = o(1 − tanh²c),
so backward through time only multiplies them by the incoming dh, dc::

    dc += dh ⊙ P_t;   d(i, f, g) = dc ⊙ M_t[:3];   d(o) = dh ⊙ M_t[3];   dc_{t-1} = dc ⊙ f
    dh_{t-1} = dA_t·W_hh      (dA_t row-major (N, 4H): one GEMM)

With the compiled kernels (``run.kernels``: float32 on the host, see ``ops/kernels/``) a
step is the GEMM and one kernel call each way, rows (N, 4H) in PyTorch's gate order; the
backward factors are then not stored but recomputed from the activations inside the
backward kernel (no M, P: 40% less saved state).
"""
import numpy as np

from .._fast import step_kernel, threads_for
from ._grads import finish


def forward(run) -> None:
    """The time loop; fills run.S, run.acts (L, 4, N, H), run.aux = tanh(c_t), run.M, run.P."""
    if run.kernels is not None:
        return _forward_compiled(run)
    xp, S, XW, keep, L, N, H = run.xp, run.S, run.XW, run.keep, run.L, run.N, run.H
    dt = S.dtype
    run.acts = acts = xp.empty((L, 4, N, H), dt)
    run.aux = aux = xp.empty((L, N, H), dt)
    if run.need_grad:          # backward factors, only when a gradient will be asked for
        run.M = xp.empty((L, 4, N, H), dt)
        run.P = xp.empty((L, N, H), dt)
    M, P = run.M, run.P
    ig, tmp = xp.empty((N, H), dt), xp.empty((N, 4 * H), dt)
    for t in run.steps():
        p, q = run.state_index(t)
        h_prev, h = S[0, p], S[0, q]
        A = acts[t]                                 # (4, N, H)
        run.recur(h_prev, tmp, t)                   # (N, 4H)
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
        xp.tanh(c, out=tc)          # one SIMD pass (NumPy >= 1.25); 2σ(2c) − 1 took five
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
            xp.copyto(c, c_prev, where=keep[t])
            xp.copyto(h, h_prev, where=keep[t])


def backward(run, G):
    """Backward through time; G is the gradient on S. Returns ``finish``'s 7 gradients."""
    if run.kernels is not None:
        return _backward_compiled(run, G)
    xp, L, N, H = run.xp, run.L, run.N, run.H
    Whh, A, M, P = run.w_hh.array, run.acts, run.M, run.P
    GH, dt = Whh.shape[0], Whh.dtype
    dh, dh_new, t1 = xp.zeros((N, H), dt), xp.empty((N, H), dt), xp.empty((N, H), dt)
    dc = xp.zeros((N, H), dt)
    dc += G[1, 0 if run.reverse else L]
    # dA row-major (L, N, 4H), unlike the gate-major forward: each step's dh is then one
    # (N, 4H)·(4H, H) GEMM (not 4 GEMMs and a sum), dW_hh one GEMM over all L·N rows;
    # measured ~8% faster in the loop than gate-major despite the strided gate writes
    dA = xp.empty((L, N, GH), dt)
    recur = run.recur_grad()                        # dA_t·W_hh
    for t, q, to_h in run.backward_steps():
        dh += G[0, q]
        dh_pass = run.hold(dh, t)
        dc_pass = run.hold(dc, t)
        D, Mt = dA[t].reshape(N, 4, H), M[t]
        xp.multiply(dh, P[t], out=t1)
        dc += t1
        xp.multiply(Mt[:3], dc, out=D[:, :3].transpose(1, 0, 2))   # i, f, g at once
        xp.multiply(dh, Mt[3], out=D[:, 3])
        dc *= A[t, 1]                                   # dc_{t-1} = dc·f
        if to_h:
            recur(dA[t], dh_new)
            if dh_pass is not None:
                dh_new += dh_pass
        if dc_pass is not None:
            dc += dc_pass
        dh, dh_new = dh_new, dh
    dA2 = dA.reshape(L * N, GH)
    return finish(run, dA2, [dA2], dh, dc)


def _forward_compiled(run) -> None:
    """``forward`` with the compiled step: fills run.S, run.acts (L, N, 4H), run.aux."""
    S, XW, keep, L, N, H = run.S, run.XW, run.keep, run.L, run.N, run.H
    run.acts = acts = np.empty((L, N, 4 * H), S.dtype)
    run.aux = aux = np.empty((L, N, H), S.dtype)
    pre = np.empty((N, 4 * H), S.dtype)
    plan = run.loop_product(S[0, 0], pre)
    if plan is not None:                        # the whole loop in one call (kernels/loops.c)
        run.kernels.lstm_forward_loop(plan, S, pre, XW, run.rows, acts, aux, run.reverse,
                                      run.zero_h0, threads_for(N * H))
        return
    cell = step_kernel("lstm_cell", N * H)
    for t in run.steps():
        p, q = run.state_index(t)
        run.recur(S[0, p], pre, t)                  # (N, 4H)
        cell(pre, XW, run.rows[t], S[1, p], acts[t], S[1, q], aux[t], S[0, q])
        if keep is not None:
            np.copyto(S[1, q], S[1, p], where=keep[t])
            np.copyto(S[0, q], S[0, p], where=keep[t])


def _backward_compiled(run, G):
    """``backward`` with the compiled step (the same GEMMs, one kernel call per step); the
    whole loop is one call into kernels/loops.c where MKL takes the product and no lengths mask
    the steps."""
    L, N, H, S = run.L, run.N, run.H, run.S
    dh, dh_new = np.zeros((N, H), S.dtype), np.empty((N, H), S.dtype)
    dc = np.zeros((N, H), S.dtype)
    dc += G[1, 0 if run.reverse else L]
    dA = np.empty((L, N, 4 * H), S.dtype)
    # with an embedding input each step's rows are summed per id at once (kernels.add_rows)
    dT = np.zeros((run.src.shape[0], 4 * H), S.dtype) if run.emb is not None else None
    plan = run.loop_product(dA[0], dh_new, G)
    if plan is None:
        dh = _backward_steps(run, G, dA, dT, dh, dh_new, dc)
    elif run.kernels.lstm_backward_loop(plan, G, S, run.acts, run.aux, dA, dh, dh_new, dc, dT,
                                        run.rows, run.reverse, run.h0.requires_grad,
                                        threads_for(N * H)):
        dh = dh_new
    dA2 = dA.reshape(L * N, 4 * H)
    if dT is not None:
        return finish(run, dA2, [dT], dh, dc, summed=True)
    return finish(run, dA2, [dA2], dh, dc)


def _backward_steps(run, G, dA, dT, dh, dh_new, dc):
    """The time loop of ``_backward_compiled`` in Python, a kernel call per step; fills dA
    (and dT), turns dc into the gradient on c0 and returns the gradient on h0."""
    S, acts, aux = run.S, run.acts, run.aux
    cell_backward = step_kernel("lstm_cell_backward", run.N * run.H)
    recur = run.recur_grad()                        # dA_t·W_hh
    for t, q, to_h in run.backward_steps():
        dh += G[0, q]
        dh_pass = run.hold(dh, t)
        dc_pass = run.hold(dc, t)
        p = run.state_index(t)[0]                       # S index of the state before step t
        cell_backward(dh, dc, acts[t], S[1, p], aux[t], dA[t])
        run.pass_back(recur, dA[t], t, to_h, dT, dh_new, dh_pass)
        if dc_pass is not None:
            dc += dc_pass
        dh, dh_new = dh_new, dh
    return dh
