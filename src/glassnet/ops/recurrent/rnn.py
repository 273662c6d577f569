"""Elman RNN cell over a sequence: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh) (or relu).

Forward writes h_t straight into the state buffer S; backward through time keeps one
(N, H) gradient dh and per step does dA_t = dh ⊙ act'(h_t) and dh_{t-1} = dA_t·W_hh.
"""
from ._grads import finish


def forward(run) -> None:
    """The time loop; fills run.S (see ``LayerRun``)."""
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
