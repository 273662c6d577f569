"""The fused recurrent kernel agrees with the step-by-step reference (values and gradients)."""
import numpy as np
import pytest

import glassnet as gn
from glassnet.ops.recurrent import recurrent_layer
from glassnet.ops.recurrent_ref import recurrent_layer_reference

MODES = ["RNN_TANH", "RNN_RELU", "LSTM", "GRU"]
G = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _inputs(mode, L=5, N=3, Hin=4, H=6, dtype=np.float64, seed=0, bias=True):
    rng = np.random.default_rng(seed)
    k = G[mode]

    def t(*shape, s=0.5):
        return gn.tensor(rng.normal(0, s, shape).astype(dtype), requires_grad=True)
    x, h0, c0 = t(L, N, Hin), t(N, H), t(N, H)
    w_ih, w_hh = t(k * H, Hin), t(k * H, H)
    b_ih, b_hh = (t(k * H), t(k * H)) if bias else (None, None)
    return [x, h0, c0 if mode == "LSTM" else None, w_ih, w_hh, b_ih, b_hh]


def _run(fn, mode, args, lengths, reverse, seed=1):
    out, h, c = fn(mode, *args, lengths=lengths, reverse=reverse)
    rng = np.random.default_rng(seed)
    loss = (out * gn.tensor(rng.normal(size=out.shape).astype(out.dtype))).sum()
    loss = loss + (h * gn.tensor(rng.normal(size=h.shape).astype(h.dtype))).sum()
    if c is not None:
        loss = loss + (c * gn.tensor(rng.normal(size=c.shape).astype(c.dtype))).sum()
    for a in args:
        if a is not None:
            a.grad = None
    loss.backward()
    vals = [out.numpy(), h.numpy()] + ([c.numpy()] if c is not None else [])
    return vals, [None if a is None else a.grad.numpy() for a in args]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("lengths", [None, [5, 2, 4]])
def test_fused_matches_reference(mode, reverse, lengths):
    args = _inputs(mode)
    v1, g1 = _run(recurrent_layer, mode, args, lengths, reverse)
    v2, g2 = _run(recurrent_layer_reference, mode, args, lengths, reverse)
    for a, b in zip(v1, v2):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    for a, b in zip(g1, g2):
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("h0_grad", [True, False])
def test_zero_initial_state(mode, reverse, h0_grad):
    """h0 = 0 (the default state) skips the first step's GEMMs; without h0.requires_grad also
    the last backward GEMM. Same values and gradients (c0 still gets its gradient)."""
    args = _inputs(mode)
    args[1] = gn.tensor(np.zeros((3, 6)), requires_grad=h0_grad)
    res = []
    for fn in (recurrent_layer, recurrent_layer_reference):
        out, h, c = fn(mode, *args, lengths=[5, 2, 4], reverse=reverse)
        loss = (out * out).sum() + (h * h).sum() + ((c * c).sum() if c is not None else 0)
        for a in args:
            if a is not None:
                a.grad = None
        loss.backward()
        res.append([out.numpy(), h.numpy()] + [a.grad.numpy() for a in args
                                               if a is not None and a.requires_grad])
    assert len(res[0]) == 7 + (mode == "LSTM") + h0_grad
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("mode", MODES)
def test_fused_float32_no_bias(mode):
    args = _inputs(mode, dtype=np.float32, bias=False)
    v1, g1 = _run(recurrent_layer, mode, args, None, False)
    v2, g2 = _run(recurrent_layer_reference, mode, args, None, False)
    for a, b in zip(v1 + g1, v2 + g2):
        if a is not None:
            assert a.dtype == np.float32
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("mode", MODES)
def test_fused_finite_differences(mode):
    """Central differences in float64 on a tiny layer, for every input of the kernel."""
    args = _inputs(mode, L=3, N=2, Hin=2, H=3, seed=3)
    lengths = [3, 2]
    _, grads = _run(recurrent_layer, mode, args, lengths, False)
    eps = 1e-6
    for a, g in zip(args, grads):
        if a is None:
            continue
        flat = a.array.reshape(-1)
        num = np.empty_like(flat)
        for j in range(flat.size):
            old = flat[j]
            flat[j] = old + eps
            with gn.no_grad():
                fp = _loss_value(mode, args, lengths)
            flat[j] = old - eps
            with gn.no_grad():
                fm = _loss_value(mode, args, lengths)
            flat[j] = old
            num[j] = (fp - fm) / (2 * eps)
        np.testing.assert_allclose(g.reshape(-1), num, rtol=1e-5, atol=1e-7)


def _loss_value(mode, args, lengths):
    out, h, c = recurrent_layer(mode, *args, lengths=lengths)
    rng = np.random.default_rng(1)
    v = (out.numpy() * rng.normal(size=out.shape)).sum()
    v += (h.numpy() * rng.normal(size=h.shape)).sum()
    if c is not None:
        v += (c.numpy() * rng.normal(size=c.shape)).sum()
    return v
