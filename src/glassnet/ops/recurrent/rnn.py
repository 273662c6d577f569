"""Elman RNN cell over a sequence: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh) (or relu).

Forward writes h_t straight into the state buffer S; backward through time keeps one
(N, H) gradient dh and per step does dA_t = dh ⊙ act'(h_t) and dh_{t-1} = dA_t·W_hh.

With the compiled kernels (``run.kernels``: float32 on the host, ``ops/kernels/``) a step is
the GEMM and one kernel call each way (the add and the activation, or the arriving gradient's
add and act'(h_t), in one pass).
"""
import numpy as np

from .._fast import step_kernel, threads_for
from ._grads import finish


def forward(run) -> None:
    """The time loop; fills run.S (see ``LayerRun``)."""
    if run.kernels is not None:
        return _forward_compiled(run)
    xp, S, XW, keep = run.xp, run.S, run.XW, run.keep
    tanh = run.mode == "RNN_TANH"
    for t in run.steps():
        p, q = run.state_index(t)
        h_prev, h = S[0, p], S[0, q]
        run.recur(h_prev, h, t)
        h += XW[t]
        if tanh:
            xp.tanh(h, out=h)
        else:
            xp.maximum(h, 0, out=h)
        if keep is not None:
            xp.copyto(h, h_prev, where=keep[t])


def backward(run, G):
    """Backward through time; G is the gradient on S. Returns ``finish``'s 7 gradients."""
    if run.kernels is not None:
        return _backward_compiled(run, G)
    xp, S, L, N, H = run.xp, run.S, run.L, run.N, run.H
    Whh = run.w_hh.array
    GH, dt = Whh.shape[0], Whh.dtype
    hs = S[0, :L] if run.reverse else S[0, 1:]
    if run.mode == "RNN_TANH":                  # tanh' = 1 − h², relu' = [h > 0]
        Dv = xp.multiply(hs, hs)
        xp.subtract(1, Dv, out=Dv)
    else:
        Dv = (hs > 0).astype(dt)
    dA = xp.empty((L, N, GH), dt)
    dh, dh_new = xp.zeros((N, H), dt), xp.empty((N, H), dt)
    recur = run.recur_grad()                    # dA_t·W_hh
    for t, q, to_h in run.backward_steps():
        dh += G[0, q]
        dh_pass = run.hold(dh, t)
        D = dA[t]
        xp.multiply(dh, Dv[t], out=D)
        if to_h:
            recur(D, dh_new)
            if dh_pass is not None:
                dh_new += dh_pass
        dh, dh_new = dh_new, dh
    dA2 = dA.reshape(L * N, GH)
    return finish(run, dA2, [dA2], dh, None)


def _forward_compiled(run) -> None:
    """``forward`` with the compiled step: h_t = act(h_{t-1}·W_hhᵀ + XW[rows[t]]) in place."""
    S, XW, keep, N, H = run.S, run.XW, run.keep, run.N, run.H
    relu = run.mode == "RNN_RELU"
    plan = run.loop_product(S[0, 0], S[0, 1])
    if plan is not None:                        # the whole loop in one call (kernels/loops.c)
        run.kernels.rnn_forward_loop(plan, S[0], XW, run.rows, run.reverse, run.zero_h0, relu,
                                     threads_for(N * H))
        return
    cell = step_kernel("rnn_cell", N * H)
    for t in run.steps():
        p, q = run.state_index(t)
        h_prev, h = S[0, p], S[0, q]
        run.recur(h_prev, h, t)
        cell(h, XW, run.rows[t], relu)
        if keep is not None:
            np.copyto(h, h_prev, where=keep[t])


def _backward_compiled(run, G):
    """``backward`` with the compiled step; an embedding input's gradients are summed per id
    at each step (``kernels.add_rows``). The whole loop is one call into kernels/loops.c where MKL
    takes the product and no lengths mask the steps."""
    S, L, N, H = run.S, run.L, run.N, run.H
    dA = np.empty((L, N, H), S.dtype)
    dT = np.zeros((run.src.shape[0], H), S.dtype) if run.emb is not None else None
    dh, dh_new = np.zeros((N, H), S.dtype), np.empty((N, H), S.dtype)
    plan = run.loop_product(dA[0], dh_new, G[0])
    if plan is None:
        dh = _backward_steps(run, G, dA, dT, dh, dh_new)
    elif run.kernels.rnn_backward_loop(plan, G[0], S[0], dA, dh, dh_new, dT, run.rows,
                                       run.reverse, run.h0.requires_grad,
                                       run.mode == "RNN_RELU", threads_for(N * H)):
        dh = dh_new
    dA2 = dA.reshape(L * N, H)
    if dT is not None:
        return finish(run, dA2, [dT], dh, None, summed=True)
    return finish(run, dA2, [dA2], dh, None)


def _backward_steps(run, G, dA, dT, dh, dh_new):
    """The time loop of ``_backward_compiled`` in Python, a kernel call per step; fills dA
    (and dT) and returns the gradient on h0."""
    S, relu = run.S, run.mode == "RNN_RELU"
    cell_backward = step_kernel("rnn_cell_backward", run.N * run.H)
    recur = run.recur_grad()                    # dA_t·W_hh
    for t, q, to_h in run.backward_steps():
        if run.mask is None:                    # D = (dh + G_t)·act'(h_t), one pass
            dh_pass = None
            cell_backward(dh, G[0, q], S[0, q], dA[t], relu)
        else:                                   # padded steps: the passing part split off
            dh += G[0, q]
            dh_pass = run.hold(dh, t)
            cell_backward(dh, None, S[0, q], dA[t], relu)
        run.pass_back(recur, dA[t], t, to_h, dT, dh_new, dh_pass)
        dh, dh_new = dh_new, dh
    return dh
